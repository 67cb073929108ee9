"""Input and model perturbations for ablations: pure functions on `[B, T, H, W, C]` frames.

Every function takes float frames in [0, 1] (numpy or jax arrays) and returns a new
array. Random ones take one PRNG key per clip (`[B]` keys), made from the clip's record
index, so a clip gets the same perturbation however the evaluation is batched. Models
with several modalities (AudioVisualNet) also get "modality removed" perturbations,
which change the model's keyword inputs (`remove_modality`).
"""
from collections.abc import Callable, Mapping
import contextlib
import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

# What occluded pixels are filled with, chosen so that they are 0 after the model's input
# normalisation (`model.input_norm`), i.e. carry no signal: "grey" (0.5) for "fixed"
# (`x * 2 - 1`), "visible_mean" (the frame's mean over its visible pixels) for "per_frame",
# which subtracts the frame's mean; 0.5 there would be a bright or dark band whose edge
# and contrast with the face the model sees.
OCCLUSION_FILL = 0.5
OCCLUSION_FILLS = {"fixed": "grey", "per_frame": "visible_mean"}
# Where the bottleneck sits in the model's variables (`params/bottleneck/...`) and aux.
BOTTLENECK_SCOPE = "bottleneck"


def shuffle_time(frames: jax.Array, keys: jax.Array) -> jax.Array:
  """Permutes each clip's frames in time with its own key: `[B, T, ...] -> [B, T, ...]`."""
  permutations = jax.vmap(lambda key: jax.random.permutation(key, frames.shape[1]))(keys)
  return jnp.take_along_axis(
      frames, permutations.reshape(permutations.shape + (1,) * (frames.ndim - 2)), axis=1)


def subsample_frames(frames: jax.Array, stride: int = 2) -> jax.Array:
  """Keeps every `stride`-th frame: `[B, T, ...] -> [B, ceil(T / stride), ...]`."""
  if stride < 1:
    raise ValueError(f"stride must be >= 1, got {stride}")
  return frames[:, ::stride]


def prefix_frame_mask(batch_size: int, num_frames: int, num_valid: int) -> jax.Array:
  """`[B, T]` bool, True for the first `num_valid` frames (the form LSTMs need)."""
  if not 1 <= num_valid <= num_frames:
    raise ValueError(f"num_valid must be in 1..{num_frames}, got {num_valid}")
  return jnp.broadcast_to(jnp.arange(num_frames) < num_valid, (batch_size, num_frames))


def add_gaussian_noise(frames: jax.Array, keys: jax.Array, std: float) -> jax.Array:
  """Adds N(0, std^2) noise per pixel and clips to [0, 1]."""
  noise = jax.vmap(lambda key: jax.random.normal(key, frames.shape[1:], jnp.float32))(keys)
  return jnp.clip(frames + std * noise, 0.0, 1.0)


def occlude(frames: jax.Array, region: str, fill: str = "grey", window: int = 0) -> jax.Array:
  """Fills the "upper" or "lower" half of every frame (rows `[: H // 2]` or `[H // 2 :]`).

  Face crops are centred on the face, so the upper half holds the eyes and brows and
  the lower half the mouth.

  Args:
    frames: `[B, T, H, W, C]` float in [0, 1].
    region: "upper" or "lower".
    fill: "grey" (0.5, which the "fixed" input norm maps to 0) or "visible_mean" (each
      frame's mean over its visible pixels, which the "per_frame" input norm maps to 0:
      the frame's mean is then that very value).
    window: the model's `center_crop` (0: none): "visible_mean" then averages the
      visible pixels inside the central `window` x `window` pixels, those the model
      standardises.

  Returns:
    Frames of the same shape.
  """
  if region not in ("upper", "lower"):
    raise ValueError(f"region must be 'upper' or 'lower', got {region!r}")
  height, width = frames.shape[2:4]
  rows = jnp.arange(height) < height // 2
  if region == "lower":
    rows = ~rows
  if fill == "grey":
    value = jnp.asarray(OCCLUSION_FILL, frames.dtype)
  elif fill == "visible_mean":
    seen = jnp.ones((height, width), bool)
    if window and (window < height or window < width):
      top, left = (height - window) // 2, (width - window) // 2
      seen = ((jnp.arange(height)[:, None] >= top) & (jnp.arange(height)[:, None] < top + window)
              & (jnp.arange(width) >= left) & (jnp.arange(width) < left + window))
    weights = (seen & ~rows[:, None])[:, :, None].astype(frames.dtype)  # [H, W, 1]
    value = ((frames * weights).sum(axis=(2, 3, 4), keepdims=True)
             / (weights.sum() * frames.shape[4]))
  else:
    raise ValueError(f"fill must be one of {sorted(set(OCCLUSION_FILLS.values()))}, got {fill!r}")
  return jnp.where(rows[:, None, None], value, frames)


