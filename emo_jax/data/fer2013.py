"""FER2013 readers (Kaggle folder layout and the original fer2013.csv) and class names."""
from collections.abc import Iterator, Sequence
import csv
import dataclasses
import os
import pathlib
import shutil
import tarfile
import tempfile
import zipfile

import numpy as np
from PIL import Image

# Label order 0..6 of fer2013.csv's `emotion` column.
FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# FER2013 class -> CREMA-D emotion code (see emo_jax.data.cremad.EMOTIONS). CREMA-D has no
# surprise, so "surprise" maps to None: drop those images (or keep them only for
# 7-class pre-training) when training a head on CREMA-D's six classes.
FER_TO_CREMAD = {
    "angry": "ANG",
    "disgust": "DIS",
    "fear": "FEA",
    "happy": "HAP",
    "sad": "SAD",
    "surprise": None,
    "neutral": "NEU",
}
# FER2013 class -> the shared label space (emo_jax.data.labels); every class has one.
TO_COMMON = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happy",
             "sad": "sad", "surprise": "surprise", "neutral": "neutral"}
SPLITS = ("train", "public_test", "private_test")
IMAGE_SIZE = 48
SOURCE_FORMATS = ("auto", "folders", "csv")
CSV_NAME = "fer2013.csv"
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
# `Usage` values in fer2013.csv and file-name prefixes in the Kaggle layout.
_USAGE_TO_SPLIT = {"Training": "train", "PublicTest": "public_test",
                   "PrivateTest": "private_test"}
_COMPLETE_MARKER = ".extracted"


@dataclasses.dataclass(frozen=True, eq=False)
class FerExample:
  """One FER2013 image.

  Attributes:
    image: uint8 [48, 48, 1] grey.
    label: index into FER_CLASSES.
    split: one of SPLITS.
    source_name: where it came from: "train/angry/Training_10118481.jpg" (folders) or
      "fer2013.csv:row=17" (0-based data row of the csv).
  """
  image: np.ndarray
  label: int
  split: str
  source_name: str


def cremad_label(fer_label: int) -> int | None:
  """Maps a FER2013 label index to a CREMA-D label index (None for surprise)."""
  from emo_jax.data import cremad  # Local import: FER2013 readers need no CREMA-D code.
  code = FER_TO_CREMAD[FER_CLASSES[fer_label]]
  return None if code is None else cremad.EMOTIONS.index(code)


def _check_splits(splits: Sequence[str]) -> None:
  unknown = [s for s in splits if s not in SPLITS]
  if unknown:
    raise ValueError(f"unknown FER2013 split(s) {unknown}; the splits are {SPLITS}")


def _is_archive(path: pathlib.Path) -> bool:
  return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def default_cache_dir() -> pathlib.Path:
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return pathlib.Path(base) / "emo_jax" / "fer2013_extracted"


def extract_archive(archive: str | os.PathLike,
                    cache_dir: str | os.PathLike | None = None) -> pathlib.Path:
  """Extracts a .tar.gz/.tgz/.tar/.zip once into `cache_dir` and returns that folder.

  The folder is named after the archive and its size; a finished extraction is marked so
  later calls return at once, and a half-finished one (interrupted) is redone.
  """
  archive = pathlib.Path(archive)
  cache_dir = pathlib.Path(cache_dir) if cache_dir is not None else default_cache_dir()
  stem = archive.name
  for suffix in ARCHIVE_SUFFIXES:
    if stem.lower().endswith(suffix):
      stem = stem[:-len(suffix)]
      break
  target = cache_dir / f"{stem}-{archive.stat().st_size}"
  if (target / _COMPLETE_MARKER).exists():
    return target
  cache_dir.mkdir(parents=True, exist_ok=True)
  staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{stem}-", dir=cache_dir))
  try:
    if archive.name.lower().endswith(".zip"):
      with zipfile.ZipFile(archive) as z:
        z.extractall(staging)
    else:
      with tarfile.open(archive) as t:
        t.extractall(staging, filter="data")
    (staging / _COMPLETE_MARKER).touch()
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
  except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
    shutil.rmtree(staging, ignore_errors=True)
    raise ValueError(f"{archive}: cannot extract the archive ({e}); re-download it") from e
  return target


