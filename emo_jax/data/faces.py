"""Face detection (OpenCV Haar cascade) and one square face crop per clip."""
import os
import threading
from typing import NamedTuple, Sequence

import cv2
import numpy as np

CASCADE_PATH = os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")
# Detection runs on grey frames downscaled to this height: 3x faster than at CREMA-D's
# full 360 rows with the same hit rate; the smallest findable face is 24 px here, i.e.
# 20% of the frame height (CREMA-D faces are ~36%).
DETECT_HEIGHT = 120
# Fallback crop when no frame has a face: a square of this share of the frame height,
# centred horizontally, its centre at this share of the height from the top. CREMA-D
# actors sit in the upper middle: the detected face boxes of the real clips are ~130 px at
# (x=152, y=70) in 480x360, i.e. centred at 0.45 W, 0.37 H.
FALLBACK_SIDE_SHARE = 0.55
FALLBACK_CENTRE_Y_SHARE = 0.38

# Context around a detected face (the Haar box, brows to chin), as a share of its size on
# each side, that reproduces the framing a model was trained on. Dataset builders crop
# CREMA-D-style clips with DATASET_MARGIN (`crop_faces`' default). FER2013's faces are
# tighter: the cascade finds them with a box 0.84 of the image side, centred, i.e. a
# margin of (1 / 0.84 - 1) / 2 = 0.095 (measured on FER2013 training images); on the
# labelled real CREMA-D clips, 0.0-0.1 gave the right class the most probability with the
# bundled model and wider margins less (README, "Real faces").
DATASET_MARGIN = 0.25
FER2013_MARGIN = 0.1


def training_margin(dataset: str) -> float:
  """The crop margin that matches the faces of the named training dataset."""
  return FER2013_MARGIN if dataset.strip().startswith("fer2013") else DATASET_MARGIN


_local = threading.local()  # CascadeClassifier is not safe to share between threads.


class Box(NamedTuple):
  """An axis-aligned box in frame pixels: top-left corner, width and height."""
  x: int
  y: int
  width: int
  height: int


def _cascade() -> "cv2.CascadeClassifier":
  """The Haar cascade, loaded once per thread."""
  cascade = getattr(_local, "cascade", None)
  if cascade is None:
    cascade = cv2.CascadeClassifier(CASCADE_PATH)
    if cascade.empty():
      raise RuntimeError(f"cannot load the OpenCV face cascade {CASCADE_PATH}; reinstall "
                         "opencv-python-headless (it ships the Haar cascades)")
    _local.cascade = cascade
  return cascade


def _check_frames(frames: np.ndarray) -> np.ndarray:
  frames = np.asarray(frames)
  if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0:
    raise ValueError(f"frames must be RGB [T, H, W, 3] with T > 0, got shape {frames.shape}")
  if frames.dtype != np.uint8:
    raise ValueError(f"frames must be uint8, got {frames.dtype}")
  return frames


def _grey(frame: np.ndarray) -> np.ndarray:
  return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def detect_faces(frames: np.ndarray, detect_height: int = DETECT_HEIGHT) -> list[Box | None]:
  """Finds the largest frontal face in each frame.

  Args:
    frames: uint8 `[T, H, W, 3]` RGB.
    detect_height: frames are downscaled to this height (if taller) before detection.

  Returns:
    T entries: the largest face's Box in full-frame pixels, or None where none is found.
  """
  frames = _check_frames(frames)
  boxes = []
  for frame in frames:
    found = find_faces(frame, detect_height)
    boxes.append(max(found, key=lambda f: f[0].width * f[0].height)[0] if found else None)
  return boxes


def find_faces(frame: np.ndarray, detect_height: int = DETECT_HEIGHT,
               min_neighbors: int = 5, min_face_share: float = 0.0) -> list[tuple[Box, int]]:
  """Every frontal face the Haar cascade finds in one frame.

  Args:
    frame: uint8 `[H, W, 3]` RGB or `[H, W]` grey.
    detect_height: the frame is downscaled to this height (if taller) before detection.
    min_neighbors: the cascade's `minNeighbors`: how many overlapping raw hits a face
      needs (higher: fewer false positives, more misses).
    min_face_share: faces smaller than this share of the frame height are not searched
      for (the cascade's `minSize`; 0: from its 24-px window up). The smallest windows
      are the most numerous, so this is the cheapest way to detect less.

  Returns:
    (Box in full-frame pixels, neighbours) per face, where neighbours (>= min_neighbors)
    is the number of raw hits grouped into the face, the cascade's confidence.
  """
  frame = np.asarray(frame)
  if frame.dtype != np.uint8 or frame.ndim not in (2, 3) or frame.size == 0:
    raise ValueError(f"frame must be uint8 [H, W, 3] or [H, W], got {frame.dtype} "
                     f"{frame.shape}")
  height, width = frame.shape[:2]
  scale = min(1.0, detect_height / height)
  grey = _grey(frame) if frame.ndim == 3 else frame
  if scale < 1.0:
    small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    grey = cv2.resize(grey, small_size, interpolation=cv2.INTER_AREA)
  grey = cv2.equalizeHist(grey)
  min_side = round(min_face_share * grey.shape[0])
  found, neighbours = _cascade().detectMultiScale2(grey, scaleFactor=1.1,
                                                   minNeighbors=min_neighbors,
                                                   minSize=(min_side, min_side))
  return [(Box(round(x / scale), round(y / scale), round(w / scale), round(h / scale)), int(n))
          for (x, y, w, h), n in zip(found, np.asarray(neighbours).reshape(-1))]


