"""Tests for the emo_jax.data.inspect_tree CLI on a small tree of links to the real clips."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from emo_jax.data import inspect_tree

EMOTIONS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
ACTORS = (1001, 1002, 1003, 1004, 1005)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def fake_tree(cremad_shared_dir, tmp_path_factory):
  """5 actors x 6 emotions linking to the real clips, plus extras and broken files.

  Actor 1001 also has IEO at levels LO and HI (ANG); actor 1006 has an empty ANG clip
  and a Git LFS stub DIS clip; 1076_MTI_NEU_XX is a known-broken clip.
  """
  root = tmp_path_factory.mktemp("cremad_like")
  video_dir = root / "VideoFlash"
  video_dir.mkdir()
  real = {e: cremad_shared_dir / "VideoFlash" / f"1001_DFA_{e}_XX.flv" for e in EMOTIONS}
  for actor in ACTORS:
    for emotion in EMOTIONS:
      os.symlink(real[emotion], video_dir / f"{actor}_DFA_{emotion}_XX.flv")
  os.symlink(real["ANG"], video_dir / "1001_IEO_ANG_LO.flv")
  os.symlink(real["ANG"], video_dir / "1001_IEO_ANG_HI.flv")
  os.symlink(real["NEU"], video_dir / "1076_MTI_NEU_XX.flv")
  (video_dir / "1006_DFA_ANG_XX.flv").write_bytes(b"")
  (video_dir / "1006_DFA_DIS_XX.flv").write_text(
      "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 265922\n")
  return root


def test_summarize_counts(fake_tree):
  summary = inspect_tree.summarize(fake_tree, split="holdout")
  assert summary["num_clips"] == 5 * 6 + 2 + 2
  assert summary["num_actors"] == 6
  assert summary["known_broken"] == ["1076_MTI_NEU_XX"]
  assert summary["by_emotion"] == {"ANG": 8, "DIS": 6, "FEA": 5, "HAP": 5, "NEU": 5,
                                   "SAD": 5}
  assert summary["by_level"] == {"LO": 1, "HI": 1, "XX": 32}
  assert summary["by_sentence"] == {"IEO": 2, "DFA": 32}
  assert summary["by_actor"] == {"1001": 8, "1002": 6, "1003": 6, "1004": 6, "1005": 6,
                                 "1006": 2}
  split = summary["split"]
  assert sum(split["clips"].values()) == summary["num_clips"]
  assert sorted(a for ids in split["actors"].values() for a in ids) == [*ACTORS, 1006]
  assert all(split["clips"][part] > 0 for part in ("train", "val", "test"))
  problems = {(p["path"], p["kind"]) for p in summary["verify"]["problems"]}
  assert problems == {("VideoFlash/1006_DFA_ANG_XX.flv", "empty"),
                      ("VideoFlash/1006_DFA_DIS_XX.flv", "lfs_stub")}


def test_split_error_is_reported_not_raised(fake_tree):
  # Actors 1001 and 1002 alone cannot fill hicmae5's five folds.
  clips = [c for c in inspect_tree.cremad.list_clips(fake_tree) if c.actor <= 1002]
  split = inspect_tree._split_counts("hicmae5:fold=1", clips)  # pylint: disable=protected-access
  assert split["spec"] == "hicmae5:fold=1" and "5 actors" in split["error"]
  assert "unavailable" in inspect_tree.format_summary(
      {**inspect_tree.summarize(fake_tree, split=None), "split": split})


def test_cli_json_and_contact_sheet(fake_tree, tmp_path, capsys):
  sheet = tmp_path / "sheets" / "contact.png"
  code = inspect_tree.main([str(fake_tree), "--json", "--split", "holdout", "--contact_sheet",
                           str(sheet), "--num_frames", "2", "--per_emotion", "6"])
  assert code == 0
  summary = json.loads(capsys.readouterr().out)
  assert summary["num_clips"] == 34
  assert summary["contact_sheet"] == str(sheet)
  assert sheet.read_bytes()[:8] == PNG_MAGIC
  image = cv2.imread(str(sheet))
  tile = 112 + inspect_tree._TILE_LABEL_HEIGHT  # pylint: disable=protected-access
  label_width = inspect_tree._ROW_LABEL_WIDTH  # pylint: disable=protected-access
  assert image.shape == (6 * tile, label_width + 6 * 112, 3)
  # Row ANG: actors 1001-1005 decode to faces; 1006's empty file is a dark error tile.
  assert image[:112, label_width:label_width + 112].std() > 10
  np.testing.assert_array_equal(image[:112, label_width + 5 * 112:], 40)
  # Row FEA has only 5 clips: the last tile is blank.
  np.testing.assert_array_equal(image[2 * tile:3 * tile, label_width + 5 * 112:], 255)


def test_cli_text(fake_tree, capsys):
  assert inspect_tree.main([str(fake_tree), "--split", "hicmae5:fold=1"]) == 0
  out = capsys.readouterr().out
  assert "34 clips, 6 actors" in out
  assert "by emotion: ANG 8, DIS 6" in out
  assert "split hicmae5:fold=1:" in out
  assert "1006_DFA_DIS_XX.flv" in out and "git lfs pull" in out


def test_cli_bad_split(fake_tree, capsys):
  assert inspect_tree.main([str(fake_tree), "--split", "kfold"]) == 1
  assert "unknown split 'kfold'" in capsys.readouterr().err


def test_cli_bad_sheet_path(fake_tree, tmp_path, capsys):
  assert inspect_tree.main([str(fake_tree), "--contact_sheet", str(tmp_path / "a.jpg")]) == 1
  assert ".png" in capsys.readouterr().err


@pytest.mark.parametrize("make_empty", [False, True])
def test_missing_or_empty_dir_exits_cleanly(tmp_path, make_empty):
  root = tmp_path / "no_such_clone"
  if make_empty:
    root.mkdir()
  result = subprocess.run([sys.executable, "-m", "emo_jax.data.inspect_tree", str(root)],
                          capture_output=True, text=True, cwd=REPO_ROOT, check=False)
  assert result.returncode == 1
  assert "Traceback" not in result.stderr
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: ") and str(root) in lines[0]


def _synthetic_flv(path):
  from emo_jax.data import cremad
  from emo_jax.data import synthetic
  plan = synthetic.make_clip_plan(0, cremad.ClipName(1001, "DFA", "ANG", "XX"))
  synthetic.write_flv(path, synthetic.render_frames(0, plan, (160, 120), yuv=True),
                      synthetic.synthesize_speech(0, plan, 16000), (160, 120))


@pytest.mark.parametrize("source", ["synthetic", "real"])
def test_truncated_and_corrupt_videos_are_listed_without_a_manifest(source, tmp_path, capsys,
                                                                     request):
  """No manifest and no .git: only the decode probe can tell these files are broken."""
  root = tmp_path / "copy_without_git"
  video_dir = root / "VideoFlash"
  video_dir.mkdir(parents=True)
  good = video_dir / "1001_DFA_ANG_XX.flv"
  if source == "real":
    shared = request.getfixturevalue("cremad_shared_dir")
    good.write_bytes((shared / "VideoFlash" / "1001_DFA_ANG_XX.flv").read_bytes())
  else:
    _synthetic_flv(good)
  (video_dir / "1001_DFA_HAP_XX.flv").write_bytes(good.read_bytes()[:5000])
  (video_dir / "1001_DFA_SAD_XX.flv").write_bytes(
      np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes())
  assert not (root / ".git").exists() and not list(root.parent.glob(".git"))

  summary = inspect_tree.summarize(root, split=None)
  assert summary["verify"]["source"] == "none" and not summary["verify"]["problems"]
  probe = summary["decode_probe"]
  assert probe["num_checked"] == 3
  listed = {problem["path"]: problem["detail"] for problem in probe["problems"]}
  assert set(listed) == {"VideoFlash/1001_DFA_HAP_XX.flv", "VideoFlash/1001_DFA_SAD_XX.flv"}
  assert all("re-download" in detail for detail in listed.values())

  assert inspect_tree.main([str(root), "--split", "holdout"]) == 0
  out = capsys.readouterr().out
  assert "Decode probe of 3 videos" in out and "2 truncated or corrupt" in out
  assert "1001_DFA_HAP_XX.flv" in out and "1001_DFA_SAD_XX.flv" in out
  assert "1001_DFA_ANG_XX.flv" not in out
  assert "decode_probe" not in inspect_tree.summarize(root, split=None, probe=False)
