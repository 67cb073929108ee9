"""TFDS build throughput: clips/s and bytes per clip of `cremad` with 1 and 2 workers.

    python -m benchmarks.build [--quick] [--cremad_dir DIR]

Generates a synthetic CREMA-D tree once (not timed), then builds the g16_112 shape from
it into a fresh data dir with 1 and with 2 decoding processes (full: the 10-actor
`synthetic_g16_112` set, 820 clips; --quick: 2 actors x 6 clips). Then the same shape is
built from real clips (the six in ../shared/data/cremad, or --cremad_dir: a CREMA-D root
with VideoFlash/ and the CSVs) for their bytes per clip (records are compressed, so only
real clips tell the size), and real and synthetic clips are decoded alternately in one
process: the 2-worker rate scaled by that real/synthetic time ratio estimates the full
7,442-clip CREMA-D build on 2 cores. Takes ~6.5 min on 2 CPU cores (2.5 of them generating
the tree); --quick ~20 s, but 12 clips are too few for the worker start-up to pay off, so
its speedup and estimate mean little.
"""
import argparse
import dataclasses
import os
import pathlib
import statistics
import sys
import tempfile
import time

import tensorflow_datasets as tfds

from tfds_cremad import cremad

NUM_REAL_CLIPS = 7442
DEFAULT_CREMAD_DIR = (pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" /
                      "cremad")


def synthetic_config(quick: bool) -> cremad.CremadConfig:
  """The synthetic g16_112 config this benchmark builds (small with `quick`)."""
  shape = next(c for c in cremad.Cremad.BUILDER_CONFIGS if c.name == "synthetic_g16_112")
  if not quick:
    return shape
  return dataclasses.replace(shape, name="bench_quick_g16_112", num_actors=2,
                             clips_per_actor=6)


def _build(config, data_dir: pathlib.Path, download_dir: pathlib.Path, num_workers: int):
  builder = cremad.Cremad(config=config, data_dir=data_dir, num_workers=num_workers)
  start = time.perf_counter()
  builder.download_and_prepare(download_dir=download_dir)
  return builder, time.perf_counter() - start


def _record_stats(builder) -> tuple[int, float]:
  """(records, mean audio samples per record), read back from the built dataset."""
  data = builder.as_data_source(split="all")
  audio = [len(data[i]["audio"]) for i in range(len(data))]
  return len(audio), statistics.mean(audio)


def _shard_bytes(builder) -> int:
  return sum(f.stat().st_size
             for f in pathlib.Path(os.fspath(builder.data_path)).glob("*.array_record*"))


def _real_build(cremad_dir: pathlib.Path, shape, data_dir: pathlib.Path) -> dict:
  """Builds `shape` from the real clips in `cremad_dir` (for bytes per clip)."""
  config = dataclasses.replace(shape, name="bench_real_g16_112", synthetic=False)
  builder = cremad.Cremad(config=config, data_dir=data_dir, num_workers=0)
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=cremad_dir))
  num_clips, mean_audio = _record_stats(builder)
  return {"name": "real_clips/build", "num_clips": num_clips,
          "bytes_per_clip": round(_shard_bytes(builder) / num_clips),
          "mean_audio_seconds": round(mean_audio / cremad.SAMPLE_RATE, 2)}


def _decode_seconds(real_paths, synthetic_paths, shape) -> tuple[float, float]:
  """Median decode-and-crop seconds per clip (real, synthetic), timed alternately in this
  process so that other load on the machine affects both alike."""
  job = lambda path: (str(path), shape.num_frames, shape.size, shape.grayscale)
  cremad.decode_clip(job(real_paths[0]))  # Warm-up: lazy imports, the face cascade.
  real, synthetic = [], []
  for i in range(max(len(real_paths), len(synthetic_paths))):
    for paths, seconds in ((real_paths, real), (synthetic_paths, synthetic)):
      start = time.perf_counter()
      cremad.decode_clip(job(paths[i % len(paths)]))
      seconds.append(time.perf_counter() - start)
  return statistics.median(real), statistics.median(synthetic)


