"""Video frame and audio decoding (decord first, PyAV as fallback) with clear errors."""
import dataclasses
import os

import av
# cv2 must be loaded before decord: decord's wheel bundles an old libz whose symbols,
# once loaded first, break OpenCV's PNG decoding for the whole process ("libpng error:
# bad parameters to zlib", cv2.imread returns None).
import cv2  # pylint: disable=unused-import
import numpy as np

from emo_jax.data import cremad

try:  # decord has no wheels for some platforms (e.g. macOS arm64); PyAV then does it all.
  import decord
except ImportError:  # pragma: no cover - depends on the platform
  decord = None

BACKENDS = ("auto", "decord", "pyav")
_LFS_POINTER_PREFIX = cremad.LFS_POINTER_PREFIX.encode()
# A clip counts as truncated when the frames that decode cover less than this share of
# the duration the container header announces (with a couple of frames of slack), so a
# half-downloaded file fails loudly instead of yielding a short, wrong clip.
_MIN_DURATION_SHARE = 0.9
_DURATION_SLACK_FRAMES = 2


class DecodeError(Exception):
  """A video or audio file cannot be decoded; the message names the file and the fix."""


class _LibraryError(DecodeError):
  """decord or PyAV itself failed (as opposed to a check of ours)."""


@dataclasses.dataclass(frozen=True)
class DecodedFrames:
  """Frames sampled from one video.

  Attributes:
    frames: uint8 `[T, H, W, 3]` RGB.
    indices: int64 `[T]`, the source frame index of each output frame.
    num_source_frames: how many frames the video holds (counted by decoding).
    fps: the average frame rate the container reports.
    backend: "decord" or "pyav", the backend that produced the frames.
  """
  frames: np.ndarray
  indices: np.ndarray
  num_source_frames: int
  fps: float
  backend: str


def sample_frame_indices(num_available: int, num_frames: int) -> np.ndarray:
  """Picks `num_frames` indices spread uniformly over a clip of `num_available` frames.

  The clip is cut into `num_frames` equal segments and the frame at the centre of each is
  taken, so both ends are represented and nothing depends on randomness. When the clip
  has fewer frames than requested the same formula repeats indices (e.g. 3 frames, 6
  wanted -> [0, 0, 1, 1, 2, 2]): the output always has exactly `num_frames` frames, in
  order, and a slow-motion copy of a short clip is preferred over padding with blanks.

  Args:
    num_available: frames in the clip, > 0.
    num_frames: frames wanted, > 0.

  Returns:
    int64 `[num_frames]`, non-decreasing, each in `[0, num_available)`.
  """
  if num_available <= 0:
    raise ValueError(f"num_available must be positive, got {num_available}")
  if num_frames <= 0:
    raise ValueError(f"num_frames must be positive, got {num_frames}")
  centres = (np.arange(num_frames, dtype=np.float64) + 0.5) * num_available / num_frames
  return np.minimum(np.floor(centres).astype(np.int64), num_available - 1)


def check_media_file(path: str | os.PathLike) -> None:
  """Raises DecodeError for a missing, empty or Git LFS pointer file, before any decoding."""
  path = os.fspath(path)
  if not os.path.exists(path):
    raise DecodeError(f"{path}: file not found; check the path (and that the CREMA-D clone "
                      "is complete: python -m emo_jax.data.inspect_tree <root> lists missing clips)")
  if os.path.isdir(path):
    raise DecodeError(f"{path}: is a directory, expected a video or audio file")
  if os.path.getsize(path) == 0:
    raise DecodeError(f"{path}: file is empty (0 bytes); re-download it (in a CREMA-D clone: "
                      "git lfs pull)")
  with open(path, "rb") as f:
    head = f.read(len(_LFS_POINTER_PREFIX))
  if head == _LFS_POINTER_PREFIX:
    raise DecodeError(f"{path}: is a Git LFS pointer stub, not the media file; run `git lfs "
                      "pull` in your CREMA-D clone to fetch the real files")


def _check_not_truncated(path: str, decoded_seconds: float, container_seconds: float | None,
                         frame_seconds: float, what: str) -> None:
  if not container_seconds or container_seconds <= 0:
    return  # No announced duration to compare against.
  expected = _MIN_DURATION_SHARE * container_seconds - _DURATION_SLACK_FRAMES * frame_seconds
  if decoded_seconds < expected:
    raise DecodeError(
        f"{path}: looks truncated or corrupt: the header announces {container_seconds:.2f} s "
        f"but only {decoded_seconds:.2f} s of {what} decode; re-download the file (in a "
        "CREMA-D clone: git lfs pull, then python -m emo_jax.data.inspect_tree <root>)")


def _container_seconds(path: str) -> float | None:
  """The duration the container header announces (cheap: parses the header only)."""
  try:
    with av.open(path) as container:
      return None if container.duration is None else container.duration / av.time_base
  except (av.FFmpegError, OSError):
    return None


