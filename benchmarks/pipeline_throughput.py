"""Input pipeline throughput: TFDS array_record clips -> grain -> augmented global batches.

    python -m benchmarks.pipeline_throughput [--quick] [--dataset cremad/synthetic_g16_112 --data_dir D]

Measures clips per second of `input_pipeline.iterators.train_iterator` (read, decode, train
augmentation, batch, hand to the devices) on 16x112x112x1 uint8 clips (or `shape`,
e.g. 1x48x48x1 FER2013 images), with `worker_count` 0 (threads in this process) and 2
(grain worker processes), plus a read-only row without augmentation. The clips come
from `--dataset` in `--data_dir` when it is built there (the whole packed split, not a
fold), else from a temporary TFDS array_record dataset of random clips written by this
benchmark, so the real read path is always measured. The first batches (worker
start-up, and what the workers buffered meanwhile) are not timed; each figure is the
median over passes. About 40 s on 2 CPU cores (--quick: ~20 s).
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

import jax
import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from emo_jax.input_pipeline import iterators
from emo_jax.input_pipeline import sources as sources_lib
from emo_jax import sharding

NUM_FRAMES, SIZE = 16, 112
CLIP_SHAPE = (NUM_FRAMES, SIZE, SIZE, 1)
NUM_CLASSES = 6
BATCH_SIZE = 32
PREFETCH = 4  # Batches read ahead per process (and per grain worker).
# A typical CREMA-D training setting (see emo_jax/data/augment.py).
TRAIN_AUGMENT = {"crop_probability": 1.0, "crop_min_area": 0.7, "flip_probability": 0.5,
                 "brightness": 0.2, "contrast": 0.2, "temporal_min_fraction": 0.8,
                 "frame_dropout_rate": 0.1}


class _RandomClips(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """Random uint8 clips (16x112x112x1 by default) with CREMA-D's per-clip fields."""

  VERSION = tfds.core.Version("1.0.0")
  # The package folder, also when run as __main__ (TFDS would look beside the file).
  pkg_dir_path = epath.Path(__file__).parent

  def __init__(self, *, num_clips: int = 0, shape=CLIP_SHAPE, **kwargs):
    self._num_clips = num_clips  # 0: read an existing build.
    self._shape = tuple(shape)
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(features=tfds.features.FeaturesDict({
        "frames": tfds.features.Tensor(shape=self._shape, dtype=np.uint8,
                                       encoding=tfds.features.Encoding.BYTES),
        "audio": tfds.features.Tensor(shape=(None,), dtype=np.float32,
                                      encoding=tfds.features.Encoding.BYTES),
        "label": tfds.features.Tensor(shape=(), dtype=np.int64),
        "actor": tfds.features.Tensor(shape=(), dtype=np.int64),
        "vote_distribution": tfds.features.Tensor(shape=(NUM_CLASSES,), dtype=np.float32),
        "clip_name": tfds.features.Text(),
    }))

  def _split_generators(self, dl_manager):
    del dl_manager
    return {"train": self._generate_examples()}

  def _generate_examples(self):
    rng = np.random.default_rng(0)
    for i in range(self._num_clips):
      yield i, {
          "frames": rng.integers(0, 256, self._shape, dtype=np.uint8),
          # Two seconds of audio per clip, as CREMA-D records; none for still images.
          "audio": rng.normal(size=16000 * 2 if self._shape[0] > 1 else 0).astype(np.float32),
          "label": i % NUM_CLASSES, "actor": 1001 + i % 10,
          "vote_distribution": np.eye(NUM_CLASSES, dtype=np.float32)[i % NUM_CLASSES],
          "clip_name": f"clip_{i}",
      }


def random_clips_source(data_dir: str, num_clips: int, shape=CLIP_SHAPE):
  """Writes `num_clips` random records of `shape` frames into `data_dir` (TFDS
  array_record) and opens them: `len()` and `[i]` -> dict, as a packed CREMA-D."""
  builder = _RandomClips(num_clips=num_clips, shape=shape, data_dir=data_dir,
                         file_format="array_record")
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      verify_ssl=False))
  return builder.as_data_source("train")


