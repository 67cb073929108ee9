"""Uploads and webcam frames through `emo_jax.video`; results as JSON-ready dicts."""
import base64
import json
import os
import tempfile

import av
import cv2
import numpy as np

from emo_jax import checkpoints
from emo_jax import video
from emo_jax.demo import limits as limits_lib
from emo_jax.video import pipeline
from emo_jax.video import source as source_lib
from emo_jax.video import track

# A single image has one frame, so its faces are reported from their first detection
# (video asks for three in a row, to ignore one-frame false positives).
IMAGE_TRACKER_MIN_HITS = 1


def _data_url(data: bytes, mime: str) -> str:
  return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _first_frame_png(video_path: str) -> bytes:
  """The annotated image of a one-image analysis (its one-frame annotated.mp4) as PNG."""
  with av.open(video_path) as container:
    image = next(container.decode(video=0)).to_ndarray(format="bgr24")
  return cv2.imencode(".png", image)[1].tobytes()


def _faces_table(summary: dict) -> list[dict]:
  """One row per face track: its label (dominant emotion), when it was seen, mean probabilities."""
  return [{"track_id": int(track_id), "label": t["dominant_emotion"],
           "confidence": t["mean_probabilities"][t["dominant_emotion"]],
           "first_s": t["first_s"], "last_s": t["last_s"], "duration_s": t["duration_s"],
           "num_frames": t["num_frames"], "mean_probabilities": t["mean_probabilities"]}
          for track_id, t in summary["tracks"].items()]


def analyze_upload(path: str, name: str, run: checkpoints.LoadedRun, limits: limits_lib.Limits,
                   smoothing_s: float = 0.5) -> dict:
  """Analyses an uploaded file with `video.analyze_to_dir` in a private folder.

  Args:
    path: the upload, in a private folder that the caller removes.
    name: the name to show for it in messages (never a path).
    run: the model.
    limits: size, duration and time limits.
    smoothing_s: the per-face EMA time constant (as `emo_jax.video`).

  Returns:
    {"name", "kind": "video"|"image", "summary" (summary.json less server paths), "faces"
    (one row per track), "timeline_png" and "annotated" (data: URLs), "note" (or None)}.

  Raises:
    limits.RequestError: with a status and a message for people.
  """
  is_image = path.lower().endswith(limits_lib.IMAGE_EXTENSIONS)
  if is_image:
    limits_lib.check_image(path, name, limits.max_pixels)
  try:
    frames = limits_lib.LimitedSource(path, name, limits)
  except source_lib.SourceError as e:
    raise limits_lib.RequestError(422, _for_people(e, path, name)) from e
  tracker = track.Tracker(min_hits=IMAGE_TRACKER_MIN_HITS) if is_image else None
  analyzer = pipeline.Analyzer(run, smoothing_s=smoothing_s, tracker=tracker)
  out_dir = tempfile.mkdtemp(prefix="results_", dir=os.path.dirname(path))
  note = None
  try:
    video.analyze_to_dir(frames, out_dir, annotate=True, progress=False,
                                   window=False, analyzer=analyzer)
  except limits_lib.TimeLimitReached as e:
    note = _for_people(e, path, name)
  except source_lib.SourceError as e:
    raise limits_lib.RequestError(422, _for_people(e, path, name)) from e
  finally:
    frames.close()
  with open(os.path.join(out_dir, "summary.json"), "rb") as f:  # Also when stopped early.
    summary = json.load(f)
  if summary["num_frames"] == 0:
    raise limits_lib.RequestError(422, f"{name}: no frame could be decoded")
  with open(os.path.join(out_dir, "timeline.png"), "rb") as f:
    timeline_png = f.read()
  annotated_path = os.path.join(out_dir, "annotated.mp4")
  if is_image:
    annotated = _data_url(_first_frame_png(annotated_path), "image/png")
  else:
    with open(annotated_path, "rb") as f:
      annotated = _data_url(f.read(), "video/mp4")
  summary["source"] = name
  summary["model"]["workdir"] = os.path.basename(summary["model"]["workdir"] or "")
  summary.pop("error", None)
  return {"name": name, "kind": "image" if is_image else "video", "summary": summary,
          "faces": _faces_table(summary), "class_names": summary["class_names"],
          "timeline_png": _data_url(timeline_png, "image/png"), "annotated": annotated,
          "note": note or summary.get("note")}


def _for_people(error: Exception, path: str, name: str) -> str:
  """The error's message with the server's private path replaced by the upload's name."""
  return str(error).replace(path, name).replace(os.path.dirname(path), "")


class LiveSession:
  """A webcam session: one Analyzer whose tracks and smoothing carry over its frames."""

  def __init__(self, run: checkpoints.LoadedRun, smoothing_s: float = 0.5):
    self.analyzer = pipeline.Analyzer(run, smoothing_s=smoothing_s)
    self.class_names = self.analyzer.class_names
    self._index = 0

  def process(self, jpeg: bytes, time_s: float, max_pixels: int) -> dict:
    """One frame (JPEG bytes, seconds since the session began) -> its faces, smoothed.

    Raises:
      ValueError: the bytes are not an image, or it is too large.
    """
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
      raise ValueError("the frame is not a JPEG or PNG image")
    height, width = image.shape[:2]
    if width * height > max_pixels:
      raise ValueError(f"a frame of {width}x{height} is larger than the limit")
    frame = source_lib.Frame(self._index, time_s, cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    self._index += 1
    result = self.analyzer.process(frame)
    faces = []
    for face in result.faces:
      best = int(np.argmax(face.smoothed))
      faces.append({"track_id": face.track_id, "box": [round(float(v), 1) for v in face.box],
                    "label": self.class_names[best],
                    "confidence": round(float(face.smoothed[best]), 4),
                    "smoothed": [round(float(p), 4) for p in face.smoothed]})
    return {"time_s": time_s, "width": width, "height": height, "faces": faces}
