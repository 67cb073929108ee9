"""The reference notebook's model in PyTorch, its train step timed against this project's.

    python -m benchmarks.reference_pytorch [--quick]

The reference PyTorch notebook classifies 16 grey 112x112 face crops per clip, read from
cached arrays, with a frozen ImageNet ResNet-18 frame encoder (`requires_grad=False`,
but still run on every frame in every step), a feature autoencoder (512-128-64-128-512,
trained on reconstructing the encoder's features) and an LSTM on the 64-d codes. It is
re-implemented here from that description (torchvision is not needed: ResNet-18 is
written out below; the grey frame is repeated to the 3 channels ImageNet weights expect;
the frozen encoder is kept in eval mode, as this project keeps a frozen encoder's
BatchNorm statistics). Its train step is timed against this project's equivalent,
configs/resnet_ae_lstm.py's full-size model (frozen ResNet-18 -> bottleneck
512-256-64-256-512 -> BiLSTM 128 -> head; frozen by a stop_gradient in the model and a
zero update in the optimiser), on the same random uint8 batch, alternating the two so
that other load on the machine affects both alike. The same is repeated with the
encoder trainable on both sides (ours: `model.encoder.frozen=False`).

The reference step is split into `encode` (the frozen encoder's forward pass) and
`train_on_features` (everything trained), so that an epoch of it can be compared with
one on cached encoder features (run the encoder once, train on the features), which
is what its frozen encoder allows; the encoder and head times are reported apart.
PyTorch is optional (`pip install -e .[bench]`); without it the rows say it was skipped.
--quick (batch 4 frozen, 1 trainable, 3 timed steps, no channels-last variant) takes
~2 min on 2 busy CPU cores; the full run (batch 32 and 8, 5 steps) ~15 min.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

from benchmarks import flops
from benchmarks import train_throughput

NUM_FRAMES, SIZE = 16, 112
NUM_CLASSES = 6
FEATURES = 512
AUTOENCODER_SIZES = (128, 64)
LSTM_SIZE = 128
SKIPPED = "PyTorch is not installed: pip install -e .[bench] (or pip install torch)"


def _torch():
  """The torch module, or None when it is not installed."""
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError:
    return None
  return torch


def build_model(torch, frozen: bool = True):
  """The reference model: `(encoder, head)` torch modules, the encoder frozen or not.

  encoder: `[N, 3, H, W]` float -> `[N, 512]` (ResNet-18). head: features `[B, T, 512]`
  -> `(logits [B, 6], reconstruction [B, T, 512])` (autoencoder + LSTM + linear).
  """
  nn = torch.nn

  class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (torchvision's BasicBlock)."""

    def __init__(self, in_channels, channels, stride):
      super().__init__()
      self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
      self.bn1 = nn.BatchNorm2d(channels)
      self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
      self.bn2 = nn.BatchNorm2d(channels)
      self.downsample = None
      if stride != 1 or in_channels != channels:
        self.downsample = nn.Sequential(nn.Conv2d(in_channels, channels, 1, stride, bias=False),
                                        nn.BatchNorm2d(channels))

    def forward(self, x):
      y = torch.relu(self.bn1(self.conv1(x)))
      y = self.bn2(self.conv2(y))
      return torch.relu(y + (x if self.downsample is None else self.downsample(x)))

  class ResNet18(nn.Module):
    """torchvision's resnet18 without its classifier: `[N, 3, H, W] -> [N, 512]`."""

    def __init__(self):
      super().__init__()
      self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                                nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
      blocks, in_channels = [], 64
      for stage, channels in enumerate((64, 128, 256, 512)):
        for index in range(2):
          blocks.append(BasicBlock(in_channels, channels, 2 if stage and not index else 1))
          in_channels = channels
      self.blocks = nn.Sequential(*blocks)

    def forward(self, x):
      return torch.flatten(nn.functional.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1), 1)

  class Head(nn.Module):
    """Feature autoencoder + LSTM over the codes + linear classifier."""

    def __init__(self):
      super().__init__()
      hidden, code = AUTOENCODER_SIZES
      self.encoder = nn.Sequential(nn.Linear(FEATURES, hidden), nn.ReLU(),
                                   nn.Linear(hidden, code))
      self.decoder = nn.Sequential(nn.Linear(code, hidden), nn.ReLU(),
                                   nn.Linear(hidden, FEATURES))
      self.lstm = nn.LSTM(code, LSTM_SIZE, batch_first=True)
      self.classifier = nn.Linear(LSTM_SIZE, NUM_CLASSES)

    def forward(self, features):
      codes = self.encoder(features)
      _, (hidden, _) = self.lstm(codes)
      return self.classifier(hidden[-1]), self.decoder(codes)

  encoder, head = ResNet18(), Head()
  for parameter in encoder.parameters():
    parameter.requires_grad = not frozen
  encoder.train(not frozen)
  return encoder, head


