"""Packed TFDS records -> grain -> global `jax.Array` batches sharded over the mesh's "data" axis.

`create_datasets(config.data, mesh, seed) -> Datasets`; the trainer uses
`datasets.info`, `datasets.train_iterator()` and `datasets.eval_batches("val")`.
`load_packed_dataset` opens a build and applies the split; `train_iterator` and
`eval_batches` also work on any in-memory records (`len()` and `[i]` -> dict).

config.data fields read here (the defaults live in the config files):
  dataset: "cremad/<builder config>" (e.g. "cremad/g16_112", "cremad/synthetic_g16_112")
      or "fer2013".
  data_dir: the TFDS data dir the dataset was built into.
  split: CREMA-D: an actor split spec, "hicmae5:fold=K" (K in 1..5) or "holdout" (see
      emo_jax/data/splits.py), applied when reading. FER2013: "standard" (train = train,
      val = public_test, test = private_test).
  batch_size: global train batch size; a multiple of the number of devices.
  eval_batch_size: global evaluation batch size; same rule.
  shuffle_seed: seed of the train order and augmentations; -1 uses the run seed.
  augment: fields of `emo_jax.data.augment.AugmentConfig` (empty: no augmentation).
  worker_count: grain worker processes for training batches; 0 reads in this process.
  prefetch: batches read ahead (threads and buffer) per process.

Batches are dicts of `jax.Array`s with the global batch size B on the leading axis:
  frames uint8 [B, T, S, S, C] (FER2013: T = 1), or, from records of cached frame
  features (`emo_jax.feature_cache`, `Datasets.with_sources`), frame_features
  [B, T, D] float16/float32 instead, label int32 [B],
  vote_distribution float32 [B, num_classes] (the crowd's votes for CREMA-D, one-hot
  where a dataset has none or a clip has no votes), mask bool [B] (False for padding);
  evaluation batches also carry index int32 [B], the record index in the packed
  split (-1 for padding), to join predictions with metadata (actor, clip name).
Audio and strings never leave the host.

Training batches are global: batch b of an epoch is positions `b * B ...` of that
epoch's seeded permutation of the train records, and each host reads and augments its
own `B / process_count` rows of it (augmentations are seeded per epoch and position), so
the batches are the same whatever the number of hosts. The last `N mod B` records of
each epoch's permutation are dropped. Evaluation splits the records over the hosts
(every `process_count`-th one) and pads, so every host has the same number of batches
(`mask` False), and `emo_jax.sharding` assembles the global arrays. Training is endless
and reshuffled every epoch, deterministically from the seed; the returned iterator
has `get_state()` / `set_state()` (and works with `grain.checkpoint.CheckpointSave` in
Orbax), so a resumed run continues the same order.
"""
import copy
import dataclasses
import functools
import logging
import math
import os
import shutil
from typing import Any, Iterator, Mapping, Sequence

from absl import flags
import grain
import jax
import ml_collections
import numpy as np
from jax.sharding import Mesh

from emo_jax import device_prefetch as device_prefetch_lib
from emo_jax import sharding
from emo_jax.data import augment as augment_lib
from emo_jax.data import feature_augment
from emo_jax.data import splits

# What a device batch holds; everything else in a record stays on the host.
TRAIN_KEYS = ("frames", "label", "vote_distribution", "mask")
EVAL_KEYS = TRAIN_KEYS + ("index",)
# "Endless" training: far more epochs than any run takes, as a finite dataset length.
ENDLESS_EPOCHS = 2**40
# The record fields `format_example` reads; the others (audio, strings) are not decoded.
CREMAD_FIELDS = ("frames", "label", "vote_distribution")
FER2013_FIELDS = ("image", "label")
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

  @property
  def num_classes(self) -> int:
    return len(self.class_names)

  @property
  def num_train_examples(self) -> int:
    return self.num_examples["train"]


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


def _frames(record: Mapping[str, Any]) -> np.ndarray:
  """A record's uint8 frames `[T, S, S, C]`; a still `image` `[S, S, C]` is one frame."""
  if "frames" in record:
    frames = np.asarray(record["frames"])
  elif "image" in record:
    frames = np.asarray(record["image"])[None]
  else:
    raise KeyError(f"record has neither 'frames' nor 'image'; keys: {sorted(record)}")
  if frames.dtype != np.uint8 or frames.ndim != 4:
    raise ValueError(f"expected uint8 frames [T, S, S, C], got {frames.dtype} {frames.shape}")
  return frames


def format_example(record: Mapping[str, Any], num_classes: int) -> dict[str, np.ndarray]:
  """A packed record -> {frames uint8 [T, S, S, C], label int32, vote_distribution, mask}.

  Still images (`image` [S, S, C]) become one-frame clips. Records without a vote
  distribution, or with no votes, get the one-hot of their label. A record of cached
  features gives `frame_features` [T, D] instead of `frames`.
  """
  if "frame_features" in record:
    inputs = {"frame_features": np.asarray(record["frame_features"])}
  else:
    inputs = {"frames": _frames(record)}
  label = int(record["label"])
  votes = record.get("vote_distribution")
  if votes is None or not np.asarray(votes).sum() > 0:
    votes = np.eye(num_classes, dtype=np.float32)[label]
  return {**inputs, "label": np.int32(label),
          "vote_distribution": np.asarray(votes, np.float32), "mask": np.True_}


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
               per_host: int, host_index: int):
    self._source = source
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
    example = format_example(record, self._num_classes)
    if "frame_features" in example:
      example["frame_features"] = feature_augment.augment_features(record, rng,
                                                                   self._augment_config)
    else:
      example["frames"] = augment_lib.augment_clip(example["frames"], rng, self._augment_config)
    return example


