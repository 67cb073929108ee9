"""Synthetic videos with known faces for tests and benchmarks: one, two, or two crossing faces.

Faces are drawn by the synthetic CREMA-D generator (`emo_jax.data.synthetic`); the true
face box of every frame is returned with the frames, so detection and tracking can be
scored against it.
"""
import dataclasses
import fractions
import os
from typing import Iterable

import av
import cv2
import numpy as np

from emo_jax.data import cremad
from emo_jax.data.synthetic import actors
from emo_jax.data.synthetic import drawing

BACKGROUND = (60, 160, 60)  # the generator's green backdrop


def face_frames(actor_id: int, num_frames: int, frame_size: tuple[int, int], seed: int = 0,
                emotion: str = "HAP") -> np.ndarray:
  """uint8 `[N, H, W, 3]` RGB of one synthetic actor talking, looped back and forth to N frames.

  `frame_size` is (width, height). The generator's clips last 56-75 frames; longer
  requests replay them forwards and backwards, so motion stays smooth.
  """
  plan = actors.make_clip_plan(seed, cremad.ClipName(actor_id, "IEO", emotion, "HI"))
  rendered = np.stack(list(drawing.render_frames(seed, plan, frame_size)))
  cycle = np.concatenate([np.arange(len(rendered)), np.arange(len(rendered) - 2, 0, -1)])
  return rendered[cycle[np.arange(num_frames) % len(cycle)]]


def face_box(actor_id: int, frame_size: tuple[int, int], seed: int = 0) -> np.ndarray:
  """The approximate face box (x0, y0, x1, y1) of an actor in frames of `frame_size`."""
  actor = actors.make_actor(seed, actor_id)
  width, _ = frame_size
  half_width = actor.half_width * width
  half_height = half_width * actor.aspect
  centre_x = actor.centre[0] * width
  centre_y = actor.centre[1] * frame_size[1]
  return np.array([centre_x - half_width, centre_y - half_height, centre_x + half_width,
                   centre_y + half_height], np.float32)


@dataclasses.dataclass(frozen=True)
class SyntheticClip:
  """Frames and the true face boxes: `frames` uint8 `[N, H, W, 3]`, `boxes` float `[N, F, 4]`."""
  frames: np.ndarray
  boxes: np.ndarray
  fps: float


def one_face(num_frames: int, frame_size=(640, 480), actor_id: int = 1001, seed: int = 0,
             fps: float = 25.0) -> SyntheticClip:
  """One actor filling the frame as CREMA-D's do."""
  frames = face_frames(actor_id, num_frames, frame_size, seed)
  box = face_box(actor_id, frame_size, seed)
  return SyntheticClip(frames, np.broadcast_to(box, (num_frames, 1, 4)).copy(), fps)


