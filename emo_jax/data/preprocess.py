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
              margin: float = faces.DATASET_MARGIN, sample_rate: int = 16000) -> Clip:
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


def load_image(path: str | os.PathLike, size: int = 112, grayscale: bool = True,
               face: str | faces.Box = "detect", margin: float = faces.DATASET_MARGIN) -> Clip:
  """Reads a still image as a one-frame clip, face-cropped like `load_clip`.

  Args:
    path: a .jpg/.png (anything PIL reads; grey and RGBA become RGB).
    size: S.
    grayscale: C = 1 or 3.
    face: "detect" (Haar cascade, as for clips), "whole" (the image is already a face
      crop: its centre square), or a known face Box (e.g. AffectNet's CSV), which gets
      `margin` on each side.
    margin: as in `load_clip`.

  Returns:
    A Clip with frames uint8 `[1, S, S, C]`, no audio; `face_found_ratio` is 1.0 for a
    given box, 0.0 for "whole".

  Raises:
    decode.DecodeError: naming the file, when it is missing or not a readable image.
  """
  from PIL import Image  # pylint: disable=g-import-not-at-top
  decode.check_media_file(path)
  try:
    with Image.open(path) as image:
      pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
  except (OSError, ValueError) as e:
    raise decode.DecodeError(f"{os.fspath(path)}: not a readable image ({e})") from None
  height, width = pixels.shape[:2]
  frames = pixels[None]
  if isinstance(face, str) and face == "detect":
    crops, face_found_ratio, box = faces.crop_faces_with_box(frames, size, grayscale, margin)
    return Clip(crops, None, face_found_ratio, 1, box)
  if isinstance(face, str) and face == "whole":
    side = min(height, width)
    box, face_found_ratio = faces.Box((width - side) // 2, (height - side) // 2, side, side), 0.0
  elif isinstance(face, faces.Box):
    box = faces.face_crop_box([face], height, width, margin)
    face_found_ratio = 1.0
  else:
    raise ValueError(f"face must be 'detect', 'whole' or a faces.Box, got {face!r}")
  return Clip(faces.crop_frames(frames, box, size, grayscale), None, face_found_ratio, 1, box)
