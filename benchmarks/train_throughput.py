"""Training throughput of each model config: clips/s, compile time, peak memory and MFU.

    python -m benchmarks.train_throughput [--quick] [--configs ae_lstm,c3d]
    python -m benchmarks.train_throughput --one ae_lstm --batch_size 8  # one config, JSON

Each config (configs/<name>.py, the full-size `config.model`) is measured in its own
subprocess, so that its peak resident memory (VmHWM, see `peak_rss_mb`) is its own,
JAX's and XLA's included (tracemalloc would see only Python's): the real train
step (`train_state.create_train_state` + `jit_train_step`, the optimiser of
`trainer.optimizer_config`, so a frozen encoder is frozen as in training) on random
uint8 inputs of the dataset's shape (16x112x112x1 clips; 1x48x48x1 FER2013 images),
on one device. Compile time is `lower().compile()`; the step time is the median of
several steps after a warm-up step; FLOPs per step are XLA's count for the compiled
step (see benchmarks/flops.py), against a matmul ceiling measured in the same
subprocess just before. --quick: batch 4 clips (8 FER2013 images), at most ~6 s of
timed steps per config (~4 min for the six on 2 busy CPU cores, mostly compiling and
the slow conv weight gradients); else each config's own batch size (32, FER2013 128).

Compute dtype: --dtype (default `auto`: bfloat16 on GPU/TPU, float32 on CPU) sets
`config.model.dtype` (parameters stay float32) and the dtype of the matmul ceiling, so
MFU compares like with like.

On one GPU, the whole measurement is one command (not run on this project's CPU-only
machine; bounded at 7 x 60 s = 7 min, under 8 minutes):

    python -m benchmarks.train_throughput --gpu

(each config's own batch size, bfloat16, up to 20 timed steps or 10 s of them, each
config's subprocess stopped after 60 s and reported as an error row).
"""
import argparse
import importlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import flops
from emo_jax import models
from emo_jax import optimizers
from emo_jax import sharding
from emo_jax import train_state
from emo_jax import trainer
from emo_jax.data import cremad as cremad_data
from emo_jax.data import fer2013
from tfds_cremad import cremad

CONFIGS = ("ae_lstm", "cnn_lstm", "attention", "c3d", "resnet_ae_lstm", "fer2013_cnn", "fer2013_vgg")
FER2013_SHAPE = (1, 48, 48, 1)


def load_config(name: str, arg: str | None = None):
  """`configs/<name>.py`'s `get_config(arg)`."""
  return importlib.import_module(f"configs.{name}").get_config(arg)


def example_shape(dataset: str) -> tuple[int, int, int, int]:
  """`[T, S, S, C]` of one example of `config.data.dataset`, from its builder config."""
  if dataset == "fer2013":
    return FER2013_SHAPE
  name = dataset.split("/", 1)[1]
  config = next((c for c in cremad.Cremad.BUILDER_CONFIGS if c.name == name), None)
  if config is None:
    raise ValueError(f"unknown dataset {dataset!r}")
  return (config.num_frames, config.size, config.size, config.channels)


def num_classes(dataset: str) -> int:
  return len(fer2013.FER_CLASSES) if dataset == "fer2013" else len(cremad_data.EMOTIONS)


def peak_rss_mb(status_path: str = "/proc/self/status") -> float:
  """This process's peak resident memory so far, in MB.

  Linux's VmHWM, the high-water mark of this process's own memory. `ru_maxrss` is the
  fallback elsewhere; on Linux it is not used because exec() carries the parent's
  high-water mark into it, so a small child of a big parent would report the parent's.
  """
  try:
    with open(status_path) as f:
      for line in f:
        if line.startswith("VmHWM:"):
          return int(line.split()[1]) / 1024  # kB.
  except (OSError, ValueError, IndexError):
    pass
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux.


def random_batch(batch_size: int, shape, num_labels: int, seed: int = 0) -> dict:
  """A host batch as the input pipeline delivers it, with random uint8 frames."""
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, num_labels, batch_size).astype(np.int32)
  return {"frames": rng.integers(0, 256, (batch_size, *shape), dtype=np.uint8),
          "label": labels,
          "vote_distribution": np.eye(num_labels, dtype=np.float32)[labels],
          "mask": np.ones(batch_size, bool)}


