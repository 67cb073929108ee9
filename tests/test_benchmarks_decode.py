"""Tests for benchmarks/decode.py on one real clip."""
import os

import numpy as np

from benchmarks import decode as decode_benchmark
from emo_jax.data import decode


def test_opencv_seek_reads_the_same_frames(cremad_shared_dir):
  path = str(cremad_shared_dir / "VideoFlash" / "1001_DFA_HAP_XX.flv")
  by_seek = decode_benchmark.read_frames_opencv_seek(path, 4)
  by_pyav = decode.read_frames(path, 4, backend="pyav")
  assert by_seek.shape == by_pyav.shape == (4, 360, 480, 3)
  assert np.abs(by_seek.astype(np.int16) - by_pyav).mean() < 1.0


def test_run_quick(cremad_shared_dir, tmp_path):
  os.symlink(cremad_shared_dir / "VideoFlash" / "1001_DFA_HAP_XX.flv",
             tmp_path / "1001_DFA_HAP_XX.flv")
  rows = decode_benchmark.run(quick=True, clips_dir=tmp_path)
  assert [row["name"] for row in rows] == [
      "decode_crop/decord", "decode_crop/pyav", "decode_crop/opencv_seek"]
  for row in rows:
    assert row["num_clips"] == 1 and row["clips_per_second"] > 0
    assert row["decode_clips_per_second"] >= row["clips_per_second"]
  assert rows[1]["mean_abs_diff_vs_pyav"] == 0.0


def test_main_without_clips(tmp_path, capsys):
  assert decode_benchmark.main(["--clips_dir", str(tmp_path)]) == 1
  assert "no .flv clips" in capsys.readouterr().err
