"""`train_and_evaluate(config, workdir)`: the one training loop of emo_jax."""
import json
import logging
import math
import os
import time

import jax
import ml_collections
import numpy as np

from emo_jax import checkpoints
from emo_jax import config_checks
from emo_jax import evaluation
from emo_jax import feature_cache
from emo_jax import input_pipeline
from emo_jax import losses
from emo_jax import metric_writers
from emo_jax import metrics as metrics_lib
from emo_jax import models
from emo_jax import optimizers
from emo_jax import preemption as preemption_lib
from emo_jax import preflight
from emo_jax import provenance
from emo_jax import resume
from emo_jax import sharding
from emo_jax import train_checkpoints
from emo_jax import train_state as train_state_lib

# `model.encoder.pretrained = "bundled:fer2013"`: a bundled model's encoder layers.
BUNDLED_PREFIX = "bundled:"


class NonFiniteLossError(RuntimeError):
  """A step gave a NaN or infinite loss, gradient or parameter; the last good checkpoint is kept."""


def training_schedule(train_config: ml_collections.ConfigDict, steps_per_epoch: int) -> dict:
  """Turns the config's durations (steps or epochs) into step counts, in one place."""
  def steps(epochs):
    return max(int(math.ceil(epochs * steps_per_epoch)), 1)

  total = train_config.num_steps if train_config.num_steps > 0 else steps(train_config.num_epochs)
  return {
      "total_steps": total,
      "steps_per_epoch": steps_per_epoch,
      "autoencoder_pretrain_steps": (min(steps(train_config.autoencoder_pretrain_epochs), total - 1)
                                     if train_config.autoencoder_pretrain_epochs > 0 else 0),
      "eval_every_steps": min(steps(train_config.eval_every_epochs), total),
      "checkpoint_every_steps": min(steps(train_config.checkpoint_every_epochs), total),
      "log_every_steps": max(int(train_config.log_every_steps), 1),
  }


def load_pretrained_encoder(state, pretrained: str, model_config):
  """`model.encoder.pretrained`: "bundled:NAME" (a bundled model's matching encoder layers,
  e.g. "bundled:fer2013") or a directory written by `models.save_encoder`."""
  variables = {"params": state.params, "batch_stats": state.batch_stats}
  if pretrained.startswith(BUNDLED_PREFIX):
    source = _load_source(pretrained, "model.encoder.pretrained").variables
    variables, copied, skipped = models.copy_matching_encoder(variables, source)
    logging.info("Frame encoder from %s: %d entries copied, %d kept fresh (%s)", pretrained,
                 len(copied), len(skipped), ", ".join(skipped) or "none")
  else:
    variables = models.load_pretrained_from_config(variables, model_config)
    logging.info("Loaded the pretrained frame encoder from %s", pretrained)
  return state.replace(params=variables["params"], batch_stats=variables["batch_stats"])


def _load_source(name: str, setting: str) -> checkpoints.LoadedRun:
  """"bundled:NAME" or a workdir -> the trained model; an ensemble is refused."""
  if name.startswith(BUNDLED_PREFIX):
    run = checkpoints.load_bundled(name[len(BUNDLED_PREFIX):])
    if run.config.model.get("ensemble"):
      raise ValueError(f"{setting}={name!r} is an ensemble of "
                       f"{', '.join(map(os.path.basename, run.config.members))}: start from "
                       "one of its members (bundled:NAME)")
    return run
  return checkpoints.load(name)


def init_from(state, source_name: str):
  """`train.init_from`: every variable from a trained model of the same architecture.

  The optimiser state, step and schedule start fresh: a fine-tune or a second schedule
  (e.g. annealing a run that was stopped half-way), not a resume.
  """
  source = _load_source(source_name, "config.train.init_from")
  variables = models.copy_all_variables(
      {"params": state.params, "batch_stats": state.batch_stats}, source.variables)
  logging.info("All variables from %s (step %s)", source_name, source.step)
  return state.replace(params=variables["params"], batch_stats=variables["batch_stats"])


def optimizer_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """`config.optimizer`, with the frame encoder frozen too when `model.encoder.frozen` is set.

  The model stops gradients at a frozen encoder; freezing its parameters in the optimiser
  as well keeps weight decay from shrinking them.
  """
  optimizer = config.optimizer.copy_and_resolve_references()
  encoder = config.model.get("encoder")
  if encoder and encoder.get("frozen"):
    with optimizer.unlocked():
      encoders = "|".join("/".join(path) for path in models.ENCODER_PATHS)
      optimizer.frozen = "|".join(filter(None, [optimizer.frozen, f"^({encoders})/"]))
  return optimizer


