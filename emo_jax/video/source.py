"""Frame sources: video files, image folders or globs, cameras, streams; read ahead in a thread."""
import collections
import dataclasses
import glob
import os
import queue
import re
import threading
import time
from typing import Iterator

import av
import cv2
import numpy as np

from emo_jax.data import decode

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".webm", ".avi", ".mkv", ".flv", ".mpg", ".mpeg",
                    ".ts", ".wmv", ".3gp")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
LIVE_URL_SCHEMES = ("rtsp", "rtmp", "rtp", "udp", "tcp", "srt")
DEFAULT_IMAGE_FPS = 25.0
# A file counts as truncated when its frames end before this share of the duration the
# container announces (less two frames): the same rule as emo_jax.data.decode.
_MIN_DURATION_SHARE = 0.9


class SourceError(decode.DecodeError):
  """A source cannot be opened or read; the message names it (and the frame, if any)."""


@dataclasses.dataclass(frozen=True)
class Frame:
  """One frame of a source.

  Attributes:
    index: position in the source, from 0 (frames dropped in live mode leave gaps).
    time: seconds from the start of the source (presentation time for files).
    image: uint8 `[H, W, 3]` RGB, upright (rotation metadata applied).
  """
  index: int
  time: float
  image: np.ndarray


@dataclasses.dataclass(frozen=True)
class SourceInfo:
  """What is known of a source before reading it.

  Attributes:
    name: the path, glob, URL or "camera N".
    kind: "file", "images", "camera" or "stream".
    fps: nominal frame rate (None when unknown).
    num_frames: frames expected (None when unknown, e.g. live).
    live: frames arrive in real time; the reader drops old frames rather than queueing.
    has_audio: the source has an audio stream (files only).
  """
  name: str
  kind: str
  fps: float | None
  num_frames: int | None
  live: bool
  has_audio: bool = False


def _first_line(error: BaseException) -> str:
  text = str(error).strip()
  return text.splitlines()[0] if text else type(error).__name__


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
  """Applies a display-matrix rotation (degrees counterclockwise, as PyAV reports it)."""
  quarter_turns = int(round(rotation / 90.0)) % 4
  return np.ascontiguousarray(np.rot90(image, quarter_turns)) if quarter_turns else image


def _pyav_frames(name: str, container) -> Iterator[Frame]:
  """Decodes every video frame of an open PyAV container; errors name the file and frame."""
  stream = container.streams.video[0]
  stream.thread_type = "AUTO"
  time_base = float(stream.time_base) if stream.time_base else None
  fps = float(stream.average_rate or stream.guessed_rate or 0) or None
  index, last_time, start = -1, 0.0, None
  try:
    for frame in container.decode(stream):
      index += 1
      if frame.pts is not None and time_base:
        seconds = frame.pts * time_base
        start = seconds if start is None else start
        last_time = seconds - start
      else:
        last_time = index / (fps or DEFAULT_IMAGE_FPS)
      yield Frame(index, last_time, _upright(frame.to_ndarray(format="rgb24"), frame.rotation))
  except av.FFmpegError as e:
    raise SourceError(f"{name}: cannot decode frame {index + 1} ({_first_line(e)}); "
                      f"the file is corrupt or truncated after frame {index}") from e
  if index < 0:
    raise SourceError(f"{name}: no video frame decodes; the file is truncated or corrupt")
  announced = None if container.duration is None else container.duration / av.time_base
  frame_seconds = 1.0 / (fps or DEFAULT_IMAGE_FPS)
  decoded_seconds = last_time + frame_seconds
  if announced and decoded_seconds < _MIN_DURATION_SHARE * announced - 2 * frame_seconds:
    raise SourceError(f"{name}: truncated or corrupt: frames stop at {decoded_seconds:.2f} s "
                      f"(frame {index}) but the header announces {announced:.2f} s")


def _open_container(name: str, live: bool):
  options = {"rtsp_transport": "tcp"} if name.startswith("rtsp") else {}
  try:
    container = av.open(name, options=options, timeout=10.0 if live else None)
  except (av.FFmpegError, OSError) as e:
    raise SourceError(f"{name}: cannot open it as a video ({_first_line(e)}); "
                      "is it a video file or a reachable stream URL?") from e
  if not container.streams.video:
    container.close()
    raise SourceError(f"{name}: has no video stream (an audio file, or truncated before the "
                      "first video packet?)")
  return container


def _image_paths(spec: str) -> list[str]:
  if os.path.isdir(spec):
    paths = [os.path.join(spec, n) for n in os.listdir(spec)]
  else:
    paths = glob.glob(spec)
  paths = [p for p in paths if p.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(p)]
  # Natural order: frame2.png before frame10.png.
  key = lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p)]
  return sorted(paths, key=key)


