"""Opens a packed TFDS dataset (`cremad/<config>`, `fer2013`) and applies the split to its records."""
import dataclasses
import os
from typing import Any, Mapping, Sequence

import numpy as np

from emo_jax.data import splits

# FER2013's own splits, by the part the trainer asks for.
FER2013_SPLIT = "standard"
FER2013_PARTS = {"train": "train", "val": "public_test", "test": "private_test"}


@dataclasses.dataclass(frozen=True)
class PackedDataset:
  """Random-access records and which of them make up each part of the split.

  Attributes:
    name: e.g. "cremad/synthetic_g16_112".
    version: the packed dataset's version (logged with the run).
    class_names: names in label order.
    sources: part ("train", "val", "test") -> records (`len()` and `[i]` giving a dict
      of numpy arrays: `frames` [T, S, S, C] or `image` [S, S, C] uint8, `label`, and
      optionally `vote_distribution`).
    indices: part -> int64 record indices into `sources[part]`.
    train_label_counts: int64 [num_classes], records per class in the train part.
  """
  name: str
  version: str
  class_names: tuple[str, ...]
  sources: Mapping[str, Any]
  indices: Mapping[str, np.ndarray]
  train_label_counts: np.ndarray

  @property
  def num_classes(self) -> int:
    return len(self.class_names)


def select_records(record_actors: np.ndarray, actors: Sequence[int]) -> np.ndarray:
  """Indices (int64, ascending) of the records whose actor is in `actors`."""
  return np.flatnonzero(np.isin(np.asarray(record_actors), np.asarray(actors, np.int64)))


def split_records(record_actors: np.ndarray, spec: str) -> dict[str, np.ndarray]:
  """Part -> indices of the records of its actors, for an actor split spec.

  The split is made over the actors present (`splits.split_actors(spec, actors=...)`),
  so a synthetic or partial dataset gets a valid split too.
  """
  record_actors = np.asarray(record_actors)
  parts = splits.split_actors(spec, actors=np.unique(record_actors).tolist())
  return {part: select_records(record_actors, actors) for part, actors in parts.items()}


def _cremad_parts(builder, split: str | None) -> tuple[Any, dict[str, np.ndarray], np.ndarray]:
  """(records, part -> record indices, train label counts) of a built `cremad` dataset."""
  import tfds_cremad  # pylint: disable=g-import-not-at-top
  source = builder.as_data_source(split="all")  # "all": every record, in index order.
  index = tfds_cremad.load_index(builder)
  if split is None:
    indices = {"train": np.arange(len(source))}
  else:
    indices = split_records(index["actor"], split)
  num_classes = builder.info.features["label"].num_classes
  counts = np.bincount(index["label"][indices["train"]], minlength=num_classes)
  return {part: source for part in indices}, indices, counts


def _fer2013_parts(builder, split: str | None) -> tuple[dict, dict[str, np.ndarray], np.ndarray]:
  """(part -> records, part -> record indices, train label counts) of `fer2013`."""
  if split not in (None, FER2013_SPLIT):
    raise ValueError(
        f"config.data.split={split!r}: fer2013 has fixed splits; use "
        f"{FER2013_SPLIT!r} ({', '.join(f'{p} = {s}' for p, s in FER2013_PARTS.items())})")
  parts = FER2013_PARTS if split else {"train": FER2013_PARTS["train"]}
  sources = {part: builder.as_data_source(split=tfds_split)
             for part, tfds_split in parts.items()}
  indices = {part: np.arange(len(source)) for part, source in sources.items()}
  class_names = builder.info.features["label"].names
  counts = (builder.info.metadata or {}).get("class_counts", {}).get("train")
  if counts is not None:
    counts = np.array([counts[name] for name in class_names], np.int64)
  else:  # Built without the counts: read the labels (small images, a few seconds).
    labels = [int(record["label"]) for record in sources["train"]]
    counts = np.bincount(labels, minlength=len(class_names))
  return sources, indices, counts


def load_packed_dataset(dataset: str, data_dir: str, split: str | None) -> PackedDataset:
  """Opens a dataset built by `python -m tfds_cremad.build` and applies the split.

  Args:
    dataset: "cremad/<config>" or "fer2013" (see `tfds_cremad.dataset_names()`).
    data_dir: the TFDS data dir it was built into.
    split: CREMA-D: an actor split spec ("hicmae5:fold=1", "holdout"); FER2013:
      "standard". None: every record as the "train" part (benchmarks, inspection).

  Raises:
    ValueError: an unknown dataset name (the known ones are listed) or split.
    tfds_cremad.DatasetNotBuiltError: (a FileNotFoundError) the dataset is not built
      in `data_dir`; the message has the command that builds it.
  """
  # Imported here: TFDS and the builders are heavy, and only packed data needs them.
  import tfds_cremad  # pylint: disable=g-import-not-at-top
  data_dir = os.path.expanduser(os.fspath(data_dir))
  try:
    builder = tfds_cremad.load_builder(dataset, data_dir)
  except tfds_cremad.DatasetNotBuiltError as e:
    raise tfds_cremad.DatasetNotBuiltError(f"config.data.dataset={dataset!r}: {e}") from None
  except ValueError as e:
    raise ValueError(f"config.data.dataset={dataset!r}: {e}") from None
  return packed_from_builder(builder, split)


def packed_from_builder(builder, split: str | None) -> PackedDataset:
  """`load_packed_dataset` for an already opened, built TFDS builder."""
  if builder.name == "cremad":
    sources, indices, counts = _cremad_parts(builder, split)
  elif builder.name == "fer2013":
    sources, indices, counts = _fer2013_parts(builder, split)
  else:
    raise ValueError(f"{builder.name}: the input pipeline reads cremad/<config> and fer2013")
  name = builder.name + (f"/{builder.builder_config.name}" if builder.builder_config else "")
  return PackedDataset(
      name=name, version=str(builder.info.version),
      class_names=tuple(builder.info.features["label"].names),
      sources=sources, indices=indices, train_label_counts=counts)
