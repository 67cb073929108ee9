"""TFDS build throughput: clips/s and bytes per clip of `cremad` with 1 and 2 workers.

    python -m benchmarks.build [--quick] [--clips_dir DIR]

Generates a synthetic CREMA-D tree once (not timed), then builds the g16_112 shape from
it into a fresh data dir with 1 and with 2 decoding processes (full: the 10-actor
`synthetic_g16_112` set, 820 clips; --quick: 2 actors x 6 clips). A real clip's
decode-and-crop time (the six real clips in ../shared/data/cremad, or --clips_dir) then
calibrates an estimate of the full 7,442-clip CREMA-D build on 2 cores and its size on
disk. Full: ~6 min on 2 CPU cores; --quick: ~30 s.
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
DEFAULT_CLIPS_DIR = (pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" /
                     "cremad" / "VideoFlash")


def _config(quick: bool) -> cremad.CremadConfig:
  shape = next(c for c in cremad.Cremad.BUILDER_CONFIGS if c.name == "synthetic_g16_112")
  if not quick:
    return shape
  return dataclasses.replace(shape, name="bench_quick_g16_112", num_actors=2,
                             clips_per_actor=6)


def _dir_bytes(path: pathlib.Path) -> int:
  return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


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


def _real_clip_seconds(clips_dir: pathlib.Path, config) -> tuple[float, float, int]:
  """(median decode-and-crop seconds, mean audio samples, clips) over the real clips."""
  paths = sorted(str(p) for p in clips_dir.glob("*.flv"))
  if not paths:
    raise FileNotFoundError(f"no .flv clips in {clips_dir}; pass --clips_dir with real "
                            "CREMA-D clips (VideoFlash/)")
  job = lambda path: (path, config.num_frames, config.size, config.grayscale)
  cremad.decode_clip(job(paths[0]))  # Warm-up: lazy imports, the face cascade.
  seconds, audio = [], []
  for path in paths:
    start = time.perf_counter()
    result = cremad.decode_clip(job(path))
    seconds.append(time.perf_counter() - start)
    audio.append(len(result["audio"]))
  return statistics.median(seconds), statistics.mean(audio), len(paths)


def run(quick: bool = False, clips_dir: str | pathlib.Path | None = None) -> list[dict]:
  """Builds with 1 and 2 workers and extrapolates to the real CREMA-D.

  Returns:
    Rows: "build/workers=1" and "build/workers=2" (clips, seconds, clips_per_second,
    bytes_per_clip, speedup), "real_clip/decode_crop" (seconds_per_clip in one process)
    and "extrapolated/cremad_g16_112" (build minutes on 2 cores and GB on disk for the
    7,442 real clips; omitted without real clips).
  """
  config = _config(quick)
  rows = []
  with tempfile.TemporaryDirectory(prefix="bench_build_") as tmp:
    tmp = pathlib.Path(tmp)
    start = time.perf_counter()
    cremad.synthetic_tree(config, tmp / "downloads")  # Untimed; the builds reuse it.
    generate_seconds = time.perf_counter() - start
    for num_workers in (1, 2):
      builder, seconds = _build(config, tmp / f"data_{num_workers}", tmp / "downloads",
                                num_workers)
      num_clips, mean_audio = _record_stats(builder)
      size = _dir_bytes(pathlib.Path(os.fspath(builder.data_path)))
      rows.append({
          "name": f"build/workers={num_workers}",
          "config": config.name,
          "num_clips": num_clips,
          "seconds": round(seconds, 1),
          "clips_per_second": round(num_clips / seconds, 2),
          "bytes_per_clip": round(size / num_clips),
          "mean_audio_seconds": round(mean_audio / cremad.SAMPLE_RATE, 2),
          "generate_tree_seconds": round(generate_seconds, 1),
      })
  rows[1]["speedup"] = round(rows[1]["clips_per_second"] / rows[0]["clips_per_second"], 2)
  clips_dir = pathlib.Path(clips_dir or DEFAULT_CLIPS_DIR)
  if not list(clips_dir.glob("*.flv")):
    return rows
  real_seconds, real_audio, num_real = _real_clip_seconds(clips_dir, config)
  rows.append({"name": "real_clip/decode_crop", "num_clips": num_real,
               "seconds_per_clip": round(real_seconds, 3),
               "mean_audio_seconds": round(real_audio / cremad.SAMPLE_RATE, 2)})
  # Per-clip bytes: frames are fixed-size, audio scales with the clip's duration; the
  # rest (strings, scalars, framing) is taken from the synthetic build.
  frame_bytes = config.num_frames * config.size * config.size * config.channels
  synthetic_audio_bytes = 4 * rows[0]["mean_audio_seconds"] * cremad.SAMPLE_RATE
  other_bytes = rows[0]["bytes_per_clip"] - frame_bytes - synthetic_audio_bytes
  real_bytes_per_clip = frame_bytes + 4 * real_audio + max(other_bytes, 0)
  # Parallel efficiency on 2 workers as measured on the synthetic build.
  build_seconds = NUM_REAL_CLIPS * real_seconds / rows[1]["speedup"]
  rows.append({"name": "extrapolated/cremad_g16_112", "num_clips": NUM_REAL_CLIPS,
               "num_workers": 2, "build_minutes": round(build_seconds / 60, 1),
               "bytes_per_clip": round(real_bytes_per_clip),
               "gigabytes": round(NUM_REAL_CLIPS * real_bytes_per_clip / 1e9, 2)})
  return rows


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="2 actors x 6 clips")
  parser.add_argument("--clips_dir", help=f"real .flv clips (default {DEFAULT_CLIPS_DIR})")
  args = parser.parse_args(argv)
  tfds.disable_progress_bar()
  for row in run(args.quick, args.clips_dir):
    print("  ".join(f"{key}={value}" for key, value in row.items()))
  return 0


if __name__ == "__main__":
  sys.exit(main())
