"""Main-thread time per training step: does the step dispatch wait on the host?

    python -m benchmarks.train_loop [--num_steps 40] [--num_devices 8] [--config ae_lstm:runlocal]

Runs the real train iterator and jitted train step of a config (default
`configs/ae_lstm.py:runlocal`, on `cremad/synthetic_tiny`, built into --data_dir on first
use) for --num_steps steps after a warm-up, two ways:

  host_sync: as the loop did before issue 12: each batch is copied to the devices in the
    main thread when it is asked for, and each step's metrics are fetched
    (`jax.device_get`) before the next step is dispatched.
  prefetch: as `emo_jax.trainer` does now: batches are read and copied ahead in a
    background thread (`emo_jax.device_prefetch`) and metrics stay on the devices until a
    log step (every --log_every_steps).

For each: steps per second, and the main thread's mean milliseconds per step spent
waiting for the next batch (`next_ms`), in the dispatch call (`dispatch_ms`) and in
fetching metrics (`sync_ms`). Simulate devices with
`XLA_FLAGS=--xla_force_host_platform_device_count=8`. Prints one JSON line per mode.
"""
import argparse
import importlib
import json
import os
import statistics
import sys
import time

import jax
import numpy as np

from emo_jax import input_pipeline
from emo_jax import models
from emo_jax import optimizers
from emo_jax import sharding
from emo_jax import train_state
from emo_jax import trainer


def load_config(spec: str):
  name, _, arg = spec.partition(":")
  return importlib.import_module(f"configs.{name}").get_config(arg or None)


def run_mode(mode: str, config, mesh, num_steps: int, log_every_steps: int, warmup: int = 3) -> dict:
  """Times `num_steps` steps of the loop in `mode` ("host_sync" or "prefetch")."""
  data = input_pipeline.create_datasets(config.data, mesh, seed=config.seed)
  info = data.info
  model = models.create_model(config.model, info.num_classes)
  init_rng, rng = jax.random.split(jax.random.key(config.seed))
  frames_shape = (1, *info.frames_shape)
  abstract_params = jax.eval_shape(
      lambda: model.init({"params": init_rng, "dropout": init_rng, "noise": init_rng},
                         np.zeros(frames_shape, np.float32), train=False))["params"]
  tx, _ = optimizers.create_optimizer(trainer.optimizer_config(config), abstract_params, 10_000)
  state = train_state.create_train_state(model, tx, frames_shape, init_rng, mesh)
  step_fn = train_state.jit_train_step(mesh, model=model, tx=tx, loss_config=config.loss,
                                       num_classes=info.num_classes)
  fault = jax.device_put(train_state.no_fault(), sharding.replicated(mesh))
  iterator = data.train_iterator(device_prefetch=0 if mode == "host_sync" else 2)
  next_s, dispatch_s, sync_s, pending = [], [], [], []
  try:
    for step in range(warmup + num_steps):
      if step == warmup:
        jax.block_until_ready(state)
        start = time.perf_counter()
      t0 = time.perf_counter()
      batch = next(iterator)
      t1 = time.perf_counter()
      state, metrics = step_fn(state, batch, rng, fault)
      fault = metrics.pop("first_fault_step")
      t2 = time.perf_counter()
      pending.append(metrics)
      if mode == "host_sync" or (step + 1) % log_every_steps == 0:
        jax.device_get(pending)
        pending = []
      t3 = time.perf_counter()
      if step >= warmup:
        next_s.append(t1 - t0)
        dispatch_s.append(t2 - t1)
        sync_s.append(t3 - t2)
    jax.block_until_ready(state)
    seconds = time.perf_counter() - start
  finally:
    if hasattr(iterator, "close"):
      iterator.close()
  return {"mode": mode, "steps_per_second": round(num_steps / seconds, 2),
          "next_ms": round(1000 * statistics.mean(next_s), 2),
          "dispatch_ms": round(1000 * statistics.mean(dispatch_s), 2),
          "sync_ms": round(1000 * statistics.mean(sync_s), 2),
          "num_steps": num_steps, "num_devices": mesh.size, "batch_size": config.data.batch_size,
          "backend": jax.default_backend()}


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default="ae_lstm:runlocal")
  parser.add_argument("--data_dir", default="data/tfds")
  parser.add_argument("--num_steps", type=int, default=40)
  parser.add_argument("--num_devices", type=int, default=None)
  parser.add_argument("--batch_size", type=int, default=None)
  parser.add_argument("--log_every_steps", type=int, default=20)
  parser.add_argument("--modes", default="host_sync,prefetch")
  args = parser.parse_args(argv)
  config = load_config(args.config)
  config.data.data_dir = os.path.expanduser(args.data_dir)
  if args.batch_size:
    config.data.batch_size = args.batch_size
  if config.data.build_if_missing:
    input_pipeline.build_if_missing(config.data)
  mesh = sharding.create_mesh(args.num_devices)
  for mode in args.modes.split(","):
    print(json.dumps(run_mode(mode, config, mesh, args.num_steps, args.log_every_steps)),
          flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
