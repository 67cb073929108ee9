"""Runs a trained model on a video file: `python -m emo_jax.predict VIDEO --workdir DIR`.

The clip is decoded and face-cropped by `emo_jax.data.preprocess.load_clip` with the
frame count, size and colour of the dataset the run was trained on, the same path the
dataset builder used, so the model sees what it saw in training.
"""
import argparse
import json
import os
import sys

import jax
import numpy as np

from emo_jax import checkpoints
from emo_jax.data import preprocess


def predict_frames(run: checkpoints.LoadedRun, frames: np.ndarray) -> np.ndarray:
  """Class probabilities `[B, K]` of uint8 clips `[B, T, S, S, C]` (or one clip `[T, S, S, C]`)."""
  frames = np.asarray(frames)
  if frames.ndim == 4:
    frames = frames[None]
  if tuple(frames.shape[1:]) != tuple(run.frames_shape):
    raise ValueError(f"frames of shape {frames.shape[1:]} do not match the run's "
                     f"{run.frames_shape} ([T, S, S, C])")
  frames = frames.astype(np.float32) / 255.0 if frames.dtype == np.uint8 else frames
  logits, _ = run.model.apply(run.variables, frames, train=False)
  return np.asarray(jax.nn.softmax(logits.astype(np.float32), axis=-1))


def predict_video(path: str | os.PathLike, workdir_or_loaded: str | checkpoints.LoadedRun,
                  which: str | int = "best", backend: str = "auto") -> dict:
  """Classifies the emotion of the face in a video.

  Args:
    path: a video file (any format the decoders read, e.g. CREMA-D's .flv or .mp4).
    workdir_or_loaded: a training workdir or a `checkpoints.load(...)` result (pass the
      latter to classify many videos without reloading).
    which: checkpoint when a workdir is given: "best", "latest" or a step.
    backend: video decoder, see `emo_jax.data.decode.decode_video`.

  Returns:
    {"probabilities": float32 [K], "label": int, "class_name": str,
     "class_names": tuple, "face_found_ratio": float (0: no face was found, the centre
     crop was used)}.

  Raises:
    FileNotFoundError: when the video does not exist.
    emo_jax.data.decode.DecodeError: when it cannot be decoded.
  """
  if not os.path.isfile(path):
    raise FileNotFoundError(f"video {path} not found")
  run = (workdir_or_loaded if isinstance(workdir_or_loaded, checkpoints.LoadedRun)
         else checkpoints.load(os.fspath(workdir_or_loaded), which))
  num_frames, size, _, channels = run.frames_shape
  clip = preprocess.load_clip(path, num_frames=num_frames, size=size, grayscale=channels == 1,
                              backend=backend, with_audio=False)
  probabilities = predict_frames(run, clip.frames)[0]
  label = int(np.argmax(probabilities))
  return {"probabilities": probabilities.astype(np.float32), "label": label,
          "class_name": run.class_names[label], "class_names": run.class_names,
          "face_found_ratio": float(clip.face_found_ratio)}


def format_prediction(result: dict) -> str:
  lines = [f"{name:>10s} {p:6.1%}" + ("  <-" if i == result["label"] else "")
           for i, (name, p) in enumerate(zip(result["class_names"], result["probabilities"]))]
  lines.append(f"face found in {result['face_found_ratio']:.0%} of frames")
  return "\n".join(lines)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="python -m emo_jax.predict",
                                   description=__doc__.splitlines()[0])
  parser.add_argument("video", help="video file")
  parser.add_argument("--workdir", required=True, help="training workdir")
  parser.add_argument("--checkpoint", default="best", help="best, latest or a step number")
  parser.add_argument("--backend", default="auto", help="video decoder (auto, decord, pyav)")
  parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
  args = parser.parse_args(argv)
  result = predict_video(args.video, args.workdir, args.checkpoint, args.backend)
  if args.json:
    print(json.dumps({"video": args.video, "class_name": result["class_name"],
                      "face_found_ratio": result["face_found_ratio"],
                      "probabilities": dict(zip(result["class_names"],
                                                result["probabilities"].tolist()))}, indent=2))
  else:
    print(f"{args.video}: {result['class_name']}")
    print(format_prediction(result))
  return 0


if __name__ == "__main__":
  sys.exit(main())
