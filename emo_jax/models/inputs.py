"""What a model takes from a batch: uint8 frames as float in [0, 1] (and audio), or cached features."""
import jax
import jax.numpy as jnp


def frames_to_float(frames: jax.Array) -> jax.Array:
  """uint8 `[B, T, H, W, C]` (as stored) to float32 in [0, 1], inside the jitted step."""
  return frames.astype(jnp.float32) / 255.0


def model_inputs(batch: dict) -> dict:
  """The model's input for a batch: `frames` (as float) or cached `frame_features` [B, T, D].

  Batches of cached features (`emo_jax.feature_cache`) skip the frozen frame encoder.
  Batches with `audio` (`[B, N]` waveforms) and `audio_length` (`[B]`) pass them on, for
  models with an audio branch (`AudioVisualNet`).
  """
  if "frame_features" in batch:
    return {"frame_features": batch["frame_features"]}
  inputs = {"frames": frames_to_float(batch["frames"])}
  if "audio" in batch:
    inputs.update(audio=batch["audio"], audio_length=batch["audio_length"])
  return inputs
