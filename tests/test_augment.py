"""Tests for emo_jax/data/augment.py."""
import numpy as np
import pytest

from emo_jax import config_checks
from emo_jax.data import augment

SHAPE = (8, 24, 20, 1)


def _clip(shape=SHAPE, seed=0):
  return np.random.default_rng(seed).integers(30, 220, shape, dtype=np.uint8)


def _gradient_clip(num_frames=6, height=16, width=16):
  """Frame t is filled with the value 10 * t, so frame order is easy to read back."""
  values = (10 * np.arange(num_frames, dtype=np.uint8))[:, None, None, None]
  return np.broadcast_to(values, (num_frames, height, width, 1)).copy()


RANDOM_FUNCTIONS = {
    "crop": lambda f, rng: augment.random_resized_crop(f, rng, min_area=0.5),
    "flip": lambda f, rng: augment.random_horizontal_flip(f, rng, 0.5),
    "brightness_contrast": lambda f, rng: augment.brightness_contrast(f, rng, 0.3, 0.3),
    "temporal": lambda f, rng: augment.temporal_jitter(f, rng, 0.5),
    "dropout": lambda f, rng: augment.frame_dropout(f, rng, 0.4),
    "noise": lambda f, rng: augment.gaussian_noise(f, rng, 0.1),
    "rotation": lambda f, rng: augment.random_rotation(f, rng, 15.0),
    "erasing": lambda f, rng: augment.random_erasing(f, rng),
    "all": lambda f, rng: augment.augment_clip(f, rng, {
        "crop_probability": 1.0, "flip_probability": 0.5, "brightness": 0.2,
        "contrast": 0.2, "temporal_min_fraction": 0.7, "frame_dropout_rate": 0.2,
        "noise_stddev": 0.02, "rotation_degrees": 10.0, "erase_probability": 0.5}),
}


@pytest.mark.parametrize("name", sorted(RANDOM_FUNCTIONS))
@pytest.mark.parametrize("shape", [SHAPE, (1, 48, 48, 1), (4, 16, 16, 3)])
def test_shape_dtype_kept_and_deterministic(name, shape):
  function = RANDOM_FUNCTIONS[name]
  frames = _clip(shape)
  original = frames.copy()
  first = function(frames, np.random.default_rng(7))
  second = function(frames, np.random.default_rng(7))
  assert first.shape == shape and first.dtype == np.uint8
  np.testing.assert_array_equal(first, second)
  np.testing.assert_array_equal(frames, original)  # input untouched


@pytest.mark.parametrize("name", ["crop", "brightness_contrast", "noise", "rotation", "erasing",
                                  "all"])
def test_different_seeds_differ(name):
  frames = _clip()
  outputs = [RANDOM_FUNCTIONS[name](frames, np.random.default_rng(seed)) for seed in range(4)]
  assert any(not np.array_equal(outputs[0], other) for other in outputs[1:])


def test_identity_at_zero_strength():
  frames = _clip()
  rng = np.random.default_rng(0)
  np.testing.assert_array_equal(augment.random_resized_crop(frames, rng, min_area=1.0,
                                                            aspect_ratio=(1.0, 1.0)), frames)
  np.testing.assert_array_equal(augment.brightness_contrast(frames, rng, 0.0, 0.0), frames)
  np.testing.assert_array_equal(augment.temporal_jitter(frames, rng, 1.0), frames)
  np.testing.assert_array_equal(augment.gaussian_noise(frames, rng, 0.0), frames)
  np.testing.assert_array_equal(augment.random_horizontal_flip(frames, rng, 0.0), frames)
  np.testing.assert_array_equal(augment.frame_dropout(frames, rng, 0.0), frames)
  np.testing.assert_array_equal(augment.augment_clip(frames, rng, {}), frames)
  np.testing.assert_array_equal(augment.augment_clip(frames, rng, None), frames)
  np.testing.assert_array_equal(augment.random_rotation(frames, rng, 0.0), frames)


def test_rotation_turns_every_frame_by_the_same_angle():
  frames = np.zeros((3, 41, 41, 1), np.uint8)
  frames[:, 20, 25:] = 255  # A bar pointing right from the centre.
  rotated = augment.random_rotation(frames, np.random.default_rng(0), 30.0)
  for frame in rotated[1:]:
    np.testing.assert_array_equal(frame, rotated[0])
  assert rotated[0, 20, 36] < 255 or not np.array_equal(rotated[0], frames[0])


def test_erasing_replaces_one_rectangle_in_every_frame():
  frames = np.full((4, 40, 40, 1), 128, np.uint8)
  erased = augment.random_erasing(frames, np.random.default_rng(5), area=(0.1, 0.1))
  changed = np.any(erased != frames, axis=(0, 3))
  rows, cols = np.nonzero(changed)
  box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
  assert 0.05 * 1600 <= box <= 0.15 * 1600  # About the asked 10% (noise may equal 128).
  for frame in erased[1:]:
    np.testing.assert_array_equal(frame != 128, erased[0] != 128)


def test_flip():
  frames = _clip()
  np.testing.assert_array_equal(augment.horizontal_flip(frames), frames[:, :, ::-1])
  np.testing.assert_array_equal(
      augment.random_horizontal_flip(frames, np.random.default_rng(0), 1.0), frames[:, :, ::-1])


