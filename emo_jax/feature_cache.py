"""A frozen frame encoder's per-frame features, computed once per dataset and read memory-mapped.

A frozen encoder (`config.model.encoder.frozen`) computes the same features for a frame
in every step, so with `config.data.cached_features` the trainer runs it once over every
record of the packed dataset and trains the bottleneck, temporal model and head on the
stored features: the same model and the same maths, without the encoder's cost per step.

Layout, beside the packed dataset:

  <data_dir>/feature_cache/<dataset>/<version>/<key>/<tfds split>/
      features.npy             [N, T, D] float32 or float16, record i of the split
      label.npy                int64 [N]
      vote_distribution.npy    float32 [N, K] (when the records have one)
      black_frame_feature.npy  [D]: the encoder on a black frame (frame dropout "zero")
      meta.json                what the key was made of, shapes, build time
      views<V>_<hash>/views.npy  [V, N, T, D]: pixel-augmented views (cached_feature_views > 1)

`key` (`cache_key`) hashes the encoder's config, the model's compute dtype, the
pretrained checkpoint path and the encoder's parameter values, so another checkpoint or
another random initialisation gets its own cache; the dataset version is in the path.
Every directory is written under a temporary name and renamed when complete, so an
interrupted build leaves nothing that looks finished, and concurrent builders (hosts,
parallel runs) cannot mix their files.
"""
import dataclasses
import functools
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from typing import Any, Mapping

import grain
import jax
import ml_collections
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from emo_jax import config_checks
from emo_jax.data import augment as augment_lib
from emo_jax.models import pretrained

FORMAT_VERSION = 1
DTYPES = ("float32", "float16")
# AugmentConfig fields that change the pixels the encoder sees (the rest are temporal).
PIXEL_AUGMENTATIONS = ("crop_probability", "flip_probability", "brightness", "contrast",
                       "noise_stddev")
_META = "meta.json"


def encoder_variables(variables: Mapping[str, Any]) -> dict:
  """The frame encoder's part of a model's variables, as host numpy arrays.

  `{"params": {"encoder": ...}, "batch_stats": {"encoder": ...}}` (see
  `pretrained.encoder_subtree`); replicated device arrays are read from this host's
  first copy.
  """
  subtree = pretrained.encoder_subtree(variables)

  def to_host(leaf):
    if isinstance(leaf, jax.Array):
      leaf = leaf.addressable_data(0)
    return np.asarray(leaf)

  return jax.tree.map(to_host, subtree)


def encoder_fingerprint(variables: Mapping[str, Any]) -> str:
  """sha256 over the paths, dtypes, shapes and bytes of the encoder's variables."""
  digest = hashlib.sha256()
  leaves, _ = jax.tree_util.tree_flatten_with_path(encoder_variables(variables))
  for path, leaf in leaves:
    leaf = np.ascontiguousarray(leaf)
    digest.update(f"{jax.tree_util.keystr(path)}|{leaf.dtype}|{leaf.shape}|".encode())
    digest.update(leaf.tobytes())
  return digest.hexdigest()


def _key_inputs(model_config, dataset_name: str, dataset_version: str,
                variables: Mapping[str, Any]) -> dict:
  model_config = (model_config.to_dict() if isinstance(model_config, ml_collections.ConfigDict)
                  else dict(model_config))
  return {"format_version": FORMAT_VERSION,
          "encoder": model_config.get("encoder"),
          "model_dtype": model_config.get("dtype") or "float32",
          "dataset": dataset_name, "dataset_version": str(dataset_version),
          "encoder_fingerprint": encoder_fingerprint(variables)}


def cache_key(model_config, dataset_name: str, dataset_version: str,
              variables: Mapping[str, Any]) -> str:
  """The cache's name: 16 hex digits over what determines the features.

  Args:
    model_config: `config.model`; its `encoder` (including `pretrained`, the checkpoint
      path) and `dtype` count.
    dataset_name: e.g. "cremad/g16_112".
    dataset_version: the packed dataset's version.
    variables: the model's variables (or just the encoder's); the encoder's parameter
      and batch-statistics values count, so each checkpoint or seed has its own key.
  """
  return _digest(_key_inputs(model_config, dataset_name, dataset_version, variables))


def _digest(key_inputs: Mapping[str, Any]) -> str:
  text = json.dumps(key_inputs, sort_keys=True, default=str)
  return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_directory(data_dir: str, dataset_name: str, dataset_version: str, key: str,
                    split: str) -> str:
  """`<data_dir>/feature_cache/<dataset>/<version>/<key>/<split>`."""
  return os.path.join(os.path.expanduser(os.fspath(data_dir)), "feature_cache", dataset_name,
                      str(dataset_version), key, split)


