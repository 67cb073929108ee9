"""Grain iterators of global batches: endless shuffled train batches and padded evaluation passes.

Each host reads its own `1 / process_count` of the records in batches of
`B / process_count`; `emo_jax.sharding` assembles the global arrays.
"""
import functools
import math
from typing import Iterator

from absl import flags
import grain
import jax
import numpy as np
from jax.sharding import Mesh

from emo_jax import device_prefetch as device_prefetch_lib
from emo_jax import sharding
from emo_jax.data import augment as augment_lib
from emo_jax.data import feature_augment
from emo_jax.input_pipeline import records as records_lib


# "Endless" training: far more epochs than any run takes, as a finite dataset length.
ENDLESS_EPOCHS = 2**40


def host_batch_size(global_batch_size: int, mesh: Mesh, name: str = "batch_size") -> int:
  """This host's share of a global batch size, which must split over devices and hosts.

  Raises:
    ValueError: saying what to change when it does not divide evenly.
  """
  num_devices = mesh.devices.size
  if global_batch_size <= 0 or global_batch_size % num_devices:
    lower = max(global_batch_size // num_devices, 1) * num_devices
    raise ValueError(
        f"config.data.{name}={global_batch_size} is not divisible by the {num_devices} "
        f"devices of the mesh; use a multiple of {num_devices} such as {lower} or "
        f"{lower + num_devices}, or use fewer devices (config.num_devices)")
  return global_batch_size // jax.process_count()


def host_shard(indices: np.ndarray, equal_sizes: bool) -> np.ndarray:
  """This host's records: every `process_count`-th one starting at `process_index`.

  With `equal_sizes` every host keeps `len(indices) // process_count` records, so all
  hosts run the same number of train steps.
  """
  shard = np.asarray(indices)[jax.process_index()::jax.process_count()]
  if equal_sizes:
    shard = shard[:len(indices) // jax.process_count()]
  return shard


class _ReadTrainExample:
  """Element k of this host's stream of train examples -> the augmented example (picklable).

  Element k is row `k % per_host` of this host's share of global batch `k // per_host`.
  Global batch b of an epoch holds positions `b * batch_size ...` of that epoch's
  permutation of the train records (seeded by (seed, epoch)), and host h reads rows
  `h * per_host ...` of it. Each example's augmentation is drawn from (seed, epoch,
  position). So the global batches do not depend on how many hosts read them: one host
  with 8 devices trains on exactly what 2 hosts with 4 devices each do.
  """

  def __init__(self, source, record_indices: np.ndarray, num_classes: int,
               augment_config: augment_lib.AugmentConfig, *, seed: int, batch_size: int,
               per_host: int, host_index: int, audio_samples: int = 0):
    self._source = source
    self._audio_samples = audio_samples
    self._record_indices = np.asarray(record_indices)
    self._num_classes = num_classes
    self._augment_config = augment_config
    self._seed = seed
    self._batch_size = batch_size
    self._per_host = per_host
    self._host_index = host_index
    self.steps_per_epoch = len(self._record_indices) // batch_size
    self._permutations = {}  # epoch -> permutation; the last two epochs only.

  def _permutation(self, epoch: int) -> np.ndarray:
    permutation = self._permutations.get(epoch)
    if permutation is None:
      permutation = np.random.default_rng([self._seed, epoch]).permutation(
          len(self._record_indices))
      # Replaced, not mutated: grain reads with several threads.
      self._permutations = {e: p for e, p in self._permutations.items() if e == epoch - 1}
      self._permutations[epoch] = permutation
    return permutation

  def __call__(self, element: int) -> dict[str, np.ndarray]:
    batch, row = divmod(int(element), self._per_host)
    epoch, batch_in_epoch = divmod(batch, self.steps_per_epoch)
    position = batch_in_epoch * self._batch_size + self._host_index * self._per_host + row
    record = self._source[int(self._record_indices[self._permutation(epoch)[position]])]
    rng = np.random.default_rng([self._seed, epoch, position])
    example = records_lib.format_example(record, self._num_classes, self._audio_samples)
    if "frame_features" in example:
      example["frame_features"] = feature_augment.augment_features(record, rng,
                                                                   self._augment_config)
    else:
      example["frames"] = augment_lib.augment_clip(example["frames"], rng, self._augment_config)
    return example


class _ReadEvalExample:
  """record index (-1: padding) -> example with `mask` and `index` (picklable)."""

  def __init__(self, source, num_classes: int, padding: dict[str, np.ndarray],
               audio_samples: int = 0):
    self._source = source
    self._audio_samples = audio_samples
    self._num_classes = num_classes
    self._padding = padding

  def __call__(self, record_index: int) -> dict[str, np.ndarray]:
    if record_index < 0:
      return dict(self._padding)
    example = records_lib.format_example(self._source[int(record_index)], self._num_classes,
                                         self._audio_samples)
    example["index"] = np.int32(record_index)
    return example


def _read_options(prefetch: int) -> grain.ReadOptions:
  # Elements are whole batches, so the buffer counts batches (grain's default is 500).
  return grain.ReadOptions(num_threads=prefetch, prefetch_buffer_size=prefetch)


def _allow_grain_flags_unparsed() -> None:
  """Lets grain's worker processes start outside an absl app (scripts, tests).

  grain 0.2.18 reads an absl flag when it starts workers and fails with
  UnparsedFlagAccessError unless flags were parsed (google/grain#1355, fixed
  upstream later); flags keep their defaults. `absl.app.run` parses them anyway.
  """
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()


def train_iterator(source, record_indices: np.ndarray, *, mesh: Mesh, batch_size: int,
                   num_classes: int, seed: int, augment_config=None,
                   num_epochs: int | None = None, worker_count: int = 0,
                   prefetch: int = 2,
                   device_prefetch: int = device_prefetch_lib.DEFAULT_SIZE,
                   audio_samples: int = 0) -> grain.DatasetIterator:
  """Shuffled, augmented global train batches; `num_epochs=None` repeats forever.

  Args:
    source: random-access records (see `PackedDataset.sources`).
    record_indices: the records of the train part (all hosts pass the same array).
    mesh: batches are sharded over its "data" axis.
    batch_size: global batch size.
    num_classes: for one-hot vote distributions.
    seed: shuffle and augmentation seed; each epoch is reshuffled from it.
    augment_config: `AugmentConfig` or a mapping of its fields.
    num_epochs: passes over the data, or None for endless.
    worker_count: grain worker processes (0: threads in this process).
    prefetch: batches read ahead per process.
    device_prefetch: batches copied to the devices ahead, in a background thread; 0
      copies each batch in the thread that asks for it.
    audio_samples: > 0 adds `audio` `[B, audio_samples]` and `audio_length` `[B]`
      (`records.format_audio`) to the batches.

  Returns:
    A checkpointable iterator of dicts of `jax.Array`s (`TRAIN_KEYS`); the last
    incomplete batch of every epoch is dropped.
  """
  per_host = host_batch_size(batch_size, mesh, "batch_size")
  if len(record_indices) < batch_size:
    raise ValueError(
        f"the train part has {len(record_indices)} records, fewer than one batch of "
        f"{batch_size} (config.data.batch_size); lower the batch size")
  reader = _ReadTrainExample(source, record_indices, num_classes,
                             augment_lib.AugmentConfig.from_mapping(augment_config),
                             seed=seed, batch_size=batch_size, per_host=per_host,
                             host_index=jax.process_index(), audio_samples=audio_samples)
  num_elements = reader.steps_per_epoch * per_host * (num_epochs or ENDLESS_EPOCHS)
  dataset = (grain.MapDataset.range(num_elements).map(reader)
             .batch(per_host, drop_remainder=True).to_iter_dataset(_read_options(prefetch)))
  if worker_count > 0:
    _allow_grain_flags_unparsed()
    dataset = dataset.mp_prefetch(grain.MultiprocessingOptions(
        num_workers=worker_count, per_worker_buffer_size=max(prefetch, 1)))
  to_global = functools.partial(sharding.host_local_batch_to_global, mesh=mesh)
  if not device_prefetch:
    return iter(dataset.map(to_global))
  # Read, augmented and copied to the devices in a background thread, ahead of the step.
  return device_prefetch_lib.DevicePrefetchIterator(iter(dataset), to_global, device_prefetch)


def eval_batches(source, record_indices: np.ndarray, *, mesh: Mesh, batch_size: int,
                 num_classes: int, prefetch: int = 2,
                 audio_samples: int = 0) -> Iterator[dict[str, jax.Array]]:
  """One pass over the records in order, padded so every host has whole batches.

  Every record appears exactly once with `mask` True and its `index`; padding rows
  have `mask` False and `index` -1. Reads in this process (no worker start-up cost).

  Returns:
    An iterator of dicts of `jax.Array`s (`EVAL_KEYS`), global batch size `batch_size`.
  """
  per_host = host_batch_size(batch_size, mesh, "eval_batch_size")
  record_indices = np.asarray(record_indices)
  if not len(record_indices):
    return iter(())
  shard = host_shard(record_indices, equal_sizes=False)
  num_batches = num_eval_batches(len(record_indices), batch_size)
  padded = np.full(num_batches * per_host, -1, np.int64)
  padded[:len(shard)] = shard
  reader = _ReadEvalExample(
      source, num_classes,
      records_lib.padding_example(source, record_indices[0], num_classes, audio_samples),
      audio_samples)
  dataset = (grain.MapDataset.source(padded.tolist()).map(reader).batch(per_host)
             .to_iter_dataset(_read_options(prefetch)))
  to_global = functools.partial(sharding.host_local_batch_to_global, mesh=mesh)
  return iter(dataset.map(to_global))


def num_eval_batches(num_records: int, batch_size: int) -> int:
  """Batches of a padded evaluation pass (the same on every host)."""
  per_host = batch_size // jax.process_count()
  return math.ceil(math.ceil(num_records / jax.process_count()) / per_host)
