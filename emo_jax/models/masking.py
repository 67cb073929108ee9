"""Helpers for frame masks `[B, T]` bool that mark the valid frames of padded clips."""
import jax
import jax.numpy as jnp


def masked_mean(x: jax.Array, mask: jax.Array) -> jax.Array:
  """Mean over the valid time steps: `[B, T, D]`, `[B, T]` bool -> `[B, D]`.

  A clip with no valid frame gives zeros rather than NaN.
  """
  weights = mask.astype(x.dtype)[..., None]
  count = jnp.maximum(jnp.sum(weights, axis=1), 1)
  return jnp.sum(x * weights, axis=1) / count


def sequence_lengths(mask: jax.Array) -> jax.Array:
  """Number of valid frames per clip: `[B, T]` bool -> `[B]` int32.

  Equals the true length only when the mask is a prefix (valid frames first, padding at
  the end), which is how the input pipeline pads clips.
  """
  return jnp.sum(mask, axis=-1).astype(jnp.int32)