def pixel_augment_config(augment_config) -> augment_lib.AugmentConfig:
  """The pixel steps of an augmentation config (temporal steps off): what views bake in."""
  config = augment_lib.AugmentConfig.from_mapping(augment_config)
  return dataclasses.replace(config, temporal_min_fraction=1.0, frame_dropout_rate=0.0)


def views_directory(directory: str, num_views: int, augment_config,
                    view_seed: int = 0) -> str | None:
  """Where `num_views` augmented views live under a cache directory (None for one view)."""
  if num_views <= 1:
    return None
  settings = {"views": num_views, "seed": view_seed,
              "augment": dataclasses.asdict(pixel_augment_config(augment_config))}
  digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
  return os.path.join(directory, f"views{num_views}_{digest}")


def is_built(directory: str | None) -> bool:
  return directory is None or os.path.exists(os.path.join(directory, _META))


class _ReadClip:
  """record index -> uint8 frames (pixel-augmented with a fixed seed per view and record)."""

  def __init__(self, source, augment_config: augment_lib.AugmentConfig | None, view: int,
               view_seed: int):
    self._source = source
    self._augment_config = augment_config
    self._view = view
    self._view_seed = view_seed

  def __call__(self, index: int) -> dict[str, np.ndarray]:
    record = self._source[index]
    if "frames" not in record:
      raise KeyError(f"record {index} has no 'frames' (keys: {sorted(record)}); feature caches "
                     "are made from clips")
    frames = np.asarray(record["frames"])
    if self._augment_config is not None:
      rng = np.random.default_rng([self._view_seed, self._view, index])
      frames = augment_lib.augment_clip(frames, rng, self._augment_config)
    example = {"frames": frames, "label": np.int64(record["label"])}
    if "vote_distribution" in record:
      example["vote_distribution"] = np.asarray(record["vote_distribution"], np.float32)
    return example


@functools.lru_cache(maxsize=8)
def _jitted_encode_frames(model):
  """One jitted `encode_frames` per model: later builds (views, other splits) reuse its compile."""
  return jax.jit(lambda variables, frames: model.apply(variables, frames, method="encode_frames"))