def _image_frames(paths: list[str], fps: float) -> Iterator[Frame]:
  for index, path in enumerate(paths):
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
      raise SourceError(f"{path}: cannot read it as an image (frame {index} of "
                        f"{len(paths)}); remove it or replace it")
    yield Frame(index, index / fps, cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


def _camera_frames(capture: cv2.VideoCapture, name: str) -> Iterator[Frame]:
  start, index = time.monotonic(), 0
  try:
    while True:
      ok, image = capture.read()
      if not ok:
        if index == 0:
          raise SourceError(f"{name}: opened but delivers no frames")
        return
      yield Frame(index, time.monotonic() - start, cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
      index += 1
  finally:
    capture.release()


def _paced(frames: Iterator[Frame], speed: float = 1.0) -> Iterator[Frame]:
  """Releases each frame no earlier than its timestamp after the first, as a camera would."""
  start = None
  for frame in frames:
    now = time.monotonic()
    start = now - frame.time / speed if start is None else start
    delay = start + frame.time / speed - now
    if delay > 0:
      time.sleep(delay)
    yield frame


def _describe(spec: str | int, image_fps: float):
  """(SourceInfo, generator factory) for a source spec."""
  if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
    index = int(spec)
    name = f"camera {index}"
    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
      capture.release()
      raise SourceError(f"{name} cannot be opened: no such camera, or it is in use or not "
                        "permitted (on Linux check /dev/video*, and that your user is in the "
                        "video group)")
    fps = capture.get(cv2.CAP_PROP_FPS) or None
    return SourceInfo(name, "camera", fps, None, True), lambda: _camera_frames(capture, name)
  spec = os.fspath(spec)
  scheme = spec.split("://", 1)[0].lower() if "://" in spec else ""
  if scheme:
    live = scheme in LIVE_URL_SCHEMES
    container = _open_container(spec, live)
    stream = container.streams.video[0]
    info = SourceInfo(spec, "stream" if live else "file",
                      float(stream.average_rate or 0) or None, stream.frames or None, live,
                      bool(container.streams.audio))
    return info, lambda: _closing(container, _pyav_frames(spec, container))
  if os.path.isdir(spec) or glob.has_magic(spec):
    paths = _image_paths(spec)
    if not paths:
      raise SourceError(f"{spec}: no images ({', '.join(IMAGE_EXTENSIONS)}) found there")
    return (SourceInfo(spec, "images", image_fps, len(paths), False),
            lambda: _image_frames(paths, image_fps))
  try:  # Missing, empty, LFS pointer: clear errors before FFmpeg's.
    decode.check_media_file(spec)
  except decode.DecodeError as e:
    raise SourceError(str(e)) from e
  if spec.lower().endswith(IMAGE_EXTENSIONS):
    return (SourceInfo(spec, "images", image_fps, 1, False),
            lambda: _image_frames([spec], image_fps))
  container = _open_container(spec, live=False)
  stream = container.streams.video[0]
  fps = float(stream.average_rate or stream.guessed_rate or 0) or None
  num_frames = stream.frames or None
  if num_frames is None and fps and container.duration:
    num_frames = int(round(container.duration / av.time_base * fps))
  info = SourceInfo(spec, "file", fps, num_frames, False, bool(container.streams.audio))
  return info, lambda: _closing(container, _pyav_frames(spec, container))


def _closing(container, frames: Iterator[Frame]) -> Iterator[Frame]:
  try:
    yield from frames
  finally:
    container.close()


_END = object()


class Source:
  """Frames of a file, image folder/glob, camera or stream, decoded ahead in a thread.

  Iterating yields `Frame`s in order. The reader thread stays at most `queue_size` frames
  ahead, so memory is bounded. A live source (camera, rtsp/rtmp/udp stream, or any source
  with `realtime=True`, which paces a file at its frame rate) never queues: when the
  consumer falls behind, the older frame waiting is dropped for the newer one
  (`num_dropped` counts them). An error of the reader (corrupt frame, truncated file) is
  raised by the iterator after the frames before it.

  Use as a context manager, or call `close()`, to stop the thread early.
  """

  def __init__(self, spec: str | int | os.PathLike, realtime: bool = False,
               queue_size: int = 8, image_fps: float = DEFAULT_IMAGE_FPS):
    self.info, self._make_frames = _describe(spec, image_fps)
    self.realtime = realtime
    self.live = self.info.live or realtime
    self.num_dropped = 0
    self._queue = collections.deque()
    self._capacity = 1 if self.live else max(1, queue_size)
    self._condition = threading.Condition()
    self._stop = False
    self._thread = None

  def _read(self):
    frames = self._make_frames()
    if self.realtime and not self.info.live:
      frames = _paced(frames)
    try:
      for frame in frames:
        with self._condition:
          while not self.live and len(self._queue) >= self._capacity and not self._stop:
            self._condition.wait()
          if self._stop:
            break
          if self.live and len(self._queue) >= self._capacity:
            self._queue.popleft()  # Drop the stale frame: live results must stay current.
            self.num_dropped += 1
          self._queue.append(frame)
          self._condition.notify_all()
      item = _END
    except Exception as e:  # pylint: disable=broad-except  (handed to the consumer)
      item = e
    finally:
      if hasattr(frames, "close"):
        frames.close()
    with self._condition:
      self._queue.append(item)
      self._condition.notify_all()

  def __iter__(self) -> Iterator[Frame]:
    if self._thread is not None:
      raise RuntimeError(f"{self.info.name}: a Source can be iterated once; open a new one")
    self._thread = threading.Thread(target=self._read, name="emo_jax.video.source",
                                    daemon=True)
    self._thread.start()
    while True:
      with self._condition:
        while not self._queue:
          self._condition.wait()
        item = self._queue.popleft()
        self._condition.notify_all()
      if item is _END:
        return
      if isinstance(item, BaseException):
        raise item
      yield item

  def close(self):
    with self._condition:
      self._stop = True
      self._queue.clear()
      self._condition.notify_all()
    if self._thread is not None and self._thread is not threading.current_thread():
      self._thread.join(timeout=5)

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()


def open_source(spec: "str | int | os.PathLike | Source", realtime: bool = False,
                queue_size: int = 8) -> Source:
  """A `Source` for a path, glob, directory, URL or camera index (a Source passes through).

  Raises:
    SourceError (a `decode.DecodeError`): naming the source, when it cannot be opened.
  """
  return spec if isinstance(spec, Source) else Source(spec, realtime, queue_size)
