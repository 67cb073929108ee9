"""Scoring a model on another dataset's records through the shared label space.

`retarget(packed, model_classes)` turns an opened dataset (`input_pipeline.PackedDataset`)
into one labelled in the model's classes: records whose class has a counterpart are kept
with the model's label index, the others are dropped and counted, so the usual
evaluation pass (batches, metrics, report) runs unchanged.
"""
import dataclasses
from typing import Any, Mapping

import numpy as np

from emo_jax.data import labels as labels_lib


class RelabelledSource:
  """Records of `source` with `label` mapped by `label_map` (picklable, random access).

  Per-record soft labels (`vote_distribution`) are over the other dataset's classes, so
  they are left out (the pipeline uses the one-hot of the mapped label).
  """

  def __init__(self, source, label_map: np.ndarray):
    self._source = source
    self._label_map = np.asarray(label_map, np.int64)

  def __len__(self) -> int:
    return len(self._source)

  def __getitem__(self, index: int) -> dict[str, Any]:
    record = dict(self._source[index])
    label = int(self._label_map[int(record["label"])])
    if label < 0:
      raise ValueError(f"record {index} has a class the model does not share; it should "
                       "have been dropped by retarget()")
    record["label"] = np.int64(label)
    record.pop("vote_distribution", None)
    return record


@dataclasses.dataclass(frozen=True)
class Retargeted:
  """A dataset relabelled for a model, and what was dropped.

  Attributes:
    packed: the dataset with the model's class names, relabelled sources and only the
      records of shared classes in its parts.
    mapping: the class mapping (`labels.CrossDatasetMap`).
    dropped_counts: part -> {dataset class name: records dropped}.
  """
  packed: Any
  mapping: labels_lib.CrossDatasetMap
  dropped_counts: dict[str, dict[str, int]]

  def describe(self, part: str) -> list[str]:
    lines = self.mapping.describe()
    counts = self.dropped_counts.get(part, {})
    if counts:
      lines.append(f"Records dropped from {part}: " + ", ".join(
          f"{name} {count}" for name, count in counts.items()))
    return lines


def record_labels(source, indices: np.ndarray) -> np.ndarray:
  """int64 labels of `source[i]` for i in `indices` (reads the records)."""
  return np.array([int(source[int(i)]["label"]) for i in indices], np.int64)


def retarget(packed, model_classes: tuple[str, ...],
             labels_by_part: Mapping[str, np.ndarray] | None = None) -> Retargeted:
  """`packed` (an `input_pipeline.PackedDataset`) relabelled into `model_classes`.

  Args:
    packed: the other dataset, opened with its own split.
    model_classes: the class names the model was trained on.
    labels_by_part: part -> labels of `packed.indices[part]` when known (e.g. from the
      record index); else the records are read.

  Raises:
    ValueError: when no class of the dataset has a counterpart among the model's.
  """
  mapping = labels_lib.cross_dataset_map(model_classes, packed.class_names)
  label_map = np.asarray(mapping.label_map, np.int64)
  indices, dropped_counts = {}, {}
  for part, part_indices in packed.indices.items():
    part_labels = (np.asarray(labels_by_part[part]) if labels_by_part is not None
                   else record_labels(packed.sources[part], part_indices))
    keep = label_map[part_labels] >= 0
    indices[part] = np.asarray(part_indices)[keep]
    dropped = np.bincount(part_labels[~keep], minlength=len(packed.class_names))
    dropped_counts[part] = {packed.class_names[c]: int(n) for c, n in enumerate(dropped) if n}
  train_labels = (np.asarray(labels_by_part["train"]) if labels_by_part is not None
                  else record_labels(packed.sources["train"], packed.indices["train"]))
  mapped = label_map[train_labels]
  counts = np.bincount(mapped[mapped >= 0], minlength=len(model_classes))
  relabelled = dataclasses.replace(
      packed, name=f"{packed.name} (scored as {len(model_classes)} model classes)",
      class_names=tuple(model_classes),
      sources={part: RelabelledSource(source, label_map)
               for part, source in packed.sources.items()},
      indices=indices, train_label_counts=counts)
  return Retargeted(relabelled, mapping, dropped_counts)
