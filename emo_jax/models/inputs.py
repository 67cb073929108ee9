"""What a model takes from a batch: uint8 frames as float in [0, 1], or cached frame features."""
import jax
import jax.numpy as jnp


def frames_to_float(frames: jax.Array) -> jax.Array:
  """uint8 `[B, T, H, W, C]` (as stored) to float32 in [0, 1], inside the jitted step."""
  return frames.astype(jnp.float32) / 255.0


def model_inputs(batch: dict) -> dict:
  """The model's input for a batch: `frames` (as float) or cached `frame_features` [B, T, D].

  Batches of cached features (`emo_jax.feature_cache`) skip the frozen frame encoder.
  """
  if "frame_features" in batch:
    return {"frame_features": batch["frame_features"]}
  return {"frames": frames_to_float(batch["frames"])}
