"""Face detectors for video: MediaPipe BlazeFace when installed, OpenCV's Haar cascade otherwise.

Both take a full RGB frame, detect on a downscaled copy (so 4K costs what 480p does) and
return boxes in full-frame pixels. See docs/video.md for the measured hit rates, false
positives and cost per frame behind the choice.
"""
import dataclasses
import threading

import cv2
import numpy as np

from emo_jax.data import faces

DETECTORS = ("auto", "mediapipe", "haar")
# Haar: the frame is downscaled to this height. The cascade finds faces reliably from
# ~50 px, so 240 rows find faces a fifth of the frame height (measured: 98% of synthetic
# 100-px faces in 640x480 at 240 rows, 0% at 160); it costs ~2x 160 rows (docs/video.md).
HAAR_DETECT_HEIGHT = 240
# Haar's confidence is how many raw hits group into a face. On the six real CREMA-D clips
# (398 frames) faces group 21-150 (median 71), the only false positives 6-8, so video
# asks for 10 (faces.py's clip crops use 5 and keep the largest box, which is safe there).
HAAR_MIN_NEIGHBORS = 10
# Haar searches for faces from this share of the frame height up (36 px of the 240
# rows). Smaller windows are the most numerous and found none of the synthetic faces
# (0% of 33-px faces, above); skipping them costs 40% less per frame (23 instead of
# 41 ms on the real CREMA-D clips, 12 instead of 20 on the synthetic 640x480 ones) with
# the same hits and false positives on every clip of the detector table (docs/video.md).
HAAR_MIN_FACE_SHARE = 0.15
# MediaPipe resizes its input to 128x128 itself; giving it a copy no bigger than this
# makes the RGB conversion and copy cheap without losing anything the model sees.
MEDIAPIPE_MAX_SIDE = 320
# Every detector returns boxes in the Haar cascade's convention, the boxes the training
# crops were cut around (`faces.face_crop_box`), so a crop is the same whichever detector
# found the face. On the 379 frames of the six real CREMA-D clips, where both find the
# face, the Haar box is 1.20x BlazeFace's side (std 0.04) with its centre 0.17 of
# BlazeFace's side higher (std 0.02: BlazeFace's box starts at the brows, Haar's above).
MEDIAPIPE_TO_HAAR_SCALE = 1.20
MEDIAPIPE_TO_HAAR_SHIFT_UP = 0.17


@dataclasses.dataclass(frozen=True)
class Detection:
  """One face: `box` float `[4]` (x0, y0, x1, y1) in frame pixels, and the detector's score.

  Scores are detector-specific: BlazeFace's is a probability in [0, 1]; Haar's is the
  number of raw cascade hits grouped into the face (>= its min_neighbors).
  """
  box: np.ndarray
  score: float


def _downscale(image: np.ndarray, max_height: int | None = None,
               max_side: int | None = None) -> tuple[np.ndarray, float]:
  height, width = image.shape[:2]
  limit = max_height / height if max_height else max_side / max(height, width)
  scale = min(1.0, limit)
  if scale < 1.0:
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
  return image, scale


class HaarDetector:
  """OpenCV's frontal-face Haar cascade (`emo_jax.data.faces.find_faces`); needs nothing extra."""
  name = "haar"

  def __init__(self, detect_height: int = HAAR_DETECT_HEIGHT,
               min_neighbors: int = HAAR_MIN_NEIGHBORS,
               min_face_share: float = HAAR_MIN_FACE_SHARE):
    self.detect_height = detect_height
    self.min_neighbors = min_neighbors
    self.min_face_share = min_face_share

  def __call__(self, image: np.ndarray) -> list[Detection]:
    """`image` uint8 `[H, W, 3]` RGB -> faces, largest first."""
    found = faces.find_faces(image, self.detect_height, self.min_neighbors,
                             self.min_face_share)
    detections = [Detection(np.array([b.x, b.y, b.x + b.width, b.y + b.height], np.float32),
                            float(n)) for b, n in found]
    return sorted(detections, key=lambda d: -(d.box[2] - d.box[0]) * (d.box[3] - d.box[1]))


class MediaPipeDetector:
  """MediaPipe's BlazeFace (legacy `solutions.face_detection`, weights in the wheel).

  Boxes are converted to the Haar cascade's convention (see MEDIAPIPE_TO_HAAR_SCALE).

  Args:
    min_score: detections below this probability are dropped.
    full_range: the full-range model (faces up to ~5 m; slower) instead of the
      short-range one (faces within ~2 m, e.g. webcams and CREMA-D's framing).
  """
  name = "mediapipe"

  def __init__(self, min_score: float = 0.5, full_range: bool = False):
    from mediapipe.python.solutions import face_detection  # pylint: disable=g-import-not-at-top
    self._detector = face_detection.FaceDetection(model_selection=int(full_range),
                                                  min_detection_confidence=min_score)
    self._lock = threading.Lock()  # A mediapipe graph takes one frame at a time.

  def __call__(self, image: np.ndarray) -> list[Detection]:
    """`image` uint8 `[H, W, 3]` RGB -> faces, largest first."""
    height, width = image.shape[:2]
    small, _ = _downscale(image, max_side=MEDIAPIPE_MAX_SIDE)
    with self._lock:
      result = self._detector.process(np.ascontiguousarray(small))
    detections = []
    for found in result.detections or ():
      box = found.location_data.relative_bounding_box
      side = max(box.width * width, box.height * height)
      if side < 2:
        continue
      centre_x = (box.xmin + box.width / 2) * width
      centre_y = (box.ymin + box.height / 2) * height - MEDIAPIPE_TO_HAAR_SHIFT_UP * side
      half = MEDIAPIPE_TO_HAAR_SCALE * side / 2
      x0, y0 = max(0.0, centre_x - half), max(0.0, centre_y - half)
      x1, y1 = min(float(width), centre_x + half), min(float(height), centre_y + half)
      if x1 - x0 >= 2 and y1 - y0 >= 2:
        detections.append(Detection(np.array([x0, y0, x1, y1], np.float32),
                                    float(found.score[0])))
    return sorted(detections, key=lambda d: -(d.box[2] - d.box[0]) * (d.box[3] - d.box[1]))

  def close(self):
    self._detector.close()


def mediapipe_available() -> bool:
  try:
    # pylint: disable-next=g-import-not-at-top,unused-import
    from mediapipe.python.solutions import face_detection
  except Exception:  # pylint: disable=broad-except  (ImportError, or a broken install)
    return False
  return True


def make_detector(name: str = "auto", **kwargs):
  """A detector by name: "mediapipe", "haar", or "auto" (MediaPipe if installed, else Haar).

  Raises:
    ValueError: for an unknown name.
    ImportError: for "mediapipe" when it is not installed, with the command to install it.
  """
  if name not in DETECTORS:
    raise ValueError(f"detector must be one of {DETECTORS}, got {name!r}")
  if name == "haar" or (name == "auto" and not mediapipe_available()):
    return HaarDetector(**kwargs)
  if not mediapipe_available():
    raise ImportError("detector 'mediapipe' needs MediaPipe's legacy face_detection: "
                      "pip install --no-deps 'mediapipe==0.10.21' (see docs/video.md), or "
                      "use detector 'haar'")
  return MediaPipeDetector(**kwargs)
