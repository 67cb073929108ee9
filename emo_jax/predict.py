"""Names the emotion of the face in videos or images: `python -m emo_jax.predict PATH ...`.

    python -m emo_jax.predict clip.mp4                    # the bundled FER2013 face model
    python -m emo_jax.predict a.mp4 b.flv face.jpg --json
    python -m emo_jax.predict clip.flv --workdir workdirs/ae_lstm   # a run of your own
    python -m emo_jax.predict clip.mp4 --model fer2013.onnx         # an export: no JAX needed

A frame model (T = 1, e.g. the bundled FER2013 model) classifies the face in many frames
of the clip (up to `--max_frames`, spread evenly; 0 for every frame), each cropped around
the face found in that frame the way its training faces were cropped, and averages the
frames into the clip's probabilities (`--aggregate`: by default the normalised geometric
mean, which on real CREMA-D clips gave the right class more probability than the
arithmetic mean; README, "Real faces"). A clip model (T > 1) sees the clip
as its dataset stored it: T frames, one face crop per clip (`emo_jax.data.preprocess`).
Images (jpg, png, ...) are one-frame videos. The exit status is 1 when a file could not
be read or showed no face, 0 otherwise.
"""
import argparse
import dataclasses
import functools
import json
import os
import sys
from typing import Any

import cv2
import numpy as np

# JAX and the checkpoint code are imported where a JAX model is used, so that predicting
# with an exported ONNX model (`--model FILE.onnx`) needs only onnxruntime, numpy and OpenCV.
from emo_jax.data import decode
from emo_jax.data import faces
from emo_jax.data import fer2013
from emo_jax.data import preprocess

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
AGGREGATIONS = ("mean", "log_mean")
# Faces are searched on frames downscaled to this height: faces down to ~10% of the
# frame height are found (the dataset builders use 120 rows for CREMA-D's large faces).
DETECT_HEIGHT = 240
_BATCH = 32  # Frames per model call; the last batch is padded, so one compilation serves all.
DEFAULT_BUNDLED = "fer2013_vgg"  # = checkpoints.DEFAULT_BUNDLED, without importing JAX here.
# A loaded model: `checkpoints.LoadedRun` (JAX) or `emo_jax.export.runtime.OnnxModel`.
Model = Any


class PredictError(RuntimeError):
  """A file that cannot be predicted on (unreadable, not a video or image)."""


def load_model(workdir: str | None = None, bundled: str = DEFAULT_BUNDLED,
               which: str | int = "best", model: str | None = None) -> Model:
  """An exported ONNX `model` file, a training workdir's model, or else the bundled one."""
  if model:
    from emo_jax.export import runtime  # pylint: disable=g-import-not-at-top
    return runtime.load(model)
  from emo_jax import checkpoints  # pylint: disable=g-import-not-at-top
  if workdir:
    return checkpoints.load(workdir, which)
  return checkpoints.load_bundled(bundled)


@functools.lru_cache(maxsize=8)
def _probabilities_fn(model):
  """Jitted `(variables, frames) -> probabilities`, one per model (compiled once per shape)."""
  import jax  # pylint: disable=g-import-not-at-top

  def probabilities(variables, frames):
    logits, _ = model.apply(variables, frames, train=False)
    return jax.nn.softmax(logits.astype(np.float32), axis=-1)
  return jax.jit(probabilities)


