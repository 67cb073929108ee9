"""ResNet frame encoders (basic residual blocks), as in the Flax examples.

`model.encoder.name` "resnet18" and "resnet34" are the usual depths; "resnet" takes
`stage_sizes` from the config (one block per stage in configs/fer2013_cpu_resnet.py).
"""
import functools
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from flax.typing import Dtype
from emo_jax.models import normalization


class BasicBlock(nn.Module):
  """Two 3x3 convolutions with a residual connection: `[N, H, W, C] -> [N, H/s, W/s, F]`."""
  filters: int
  strides: int = 1
  norm: str = "batch"
  use_running_average: bool = True
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    norm = functools.partial(normalization.make_norm, self.norm, self.filters,
                             use_running_average=self.use_running_average, dtype=self.dtype)
    conv = functools.partial(nn.Conv, self.filters, use_bias=self.norm == "none", dtype=self.dtype)
    residual = x
    y = conv((3, 3), strides=self.strides, name="conv1")(x)
    y = nn.relu(norm(name="norm1")(y))
    y = conv((3, 3), name="conv2")(y)
    y = norm(name="norm2")(y)
    if residual.shape != y.shape:
      residual = conv((1, 1), strides=self.strides, name="projection")(residual)
      residual = norm(name="projection_norm")(residual)
    return nn.relu(residual + y)


class ResNet(nn.Module):
  """ResNet with basic blocks: `[N, H, W, C] -> [N, D]`, D = 8 * num_filters (512 by default).

  Same interface as `ConvEncoder`. The ImageNet stem (7x7 stride-2 conv, 3x3 stride-2
  max pooling) reduces 112x112 faces to 28x28 before the first stage; `small_stem` uses a
  single 3x3 stride-1 conv instead, for small inputs such as 48x48 FER2013 images.

  Attributes:
    stage_sizes: residual blocks per stage, (2, 2, 2, 2) for ResNet-18, (3, 4, 6, 3) for 34.
    num_filters: channels of the first stage, doubled at each later stage.
    norm: "batch", "group" or "none".
    small_stem: 3x3 stride-1 stem without max pooling.
    frozen: stop gradients at the output and keep BatchNorm in inference mode.
    dtype: compute dtype; parameters stay float32.
  """
  stage_sizes: Sequence[int]
  num_filters: int = 64
  norm: str = "batch"
  small_stem: bool = False
  frozen: bool = False
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, images: jax.Array, *, train: bool) -> jax.Array:
    """`[N, H, W, C]` images (normalised to about [-1, 1]) -> `[N, 8 * num_filters]` features."""
    use_running_average = not train or self.frozen
    x = images.astype(self.dtype)
    if self.small_stem:
      x = nn.Conv(self.num_filters, (3, 3), use_bias=self.norm == "none", dtype=self.dtype,
                  name="stem_conv")(x)
    else:
      x = nn.Conv(self.num_filters, (7, 7), strides=2, padding=((3, 3), (3, 3)),
                  use_bias=self.norm == "none", dtype=self.dtype, name="stem_conv")(x)
    x = normalization.make_norm(self.norm, self.num_filters, dtype=self.dtype, name="stem_norm",
                                use_running_average=use_running_average)(x)
    x = nn.relu(x)
    if not self.small_stem:
      x = nn.max_pool(x, (3, 3), strides=(2, 2), padding="SAME")
    for stage, num_blocks in enumerate(self.stage_sizes):
      for block in range(num_blocks):
        strides = 2 if stage > 0 and block == 0 else 1
        x = BasicBlock(self.num_filters * 2**stage, strides=strides, norm=self.norm,
                       use_running_average=use_running_average, dtype=self.dtype,
                       name=f"stage{stage}_block{block}")(x)
    x = jnp.mean(x, axis=(1, 2))
    if self.frozen:
      x = jax.lax.stop_gradient(x)
    return x


ResNet18 = functools.partial(ResNet, stage_sizes=(2, 2, 2, 2))
ResNet34 = functools.partial(ResNet, stage_sizes=(3, 4, 6, 3))
