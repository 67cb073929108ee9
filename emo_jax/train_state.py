"""The train state, its sharded initialisation, and the jitted train and eval steps."""
import functools
from typing import Any

import flax
import jax
import jax.numpy as jnp
import ml_collections
import optax

from emo_jax import losses
from emo_jax import sharding
from emo_jax.models import inputs as inputs_lib


@flax.struct.dataclass
class TrainState:
  """Everything that changes during training; arrays only, so Orbax saves it as is."""
  step: jax.Array
  params: Any
  batch_stats: Any
  opt_state: Any


def model_variables(params, batch_stats) -> dict:
  variables = {"params": params}
  if batch_stats:
    variables["batch_stats"] = batch_stats
  return variables


def create_train_state(model, tx: optax.GradientTransformation, frames_shape, rng: jax.Array,
                       mesh) -> TrainState:
  """Initialises the model and optimiser, replicated over the mesh.

  `jax.eval_shape` first gives the structure, then one jitted init writes every array
  straight into its sharding (parameters are never materialised on one device first).
  """
  dummy_frames = jnp.zeros(frames_shape, jnp.float32)

  def init(rng):
    variables = model.init({"params": rng, "dropout": rng, "noise": rng}, dummy_frames, train=False)
    params = variables["params"]
    return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                      batch_stats=variables.get("batch_stats", {}), opt_state=tx.init(params))

  abstract = jax.eval_shape(init, rng)
  out_shardings = jax.tree.map(lambda _: sharding.replicated(mesh), abstract)
  return jax.jit(init, out_shardings=out_shardings)(rng)


def compute_losses(logits, aux, batch, loss_config: ml_collections.ConfigDict, num_classes: int,
                   class_weights, classification_weight: float) -> tuple[jax.Array, dict]:
  """Total loss and its parts for one batch."""
  mask = batch.get("mask", jnp.ones(batch["label"].shape, bool))
  targets = losses.classification_targets(
      batch["label"], batch.get("vote_distribution"), num_classes,
      label_smoothing=loss_config.label_smoothing, soft_label_weight=loss_config.soft_label_weight)
  classification = losses.weighted_cross_entropy(logits, targets, batch["label"], mask, class_weights)
  total = classification_weight * classification
  parts = {"classification_loss": classification}
  if "reconstruction" in aux:
    reconstruction = losses.reconstruction_loss(aux["reconstruction"], aux["reconstruction_target"], mask)
    total = total + loss_config.reconstruction_weight * reconstruction
    parts["reconstruction_loss"] = reconstruction
  return total, parts


def train_step(state: TrainState, batch: dict, rng: jax.Array, *, model, tx, loss_config,
               num_classes: int, class_weights=None, autoencoder_only: bool = False):
  """One optimisation step. `rng` is folded with the step, so a resumed run replays it exactly.

  With `autoencoder_only`, only the reconstruction loss is optimised (pre-training phase).
  """
  step_rng = jax.random.fold_in(rng, state.step)
  dropout_rng, noise_rng = jax.random.split(step_rng)
  inputs = inputs_lib.model_inputs(batch)

  def loss_fn(params):
    (logits, aux), new_model_state = model.apply(
        model_variables(params, state.batch_stats), **inputs, train=True,
        rngs={"dropout": dropout_rng, "noise": noise_rng}, mutable=["batch_stats"])
    total, parts = compute_losses(logits, aux, batch, loss_config, num_classes, class_weights,
                                  classification_weight=0.0 if autoencoder_only else 1.0)
    return total, (logits, parts, new_model_state)

  (loss, (logits, parts, new_model_state)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  mask = batch.get("mask", jnp.ones(batch["label"].shape, bool))
  correct = (jnp.argmax(logits, -1) == batch["label"]) & mask
  metrics = {
      "loss": loss,
      "accuracy": jnp.sum(correct) / jnp.maximum(jnp.sum(mask), 1),
      "grad_norm": optax.global_norm(grads),
      "param_norm": optax.global_norm(params),
      "update_norm": optax.global_norm(updates),
      **parts,
  }
  new_state = state.replace(step=state.step + 1, params=params, opt_state=opt_state,
                            batch_stats=new_model_state.get("batch_stats", state.batch_stats))
  return new_state, metrics


def eval_step(state: TrainState, batch: dict, *, model):
  """Logits `[B, K]` and the pooled clip embedding `[B, D]` for one (padded) batch."""
  logits, aux = model.apply(model_variables(state.params, state.batch_stats),
                            **inputs_lib.model_inputs(batch), train=False)
  return {"logits": logits.astype(jnp.float32), "pooled": aux["pooled"].astype(jnp.float32)}


def jit_train_step(mesh, **kwargs):
  """`train_step` jitted over the mesh: batch sharded over "data", state replicated and donated."""
  return jax.jit(functools.partial(train_step, **kwargs), donate_argnums=(0,),
                 out_shardings=(sharding.replicated(mesh), sharding.replicated(mesh)))


def jit_eval_step(mesh, **kwargs):
  return jax.jit(functools.partial(eval_step, **kwargs), out_shardings=sharding.batch_sharding(mesh))
