"""`load_clip`: the one decode-and-crop path used by dataset builders, benchmarks and predict."""
import dataclasses
import os

import numpy as np

from emo_jax.data import decode
from emo_jax.data import faces


@dataclasses.dataclass(frozen=True)
class Clip:
  """A decoded, face-cropped clip.

  Attributes:
    frames: uint8 `[T, S, S, C]`, C = 1 (grey) or 3 (RGB).
    audio: float32 `[N]` mono at 16 kHz, or None when not requested.
    face_found_ratio: share of the T frames where a face was detected (0.0: the
      fallback centre crop was used).
    num_source_frames: frames in the source video, or None when unknown.
    face_box: the square crop taken from every source frame (pixels).
  """
  frames: np.ndarray
  audio: np.ndarray | None
  face_found_ratio: float
  num_source_frames: int | None = None
  face_box: faces.Box | None = None


def load_clip(path: str | os.PathLike, num_frames: int = 16, size: int = 112,
              grayscale: bool = True, backend: str = "auto", with_audio: bool = True,
              margin: float = 0.25, sample_rate: int = 16000) -> Clip:
  """Decodes `num_frames` uniformly sampled frames, crops the face and reads the audio.

  Args:
    path: a video file.
    num_frames: T, frames sampled uniformly over the clip.
    size: S, side of the square face crops.
    grayscale: grey (C = 1) or RGB (C = 3) crops.
    backend: video backend, see `decode.decode_video`.
    with_audio: also decode the audio (PyAV).
    margin: face crop context on each side, as a share of the face size.
    sample_rate: audio rate in Hz.

  Returns:
    A Clip.

  Raises:
    decode.DecodeError: naming the file, when the video (or the audio, if requested)
      cannot be decoded.
  """
  video = decode.decode_video(path, num_frames, backend)
  crops, face_found_ratio, box = faces.crop_faces_with_box(video.frames, size, grayscale,
                                                         margin)
  audio = decode.read_audio(path, sample_rate) if with_audio else None
  return Clip(crops, audio, face_found_ratio, video.num_source_frames, box)
