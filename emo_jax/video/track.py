"""Face tracking: stable ids from IoU matching (Hungarian) with constant-velocity prediction."""
import dataclasses
from typing import Sequence

import numpy as np
from scipy import optimize

from emo_jax.video import detect


def iou_matrix(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
  """Intersection over union of every pair: `[N, 4]`, `[M, 4]` (x0, y0, x1, y1) -> `[N, M]`."""
  a = np.asarray(boxes_a, np.float64).reshape(-1, 4)[:, None]
  b = np.asarray(boxes_b, np.float64).reshape(-1, 4)[None]
  width = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
  height = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
  intersection = width * height
  area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])
  union = area(a) + area(b) - intersection
  return np.where(union > 0, intersection / np.maximum(union, 1e-9), 0.0)


@dataclasses.dataclass
class Track:
  """One face followed over time.

  Attributes:
    track_id: stable id, from 1, never reused within a video; 0 while the track is
      tentative (ids go to reported faces only, so they count faces: 1, 2, 3, ...).
    box: float `[4]` (x0, y0, x1, y1), predicted for the current time.
    score: the detector's score of the last matched detection.
    velocity: float `[4]`, box change per second (from matched detections).
    hits: detections matched so far.
    last_seen: time (s) of the last matched detection.
    first_seen: time (s) of the first detection.
    last_box: float `[4]`, the box of the last matched detection.
    detected: whether the current frame's box comes from a detection (else predicted).
    missed: whether the last detection that ran did not find it.
  """
  track_id: int
  box: np.ndarray
  score: float
  velocity: np.ndarray
  hits: int
  last_seen: float
  first_seen: float
  last_box: np.ndarray
  detected: bool = True
  missed: bool = False

  def predict(self, time: float) -> np.ndarray:
    """The box expected at `time`, moving at constant velocity since the last detection."""
    return self.last_box + self.velocity * (time - self.last_seen)


class Tracker:
  """Gives each face a stable id across frames.

  `update(detections, time)` once per frame: with a frame's detections, tracks are
  matched to them by IoU with the Hungarian algorithm (on boxes predicted at constant
  velocity, so faces that cross keep their ids); with `None` (a frame where detection
  was skipped) every track just moves to its predicted box. A track ends after
  `max_missed_s` seconds without a matching detection; a new one is reported once it
  has `min_hits` detections in a row (a tentative track is dropped at its first miss),
  so a false positive that lasts a frame or two never becomes a face: Haar gives a few
  such on the real CREMA-D clips (docs/video.md).

  Args:
    iou_threshold: the least IoU for a detection to continue a track.
    max_missed_s: seconds a track survives without a matching detection.
    min_hits: detections before a track is reported.
    velocity_smoothing: weight of the old velocity when a new detection updates it.
  """

  def __init__(self, iou_threshold: float = 0.3, max_missed_s: float = 0.5, min_hits: int = 3,
               velocity_smoothing: float = 0.5):
    self.iou_threshold = iou_threshold
    self.max_missed_s = max_missed_s
    self.min_hits = min_hits
    self.velocity_smoothing = velocity_smoothing
    self._tracks: list[Track] = []
    self._next_id = 1

  def reset(self, restart_ids: bool = False):
    """Ends every track (e.g. when the frame size changes); ids keep counting up unless
    `restart_ids` (a new video)."""
    self._tracks = []
    if restart_ids:
      self._next_id = 1

  @property
  def tracks(self) -> list[Track]:
    """Every live track, reported or not yet."""
    return list(self._tracks)

  @property
  def needs_detection(self) -> bool:
    """Whether a track is tentative (awaits its `min_hits`-th detection in a row) or was
    missed by the last detection: `Analyzer` then detects on the next frame too, so
    faces are reported and ended as when detecting every frame."""
    return any(not t.track_id or t.missed for t in self._tracks)

  def update(self, detections: Sequence[detect.Detection] | None, time: float) -> list[Track]:
    """Advances to `time` with this frame's detections (None: detection skipped).

    Returns:
      The reported tracks (at least `min_hits` detections), in id order.
    """
    for track in self._tracks:
      track.box = track.predict(time)
      track.detected = False
    if detections is not None:
      self._match(list(detections), time)
    for t in self._tracks:
      if not t.track_id and t.hits >= self.min_hits:
        t.track_id = self._next_id
        self._next_id += 1
    return sorted((t for t in self._tracks if t.track_id), key=lambda t: t.track_id)

  def _match(self, detections: list[detect.Detection], time: float):
    matched_tracks, matched_detections = set(), set()
    if self._tracks and detections:
      iou = iou_matrix(np.stack([t.box for t in self._tracks]),
                       np.stack([d.box for d in detections]))
      rows, cols = optimize.linear_sum_assignment(-iou)
      for row, col in zip(rows, cols):
        if iou[row, col] >= self.iou_threshold:
          self._continue(self._tracks[row], detections[col], time)
          matched_tracks.add(row)
          matched_detections.add(col)
    survivors = []
    for i, track in enumerate(self._tracks):
      # A tentative track is dropped at its first miss; a reported one after max_missed_s.
      if i in matched_tracks or (track.track_id
                                 and time - track.last_seen <= self.max_missed_s):
        track.missed = i not in matched_tracks
        survivors.append(track)
    for j, detection in enumerate(detections):
      if j not in matched_detections:
        box = detection.box.astype(np.float64)
        survivors.append(Track(0, box, detection.score, np.zeros(4), 1, time, time, box.copy()))
    self._tracks = survivors

  def _continue(self, track: Track, detection: detect.Detection, time: float):
    box = detection.box.astype(np.float64)
    elapsed = time - track.last_seen
    if elapsed > 0:
      velocity = (box - track.last_box) / elapsed
      track.velocity = (velocity if track.hits == 1 else self.velocity_smoothing * track.velocity
                        + (1 - self.velocity_smoothing) * velocity)
    track.box, track.score, track.hits, track.last_seen = box, detection.score, track.hits + 1, time
    track.last_box, track.detected, track.missed = box.copy(), True, False
