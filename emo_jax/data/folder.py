"""Any folder of labelled clips or images: `DIR/<class>/*.mp4|jpg|...`, or a CSV of path,label[,subject].

Labels are the shared label space (`emo_jax.data.labels.COMMON_CLASSES`): a class folder
or CSV label must name one of its classes or a spelling of one (`angry`, `ANG`,
`surprised`, ...), else the listing stops and names the unknown classes. One folder holds
either videos or images, never both. With a subject column, splits are subject-disjoint;
without one each file is its own subject (splits are then by file).
"""
import csv
import dataclasses
import os
import pathlib

import numpy as np

from emo_jax.data import labels

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".flv")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
CSV_COLUMNS = ("path", "label", "subject")
LAYOUT_HELP = ("DIR/<class>/*.{mp4,avi,mov,flv,jpg,jpeg,png} (class folders named after "
               f"the shared classes {', '.join(labels.COMMON_CLASSES)} or a spelling of one), "
               "or a CSV file of path,label[,subject] (paths relative to the CSV's folder)")


class LayoutError(ValueError):
  """The folder (or CSV) is not a labelled folder this module can read."""


@dataclasses.dataclass(frozen=True)
class LabelledFile:
  """One file and its label.

  Attributes:
    path: the file.
    name: its path relative to the folder (or as written in the CSV): the record key.
    class_name: the label as written (folder name or CSV value).
    label: index into `labels.COMMON_CLASSES`.
    subject: the CSV's subject, or "" when none was given.
  """
  path: pathlib.Path
  name: str
  class_name: str
  label: int
  subject: str


@dataclasses.dataclass
class Listing:
  files: list[LabelledFile]
  skipped: list[dict]  # {"file", "reason"}
  media: str  # "video" or "image"
  source_format: str  # "folders" or "csv"
  has_subjects: bool


def _media_of(path: pathlib.Path) -> str | None:
  suffix = path.suffix.lower()
  return "video" if suffix in VIDEO_SUFFIXES else "image" if suffix in IMAGE_SUFFIXES else None


def _label_of(class_names: set[str], where: str) -> dict[str, int]:
  """Class name as written -> common label index; LayoutError naming the unknown ones."""
  unknown = sorted(n for n in class_names if labels.common_name(n) is None)
  if unknown:
    raise LayoutError(
        f"{where}: unknown class(es) {unknown}; a class must be one of "
        f"{', '.join(labels.COMMON_CLASSES)} or a spelling of one "
        f"({', '.join(sorted(labels.SYNONYMS))}). Rename or remove those folders/rows.")
  return {n: labels.COMMON_CLASSES.index(labels.common_name(n)) for n in class_names}


def _check_one_media(files: list[LabelledFile], where: str) -> str:
  kinds = {_media_of(f.path) for f in files}
  if kinds == {"video", "image"}:
    videos = [f.name for f in files if _media_of(f.path) == "video"]
    images = [f.name for f in files if _media_of(f.path) == "image"]
    raise LayoutError(
        f"{where} mixes {len(videos)} video(s) (e.g. {videos[0]}) and {len(images)} image(s) "
        f"(e.g. {images[0]}); a dataset is either clips or stills: put them in two folders "
        "and build each with its own config (folder/<clip config> or folder/image_*)")
  return kinds.pop()


def _read_csv(csv_path: pathlib.Path) -> Listing:
  base = csv_path.parent
  with open(csv_path, newline="") as f:
    rows = [r for r in csv.reader(f) if any(cell.strip() for cell in r)]
  if rows and [c.strip().lower() for c in rows[0]][:2] == ["path", "label"]:
    rows = rows[1:]
  if not rows:
    raise LayoutError(f"{csv_path}: no rows; expected {', '.join(CSV_COLUMNS)} per line")
  bad = [i for i, r in enumerate(rows, 1) if len(r) not in (2, 3)]
  if bad:
    raise LayoutError(f"{csv_path}: row(s) {bad[:5]} do not have 2 or 3 columns "
                      f"(path,label[,subject])")
  has_subjects = all(len(r) == 3 and r[2].strip() for r in rows)
  label_of = _label_of({r[1].strip() for r in rows}, str(csv_path))
  files, skipped = [], []
  for row in rows:
    name, class_name = row[0].strip(), row[1].strip()
    path = pathlib.Path(name) if os.path.isabs(name) else base / name
    if _media_of(path) is None:
      skipped.append({"file": name, "reason": f"not a video or image file ({path.suffix})"})
    elif not path.is_file():
      skipped.append({"file": name, "reason": f"missing: no file {path}"})
    else:
      files.append(LabelledFile(path, name, class_name, label_of[class_name],
                                row[2].strip() if has_subjects else ""))
  if not files:
    raise LayoutError(
        f"{csv_path}: none of its {len(rows)} paths is an existing video or image (first: "
        f"{skipped[0]['file']!r}: {skipped[0]['reason']}); relative paths are read from "
        f"{base}")
  return Listing(files, skipped, _check_one_media(files, str(csv_path)), "csv", has_subjects)


def _read_folders(root: pathlib.Path) -> Listing:
  class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
  if not class_dirs:
    found = sorted(p.name for p in root.iterdir())[:10]
    raise LayoutError(f"{root} holds no class folders and no CSV: expected {LAYOUT_HELP}; "
                      f"found {found or 'nothing'}")
  label_of = _label_of({p.name for p in class_dirs}, str(root))
  files, skipped = [], []
  for class_dir in class_dirs:
    for path in sorted(class_dir.rglob("*")):
      if path.is_dir() or path.name.startswith("."):
        continue
      name = path.relative_to(root).as_posix()
      if _media_of(path) is None:
        skipped.append({"file": name, "reason": f"not a video or image file ({path.suffix})"})
      else:
        files.append(LabelledFile(path, name, class_dir.name, label_of[class_dir.name], ""))
  if not files:
    raise LayoutError(f"{root}: the class folders {[p.name for p in class_dirs]} hold no "
                      f"video or image files; expected {LAYOUT_HELP}")
  return Listing(files, skipped, _check_one_media(files, str(root)), "folders", False)


def list_folder(source: str | os.PathLike) -> Listing:
  """Lists a labelled folder: a CSV file, a folder with one CSV at its top, or class folders.

  Raises:
    LayoutError: wrong layout (what was expected and what was found), unknown classes,
      videos and images mixed, or a CSV none of whose paths exist.
  """
  source = pathlib.Path(source)
  if source.is_file() and source.suffix.lower() == ".csv":
    return _read_csv(source)
  if not source.is_dir():
    raise LayoutError(f"{source} is neither a folder nor a CSV file; expected {LAYOUT_HELP}")
  csvs = sorted(source.glob("*.csv"))
  if len(csvs) > 1:
    raise LayoutError(f"{source} holds {len(csvs)} CSV files ({[c.name for c in csvs]}); "
                      "pass the one to use as --manual_dir")
  return _read_csv(csvs[0]) if csvs else _read_folders(source)


def subject_ids(listing: Listing, seed: int = 0) -> np.ndarray:
  """int64 `[len(files)]` subject id (1..) of every file, for the actor splits.

  With subjects: sorted subject names -> 1..N. Without: each file its own id, in a seeded
  random order, so the proportional splits (the last ids are test) cut across classes.
  """
  if listing.has_subjects:
    names = sorted({f.subject for f in listing.files})
    number = {name: i for i, name in enumerate(names, 1)}
    return np.array([number[f.subject] for f in listing.files], np.int64)
  order = np.random.default_rng(seed).permutation(len(listing.files))
  return (order + 1).astype(np.int64)
