"""Tests for emo_jax/data/verify.py: fake clones, a git clone with LFS pointers, real clips."""
import hashlib
import os
import subprocess

import numpy as np
import pytest

from emo_jax.data import verify

GOOD, STUB, TRUNCATED, ALTERED, MISSING, EMPTY, LARGER = (
    f"VideoFlash/{name}.flv" for name in (
        "1001_DFA_ANG_XX", "1001_DFA_DIS_XX", "1001_DFA_FEA_XX", "1001_DFA_HAP_XX",
        "1001_DFA_NEU_XX", "1001_DFA_SAD_XX", "1002_DFA_ANG_XX"))


def _content(seed, size=3000):
  return np.random.default_rng(seed).integers(0, 256, size, np.uint8).tobytes()


def _pointer(data):
  return (f"version https://git-lfs.github.com/spec/v1\n"
          f"oid sha256:{hashlib.sha256(data).hexdigest()}\nsize {len(data)}\n").encode()


def _write(root, relative_path, data):
  path = os.path.join(root, relative_path)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "wb") as f:
    f.write(data)


def _write_manifest(path, originals):
  with open(path, "w") as f:
    f.write("path,size,sha256\n")
    for relative_path, data in originals.items():
      f.write(f"{relative_path},{len(data)},{hashlib.sha256(data).hexdigest()}\n")


@pytest.fixture
def fake_clone(tmp_path):
  """A clone with one good file and one file per problem kind, plus its manifest."""
  root = tmp_path / "CREMA-D"
  originals = {path: _content(i) for i, path in enumerate(
      (GOOD, STUB, TRUNCATED, ALTERED, MISSING, EMPTY, LARGER))}
  _write(root, GOOD, originals[GOOD])
  _write(root, STUB, _pointer(originals[STUB]))
  _write(root, TRUNCATED, originals[TRUNCATED][:1000])
  altered = bytearray(originals[ALTERED])
  altered[100] ^= 0xFF
  _write(root, ALTERED, bytes(altered))
  _write(root, EMPTY, b"")
  _write(root, LARGER, originals[LARGER] + b"extra")
  _write(root, "AudioWAV/1001_DFA_ANG_XX.wav", b"")  # Not a checked kind by default.
  manifest = tmp_path / "manifest.csv"
  _write_manifest(manifest, originals)
  return root, manifest


def _kinds_by_path(report):
  return {p.path: p.kind for p in report.problems}


def test_every_problem_is_reported_by_name(fake_clone):
  root, manifest = fake_clone
  report = verify.verify_clone(root, manifest=manifest)
  assert _kinds_by_path(report) == {
      STUB: "lfs_stub", TRUNCATED: "truncated", ALTERED: "altered", MISSING: "missing",
      EMPTY: "empty", LARGER: "size_mismatch"}
  assert report.num_checked == 7 and report.hashes_checked
  assert report.counts == {"lfs_stub": 1, "missing": 1, "empty": 1, "truncated": 1,
                           "size_mismatch": 1, "altered": 1}
  assert not report.ok
  text = report.format()
  for path in (STUB, TRUNCATED, ALTERED, MISSING, EMPTY, LARGER):
    assert path in text
  assert GOOD not in text
  assert "git lfs pull" in text and "1,000 of 3,000 bytes" in text


def test_raise_if_problems_lists_files_and_fix(fake_clone):
  root, manifest = fake_clone
  with pytest.raises(verify.CloneVerificationError, match="git lfs pull") as error:
    verify.verify_clone(root, manifest=manifest).raise_if_problems()
  assert STUB in str(error.value) and ALTERED in str(error.value)


def test_sizes_only_misses_same_size_alterations(fake_clone):
  root, manifest = fake_clone
  report = verify.verify_clone(root, manifest=manifest, check_hashes=False)
  assert ALTERED not in _kinds_by_path(report) and TRUNCATED in _kinds_by_path(report)
  assert not report.hashes_checked and "sizes only" in report.format()


def test_clips_subset_and_only_present(fake_clone):
  root, manifest = fake_clone
  good = verify.verify_clone(root, manifest=manifest, clips=["1001_DFA_ANG_XX"])
  assert good.ok and good.num_checked == 1
  good.raise_if_problems()
  assert "OK" in good.format()
  missing = verify.verify_clone(root, manifest=manifest, clips=["1001_DFA_NEU_XX"])
  assert _kinds_by_path(missing) == {MISSING: "missing"}
  present = verify.verify_clone(root, manifest=manifest, only_present=True)
  assert MISSING not in _kinds_by_path(present) and len(present.problems) == 5
  with pytest.raises(ValueError, match="not a CREMA-D clip name"):
    verify.verify_clone(root, manifest=manifest, clips=["1001_DFA_ANGRY_XX"])