def probe_video(path: str | os.PathLike) -> None:
  """A fast check that a video file is whole, without decoding all of it.

  Reads every packet of the container and decodes only the first key frame and the last
  video packet: about 16 ms per CREMA-D clip on one busy core (the six real clips), so
  roughly 2 minutes for all 7,442 (estimated; no full tree was at hand). Decoding the last frame properly would mean decoding the whole clip
  (CREMA-D's FLVs have one key frame each), ten times slower; a truncated or corrupt
  file shows up in the packets instead: missing, cut short, or ending well before the
  duration the header announces.

  Raises:
    DecodeError: naming the file and what is wrong with it.
  """
  path = os.fspath(path)
  check_media_file(path)
  try:
    with av.open(path) as container:
      if not container.streams.video:
        raise DecodeError(f"{path}: has no video stream: truncated before the first video "
                          "packet, or not a video; re-download it")
      stream = container.streams.video[0]
      header_seconds = None if container.duration is None else container.duration / av.time_base
      first_key_frame, last, num_corrupt = None, None, 0
      for packet in container.demux():
        if packet.size == 0:
          continue  # The demuxer's end-of-stream marker.
        num_corrupt += bool(packet.is_corrupt)
        if packet.stream.index == stream.index:
          if first_key_frame is None and packet.is_keyframe:
            first_key_frame = packet
          last = packet
      if last is None or first_key_frame is None:
        raise DecodeError(f"{path}: holds no video {'key frame' if last else 'packet'}; the "
                          "file is truncated or corrupt, re-download it")
      if num_corrupt:
        raise DecodeError(f"{path}: looks truncated or corrupt: {num_corrupt} packet(s) are cut "
                          "short or damaged; re-download it")
      fps = float(stream.average_rate or stream.guessed_rate or 0) or 30.0
      timestamp = last.pts if last.pts is not None else last.dts
      if timestamp is not None and last.time_base:
        end_seconds = float((timestamp + (last.duration or 0)) * last.time_base)
        _check_not_truncated(path, end_seconds, header_seconds, 1 / fps, "video packets")
      # Without its references the last frame decodes to the wrong picture, but damaged
      # bytes still fail here.
      stream.codec_context.decode(first_key_frame)
      stream.codec_context.decode(last)
  except DecodeError:
    raise
  except (av.FFmpegError, OSError) as e:
    raise DecodeError(f"{path}: cannot be read as a video ({_first_line(e)}); the file is "
                      "truncated, corrupt or not a video: re-download it") from e


def _decode_decord(path: str, num_frames: int, strict: bool = True) -> DecodedFrames:
  if decord is None:
    raise DecodeError(f"{path}: decord is not installed; pip install decord or use "
                      "backend='pyav'")
  reader = decord.VideoReader(path)
  num_source_frames = len(reader)
  if num_source_frames == 0:
    raise DecodeError(f"{path}: decord found no video frames")
  fps = float(reader.get_avg_fps())
  indices = sample_frame_indices(num_source_frames, num_frames)
  batch = reader.get_batch(indices.tolist())
  # decord.bridge is global state: another library may have switched it away from numpy.
  frames = batch.asnumpy() if hasattr(batch, "asnumpy") else np.asarray(batch)
  del reader
  if strict:
    _check_not_truncated(path, num_source_frames / fps, _container_seconds(path), 1 / fps,
                         "video")
  return DecodedFrames(np.ascontiguousarray(frames, dtype=np.uint8), indices,
                       num_source_frames, fps, "decord")


def _decode_pyav(path: str, num_frames: int, strict: bool = True) -> DecodedFrames:
  with av.open(path) as container:
    if not container.streams.video:
      raise DecodeError(f"{path}: has no video stream (is it an audio file, or truncated "
                        "before the first video packet?); re-download it")
    stream = container.streams.video[0]
    # FLV seeking is unreliable and its frame count is absent (0), so decode sequentially
    # and keep the decoded frame objects; only the sampled ones are converted to RGB.
    decoded = []
    try:
      for frame in container.decode(stream):
        decoded.append(frame)
    except av.FFmpegError:
      if strict or not decoded:
        raise
      # Lenient: keep the frames before the damage (a truncated download still plays).
    if not decoded:
      raise DecodeError(f"{path}: no video frame decodes; the file is truncated or "
                        "corrupt, re-download it")
    fps = float(stream.average_rate or stream.guessed_rate or 0) or 30.0
    indices = sample_frame_indices(len(decoded), num_frames)
    frames = np.stack([decoded[i].to_ndarray(format="rgb24") for i in indices])
    container_seconds = (None if container.duration is None
                         else container.duration / av.time_base)
  if strict:
    _check_not_truncated(path, len(decoded) / fps, container_seconds, 1 / fps, "video")
  return DecodedFrames(frames, indices, len(decoded), fps, "pyav")