def _find_source(path: pathlib.Path, source_format: str,
                 depth: int = 2) -> tuple[str, pathlib.Path] | None:
  """Looks for fer2013.csv or a train/+test/ folder pair at or below `path`."""
  want_csv, want_folders = source_format in ("auto", "csv"), source_format in ("auto", "folders")
  if path.is_file():
    return ("csv", path) if want_csv and path.suffix.lower() == ".csv" else None
  if not path.is_dir():
    return None
  if want_csv and (path / CSV_NAME).is_file():
    return "csv", path / CSV_NAME
  if want_folders and (path / "train").is_dir() and (path / "test").is_dir():
    return "folders", path
  if depth > 0:
    for child in sorted(path.iterdir()):
      if child.is_dir() and not child.name.startswith("."):
        found = _find_source(child, source_format, depth - 1)
        if found:
          return found
  return None


def locate(path: str | os.PathLike, source_format: str = "auto",
           cache_dir: str | os.PathLike | None = None) -> tuple[str, pathlib.Path]:
  """Finds the FER2013 source under `path`: ("csv", csv file) or ("folders", root).

  Args:
    path: fer2013.csv, a folder holding train/ and test/ (or fer2013.csv), an archive of
      either, or a folder holding such an archive.
    source_format: "auto", "folders" or "csv" (pick one when a folder holds both).
    cache_dir: where archives are extracted (default: ~/.cache/emo_jax/fer2013_extracted).

  Raises:
    FileNotFoundError: saying what was looked for.
  """
  if source_format not in SOURCE_FORMATS:
    raise ValueError(f"source_format must be one of {SOURCE_FORMATS}, got {source_format!r}")
  path = pathlib.Path(path)
  if not path.exists():
    raise FileNotFoundError(f"{path} does not exist; pass a folder with FER2013 "
                            "(train/ and test/ folders, fer2013.csv, or an archive of them)")
  candidates = [path]
  if path.is_dir():
    candidates += sorted(p for p in path.iterdir() if _is_archive(p))
  for candidate in candidates:
    if _is_archive(candidate):
      candidate = extract_archive(candidate, cache_dir)
    found = _find_source(candidate, source_format)
    if found:
      return found
  wanted = {"auto": "fer2013.csv or train/ and test/ folders",
            "csv": "fer2013.csv", "folders": "train/ and test/ folders"}[source_format]
  raise FileNotFoundError(
      f"no FER2013 data in {path}: expected {wanted} (or a {'/'.join(ARCHIVE_SUFFIXES)} "
      "archive of them). The Kaggle layout is train/<class>/*.jpg and "
      "test/<class>/{PublicTest,PrivateTest}_*.jpg; the csv has columns emotion,pixels,Usage.")


def _load_image(path: pathlib.Path) -> np.ndarray:
  with Image.open(path) as image:
    pixels = np.asarray(image.convert("L"), dtype=np.uint8)
  if pixels.shape != (IMAGE_SIZE, IMAGE_SIZE):
    raise ValueError(f"{path}: image is {pixels.shape[1]}x{pixels.shape[0]}, FER2013 "
                     f"images are {IMAGE_SIZE}x{IMAGE_SIZE}; is this the FER2013 folder?")
  return pixels[:, :, None]


def _folder_split(top: str, file_name: str, path: pathlib.Path) -> str:
  prefix = file_name.split("_", 1)[0]
  if prefix in _USAGE_TO_SPLIT:
    return _USAGE_TO_SPLIT[prefix]
  if top == "train":
    return "train"
  raise ValueError(f"{path}: cannot tell PublicTest from PrivateTest; test images must be "
                   "named PublicTest_<n>.jpg or PrivateTest_<n>.jpg as in the Kaggle layout")