def timed_passes(iterator, warmup: int, repetitions: int, num_batches: int) -> list[float]:
  """Seconds per `num_batches` batches of `iterator`, for each of `repetitions` passes.

  The first `warmup` batches (worker start-up, first reads, jax dispatch) are not
  timed; the iterator is closed at the end, also on error.
  """
  try:
    for _ in range(warmup):
      jax.block_until_ready(next(iterator))
    passes = []
    for _ in range(repetitions):
      start = time.perf_counter()
      for _ in range(num_batches):
        jax.block_until_ready(next(iterator))
      passes.append(time.perf_counter() - start)
  finally:
    iterator.close()
  return passes


def _time_pipeline(source, mesh, worker_count: int, augment, num_batches: int,
                   repetitions: int) -> dict:
  """Median over `repetitions` passes of `num_batches` batches, after a warm-up.

  The warm-up also drains what worker processes buffered while the iterator started,
  so that the timed batches are made while timed. The records are listed as often as
  it takes for all the batches to fall in one epoch (grain's prefetching restarts at
  an epoch boundary, which a real epoch of thousands of clips pays once).
  """
  warmup = 2 + worker_count * PREFETCH
  needed = (warmup + repetitions * num_batches) * BATCH_SIZE
  iterator = iterators.train_iterator(
      source, np.tile(np.arange(len(source)), -(-needed // len(source))), mesh=mesh,
      batch_size=BATCH_SIZE, num_classes=NUM_CLASSES, seed=0, augment_config=augment,
      worker_count=worker_count, prefetch=PREFETCH)
  seconds = statistics.median(timed_passes(iterator, warmup, repetitions, num_batches))
  return {"clips_per_second": round(num_batches * BATCH_SIZE / seconds, 1),
          "ms_per_batch": round(1000 * seconds / num_batches, 1)}


def run(quick: bool = False, dataset: str = "cremad/synthetic_g16_112",
        data_dir: str | None = None, shape=CLIP_SHAPE) -> list[dict]:
  """Times the train pipeline with 0 and 2 workers, and reading without augmentation.

  Args:
    quick: fewer batches.
    dataset: read this packed dataset when it is built in `data_dir`.
    data_dir: TFDS data dir; None: random records of `shape` in a temporary folder.
    shape: `[T, S, S, C]` of the random records.

  Returns:
    One row per setting: name, input (shape), clips_per_second, ms_per_batch (medians
    over passes of num_batches), batch_size, num_batches, repetitions, source,
    cpu_count.
  """
  num_batches, repetitions = (8, 3) if quick else (16, 5)
  mesh = sharding.create_mesh()
  with tempfile.TemporaryDirectory() as temporary_dir:
    source, source_name = _packed_source(dataset, data_dir)
    if source is None:
      num_clips = BATCH_SIZE * (num_batches + 4)
      source = random_clips_source(temporary_dir, num_clips, shape)
      source_name = f"temporary array_record, {num_clips} random clips"
    settings = [("read", 0, None), ("read+augment", 0, TRAIN_AUGMENT),
                ("read+augment", 2, TRAIN_AUGMENT)]
    rows = []
    for name, worker_count, augment in settings:
      rows.append({"name": f"input_pipeline/{name}/workers={worker_count}",
                   "input": "x".join(str(d) for d in source[0]["frames"].shape),
                   **_time_pipeline(source, mesh, worker_count, augment, num_batches,
                                    repetitions),
                   "batch_size": BATCH_SIZE, "num_batches": num_batches,
                   "repetitions": repetitions,
                   "source": source_name, "cpu_count": os.cpu_count()})
  return rows


def _packed_source(dataset: str, data_dir: str | None):
  """The whole packed split of `dataset` if it is built in `data_dir`, else (None, None)."""
  if not data_dir:
    return None, None
  try:
    packed = sources_lib.load_packed_dataset(dataset, data_dir, split=None)
  except FileNotFoundError:
    return None, None
  source = packed.sources["train"]
  return source, f"{dataset} in {data_dir} ({len(source)} clips)"


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="fewer batches")
  parser.add_argument("--dataset", default="cremad/synthetic_g16_112")
  parser.add_argument("--data_dir", help="TFDS data dir holding --dataset (default: "
                      "random clips written to a temporary folder)")
  args = parser.parse_args(argv)
  rows = run(args.quick, args.dataset, args.data_dir)
  columns = list(rows[0])
  print("  ".join(f"{c:>16}" for c in columns))
  for row in rows:
    print("  ".join(f"{row[c]!s:>16}" for c in columns))
  return 0


if __name__ == "__main__":
  sys.exit(main())