def _fault_message(fault_step: int, train_metrics, checkpointer, workdir: str) -> str:
  """Says which step failed, with which values, and what is kept."""
  values = ""
  for step, metrics in train_metrics:
    if step == fault_step:
      metrics = jax.device_get(metrics)
      values = " (" + ", ".join(f"{k} {float(metrics[k]):.4g}" for k in
                                ("loss", "grad_norm", "param_norm") if k in metrics) + ")"
  return (f"step {fault_step} gave non-finite values{values}; stopping. The last good checkpoint "
          f"(step {checkpointer.latest_step()}) is kept in {workdir}; no state with non-finite "
          "values was saved. Try a lower config.optimizer.learning_rate or "
          "config.optimizer.grad_clip_norm.")


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Trains, evaluates on the validation split, checkpoints, and tests the best checkpoint.

  Re-running with the same workdir resumes from its latest checkpoint.

  Returns:
    The final metrics: `test_*` of the best checkpoint, `val_*` of the best validation
    evaluation, the number of steps, and the wall time.
  """
  start_time = time.time()
  config_checks.check_config(config)
  num_devices = None if config.num_devices == -1 else config.num_devices
  mesh = sharding.create_mesh(num_devices)
  preflight.check_data_and_model(config, mesh)
  if config.data.cached_features:
    feature_cache.check_preconditions(config)
  os.makedirs(workdir, exist_ok=True)
  config_checks.check_workdir_compatible(config, workdir)

  if config.data.build_if_missing:
    input_pipeline.build_if_missing(config.data)
  data = input_pipeline.create_datasets(config.data, mesh, seed=config.seed)
  info = data.info
  schedule = training_schedule(config.train, info.steps_per_epoch)
  total_steps = schedule["total_steps"]

  model = models.create_model(config.model, info.num_classes)
  rng = jax.random.key(config.seed)
  init_rng, train_rng = jax.random.split(rng)
  frames_shape = (1, *info.frames_shape)
  abstract_params = jax.eval_shape(
      lambda: model.init({"params": init_rng, "dropout": init_rng, "noise": init_rng},
                         np.zeros(frames_shape, np.float32), train=False))["params"]
  tx, lr_schedule = optimizers.create_optimizer(optimizer_config(config), abstract_params, total_steps)
  state = train_state_lib.create_train_state(model, tx, frames_shape, init_rng, mesh)
  if config.model.get("encoder") and config.model.encoder.get("pretrained"):
    state = load_pretrained_encoder(state, config.model.encoder.pretrained, config.model)
  if config.train.get("init_from"):
    state = init_from(state, config.train.init_from)
  if config.data.cached_features:  # After the encoder is final: the cache depends on it.
    data = feature_cache.cached_feature_datasets(
        data, config, model, {"params": state.params, "batch_stats": state.batch_stats})

  class_weights = None
  if config.loss.class_weights == "balanced":
    class_weights = losses.balanced_class_weights(info.train_label_counts, info.num_classes)

  checkpointer = train_checkpoints.Checkpointer(workdir, config.checkpoint)
  train_iter = data.train_iterator()
  start_step = 0
  if checkpointer.latest_step() is not None:
    start_step = checkpointer.latest_step()
    logging.info("Resuming from the checkpoint at step %d in %s", start_step, workdir)
    state = checkpointer.restore_latest(train_checkpoints.abstract_like(state), train_iter)
  # Whatever was logged or saved after the restored step is redone by this run.
  checkpointer.discard_after(start_step)
  best_val = resume.best_validation(resume.truncate_metrics(workdir, start_step),
                                    config.checkpoint.best_metric)

  step_kwargs = dict(model=model, tx=tx, loss_config=config.loss, num_classes=info.num_classes,
                     class_weights=class_weights)
  joint_step = train_state_lib.jit_train_step(mesh, **step_kwargs)
  autoencoder_step = train_state_lib.jit_train_step(mesh, autoencoder_only=True, **step_kwargs)
  eval_step = train_state_lib.jit_eval_step(mesh, model=model)

  writer = metric_writers.MetricWriter(
      workdir, config, is_main_process=jax.process_index() == 0,
      extra_run_info={"git_commit": provenance.git_commit(), "dataset_version": info.dataset_version,
                      "num_devices": mesh.size, **schedule})
  logging.info("Training %s for %d steps (%d per epoch) on %d device(s).", info.dataset_name,
               total_steps, info.steps_per_epoch, mesh.size)

  interrupted = False
  train_metrics = []  # (step, metrics on the device) since the last log step.
  first_fault_step = jax.device_put(train_state_lib.no_fault(), sharding.replicated(mesh))
  try:
    with preemption_lib.Preemption() as preemption:
      for step in range(start_step + 1, total_steps + 1):
        batch = next(train_iter)
        in_pretraining = step <= schedule["autoencoder_pretrain_steps"]
        step_fn = autoencoder_step if in_pretraining else joint_step
        if step == start_step + 1 and jax.process_count() > 1:
          # Compile on every host, then meet, before the step's first collective.
          step_fn.lower(state, batch, train_rng, first_fault_step).compile()
          sharding.sync_hosts("first train step compiled")
        state, step_metrics = step_fn(state, batch, train_rng, first_fault_step)
        first_fault_step = step_metrics.pop("first_fault_step")
        train_metrics.append((step, step_metrics))

        is_log_step = step % schedule["log_every_steps"] == 0 or step == total_steps
        is_eval_step = step % schedule["eval_every_steps"] == 0 or step == total_steps
        is_checkpoint_step = step % schedule["checkpoint_every_steps"] == 0 or step == total_steps
        stop = False
        if is_log_step or is_eval_step or is_checkpoint_step or not preemption.needs_agreement:
          stop = preemption.should_stop()  # A collective with several hosts: same steps on all.
          is_checkpoint_step = is_checkpoint_step or stop
        if is_log_step or is_eval_step or is_checkpoint_step:
          # The only host syncs of the loop: the guard's flag, then (log steps) the metrics.
          fault_step = int(jax.device_get(first_fault_step))
          if fault_step >= 0:
            checkpointer.wait()
            writer.close()
            raise NonFiniteLossError(_fault_message(fault_step, train_metrics, checkpointer, workdir))

        if is_log_step:
          train_metrics = [m for _, m in jax.device_get(train_metrics)]
          train_metrics = [{k: v for k, v in m.items() if k != "finite"} for m in train_metrics]
          summary = {k: float(np.mean([m[k] for m in train_metrics])) for k in train_metrics[0]}
          summary["learning_rate"] = float(lr_schedule(step - 1))
          summary["phase"] = "autoencoder" if in_pretraining else "joint"
          rate = writer.progress(step, total_steps, {k: v for k, v in summary.items() if k != "phase"})
          if rate:
            summary["steps_per_second"] = rate
          writer.write(step, "train", summary)
          train_metrics = []

        if is_eval_step:
          val_metrics, _ = evaluation.evaluate_batches(eval_step, state, data.eval_batches("val"),
                                                       info.num_classes)
          val_scalars = metrics_lib.scalar_metrics(val_metrics)
          writer.write(step, "val", val_scalars)
          logging.info("step %d val: accuracy %.4f, macro F1 %.4f, loss %.4f", step,
                       val_scalars["accuracy"], val_scalars["macro_f1"], val_scalars["loss"])
          checkpointer.save_best(step, state, val_scalars)
          if best_val is None or val_scalars[config.checkpoint.best_metric] >= best_val[config.checkpoint.best_metric]:
            best_val = dict(val_scalars, step=step)

        if is_checkpoint_step:
          checkpointer.save_latest(step, state, train_iter, force=True)
        if stop:
          interrupted = True
          break

  finally:
    train_iter.close()  # Stops the thread that reads batches ahead.

  checkpointer.wait()
  final = {"steps": int(jax.device_get(state.step)), "interrupted": interrupted}
  if not interrupted:
    best_state = checkpointer.restore_best(train_checkpoints.abstract_like(state))
    test_metrics, _ = evaluation.evaluate_batches(eval_step, best_state, data.eval_batches("test"),
                                                  info.num_classes)
    test_scalars = metrics_lib.scalar_metrics(test_metrics)
    writer.write(int(final["steps"]), "test", test_scalars)
    final.update({f"test_{k}": v for k, v in test_scalars.items()})
    final["best_step"] = checkpointer.best_step()
    logging.info("Test (best checkpoint, step %s): accuracy %.4f, macro F1 %.4f", final["best_step"],
                 test_scalars["accuracy"], test_scalars["macro_f1"])
  if best_val is not None:
    final.update({f"val_{k}": v for k, v in best_val.items()})
  final["wall_time_seconds"] = time.time() - start_time
  checkpointer.close()
  writer.close()
  if jax.process_index() == 0:
    from emo_jax.analysis import plots  # pylint: disable=g-import-not-at-top  (matplotlib)
    plots.plot_training_curves(metric_writers.read_metrics(workdir),
                               os.path.join(workdir, "training_curves.png"))
    with open(os.path.join(workdir, "final_metrics.json"), "w") as f:
      json.dump(final, f, indent=2, default=float)
  return final