def read_folders(root: str | os.PathLike, splits: Sequence[str] = SPLITS,
                 cache_dir: str | os.PathLike | None = None) -> Iterator[FerExample]:
  """Reads the Kaggle layout `train/<class>/*.jpg`, `test/<class>/{PublicTest,PrivateTest}_*`.

  Args:
    root: the folder holding train/ and test/, or an archive of it (extracted once into
      `cache_dir`).
    splits: which of SPLITS to read.
    cache_dir: where an archive is extracted.

  Yields:
    FerExample, sorted by (folder, class, file name).
  """
  _check_splits(splits)
  _, root = locate(root, "folders", cache_dir)
  tops = (["train"] if "train" in splits else []) + (
      ["test"] if set(splits) - {"train"} else [])
  for top in tops:
    for class_dir in sorted(p for p in (root / top).iterdir() if p.is_dir()):
      class_name = class_dir.name.lower()
      if class_name not in FER_CLASSES:
        raise ValueError(f"{class_dir}: unknown FER2013 class folder {class_dir.name!r}; "
                         f"class folders are {', '.join(FER_CLASSES)}")
      for path in sorted(class_dir.iterdir()):
        if path.suffix.lower() not in _IMAGE_SUFFIXES:
          continue
        split = _folder_split(top, path.name, path)
        if split in splits:
          yield FerExample(_load_image(path), FER_CLASSES.index(class_name), split,
                           path.relative_to(root).as_posix())


def read_csv(path: str | os.PathLike, splits: Sequence[str] = SPLITS) -> Iterator[FerExample]:
  """Reads the original fer2013.csv (`emotion,pixels,Usage`, 2,304 pixels per row).

  Yields:
    FerExample in file order; `source_name` is "fer2013.csv:row=<0-based data row>".
  """
  _check_splits(splits)
  path = pathlib.Path(path)
  with open(path, newline="", encoding="utf-8") as f:
    reader = csv.reader(f)
    header = [column.strip() for column in next(reader, [])]
    missing = [c for c in ("emotion", "pixels", "Usage") if c not in header]
    if missing:
      raise ValueError(f"{path}: lacks column(s) {', '.join(missing)} (has "
                       f"{', '.join(header)}); expected the FER2013 csv emotion,pixels,Usage")
    emotion_col, pixels_col, usage_col = (header.index(c) for c in ("emotion", "pixels", "Usage"))
    for row_number, row in enumerate(reader):
      where = f"{path} data row {row_number}"
      usage = row[usage_col].strip()
      if usage not in _USAGE_TO_SPLIT:
        raise ValueError(f"{where}: Usage {usage!r} is not one of {', '.join(_USAGE_TO_SPLIT)}")
      split = _USAGE_TO_SPLIT[usage]
      if split not in splits:
        continue
      label = int(row[emotion_col])
      if not 0 <= label < len(FER_CLASSES):
        raise ValueError(f"{where}: emotion {label} is not in 0..{len(FER_CLASSES) - 1}")
      pixels = np.array(row[pixels_col].split(), dtype=np.uint8)
      if pixels.size != IMAGE_SIZE * IMAGE_SIZE:
        raise ValueError(f"{where}: has {pixels.size} pixels, expected "
                         f"{IMAGE_SIZE * IMAGE_SIZE} ({IMAGE_SIZE}x{IMAGE_SIZE})")
      yield FerExample(pixels.reshape(IMAGE_SIZE, IMAGE_SIZE, 1), label, split,
                       f"{path.name}:row={row_number}")


def read(path: str | os.PathLike, splits: Sequence[str] = SPLITS, source_format: str = "auto",
         cache_dir: str | os.PathLike | None = None) -> Iterator[FerExample]:
  """Reads FER2013 from any supported source (see `locate`), in either format."""
  fmt, source = locate(path, source_format, cache_dir)
  if fmt == "csv":
    return read_csv(source, splits)
  return read_folders(source, splits, cache_dir)
