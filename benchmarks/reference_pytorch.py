"""The reference notebook's model in PyTorch: its train step timed against this project's.

    python -m benchmarks.reference_pytorch [--quick]

The reference PyTorch notebook classifies 16 grey 112x112 face crops per clip, read from
cached arrays, with a frozen ImageNet ResNet-18 frame encoder (still run on every frame
in every step), a feature autoencoder and an LSTM (re-implemented in
benchmarks/reference_pytorch_models.py). Its train step is timed against this
project's equivalent, configs/resnet_ae_lstm.py's full-size model (frozen ResNet-18 ->
bottleneck 512-256-64-256-512 -> BiLSTM 128 -> head; frozen by a stop_gradient in the
model and a zero update in the optimiser), on the same random uint8 batch, alternating
the two so that other load on the machine affects both alike. The same is repeated
with the encoder trainable on both sides (ours: `model.encoder.frozen=False`), and,
as a framework-only comparison of a small trainable conv encoder, configs/cnn_lstm.py's
model against the same model in PyTorch.

The frozen reference step is timed in its two parts, `encode` (the frozen encoder's
forward pass) and `train_on_features` (everything trained), so that an epoch of it can
be compared with one on cached encoder features (run the encoder once, train on the
features), which its frozen encoder allows. Our frozen step is also timed fed by the
real input pipeline, for the whole-epoch comparison (benchmarks/summary.py).
PyTorch is optional (`pip install -e .[bench]`); without it the rows say it was skipped.
--quick (frozen ResNet-18 at batch 4, conv encoder at 2, 3 timed steps) takes ~2 min on
2 busy CPU cores; the full run (all three at batches 32, 8 and 8 with the channels-last
variant, 5 timed steps) ~20 min.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

import jax
import numpy as np

from benchmarks import flops
from benchmarks import input_pipeline as input_pipeline_benchmark
from benchmarks import reference_pytorch_models
from benchmarks import train_throughput
from emo_jax import input_pipeline
from emo_jax import sharding

NUM_FRAMES, SIZE = 16, 112
NUM_CLASSES = reference_pytorch_models.NUM_CLASSES
SKIPPED = "PyTorch is not installed: pip install -e .[bench] (or pip install torch)"


def _torch():
  """The torch module, or None when it is not installed."""
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError:
    return None
  return torch


def _timed(fn) -> float:
  start = time.perf_counter()
  fn()
  return time.perf_counter() - start


def _time_head(torch, reference, features, labels, repetitions: int = 5) -> float:
  """Median seconds of the reference's `train_on_features`, on one thread.

  The head's step is milliseconds of small operations. With two OpenMP threads on a
  loaded machine each of its hundreds of parallel regions can wait a time slice at a
  barrier for a descheduled thread (seconds in all, measured); one thread has no
  barriers and is as fast when the machine is idle. So this favours the reference.
  """
  threads = torch.get_num_threads()
  torch.set_num_threads(1)
  try:
    return statistics.median(
        _timed(lambda: reference.train_on_features(features, labels))
        for _ in range(repetitions))
  finally:
    torch.set_num_threads(threads)


def pipelined_clips_per_second(compiled, state, rng, mesh, batch_size: int,
                               num_steps: int) -> float:
  """Clips/s of our train step fed by the real input pipeline (data + train, measured).

  The grain iterator (train augmentation, worker_count 0, prefetch 2) reads random
  16x112x112x1 records from a temporary array_record dataset; its threads prepare the
  next batches while the step runs, on the same CPU cores.
  """
  with tempfile.TemporaryDirectory(prefix="bench_epoch_") as tmp:
    source = input_pipeline_benchmark.random_clips_source(
        tmp, batch_size * (num_steps + 2), (NUM_FRAMES, SIZE, SIZE, 1))
    iterator = input_pipeline.train_iterator(
        source, np.arange(len(source)), mesh=mesh, batch_size=batch_size,
        num_classes=NUM_CLASSES, seed=0, augment_config=input_pipeline_benchmark.TRAIN_AUGMENT,
        worker_count=0, prefetch=2)
    try:
      state, metrics = compiled(state, next(iterator), rng)  # Warm-up.
      jax.block_until_ready(metrics)
      start = time.perf_counter()
      for _ in range(num_steps):
        state, metrics = compiled(state, next(iterator), rng)
        jax.device_get(metrics)  # As the trainer does every step.
      seconds = time.perf_counter() - start
    finally:
      iterator.close()
  return num_steps * batch_size / seconds


def compare_train_steps(name: str, config_name: str, make_trainer, batch_size: int,
                        num_steps: int, frozen: bool | None = None,
                        with_channels_last: bool = True) -> dict:
  """Times our step of `configs/<config_name>.py` and a PyTorch step alternately.

  Args:
    name: the row's name.
    config_name: our config; its full-size model, on one device.
    make_trainer: `(torch, channels_last) -> trainer` with `train_step(frames, labels)`.
    batch_size: the same for both.
    num_steps: timed steps of each, after one warm-up step.
    frozen: set `model.encoder.frozen` (None: leave the config's). With True the
      PyTorch step is timed in its parts (`encode`, `train_on_features`) and ours also
      fed by the input pipeline.
    with_channels_last: also time the PyTorch model with a channels-last encoder.
  """
  torch = _torch()
  if torch is None:
    return {"name": name, "skipped": SKIPPED}
  torch.set_num_threads(len(os.sched_getaffinity(0)))
  config = train_throughput.load_config(config_name)
  if frozen is not None:
    config.model.encoder.frozen = frozen
  mesh = sharding.create_mesh(1)
  state, step, batch, rng = train_throughput.setup_train_step(
      config, batch_size, mesh, (NUM_FRAMES, SIZE, SIZE, 1))
  start = time.perf_counter()
  compiled = step.lower(state, batch, rng).compile()
  compile_seconds = time.perf_counter() - start
  host = train_throughput.random_batch(batch_size, (NUM_FRAMES, SIZE, SIZE, 1), NUM_CLASSES)
  labels = torch.from_numpy(host["label"]).long()
  reference = make_trainer(torch, False)
  tuned = make_trainer(torch, True) if with_channels_last else None

  def ours():
    nonlocal state
    state, metrics = compiled(state, batch, rng)
    jax.block_until_ready((state, metrics))

  def time_reference(trainer) -> tuple[float, float]:
    """(encoder, head) seconds of a frozen step; (whole step, 0) of a trainable one."""
    if not frozen:
      return _timed(lambda: trainer.train_step(host["frames"], host["label"])), 0.0
    start = time.perf_counter()
    features = trainer.encode(host["frames"])
    return time.perf_counter() - start, _time_head(torch, trainer, features, labels)

  ours()  # Warm-up.
  for trainer in filter(None, (reference, tuned)):
    trainer.train_step(host["frames"], host["label"])
  ours_seconds, reference_parts, tuned_parts = [], [], []
  for _ in range(num_steps):
    ours_seconds.append(_timed(ours))
    reference_parts.append(time_reference(reference))
    if tuned:
      tuned_parts.append(time_reference(tuned))
  reference_seconds = [sum(parts) for parts in reference_parts]
  ours_step, reference_step = map(statistics.median, (ours_seconds, reference_seconds))
  row = {
      "name": name,
      "config": config_name,
      "batch_size": batch_size,
      "input": f"{NUM_FRAMES}x{SIZE}x{SIZE}x1",
      "ours_step_ms": round(1000 * ours_step, 1),
      "reference_step_ms": round(1000 * reference_step, 1),
      "ours_clips_per_second": round(batch_size / ours_step, 2),
      "reference_clips_per_second": round(batch_size / reference_step, 2),
      "ratio": round(reference_step / ours_step, 2),  # Ours / reference, in clips/s.
  }
  if tuned:
    tuned_step = statistics.median(sum(parts) for parts in tuned_parts)
    row["reference_channels_last_step_ms"] = round(1000 * tuned_step, 1)
    row["ratio_vs_channels_last"] = round(tuned_step / ours_step, 2)
  row["ours_gflops_per_step"] = round(flops.compiled_flops(compiled) / 1e9, 1)
  if frozen:
    encode_seconds, head_seconds = zip(*reference_parts)
    row["reference_encode_ms"] = round(1000 * statistics.median(encode_seconds), 1)
    row["reference_head_step_ms"] = round(1000 * statistics.median(head_seconds), 1)
    row["ours_pipelined_clips_per_second"] = round(pipelined_clips_per_second(
        compiled, state, rng, mesh, batch_size, num_steps), 2)
  row.update({"ours_compile_seconds": round(compile_seconds, 1), "repetitions": num_steps,
              "torch": torch.__version__, "torch_threads": torch.get_num_threads()})
  return row


def _reference(frozen: bool):
  return lambda torch, channels_last: reference_pytorch_models.ReferenceTrainer(
      torch, frozen, channels_last)


def run(quick: bool = False) -> list[dict]:
  """Rows "train_step/resnet18_frozen", "train_step/resnet18_trainable" (the reference's
  model) and "train_step/conv_encoder_trainable" (configs/cnn_lstm.py in both).

  Each has ours_ and reference_ step_ms and clips_per_second and their `ratio` (ours /
  reference, in clips/s: above 1 means this project is faster), the same against the
  reference with a channels-last encoder (PyTorch's faster CPU layout, which the
  notebook does not use: reference_channels_last_step_ms, ratio_vs_channels_last), and
  XLA's FLOPs of our step (ours_gflops_per_step); the frozen row also the
  reference step's parts (reference_encode_ms, reference_head_step_ms) and our step fed
  by the input pipeline (ours_pipelined_clips_per_second). Batches (--quick or not):
  frozen 4 or 32 (the config's); conv encoder 2 or 8; trainable ResNet-18 8 (its
  backward pass through 16 frames per clip is slow on CPU). --quick leaves out the
  trainable ResNet-18 and the channels-last reference.
  """
  num_steps = 3 if quick else 5
  rows = [compare_train_steps("train_step/resnet18_frozen", "resnet_ae_lstm",
                              _reference(True), 4 if quick else 32, num_steps, True, not quick)]
  if not quick:  # Compiling ResNet-18's backward pass alone takes ~30 s on 2 CPU cores.
    rows.append(compare_train_steps("train_step/resnet18_trainable", "resnet_ae_lstm",
                                    _reference(False), 8, num_steps, False))
  rows.append(compare_train_steps("train_step/conv_encoder_trainable", "cnn_lstm",
                                  reference_pytorch_models.ConvLstmTrainer, 2 if quick else 8,
                                  num_steps, None, not quick))
  return rows


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="smaller batches, 3 timed steps")
  args = parser.parse_args(argv)
  for row in run(args.quick):
    print("  ".join(f"{key}={value}" for key, value in row.items()))
  return 0


if __name__ == "__main__":
  sys.exit(main())