class ReferenceTrainer:
  """The reference train step, in two parts: `encode` and `train_on_features`.

  A cached-features epoch would call `train_on_features` on stored features; the
  notebook's epoch calls `train_step`, which encodes every frame every time.
  """

  def __init__(self, torch, frozen: bool = True, channels_last: bool = False, seed: int = 0):
    """`channels_last`: NHWC memory layout for the encoder, a tuning the notebook lacks
    (PyTorch's default NCHW is what it runs), faster on CPU."""
    torch.manual_seed(seed)
    self._torch = torch
    self.frozen = frozen
    self.channels_last = channels_last
    self.encoder, self.head = build_model(torch, frozen)
    if channels_last:
      self.encoder.to(memory_format=torch.channels_last)
    trainable = list(self.head.parameters())
    if not frozen:
      trainable += list(self.encoder.parameters())
    self.optimizer = torch.optim.Adam(trainable, lr=1e-3)

  def encode(self, frames: np.ndarray):
    """uint8 `[B, T, H, W, 1]` -> float `[B, T, 512]` features (grey repeated to RGB)."""
    torch = self._torch
    batch, num_frames, height, width, _ = frames.shape
    x = torch.from_numpy(frames).float().div_(255.0).sub_(0.5).div_(0.5)
    x = x.reshape(batch * num_frames, 1, height, width).expand(-1, 3, -1, -1)
    if self.channels_last:
      x = x.contiguous(memory_format=torch.channels_last)
    return self.encoder(x).reshape(batch, num_frames, FEATURES)

  def train_on_features(self, features, labels) -> float:
    """One optimiser step of everything trained: classification + reconstruction loss."""
    functional = self._torch.nn.functional
    logits, reconstruction = self.head(features)
    loss = (functional.cross_entropy(logits, labels)
            + functional.mse_loss(reconstruction, features.detach()))
    self.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    self.optimizer.step()
    return loss.item()

  def train_step(self, frames: np.ndarray, labels: np.ndarray) -> float:
    """The notebook's step: encode every frame, then train on the features."""
    return self.train_on_features(self.encode(frames), self._torch.from_numpy(labels).long())


def _timed(fn) -> float:
  start = time.perf_counter()
  fn()
  return time.perf_counter() - start


def pipelined_clips_per_second(compiled, state, rng, mesh, batch_size: int,
                               num_steps: int) -> float:
  """Clips/s of our train step fed by the real input pipeline (data + train, measured).

  The grain iterator (train augmentation, worker_count 0, prefetch 2) reads random
  16x112x112x1 records from a temporary array_record dataset; its threads prepare the
  next batches while the step runs, on the same CPU cores.
  """
  import jax  # pylint: disable=g-import-not-at-top
  from emo_jax import input_pipeline  # pylint: disable=g-import-not-at-top
  from benchmarks import input_pipeline as input_pipeline_benchmark  # pylint: disable=g-import-not-at-top
  with tempfile.TemporaryDirectory(prefix="bench_epoch_") as tmp:
    source = input_pipeline_benchmark.random_clips_source(tmp, batch_size * (num_steps + 2))
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