def predict_frames(run: Model, frames: np.ndarray) -> np.ndarray:
  """Class probabilities `[B, K]` of uint8 clips `[B, T, S, S, C]` (or one clip `[T, S, S, C]`)."""
  if hasattr(run, "probabilities"):  # An exported model checks the shape itself.
    return np.asarray(run.probabilities(frames))
  frames = np.asarray(frames)
  if frames.ndim == 4:
    frames = frames[None]
  if tuple(frames.shape[1:]) != tuple(run.frames_shape):
    raise ValueError(f"frames of shape {frames.shape[1:]} do not match the run's "
                     f"{run.frames_shape} ([T, S, S, C])")
  frames = frames.astype(np.float32) / 255.0 if frames.dtype == np.uint8 else frames
  fn = _probabilities_fn(run.model)
  outputs = []
  for start in range(0, len(frames), _BATCH):
    chunk = frames[start:start + _BATCH]
    padded = np.concatenate([chunk, np.zeros((_BATCH - len(chunk), *chunk.shape[1:]),
                                             chunk.dtype)]) if len(chunk) < _BATCH else chunk
    outputs.append(np.asarray(fn(run.variables, padded))[:len(chunk)])
  return np.concatenate(outputs) if outputs else np.zeros((0, len(run.class_names)), np.float32)


def aggregate(probabilities: np.ndarray, how: str = "log_mean") -> np.ndarray:
  """Clip probabilities `[K]` from per-frame ones `[F, K]`.

  "mean" averages the probabilities; "log_mean" averages the log-probabilities (a
  geometric mean, renormalised), which lets confident frames weigh less and agreement
  between frames weigh more.
  """
  if how not in AGGREGATIONS:
    raise ValueError(f"aggregate must be one of {AGGREGATIONS}, got {how!r}")
  if how == "mean":
    return probabilities.mean(axis=0)
  log_mean = np.log(np.maximum(probabilities, 1e-12)).mean(axis=0)
  out = np.exp(log_mean - log_mean.max())
  return out / out.sum()


def is_image(path: str) -> bool:
  return os.path.splitext(path)[1].lower() in IMAGE_SUFFIXES


