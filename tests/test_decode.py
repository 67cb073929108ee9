"""Tests for emo_jax.data.decode on the six real CREMA-D clips and on broken files."""
import os
import subprocess
import sys

import av
import numpy as np
import pytest

from emo_jax.data import decode

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

EMOTIONS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")


@pytest.fixture(scope="module")
def clip_paths(cremad_shared_dir):
  paths = [cremad_shared_dir / "VideoFlash" / f"1001_DFA_{e}_XX.flv" for e in EMOTIONS]
  missing = [p for p in paths if not p.exists()]
  if missing:
    pytest.skip(f"real clips missing: {missing}")
  return paths


@pytest.fixture(scope="module")
def decoded(clip_paths):
  """Both backends' 16-frame decodes of every real clip, decoded once per module."""
  return {backend: [decode.decode_video(p, 16, backend) for p in clip_paths]
          for backend in ("decord", "pyav")}


@pytest.mark.parametrize("backend", ["decord", "pyav"])
def test_real_clips_decode(decoded, backend):
  for video in decoded[backend]:
    assert video.backend == backend
    assert video.frames.shape == (16, 360, 480, 3)
    assert video.frames.dtype == np.uint8
    assert video.frames.std() > 10  # Real picture, not a constant fill.
    assert 56 <= video.num_source_frames <= 70
    assert video.fps == pytest.approx(29.97, abs=0.01)
    np.testing.assert_array_equal(
        video.indices, decode.sample_frame_indices(video.num_source_frames, 16))


def test_backends_agree(decoded):
  for by_decord, by_pyav in zip(decoded["decord"], decoded["pyav"]):
    assert by_decord.num_source_frames == by_pyav.num_source_frames
    diff = np.abs(by_decord.frames.astype(np.int16) - by_pyav.frames.astype(np.int16))
    # Measured ~0.1 grey levels: the same frames, YUV->RGB rounding differs slightly.
    assert diff.mean() < 1.0
    # A neighbouring frame differs far more, so the agreement is not trivial.
    shifted = np.abs(by_decord.frames[1:].astype(np.int16) - by_pyav.frames[:-1])
    assert shifted.mean() > 2 * diff.mean()


def test_read_frames_returns_frames(clip_paths):
  frames = decode.read_frames(clip_paths[0], 4)
  assert frames.shape == (4, 360, 480, 3) and frames.dtype == np.uint8


def test_read_audio(clip_paths, decoded):
  for path, video in zip(clip_paths, decoded["pyav"]):
    audio = decode.read_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    video_seconds = video.num_source_frames / 29.97
    assert audio.size / 16000 == pytest.approx(video_seconds, abs=0.15)
    assert np.abs(audio).max() <= 1.0
    assert np.sqrt(np.mean(audio**2)) > 0.005  # Speech, not silence.


def test_read_audio_wav(tmp_path, clip_paths):
  audio = decode.read_audio(clip_paths[0], sample_rate=8000)
  wav = tmp_path / "speech.wav"
  with av.open(str(wav), "w") as container:
    stream = container.add_stream("pcm_s16le", rate=8000, layout="mono")
    frame = av.AudioFrame.from_ndarray((audio[None] * 32767).astype(np.int16), format="s16",
                                       layout="mono")
    frame.sample_rate = 8000
    for packet in stream.encode(frame):
      container.mux(packet)
    for packet in stream.encode(None):
      container.mux(packet)
  again = decode.read_audio(wav, sample_rate=16000)
  assert again.size == pytest.approx(2 * audio.size, abs=64)


@pytest.mark.parametrize("num_available,num_frames", [(67, 16), (16, 16), (5, 16), (1, 3),
                                                      (100, 1)])
def test_sample_frame_indices(num_available, num_frames):
  indices = decode.sample_frame_indices(num_available, num_frames)
  assert indices.shape == (num_frames,) and indices.dtype == np.int64
  assert indices.min() >= 0 and indices.max() < num_available
  assert np.all(np.diff(indices) >= 0)
  if num_available >= num_frames:
    assert len(set(indices.tolist())) == num_frames  # No repeats when there is enough.
  else:
    assert set(indices.tolist()) == set(range(num_available))  # Every frame used.


