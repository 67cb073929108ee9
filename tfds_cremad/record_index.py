"""Per-record index sidecar of a packed CREMA-D dataset: actor, label, clip name by record.

Folds are chosen by actor when reading, so the reader needs every record's actor without
decoding the clips. TFDS stores records in the order of a hash of their keys, known only
once the shards are written, so the index is made afterwards by reading the records
back in exactly the order `tfds.data_source(name, split="all", data_dir=...)` returns
them, and saved as `record_index.json` beside `dataset_info.json`.
"""
import json
import os
import pathlib

import numpy as np
import tensorflow_datasets as tfds

INDEX_FILE = "record_index.json"
FIELDS = ("actor", "label", "clip_name")
# The split that index positions refer to: every record (the one stored split).
READ_SPLIT = "all"
_FORMAT_VERSION = 1
_READ_CHUNK = 256


def _data_path(builder_or_dir) -> pathlib.Path:
  if isinstance(builder_or_dir, tfds.core.DatasetBuilder):
    return pathlib.Path(os.fspath(builder_or_dir.data_path))
  path = pathlib.Path(os.fspath(builder_or_dir))
  if not (path / "dataset_info.json").is_file():
    raise FileNotFoundError(
        f"{path} is not a built dataset directory (no dataset_info.json); pass the "
        "builder from tfds_cremad.load_builder(name, data_dir) or the versioned directory "
        "DATA_DIR/cremad/<config>/<version>")
  return path


def read_index(builder: tfds.core.DatasetBuilder) -> dict[str, np.ndarray]:
  """Reads actor, label and clip name of every record (in data-source order)."""
  source = builder.as_data_source(split=READ_SPLIT)
  actors, labels, names = [], [], []
  for start in range(0, len(source), _READ_CHUNK):
    for record in source.__getitems__(range(start, min(start + _READ_CHUNK, len(source)))):
      actors.append(int(record["actor"]))
      labels.append(int(record["label"]))
      name = record["clip_name"]
      names.append(name.decode() if isinstance(name, bytes) else str(name))
  return {"actor": np.array(actors, np.int64), "label": np.array(labels, np.int64),
          "clip_name": np.array(names, dtype=str)}


def write_index(builder: tfds.core.DatasetBuilder) -> pathlib.Path:
  """Reads the built dataset's records and writes `record_index.json` beside them."""
  index = read_index(builder)
  path = _data_path(builder) / INDEX_FILE
  payload = {"format_version": _FORMAT_VERSION, "split": READ_SPLIT,
             "num_records": len(index["actor"])}
  payload.update({field: index[field].tolist() for field in FIELDS})
  tmp_path = path.with_suffix(".json.tmp")
  tmp_path.write_text(json.dumps(payload))
  tmp_path.replace(path)
  return path


def load_index(builder_or_dir) -> dict[str, np.ndarray]:
  """The record index of a built CREMA-D dataset.

  Args:
    builder_or_dir: a built `cremad` builder (e.g. from `tfds_cremad.load_builder`) or its
      versioned directory `DATA_DIR/cremad/<config>/<version>`.

  Returns:
    {"actor": int64 [N], "label": int64 [N], "clip_name": str [N]}: entry i describes
    record i of `tfds.data_source(..., split="all")`.

  Raises:
    FileNotFoundError: when the directory holds no built dataset.
    ValueError: when the sidecar does not match the dataset (stale; rebuild it).
  """
  data_path = _data_path(builder_or_dir)
  path = data_path / INDEX_FILE
  if isinstance(builder_or_dir, tfds.core.DatasetBuilder):
    builder = builder_or_dir
  else:
    builder = tfds.builder_from_directory(os.fspath(data_path))
  num_records = sum(split.num_examples for split in builder.info.splits.values())
  if not path.is_file():
    # Built by an interrupted run, or by hand: recreate it (a read of every record).
    try:
      write_index(builder)
    except OSError:
      return read_index(builder)  # Read-only data dir: index in memory only.
  payload = json.loads(path.read_text())
  if payload.get("num_records") != num_records or any(
      len(payload.get(field, ())) != num_records for field in FIELDS):
    raise ValueError(
        f"{path} describes {payload.get('num_records')} records but the dataset in "
        f"{data_path} has {num_records}: the sidecar is stale. Delete it (it is remade on "
        "the next load_index) or rebuild with python -m tfds_cremad.build ... --overwrite")
  return {"actor": np.array(payload["actor"], np.int64),
          "label": np.array(payload["label"], np.int64),
          "clip_name": np.array(payload["clip_name"], dtype=str)}