def setup_train_step(config, batch_size: int, mesh, shape=None, total_steps: int = 1000):
  """The real train state and jitted step of `config` for a random batch.

  Returns:
    (state, step_fn, global batch, rng): `step_fn(state, batch, rng) -> (state, metrics)`
    is `train_state.jit_train_step`, not yet compiled.
  """
  shape = tuple(shape or example_shape(config.data.dataset))
  labels = num_classes(config.data.dataset)
  model = models.create_model(config.model, labels)
  init_rng, train_rng = jax.random.split(jax.random.key(config.seed))
  frames_shape = (1, *shape)
  abstract_params = jax.eval_shape(
      lambda: model.init({"params": init_rng, "dropout": init_rng, "noise": init_rng},
                         np.zeros(frames_shape, np.float32), train=False))["params"]
  tx, _ = optimizers.create_optimizer(trainer.optimizer_config(config), abstract_params,
                                      total_steps)
  state = train_state.create_train_state(model, tx, frames_shape, init_rng, mesh)
  step = train_state.jit_train_step(mesh, model=model, tx=tx, loss_config=config.loss,
                                    num_classes=labels)
  batch = sharding.host_local_batch_to_global(random_batch(batch_size, shape, labels), mesh)
  return state, step, batch, train_rng


def time_steps(compiled, state, batch, rng, num_steps: int, budget_s: float = float("inf")):
  """Runs one warm-up step, then up to `num_steps` timed ones: fewer (at least one) when
  the timed steps have taken `budget_s` seconds. Returns (state, seconds of each)."""
  state, metrics = compiled(state, batch, rng)
  jax.block_until_ready(metrics)
  seconds = []
  while len(seconds) < num_steps and (not seconds or sum(seconds) < budget_s):
    start = time.perf_counter()
    state, metrics = compiled(state, batch, rng)
    jax.block_until_ready((state, metrics))
    seconds.append(time.perf_counter() - start)
  return state, seconds


def _significant(value: float, digits: int = 3) -> float:
  return float(f"{value:.{digits}g}")


def measure(name: str, arg: str | None = None, batch_size: int | None = None,
            num_steps: int = 3, shape=None, num_devices: int = 1,
            budget_s: float = float("inf"), with_ceiling: bool = True,
            dtype: str = "auto") -> dict:
  """Measures the train step of `configs/<name>.py:<arg>` in this process.

  Args:
    name: a module of configs/, e.g. "ae_lstm".
    arg: its config argument (e.g. "runlocal"), None for the full-size default.
    batch_size: global batch size; None: the config's `data.batch_size`.
    num_steps: timed steps after one warm-up step (their median is reported).
    shape: `[T, S, S, C]` of an example; None: the config's dataset's.
    num_devices: devices of the ("data",) mesh.
    budget_s: stop timing steps after this many seconds (at least one step).
    with_ceiling: measure the matmul ceiling (and MFU) first.
    dtype: compute dtype of the model and the ceiling: "float32", "bfloat16", or "auto"
      (`flops.ceiling_dtype()`: bfloat16 on GPU/TPU, float32 on CPU).

  Returns:
    A row: clips_per_second, step_ms (median), compile_seconds, gflops_per_step,
    achieved_gflops, ceiling_gflops, mfu, peak_rss_mb (whole process, so far) and
    rss_after_import_mb, with the config, batch size and input shape. On a mesh of
    several devices XLA counts the FLOPs of one device's share of the step, so
    achieved_gflops and mfu are per device.
  """
  rss_after_import = peak_rss_mb()
  config = load_config(name, arg)
  dtype = jnp.dtype(flops.ceiling_dtype() if dtype == "auto" else dtype).name
  config.model.dtype = dtype
  batch_size = batch_size or config.data.batch_size
  mesh = sharding.create_mesh(num_devices)
  state, step, batch, rng = setup_train_step(config, batch_size, mesh, shape)
  start = time.perf_counter()
  compiled = step.lower(state, batch, rng).compile()
  compile_seconds = time.perf_counter() - start
  flops_per_step = flops.compiled_flops(compiled)
  ceiling = flops.matmul_ceiling(dtype=dtype) if with_ceiling else None
  state, seconds = time_steps(compiled, state, batch, rng, num_steps, budget_s)
  step_seconds = statistics.median(seconds)
  frames_shape = batch["frames"].shape[1:]
  row = {
      "name": f"train/{name}" + (f":{arg}" if arg else ""),
      "input": "x".join(str(d) for d in frames_shape),
      "batch_size": batch_size,
      "clips_per_second": round(batch_size / step_seconds, 2),
      "step_ms": round(1000 * step_seconds, 1),
      "compile_seconds": round(compile_seconds, 1),
      "gflops_per_step": _significant(flops_per_step / 1e9),
      "achieved_gflops": _significant(flops_per_step / step_seconds / 1e9),
      "peak_rss_mb": round(peak_rss_mb()),
      "rss_after_import_mb": round(rss_after_import),
      "num_devices": mesh.size,
      "backend": jax.default_backend(),
      "dtype": dtype,
      "repetitions": len(seconds),
  }
  if ceiling:
    row["ceiling_gflops"] = ceiling["ceiling_gflops"]
    row["mfu"] = _significant(flops.utilisation(flops_per_step, step_seconds,
                                                ceiling["ceiling_gflops"] * 1e9))
  return row


