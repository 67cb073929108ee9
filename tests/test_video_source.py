"""Frame sources on small files the tests write: formats, rotation, images, pacing, bad input."""
import time

import cv2
import numpy as np
import pytest

from emo_jax.video import source
from emo_jax.video import synthetic

FPS = 25.0


def _frames(num_frames=10, width=64, height=48):
  """Frames whose index survives lossy coding: brightness 10 + 20 * index (for < 12 frames)."""
  frames = np.zeros((num_frames, height, width, 3), np.uint8)
  for i in range(num_frames):
    frames[i] = 10 + (20 * i) % 240
  return frames


def _brightness_index(frame):
  return int(round((frame.mean() - 10) / 20))


@pytest.mark.parametrize("extension", [".mp4", ".mov", ".webm", ".avi", ".mkv", ".flv"])
def test_every_container_decodes_all_frames_in_order_with_times(tmp_path, extension):
  path = synthetic.write_video(tmp_path / f"clip{extension}", _frames(), FPS)
  with source.open_source(path) as frames:
    assert frames.info.kind == "file" and frames.info.fps == pytest.approx(FPS)
    got = list(frames)
  assert [f.index for f in got] == list(range(10))
  assert [_brightness_index(f.image) for f in got] == list(range(10))
  np.testing.assert_allclose([f.time for f in got], np.arange(10) / FPS, atol=1e-3)
  assert got[0].image.shape == (48, 64, 3) and got[0].image.dtype == np.uint8


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotation_metadata_gives_upright_frames(tmp_path, rotation):
  upright = np.zeros((4, 64, 48, 3), np.uint8)  # portrait: taller than wide
  upright[:, :16, :16] = 255  # a white corner at the top left
  stored = synthetic.rotate_for_storage(upright, rotation)
  path = synthetic.write_video(tmp_path / "phone.mp4", stored, FPS, rotation=rotation)
  got = [f.image for f in source.open_source(path)]
  assert got[0].shape == (64, 48, 3)
  assert got[0][:16, :16].mean() > 200 and got[0][-16:, -16:].mean() < 50


def test_image_folder_in_natural_order_with_a_size_change(tmp_path):
  for i in (1, 2, 10):
    size = (64, 48) if i < 10 else (80, 60)
    cv2.imwrite(str(tmp_path / f"frame{i}.png"), np.full((size[1], size[0], 3), 20 * i, np.uint8))
  (tmp_path / "notes.txt").write_text("not an image")
  got = list(source.open_source(str(tmp_path)))
  assert [f.image[0, 0, 0] for f in got] == [20, 40, 200]
  assert [f.image.shape for f in got] == [(48, 64, 3), (48, 64, 3), (60, 80, 3)]
  assert [f.time for f in got] == [0.0, 1 / 25, 2 / 25]
  assert len(list(source.open_source(str(tmp_path / "frame1*.png")))) == 2  # a glob


def test_realtime_drops_frames_when_the_consumer_falls_behind(tmp_path):
  path = synthetic.write_video(tmp_path / "clip.mp4", _frames(25), FPS)
  with source.open_source(path, realtime=True) as frames:
    start = time.monotonic()
    got = []
    for frame in frames:
      got.append(frame.index)
      time.sleep(0.1)  # 10 frames/s of "inference" for 25 frames/s of video
    elapsed = time.monotonic() - start
    dropped = frames.num_dropped
  assert 0.9 < elapsed < 2.0  # paced at the video's rate, not decoded as fast as possible
  assert dropped > 5 and len(got) + dropped == 25
  assert got == sorted(got) and got[-1] == 24  # always the newest frame, and the last one


def test_file_source_is_bounded_and_not_lossy(tmp_path):
  path = synthetic.write_video(tmp_path / "clip.mp4", _frames(30), FPS)
  with source.open_source(path, queue_size=2) as frames:
    iterator = iter(frames)
    next(iterator)
    time.sleep(0.3)  # the reader would decode all 30 frames in this time if unbounded
    assert len(frames._queue) <= 2  # pylint: disable=protected-access
    assert len(list(iterator)) == 29 and frames.num_dropped == 0


def test_truncated_file_yields_frames_up_to_the_damage_then_names_file_and_frame(tmp_path):
  path = synthetic.write_video(tmp_path / "clip.mkv", _frames(50), FPS)
  data = path and open(path, "rb").read()
  truncated = tmp_path / "truncated.mkv"
  truncated.write_bytes(data[:len(data) // 2])
  got = []
  with pytest.raises(source.SourceError, match=r"truncated\.mkv.*(truncated|corrupt).*frame"):
    for frame in source.open_source(truncated):
      got.append(frame.index)
  assert 5 < len(got) < 50 and got == list(range(len(got)))


@pytest.mark.parametrize("content,match", [(b"", "empty"), (b"hello, not a video" * 10,
                                                           "cannot open it as a video")])
def test_zero_byte_and_non_video_files_fail_clearly(tmp_path, content, match):
  path = tmp_path / "bad.mp4"
  path.write_bytes(content)
  with pytest.raises(source.SourceError, match=match) as error:
    source.open_source(path)
  assert "bad.mp4" in str(error.value)


def test_missing_camera_and_missing_file_fail_clearly(tmp_path):
  with pytest.raises(source.SourceError, match="camera 37 cannot be opened"):
    source.open_source(37)
  with pytest.raises(source.SourceError, match="not found"):
    source.open_source(tmp_path / "nothing.mp4")
  with pytest.raises(source.SourceError, match="no images"):
    source.open_source(str(tmp_path))


def test_a_url_opens_through_pyav(tmp_path):
  path = synthetic.write_video(tmp_path / "clip.mp4", _frames(), FPS)
  with source.open_source(f"file://{path}") as frames:
    assert frames.info.kind == "file" and not frames.live
    assert [_brightness_index(f.image) for f in frames] == list(range(10))
