"""The analysis loop: source -> detect -> track -> classify -> smooth, one result per frame."""
import dataclasses
import os
from typing import Iterator, Sequence

import numpy as np

from emo_jax import checkpoints
from emo_jax.video import classify
from emo_jax.video import detect
from emo_jax.video import smooth
from emo_jax.video import source as source_lib
from emo_jax.video import track

# Frames of a file classified per model call. The bundled model costs ~4 ms per call for
# one face and ~1.4 ms per face in a batch of 8 or more (2 CPU cores, docs/video.md), so
# a batch of 8 frames cuts its share per frame by ~3x; results wait at most 8 frames
# (0.3 s of 25 fps video), which only live sources would mind, and they are not batched.
BATCH_FRAMES = 8


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
    detect_every: run the detector on every k-th frame, and on the next frames while a
      face is new (not yet reported) or was missed by the last detection; the tracker
      carries boxes between.
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
    self._classified: set[int] = set()  # tracks with a clip sent to the model (clip models)
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
    self._classified.clear()

  def process(self, frame: source_lib.Frame, num_dropped: int = 0) -> FrameResult:
    """Detects (every k-th frame), tracks, classifies and smooths the faces of one frame."""
    return self.process_frames([frame], num_dropped)[0]

  def process_frames(self, frames: Sequence[source_lib.Frame],
                     num_dropped: int = 0) -> list[FrameResult]:
    """As `process` for consecutive frames, with one model call for all their faces.

    Detection, tracking and smoothing still run frame by frame, so the results are those
    of `process` on each frame in turn (the model's outputs agree to float rounding:
    a batch of 8 against 8 batches of 1); only the first result waits for the last frame.
    """
    results, pending = [], []
    for frame in frames:
      if pending and frame.image.shape[:2] != self._frame_size:
        results += self._finish(pending)  # The size change resets the faces pending use.
        pending = []
      pending.append(self._prepare(frame, num_dropped))
    return results + self._finish(pending)

  def _prepare(self, frame: source_lib.Frame, num_dropped: int) -> "_PendingFrame":
    """Detection, tracking and the crops of one frame: everything before the model."""
    image = frame.image
    size_changed = image.shape[:2] != self._frame_size
    if size_changed:  # Boxes of another frame size mean nothing here: start over.
      if self._frame_size is not None:
        self._reset_faces()
      self._frame_size = image.shape[:2]
    # A new face needs detections in a row to be reported, and a face is ended after
    # 0.5 s without one: detecting on the next frames too while a face is new or was just
    # missed (not k frames later) reports it at its 3rd frame, not its (2k + 1)-th, and
    # ends it after 0.5 s of missed frames, not of k-th frames, as with k = 1.
    detection_ran = (size_changed or self._count % self.detect_every == 0
                     or self.tracker.needs_detection)
    self._count += 1
    detections = self.detector(image) if detection_ran else None
    tracks = self.tracker.update(detections, frame.time)
    height, width = image.shape[:2]
    faces, to_classify = [], []
    for t in tracks:
      box = _clip_box(t.box, width, height)
      # The tracker moves its Track objects on the next frame: keep this frame's values.
      faces.append((t.track_id, box, t.score, t.detected))
      crop = self.classifier.crop(image, box)
      if self.classifier.num_frames == 1:
        to_classify.append((t.track_id, crop[None]))
      elif (self.windows.add(t.track_id, crop, frame.time)
            or t.track_id not in self._classified):
        to_classify.append((t.track_id, self.windows.clip(t.track_id)))
      self._classified.add(t.track_id)
    alive = [t.track_id for t in self.tracker.tracks if t.track_id]
    self.windows.keep_only(alive)
    self._classified.intersection_update(alive)
    return _PendingFrame(frame, num_dropped, detection_ran, faces, to_classify, alive)

  def _finish(self, pending: list["_PendingFrame"]) -> list[FrameResult]:
    """One model call for the crops of the pending frames, then each frame's results."""
    clips = [clip for p in pending for _, clip in p.to_classify]
    probabilities = self.classifier(np.stack(clips)) if clips else None
    results, start = [], 0
    for p in pending:
      for track_id, _ in p.to_classify:
        self._last_probabilities[track_id] = probabilities[start]
        start += 1
      faces = []
      for track_id, box, score, detected in p.faces:
        probability = self._last_probabilities[track_id]
        faces.append(FaceResult(track_id, box, score, detected, probability,
                                self.smoother.update(track_id, probability, p.frame.time)))
      self.smoother.keep_only(p.alive)
      for track_id in set(self._last_probabilities) - set(p.alive):
        del self._last_probabilities[track_id]
      results.append(FrameResult(p.frame.index, p.frame.time, tuple(faces), p.frame.image,
                                 p.detection_ran, p.num_dropped))
    return results


@dataclasses.dataclass(frozen=True)
class _PendingFrame:
  """A frame between `Analyzer._prepare` and `Analyzer._finish`: tracked, cropped, not
  yet classified. `faces`: (track_id, box, score, detected) per reported track;
  `to_classify`: (track_id, clip `[T, S, S, C]`); `alive`: every live track's id."""
  frame: source_lib.Frame
  num_dropped: int
  detection_ran: bool
  faces: list
  to_classify: list
  alive: list


def _clip_box(box: np.ndarray, width: int, height: int) -> np.ndarray:
  """The box inside the frame (a predicted box can drift past an edge)."""
  x0, y0, x1, y1 = box
  x0, x1 = np.clip([x0, x1], 0, width)
  y0, y1 = np.clip([y0, y1], 0, height)
  return np.array([x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)], np.float32)


def analyze(source, model=None, *, realtime: bool = False, queue_size: int = 8,
            batch_frames: int = BATCH_FRAMES, analyzer: Analyzer | None = None,
            **analyzer_kwargs) -> Iterator[FrameResult]:
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
    batch_frames: a file or image folder is classified this many frames at a time, all
      their faces in one model call (`Analyzer.process_frames`; 1: frame by frame). A live
      source (camera, stream, `realtime`) is always processed frame by frame.
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
    if frames.live or batch_frames <= 1:
      for frame in frames:
        yield analyzer.process(frame, frames.num_dropped)
      return
    chunk, error = [], None
    try:
      for frame in frames:
        chunk.append(frame)
        if len(chunk) == batch_frames:
          yield from analyzer.process_frames(chunk)
          chunk = []
    except Exception as e:  # pylint: disable=broad-except  (raised after the frames before it)
      error = e
    yield from analyzer.process_frames(chunk)
    if error is not None:
      raise error
