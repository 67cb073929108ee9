"""Pure numpy augmentations on uint8 clips `[T, H, W, C]` with an explicit `np.random.Generator`.

Every function takes a uint8 clip `[T, H, W, C]` (a still image is a clip with
`T = 1`) and returns a new uint8 clip of the same shape; the input is never
modified. Random draws come only from the `rng` argument, so the same generator
state gives the same output. Spatial and photometric draws are made once per clip
and applied to every frame, so a clip stays temporally consistent.

`augment_clip(frames, rng, config)` chains them, driven by `AugmentConfig` (or a
dict of its fields). Every field's default is "off", so `AugmentConfig()` is the
identity. A typical training setting for CREMA-D:

  {"crop_probability": 1.0, "crop_min_area": 0.7, "flip_probability": 0.5,
   "brightness": 0.2, "contrast": 0.2, "temporal_min_fraction": 0.8,
   "frame_dropout_rate": 0.1}

Pixel noise (`noise_stddev`) corrupts the clip the model sees *and* anything
computed from it afterwards: an autoencoder whose reconstruction target is its
own input then learns to reproduce the noise. For denoising, prefer noise inside
the train step (clean target kept), or use `gaussian_noise` on a copy.
"""
import dataclasses
from typing import Any, Mapping

import cv2
import numpy as np

from emo_jax import config_checks

# Settings that no longer exist -> the one value they may hold, so that configs saved
# with it (workdirs, bundled models) still load. `frame_dropout_fill`: "zero" is gone
# (see `frame_dropout`), "repeat" is what frame dropout does.
RETIRED_SETTINGS = {key.rsplit(".", 1)[1]: value
                    for key, value in config_checks.RETIRED_KEYS.items()
                    if key.startswith("data.augment.")}


def _check_clip(frames: np.ndarray, name: str) -> None:
  if frames.ndim != 4 or frames.dtype != np.uint8:
    raise ValueError(
        f"{name}: expected a uint8 clip [T, H, W, C], got {frames.dtype} {frames.shape}; "
        "a still image is [1, H, W, C]")


def _to_uint8(values: np.ndarray) -> np.ndarray:
  """Rounds and clips a float array it may overwrite (a temporary) to uint8."""
  np.rint(values, out=values)
  np.clip(values, 0, 255, out=values)
  return values.astype(np.uint8)


def resize_bilinear(frames: np.ndarray, height: int, width: int) -> np.ndarray:
  """Bilinear resize of every frame, `[T, h, w, C] -> [T, height, width, C]` uint8.

  Pixel centres are aligned, as `cv2.INTER_LINEAR` (no antialiasing when shrinking);
  resizing to the same size returns an exact copy.
  """
  _check_clip(frames, "resize_bilinear")
  in_height, in_width = frames.shape[1:3]
  if (in_height, in_width) == (height, width):
    return frames.copy()

  def axis_weights(in_size, out_size):
    centres = (np.arange(out_size, dtype=np.float32) + 0.5) * (in_size / out_size) - 0.5
    centres = np.clip(centres, 0, in_size - 1)
    low = np.floor(centres).astype(np.int64)
    high = np.minimum(low + 1, in_size - 1)
    return low, high, (centres - low).astype(np.float32)

  y_low, y_high, y_frac = axis_weights(in_height, height)
  x_low, x_high, x_frac = axis_weights(in_width, width)
  # Separable: interpolate rows first, then columns of the row-interpolated clip.
  y_frac = y_frac[None, :, None, None]
  rows = frames[:, y_low] * (1 - y_frac) + frames[:, y_high] * y_frac
  x_frac = x_frac[None, None, :, None]
  return _to_uint8(rows[:, :, x_low] * (1 - x_frac) + rows[:, :, x_high] * x_frac)


