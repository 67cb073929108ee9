"""AffectNet (Mollahosseini et al., 2017) layouts: what images there are and their labels.

AffectNet needs a signed licence agreement (http://mohammadmahoor.com/affectnet/), so only
this code ships. Three layouts are read, detected from the folder given:

* official: `Manually_Annotated_Images/<dir>/<file>.jpg` (whole photos) with
  `training.csv` and `validation.csv` (columns subDirectory_filePath, face_x, face_y,
  face_width, face_height, facial_landmarks, expression, valence, arousal), the CSVs at
  the top or in `Manually_Annotated_file_lists/`. The face box of the CSV is cropped.
* npy: `train_set/images/<id>.jpg` and `train_set/annotations/<id>_exp.npy`, `_val.npy`,
  `_aro.npy` (and `val_set/` the same), images already cropped to the face.
* folders: `train/<class>/*.jpg` and `val/<class>/*.jpg` (or `test/`), class folders named
  after CLASSES or their codes 0..7, images already cropped; no valence or arousal.

Expression codes: 0 neutral, 1 happy, 2 sad, 3 surprise, 4 fear, 5 disgust, 6 anger,
7 contempt, 8 none, 9 uncertain, 10 no-face (8-10 are never used). Valence and arousal
are in [-1, 1]; -2 (AffectNet's own code) where there is none.
"""
import csv
import dataclasses
import os
import pathlib

import numpy as np

from emo_jax.data import faces

CLASSES = ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt")
# AffectNet class -> the shared label space (emo_jax.data.labels); contempt has none.
TO_COMMON = {"neutral": "neutral", "happy": "happy", "sad": "sad", "surprise": "surprise",
             "fear": "fear", "disgust": "disgust", "anger": "anger", "contempt": None}
NOT_AN_EXPRESSION = {8: "none", 9: "uncertain", 10: "no-face"}
NO_VALUE = -2.0
PARTS = ("train", "official_val")
LAYOUTS = ("official", "npy", "folders")
LAYOUT_HELP = ("one of the AffectNet layouts: Manually_Annotated_Images/ with training.csv "
               "and validation.csv; train_set/ and val_set/ with images/ and annotations/"
               "*_exp.npy; or train/<class>/ and val/<class>/ folders")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
_CSV_NAMES = {"train": "training.csv", "official_val": "validation.csv"}


class LayoutError(ValueError):
  """The folder is not in an AffectNet layout."""


@dataclasses.dataclass(frozen=True)
class Item:
  """One annotated image.

  Attributes:
    path: the image file.
    name: its path relative to the root (the record key).
    expression: the AffectNet code 0..7.
    valence, arousal: in [-1, 1], NO_VALUE when not annotated.
    face_box: the face in the photo (official layout), None when the image is a crop.
    part: "train" or "official_val".
  """
  path: pathlib.Path
  name: str
  expression: int
  valence: float
  arousal: float
  face_box: faces.Box | None
  part: str


@dataclasses.dataclass
class Listing:
  items: list[Item]
  skipped: list[dict]  # {"file", "reason"}
  layout: str


def detect_layout(root: pathlib.Path) -> str:
  """The layout of `root` ("official", "npy" or "folders"); LayoutError when none fits."""
  if not root.is_dir():
    raise LayoutError(f"{root} is not a directory; expected {LAYOUT_HELP}")
  if (root / "Manually_Annotated_Images").is_dir():
    return "official"
  if (root / "train_set" / "annotations").is_dir():
    return "npy"
  if (root / "train").is_dir() and any((root / "train").iterdir()):
    return "folders"
  found = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())[:10]
  raise LayoutError(f"{root} is not in an AffectNet layout: expected {LAYOUT_HELP}; found "
                    f"{found or 'nothing'}")


def _float(value: str) -> float:
  try:
    return float(value)
  except ValueError:
    return NO_VALUE


def _find_csv(root: pathlib.Path, part: str) -> pathlib.Path:
  for folder in (root, root / "Manually_Annotated_file_lists"):
    if (folder / _CSV_NAMES[part]).is_file():
      return folder / _CSV_NAMES[part]
  raise LayoutError(f"{root}: official layout (Manually_Annotated_Images/ found) but no "
                    f"{_CSV_NAMES[part]} at the top or in Manually_Annotated_file_lists/")


