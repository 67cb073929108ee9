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
real input pipeline, for the whole-epoch comparison (benchmarks/summary.py). That
protocol is this project's with `configs/resnet_ae_lstm.py:cached`
(emo_jax/feature_cache/), timed at the same batch and input by
`cached_features_epoch`: the cache build per clip and the train step on the cached
features, against the reference's frozen step (encoder + head), which it runs every epoch.
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
from benchmarks import pipeline_throughput
from benchmarks import reference_pytorch_models
from benchmarks import train_throughput
from emo_jax.feature_cache import build as feature_cache_build
from emo_jax.feature_cache import checks as feature_cache_checks
from emo_jax.input_pipeline import iterators
from emo_jax import models
from emo_jax import sharding

NUM_FRAMES, SIZE = 16, 112
CLIP_SHAPE = (NUM_FRAMES, SIZE, SIZE, 1)
AMORTISED_EPOCHS = 30  # A run's epochs over which the cache build is spread.
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
    source = pipeline_throughput.random_clips_source(
        tmp, batch_size * (num_steps + 2), (NUM_FRAMES, SIZE, SIZE, 1))
    iterator = iterators.train_iterator(
        source, np.arange(len(source)), mesh=mesh, batch_size=batch_size,
        num_classes=NUM_CLASSES, seed=0, augment_config=pipeline_throughput.TRAIN_AUGMENT,
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


def cached_features_epoch(reference: dict, num_steps: int, num_cached_steps: int,
                          config_arg: str = "cached", shape=CLIP_SHAPE) -> dict:
  """Our epoch on cached encoder features against the reference's frozen step, per clip.

  Ours is `configs/resnet_ae_lstm.py:<config_arg>` (full size by default) on one device, through
  the trainer's code paths: the cache build's cost per clip is
  `feature_cache_build.FrameEncoder` (the jitted `encode_frames`, host transfers included) on
  random uint8 clips, as `build_feature_cache` runs it per batch; the train step is
  `train_throughput.setup_train_step`'s (the trainer's optimiser, frozen encoder) fed
  the encoder's features `[B, T, D]` as `frame_features`, so the encoder is skipped.
  Each is the median of its timed calls after one warm-up call. The reference's epoch is
  its frozen step (encoder + head) every epoch: the notebook reads cached face-crop
  arrays, so it decodes nothing. Our first epoch builds the cache and trains; later ones
  train. Reading the cached features (32 KB per clip) is not timed.

  Args:
    reference: the "train_step/resnet18_frozen" row of `compare_train_steps`, whose
      batch size is used and whose reference_encode_ms and reference_head_step_ms are the
      reference's side; a skipped row skips this one.
    num_steps: timed encoder batches.
    num_cached_steps: timed train steps on cached features.
    config_arg: the config's argument (tests use "runlocal,cached").
    shape: `[T, H, W, C]` of a clip.

  Returns:
    A row "epoch/resnet18_frozen_cached": ms per clip of our cache build, cached step
    (= a later epoch) and first epoch, and of the reference's epoch; `ratio` (ours /
    reference in clips/s, a later epoch), ratio_first_epoch and ratio_amortised (a run
    of amortised_epochs = AMORTISED_EPOCHS epochs, the cache built once).
  """
  name = "epoch/resnet18_frozen_cached"
  if "skipped" in reference:
    return {"name": name, "skipped": reference["skipped"]}
  batch_size = reference["batch_size"]
  config_name = f"resnet_ae_lstm:{config_arg}"
  config = train_throughput.load_config("resnet_ae_lstm", config_arg)
  feature_cache_checks.check_preconditions(config)
  num_labels = train_throughput.num_classes(config.data.dataset)
  mesh = sharding.create_mesh(1)
  state, step, _, rng = train_throughput.setup_train_step(config, batch_size, mesh, shape)
  encoder = feature_cache_build.FrameEncoder(
      models.create_model(config.model, num_labels),
      {"params": state.params, "batch_stats": state.batch_stats}, batch_size)
  clips = train_throughput.random_batch(encoder.batch_size, shape, num_labels)["frames"]
  encode_seconds = [_timed(lambda: encoder(clips)) for _ in range(num_steps + 1)]
  host = train_throughput.random_batch(batch_size, shape, num_labels)
  host["frame_features"] = encoder(host.pop("frames"))
  batch = sharding.host_local_batch_to_global(host, mesh)
  start = time.perf_counter()
  compiled = step.lower(state, batch, rng).compile()
  compile_seconds = time.perf_counter() - start
  _, step_seconds = train_throughput.time_steps(compiled, state, batch, rng, num_cached_steps)

  build = statistics.median(encode_seconds[1:]) / encoder.batch_size
  train = statistics.median(step_seconds) / batch_size
  reference_epoch = (reference["reference_encode_ms"] + reference["reference_head_step_ms"]
                     ) / 1000 / batch_size
  amortised = build / AMORTISED_EPOCHS + train
  ms = lambda seconds: round(1000 * seconds, 2)
  return {
      "name": name,
      "config": config_name,
      "batch_size": batch_size,
      "input": "x".join(map(str, shape)),
      "ours_cache_build_ms_per_clip": ms(build),
      "ours_cached_step_ms": ms(statistics.median(step_seconds)),
      "ours_cached_step_ms_per_clip": ms(train),
      "ours_first_epoch_ms_per_clip": ms(build + train),
      "reference_epoch_ms_per_clip": ms(reference_epoch),
      "ratio": round(reference_epoch / train, 2),
      "ratio_first_epoch": round(reference_epoch / (build + train), 2),
      "amortised_epochs": AMORTISED_EPOCHS,
      "ratio_amortised": round(reference_epoch / amortised, 2),
      "ours_encoder_compile_seconds": round(encode_seconds[0], 1),
      "ours_cached_step_compile_seconds": round(compile_seconds, 1),
      "encoder_batch_size": encoder.batch_size,
      "repetitions": num_steps,
      "cached_step_repetitions": len(step_seconds),
  }


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
  by the input pipeline (ours_pipelined_clips_per_second), followed by
  "epoch/resnet18_frozen_cached" (`cached_features_epoch`, at the frozen row's batch).
  Batches (--quick or not): frozen 4 or 32 (the config's); conv encoder 2 or 8;
  trainable ResNet-18 8 (its backward pass through 16 frames per clip is slow on CPU).
  --quick leaves out the trainable ResNet-18 and the channels-last reference.
  """
  num_steps = 3 if quick else 5
  frozen = compare_train_steps("train_step/resnet18_frozen", "resnet_ae_lstm",
                               _reference(True), 4 if quick else 32, num_steps, True, not quick)
  rows = [frozen, cached_features_epoch(frozen, num_steps, 4 * num_steps)]
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