def run(quick: bool = False, cremad_dir: str | pathlib.Path | None = None,
        download_dir: str | pathlib.Path | None = None) -> list[dict]:
  """Builds with 1 and 2 workers and extrapolates to the real CREMA-D.

  Args:
    quick: 2 actors x 6 clips instead of 10 actors.
    cremad_dir: a CREMA-D root with real clips (default: the six in ../shared).
    download_dir: where the synthetic tree is generated (and kept, for other
      benchmarks: `cremad.synthetic_tree(synthetic_config(quick), download_dir)` finds
      it); default: a temporary folder, deleted afterwards.

  Returns:
    Rows: "build/workers=1" and "build/workers=2" (synthetic: clips, seconds,
    clips_per_second, bytes_per_clip; speedup), "decode_crop/real_vs_synthetic" (median
    seconds per clip in one process), "real_clips/build" (bytes_per_clip) and
    "extrapolated/cremad_g16_112" (build minutes on 2 cores and GB on disk for the 7,442
    real clips: the 2-worker rate scaled by the real/synthetic decode time); the last
    three only when real clips are found.
  """
  shape = synthetic_config(quick)
  rows = []
  with tempfile.TemporaryDirectory(prefix="bench_build_") as tmp:
    tmp = pathlib.Path(tmp)
    download_dir = pathlib.Path(download_dir or tmp / "downloads")
    start = time.perf_counter()
    tree = cremad.synthetic_tree(shape, download_dir)  # Untimed; the builds reuse it.
    generate_seconds = time.perf_counter() - start
    for num_workers in (1, 2):
      builder, seconds = _build(shape, tmp / f"data_{num_workers}", download_dir,
                                num_workers)
      num_clips, mean_audio = _record_stats(builder)
      rows.append({
          "name": f"build/workers={num_workers}",
          "config": shape.name,
          "num_clips": num_clips,
          "seconds": round(seconds, 1),
          "clips_per_second": round(num_clips / seconds, 2),
          "bytes_per_clip": round(_shard_bytes(builder) / num_clips),
          "mean_audio_seconds": round(mean_audio / cremad.SAMPLE_RATE, 2),
          "generate_tree_seconds": round(generate_seconds, 1),
      })
    rows[1]["speedup"] = round(rows[1]["clips_per_second"] / rows[0]["clips_per_second"], 2)
    cremad_dir = pathlib.Path(cremad_dir or DEFAULT_CREMAD_DIR)
    real_paths = sorted(cremad_dir.glob("VideoFlash/*.flv"))
    if not real_paths:
      return rows
    synthetic_paths = sorted(tree.glob("VideoFlash/*.flv"))[::max(1, num_clips // 12)][:12]
    real_seconds, synthetic_seconds = _decode_seconds(real_paths, synthetic_paths, shape)
    rows.append({"name": "decode_crop/real_vs_synthetic", "num_real_clips": len(real_paths),
                 "real_seconds_per_clip": round(real_seconds, 3),
                 "synthetic_seconds_per_clip": round(synthetic_seconds, 3)})
    rows.append(_real_build(cremad_dir, shape, tmp / "real"))
  build_seconds = NUM_REAL_CLIPS / rows[1]["clips_per_second"] * real_seconds / synthetic_seconds
  rows.append({"name": "extrapolated/cremad_g16_112",
               "num_clips": NUM_REAL_CLIPS, "num_workers": 2,
               "build_minutes": round(build_seconds / 60, 1),
               "gigabytes": round(NUM_REAL_CLIPS * rows[-1]["bytes_per_clip"] / 1e9, 2)})
  return rows


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="2 actors x 6 clips")
  parser.add_argument("--cremad_dir",
                      help=f"CREMA-D root with real clips (default {DEFAULT_CREMAD_DIR})")
  args = parser.parse_args(argv)
  tfds.disable_progress_bar()
  for row in run(args.quick, args.cremad_dir):
    print("  ".join(f"{key}={value}" for key, value in row.items()))
  return 0


if __name__ == "__main__":
  sys.exit(main())