def random_resized_crop(frames: np.ndarray, rng: np.random.Generator,
                        min_area: float = 0.7,
                        aspect_ratio: tuple[float, float] = (3 / 4, 4 / 3)) -> np.ndarray:
  """Crops one random box (same for all frames) and resizes it back to `[H, W]`.

  The box covers a fraction in `[min_area, 1]` of the frame, its aspect ratio
  relative to the frame's (log-uniform) in `aspect_ratio`, clipped to the frame.
  `min_area = 1` with `aspect_ratio = (1, 1)` is the identity.
  """
  _check_clip(frames, "random_resized_crop")
  if not 0 < min_area <= 1:
    raise ValueError(f"random_resized_crop: min_area must be in (0, 1], got {min_area}")
  height, width = frames.shape[1:3]
  area = rng.uniform(min_area, 1.0)
  ratio = np.exp(rng.uniform(np.log(aspect_ratio[0]), np.log(aspect_ratio[1])))
  crop_height = int(np.clip(round(height * np.sqrt(area / ratio)), 1, height))
  crop_width = int(np.clip(round(width * np.sqrt(area * ratio)), 1, width))
  top = int(rng.integers(0, height - crop_height + 1))
  left = int(rng.integers(0, width - crop_width + 1))
  crop = frames[:, top:top + crop_height, left:left + crop_width]
  return resize_bilinear(crop, height, width)


def horizontal_flip(frames: np.ndarray) -> np.ndarray:
  """Mirrors every frame left-right: `frames[:, :, ::-1]`."""
  _check_clip(frames, "horizontal_flip")
  return frames[:, :, ::-1].copy()


def random_horizontal_flip(frames: np.ndarray, rng: np.random.Generator,
                           probability: float = 0.5) -> np.ndarray:
  """`horizontal_flip` with the given probability (whole clip), else a copy."""
  if rng.uniform() < probability:
    return horizontal_flip(frames)
  _check_clip(frames, "random_horizontal_flip")
  return frames.copy()


def brightness_contrast(frames: np.ndarray, rng: np.random.Generator,
                        brightness: float = 0.2, contrast: float = 0.2) -> np.ndarray:
  """Random brightness shift and contrast scale, the same for the whole clip.

  Brightness adds `delta * 255` with `delta ~ U[-brightness, brightness]`;
  contrast scales around the clip mean by `factor ~ U[1 - contrast, 1 + contrast]`.
  Results are clipped to [0, 255]. Zero strengths are the identity.
  """
  _check_clip(frames, "brightness_contrast")
  if brightness < 0 or not 0 <= contrast <= 1:
    raise ValueError(
        f"brightness_contrast: need brightness >= 0 and 0 <= contrast <= 1, got "
        f"{brightness}, {contrast}")
  delta = rng.uniform(-brightness, brightness) * 255.0
  factor = rng.uniform(1.0 - contrast, 1.0 + contrast)
  if delta == 0 and factor == 1:
    return frames.copy()
  mean = frames.mean(dtype=np.float64)
  # The map is the same for every pixel: apply it once per grey level, then look up.
  levels = np.arange(256, dtype=np.float64)
  table = _to_uint8((levels - mean) * factor + mean + delta)
  return table[frames]


def random_rotation(frames: np.ndarray, rng: np.random.Generator,
                    max_degrees: float = 10.0) -> np.ndarray:
  """Rotates every frame by one angle `~ U[-max_degrees, max_degrees]` about its centre.

  Borders are filled by reflection, so no black corners appear for the model to learn.
  """
  _check_clip(frames, "random_rotation")
  if max_degrees < 0:
    raise ValueError(f"random_rotation: max_degrees must be >= 0, got {max_degrees}")
  angle = rng.uniform(-max_degrees, max_degrees)
  height, width = frames.shape[1:3]
  matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle, 1.0)
  rotated = [cv2.warpAffine(frame, matrix, (width, height), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REFLECT_101) for frame in frames]
  return np.stack([r.reshape(frames.shape[1:]) for r in rotated])


