"""Eval steps of a loaded model, optionally perturbed, for `evaluation.evaluate_batches`."""
from collections.abc import Iterable, Mapping
import contextlib

import jax
import jax.numpy as jnp
import numpy as np

from emo_jax import sharding
from emo_jax.analysis import perturbations as perturbations_lib
from emo_jax.models import inputs as inputs_lib


def make_eval_step(model, perturbation: perturbations_lib.Perturbation | None = None,
                   bottleneck_code: jax.Array | None = None, seed: int = 0):
  """A jitted `(variables, batch) -> {"logits", "pooled"}`: `train_state.eval_step` on variables.

  Args:
    model: the EmotionNet.
    perturbation: applied to the frames (and frame mask) inside the step, or None.
    bottleneck_code: `[K]`, needed when `perturbation.uses_bottleneck_mean`.
    seed: random perturbations draw from `fold_in(key(seed), record index)` per clip,
      so results do not depend on batching.

  Returns:
    A new jitted function (interception happens at trace time, so every perturbation
    gets its own).
  """
  if perturbation is not None and perturbation.uses_bottleneck_mean and bottleneck_code is None:
    raise ValueError(f"perturbation {perturbation.name!r} needs the bottleneck's training mean")
  base_key = jax.random.key(seed)

  def step(variables, batch):
    inputs = inputs_lib.model_inputs({k: v for k, v in batch.items() if k != "frame_features"})
    if perturbation is not None:
      keys = jax.vmap(lambda index: jax.random.fold_in(base_key, index))(batch["index"])
      if perturbation.frames_fn is not None:
        inputs["frames"] = perturbation.frames_fn(inputs["frames"], keys)
      if perturbation.frame_mask_fn is not None:
        inputs["frame_mask"] = perturbation.frame_mask_fn(*inputs["frames"].shape[:2])
      if perturbation.inputs_fn is not None:
        inputs = perturbation.inputs_fn(inputs)
    intervene = (perturbations_lib.replace_bottleneck_code(bottleneck_code)
                 if perturbation is not None and perturbation.uses_bottleneck_mean
                 else contextlib.nullcontext())
    with intervene:
      logits, aux = model.apply(variables, **inputs, train=False)
    return {"logits": logits.astype(jnp.float32), "pooled": aux["pooled"].astype(jnp.float32)}

  return jax.jit(step)


def replicate(variables: Mapping, mesh) -> dict:
  """Model variables copied to every device of the mesh (batches are sharded over it)."""
  return jax.device_put(dict(variables), sharding.replicated(mesh))


def bottleneck_mean(model, variables: Mapping, batches: Iterable[dict], mesh,
                    max_batches: int | None = None) -> np.ndarray:
  """The mean bottleneck code `[K]` over the clips and frames of `batches` (padding excluded).

  Raises:
    ValueError: when the model has no bottleneck or the batches are empty.
  """
  def sums(variables, batch):
    _, aux = model.apply(variables, inputs_lib.frames_to_float(batch["frames"]), train=False)
    if "bottleneck" not in aux:
      raise ValueError("the model has no bottleneck (aux has no 'bottleneck')")
    code = aux["bottleneck"].astype(jnp.float32)  # [B, T, K]
    weights = batch["mask"].astype(jnp.float32)[:, None, None]
    return jnp.sum(code * weights, axis=(0, 1)), jnp.sum(weights) * code.shape[1]

  sums = jax.jit(sums)
  variables = replicate(variables, mesh)
  total, count = None, 0.0
  for number, batch in enumerate(batches):
    if max_batches is not None and number >= max_batches:
      break
    batch_sum, batch_count = jax.device_get(sums(variables, batch))
    total = batch_sum if total is None else total + batch_sum
    count += float(batch_count)
  if total is None or count == 0:
    raise ValueError("no examples to average the bottleneck code over")
  return np.asarray(total / count, np.float32)