class _ReadEvalExample:
  """record index (-1: padding) -> example with `mask` and `index` (picklable)."""

  def __init__(self, source, num_classes: int, padding: dict[str, np.ndarray]):
    self._source = source
    self._num_classes = num_classes
    self._padding = padding

  def __call__(self, record_index: int) -> dict[str, np.ndarray]:
    if record_index < 0:
      return dict(self._padding)
    example = format_example(self._source[int(record_index)], self._num_classes)
    example["index"] = np.int32(record_index)
    return example


def _padding_example(source, record_index: int, num_classes: int) -> dict[str, np.ndarray]:
  example = format_example(source[int(record_index)], num_classes)
  padding = {key: np.zeros_like(value) for key, value in example.items()}
  padding["index"] = np.int32(-1)
  return padding


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
                   device_prefetch: int = device_prefetch_lib.DEFAULT_SIZE
                   ) -> grain.DatasetIterator:
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
                             host_index=jax.process_index())
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
                 num_classes: int, prefetch: int = 2) -> Iterator[dict[str, jax.Array]]:
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
  reader = _ReadEvalExample(source, num_classes,
                            _padding_example(source, record_indices[0], num_classes))
  dataset = (grain.MapDataset.source(padded.tolist()).map(reader).batch(per_host)
             .to_iter_dataset(_read_options(prefetch)))
  to_global = functools.partial(sharding.host_local_batch_to_global, mesh=mesh)
  return iter(dataset.map(to_global))


def num_eval_batches(num_records: int, batch_size: int) -> int:
  """Batches of a padded evaluation pass (the same on every host)."""
  per_host = batch_size // jax.process_count()
  return math.ceil(math.ceil(num_records / jax.process_count()) / per_host)


class Datasets:
  """The train and evaluation data of one run: `info`, `train_iterator()`, `eval_batches(part)`.

  `packed` is the opened dataset: an evaluation batch's `index` is a record index into
  `packed.sources[part]` (for CREMA-D also into `tfds_cremad.load_index`'s arrays).
  """

  def __init__(self, packed: PackedDataset, data_config: ml_collections.ConfigDict,
               mesh: Mesh, seed: int):
    self.packed = packed
    self._config = data_config
    self._mesh = mesh
    self._seed = seed if data_config.shuffle_seed == -1 else data_config.shuffle_seed
    self._augment = augment_lib.AugmentConfig.from_mapping(data_config.augment)
    train_indices = packed.indices["train"]
    host_batch_size(data_config.batch_size, mesh, "batch_size")
    host_batch_size(data_config.eval_batch_size, mesh, "eval_batch_size")
    if not len(train_indices):
      raise ValueError(f"{packed.name}: split {data_config.split!r} has no train records")
    frames_shape = format_example(packed.sources["train"][int(train_indices[0])],
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
        eval_steps={part: num_eval_batches(len(ids), data_config.eval_batch_size)
                    for part, ids in packed.indices.items()})

  def with_sources(self, sources: Mapping[str, Any]) -> "Datasets":
    """These datasets (split, info, seeds) reading other records with the same indices.

    `sources`: part -> records, e.g. `emo_jax.feature_cache.FeatureSource`s of cached
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
    return train_iterator(
        self.packed.sources["train"], self.packed.indices["train"], mesh=self._mesh,
        batch_size=self._config.batch_size, num_classes=self.packed.num_classes,
        seed=self._seed, augment_config=self._augment, num_epochs=num_epochs,
        worker_count=self._config.worker_count, prefetch=self._config.prefetch,
        device_prefetch=device_prefetch)

  def eval_batches(self, part: str) -> Iterator[dict[str, jax.Array]]:
    """A fresh pass over `part` ("val", "test", or "train" without augmentation)."""
    if part not in self.packed.indices:
      raise KeyError(f"{self.packed.name} with split {self._config.split!r} has no part "
                     f"{part!r}; parts: {sorted(self.packed.indices)}")
    return eval_batches(
        self.packed.sources[part], self.packed.indices[part], mesh=self._mesh,
        batch_size=self._config.eval_batch_size, num_classes=self.packed.num_classes,
        prefetch=self._config.prefetch)


def _cremad_parts(builder, split: str | None) -> tuple[Any, dict[str, np.ndarray], np.ndarray]:
  """(records, part -> record indices, train label counts) of a built `cremad` dataset."""
  import tfds_cremad  # pylint: disable=g-import-not-at-top
  # "all": every record, in index order; only the fields batches hold are decoded.
  source = tfds_cremad.FieldSource(builder, "all", CREMAD_FIELDS)
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
  import tfds_cremad  # pylint: disable=g-import-not-at-top
  sources = {part: tfds_cremad.FieldSource(builder, tfds_split, FER2013_FIELDS)
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
  import tfds_cremad  # pylint: disable=g-import-not-at-top
  if builder.name == "cremad":
    sources, indices, counts = _cremad_parts(builder, split)
  elif builder.name == "fer2013":
    sources, indices, counts = _fer2013_parts(builder, split)
  else:
    raise ValueError(f"{builder.name}: the input pipeline reads cremad/<config> and fer2013")
  name = builder.name + (f"/{builder.builder_config.name}" if builder.builder_config else "")
  version = str(builder.info.version)
  fingerprint = tfds_cremad.loading.packed_fingerprint(builder)
  if fingerprint:  # What was packed, not only the builder's declared version.
    version += f"+{fingerprint}"
  return PackedDataset(
      name=name, version=version,
      class_names=tuple(builder.info.features["label"].names),
      sources=sources, indices=indices, train_label_counts=counts)


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
  packed = load_packed_dataset(data_config.dataset, data_config.data_dir, data_config.split)
  return Datasets(packed, data_config, mesh, seed)