def compare_train_steps(frozen: bool, batch_size: int, num_steps: int,
                        with_channels_last: bool = True) -> dict:
  """Times our resnet_ae_lstm step and the reference step alternately on the same batch.

  With a frozen encoder the reference step is timed in its two parts (`encode`,
  `train_on_features`, whose sum is `train_step`), and our step is also timed fed by
  the input pipeline (`pipelined_clips_per_second`). `with_channels_last` also times
  the reference with a channels-last encoder.
  """
  torch = _torch()
  variant = "frozen" if frozen else "trainable"
  name = f"train_step/resnet18_{variant}"
  if torch is None:
    return {"name": name, "skipped": SKIPPED}
  import jax  # pylint: disable=g-import-not-at-top
  from emo_jax import sharding  # pylint: disable=g-import-not-at-top
  torch.set_num_threads(len(os.sched_getaffinity(0)))
  config = train_throughput.load_config("resnet_ae_lstm")
  config.model.encoder.frozen = frozen
  mesh = sharding.create_mesh(1)
  state, step, batch, rng = train_throughput.setup_train_step(
      config, batch_size, mesh, (NUM_FRAMES, SIZE, SIZE, 1))
  start = time.perf_counter()
  compiled = step.lower(state, batch, rng).compile()
  compile_seconds = time.perf_counter() - start
  host = train_throughput.random_batch(batch_size, (NUM_FRAMES, SIZE, SIZE, 1), NUM_CLASSES)
  labels = torch.from_numpy(host["label"]).long()
  reference = ReferenceTrainer(torch, frozen)
  tuned = ReferenceTrainer(torch, frozen, channels_last=True) if with_channels_last else None
  features = None

  def ours():
    nonlocal state
    state, metrics = compiled(state, batch, rng)
    jax.block_until_ready((state, metrics))

  def encode():
    nonlocal features
    features = reference.encode(host["frames"])

  def theirs(trainer=reference):
    trainer.train_step(host["frames"], host["label"])

  ours(), theirs()  # Warm-up.
  if tuned:
    theirs(tuned)
  ours_seconds, encode_seconds, head_seconds, reference_seconds = [], [], [], []
  tuned_seconds = []
  for _ in range(num_steps):
    ours_seconds.append(_timed(ours))
    if tuned:
      tuned_seconds.append(_timed(lambda: theirs(tuned)))
    if frozen:
      encode_seconds.append(_timed(encode))
      head_seconds.append(_timed(lambda: reference.train_on_features(features, labels)))
      reference_seconds.append(encode_seconds[-1] + head_seconds[-1])
    else:
      reference_seconds.append(_timed(theirs))
  ours_step, reference_step = map(statistics.median, (ours_seconds, reference_seconds))
  row = {
      "name": name,
      "batch_size": batch_size,
      "input": f"{NUM_FRAMES}x{SIZE}x{SIZE}x1",
      "ours_step_ms": round(1000 * ours_step, 1),
      "reference_step_ms": round(1000 * reference_step, 1),
      "ours_clips_per_second": round(batch_size / ours_step, 2),
      "reference_clips_per_second": round(batch_size / reference_step, 2),
      "ratio": round(reference_step / ours_step, 2),  # Ours / reference, in clips/s.
  }
  if tuned:
    tuned_step = statistics.median(tuned_seconds)
    row["reference_channels_last_step_ms"] = round(1000 * tuned_step, 1)
    row["ratio_vs_channels_last"] = round(tuned_step / ours_step, 2)
  row["ours_gflops_per_step"] = round(flops.compiled_flops(compiled) / 1e9, 1)
  if frozen:
    row["reference_encode_ms"] = round(1000 * statistics.median(encode_seconds), 1)
    row["reference_head_step_ms"] = round(1000 * statistics.median(head_seconds), 1)
    row["ours_pipelined_clips_per_second"] = round(pipelined_clips_per_second(
        compiled, state, rng, mesh, batch_size, num_steps), 2)
  row.update({"ours_compile_seconds": round(compile_seconds, 1), "repetitions": num_steps,
              "torch": torch.__version__, "torch_threads": torch.get_num_threads()})
  return row


def run(quick: bool = False) -> list[dict]:
  """Rows "train_step/resnet18_frozen" and "train_step/resnet18_trainable".

  Each has ours_ and reference_ step_ms and clips_per_second and their `ratio` (ours /
  reference, in clips/s: above 1 means this project is faster), the same against the
  reference with a channels-last encoder (PyTorch's faster CPU layout, which the
  notebook does not use: reference_channels_last_step_ms, ratio_vs_channels_last), and
  XLA's FLOPs of our step (ours_gflops_per_step); the frozen row also the
  reference step's parts (reference_encode_ms, reference_head_step_ms) and our step fed
  by the input pipeline (ours_pipelined_clips_per_second). Batches: frozen 4 (--quick)
  or 32 (the config's); trainable 1 or 8 (its backward pass through 16 frames per
  clip is slow on CPU). --quick leaves out the channels-last reference.
  """
  num_steps = 3 if quick else 5
  return [compare_train_steps(True, 4 if quick else 32, num_steps, not quick),
          compare_train_steps(False, 1 if quick else 8, num_steps, not quick)]


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="smaller batches, 3 timed steps")
  args = parser.parse_args(argv)
  for row in run(args.quick):
    print("  ".join(f"{key}={value}" for key, value in row.items()))
  return 0


if __name__ == "__main__":
  sys.exit(main())
