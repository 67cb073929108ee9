"""The one evaluation pass: an eval step over padded batches -> (metrics, per-example outputs).

Used by the trainer (validation and test) and by the analysis tools (the evaluation
report, ablations), which bring their own step; it imports nothing from training.
"""
from collections.abc import Callable, Iterable
from typing import Any

import jax
from jax.experimental import multihost_utils
import numpy as np

from emo_jax import metrics as metrics_lib


def to_host(array: jax.Array) -> np.ndarray:
  """The whole global array as numpy on every host (gathered when it spans several hosts)."""
  if jax.process_count() > 1:
    return np.asarray(multihost_utils.process_allgather(array, tiled=True))
  return np.asarray(jax.device_get(array))


def evaluate_batches(eval_step: Callable[[Any, dict], dict], state: Any, batches: Iterable[dict],
                     num_classes: int) -> tuple[dict, dict]:
  """Runs `eval_step(state, batch) -> {"logits", "pooled"}` over padded batches.

  Padding rows (mask False) are dropped, so every example counts exactly once.

  Args:
    eval_step: e.g. `train_state.jit_eval_step(...)` (state: a TrainState) or
      `analysis.inference.make_eval_step(...)` (state: model variables).
    state: passed to `eval_step` unchanged.
    batches: evaluation batches with `label`, `index` and `mask` (`input_pipeline.iterators.eval_batches`).
    num_classes: K.

  Returns:
    (metrics, outputs): `metrics_lib.classification_metrics` plus "loss" (the mean
    cross-entropy); outputs hold `logits` `[N, K]`, `probabilities` `[N, K]`, `pooled`
    `[N, D]`, `label` `[N]` and `index` `[N]` for every real example, in batch order.

  Raises:
    ValueError: when the batches hold no examples.
  """
  outputs = {"logits": [], "pooled": [], "label": [], "index": []}
  for batch in batches:
    result = eval_step(state, batch)
    mask = to_host(batch["mask"])
    for key, value in (("logits", result["logits"]), ("pooled", result["pooled"]),
                       ("label", batch["label"]), ("index", batch["index"])):
      outputs[key].append(to_host(value)[mask])
  outputs = {k: np.concatenate(v) if v else np.zeros((0,)) for k, v in outputs.items()}
  if not outputs["label"].size:
    raise ValueError("the evaluation split has no examples; check config.data.split")
  probabilities = jax.nn.softmax(outputs["logits"], axis=-1)
  outputs["probabilities"] = np.asarray(probabilities)
  metrics = metrics_lib.classification_metrics(outputs["label"], outputs["probabilities"], num_classes)
  metrics["loss"] = float(np.mean(-np.log(np.maximum(
      outputs["probabilities"][np.arange(len(outputs["label"])), outputs["label"]], 1e-12))))
  return metrics, outputs
