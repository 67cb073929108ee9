"""The classification head: dense layers with dropout to the class logits."""
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from flax.typing import Dtype


class ClassifierHead(nn.Module):
  """`[B, D] -> [B, num_classes]` float32 logits.

  Dropout (rng stream "dropout") before each dense layer, ReLU after the hidden ones.

  Attributes:
    num_classes: number of logits.
    hidden_sizes: widths of the hidden layers; () is a linear classifier.
    dropout: dropout rate.
    dtype: compute dtype; parameters and logits are float32.
  """
  num_classes: int
  hidden_sizes: Sequence[int] = ()
  dropout: float = 0.0
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
    x = x.astype(self.dtype)
    for index, width in enumerate(self.hidden_sizes):
      x = nn.Dropout(self.dropout, deterministic=not train)(x)
      x = nn.relu(nn.Dense(width, dtype=self.dtype, name=f"hidden{index}")(x))
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    # Logits in float32 so the softmax cross-entropy is computed at full precision.
    return nn.Dense(self.num_classes, dtype=self.dtype, name="logits")(x).astype(jnp.float32)
