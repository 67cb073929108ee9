"""Runs a frozen frame encoder once over a packed split and writes its features (and augmented views)."""
import dataclasses
import functools
import json
import logging
import os
import shutil
import time
import uuid
from typing import Any, Mapping

import grain
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from emo_jax.data import augment as augment_lib
from emo_jax.feature_cache import keys
from emo_jax.feature_cache import layout


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
    self._variables = jax.device_put(keys.encoder_variables(variables),
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
    if not layout.is_built(directory):
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
  if dtype not in layout.DTYPES:
    raise ValueError(f"feature cache dtype {dtype!r} is not one of {layout.DTYPES}")
  views_dir = layout.views_directory(directory, num_views, augment_config, view_seed)
  if layout.is_built(directory) and layout.is_built(views_dir):
    return directory, views_dir
  encode = FrameEncoder(model, variables, batch_size)
  num_records = len(source)
  first = np.asarray(source[0]["frames"])
  feature_dim = jax.eval_shape(lambda: model.apply(
      keys.encoder_variables(variables), np.zeros((1, *first.shape), np.uint8),
      method="encode_frames")).shape[-1]
  shape = (num_records, first.shape[0], feature_dim)

  if not layout.is_built(directory):
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
    seconds = time.time() - start_time
    meta = {"key_inputs": dict(key_inputs or {}), "num_records": num_records,
            "frames_shape": list(first.shape), "features_shape": list(shape), "dtype": dtype,
            "build_seconds": seconds, "seconds_per_clip": seconds / num_records,
            "devices": [str(d) for d in encode.mesh.devices.flat]}
    with open(os.path.join(temporary, layout.META), "w") as f:
      json.dump(meta, f, indent=2, default=str)
    _commit(temporary, directory)
    logging.info("Cached the frame encoder's features of %d clips in %s (%.1f s, %.4f s per clip).",
                 num_records, directory, seconds, seconds / num_records)

  if not layout.is_built(views_dir):
    start_time = time.time()
    pixel_config = layout.pixel_augment_config(augment_config)
    temporary = f"{views_dir}.tmp-{uuid.uuid4().hex}"
    os.makedirs(temporary)
    views = np.lib.format.open_memmap(os.path.join(temporary, "views.npy"), "w+", dtype,
                                      (num_views, *shape))
    for view in range(num_views):
      _write_pass(encode, source, views[view], pixel_config, view, view_seed)
    views.flush()
    del views
    seconds = time.time() - start_time
    with open(os.path.join(temporary, layout.META), "w") as f:
      json.dump({"num_views": num_views, "view_seed": view_seed,
                 "augment": dataclasses.asdict(pixel_config), "build_seconds": seconds,
                 "seconds_per_clip_view": seconds / (num_records * num_views)}, f, indent=2)
    _commit(temporary, views_dir)
    logging.info("Cached %d augmented views of %d clips in %s (%.1f s).", num_views, num_records,
                 views_dir, seconds)
  return directory, views_dir