class FrameEncoder:
  """The model's frame encoder, jitted, data-parallel over this host's devices.

  What `build_feature_cache` runs on each batch (benchmarks/reference_pytorch.py times
  it); `batch_size` is rounded up to a multiple of the devices.
  """

  def __init__(self, model, variables: Mapping[str, Any], batch_size: int):
    devices = jax.local_devices()
    self.mesh = Mesh(np.asarray(devices), ("data",))
    self.batch_size = -(-batch_size // len(devices)) * len(devices)
    self._batch = NamedSharding(self.mesh, PartitionSpec("data"))
    self._variables = jax.device_put(encoder_variables(variables),
                                     NamedSharding(self.mesh, PartitionSpec()))
    self._encode = _jitted_encode_frames(model)

  def __call__(self, frames: np.ndarray) -> np.ndarray:
    """uint8 `[n, T, H, W, C]`, n <= batch_size -> float32 `[n, T, D]` (one compiled shape)."""
    count = len(frames)
    padded = np.zeros((self.batch_size, *frames.shape[1:]), frames.dtype)
    padded[:count] = frames
    features = self._encode(self._variables, jax.device_put(padded, self._batch))
    return np.asarray(features, np.float32)[:count]


def _write_pass(encode: FrameEncoder, source, output: np.ndarray, augment_config, view: int,
                view_seed: int, labels: dict | None = None, num_threads: int = 4) -> None:
  """Encodes every record of `source` into `output` `[N, T, D]` (and collects labels)."""
  reader = _ReadClip(source, augment_config, view, view_seed)
  batches = (grain.MapDataset.range(len(source)).map(reader).batch(encode.batch_size)
             .to_iter_dataset(grain.ReadOptions(num_threads=num_threads,
                                                prefetch_buffer_size=num_threads)))
  start = 0
  for batch in batches:
    count = len(batch["frames"])
    output[start:start + count] = encode(batch["frames"])
    if labels is not None:
      for name in ("label", "vote_distribution"):
        if name in batch:
          labels.setdefault(name, []).append(batch[name])
    start += count


def _commit(temporary: str, directory: str) -> None:
  """Renames a complete temporary directory into place, unless another builder was first."""
  os.makedirs(os.path.dirname(directory), exist_ok=True)
  try:
    os.rename(temporary, directory)
  except OSError:
    if not is_built(directory):
      raise
    shutil.rmtree(temporary, ignore_errors=True)


def build_feature_cache(model, variables: Mapping[str, Any], source, directory: str, *,
                        dtype: str = "float32", num_views: int = 1, augment_config=None,
                        view_seed: int = 0, batch_size: int = 16,
                        key_inputs: Mapping[str, Any] | None = None) -> tuple[str, str | None]:
  """Runs the frame encoder over every record of `source` once and stores the features.

  Does nothing for parts already built. The encoder runs in evaluation mode (BatchNorm
  with its running statistics, as a frozen encoder does in training), jitted, over
  batches of `batch_size` clips split over this host's devices.

  Args:
    model: the `EmotionNet` (its `encode_frames` is what is cached).
    variables: the model's variables (only the encoder's are used).
    source: random-access records with uint8 `frames` [T, H, W, C], `label`, and
      optionally `vote_distribution` (a TFDS data source of a packed split).
    directory: from `cache_directory`.
    dtype: "float32" (exact) or "float16" (half the size).
    num_views: > 1 also stores that many pixel-augmented views of every clip.
    augment_config: `config.data.augment`; its pixel steps make the views.
    view_seed: the views' augmentations use `default_rng([view_seed, view, record])`.
    batch_size: clips per encoder call.
    key_inputs: recorded in meta.json.

  Returns:
    `(directory, views directory or None)`.
  """
  if dtype not in DTYPES:
    raise ValueError(f"feature cache dtype {dtype!r} is not one of {DTYPES}")
  views_dir = views_directory(directory, num_views, augment_config, view_seed)
  if is_built(directory) and is_built(views_dir):
    return directory, views_dir
  encode = FrameEncoder(model, variables, batch_size)
  num_records = len(source)
  first = np.asarray(source[0]["frames"])
  feature_dim = jax.eval_shape(lambda: model.apply(
      encoder_variables(variables), np.zeros((1, *first.shape), np.uint8),
      method="encode_frames")).shape[-1]
  shape = (num_records, first.shape[0], feature_dim)

  if not is_built(directory):
    start_time = time.time()
    temporary = f"{directory}.tmp-{uuid.uuid4().hex}"
    os.makedirs(temporary)
    features = np.lib.format.open_memmap(os.path.join(temporary, "features.npy"), "w+", dtype,
                                         shape)
    labels = {}
    _write_pass(encode, source, features, None, 0, view_seed, labels)
    features.flush()
    del features
    for name, parts in labels.items():
      np.save(os.path.join(temporary, f"{name}.npy"), np.concatenate(parts))
    black = encode(np.zeros((1, *first.shape), np.uint8))[0, 0]
    np.save(os.path.join(temporary, "black_frame_feature.npy"), black.astype(dtype))
    seconds = time.time() - start_time
    meta = {"key_inputs": dict(key_inputs or {}), "num_records": num_records,
            "frames_shape": list(first.shape), "features_shape": list(shape), "dtype": dtype,
            "build_seconds": seconds, "seconds_per_clip": seconds / num_records,
            "devices": [str(d) for d in encode.mesh.devices.flat]}
    with open(os.path.join(temporary, _META), "w") as f:
      json.dump(meta, f, indent=2, default=str)
    _commit(temporary, directory)
    logging.info("Cached the frame encoder's features of %d clips in %s (%.1f s, %.4f s per clip).",
                 num_records, directory, seconds, seconds / num_records)

  if not is_built(views_dir):
    start_time = time.time()
    pixel_config = pixel_augment_config(augment_config)
    temporary = f"{views_dir}.tmp-{uuid.uuid4().hex}"
    os.makedirs(temporary)
    views = np.lib.format.open_memmap(os.path.join(temporary, "views.npy"), "w+", dtype,
                                      (num_views, *shape))
    for view in range(num_views):
      _write_pass(encode, source, views[view], pixel_config, view, view_seed)
    views.flush()
    del views
    seconds = time.time() - start_time
    with open(os.path.join(temporary, _META), "w") as f:
      json.dump({"num_views": num_views, "view_seed": view_seed,
                 "augment": dataclasses.asdict(pixel_config), "build_seconds": seconds,
                 "seconds_per_clip_view": seconds / (num_records * num_views)}, f, indent=2)
    _commit(temporary, views_dir)
    logging.info("Cached %d augmented views of %d clips in %s (%.1f s).", num_views, num_records,
                 views_dir, seconds)
  return directory, views_dir


class FeatureSource:
  """Records of a feature cache, memory-mapped: `len()` and `[i]` like a TFDS data source.

  Record i: `frame_features` [T, D], `label`, `vote_distribution` (when cached),
  `black_frame_feature` [D], and with views `frame_feature_views` [V, T, D]. Arrays
  open lazily in each process, so grain workers can pickle the source.
  """

  def __init__(self, directory: str, views_dir: str | None = None):
    for path in filter(None, (directory, views_dir)):
      if not is_built(path):
        raise FileNotFoundError(f"{path} is not a complete feature cache (no {_META}); build it "
                                "with emo_jax.feature_cache.build_feature_cache")
    self.directory = directory
    self.views_dir = views_dir
    with open(os.path.join(directory, _META)) as f:
      self.meta = json.load(f)
    self._arrays = None

  def _open(self) -> dict[str, np.ndarray]:
    if self._arrays is None:
      def load(name, directory=self.directory, mmap_mode=None):
        path = os.path.join(directory, f"{name}.npy")
        return np.load(path, mmap_mode=mmap_mode) if os.path.exists(path) else None
      arrays = {"features": load("features", mmap_mode="r"), "label": load("label"),
                "vote_distribution": load("vote_distribution"),
                "black_frame_feature": load("black_frame_feature")}
      if self.views_dir:
        arrays["views"] = load("views", self.views_dir, mmap_mode="r")
      self._arrays = arrays
    return self._arrays

  def __len__(self) -> int:
    return int(self.meta["num_records"])

  def __getitem__(self, index: int) -> dict[str, np.ndarray]:
    arrays = self._open()
    record = {"frame_features": arrays["features"][index], "label": arrays["label"][index],
              "black_frame_feature": arrays["black_frame_feature"]}
    if arrays["vote_distribution"] is not None:
      record["vote_distribution"] = arrays["vote_distribution"][index]
    if "views" in arrays:
      record["frame_feature_views"] = arrays["views"][:, index]
    return record

  def __getstate__(self):
    return dict(self.__dict__, _arrays=None)


def check_preconditions(config: ml_collections.ConfigDict) -> None:
  """Cached features need a frozen per-frame encoder and no pixel augmentation (or views).

  Raises:
    config_checks.ConfigError: listing each value to change.
  """
  problems = []
  encoder = config.model.get("encoder")
  if not encoder:
    problems.append("config.model.encoder is None: a 3D network has no frame encoder whose "
                    "features could be cached; set config.data.cached_features=False")
  elif not encoder.get("frozen"):
    problems.append("config.model.encoder.frozen=False: a trained encoder's features change "
                    "every step; set config.model.encoder.frozen=True or "
                    "config.data.cached_features=False")
  bottleneck = config.model.get("bottleneck")
  if bottleneck and bottleneck.get("pixel_decoder"):
    problems.append("config.model.bottleneck.pixel_decoder=True reconstructs the frames, which a "
                    "run on cached features never reads; set it to False or "
                    "config.data.cached_features=False")
  views = config.data.cached_feature_views
  if views < 1:
    problems.append(f"config.data.cached_feature_views={views} must be >= 1")
  elif views == 1:
    augment = augment_lib.AugmentConfig.from_mapping(config.data.augment)
    for name in PIXEL_AUGMENTATIONS:
      if getattr(augment, name):
        problems.append(
            f"config.data.augment.{name}={getattr(augment, name)} changes the pixels the encoder "
            "sees; set it to 0, or cache augmented views with config.data.cached_feature_views > 1")
  if config.data.cached_feature_dtype not in DTYPES:
    problems.append(f"config.data.cached_feature_dtype={config.data.cached_feature_dtype!r} "
                    f"must be one of {DTYPES}")
  if problems:
    raise config_checks.ConfigError("config.data.cached_features=True cannot work:\n  "
                                    + "\n  ".join(problems))


def cached_feature_datasets(datasets, config: ml_collections.ConfigDict, model,
                            variables: Mapping[str, Any]):
  """`datasets` reading cached features (built here when missing) instead of frames.

  Args:
    datasets: `input_pipeline.Datasets` of the run (frames).
    config: the run's config (`data.data_dir`, `data.cached_feature_*`, `data.augment`,
      `model`).
    model: the run's `EmotionNet`.
    variables: its variables with the encoder as it will be trained (pretrained loaded).

  Returns:
    `datasets.with_sources(...)`: the same split, order and batching, with batches of
    `frame_features` [B, T, D].
  """
  info = datasets.info
  encoder = encoder_variables(variables)
  key_inputs = _key_inputs(config.model, info.dataset_name, info.dataset_version, encoder)
  key = _digest(key_inputs)
  caches = {}
  sources = {}
  for part, source in datasets.packed.sources.items():
    if id(source) not in caches:
      split = str(getattr(source, "split", None) or part)
      directory = cache_directory(config.data.data_dir, info.dataset_name, info.dataset_version,
                                  key, split)
      directory, views_dir = build_feature_cache(
          model, encoder, source, directory, dtype=config.data.cached_feature_dtype,
          num_views=config.data.cached_feature_views, augment_config=config.data.augment,
          key_inputs=dict(key_inputs, split=split))
      cached = FeatureSource(directory, views_dir)
      if len(cached) != len(source):
        raise ValueError(f"{directory} holds {len(cached)} records but the packed split has "
                         f"{len(source)}; delete the directory to rebuild it")
      caches[id(source)] = cached
      logging.info("Training on cached features from %s", directory)
    sources[part] = caches[id(source)]
  return datasets.with_sources(sources)
