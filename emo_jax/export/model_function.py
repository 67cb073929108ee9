"""The function every export is made of: `[B, T, S, S, C]` float32 frames -> probabilities `[B, K]`."""
import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from emo_jax import checkpoints
from emo_jax.export import runtime


class ExportError(ValueError):
  """A run that cannot be exported to the format asked for; the message says why."""


@dataclasses.dataclass(frozen=True)
class ExportSource:
  """A loaded run and where it came from (for the metadata and the messages)."""
  run: checkpoints.LoadedRun
  description: dict[str, Any]

  @property
  def name(self) -> str:
    return self.description.get("workdir") or f"bundled {self.description.get('bundled')}"


def load_source(workdir: str | None = None, bundled: str | None = None,
                which: str | int = "best") -> ExportSource:
  """Loads `--workdir DIR` or `--bundled NAME` (exactly one).

  Raises:
    FileNotFoundError: when the workdir (or its config or checkpoint) does not exist.
    ValueError: when neither or both are given.
  """
  if (workdir is None) == (bundled is None):
    raise ValueError("pass exactly one of --workdir DIR and --bundled NAME")
  if bundled is not None:
    load_bundled = getattr(checkpoints, "load_bundled", None)
    if load_bundled is None:
      raise ValueError("this emo_jax has no bundled models (emo_jax.checkpoints.load_bundled)")
    run = load_bundled(bundled)
    return ExportSource(run, {"bundled": bundled, "step": int(run.step)})
  import os  # pylint: disable=g-import-not-at-top
  if not os.path.isdir(workdir):
    raise FileNotFoundError(f"workdir {workdir} does not exist (pass the --workdir of a "
                            "finished `python -m emo_jax.train` run)")
  run = checkpoints.load(workdir, which)
  return ExportSource(run, {"workdir": os.path.abspath(workdir), "step": int(run.step),
                            "checkpoint": str(run.which)})


def probabilities_function(run: checkpoints.LoadedRun) -> Callable[[jax.Array], jax.Array]:
  """The run's model in evaluation mode with its variables baked in.

  `[B, T, S, S, C]` float32 frames in [0, 1] -> `[B, K]` float32 class probabilities.
  """
  model, variables = run.model, run.variables

  def probabilities(frames: jax.Array) -> jax.Array:
    logits, _ = model.apply(variables, frames, train=False)
    return jax.nn.softmax(logits.astype(jnp.float32), axis=-1)

  return probabilities


def input_spec(run: checkpoints.LoadedRun, batch_size: int | str = "batch") -> jax.ShapeDtypeStruct:
  """`[B, T, S, S, C]` float32, B symbolic (a name) or fixed (an int)."""
  if isinstance(batch_size, str):
    batch_size, = jax.export.symbolic_shape(batch_size)
  return jax.ShapeDtypeStruct((batch_size, *run.frames_shape), jnp.float32)


def metadata(source: ExportSource, export_format: str, quantization: str = "none",
             check: dict[str, Any] | None = None) -> runtime.ExportMetadata:
  run = source.run
  return runtime.ExportMetadata(
      format=export_format, class_names=tuple(run.class_names),
      frames_shape=tuple(int(d) for d in run.frames_shape), quantization=quantization,
      source=dict(source.description, dataset=run.config.data.dataset,
                  model=_model_summary(run)), check=check or {})


def _model_summary(run: checkpoints.LoadedRun) -> str:
  """e.g. "encoder=conv temporal=lstm(bidirectional) bottleneck=64 head"."""
  model_config = run.config.model
  if model_config.get("ensemble"):
    return f"ensemble of {len(model_config.ensemble)}"
  parts = []
  for key in ("encoder", "video", "temporal"):
    sub = model_config.get(key)
    if sub:
      name = sub.get("name", key)
      if key == "temporal" and name == "lstm" and sub.get("bidirectional"):
        name += "(bidirectional)"
      parts.append(f"{key}={name}")
  if model_config.get("bottleneck"):
    parts.append(f"bottleneck={model_config.bottleneck.dim}")
  return " ".join(parts)


def jax_probabilities(run: checkpoints.LoadedRun, frames: np.ndarray,
                      batch_size: int = 64) -> np.ndarray:
  """The JAX model's probabilities `[N, K]` of uint8 or [0, 1] frames `[N, T, S, S, C]`."""
  function = jax.jit(probabilities_function(run))
  frames = np.asarray(frames)
  outputs = []
  for start in range(0, len(frames), batch_size):
    chunk = runtime.as_model_input(frames[start:start + batch_size], run.frames_shape, "the run")
    outputs.append(np.asarray(function(chunk)))
  return np.concatenate(outputs) if outputs else np.zeros((0, run.num_classes), np.float32)