def without_simulated_devices(xla_flags: str) -> str:
  """`xla_flags` less any --xla_force_host_platform_device_count (simulated devices)."""
  return " ".join(re.sub(r"--xla_force_host_platform_device_count=\S*", "", xla_flags).split())


def measure_in_subprocess(name: str, batch_size: int | None, num_steps: int,
                          budget_s: float, timeout_s: float = 1800, dtype: str = "auto") -> dict:
  """`measure` in a fresh Python process (its own peak memory); errors become a row."""
  command = [sys.executable, "-m", "benchmarks.train_throughput", "--one", name,
             "--num_steps", str(num_steps), "--budget_s", str(budget_s), "--dtype", dtype]
  if batch_size:
    command += ["--batch_size", str(batch_size)]
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  env = dict(os.environ)  # One CPU device, whatever the caller simulates.
  env["XLA_FLAGS"] = without_simulated_devices(env.get("XLA_FLAGS", ""))
  try:
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True,
                            timeout=timeout_s, check=False)
  except subprocess.TimeoutExpired:
    return {"name": f"train/{name}", "error": f"timed out after {timeout_s} s"}
  lines = result.stdout.strip().splitlines()
  if result.returncode != 0 or not lines:
    tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
    return {"name": f"train/{name}", "error": f"exit {result.returncode}: {tail}"}
  return json.loads(lines[-1])


def quick_batch_size(name: str) -> int:
  """--quick batch: 4 clips (64 frames of 112x112 per step), 8 FER2013 images."""
  return 8 if name.startswith("fer2013") else 4


def run(quick: bool = False, configs=CONFIGS, gpu: bool = False, dtype: str = "auto",
        timeout_s: float | None = None) -> list[dict]:
  """One row per config (see `measure`), each measured in its own subprocess.

  --quick: `quick_batch_size`, up to 3 timed steps, fewer once they took 6 s; --gpu: the
  config's batch size in bfloat16, up to 20 timed steps or 10 s, 60 s per config; else
  the config's batch size and up to 5 timed steps, fewer once they took 2 min.
  `timeout_s` bounds each config's subprocess (default 60 s with --gpu, else 30 min).
  """
  if gpu:
    return [measure_in_subprocess(name, None, 20, 10, timeout_s=timeout_s or 60,
                                  dtype="bfloat16")
            for name in configs]
  return [measure_in_subprocess(name, quick_batch_size(name) if quick else None,
                                3 if quick else 5, 6 if quick else 120, dtype=dtype,
                                timeout_s=timeout_s or 1800)
          for name in configs]


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="small batches, 3 timed steps")
  parser.add_argument("--configs", default=",".join(CONFIGS))
  parser.add_argument("--one", help="measure this config in this process; print JSON")
  parser.add_argument("--batch_size", type=int, default=None)
  parser.add_argument("--num_steps", type=int, default=5)
  parser.add_argument("--budget_s", type=float, default=float("inf"))
  parser.add_argument("--dtype", default="auto", choices=("auto", "float32", "bfloat16"),
                      help="compute dtype (auto: bfloat16 on GPU/TPU, float32 on CPU)")
  parser.add_argument("--gpu", action="store_true",
                      help="the whole one-GPU measurement in under 8 minutes (bfloat16)")
  parser.add_argument("--timeout_s", type=float, default=None,
                      help="seconds per config's subprocess (default 60 with --gpu)")
  args = parser.parse_args(argv)
  if args.one:
    print(json.dumps(measure(args.one, batch_size=args.batch_size, num_steps=args.num_steps,
                             budget_s=args.budget_s, dtype=args.dtype)))
    return 0
  for name in args.configs.split(","):  # A row as soon as its config is measured.
    for row in run(args.quick, [name], gpu=args.gpu, dtype=args.dtype, timeout_s=args.timeout_s):
      print(json.dumps(row), flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