def random_erasing(frames: np.ndarray, rng: np.random.Generator,
                   area: tuple[float, float] = (0.02, 0.2),
                   aspect_ratio: tuple[float, float] = (0.3, 3.3)) -> np.ndarray:
  """Fills one random rectangle (the same in every frame) with uniform noise.

  Zhong et al. 2020, "Random Erasing Data Augmentation": the rectangle covers a fraction
  in `area` of the frame with a log-uniform aspect ratio in `aspect_ratio`; it teaches
  the model to use the whole face rather than one part (a hand over the mouth, glasses).
  """
  _check_clip(frames, "random_erasing")
  height, width = frames.shape[1:3]
  target = rng.uniform(*area) * height * width
  ratio = np.exp(rng.uniform(np.log(aspect_ratio[0]), np.log(aspect_ratio[1])))
  box_height = int(np.clip(round(np.sqrt(target * ratio)), 1, height))
  box_width = int(np.clip(round(np.sqrt(target / ratio)), 1, width))
  top = int(rng.integers(0, height - box_height + 1))
  left = int(rng.integers(0, width - box_width + 1))
  out = frames.copy()
  noise = rng.integers(0, 256, size=(box_height, box_width, frames.shape[3]), dtype=np.uint8)
  out[:, top:top + box_height, left:left + box_width] = noise
  return out


def temporal_jitter(frames: np.ndarray, rng: np.random.Generator,
                    min_fraction: float = 0.8) -> np.ndarray:
  """Resamples the clip's T frames from a random sub-window of them.

  Frames were sampled uniformly over the whole video when the dataset was built,
  so there is nothing finer to draw from. Jitter here is a random temporal crop
  and stretch: a window covering a fraction `f ~ U[min_fraction, 1]` of the T
  frames, at a random offset, is resampled back to T frames by nearest index
  (some frames repeat). It simulates a slightly shorter, shifted, slower clip.
  `min_fraction = 1` (or T = 1) is the identity.
  """
  _check_clip(frames, "temporal_jitter")
  if not 0 < min_fraction <= 1:
    raise ValueError(f"temporal_jitter: min_fraction must be in (0, 1], got {min_fraction}")
  num_frames = frames.shape[0]
  span = rng.uniform(min_fraction, 1.0) * (num_frames - 1)
  start = rng.uniform(0.0, (num_frames - 1) - span)
  positions = start + span * np.linspace(0.0, 1.0, num_frames)
  indices = np.clip(np.rint(positions).astype(np.int64), 0, num_frames - 1)
  return frames[indices]


def frame_dropout_sources(num_frames: int, rng: np.random.Generator,
                          rate: float = 0.1) -> np.ndarray:
  """Which frame each output frame of `frame_dropout` shows: int64 `[num_frames]`.

  Each frame is dropped with probability `rate` (at least one is kept) and shows the
  nearest kept frame before it instead (after it at the start of the clip).
  """
  if not 0 <= rate <= 1:
    raise ValueError(f"frame_dropout: rate must be in [0, 1], got {rate}")
  kept = rng.uniform(size=num_frames) >= rate
  if not kept.any():
    kept[rng.integers(num_frames)] = True
  positions = np.arange(num_frames)
  last_kept = np.maximum.accumulate(np.where(kept, positions, -1))
  # Before the first kept frame there is nothing to repeat: use the first kept one.
  return np.where(last_kept >= 0, last_kept, np.argmax(kept)).astype(np.int64)


def frame_dropout(frames: np.ndarray, rng: np.random.Generator, rate: float = 0.1) -> np.ndarray:
  """Drops each frame with probability `rate`, as if the video stalled: a dropped frame
  repeats the kept frame before it (see `frame_dropout_sources`); at least one is kept.

  There is no mask of the dropped frames and no "black frame" fill: no model could use
  such a mask (the LSTM takes only prefix masks, valid frames first, as padding makes),
  and a black frame the model is not told about is a different augmentation.

  Args:
    frames: uint8 `[T, H, W, C]`.
    rng: random generator.
    rate: probability that a frame is dropped.

  Returns:
    The clip `[T, H, W, C]` uint8.
  """
  _check_clip(frames, "frame_dropout")
  return frames[frame_dropout_sources(frames.shape[0], rng, rate)]


