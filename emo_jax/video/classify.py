"""Face crops and the jitted, fixed-batch-size model call that classifies them."""
import functools

import jax
import jax.numpy as jnp
import numpy as np

from emo_jax import checkpoints
from emo_jax.data import faces

# Faces of one frame are classified together, padded to the next of these batch sizes, so
# the jitted call compiles at most once per size (not once per face count).
BATCH_SIZES = (1, 2, 4, 8, 16)
def crop_margin(run: checkpoints.LoadedRun) -> float:
  """The crop margin that reproduces the framing of the run's training faces
  (`faces.training_margin`: FER2013's tight faces, or the dataset builders' crops)."""
  dataset = str(run.config.data.dataset) if "data" in run.config else ""
  return faces.training_margin(dataset)


def box_to_square(box: np.ndarray, height: int, width: int,
                  margin: float = faces.DATASET_MARGIN) -> faces.Box:
  """The training crop for a face box (x0, y0, x1, y1): `faces.face_crop_box` of that one box."""
  x0, y0, x1, y1 = (float(v) for v in box)
  face = faces.Box(round(x0), round(y0), max(1, round(x1 - x0)), max(1, round(y1 - y0)))
  return faces.face_crop_box([face], height, width, margin)


num_traces = 0  # compilations of `_probabilities`, for tests that catch recompiles


@functools.partial(jax.jit, static_argnums=0)
def _probabilities(model, variables, frames):
  """uint8 `[B, T, S, S, C]` -> float32 `[B, K]`; compiled once per model and batch size.

  The model is a static argument (Linen modules hash by value), so every classifier of
  the same model shares the compiled code: a second video does not compile again.
  """
  global num_traces
  num_traces += 1  # Python side effect: runs once per compilation.
  logits, _ = model.apply(variables, frames.astype(jnp.float32) / 255.0, train=False)
  return jax.nn.softmax(logits.astype(jnp.float32), axis=-1)


class FaceClassifier:
  """Runs a trained run's model on face crops.

  Args:
    run: a `checkpoints.LoadedRun` (e.g. `checkpoints.load(workdir)`).
    margin: crop context around each face box; None: `crop_margin(run)`.
  """

  def __init__(self, run: checkpoints.LoadedRun, margin: float | None = None):
    self.run = run
    self.num_frames, self.size, _, self.channels = run.frames_shape
    self.margin = crop_margin(run) if margin is None else margin
    self.class_names = tuple(run.class_names)

  def crop(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """uint8 `[H, W, 3]` RGB frame and a face box -> uint8 `[S, S, C]` crop the model takes."""
    square = box_to_square(box, image.shape[0], image.shape[1], self.margin)
    return faces.crop_frames(image[None], square, self.size, self.channels == 1)[0]

  def __call__(self, clips: np.ndarray) -> np.ndarray:
    """uint8 `[N, T, S, S, C]` -> float32 `[N, K]` class probabilities."""
    clips = np.asarray(clips, np.uint8)
    if clips.shape[1:] != tuple(self.run.frames_shape):
      raise ValueError(f"clips of shape {clips.shape[1:]} do not match the model's "
                       f"{self.run.frames_shape} ([T, S, S, C])")
    outputs = []
    largest = BATCH_SIZES[-1]
    for start in range(0, len(clips), largest):
      chunk = clips[start:start + largest]
      padded_size = next(b for b in BATCH_SIZES if b >= len(chunk))
      padded = np.zeros((padded_size, *chunk.shape[1:]), np.uint8)
      padded[:len(chunk)] = chunk
      outputs.append(np.asarray(
          _probabilities(self.run.model, self.run.variables, padded))[:len(chunk)])
    if not outputs:
      return np.zeros((0, len(self.class_names)), np.float32)
    return np.concatenate(outputs)

  def warm_up(self, batch_sizes=(1,)) -> None:
    """Compiles for these batch sizes now, so the first frames are not slow."""
    for size in batch_sizes:
      self(np.zeros((size, *self.run.frames_shape), np.uint8))
