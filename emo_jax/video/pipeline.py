"""The analysis loop: source -> detect -> track -> classify -> smooth, one result per frame."""
import dataclasses
import os
from typing import Iterator

import numpy as np

from emo_jax import checkpoints
from emo_jax.video import classify
from emo_jax.video import detect
from emo_jax.video import smooth
from emo_jax.video import source as source_lib
from emo_jax.video import track


@dataclasses.dataclass(frozen=True)
class FaceResult:
  """One tracked face in one frame.

  Attributes:
    track_id: stable id of the face over frames (from 1).
    box: float `[4]` (x0, y0, x1, y1) in frame pixels.
    detection_score: the detector's score of the track's last detection.
    detected: True when this frame's box is a detection, False when it was predicted
      (detection skipped on this frame, or the face briefly missed).
    probabilities: float32 `[K]` the model's class probabilities for this frame's crop
      (for a clip model, the track's latest clip).
    smoothed: float32 `[K]`, `probabilities` after the per-track EMA.
  """
  track_id: int
  box: np.ndarray
  detection_score: float
  detected: bool
  probabilities: np.ndarray
  smoothed: np.ndarray


@dataclasses.dataclass(frozen=True)
class FrameResult:
  """Everything found in one frame.

  Attributes:
    index: the frame's position in the source.
    time: seconds from the start of the source.
    faces: one FaceResult per tracked face, in track id order (empty: no face).
    image: the frame, uint8 `[H, W, 3]` RGB (not copied; drop it to free it).
    detection_ran: whether the detector ran on this frame (see `detect_every`).
    num_dropped: frames the source dropped so far (live mode only).
  """
  index: int
  time: float
  faces: tuple[FaceResult, ...]
  image: np.ndarray
  detection_ran: bool
  num_dropped: int = 0


def load_model(model: "checkpoints.LoadedRun | str | os.PathLike | None") -> checkpoints.LoadedRun:
  """A LoadedRun from a LoadedRun, a training workdir, or None: the bundled real-time
  FER2013 model (`checkpoints.REALTIME_BUNDLED`; `checkpoints.load_bundled("fer2013_vgg")`
  is more accurate at about 4x the cost per face)."""
  if isinstance(model, checkpoints.LoadedRun):
    return model
  if model is not None:
    return checkpoints.load(os.fspath(model))
  return checkpoints.load_bundled(checkpoints.REALTIME_BUNDLED)