def test_sample_frame_indices_values():
  np.testing.assert_array_equal(decode.sample_frame_indices(8, 4), [1, 3, 5, 7])
  np.testing.assert_array_equal(decode.sample_frame_indices(3, 6), [0, 0, 1, 1, 2, 2])
  np.testing.assert_array_equal(decode.sample_frame_indices(10, 1), [5])
  with pytest.raises(ValueError):
    decode.sample_frame_indices(0, 4)


def _truncated(tmp_path, clip_path):
  data = clip_path.read_bytes()
  path = tmp_path / "1001_DFA_ANG_XX.flv"
  path.write_bytes(data[:len(data) // 5])
  return path


def _bad_file(kind, tmp_path, clip_path):
  path = tmp_path / f"{kind}.flv"
  if kind == "missing":
    return path
  if kind == "empty":
    path.write_bytes(b"")
  elif kind == "lfs_stub":
    path.write_text("version https://git-lfs.github.com/spec/v1\n"
                    "oid sha256:0123456789abcdef\nsize 265922\n")
  elif kind == "random":
    path.write_bytes(np.random.default_rng(0).bytes(50_000))
  elif kind == "truncated":
    return _truncated(tmp_path, clip_path)
  return path


@pytest.mark.parametrize("backend", ["auto", "decord", "pyav"])
@pytest.mark.parametrize("kind,expected", [
    ("missing", "not found"),
    ("empty", "empty"),
    ("lfs_stub", "git lfs pull"),
    ("random", "re-download"),
    ("truncated", "truncated"),
])
def test_bad_video_raises(tmp_path, clip_paths, backend, kind, expected):
  path = _bad_file(kind, tmp_path, clip_paths[0])
  with pytest.raises(decode.DecodeError) as error:
    decode.read_frames(path, 16, backend=backend)
  assert str(path) in str(error.value)
  assert expected in str(error.value)


@pytest.mark.parametrize("kind", ["missing", "empty", "lfs_stub", "random", "truncated"])
def test_bad_audio_raises(tmp_path, clip_paths, kind):
  path = _bad_file(kind, tmp_path, clip_paths[0])
  with pytest.raises(decode.DecodeError, match="re-download|not found|git lfs pull") as error:
    decode.read_audio(path)
  assert str(path) in str(error.value)


def test_no_video_stream(tmp_path, clip_paths):
  # The first 2 kB of a real clip hold the FLV header but no video packet.
  path = tmp_path / "header_only.flv"
  path.write_bytes(clip_paths[0].read_bytes()[:2000])
  with pytest.raises(decode.DecodeError, match="no video stream") as error:
    decode.read_frames(path, 16)
  assert str(path) in str(error.value)


def test_auto_falls_back_to_pyav(monkeypatch, clip_paths, decoded):
  def broken_reader(*args, **kwargs):
    raise RuntimeError("decord cannot open this")
  monkeypatch.setattr(decode.decord, "VideoReader", broken_reader)
  with pytest.raises(decode.DecodeError, match="decord cannot open this"):
    decode.decode_video(clip_paths[0], 16, backend="decord")
  video = decode.decode_video(clip_paths[0], 16, backend="auto")
  assert video.backend == "pyav"
  np.testing.assert_array_equal(video.frames, decoded["pyav"][0].frames)


def test_auto_uses_pyav_without_decord(monkeypatch, clip_paths):
  monkeypatch.setattr(decode, "decord", None)
  assert decode.decode_video(clip_paths[0], 2).backend == "pyav"


def test_unknown_backend(clip_paths):
  with pytest.raises(ValueError, match="backend"):
    decode.read_frames(clip_paths[0], 16, backend="opencv")


def test_png_decoding_survives_importing_decode(tmp_path):
  # decord's bundled libz breaks cv2's PNG reader when decord is imported before cv2.
  code = ("from emo_jax.data import decode\nimport cv2, numpy as np, sys\n"
          "image = np.arange(60 * 50 * 3, dtype=np.uint8).reshape(60, 50, 3)\n"
          f"cv2.imwrite({str(tmp_path / 'x.png')!r}, image)\n"
          f"sys.exit(0 if (cv2.imread({str(tmp_path / 'x.png')!r}) == image).all() else 1)\n")
  result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, check=False)
  assert result.returncode == 0, result.stderr