def read_frames(path: str, max_frames: int, backend: str = "auto") -> tuple[np.ndarray, np.ndarray, float]:
  """RGB frames `[F, H, W, 3]`, their indices in the source, and its frame rate.

  Up to `max_frames` frames spread evenly over the clip (0: every frame); an image is
  one frame. A truncated video gives the frames before the damage.
  """
  if not os.path.isfile(path):
    raise PredictError(f"{path}: file not found")
  if is_image(path):
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
      raise PredictError(f"{path}: not a readable image (expected one of "
                         f"{', '.join(IMAGE_SUFFIXES)} with matching contents)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)[None], np.zeros(1, np.int64), 0.0
  try:
    if max_frames <= 0:  # Every frame: ask for as many as the clip has.
      max_frames = decode.decode_video(path, 1, backend, strict=False).num_source_frames
    video = decode.decode_video(path, max_frames, backend, strict=False)
  except decode.DecodeError as e:
    raise PredictError(str(e)) from e
  # Short clips repeat indices to fill `max_frames`; each source frame is classified once.
  indices, first = np.unique(video.indices, return_index=True)
  return video.frames[first], indices, video.fps


def face_crops(frames: np.ndarray, size: int, grayscale: bool,
               margin: float = faces.FER2013_MARGIN) -> tuple[np.ndarray, list]:
  """Per frame, the largest face cropped square with `margin`: (`[F', S, S, C]`, boxes).

  Boxes are None for frames without a face; crops are returned for the frames with one.
  """
  height, width = frames.shape[1:3]
  boxes = faces.detect_faces(frames, detect_height=DETECT_HEIGHT)
  crops, crop_boxes = [], []
  for frame, box in zip(frames, boxes):
    if box is None:
      crop_boxes.append(None)
      continue
    square = faces.face_crop_box([box], height, width, margin)
    crops.append(faces.crop_frames(frame[None], square, size, grayscale)[0])
    crop_boxes.append(square)
  channels = 1 if grayscale else 3
  stacked = np.stack(crops) if crops else np.zeros((0, size, size, channels), np.uint8)
  return stacked, crop_boxes


@dataclasses.dataclass
class Prediction:
  """What `predict` found in one file.

  Attributes:
    path: the file.
    class_names: the model's classes, in the order of `probabilities`.
    probabilities: float32 `[K]` for the clip, or None when no face was found.
    frames: per classified frame: index, time (s), face box `[x, y, w, h]` or None, and
      its probabilities (frame models; empty for clip models).
    face_found_ratio: share of the frames looked at that showed a face.
    note: why there is no answer, when there is none.
  """
  path: str
  class_names: tuple[str, ...]
  probabilities: np.ndarray | None
  frames: list[dict]
  face_found_ratio: float
  note: str = ""

  @property
  def label(self) -> int | None:
    return None if self.probabilities is None else int(np.argmax(self.probabilities))

  @property
  def class_name(self) -> str | None:
    return None if self.label is None else self.class_names[self.label]

  def to_json(self) -> dict:
    mapping = None
    if tuple(self.class_names) == tuple(fer2013.FER_CLASSES):
      mapping = {name: fer2013.FER_TO_CREMAD[name] for name in self.class_names}
    return {
        "path": self.path,
        "class_name": self.class_name,
        "probabilities": (None if self.probabilities is None else
                          {n: round(float(p), 5) for n, p in zip(self.class_names, self.probabilities)}),
        "face_found_ratio": round(self.face_found_ratio, 4),
        "frames": self.frames,
        "cremad_classes": mapping,
        **({"note": self.note} if self.note else {}),
    }


def predict(path: str | os.PathLike, run: Model, max_frames: int = 64,
            how: str = "log_mean", margin: float | None = None,
            backend: str = "auto") -> Prediction:
  """Classifies the emotion of the face in a video or image.

  Args:
    path: a video (any format the decoders read) or an image.
    run: a loaded model (`load_model`, `checkpoints.load`, `checkpoints.load_bundled`, or
      an exported ONNX model from `emo_jax.export.runtime.load`).
    max_frames: frame models: frames classified, spread evenly over the clip; 0 for all.
    how: frame models: "mean" or "log_mean" of the frames' probabilities (`aggregate`).
    margin: frame models: context around each face, as a share of its size; None: the
      framing of the model's training faces (`faces.training_margin`).
    backend: video decoder, see `emo_jax.data.decode.decode_video`.

  Raises:
    PredictError: naming the file, when it is missing or cannot be read.
  """
  path = os.fspath(path)
  num_frames, size, _, channels = run.frames_shape
  if num_frames > 1:
    return _predict_clip_model(path, run, backend)
  if margin is None:
    config = getattr(run, "config", None)  # Exported models: FER2013-style frame models.
    margin = (faces.training_margin(str(config.data.dataset)) if config is not None
              else faces.FER2013_MARGIN)
  frames, indices, fps = read_frames(path, max_frames, backend)
  crops, boxes = face_crops(frames, size, channels == 1, margin)
  found = sum(box is not None for box in boxes)
  if not found:
    return Prediction(path, run.class_names, None, [], 0.0,
                      note=f"no face found in the {len(frames)} frame(s) looked at; no emotion "
                      "is given")
  per_frame = predict_frames(run, crops[:, None])
  records, k = [], 0
  for index, box in zip(indices, boxes):
    record = {"frame": int(index), "time": round(float(index / fps), 3) if fps else 0.0,
              "box": None if box is None else [int(v) for v in box], "probabilities": None}
    if box is not None:
      record["probabilities"] = [round(float(p), 5) for p in per_frame[k]]
      k += 1
    records.append(record)
  return Prediction(path, run.class_names, aggregate(per_frame, how).astype(np.float32), records,
                    found / len(boxes))


def _predict_clip_model(path: str, run: Model, backend: str) -> Prediction:
  """A clip model sees T frames with one face crop, as its dataset stored the clip."""
  if is_image(path):
    raise PredictError(f"{path}: an image, but this model classifies clips of "
                       f"{run.frames_shape[0]} frames; use a frame model (the bundled one)")
  if not os.path.isfile(path):
    raise PredictError(f"{path}: file not found")
  num_frames, size, _, channels = run.frames_shape
  try:
    clip = preprocess.load_clip(path, num_frames=num_frames, size=size,
                                grayscale=channels == 1, backend=backend, with_audio=False)
  except decode.DecodeError as e:
    raise PredictError(str(e)) from e
  probabilities = predict_frames(run, clip.frames)[0]
  return Prediction(path, run.class_names, probabilities, [], float(clip.face_found_ratio))


def predict_video(path: str | os.PathLike, workdir_or_loaded: "str | Model | None" = None,
                  which: str | int = "best", backend: str = "auto") -> dict:
  """`predict` for one file with a workdir, a loaded run, or (None) the bundled model.

  Returns:
    {"probabilities": float32 [K] or None, "label", "class_name", "class_names",
     "face_found_ratio", "frames"}.
  """
  run = (load_model(workdir_or_loaded, which=which)
         if workdir_or_loaded is None or isinstance(workdir_or_loaded, (str, os.PathLike))
         else workdir_or_loaded)
  result = predict(path, run, backend=backend)
  return {"probabilities": result.probabilities, "label": result.label,
          "class_name": result.class_name, "class_names": result.class_names,
          "face_found_ratio": result.face_found_ratio, "frames": result.frames}


def format_prediction(result: Prediction) -> str:
  if result.probabilities is None:
    return f"{result.path}: {result.note}"
  lines = [f"{result.path}: {result.class_name}"]
  lines += [f"{name:>10s} {p:6.1%}" + ("  <-" if i == result.label else "")
            for i, (name, p) in enumerate(zip(result.class_names, result.probabilities))]
  lines.append(f"face found in {result.face_found_ratio:.0%} of {max(len(result.frames), 1)} "
               "frame(s) looked at")
  return "\n".join(lines)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="python -m emo_jax.predict",
                                   description=__doc__.splitlines()[0])
  parser.add_argument("paths", nargs="+", help="video or image files")
  parser.add_argument("--workdir", default=None,
                      help="a training workdir (default: the bundled model)")
  parser.add_argument("--model", default=None,
                      help="an exported model (FILE.onnx from python -m emo_jax.export); "
                      "needs only onnxruntime, not JAX")
  parser.add_argument("--bundled", default=DEFAULT_BUNDLED,
                      help=f"bundled model name when no --workdir (default %(default)s)")
  parser.add_argument("--checkpoint", default="best", help="best, latest or a step number")
  parser.add_argument("--max_frames", type=int, default=64,
                      help="frame models: frames classified per clip, evenly spread; 0 = all")
  parser.add_argument("--aggregate", default="log_mean", choices=AGGREGATIONS,
                      help="frame models: how frame probabilities make the clip's")
  parser.add_argument("--margin", type=float, default=None,
                      help="frame models: context around the face, share of its size "
                      "(default: the framing of the model's training faces)")
  parser.add_argument("--backend", default="auto", help="video decoder (auto, decord, pyav)")
  parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
  args = parser.parse_args(argv)
  try:
    if args.model and args.workdir:
      raise ValueError("pass either --model FILE.onnx or --workdir DIR, not both")
    run = load_model(args.workdir, args.bundled, args.checkpoint, args.model)
  except (FileNotFoundError, ValueError, RuntimeError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  status, outputs = 0, []
  for path in args.paths:
    try:
      result = predict(path, run, args.max_frames, args.aggregate, args.margin, args.backend)
    except PredictError as e:
      print(f"error: {e}", file=sys.stderr)
      outputs.append({"path": path, "error": str(e)})
      status = 1
      continue
    if result.probabilities is None:
      status = 1
    outputs.append(result.to_json())
    if not args.json:
      print(format_prediction(result))
  if args.json:
    print(json.dumps(outputs[0] if len(outputs) == 1 else outputs, indent=1))
  return status


if __name__ == "__main__":
  sys.exit(main())
