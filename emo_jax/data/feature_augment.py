"""Training augmentation of cached per-frame features `[T, D]`: a view, temporal jitter, dropout.

A frozen frame encoder sees every frame on its own, so the temporal steps of
`augment.augment_clip` (temporal jitter, frame dropout) only choose which frame goes
where: applied to the frames' features they give exactly the features of the augmented
clip. `augment_features` makes the same random draws as `augment_clip` with the pixel
steps off, so a run on cached features reads the same training examples as a run on
frames. Pixel steps (crop, flip, brightness, contrast, noise) change what the encoder
sees; they live in the cache as precomputed augmented views, one drawn per example.
"""
from typing import Any, Mapping

import numpy as np

from emo_jax.data import augment as augment_lib


def temporal_indices(num_frames: int, rng: np.random.Generator,
                     config: augment_lib.AugmentConfig) -> np.ndarray:
  """The source frame of each output frame: int64 `[T]`.

  Runs `augment_clip`'s temporal steps (jitter, then dropout) on a clip of frame indices.
  """
  if num_frames > 256:
    raise ValueError(f"temporal_indices: at most 256 frames, got {num_frames}")
  indices = np.arange(num_frames, dtype=np.uint8).reshape(num_frames, 1, 1, 1)
  if config.temporal_min_fraction < 1 and num_frames > 1:
    indices = augment_lib.temporal_jitter(indices, rng, config.temporal_min_fraction)
  if config.frame_dropout_rate > 0 and num_frames > 1:
    indices = augment_lib.frame_dropout(indices, rng, config.frame_dropout_rate)
  return indices.reshape(num_frames).astype(np.int64)


def augment_features(record: Mapping[str, Any], rng: np.random.Generator,
                     config: "augment_lib.AugmentConfig | Mapping[str, Any] | None") -> np.ndarray:
  """One training example's features `[T, D]` from a cached record.

  Args:
    record: `frame_features` `[T, D]` (the clean clip); optionally `frame_feature_views`
      `[V, T, D]` (pixel-augmented clips, one drawn uniformly, first).
    rng: this example's generator.
    config: `AugmentConfig` or a mapping of its fields; only the temporal ones are used.

  Returns:
    The augmented features `[T, D]`, in the dtype of the cache.
  """
  config = augment_lib.AugmentConfig.from_mapping(config)
  views = record.get("frame_feature_views")
  if views is not None:
    features = np.asarray(views[int(rng.integers(len(views)))])
  else:
    features = np.asarray(record["frame_features"])
  return features[temporal_indices(features.shape[0], rng, config)]