class Analyzer:
  """The per-frame stages, holding their state across frames; `analyze` drives it.

  Args:
    model: a LoadedRun, a training workdir, or None for the bundled model.
    detector: "auto", "mediapipe", "haar", or a callable `image -> [Detection]`.
    detect_every: run the detector on every k-th frame; the tracker carries boxes between.
    smoothing_s: time constant of the per-track EMA in seconds (0: off).
    tracker: a `track.Tracker` (defaults: IoU 0.3, tracks end after 0.5 s unseen, and are
      reported from their third detection in a row).
    margin: crop context around each face box (None: the framing of the run's training
      faces, `classify.crop_margin`).
    clip_seconds: for clip models (T > 1), the span of a track's window of T crops.
  """

  def __init__(self, model=None, detector="auto", detect_every: int = 1,
               smoothing_s: float = 0.5, tracker: track.Tracker | None = None,
               margin: float | None = None, clip_seconds: float = smooth.CLIP_SECONDS):
    if detect_every < 1:
      raise ValueError(f"detect_every must be >= 1, got {detect_every}")
    self.run = load_model(model)
    self.classifier = classify.FaceClassifier(self.run, margin)
    self.classifier.warm_up((1,))  # Compile now: in live mode a slow first frame drops frames.
    self.detector = detect.make_detector(detector) if isinstance(detector, str) else detector
    self.detect_every = detect_every
    self.tracker = tracker or track.Tracker()
    self.smoother = smooth.EmaSmoother(smoothing_s)
    num_frames = self.run.frames_shape[0]
    self.windows = smooth.ClipWindows(num_frames, clip_seconds / num_frames)
    self._last_probabilities: dict[int, np.ndarray] = {}
    self._frame_size = None
    self._count = 0

  @property
  def class_names(self) -> tuple[str, ...]:
    return self.classifier.class_names

  def reset(self):
    """Forgets the faces seen so far, to start on another video (the model stays compiled)."""
    self._frame_size = None
    self._count = 0
    self._reset_faces()
    self.tracker.reset(restart_ids=True)

  def _reset_faces(self):
    self.tracker.reset()
    self.smoother.keep_only(())
    self.windows.keep_only(())
    self._last_probabilities.clear()

  def process(self, frame: source_lib.Frame, num_dropped: int = 0) -> FrameResult:
    """Detects (every k-th frame), tracks, classifies and smooths the faces of one frame."""
    image = frame.image
    size_changed = image.shape[:2] != self._frame_size
    if size_changed:  # Boxes of another frame size mean nothing here: start over.
      if self._frame_size is not None:
        self._reset_faces()
      self._frame_size = image.shape[:2]
    detection_ran = size_changed or self._count % self.detect_every == 0
    self._count += 1
    detections = self.detector(image) if detection_ran else None
    tracks = self.tracker.update(detections, frame.time)
    height, width = image.shape[:2]
    boxes = [_clip_box(t.box, width, height) for t in tracks]
    to_classify = []
    for t, box in zip(tracks, boxes):
      crop = self.classifier.crop(image, box)
      if self.classifier.num_frames == 1:
        to_classify.append((t.track_id, crop[None]))
      elif (self.windows.add(t.track_id, crop, frame.time)
            or t.track_id not in self._last_probabilities):
        to_classify.append((t.track_id, self.windows.clip(t.track_id)))
    if to_classify:
      probabilities = self.classifier(np.stack([clip for _, clip in to_classify]))
      for (track_id, _), p in zip(to_classify, probabilities):
        self._last_probabilities[track_id] = p
    faces = []
    for t, box in zip(tracks, boxes):
      p = self._last_probabilities[t.track_id]
      faces.append(FaceResult(t.track_id, box, t.score, t.detected, p,
                              self.smoother.update(t.track_id, p, frame.time)))
    alive = [t.track_id for t in self.tracker.tracks if t.track_id]
    self.smoother.keep_only(alive)
    self.windows.keep_only(alive)
    for track_id in set(self._last_probabilities) - set(alive):
      del self._last_probabilities[track_id]
    return FrameResult(frame.index, frame.time, tuple(faces), image, detection_ran, num_dropped)


def _clip_box(box: np.ndarray, width: int, height: int) -> np.ndarray:
  """The box inside the frame (a predicted box can drift past an edge)."""
  x0, y0, x1, y1 = box
  x0, x1 = np.clip([x0, x1], 0, width)
  y0, y1 = np.clip([y0, y1], 0, height)
  return np.array([x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)], np.float32)


def analyze(source, model=None, *, realtime: bool = False, queue_size: int = 8,
            analyzer: Analyzer | None = None, **analyzer_kwargs) -> Iterator[FrameResult]:
  """Streams per-frame results of a video, image folder, camera or stream.

      for result in emo_jax.video.analyze("clip.mp4", model=run):
        for face in result.faces:
          print(result.time, face.track_id, run.class_names[face.smoothed.argmax()])

  Memory stays flat however long the source: frames are decoded ahead in a bounded queue
  and state is kept only for live tracks.

  Args:
    source: a path (video file, image, folder of images, glob), a URL, a camera index,
      or an open `source.Source`.
    model: a `checkpoints.LoadedRun`, a training workdir, or None (the bundled model).
    realtime: pace a file as if it were live (frames dropped when inference falls behind).
    queue_size: frames decoded ahead (non-live sources).
    analyzer: an `Analyzer` to reuse (its model compiled already; it is `reset()` first);
      `model` and `analyzer_kwargs` are then ignored.
    **analyzer_kwargs: see `Analyzer` (detector, detect_every, smoothing_s, ...).

  Yields:
    FrameResult per frame processed.

  Raises:
    source.SourceError: naming the source (and frame) when it cannot be opened or a frame
      cannot be decoded; results before a damaged frame are yielded first.
  """
  if analyzer is None:
    analyzer = Analyzer(model, **analyzer_kwargs)
  else:
    analyzer.reset()
  frames = source_lib.open_source(source, realtime, queue_size)
  with frames:
    for frame in frames:
      yield analyzer.process(frame, frames.num_dropped)
