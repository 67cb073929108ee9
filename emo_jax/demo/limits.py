"""What protects the demo server: size and duration limits, admission with a queue, uploads."""
import asyncio
import contextlib
import dataclasses
import os
import shutil
import tempfile
import time
from typing import AsyncIterator

from PIL import Image

from emo_jax.video import source as source_lib

# Only these extensions are accepted; the client's filename contributes nothing else, so
# no part of a request ever becomes part of a path.
VIDEO_EXTENSIONS = source_lib.VIDEO_EXTENSIONS
IMAGE_EXTENSIONS = source_lib.IMAGE_EXTENSIONS


@dataclasses.dataclass(frozen=True)
class Limits:
  """The server's limits (flags of `python -m emo_jax.demo`).

  Attributes:
    max_upload_mb: largest upload accepted (413 beyond).
    max_video_s: longest video accepted (413 beyond); checked on the header and again on
      the frames, so a header that lies does not get around it.
    max_pixels: largest frame (width x height) accepted: 4K is 8.3 MP.
    max_running: analyses at once.
    max_waiting: analyses queued behind them; beyond, 503 "busy" with Retry-After.
    analysis_time_limit_s: an analysis stops after this long; the results so far are sent
      with a note.
    max_live_sessions: webcam sessions at once.
    max_live_frame_kb: largest webcam frame (JPEG) accepted.
  """
  max_upload_mb: float = 50.0
  max_video_s: float = 60.0
  max_pixels: int = 4096 * 2304
  max_running: int = 1
  max_waiting: int = 4
  analysis_time_limit_s: float = 120.0
  max_live_sessions: int = 2
  max_live_frame_kb: int = 1024

  @property
  def max_upload_bytes(self) -> int:
    return int(self.max_upload_mb * 1024 * 1024)


class RequestError(Exception):
  """A request the server refuses or cannot analyse: an HTTP status and a message for people."""

  def __init__(self, status: int, message: str, retry_after_s: int | None = None):
    super().__init__(message)
    self.status = status
    self.message = message
    self.retry_after_s = retry_after_s


class TimeLimitReached(source_lib.SourceError):
  """The analysis ran past its time limit (the frames before are analysed)."""


class Admission:
  """At most `max_running` analyses at once and `max_waiting` queued; more are refused (503).

  Used from the event loop only (one thread), so the counter needs no lock.
  """

  def __init__(self, max_running: int, max_waiting: int):
    self.max_running = max_running
    self.max_waiting = max_waiting
    self._semaphore = asyncio.Semaphore(max_running)
    self.num_admitted = 0

  def admit(self) -> "_Ticket":
    """A ticket to wait for a slot with; raises RequestError(503) when the queue is full."""
    if self.num_admitted >= self.max_running + self.max_waiting:
      raise RequestError(503, f"The server is busy: {self.max_running} analysis(es) running "
                         f"and {self.max_waiting} waiting. Please try again in a minute.",
                         retry_after_s=30)
    self.num_admitted += 1
    return _Ticket(self)


class _Ticket:
  """Holds a place in the queue from `admit()` until released; `run()` waits for a slot."""

  def __init__(self, admission: Admission):
    self._admission = admission
    self._released = False

  @contextlib.asynccontextmanager
  async def running(self) -> AsyncIterator[None]:
    async with self._admission._semaphore:  # pylint: disable=protected-access
      yield

  def release(self):
    if not self._released:
      self._released = True
      self._admission.num_admitted -= 1


def extension_of(filename: str) -> str:
  """The accepted extension of a client's filename (lower case), or RequestError(415)."""
  extension = os.path.splitext(filename.strip().lower())[1]
  if extension not in VIDEO_EXTENSIONS + IMAGE_EXTENSIONS:
    raise RequestError(415, f"Unsupported file type {extension or '(no extension)'!r}: send "
                       f"a video ({', '.join(VIDEO_EXTENSIONS)}) or an image "
                       f"({', '.join(IMAGE_EXTENSIONS)}).")
  return extension