def _sprite(actor_id: int, num_frames: int, seed: int, sprite_width: int) -> tuple:
  """Head-and-shoulders crops `[N, h, w, 3]` of an actor, and its face box in the crop."""
  render_size = (sprite_width * 2, sprite_width * 3 // 2)
  frames = face_frames(actor_id, num_frames, render_size, seed)
  box = face_box(actor_id, render_size, seed)
  centre_x = (box[0] + box[2]) / 2
  x0 = int(round(centre_x - sprite_width / 2))
  y0 = max(0, int(round(box[1] - 0.15 * (box[3] - box[1]))))
  height = min(render_size[1] - y0, int(sprite_width * 1.35))
  crops = frames[:, y0:y0 + height, x0:x0 + sprite_width]
  return crops, box - np.array([x0, y0, x0, y0], np.float32)


def two_faces(num_frames: int, frame_size=(640, 480), crossing: bool = False,
              actor_ids=(1001, 1002), seed: int = 0, fps: float = 25.0,
              sprite_width: int = 200) -> SyntheticClip:
  """Two actors side by side, or (`crossing`) walking past each other once.

  When crossing, the first actor moves left to right along a slightly higher line than
  the second, which moves right to left and is drawn on top; they overlap mid-clip.
  """
  width, height = frame_size
  sprites = [_sprite(a, num_frames, seed, sprite_width) for a in actor_ids]
  frames = np.empty((num_frames, height, width, 3), np.uint8)
  frames[:] = BACKGROUND
  boxes = np.zeros((num_frames, 2, 4), np.float32)
  for i in range(num_frames):
    progress = i / max(num_frames - 1, 1)
    for j, (crops, box) in enumerate(sprites):
      crop = crops[i]
      h, w = crop.shape[:2]
      if crossing:
        left, right = 0.02 * width, 0.98 * width - w
        start, end = (left, right) if j == 0 else (right, left)
        x = int(round(start + (end - start) * progress))
        y = int(round((0.03 if j == 0 else 0.22) * height))
      else:
        x = int(round((0.25 if j == 0 else 0.75) * width - w / 2))
        y = int(round(0.1 * height))
      h, w = min(h, height - y), min(w, width - x)
      crop = crop[:h, :w]
      # Chroma key: only the actor (not the green backdrop) is pasted, so heads that
      # cross occlude each other as heads do.
      red, green, blue = (crop[..., c].astype(np.int16) for c in range(3))
      actor = (green - np.maximum(red, blue)) < 40
      frames[i, y:y + h, x:x + w][actor] = crop[actor]
      boxes[i, j] = box + np.array([x, y, x, y], np.float32)
  return SyntheticClip(frames, boxes, fps)


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float = 25.0,
                codec: str | None = None, rotation: int = 0, audio_seconds: float = 0.0,
                bit_rate: int | None = None) -> str:
  """Encodes RGB frames into a video file (the container from the extension).

  Args:
    path: .mp4/.mov/.mkv (H.264), .webm (VP8), .avi (MPEG-4 part 2), .flv (FLV1).
    frames: uint8 `[H, W, 3]` RGB frames, all of one size (even sides).
    fps: frame rate.
    codec: overrides the codec chosen from the extension.
    rotation: display rotation to store (degrees counterclockwise, as phones' metadata):
      players (and `emo_jax.video.source`) rotate the stored frames by it.
    audio_seconds: add a 440 Hz tone of this length (AAC; MP3 in .flv/.avi) when > 0.
    bit_rate: video bit rate (codec default when None).

  Returns:
    The path.
  """
  path = os.fspath(path)
  extension = os.path.splitext(path)[1].lower()
  codec = codec or {".webm": "libvpx", ".avi": "mpeg4", ".flv": "flv"}.get(extension, "libx264")
  audio_codec = {".webm": "libvorbis", ".avi": "libmp3lame", ".flv": "libmp3lame"}.get(
      extension, "aac")
  rate = fractions.Fraction(fps).limit_denominator(1001)
  with av.open(path, "w") as container:
    stream = None
    sound = None
    for frame in frames:
      if stream is None:
        stream = container.add_stream(codec, rate=rate)
        stream.height, stream.width = frame.shape[:2]
        stream.pix_fmt = "yuv420p"
        if bit_rate:
          stream.bit_rate = bit_rate
        if codec == "libx264":
          stream.options = {"preset": "ultrafast"}
        if rotation:
          stream.set_display_rotation(rotation)
        if audio_seconds > 0:
          sound = container.add_stream(audio_codec, rate=44100)
          sound.layout = "mono"
      for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame),
                                                             format="rgb24")):
        container.mux(packet)
    if stream is None:
      raise ValueError(f"{path}: no frames to write")
    for packet in stream.encode():
      container.mux(packet)
    if sound is not None:
      samples = np.arange(int(audio_seconds * 44100)) / 44100
      tone = (0.2 * np.sin(2 * np.pi * 440 * samples)).astype(np.float32)[None]
      audio_frame = av.AudioFrame.from_ndarray(tone, format="flt", layout="mono")
      audio_frame.sample_rate = 44100
      for packet in sound.encode(audio_frame):
        container.mux(packet)
      for packet in sound.encode():
        container.mux(packet)
  return path


def rotate_for_storage(frames: np.ndarray, rotation: int) -> np.ndarray:
  """The frames a camera stores for upright `frames` `[N, H, W, 3]` with `rotation` metadata."""
  return np.ascontiguousarray(np.rot90(frames, -int(round(rotation / 90)) % 4, axes=(1, 2)))


def resize(frames: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
  return np.stack([cv2.resize(f, frame_size, interpolation=cv2.INTER_AREA) for f in frames])


def untrained_run(config_name: str = "fer2013_cnn", arg: str | None = None, seed: int = 0):
  """A `checkpoints.LoadedRun` of `configs/<config_name>.py` with random weights.

  Its predictions mean nothing, but its cost and shapes are the trained model's: for
  tests and benchmarks of the video pipeline. FER2013 configs take `[B, 1, 48, 48, 1]`
  frames and give 7 classes.
  """
  import importlib  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  from emo_jax import checkpoints  # pylint: disable=g-import-not-at-top
  from emo_jax import models  # pylint: disable=g-import-not-at-top
  config = importlib.import_module(f"configs.{config_name}").get_config(arg)
  dataset = config.data.dataset
  class_names = checkpoints.dataset_class_names(dataset)
  frames_shape = checkpoints.dataset_frames_shape(dataset)
  model = models.create_model(config.model, len(class_names))
  variables = model.init(jax.random.key(seed), np.zeros((1, *frames_shape), np.float32),
                         train=False)
  variables = {k: v for k, v in variables.items() if k in ("params", "batch_stats")}
  return checkpoints.LoadedRun(workdir=f"<untrained {config_name}>", config=config, model=model,
                               variables=variables, step=0, which="untrained",
                               class_names=class_names, frames_shape=frames_shape)
