"""The data of one run: `create_datasets(config.data, mesh, seed) -> Datasets` (info, train, eval)."""
import copy
import dataclasses
import logging
import shutil
from typing import Any, Iterator, Mapping

import grain
import jax
import ml_collections
import numpy as np
from jax.sharding import Mesh

from emo_jax import device_prefetch as device_prefetch_lib
from emo_jax import sharding
from emo_jax.data import augment as augment_lib
from emo_jax.input_pipeline import iterators
from emo_jax.input_pipeline import records as records_lib
from emo_jax.input_pipeline import sources as sources_lib

# Sample rate of the audio in the packed datasets (tfds_cremad's builders store 16 kHz).
AUDIO_SAMPLE_RATE = 16000


def audio_samples(data_config: ml_collections.ConfigDict) -> int:
  """Samples of audio each example holds: `config.data.audio_seconds` at 16 kHz (0: no audio).

  Configs written before audio models existed have no `audio_seconds`: no audio.
  """
  return int(round(float(data_config.get("audio_seconds", 0.0)) * AUDIO_SAMPLE_RATE))


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  """What the trainer needs to know about the data before it sees a batch."""
  dataset_name: str
  dataset_version: str
  class_names: tuple[str, ...]
  frames_shape: tuple[int, ...]  # One example: [T, S, S, C].
  num_examples: dict[str, int]  # Part -> records in it.
  train_label_counts: np.ndarray  # int64 [num_classes]
  batch_size: int
  eval_batch_size: int
  steps_per_epoch: int
  eval_steps: dict[str, int]  # Part -> batches in one evaluation pass.
  audio_samples: int = 0  # Waveform length in the batches; 0: batches hold no audio.

  @property
  def num_classes(self) -> int:
    return len(self.class_names)

  @property
  def num_train_examples(self) -> int:
    return self.num_examples["train"]


class Datasets:
  """The train and evaluation data of one run: `info`, `train_iterator()`, `eval_batches(part)`.

  `packed` is the opened dataset: an evaluation batch's `index` is a record index into
  `packed.sources[part]` (for CREMA-D also into `tfds_cremad.load_index`'s arrays).
  """

  def __init__(self, packed: sources_lib.PackedDataset, data_config: ml_collections.ConfigDict,
               mesh: Mesh, seed: int):
    self.packed = packed
    self._config = data_config
    self._mesh = mesh
    self._seed = seed if data_config.shuffle_seed == -1 else data_config.shuffle_seed
    self._augment = augment_lib.AugmentConfig.from_mapping(data_config.augment)
    self._audio_samples = audio_samples(data_config)
    train_indices = packed.indices["train"]
    iterators.host_batch_size(data_config.batch_size, mesh, "batch_size")
    iterators.host_batch_size(data_config.eval_batch_size, mesh, "eval_batch_size")
    if not len(train_indices):
      raise ValueError(f"{packed.name}: split {data_config.split!r} has no train records")
    frames_shape = records_lib.format_example(packed.sources["train"][int(train_indices[0])],
                                  packed.num_classes)["frames"].shape
    self.info = DatasetInfo(
        dataset_name=packed.name,
        dataset_version=packed.version,
        class_names=packed.class_names,
        frames_shape=tuple(frames_shape),
        num_examples={part: len(ids) for part, ids in packed.indices.items()},
        train_label_counts=np.asarray(packed.train_label_counts),
        batch_size=data_config.batch_size,
        eval_batch_size=data_config.eval_batch_size,
        steps_per_epoch=len(train_indices) // data_config.batch_size,
        eval_steps={part: iterators.num_eval_batches(len(ids), data_config.eval_batch_size)
                    for part, ids in packed.indices.items()},
        audio_samples=self._audio_samples)

  def with_sources(self, sources: Mapping[str, Any]) -> "Datasets":
    """These datasets (split, info, seeds) reading other records with the same indices.

    `sources`: part -> records, e.g. `emo_jax.feature_cache.source.FeatureSource`s of cached
    frame features; batches then hold `frame_features` instead of `frames`.
    """
    other = copy.copy(self)
    other.packed = dataclasses.replace(self.packed, sources=dict(sources))
    return other

  @property
  def eval_parts(self) -> tuple[str, ...]:
    return tuple(part for part in self.packed.indices if part != "train")

  def train_iterator(self, num_epochs: int | None = None,
                     device_prefetch: int = device_prefetch_lib.DEFAULT_SIZE
                     ) -> grain.DatasetIterator:
    """A fresh checkpointable train iterator (endless unless `num_epochs` is given)."""
    return iterators.train_iterator(
        self.packed.sources["train"], self.packed.indices["train"], mesh=self._mesh,
        batch_size=self._config.batch_size, num_classes=self.packed.num_classes,
        seed=self._seed, augment_config=self._augment, num_epochs=num_epochs,
        worker_count=self._config.worker_count, prefetch=self._config.prefetch,
        device_prefetch=device_prefetch, audio_samples=self._audio_samples)

  def eval_batches(self, part: str) -> Iterator[dict[str, jax.Array]]:
    """A fresh pass over `part` ("val", "test", or "train" without augmentation)."""
    if part not in self.packed.indices:
      raise KeyError(f"{self.packed.name} with split {self._config.split!r} has no part "
                     f"{part!r}; parts: {sorted(self.packed.indices)}")
    return iterators.eval_batches(
        self.packed.sources[part], self.packed.indices[part], mesh=self._mesh,
        batch_size=self._config.eval_batch_size, num_classes=self.packed.num_classes,
        prefetch=self._config.prefetch, audio_samples=self._audio_samples)


def build_if_missing(data_config: ml_collections.ConfigDict):
  """Packs `data_config.dataset` into `data_config.data_dir` unless it is there already.

  With several hosts, process 0 builds while the others wait (they share the data dir).
  """
  import tfds_cremad  # pylint: disable=g-import-not-at-top
  builder = tfds_cremad.make_builder(data_config.dataset, data_config.data_dir)
  if jax.process_index() == 0 and not tfds_cremad.is_built(builder):
    if tfds_cremad.is_stale(builder):
      logging.warning("%s in %s was packed by other code or parameters; building it again.",
                      data_config.dataset, builder.data_path)
      shutil.rmtree(builder.data_path)
    logging.info("Building %s in %s (first use; later runs reuse it).", data_config.dataset,
                 data_config.data_dir)
    builder.download_and_prepare()
  sharding.sync_hosts(f"built {data_config.dataset}")


def create_datasets(data_config: ml_collections.ConfigDict, mesh: Mesh, seed: int) -> Datasets:
  """Opens the packed dataset named by `data_config` and sets up its pipelines.

  Args:
    data_config: `config.data` (fields in the module docstring).
    mesh: from `emo_jax.sharding.create_mesh`.
    seed: the run seed, used when `data_config.shuffle_seed` is -1.
  """
  packed = sources_lib.load_packed_dataset(data_config.dataset, data_config.data_dir,
                                           data_config.split,
                                           with_audio=audio_samples(data_config) > 0)
  return Datasets(packed, data_config, mesh, seed)