def fallback_crop_box(height: int, width: int) -> Box:
  """The square crop used when no face is found (CREMA-D's upper middle), inside the frame."""
  side = min(round(FALLBACK_SIDE_SHARE * height), height, width)
  return _place_square(width / 2, FALLBACK_CENTRE_Y_SHARE * height, side, height, width)


def _place_square(centre_x: float, centre_y: float, side: int, height: int,
                  width: int) -> Box:
  """A side x side box centred as close to (centre_x, centre_y) as the frame allows."""
  x = int(np.clip(round(centre_x - side / 2), 0, width - side))
  y = int(np.clip(round(centre_y - side / 2), 0, height - side))
  return Box(x, y, side, side)


def face_crop_box(boxes: Sequence[Box | None], height: int, width: int,
                  margin: float = DATASET_MARGIN) -> Box:
  """One square crop for the whole clip from per-frame face boxes.

  The median centre and size over the frames with a face give a single box for the
  clip: it ignores the odd false detection and does not jitter, so frame-to-frame change
  in the crops is facial motion, not crop motion. The square adds `margin` times the face
  size on every side and is shifted (not padded) to lie inside the frame; it is never
  larger than the frame's shorter side, so no padding is ever needed.

  Args:
    boxes: per-frame face boxes (None where none found), e.g. from `detect_faces`.
    height: frame height in pixels.
    width: frame width in pixels.
    margin: extra context on each side, as a share of the face size.

  Returns:
    A square Box inside the frame; `fallback_crop_box` when no frame has a face.
  """
  found = [b for b in boxes if b is not None]
  if not found:
    return fallback_crop_box(height, width)
  arr = np.array(found, dtype=np.float64)
  centre_x = np.median(arr[:, 0] + arr[:, 2] / 2)
  centre_y = np.median(arr[:, 1] + arr[:, 3] / 2)
  face_size = np.median(np.maximum(arr[:, 2], arr[:, 3]))
  side = int(min(round(face_size * (1 + 2 * margin)), height, width))
  return _place_square(centre_x, centre_y, max(side, 1), height, width)


def crop_frames(frames: np.ndarray, box: Box, size: int, grayscale: bool = True) -> np.ndarray:
  """Crops `box` from every frame and resizes it: `[T, H, W, 3]` -> uint8 `[T, S, S, C]`.

  C is 1 when `grayscale`, else 3 (RGB).
  """
  frames = _check_frames(frames)
  crops = []
  for frame in frames:
    crop = frame[box.y:box.y + box.height, box.x:box.x + box.width]
    if grayscale:
      crop = _grey(crop)
    crops.append(cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA))
  out = np.stack(crops)
  return out[..., None] if grayscale else out


def crop_faces(frames: np.ndarray, size: int, grayscale: bool = True,
               margin: float = DATASET_MARGIN) -> tuple[np.ndarray, float]:
  """Detects the face over a clip and returns square crops of it.

  Args:
    frames: uint8 `[T, H, W, 3]` RGB.
    size: output side S in pixels.
    grayscale: grey output (C = 1) or RGB (C = 3).
    margin: context around the face on each side, as a share of the face size.

  Returns:
    (crops uint8 `[T, S, S, C]`, face_found_ratio): the share of frames with a detected
    face; 0.0 means the `fallback_crop_box` was used.
  """
  crops, face_found_ratio, _ = crop_faces_with_box(frames, size, grayscale, margin)
  return crops, face_found_ratio


def crop_faces_with_box(frames: np.ndarray, size: int, grayscale: bool = True,
                        margin: float = DATASET_MARGIN) -> tuple[np.ndarray, float, Box]:
  """As `crop_faces`, also returning the square Box cropped from every frame."""
  frames = _check_frames(frames)
  if size <= 0:
    raise ValueError(f"size must be positive, got {size}")
  boxes = detect_faces(frames)
  box = face_crop_box(boxes, frames.shape[1], frames.shape[2], margin)
  face_found_ratio = sum(b is not None for b in boxes) / len(boxes)
  return crop_frames(frames, box, size, grayscale), float(face_found_ratio), box
