"""Opens a packed TFDS dataset (any `tfds_cremad` builder) and applies the split to its records.

Two kinds of builder: those split by actor when read (cremad, ravdess, folder: one stored
split, a `record_index.json` of actor and label per record, an actor split spec from
emo_jax/data/splits.py) and those with fixed stored splits (fer2013, affectnet: their
`FIXED_PARTS` name the stored split of each part; config.data.split "standard").
"""
import dataclasses
import os
from typing import Any, Mapping, Sequence

import numpy as np

from emo_jax.data import splits

# The split spec of datasets with fixed stored splits (fer2013, affectnet).
FIXED_SPLIT = "standard"
# The record fields `records.format_example` reads, where a dataset has them; the others
# (audio, strings, valence and arousal) are not decoded in training.
RECORD_FIELDS = ("frames", "image", "label", "vote_distribution")
# Read as well for models with an audio branch.
AUDIO_FIELD = "audio"


class NoAudioError(ValueError):
  """An audio model (config.data.audio_seconds > 0) was given a dataset without audio."""


def _read_fields(builder, with_audio: bool = False) -> tuple[str, ...]:
  fields = tuple(f for f in RECORD_FIELDS if f in builder.info.features)
  if with_audio:
    if AUDIO_FIELD not in builder.info.features:
      raise NoAudioError(
          f"the model needs audio (config.data.audio_seconds > 0, model.fusion.modality "
          f"with 'audio') but {builder.name} records have no '{AUDIO_FIELD}' field (they hold "
          f"{', '.join(sorted(builder.info.features))}); use a dataset with audio (cremad/*, "
          "ravdess/*) or model.fusion.modality='video' with config.data.audio_seconds=0")
    fields += (AUDIO_FIELD,)
  return fields


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


def _actor_split_parts(builder, split: str | None,
                      with_audio: bool = False) -> tuple[Any, dict[str, np.ndarray], np.ndarray]:
  """(records, part -> record indices, train label counts) of a dataset split by actor."""
  import tfds_cremad  # pylint: disable=g-import-not-at-top
  # "all": every record, in index order; only the fields batches hold are decoded.
  source = tfds_cremad.FieldSource(builder, "all", _read_fields(builder, with_audio))
  index = tfds_cremad.load_index(builder)
  if split is None:
    indices = {"train": np.arange(len(source))}
  else:
    indices = split_records(index["actor"], split)
  num_classes = builder.info.features["label"].num_classes
  counts = np.bincount(index["label"][indices["train"]], minlength=num_classes)
  return {part: source for part in indices}, indices, counts


def _fixed_parts(builder, split: str | None,
                 with_audio: bool = False) -> tuple[dict, dict[str, np.ndarray], np.ndarray]:
  """(part -> records, part -> record indices, train label counts) of fixed splits."""
  fixed = builder.FIXED_PARTS
  if split not in (None, FIXED_SPLIT):
    raise ValueError(
        f"config.data.split={split!r}: {builder.name} has fixed splits; use "
        f"{FIXED_SPLIT!r} ({', '.join(f'{p} = {s}' for p, s in fixed.items())})")
  parts = fixed if split else {"train": fixed["train"]}
  import tfds_cremad  # pylint: disable=g-import-not-at-top
  fields = _read_fields(builder, with_audio)
  sources = {part: tfds_cremad.FieldSource(builder, tfds_split, fields)
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


def load_packed_dataset(dataset: str, data_dir: str, split: str | None,
                        with_audio: bool = False) -> PackedDataset:
  """Opens a dataset built by `python -m tfds_cremad.build` and applies the split.

  Args:
    dataset: e.g. "cremad/<config>", "ravdess/<config>", "fer2013" (see
      `tfds_cremad.dataset_names()`).
    data_dir: the TFDS data dir it was built into.
    split: CREMA-D, RAVDESS, folder: an actor split spec ("hicmae5:fold=1", "holdout",
      "ravdess6:fold=1"); FER2013, AffectNet: "standard". None: every record as the
      "train" part (benchmarks, inspection).
    with_audio: also decode each record's `audio` (models with an audio branch).

  Raises:
    ValueError: an unknown dataset name (the known ones are listed) or split.
    tfds_cremad.DatasetNotBuiltError: (a FileNotFoundError) the dataset is not built
      in `data_dir`; the message has the command that builds it.
    NoAudioError: `with_audio` and the dataset has no audio.
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
  return packed_from_builder(builder, split, with_audio)


def packed_from_builder(builder, split: str | None, with_audio: bool = False) -> PackedDataset:
  """`load_packed_dataset` for an already opened, built TFDS builder."""
  import tfds_cremad  # pylint: disable=g-import-not-at-top
  if getattr(builder, "FIXED_PARTS", None):
    sources, indices, counts = _fixed_parts(builder, split, with_audio)
  else:
    sources, indices, counts = _actor_split_parts(builder, split, with_audio)
  name = builder.name + (f"/{builder.builder_config.name}" if builder.builder_config else "")
  version = str(builder.info.version)
  fingerprint = tfds_cremad.loading.packed_fingerprint(builder)
  if fingerprint:  # What was packed, not only the builder's declared version.
    version += f"+{fingerprint}"
  return PackedDataset(
      name=name, version=version,
      class_names=tuple(builder.info.features["label"].names),
      sources=sources, indices=indices, train_label_counts=counts)