def display_name(filename: str) -> str:
  """The client's filename made safe to show: its last component, printable, short."""
  name = filename.replace("\\", "/").rsplit("/", 1)[-1]
  name = "".join(c if c.isprintable() else "?" for c in name)
  if len(name) > 80:
    stem, extension = os.path.splitext(name)
    name = stem[:60] + "..." + extension[:10]
  return name or "upload"


@contextlib.contextmanager
def private_directory(root: str):
  """A fresh directory only this user can read, removed with everything in it on exit."""
  path = tempfile.mkdtemp(prefix="request_", dir=root)  # mode 0700
  try:
    yield path
  finally:
    shutil.rmtree(path, ignore_errors=True)


async def save_upload(chunks: AsyncIterator[bytes], path: str, max_bytes: int) -> int:
  """Writes a request body to `path` as it arrives, stopping at `max_bytes` (413)."""
  size = 0
  with open(path, "wb") as f:
    async for chunk in chunks:
      size += len(chunk)
      if size > max_bytes:
        raise RequestError(413, f"The upload is larger than the limit of "
                           f"{max_bytes / 2**20:.0f} MB; send a shorter or smaller video.")
      f.write(chunk)
  if size == 0:
    raise RequestError(400, "The upload is empty: choose a video or an image file.")
  return size


def check_image(path: str, name: str, max_pixels: int):
  """Reads only the header: a truncated, corrupt or huge image is refused before decoding."""
  try:
    with Image.open(path) as image:
      width, height = image.size
  except Image.DecompressionBombError as e:
    raise RequestError(413, f"{name}: the image is far larger than the limit of "
                       f"{max_pixels / 1e6:.1f} megapixels ({e})") from e
  except (OSError, ValueError) as e:
    raise RequestError(422, f"{name}: cannot read it as an image ({type(e).__name__}); "
                       "is it a complete PNG, JPEG or WebP file?") from e
  if width * height > max_pixels:
    raise RequestError(413, f"{name}: {width}x{height} is larger than the limit of "
                       f"{max_pixels / 1e6:.1f} megapixels; resize it first.")


class LimitedSource(source_lib.Source):
  """A Source that stops at a deadline, and refuses frames too large or past `max_video_s`.

  The errors are SourceErrors, so `emo_jax.video.analyze_to_dir` writes the results up to
  them (and says so in summary.json) before raising them.
  """

  def __init__(self, path: str, name: str, limits: Limits):
    super().__init__(path)
    self.name = name
    self.limits = limits
    info = self.info
    if info.kind == "file" and info.fps and info.num_frames:
      duration = info.num_frames / info.fps
      if duration > limits.max_video_s + 1:
        self.close()
        raise RequestError(413, f"{name}: the video lasts {duration:.0f} s, longer than the "
                           f"limit of {limits.max_video_s:.0f} s; cut it shorter first.")

  def __iter__(self):
    deadline = time.monotonic() + self.limits.analysis_time_limit_s
    for frame in super().__iter__():
      height, width = frame.image.shape[:2]
      if width * height > self.limits.max_pixels:
        raise source_lib.SourceError(
            f"{self.name}: frames of {width}x{height} are larger than the limit of "
            f"{self.limits.max_pixels / 1e6:.1f} megapixels")
      if frame.time > self.limits.max_video_s + 1:
        raise source_lib.SourceError(
            f"{self.name}: the video runs past the limit of {self.limits.max_video_s:.0f} s; "
            "only the start was analysed")
      if frame.index > 0 and time.monotonic() > deadline:  # Always show something.
        raise TimeLimitReached(
            f"{self.name}: the analysis reached its time limit of "
            f"{self.limits.analysis_time_limit_s:.0f} s at {frame.time:.1f} s into the video; "
            "the results cover the video up to there")
      yield frame