def gaussian_noise(frames: np.ndarray, rng: np.random.Generator,
                   stddev: float = 0.05) -> np.ndarray:
  """Adds pixel noise `N(0, (stddev * 255)^2)` independently per pixel, clipped.

  This is input (pixel) noise; the bottleneck noise of the denoising autoencoder
  lives in the model. `stddev = 0` is the identity.
  """
  _check_clip(frames, "gaussian_noise")
  if stddev < 0:
    raise ValueError(f"gaussian_noise: stddev must be >= 0, got {stddev}")
  if stddev == 0:
    return frames.copy()
  noise = rng.standard_normal(size=frames.shape, dtype=np.float32) * np.float32(stddev * 255.0)
  return _to_uint8(frames + noise)


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
  """Probabilities and strengths for `augment_clip`; every default is "off".

  Attributes:
    crop_probability: chance of a `random_resized_crop`.
    crop_min_area: smallest crop area as a fraction of the frame.
    flip_probability: chance of a horizontal flip.
    brightness: brightness shift strength (fraction of 255).
    contrast: contrast scale strength.
    temporal_min_fraction: `temporal_jitter` window; 1.0 disables it.
    frame_dropout_rate: per-frame drop probability; 0 disables it.
    noise_stddev: pixel noise (fraction of 255); 0 disables it.
    rotation_degrees: largest angle of a `random_rotation`; 0 disables it.
    erase_probability: chance of a `random_erasing` rectangle.
  """
  crop_probability: float = 0.0
  crop_min_area: float = 0.7
  flip_probability: float = 0.0
  brightness: float = 0.0
  contrast: float = 0.0
  temporal_min_fraction: float = 1.0
  frame_dropout_rate: float = 0.0
  noise_stddev: float = 0.0
  rotation_degrees: float = 0.0
  erase_probability: float = 0.0

  @classmethod
  def from_mapping(cls, config: "Mapping[str, Any] | AugmentConfig | None") -> "AugmentConfig":
    """Builds from a dict or ConfigDict; unknown keys are an error (typos fail loudly)."""
    if config is None:
      return cls()
    if isinstance(config, cls):
      return config
    config = dict(config.items())
    for key, only_value in RETIRED_SETTINGS.items():
      if key in config and config[key] == only_value:
        del config[key]  # A config saved before the setting was retired.
      elif key in config:
        raise ValueError(f"config.data.augment.{key}={config[key]!r}: the setting was removed "
                         f"(only {only_value!r}, now the one behaviour, is accepted); see "
                         "emo_jax/data/augment.py")
    known = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(config) - known)
    if unknown:
      raise ValueError(
          f"unknown augmentation setting(s) {unknown} in config.data.augment; "
          f"known: {sorted(known)}")
    return cls(**config)


def augment_clip(frames: np.ndarray, rng: np.random.Generator,
                 config: "Mapping[str, Any] | AugmentConfig | None") -> np.ndarray:
  """Applies the configured augmentations in a fixed order, `[T, H, W, C] -> same` uint8.

  Order: temporal jitter, crop, rotation, flip, brightness/contrast, frame dropout,
  erasing, noise.
  Steps that are off draw no random numbers, so turning one on does not change
  the draws of the steps before it.
  """
  config = AugmentConfig.from_mapping(config)
  _check_clip(frames, "augment_clip")
  if config.temporal_min_fraction < 1 and frames.shape[0] > 1:
    frames = temporal_jitter(frames, rng, config.temporal_min_fraction)
  if config.crop_probability > 0 and rng.uniform() < config.crop_probability:
    frames = random_resized_crop(frames, rng, config.crop_min_area)
  if config.rotation_degrees > 0:
    frames = random_rotation(frames, rng, config.rotation_degrees)
  if config.flip_probability > 0:
    frames = random_horizontal_flip(frames, rng, config.flip_probability)
  if config.brightness > 0 or config.contrast > 0:
    frames = brightness_contrast(frames, rng, config.brightness, config.contrast)
  if config.frame_dropout_rate > 0 and frames.shape[0] > 1:
    frames = frame_dropout(frames, rng, config.frame_dropout_rate)
  if config.erase_probability > 0 and rng.uniform() < config.erase_probability:
    frames = random_erasing(frames, rng)
  if config.noise_stddev > 0:
    frames = gaussian_noise(frames, rng, config.noise_stddev)
  return frames