def _read_official(root: pathlib.Path) -> Listing:
  images = root / "Manually_Annotated_Images"
  items, skipped = [], []
  for part in PARTS:
    csv_path = _find_csv(root, part)
    with open(csv_path, newline="") as f:
      rows = list(csv.DictReader(f))
    missing_columns = {"subDirectory_filePath", "expression", "valence", "arousal",
                       "face_x", "face_y", "face_width", "face_height"} - set(rows[0] if rows else ())
    if missing_columns:
      raise LayoutError(f"{csv_path}: no column(s) {sorted(missing_columns)}; expected the "
                        "official AffectNet CSV header")
    found = 0
    for row in rows:
      name = row["subDirectory_filePath"].strip()
      path = images / name
      expression = int(float(row["expression"]))
      if expression in NOT_AN_EXPRESSION:
        skipped.append({"file": name, "reason": f"expression {expression} "
                                                f"({NOT_AN_EXPRESSION[expression]})"})
        continue
      if not path.is_file():
        skipped.append({"file": name, "reason": f"missing: no file {path}"})
        continue
      found += 1
      box = faces.Box(*(int(float(row[k])) for k in ("face_x", "face_y", "face_width",
                                                      "face_height")))
      items.append(Item(path, f"Manually_Annotated_Images/{name}", expression,
                        _float(row["valence"]), _float(row["arousal"]), box, part))
    if rows and not found:
      raise LayoutError(f"{csv_path}: none of its {len(rows)} image paths exists under "
                        f"{images} (first: {rows[0]['subDirectory_filePath']!r}); is "
                        "Manually_Annotated_Images complete and next to the CSV?")
  return Listing(items, skipped, "official")


def _read_npy(root: pathlib.Path) -> Listing:
  items, skipped = [], []
  for part, folder in (("train", "train_set"), ("official_val", "val_set")):
    images, annotations = root / folder / "images", root / folder / "annotations"
    if not images.is_dir() or not annotations.is_dir():
      raise LayoutError(f"{root / folder}: expected images/ and annotations/ in it ("
                        f"{LAYOUT_HELP})")
    for path in sorted(images.iterdir()):
      if path.suffix.lower() not in _IMAGE_SUFFIXES:
        continue
      name = f"{folder}/images/{path.name}"
      files = {k: annotations / f"{path.stem}_{k}.npy" for k in ("exp", "val", "aro")}
      absent = [f.name for f in files.values() if not f.is_file()]
      if absent:
        skipped.append({"file": name, "reason": f"no annotation {', '.join(absent)}"})
        continue
      try:
        values = {k: np.load(f).item() for k, f in files.items()}
        expression = int(values["exp"])
      except (OSError, ValueError) as e:
        skipped.append({"file": name, "reason": f"unreadable annotation ({e})"})
        continue
      if expression in NOT_AN_EXPRESSION or not 0 <= expression < len(CLASSES):
        skipped.append({"file": name, "reason": f"expression {expression}"})
        continue
      items.append(Item(path, name, expression, _float(values["val"]), _float(values["aro"]),
                        None, part))
  return Listing(items, skipped, "npy")


def _read_folders(root: pathlib.Path) -> Listing:
  items, skipped = [], []
  val_dir = next((root / d for d in ("val", "valid", "validation", "test")
                  if (root / d).is_dir()), None)
  if val_dir is None:
    raise LayoutError(f"{root}: train/ found but no val/ (or test/) folder of the official "
                      "validation images")
  for part, top in (("train", root / "train"), ("official_val", val_dir)):
    for class_dir in sorted(p for p in top.iterdir() if p.is_dir()):
      key = class_dir.name.lower()
      if key.isdigit() and int(key) < len(CLASSES):
        expression = int(key)
      elif key in CLASSES:
        expression = CLASSES.index(key)
      else:
        raise LayoutError(f"{class_dir}: unknown class folder; AffectNet class folders are "
                          f"{', '.join(CLASSES)} or their codes 0..7")
      for path in sorted(class_dir.iterdir()):
        name = path.relative_to(root).as_posix()
        if path.suffix.lower() not in _IMAGE_SUFFIXES:
          skipped.append({"file": name, "reason": f"not an image ({path.suffix})"})
          continue
        items.append(Item(path, name, expression, NO_VALUE, NO_VALUE, None, part))
  return Listing(items, skipped, "folders")


def list_images(root: str | os.PathLike) -> Listing:
  """Every usable image of the AffectNet copy at `root`, with what was passed over."""
  root = pathlib.Path(root)
  layout = detect_layout(root)
  reader = {"official": _read_official, "npy": _read_npy, "folders": _read_folders}[layout]
  return reader(root)


def carve_validation(items: list[Item], per_class: int, seed: int = 0) -> set[str]:
  """Names of the train images held out as validation: `per_class` of each class (at most
  a tenth of it, at least one of a class with 2+), drawn with a seeded permutation,
  class-balanced as the official set."""
  rng = np.random.default_rng(seed)
  held_out = set()
  for expression in range(len(CLASSES)):
    names = sorted(i.name for i in items if i.part == "train" and i.expression == expression)
    count = min(per_class, max(1, len(names) // 10)) if len(names) >= 2 else 0
    held_out.update(names[j] for j in rng.permutation(len(names))[:count])
  return held_out
