"""The simplest temporal model: the mean of the per-frame features over the valid frames."""
import flax.linen as nn
import jax
import jax.numpy as jnp

from flax.typing import Dtype
from emo_jax.models import masking


class MeanPooling(nn.Module):
  """Masked mean over time: `[B, T, D]`, mask `[B, T]` -> `([B, D], {})`. No parameters.

  With `T = 1` (image mode, FER2013) it is the identity on the single frame.
  """
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, *, mask: jax.Array, train: bool) -> tuple[jax.Array, dict]:
    del train  # Same in training and evaluation.
    return masking.masked_mean(x.astype(self.dtype), mask), {}
