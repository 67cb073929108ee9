"""Decode-and-crop throughput: decord vs PyAV vs the reference project's OpenCV seeking.

    python -m benchmarks.decode [--quick] [--clips_dir DIR]

Each method turns a clip into 16 uniformly sampled, face-cropped 112x112 grey frames
(`faces.crop_faces`, the same crop for all three); only the decoding differs:
  decord:      `decode.decode_video(..., backend="decord")` (VideoReader.get_batch).
  pyav:        `decode.decode_video(..., backend="pyav")` (decode all, convert 16).
  opencv_seek: the reference project's way: cv2.VideoCapture, trust CAP_PROP_FRAME_COUNT,
               seek with CAP_PROP_POS_FRAMES to each sampled frame and read it.
One warm-up pass over the clips, then the median of several timed passes. On the six
real CREMA-D clips (../shared/data/cremad) this takes ~25 s on 2 CPU cores (--quick:
~12 s). Measured there on an otherwise idle machine: decord 7.7, pyav 9.1, opencv_seek
2.4 clips/s (decode alone: 29, 28, 3.7 clips/s); the Haar face detection (~75 ms per
16 frames) dominates the first two.
"""
import argparse
import pathlib
import statistics
import sys
import time

import cv2
import numpy as np

from emo_jax.data import decode
from emo_jax.data import faces

NUM_FRAMES = 16
SIZE = 112
DEFAULT_CLIPS_DIR = (pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" /
                     "cremad" / "VideoFlash")


def read_frames_opencv_seek(path: str, num_frames: int) -> np.ndarray:
  """uint8 `[T, H, W, 3]` RGB by seeking with OpenCV to each sampled frame."""
  capture = cv2.VideoCapture(path)
  try:
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    if not capture.isOpened() or count <= 0:
      raise decode.DecodeError(f"{path}: OpenCV cannot open it or reports no frames")
    frames = []
    for index in decode.sample_frame_indices(count, num_frames):
      capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
      ok, frame = capture.read()
      if not ok:
        raise decode.DecodeError(f"{path}: OpenCV cannot read frame {index} of {count}")
      frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    return np.stack(frames)
  finally:
    capture.release()


METHODS = {
    "decord": lambda path: decode.read_frames(path, NUM_FRAMES, backend="decord"),
    "pyav": lambda path: decode.read_frames(path, NUM_FRAMES, backend="pyav"),
    "opencv_seek": lambda path: read_frames_opencv_seek(path, NUM_FRAMES),
}


def _one_pass(read_fn, paths):
  """Decodes and crops every clip; returns (decode s, total s, CPU s, crops)."""
  decode_seconds, crops = 0.0, []
  start, cpu_start = time.perf_counter(), time.process_time()
  for path in paths:
    decode_start = time.perf_counter()
    frames = read_fn(path)
    decode_seconds += time.perf_counter() - decode_start
    crops.append(faces.crop_faces(frames, SIZE, grayscale=True)[0])
  return (decode_seconds, time.perf_counter() - start, time.process_time() - cpu_start,
          crops)


def run(quick: bool = False, clips_dir: str | pathlib.Path | None = None) -> list[dict]:
  """Times each method on the .flv clips in `clips_dir` (default: the six real clips).

  Returns:
    One row per method: name, clips_per_second (decode + crop), decode_clips_per_second,
    ms_per_clip, cpu_ms_per_clip, num_clips, repetitions, and mean_abs_diff_vs_pyav (of
    the crops: 0 means the method yields the same frames as PyAV's sequential decode).
  """
  clips_dir = pathlib.Path(clips_dir or DEFAULT_CLIPS_DIR)
  paths = sorted(str(p) for p in clips_dir.glob("*.flv"))
  if not paths:
    raise FileNotFoundError(f"no .flv clips in {clips_dir}; pass --clips_dir with CREMA-D "
                            "clips (VideoFlash/)")
  repetitions = 2 if quick else 5
  results, reference = {}, None
  for name in ("pyav", "decord", "opencv_seek"):  # PyAV first: it is the reference.
    read_fn = METHODS[name]
    crops = _one_pass(read_fn, paths)[-1]  # Warm-up: caches, cascade, lazy imports.
    timings = [_one_pass(read_fn, paths)[:3] for _ in range(repetitions)]
    reference = crops if reference is None else reference
    decode_seconds = statistics.median(t[0] for t in timings)
    total_seconds = statistics.median(t[1] for t in timings)
    cpu_seconds = statistics.median(t[2] for t in timings)
    diff = np.mean([np.abs(c.astype(np.int16) - r).mean() for c, r in zip(crops, reference)])
    results[name] = {
        "name": f"decode_crop/{name}",
        "clips_per_second": round(len(paths) / total_seconds, 2),
        "decode_clips_per_second": round(len(paths) / decode_seconds, 2),
        "ms_per_clip": round(1000 * total_seconds / len(paths), 1),
        # CPU time (all threads): steadier than wall time on a shared machine.
        "cpu_ms_per_clip": round(1000 * cpu_seconds / len(paths), 1),
        "num_clips": len(paths),
        "repetitions": repetitions,
        "mean_abs_diff_vs_pyav": round(float(diff), 3),
    }
  return [results[name] for name in METHODS]


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="fewer repetitions")
  parser.add_argument("--clips_dir", help=f"folder of .flv clips (default {DEFAULT_CLIPS_DIR})")
  args = parser.parse_args(argv)
  try:
    rows = run(args.quick, args.clips_dir)
  except FileNotFoundError as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  columns = list(rows[0])
  widths = [max(len(c), *(len(str(row[c])) for row in rows)) for c in columns]
  print("  ".join(f"{c:>{w}}" for c, w in zip(columns, widths)))
  for row in rows:
    print("  ".join(f"{row[c]!s:>{w}}" for c, w in zip(columns, widths)))
  return 0


if __name__ == "__main__":
  sys.exit(main())
