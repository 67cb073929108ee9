"""The reference project's data path (OpenCV decoding every epoch) against packed records.

    python -m benchmarks.reference_opencv [--quick] [--cremad_dir DIR]

The reference Keras script decodes every video again in every epoch with OpenCV, and
the notebook cuts Haar face crops of 16 grey 112x112 frames. Re-implemented here from
that description (`read_clip_reference`): `cv2.VideoCapture`, seek with
CAP_PROP_POS_FRAMES to each of 16 uniformly sampled frames and read it (as
benchmarks/decode.py's opencv_seek), then per frame: grey, Haar cascade on the full
frame (the tutorial's scaleFactor=1.3, minNeighbors=5), largest face, resized to
112x112 (the whole frame where none is found). This project instead decodes and crops
once into TFDS array_record records and reads them with the grain input pipeline
(`emo_jax.input_pipeline.iterators.train_iterator`: read, train augmentation, batch, hand to the
device). Both paths are timed on the same clips (the six real CREMA-D clips in
../shared/data/cremad, or any CREMA-D-like root), packed once first (not timed): one
warm-up pass, then the median over passes of clips per second. ~1 min on 2 CPU cores
(--quick ~40 s).
"""
import argparse
import dataclasses
import pathlib
import statistics
import sys
import tempfile
import time

import cv2
import numpy as np
import tensorflow_datasets as tfds

from benchmarks import decode as decode_benchmark
from benchmarks import pipeline_throughput
from emo_jax.input_pipeline import iterators
from emo_jax.input_pipeline import sources as sources_lib
from emo_jax import sharding
from emo_jax.data import faces
from tfds_cremad import cremad

NUM_FRAMES, SIZE = 16, 112
DEFAULT_CREMAD_DIR = decode_benchmark.DEFAULT_CLIPS_DIR.parent


def read_clip_reference(path: str, cascade: "cv2.CascadeClassifier", num_frames: int = NUM_FRAMES,
                        size: int = SIZE) -> np.ndarray:
  """The reference data path for one clip: uint8 `[T, size, size, 1]` grey face crops."""
  crops = []
  for frame in decode_benchmark.read_frames_opencv_seek(path, num_frames):
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    found = cascade.detectMultiScale(grey, scaleFactor=1.3, minNeighbors=5)
    if len(found):
      x, y, w, h = max(found, key=lambda box: box[2] * box[3])
      grey = grey[y:y + h, x:x + w]
    crops.append(cv2.resize(grey, (size, size)))
  return np.stack(crops)[..., None]


def pack_clips(root: pathlib.Path, data_dir: pathlib.Path):
  """Decodes and crops the clips under `root` once into array_record (the project's path)."""
  shape = next(c for c in cremad.Cremad.BUILDER_CONFIGS if c.name == "g16_112")
  config = dataclasses.replace(shape, name="bench_reference_g16_112")
  builder = cremad.Cremad(config=config, data_dir=data_dir, num_workers=0, verify="off")
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=root))
  return sources_lib.packed_from_builder(builder, split=None)


def _time_reference(paths: list[str], repetitions: int) -> list[float]:
  cascade = cv2.CascadeClassifier(faces.CASCADE_PATH)
  read_clip_reference(paths[0], cascade)  # Warm-up: cascade, lazy imports.
  passes = []
  for _ in range(repetitions):
    start = time.perf_counter()
    for path in paths:
      read_clip_reference(path, cascade)
    passes.append(time.perf_counter() - start)
  return passes


def _time_pipeline(packed, batch_size: int, num_batches: int, repetitions: int,
                   worker_count: int) -> list[float]:
  """Seconds per `num_batches` batches of the train iterator, for each repetition.

  The few records are listed 16 times over as the train part: with 6 records every
  batch would start a new epoch, and grain's prefetching restarts at each epoch
  boundary, a stall a real epoch (thousands of clips) pays once.
  """
  source, indices = packed.sources["train"], np.tile(packed.indices["train"], 16)
  iterator = iterators.train_iterator(
      source, indices, mesh=sharding.create_mesh(1), batch_size=batch_size,
      num_classes=packed.num_classes, seed=0, worker_count=worker_count, prefetch=2,
      augment_config=pipeline_throughput.TRAIN_AUGMENT)
  return pipeline_throughput.timed_passes(iterator, 2, repetitions, num_batches)


def run(quick: bool = False, cremad_dir: str | pathlib.Path | None = None) -> list[dict]:
  """Rows "data_path/reference_opencv" and "data_path/packed_grain" (clips_per_second,
  ms_per_clip, ...) on the same clips, and "data_path/ratio" (packed / reference)."""
  root = pathlib.Path(cremad_dir or DEFAULT_CREMAD_DIR)
  paths = sorted(str(p) for p in root.glob("VideoFlash/*.flv"))
  if not paths:
    raise FileNotFoundError(f"no clips in {root}/VideoFlash; pass --cremad_dir, a CREMA-D "
                            "root (VideoFlash/ and the CSVs)")
  repetitions = 3 if quick else 5
  reference = _time_reference(paths, repetitions)
  with tempfile.TemporaryDirectory(prefix="bench_reference_") as tmp:
    packed = pack_clips(root, pathlib.Path(tmp))
    num_clips = len(packed.indices["train"])
    batch_size = 8
    num_batches = max(1, (64 if quick else 256) // batch_size)
    pipeline = _time_pipeline(packed, batch_size, num_batches, repetitions, worker_count=0)
  reference_rate = len(paths) / statistics.median(reference)
  pipeline_rate = num_batches * batch_size / statistics.median(pipeline)
  common = {"num_clips": len(paths), "clips": str(root), "repetitions": repetitions}
  return [
      {"name": "data_path/reference_opencv", "clips_per_second": round(reference_rate, 2),
       "ms_per_clip": round(1000 / reference_rate, 1),
       "method": "OpenCV seek+read 16 frames, Haar per full frame, resize; every epoch",
       **common},
      {"name": "data_path/packed_grain", "clips_per_second": round(pipeline_rate, 1),
       "ms_per_clip": round(1000 / pipeline_rate, 2),
       "method": (f"array_record -> grain, train augmentation, batches of {batch_size} "
                  "to the device, worker_count=0"), **common, "num_records": num_clips},
      {"name": "data_path/ratio", "ratio": round(pipeline_rate / reference_rate, 1),
       "method": "packed_grain / reference_opencv clips per second"},
  ]


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="fewer repetitions")
  parser.add_argument("--cremad_dir", help=f"CREMA-D-like root (default {DEFAULT_CREMAD_DIR})")
  args = parser.parse_args(argv)
  tfds.disable_progress_bar()
  for row in run(args.quick, args.cremad_dir):
    print("  ".join(f"{key}={value}" for key, value in row.items()))
  return 0


if __name__ == "__main__":
  sys.exit(main())
