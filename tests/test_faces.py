"""Tests for emo_jax.data.faces and emo_jax.data.preprocess.load_clip."""
import numpy as np
import pytest

from emo_jax.data import decode
from emo_jax.data import faces
from emo_jax.data import preprocess

EMOTIONS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
HEIGHT, WIDTH = 360, 480


@pytest.fixture(scope="module")
def clip_paths(cremad_shared_dir):
  return [cremad_shared_dir / "VideoFlash" / f"1001_DFA_{e}_XX.flv" for e in EMOTIONS]


@pytest.fixture(scope="module")
def real_frames(clip_paths):
  return [decode.read_frames(p, 16) for p in clip_paths]


def test_faces_found_in_upper_middle(real_frames):
  for frames in real_frames:
    boxes = faces.detect_faces(frames)
    assert len(boxes) == 16
    assert sum(b is not None for b in boxes) / len(boxes) >= 0.9
    box = faces.face_crop_box(boxes, HEIGHT, WIDTH, margin=0.25)
    assert box.width == box.height  # Square.
    assert 0 <= box.x and box.x + box.width <= WIDTH
    assert 0 <= box.y and box.y + box.height <= HEIGHT
    centre_x = box.x + box.width / 2
    centre_y = box.y + box.height / 2
    assert 0.35 * WIDTH < centre_x < 0.65 * WIDTH  # Middle.
    assert centre_y < 0.5 * HEIGHT  # Upper half.
    assert 0.25 * HEIGHT < box.height < 0.8 * HEIGHT  # A face with margin, not the frame.


def test_margin_grows_the_box(real_frames):
  boxes = faces.detect_faces(real_frames[0])
  tight = faces.face_crop_box(boxes, HEIGHT, WIDTH, margin=0.0)
  loose = faces.face_crop_box(boxes, HEIGHT, WIDTH, margin=0.3)
  assert loose.width == pytest.approx(1.6 * tight.width, abs=2)


@pytest.mark.parametrize("grayscale,channels", [(True, 1), (False, 3)])
def test_crop_faces_shapes(real_frames, grayscale, channels):
  crops, ratio = faces.crop_faces(real_frames[0][:4], 64, grayscale=grayscale)
  assert crops.shape == (4, 64, 64, channels) and crops.dtype == np.uint8
  assert ratio == 1.0
  assert crops.std() > 10


def test_no_face_uses_fallback_crop():
  rng = np.random.default_rng(0)
  noise = rng.integers(0, 256, size=(3, HEIGHT, WIDTH, 3), dtype=np.uint8)
  uniform = np.full((3, HEIGHT, WIDTH, 3), 90, np.uint8)
  for frames in (noise, uniform):
    assert faces.detect_faces(frames) == [None, None, None]
    crops, ratio, box = faces.crop_faces_with_box(frames, 32, grayscale=False)
    assert ratio == 0.0
    assert crops.shape == (3, 32, 32, 3)
    assert box == faces.fallback_crop_box(HEIGHT, WIDTH)
  box = faces.fallback_crop_box(HEIGHT, WIDTH)
  assert box.width == box.height == round(0.55 * HEIGHT)
  assert box.x + box.width / 2 == pytest.approx(WIDTH / 2, abs=1)
  assert box.y + box.height / 2 < HEIGHT / 2


def test_crop_box_stays_inside_frame():
  # A face in the top-left corner: the square is shifted in, not padded.
  box = faces.face_crop_box([faces.Box(0, 0, 50, 50)], 100, 200, margin=0.5)
  assert box == faces.Box(0, 0, 100, 100)
  # Larger than the frame: capped at the shorter side.
  box = faces.face_crop_box([faces.Box(10, 10, 90, 90)], 100, 200, margin=0.5)
  assert box.height == 100 and box.y == 0


def test_crop_box_ignores_outliers():
  good = faces.Box(100, 50, 60, 60)
  boxes = [good, good, None, faces.Box(0, 0, 10, 10), good]
  box = faces.face_crop_box(boxes, 360, 480, margin=0.0)
  assert box == good


def test_crop_frames_values():
  frames = np.zeros((1, 20, 30, 3), np.uint8)
  frames[0, 5:15, 10:20] = (255, 0, 0)
  crops = faces.crop_frames(frames, faces.Box(10, 5, 10, 10), 5, grayscale=False)
  assert crops.shape == (1, 5, 5, 3)
  assert np.all(crops[..., 0] == 255) and np.all(crops[..., 1:] == 0)


def test_bad_frames_raise():
  with pytest.raises(ValueError, match="RGB"):
    faces.crop_faces(np.zeros((2, 10, 10), np.uint8), 8)
  with pytest.raises(ValueError, match="uint8"):
    faces.crop_faces(np.zeros((2, 10, 10, 3), np.float32), 8)


def test_load_clip(clip_paths):
  clip = preprocess.load_clip(clip_paths[3], num_frames=8, size=48)
  assert clip.frames.shape == (8, 48, 48, 1) and clip.frames.dtype == np.uint8
  assert clip.audio.dtype == np.float32 and clip.audio.size > 16000
  assert clip.face_found_ratio >= 0.9
  assert clip.num_source_frames == 56
  assert clip.face_box.width == clip.face_box.height
  rgb = preprocess.load_clip(clip_paths[3], num_frames=2, size=32, grayscale=False,
                             backend="pyav", with_audio=False)
  assert rgb.frames.shape == (2, 32, 32, 3) and rgb.audio is None


def test_load_clip_bad_file(tmp_path):
  path = tmp_path / "1001_DFA_ANG_XX.flv"
  path.write_bytes(b"")
  with pytest.raises(decode.DecodeError, match="1001_DFA_ANG_XX.flv"):
    preprocess.load_clip(path)
