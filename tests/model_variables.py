"""Variables with a model's real structure, filled from numpy: fast stand-ins for init in tests."""
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


def numpy_variables(model: nn.Module, *args: Any, seed: int = 0, **kwargs: Any) -> dict[str, Any]:
  """Returns variables shaped like `model.init(key, *args, **kwargs)` without compiling it.

  XLA on CPU compiles random number generation slowly (here about 0.3 s per random
  array with the "rbg" generator and several seconds with the default threefry), so a
  compiled init takes seconds even for a tiny model. Tests that need reasonable values
  of the right structure, not Flax's initial values, use this instead: kernels and other
  weights ~ N(0, 1 / fan_in), norm scales near 1, biases and BatchNorm means small,
  BatchNorm variances in [0.5, 1.5]. All float32, like the parameters of a real init.

  Args:
    model: the (unbound) module.
    *args: example inputs (arrays or `jax.ShapeDtypeStruct`s), as for `model.init`.
    seed: numpy seed of the values.
    **kwargs: keyword arguments of the model's `__call__` (`train=False`, ...).
  """
  shapes = jax.eval_shape(lambda *a: model.init(jax.random.key(0), *a, **kwargs), *args)
  rng = np.random.default_rng(seed)

  def fill(path, leaf):
    name = getattr(path[-1], "key", str(path[-1]))
    if name == "var":
      value = rng.uniform(0.5, 1.5, size=leaf.shape)
    elif name == "scale":
      value = 1.0 + 0.1 * rng.normal(size=leaf.shape)
    elif name in ("bias", "mean"):
      value = 0.1 * rng.normal(size=leaf.shape)
    else:
      fan_in = int(np.prod(leaf.shape[:-1])) if len(leaf.shape) > 1 else 1
      value = rng.normal(size=leaf.shape) / np.sqrt(max(fan_in, 1))
    return jnp.asarray(value, leaf.dtype)

  return jax.tree_util.tree_map_with_path(fill, shapes)