def test_brightness_shifts_mean_and_contrast_keeps_it():
  frames = np.full((2, 8, 8, 1), 100, np.uint8)
  frames[:, :, :4] = 140
  brighter = [augment.brightness_contrast(frames, np.random.default_rng(s), 0.2, 0.0)
              for s in range(20)]
  shifts = np.array([b.astype(float).mean() - frames.mean() for b in brighter])
  assert np.abs(shifts).max() <= 0.2 * 255 + 0.5
  assert (shifts > 5).any() and (shifts < -5).any()
  # Brightness is one shift for the whole clip: every pixel moves by the same amount.
  for b in brighter:
    assert len(np.unique(b.astype(int) - frames.astype(int))) == 1
  for seed in range(10):
    scaled = augment.brightness_contrast(frames, np.random.default_rng(seed), 0.0, 0.5)
    assert abs(scaled.astype(float).mean() - frames.mean()) <= 0.5
    spread = scaled.astype(float).std() / frames.std()
    assert 0.5 - 0.05 <= spread <= 1.5 + 0.05


def test_crop_is_same_for_all_frames_and_zooms_in():
  # Every frame is the same image, so a per-clip crop gives identical frames.
  image = _clip((1, 32, 32, 1))
  frames = np.repeat(image, 5, axis=0)
  cropped = augment.random_resized_crop(frames, np.random.default_rng(3), min_area=0.3)
  assert all(np.array_equal(cropped[0], frame) for frame in cropped[1:])
  assert not np.array_equal(cropped, frames)


def test_resize_bilinear_matches_known_values():
  frames = np.array([[0, 100], [200, 50]], np.uint8).reshape(1, 2, 2, 1)
  np.testing.assert_array_equal(augment.resize_bilinear(frames, 2, 2), frames)
  doubled = augment.resize_bilinear(frames, 4, 4)[0, :, :, 0]
  # Aligned pixel centres: output pixel 1 sits at input 0.25.
  assert doubled[0, 0] == 0 and doubled[0, 3] == 100 and doubled[3, 0] == 200
  assert doubled[0, 1] == 25 and doubled[1, 0] == 50


def test_resize_bilinear_matches_opencv():
  cv2 = pytest.importorskip("cv2")
  frames = _clip((2, 30, 27, 1))
  ours = augment.resize_bilinear(frames, 41, 50)
  theirs = np.stack([cv2.resize(f[..., 0], (50, 41), interpolation=cv2.INTER_LINEAR)
                     for f in frames])[..., None]
  assert np.abs(ours.astype(int) - theirs).max() <= 1


def test_temporal_jitter_keeps_order_and_draws_from_clip():
  frames = _gradient_clip(num_frames=16)
  for seed in range(10):
    jittered = augment.temporal_jitter(frames, np.random.default_rng(seed), 0.5)
    order = jittered[:, 0, 0, 0].astype(int)
    assert set(order) <= set(frames[:, 0, 0, 0].astype(int))
    assert (np.diff(order) >= 0).all()  # time never runs backwards
    assert order[-1] - order[0] >= 10 * (0.5 * 15 - 1)  # window >= half the clip


def test_frame_dropout_repeats_the_kept_frame_before():
  frames = _gradient_clip(num_frames=8) + 5
  for seed in range(10):
    sources = augment.frame_dropout_sources(8, np.random.default_rng(seed), 0.5)
    kept = sources == np.arange(8)
    assert kept.any()
    first_kept = np.argmax(kept)
    for t in np.flatnonzero(~kept):
      assert sources[t] == (sources[t - 1] if t > first_kept else first_kept)
    repeated = augment.frame_dropout(frames, np.random.default_rng(seed), 0.5)
    np.testing.assert_array_equal(repeated, frames[sources])
  sources = augment.frame_dropout_sources(8, np.random.default_rng(0), 1.0)
  assert len(set(sources.tolist())) == 1  # never drops every frame


def test_frame_dropout_has_no_mask_and_no_black_fill():
  """The dropped-frame mask never reached a model (the LSTM takes prefix masks only),
  so it and the "zero" fill are gone; configs saved with the default still load."""
  assert isinstance(augment.frame_dropout(_clip(), np.random.default_rng(0), 0.5), np.ndarray)
  with pytest.raises(TypeError):
    augment.frame_dropout(_clip(), np.random.default_rng(0), 0.1, "zero")
  saved = {"frame_dropout_rate": 0.1, "frame_dropout_fill": "repeat"}
  assert augment.AugmentConfig.from_mapping(saved) == augment.AugmentConfig(frame_dropout_rate=0.1)
  with pytest.raises(ValueError, match="frame_dropout_fill='zero'.*removed"):
    augment.AugmentConfig.from_mapping({"frame_dropout_fill": "zero"})
  saved_config = {"data": {"augment": {"frame_dropout_fill": "repeat", "frame_dropout_rate": 0.1}}}
  current = {"data": {"augment": {"frame_dropout_rate": 0.1}}}
  assert config_checks.config_differences(saved_config, current) == []
  saved_config["data"]["augment"]["frame_dropout_fill"] = "zero"
  assert config_checks.config_differences(saved_config, current) == [
      "data.augment.frame_dropout_fill: 'zero' in the workdir, (absent) now"]


def test_gaussian_noise_statistics():
  frames = np.full((4, 32, 32, 1), 128, np.uint8)
  noisy = augment.gaussian_noise(frames, np.random.default_rng(0), 0.1)
  difference = noisy.astype(float) - 128
  assert abs(difference.mean()) < 1.0
  assert abs(difference.std() - 25.5) < 1.5


def test_augment_config_errors():
  with pytest.raises(ValueError, match="unknown augmentation setting.*flip_prob"):
    augment.augment_clip(_clip(), np.random.default_rng(0), {"flip_prob": 0.5})
  with pytest.raises(ValueError, match="uint8 clip"):
    augment.horizontal_flip(np.zeros((4, 4, 1), np.uint8))
  with pytest.raises(ValueError, match="rate must be in"):
    augment.frame_dropout(_clip(), np.random.default_rng(0), 1.5)
