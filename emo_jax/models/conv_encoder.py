"""A plain convolutional frame encoder: stages of 3x3 conv, norm, ReLU and 2x2 max pooling."""
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from flax.typing import Dtype
from emo_jax.models import normalization


class ConvEncoder(nn.Module):
  """Encodes images to feature vectors: `[N, H, W, C] -> [N, D]`.

  `D` is `features` when set (a dense projection after pooling), else `widths[-1]`.
  Each entry of `widths` is one stage of `convs_per_stage` 3x3 convolutions followed by
  2x2 max pooling, so the spatial size shrinks by `2 ** len(widths)` before pooling:
  "mean" (global average; position-invariant) or "flatten" (keeps where each feature is,
  e.g. brows above eyes above mouth, at the cost of a size-dependent feature length;
  pair it with `features`).

  Attributes:
    widths: channels of each stage.
    convs_per_stage: 3x3 convolutions per stage: one int for every stage, or a sequence
      as long as `widths` (e.g. `(1, 2, 2, 2)`: one conv at full resolution, where a
      conv costs the most, two in the smaller stages).
    norm: "batch", "group" or "none" (see `normalization.make_norm`).
    pooling: "mean" or "flatten" (see above).
    features: optional output width of a dense projection after pooling.
    feature_norm: LayerNorm on the output features, so that what the bottleneck and the
      LSTM gates see stays about unit scale however the projection grows in training.
    frozen: stop gradients at the output and keep BatchNorm in inference mode (its
      running statistics are not updated), for a pretrained encoder that is not trained.
    dtype: compute dtype; parameters stay float32.
  """
  widths: Sequence[int] = (32, 64, 128)
  convs_per_stage: int | Sequence[int] = 1
  norm: str = "batch"
  pooling: str = "mean"
  features: int | None = None
  feature_norm: bool = False
  frozen: bool = False
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, images: jax.Array, *, train: bool) -> jax.Array:
    """`[N, H, W, C]` images (normalised to about [-1, 1]) -> `[N, D]` features."""
    use_running_average = not train or self.frozen
    x = images.astype(self.dtype)
    stage_convs = _stage_convs(self.convs_per_stage, self.widths)
    for stage, (width, convs) in enumerate(zip(self.widths, stage_convs)):
      for index in range(convs):
        x = nn.Conv(width, (3, 3), use_bias=self.norm == "none", dtype=self.dtype,
                    name=f"stage{stage}_conv{index}")(x)
        x = normalization.make_norm(self.norm, width, use_running_average=use_running_average,
                                    dtype=self.dtype, name=f"stage{stage}_norm{index}")(x)
        x = nn.relu(x)
      x = nn.max_pool(x, (2, 2), strides=(2, 2), padding="SAME")
    if self.pooling == "mean":
      x = jnp.mean(x, axis=(1, 2))
    elif self.pooling == "flatten":
      x = x.reshape(x.shape[0], -1)
    else:
      raise ValueError(f"model.encoder.pooling={self.pooling!r} must be 'mean' or 'flatten'")
    if self.features:
      x = nn.Dense(self.features, dtype=self.dtype, name="projection")(x)
    if self.feature_norm:
      x = nn.LayerNorm(dtype=self.dtype, name="feature_norm")(x)
    if self.frozen:
      x = jax.lax.stop_gradient(x)
    return x


def _stage_convs(convs_per_stage: int | Sequence[int], widths: Sequence[int]) -> tuple[int, ...]:
  """The number of convolutions in each stage."""
  if isinstance(convs_per_stage, int):
    return (convs_per_stage,) * len(widths)
  if len(convs_per_stage) != len(widths):
    raise ValueError(f"model.encoder.convs_per_stage={tuple(convs_per_stage)} has "
                     f"{len(convs_per_stage)} counts for {len(widths)} stages "
                     f"(widths={tuple(widths)}): give one count per stage, or one int.")
  return tuple(int(count) for count in convs_per_stage)