@contextlib.contextmanager
def replace_bottleneck_code(code: jax.Array):
  """Within the context, the model's bottleneck returns `code` (`[K]`, broadcast) as its code.

  A generic Flax method interception (`nn.intercept_methods`) on the submodule at
  `BOTTLENECK_SCOPE`, so no model change is needed. The reconstruction outputs are
  left as computed. Use it inside the function that is traced (jitted): interception
  happens at trace time, so a function traced without it keeps the real code.
  """
  def interceptor(next_fun, args, kwargs, context):
    outputs = next_fun(*args, **kwargs)
    if context.method_name != "__call__" or context.module.path != (BOTTLENECK_SCOPE,):
      return outputs
    real_code, *rest = outputs
    replaced = jnp.broadcast_to(jnp.asarray(code, real_code.dtype), real_code.shape)
    return (replaced, *rest)

  with nn.intercept_methods(interceptor):
    yield


@dataclasses.dataclass(frozen=True)
class Perturbation:
  """One way of evaluating a trained model differently.

  Attributes:
    name: short id, used in tables and file names.
    description: what is changed, for reports.
    frames_fn: `(frames [B, T, H, W, C] float, keys [B]) -> frames` or None.
    frame_mask_fn: `(batch_size, num_frames) -> [B, T] bool` frame mask, or None.
    uses_bottleneck_mean: replace the bottleneck code by its mean over training clips.
    inputs_fn: `(model keyword inputs) -> inputs`, e.g. `remove_modality`, or None.
  """
  name: str
  description: str
  frames_fn: Callable[[jax.Array, jax.Array], jax.Array] | None = None
  frame_mask_fn: Callable[[int, int], jax.Array] | None = None
  uses_bottleneck_mean: bool = False
  inputs_fn: Callable[[dict], dict] | None = None


def remove_modality(inputs: Mapping, modality: str) -> dict:
  """The model's inputs with `modality` ("audio" or "video") marked absent for every clip.

  An AudioVisualNet then masks that branch out entirely (zeroed frames, or every audio
  frame masked), as in training with modality dropout.
  """
  if modality not in ("audio", "video"):
    raise ValueError(f"modality must be 'audio' or 'video', got {modality!r}")
  batch = inputs["frames"].shape[0]
  # Behind a barrier the flags are not a compile-time constant: XLA would otherwise fold
  # the removed branch's convolutions over zeros at compile time (minutes on a CPU).
  absent = jax.lax.optimization_barrier(jnp.zeros((batch,), bool))
  return {**inputs, f"{modality}_present": absent}


def modality_removals(modalities: tuple[str, ...]) -> list[Perturbation]:
  """"audio_removed" and "video_removed", for a model with both modalities (else none)."""
  if set(modalities) != {"audio", "video"}:
    return []
  return [Perturbation(f"{m}_removed", f"{m} removed (the model sees only the "
                       f"{'video' if m == 'audio' else 'audio'})",
                       inputs_fn=lambda inputs, m=m: remove_modality(inputs, m))
          for m in ("audio", "video")]