def test_audio_kind_uses_its_own_folder(fake_clone):
  root, manifest = fake_clone
  report = verify.verify_clone(root, manifest=manifest, kinds=("AudioWAV",))
  assert _kinds_by_path(report) == {"AudioWAV/1001_DFA_ANG_XX.wav": "empty"}
  with pytest.raises(ValueError, match="unknown media kind"):
    verify.verify_clone(root, manifest=manifest, kinds=("Videos",))


def test_without_expectations_only_stubs_and_empty_files_are_found(fake_clone):
  root, _ = fake_clone
  report = verify.verify_clone(root)  # Not a git clone, no manifest.
  assert _kinds_by_path(report) == {STUB: "lfs_stub", EMPTY: "empty"}
  assert report.source == "none" and not report.hashes_checked
  assert "manifest" in report.notes[0]
  assert "stub and empty-file checks only" in report.format()


def test_long_lists_are_cut_with_a_count(tmp_path):
  originals = {f"VideoFlash/1001_IEO_ANG_{i:02d}.flv": b"x" for i in range(25)}
  _write_manifest(tmp_path / "m.csv", originals)
  (tmp_path / "VideoFlash").mkdir()
  report = verify.verify_clone(tmp_path, manifest=tmp_path / "m.csv")
  assert report.counts == {"missing": 25}
  text = report.format()
  assert "and 5 more" in text and text.count("not found") == 20


def test_empty_or_absent_video_folder_is_a_problem(tmp_path):
  report = verify.verify_clone(tmp_path)
  assert _kinds_by_path(report) == {"VideoFlash/": "missing"}
  with pytest.raises(FileNotFoundError, match="git lfs clone"):
    verify.verify_clone(tmp_path / "nowhere")


def test_bad_manifest_is_named(tmp_path):
  (tmp_path / "m.csv").write_text("file,bytes\n")
  with pytest.raises(ValueError, match=r"m\.csv lacks column\(s\) path, sha256, size"):
    verify.verify_clone(tmp_path, manifest=tmp_path / "m.csv")
  with pytest.raises(FileNotFoundError, match="absent.csv"):
    verify.verify_clone(tmp_path, manifest=tmp_path / "absent.csv")


def test_parse_lfs_pointer():
  data = b"abc"
  assert verify.parse_lfs_pointer(_pointer(data)) == verify.Expected(
      3, hashlib.sha256(data).hexdigest())
  assert verify.parse_lfs_pointer(b"FLV\x01") is None


def _git(root, *args):
  subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.com",
                  "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false",
                  "-C", str(root), *args], check=True, capture_output=True)


def test_git_lfs_pointers_from_history(tmp_path, monkeypatch):
  root = tmp_path / "clone"
  originals = {path: _content(i) for i, path in enumerate((GOOD, STUB, TRUNCATED, ALTERED))}
  for path, data in originals.items():
    _write(root, path, _pointer(data))  # What a Git LFS clone commits.
  _write(root, "README.md", b"not media\n")
  _git(root, "init", "-q")
  _git(root, "add", ".")
  _git(root, "commit", "-q", "-m", "pointers")
  # The work tree as after a partial `git lfs pull`.
  _write(root, GOOD, originals[GOOD])
  _write(root, TRUNCATED, originals[TRUNCATED][:10])
  _write(root, ALTERED, originals[ALTERED][::-1])
  calls = []
  real_run = subprocess.run
  monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a) or real_run(*a, **k))

  report = verify.verify_clone(root)
  assert report.source == "git LFS pointers at HEAD" and report.hashes_checked
  assert report.num_checked == 4
  assert _kinds_by_path(report) == {STUB: "lfs_stub", TRUNCATED: "truncated",
                                    ALTERED: "altered"}
  assert len(calls) == 2  # One ls-tree and one cat-file --batch, not one per file.
  assert verify.read_lfs_pointers(root)[GOOD] == verify.Expected(
      3000, hashlib.sha256(originals[GOOD]).hexdigest())


def test_real_clips_match_the_real_manifest(cremad_shared_dir):
  manifest = cremad_shared_dir / "media_manifest.csv"
  expected = verify.read_manifest(manifest)
  assert len(expected) == 2 * 7442
  angry = expected["VideoFlash/1001_DFA_ANG_XX.flv"].sha256
  assert angry.startswith("10dc3fd1") and angry.endswith("d2f4")
  report = verify.verify_clone(cremad_shared_dir, manifest=manifest, only_present=True)
  assert report.ok and report.num_checked == 6 and report.hashes_checked, report.format()
  names = [f"1001_DFA_{e}_XX" for e in ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")]
  assert verify.verify_clone(cremad_shared_dir, manifest=manifest, clips=names).ok
  # The full check reports the 7,436 videos this partial copy lacks.
  full = verify.verify_clone(cremad_shared_dir, manifest=manifest, check_hashes=False)
  assert full.counts == {"missing": 7436}
