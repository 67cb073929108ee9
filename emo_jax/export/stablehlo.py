"""StableHLO export with `jax.export`: a serialised module with a symbolic batch dimension.

    exported = stablehlo.load("model.stablehlo")   # no Flax, no model code
    probabilities = exported.probabilities(frames)  # [B, T, S, S, C] -> [B, K]

Platforms "cpu" and "cuda" are both lowered, so the file runs on either.
"""
import os

import jax
import jax.numpy as jnp
import numpy as np

from emo_jax.export import model_function
from emo_jax.export import runtime

PLATFORMS = ("cpu", "cuda")


def export(source: model_function.ExportSource, quantize: str = "none") -> jax.export.Exported:
  """The run's probabilities as a `jax.export.Exported` with a symbolic batch size.

  Args:
    source: the loaded run.
    quantize: "none", or "int8": weights and activations of the convolutions and dense
      layers in int8 with qwix's post-training quantization (dynamic-range activations,
      as XLA runs them; the LSTM cells' weights stay float32). See docs/export.md.
  """
  run = source.run
  if quantize == "int8":
    probabilities = _qwix_int8_function(run)
  elif quantize == "none":
    probabilities = model_function.probabilities_function(run)
  else:
    raise ValueError(f"quantize={quantize!r} must be 'none' or 'int8'")
  spec = model_function.input_spec(run, "batch")
  try:
    return jax.export.export(jax.jit(probabilities), platforms=PLATFORMS)(spec)
  except Exception as e:  # pylint: disable=broad-except
    raise model_function.ExportError(
        f"{source.name}: jax.export could not lower the model: {type(e).__name__}: {e}") from e


def _qwix_int8_function(run):
  """The run's probability function with qwix int8 PTQ of its weights (and activations)."""
  import qwix  # pylint: disable=g-import-not-at-top  (optional dependency)
  rules = [qwix.QuantizationRule(module_path=".*", weight_qtype=jnp.int8, act_qtype=jnp.int8)]
  quantized_model = qwix.quantize_model(run.model, qwix.PtqProvider(rules))
  example = jnp.zeros((1, *run.frames_shape), jnp.float32)
  abstract = jax.eval_shape(
      lambda: quantized_model.init(jax.random.key(0), example, train=False))
  variables = dict(run.variables, params=qwix.quantize_params(run.variables["params"],
                                                              abstract["params"]))

  def probabilities(frames):
    logits, _ = quantized_model.apply(variables, frames, train=False)
    return jax.nn.softmax(logits.astype(jnp.float32), axis=-1)

  return probabilities


def save(exported: jax.export.Exported, path: str | os.PathLike,
         metadata: runtime.ExportMetadata) -> str:
  with open(path, "wb") as f:
    f.write(exported.serialize())
  runtime.write_sidecar(path, metadata)
  return os.fspath(path)


class StableHloModel(runtime.ExportedModel):
  """A deserialised export behind the call shape of a loaded run (no Flax needed)."""

  def __init__(self, path: str | os.PathLike):
    self.path = os.fspath(path)
    if not os.path.isfile(self.path):
      raise FileNotFoundError(f"StableHLO export {self.path} not found")
    with open(self.path, "rb") as f:
      self.exported = jax.export.deserialize(bytearray(f.read()))
    self.metadata = runtime.read_sidecar(self.path)
    self._call = jax.jit(self.exported.call)

  def probabilities(self, frames: np.ndarray) -> np.ndarray:
    """Class probabilities `[B, K]` of uint8 or [0, 1] float clips `[B, T, S, S, C]`."""
    inputs = runtime.as_model_input(frames, self.frames_shape, self.path)
    return np.asarray(self._call(inputs))

  __call__ = probabilities


def load(path: str | os.PathLike) -> StableHloModel:
  return StableHloModel(path)
