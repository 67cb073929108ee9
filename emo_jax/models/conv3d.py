"""Clip networks with 3D convolutions: C3D-style and factorised (2+1)D (R(2+1)D)."""
import functools
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from flax.typing import Dtype
from emo_jax.models import normalization


class C3D(nn.Module):
  """C3D-style network: `[B, T, H, W, C] -> [B, widths[-1]]`.

  Each stage is `convs_per_stage` 3x3x3 convolutions with norm and ReLU, then max
  pooling: spatial only (1x2x2) after the first stage, so early motion is kept, and
  2x2x2 after the others (SAME padding, so short clips never pool to zero frames).
  Global average pooling over time and space gives the clip embedding.

  Attributes:
    widths: channels of each stage.
    convs_per_stage: 3x3x3 convolutions per stage.
    norm: "batch", "group" or "none".
    dtype: compute dtype; parameters stay float32.
  """
  widths: Sequence[int] = (32, 64, 128, 256)
  convs_per_stage: int = 1
  norm: str = "batch"
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, clip: jax.Array, *, train: bool) -> jax.Array:
    """`[B, T, H, W, C]` normalised frames -> `[B, widths[-1]]`."""
    x = clip.astype(self.dtype)
    for stage, width in enumerate(self.widths):
      for index in range(self.convs_per_stage):
        x = nn.Conv(width, (3, 3, 3), use_bias=self.norm == "none", dtype=self.dtype,
                    name=f"stage{stage}_conv{index}")(x)
        x = normalization.make_norm(self.norm, width, use_running_average=not train,
                                    dtype=self.dtype, name=f"stage{stage}_norm{index}")(x)
        x = nn.relu(x)
      window = (1, 2, 2) if stage == 0 else (2, 2, 2)
      x = nn.max_pool(x, window, strides=window, padding="SAME")
    return jnp.mean(x, axis=(1, 2, 3))


class Conv2Plus1D(nn.Module):
  """A 3x3x3 convolution factorised into 1x3x3 (space), norm, ReLU, 3x1x1 (time).

  `[B, T, H, W, C] -> [B, T/s, H/s, W/s, filters]`. The middle width follows the R(2+1)D
  paper, so the pair has about as many parameters as the full 3D convolution.
  """
  filters: int
  strides: int = 1
  norm: str = "batch"
  use_running_average: bool = True
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    in_channels = x.shape[-1]
    middle = max(1, (27 * in_channels * self.filters) // (9 * in_channels + 3 * self.filters))
    x = nn.Conv(middle, (1, 3, 3), strides=(1, self.strides, self.strides),
                use_bias=self.norm == "none", dtype=self.dtype, name="spatial")(x)
    x = normalization.make_norm(self.norm, middle, use_running_average=self.use_running_average,
                                dtype=self.dtype, name="spatial_norm")(x)
    x = nn.relu(x)
    return nn.Conv(self.filters, (3, 1, 1), strides=(self.strides, 1, 1),
                   use_bias=self.norm == "none", dtype=self.dtype, name="temporal")(x)


class R2Plus1D(nn.Module):
  """R(2+1)D residual network: `[B, T, H, W, C] -> [B, widths[-1]]`.

  A (2+1)D stem with spatial stride 2, then one stage per entry of `widths` of
  `blocks_per_stage` residual blocks of two (2+1)D convolutions; every stage after the
  first starts with stride 2 in time and space. Global average pooling at the end.

  Attributes:
    widths: channels of each stage.
    blocks_per_stage: residual blocks per stage (1 here; 2 in R(2+1)D-18).
    norm: "batch", "group" or "none".
    dtype: compute dtype; parameters stay float32.
  """
  widths: Sequence[int] = (32, 64, 128, 256)
  blocks_per_stage: int = 1
  norm: str = "batch"
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, clip: jax.Array, *, train: bool) -> jax.Array:
    """`[B, T, H, W, C]` normalised frames -> `[B, widths[-1]]`."""
    conv = functools.partial(Conv2Plus1D, norm=self.norm, use_running_average=not train,
                             dtype=self.dtype)
    norm = functools.partial(normalization.make_norm, self.norm, use_running_average=not train,
                             dtype=self.dtype)
    x = clip.astype(self.dtype)
    x = conv(self.widths[0], name="stem")(x)
    x = nn.relu(norm(self.widths[0], name="stem_norm")(x))
    x = nn.max_pool(x, (1, 2, 2), strides=(1, 2, 2), padding="SAME")
    for stage, width in enumerate(self.widths):
      for block in range(self.blocks_per_stage):
        name = f"stage{stage}_block{block}"
        strides = 2 if stage > 0 and block == 0 else 1
        y = conv(width, strides=strides, name=f"{name}_conv1")(x)
        y = nn.relu(norm(width, name=f"{name}_norm1")(y))
        y = conv(width, name=f"{name}_conv2")(y)
        y = norm(width, name=f"{name}_norm2")(y)
        if x.shape != y.shape:
          x = nn.Conv(width, (1, 1, 1), strides=strides, use_bias=self.norm == "none",
                      dtype=self.dtype, name=f"{name}_projection")(x)
          x = norm(width, name=f"{name}_projection_norm")(x)
        x = nn.relu(x + y)
    return jnp.mean(x, axis=(1, 2, 3))
