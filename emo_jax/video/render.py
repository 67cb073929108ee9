"""Rendering: boxes, track ids, labels and probability bars on frames; the annotated.mp4 writer."""
import fractions
import os
from typing import Sequence

import av
import cv2
import numpy as np

from emo_jax.video import pipeline

_COLOURS = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
            (145, 30, 180), (70, 240, 240), (240, 50, 230))  # RGB, by track id


def track_colour(track_id: int) -> tuple[int, int, int]:
  return _COLOURS[(track_id - 1) % len(_COLOURS)]


def draw_faces(image: np.ndarray, faces: Sequence[pipeline.FaceResult],
               class_names: Sequence[str]) -> np.ndarray:
  """A copy of `image` (uint8 `[H, W, 3]` RGB) with each face's box, id, label and bars."""
  out = image.copy()
  height, width = out.shape[:2]
  scale = max(0.4, height / 720)
  thickness = max(1, round(2 * scale))
  for face in faces:
    colour = track_colour(face.track_id)
    x0, y0, x1, y1 = (int(round(v)) for v in face.box)
    cv2.rectangle(out, (x0, y0), (x1, y1), colour, thickness if face.detected else 1)
    best = int(np.argmax(face.smoothed))
    label = f"#{face.track_id} {class_names[best]} {face.smoothed[best]:.0%}"
    (text_width, text_height), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, 1)
    top = max(0, y0 - text_height - 6)
    cv2.rectangle(out, (x0, top), (x0 + text_width + 4, top + text_height + 6), colour, -1)
    cv2.putText(out, label, (x0 + 2, top + text_height + 2), cv2.FONT_HERSHEY_SIMPLEX,
                0.5 * scale, (0, 0, 0), 1, cv2.LINE_AA)
    # One bar per class beside the box (left of it when the right side has no room).
    bar_height = max(6, round(12 * scale))
    bar_width = max(40, round(80 * scale))
    left = x1 + 4 if x1 + 4 + bar_width + 40 * scale <= width else max(0, x0 - bar_width - 44)
    for k, (name, p) in enumerate(zip(class_names, face.smoothed)):
      y = y0 + k * (bar_height + 2)
      if y + bar_height > height:
        break
      cv2.rectangle(out, (left, y), (left + bar_width, y + bar_height), (40, 40, 40), -1)
      cv2.rectangle(out, (left, y), (left + int(bar_width * float(p)), y + bar_height), colour, -1)
      cv2.putText(out, name[:3], (left + bar_width + 2, y + bar_height - 1),
                  cv2.FONT_HERSHEY_SIMPLEX, 0.35 * scale, (255, 255, 255), 1, cv2.LINE_AA)
  return out


class AnnotatedVideoWriter:
  """Writes frames to an H.264 mp4 at their timestamps; audio of `audio_from` is copied in.

  The file is written as `.NAME.partial` and renamed by `close()`, so `annotated.mp4` only
  exists complete. Frames whose size differs from the first are resized to it.

  Args:
    path: the .mp4 to write.
    fps: the frame rate (timestamps are rounded to it; dropped frames leave gaps).
    audio_from: a media file whose first audio stream is re-encoded to AAC into the output,
      up to the last video frame's time; None for no audio.
  """

  def __init__(self, path: str | os.PathLike, fps: float, audio_from: str | None = None):
    self.path = os.fspath(path)
    directory, name = os.path.split(self.path)
    self._partial = os.path.join(directory, f".{name}.partial")
    self.fps = fps or 25.0
    self.audio_from = audio_from
    self._container = None
    self._video = None
    self._audio = None
    self._size = None
    self._last_pts = -1
    self._last_time = 0.0

  def _open(self, width: int, height: int):
    # yuv420p needs even sides.
    self._size = (width - width % 2, height - height % 2)
    self._container = av.open(self._partial, "w", format="mp4")
    rate = int(round(self.fps * 1000))
    self._video = self._container.add_stream("libx264", rate=fractions.Fraction(rate, 1000),
                                             options={"preset": "veryfast", "crf": "23"})
    self._video.width, self._video.height = self._size
    self._video.pix_fmt = "yuv420p"
    self._time_base = fractions.Fraction(1000, rate)  # one frame
    self._video.codec_context.time_base = self._time_base
    if self.audio_from and _has_audio(self.audio_from):
      self._audio = self._container.add_stream("aac", rate=44100)
      self._audio.layout = "stereo"

  def write(self, image: np.ndarray, time: float):
    """Adds one RGB frame `[H, W, 3]` shown from `time` seconds."""
    if self._container is None:
      self._open(image.shape[1], image.shape[0])
    if (image.shape[1], image.shape[0]) != self._size:
      image = cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    pts = max(self._last_pts + 1, int(round(time * self.fps)))
    frame.pts = pts
    frame.time_base = self._time_base
    self._last_pts, self._last_time = pts, time
    for packet in self._video.encode(frame):
      self._container.mux(packet)

  def _copy_audio(self):
    end = self._last_time + 1.0 / self.fps
    resampler = av.AudioResampler(format=self._audio.format.name, layout="stereo", rate=44100)
    try:
      with av.open(self.audio_from) as source:
        for frame in source.decode(source.streams.audio[0]):
          if frame.time is not None and frame.time >= end:
            break
          frame.pts = None
          for out in resampler.resample(frame):
            for packet in self._audio.encode(out):
              self._container.mux(packet)
    except av.FFmpegError:
      pass  # Audio up to the damage of a corrupt file is kept; the video error is reported.
    for out in resampler.resample(None):
      for packet in self._audio.encode(out):
        self._container.mux(packet)
    for packet in self._audio.encode():
      self._container.mux(packet)

  def close(self) -> str | None:
    """Finishes the file and gives it its name; returns the path (None if no frame came)."""
    if self._container is None:
      return None
    for packet in self._video.encode():
      self._container.mux(packet)
    if self._audio is not None:
      self._copy_audio()
    self._container.close()
    self._container = None
    os.replace(self._partial, self.path)
    return self.path


def _has_audio(path: str) -> bool:
  try:
    with av.open(path) as container:
      return bool(container.streams.audio)
  except (av.FFmpegError, OSError):
    return False