def decode_video(path: str | os.PathLike, num_frames: int,
                 backend: str = "auto", strict: bool = True) -> DecodedFrames:
  """Decodes `num_frames` uniformly sampled RGB frames (see `sample_frame_indices`).

  Args:
    path: a video file (CREMA-D: FLV, VP6F 480x360).
    num_frames: frames to return.
    backend: "decord", "pyav", or "auto": decord, and PyAV when decord cannot open or
      decode the file (or is not installed).
    strict: refuse a file that decodes to clearly less than its header announces (what
      dataset builders want: a damaged clip is re-downloaded, not trained on). With
      False, a truncated file gives the frames before the damage, as players show it.

  Returns:
    DecodedFrames with `frames` uint8 `[num_frames, H, W, 3]`.

  Raises:
    DecodeError: naming the file and the likely fix, when no backend can decode it.
  """
  if backend not in BACKENDS:
    raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
  if num_frames <= 0:
    raise ValueError(f"num_frames must be positive, got {num_frames}")
  path = os.fspath(path)
  check_media_file(path)
  if backend == "pyav":
    return _wrap(_decode_pyav, path, num_frames, "PyAV", strict)
  if backend == "decord":
    return _wrap(_decode_decord, path, num_frames, "decord", strict)
  try:
    return _wrap(_decode_decord, path, num_frames, "decord", strict)
  except DecodeError as decord_error:
    try:
      return _wrap(_decode_pyav, path, num_frames, "PyAV", strict)
    except DecodeError as pyav_error:
      if not isinstance(pyav_error, _LibraryError):
        raise  # Our own diagnosis (truncated, no video stream) is the clearest message.
      raise DecodeError(f"{path}: neither decord nor PyAV can decode it; the file is "
                        "truncated or corrupt, re-download it (in a CREMA-D clone: git lfs "
                        f"pull). decord said: {_cause(decord_error)}; PyAV said: "
                        f"{_cause(pyav_error)}") from pyav_error


def _cause(error: DecodeError) -> str:
  """The library's own words behind one of our errors."""
  return _first_line(error.__cause__ if error.__cause__ is not None else error)


def _first_line(error: BaseException) -> str:
  text = str(error).strip()
  return text.splitlines()[0] if text else type(error).__name__


def _wrap(decode_fn, path: str, num_frames: int, name: str, strict: bool = True) -> DecodedFrames:
  """Runs one backend, turning its library-specific exceptions into DecodeError."""
  try:
    return decode_fn(path, num_frames, strict)
  except DecodeError:
    raise
  except Exception as e:  # decord raises bare RuntimeError/DECORDError, PyAV FFmpegError.
    raise _LibraryError(f"{path}: {name} cannot decode the video ({_first_line(e)}); the file "
                        "is truncated, corrupt or not a video: re-download it, or try "
                        "the other backend") from e


def read_frames(path: str | os.PathLike, num_frames: int, backend: str = "auto") -> np.ndarray:
  """Reads `num_frames` uniformly sampled frames: uint8 `[T, H, W, 3]` RGB.

  See `decode_video` for the arguments and errors.
  """
  return decode_video(path, num_frames, backend).frames


def read_audio(path: str | os.PathLike, sample_rate: int = 16000) -> np.ndarray:
  """Reads the first audio stream of a video or audio file (.flv, .wav, ...) with PyAV.

  decord's AVReader is not used: it returns wrong samples for CREMA-D's MP3 audio.

  Args:
    path: the media file.
    sample_rate: output rate in Hz.

  Returns:
    float32 `[N]` mono samples in [-1, 1] at `sample_rate`.

  Raises:
    DecodeError: naming the file, when it is missing, has no audio stream, or its audio
      cannot be decoded (or is much shorter than its header announces).
  """
  path = os.fspath(path)
  check_media_file(path)
  try:
    with av.open(path) as container:
      if not container.streams.audio:
        raise DecodeError(f"{path}: has no audio stream; pass with_audio=False to load "
                          "video only, or re-download the file if it should have sound")
      stream = container.streams.audio[0]
      resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
      chunks = []
      for frame in container.decode(stream):
        chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
      chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
      container_seconds = (None if container.duration is None
                           else container.duration / av.time_base)
  except DecodeError:
    raise
  except Exception as e:
    raise DecodeError(f"{path}: cannot read its audio ({_first_line(e)}); the file is "
                      "truncated or corrupt, re-download it") from e
  audio = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(
      0, np.float32)
  if audio.size == 0:
    raise DecodeError(f"{path}: the audio stream decodes to no samples; the file is "
                      "truncated or corrupt, re-download it")
  _check_not_truncated(path, audio.size / sample_rate, container_seconds, 0.05, "audio")
  return audio