def model_structure(model: nn.Module, variables: Mapping, frames_shape: tuple[int, ...]) -> dict:
  """What a model has, read from its variables and outputs (no compute: `jax.eval_shape`).

  Args:
    model: an EmotionNet (anything returning `(logits, aux)`).
    variables: its variables (arrays or ShapeDtypeStructs).
    frames_shape: one clip, `[T, H, W, C]`.

  Returns:
    {"num_frames", "aux_keys", "has_bottleneck", "per_frame", "input_norm", "center_crop",
    "modalities"}; modalities is ("audio", "video"), ("audio",) or ("video",): the branches
    whose logits aux holds (an AudioVisualNet's), ("video",) for a frames-only model.
  """
  abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x)),
                          dict(variables))
  frames = jax.ShapeDtypeStruct((1, *frames_shape), jnp.float32)
  _, aux = jax.eval_shape(lambda v, f: model.apply(v, f, train=False), abstract, frames)
  return {
      "num_frames": int(frames_shape[0]),
      "aux_keys": tuple(sorted(aux)),
      "has_bottleneck": "bottleneck" in aux and BOTTLENECK_SCOPE in variables.get("params", {}),
      # Per-frame models (encoder + temporal) honour a frame mask; 3D networks only see
      # zeroed frames, which is not "fewer frames".
      "per_frame": "frame_features" in aux,
      # How the model scales its input, which decides what an occlusion is filled with.
      "input_norm": getattr(model, "input_norm", "fixed"),
      "center_crop": int(getattr(model, "center_crop", 0) or 0),
      "modalities": (tuple(m for m in ("audio", "video") if f"{m}_logits" in aux)
                     or ("video",)),
  }


def applicable_perturbations(structure: Mapping, noise_stds=(0.1,)) -> list[Perturbation]:
  """The perturbations that make sense for a model with this `model_structure`."""
  num_frames = structure["num_frames"]
  chosen = modality_removals(tuple(structure.get("modalities", ("video",))))
  if "video" not in structure.get("modalities", ("video",)):
    return chosen  # Frames perturbations change nothing an audio-only model sees.
  if num_frames > 1:
    chosen.append(Perturbation("shuffle_time", "frames shuffled in time (per clip)",
                               frames_fn=shuffle_time))
    chosen.append(Perturbation(
        "half_frames_subsampled", f"every 2nd frame ({(num_frames + 1) // 2} of {num_frames})",
        frames_fn=lambda frames, keys: subsample_frames(frames, 2)))
    if structure["per_frame"]:
      half = max(num_frames // 2, 1)
      chosen.append(Perturbation(
          "first_half_frames", f"only the first {half} of {num_frames} frames (frame mask)",
          frame_mask_fn=lambda batch, frames, half=half: prefix_frame_mask(batch, frames, half)))
  if structure["has_bottleneck"]:
    chosen.append(Perturbation("bottleneck_mean", "bottleneck code replaced by its training mean",
                               uses_bottleneck_mean=True))
  for std in noise_stds:
    chosen.append(Perturbation(
        f"noise_{std:g}", f"Gaussian pixel noise, std {std:g} (pixels in [0, 1])",
        frames_fn=lambda frames, keys, std=std: add_gaussian_noise(frames, keys, std)))
  fill = OCCLUSION_FILLS[structure.get("input_norm", "fixed")]
  window = structure.get("center_crop", 0)
  for region in ("upper", "lower"):
    chosen.append(Perturbation(
        f"occlude_{region}", f"{region} half of the face crop filled with " + (
            "mid-grey" if fill == "grey" else "the frame's mean over the visible half")
        + " (0 after the model's input normalisation)",
        frames_fn=lambda frames, keys, region=region: occlude(frames, region, fill, window)))
  return chosen
