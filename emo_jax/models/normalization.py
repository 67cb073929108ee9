"""The normalisation layer the convolutional encoders share: BatchNorm, GroupNorm or none."""
import math
from typing import Callable

import flax.linen as nn
import jax

from flax.typing import Dtype

NORMS = ("batch", "group", "none")
# GroupNorm uses this many groups when the width allows it, else the largest divisor.
_MAX_GROUPS = 32


def make_norm(kind: str, features: int, *, use_running_average: bool, dtype: Dtype,
              name: str | None = None) -> Callable[[jax.Array], jax.Array]:
  """Returns a normalisation layer over the last axis (`features` channels).

  Args:
    kind: "batch" (BatchNorm, statistics in the mutable `batch_stats` collection),
      "group" (GroupNorm with gcd(32, features) groups, so any width works) or
      "none" (identity).
    features: number of channels of the input, used to choose the GroupNorm groups.
    use_running_average: BatchNorm only; True in evaluation and for frozen encoders.
    dtype: compute dtype; parameters stay float32.
    name: the layer's name in the parameter tree.
  """
  if kind == "batch":
    return nn.BatchNorm(use_running_average=use_running_average, momentum=0.9, epsilon=1e-5,
                        dtype=dtype, name=name)
  if kind == "group":
    return nn.GroupNorm(num_groups=math.gcd(_MAX_GROUPS, features), dtype=dtype, name=name)
  if kind == "none":
    return lambda x: x
  raise ValueError(
      f"norm={kind!r} is not one of {NORMS}; set model.encoder.norm (or model.video.norm)")
