"""StableHLO-free route to ONNX: the run's probability function through jax2onnx.

jax2onnx traces the function with its own replacements of Flax and jax.numpy calls
installed. Three of them do not fit our models, so the trace runs under `_flax_compatible`:
  - its `jnp.shape` returns a traced array, which Flax's `nn.scan` cannot use as a
    static shape; the original `jnp.shape` is put back for the call;
  - it has no lowering for the random key the LSTM cell draws (and does not use) to
    make its zero initial state, nor for the length-dependent gather of padded clips.
    An export always sees whole clips (no frame mask), so every `nn.RNN` is called
    with `seq_lengths=None` and a zero initial carry. Flax then runs the backward
    direction of a bidirectional LSTM as it always does, by flipping the input and
    scanning forward (jax2onnx cannot convert a reversed scan), so the maths is the
    model's: the check after export compares the two to 1e-4;
  - its `nn.max_pool` takes the window only as a keyword.
"""
import contextlib
import logging
import os
import traceback
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from emo_jax.export import model_function
from emo_jax.export import runtime

_ORIGINAL_JNP_SHAPE = jnp.shape
_MODELS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")
OPSET = 21


def _whole_clip_rnn(next_fun, args, kwargs, context):
  """`nn.intercept_methods` hook: `nn.RNN` without sequence lengths, from a zero state."""
  module = context.module
  if not isinstance(module, nn.RNN) or context.method_name != "__call__":
    return next_fun(*args, **kwargs)
  inputs = args[0]
  cell = module.cell
  time_axis = 0 if module.time_major else 1
  carry_input_shape = inputs.shape[:time_axis] + inputs.shape[time_axis + 1:]
  with jax.ensure_compile_time_eval():
    if jnp.any(cell.carry_init(jax.random.key(0), (1,), jnp.float32) != 0):
      raise model_function.ExportError(
          f"{type(cell).__name__} has a non-zero carry_init; the ONNX export starts LSTMs "
          "from zeros")
  shapes = jax.eval_shape(lambda: cell.initialize_carry(jax.random.key(0), carry_input_shape))
  carry = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
  return next_fun(*args, **dict(kwargs, seq_lengths=None, initial_carry=carry))


@contextlib.contextmanager
def _flax_compatible():
  """Undoes the parts of jax2onnx's tracing replacements that do not fit our models."""
  patched_shape, patched_max_pool = jnp.shape, nn.max_pool

  def max_pool(inputs, window_shape, strides=None, padding="VALID"):
    # jax2onnx's replacement takes the window only as a keyword; the models pass it
    # positionally, as Flax allows.
    return patched_max_pool(inputs, window_shape=window_shape, strides=strides,
                            padding=padding)

  jnp.shape, nn.max_pool = _ORIGINAL_JNP_SHAPE, max_pool
  try:
    with nn.intercept_methods(_whole_clip_rnn):
      yield
  finally:
    jnp.shape, nn.max_pool = patched_shape, patched_max_pool


def convert(source: model_function.ExportSource):
  """The run as an `onnx.ModelProto`: input "frames" `[batch, T, S, S, C]` float32 in
  [0, 1], output "probabilities" `[batch, K]`.

  Raises:
    ExportError: naming the layer jax2onnx could not convert and why.
  """
  from jax2onnx import to_onnx  # pylint: disable=g-import-not-at-top  (optional dependency)
  run = source.run
  probabilities = model_function.probabilities_function(run)

  def traced(frames):
    with _flax_compatible():
      return probabilities(frames)

  # onnx_ir warns about every untyped shape value jax2onnx leaves; the check after the
  # export is what tells whether the graph is right.
  logging.getLogger("onnx_ir").setLevel(logging.ERROR)
  try:
    return to_onnx(traced, inputs=[("batch", *run.frames_shape)], input_names=["frames"],
                   output_names=["probabilities"], model_name="emo_jax", opset=OPSET)
  except model_function.ExportError:
    raise
  except Exception as e:  # pylint: disable=broad-except  (any converter failure)
    raise model_function.ExportError(
        f"{source.name} ({model_function._model_summary(run)}) does not export to ONNX: "  # pylint: disable=protected-access
        f"{_failing_layer(e)}{type(e).__name__}: {_first_line(e)}. jax2onnx cannot convert "
        "this layer; export it with --format stablehlo, which takes every model, or see "
        "docs/export.md for the configs that export to ONNX") from e


def _failing_layer(error: BaseException) -> str:
  """'layer TemporalAttention "temporal" (emo_jax/models/attention.py:116) failed: ' or ''."""
  layer = ""
  for frame, line in traceback.walk_tb(error.__traceback__):
    module = frame.f_locals.get("self")
    filename = frame.f_code.co_filename
    if isinstance(module, nn.Module) and filename.startswith(_MODELS_DIR):
      path = "/".join(getattr(module, "path", ()) or ()) or (module.name or "")
      where = os.path.relpath(filename, os.path.dirname(os.path.dirname(_MODELS_DIR)))
      layer = f"layer {type(module).__name__} {path!r} ({where}:{line}) failed: "
  return layer


def _first_line(error: BaseException) -> str:
  text = str(error).strip().splitlines()
  return text[0] if text else ""


def save(model_proto, path: str | os.PathLike, metadata: runtime.ExportMetadata) -> str:
  """Writes the model with its metadata embedded, and the JSON sidecar beside it."""
  import onnx  # pylint: disable=g-import-not-at-top
  embed_metadata(model_proto, metadata)
  onnx.save(model_proto, os.fspath(path))
  runtime.write_sidecar(path, metadata)
  return os.fspath(path)


def embed_metadata(model_proto, metadata: runtime.ExportMetadata):
  for entry in list(model_proto.metadata_props):
    if entry.key == runtime.METADATA_KEY:
      model_proto.metadata_props.remove(entry)
  entry = model_proto.metadata_props.add()
  entry.key, entry.value = runtime.METADATA_KEY, metadata.to_json()


def onnx_versions() -> dict[str, Any]:
  import jax2onnx  # pylint: disable=g-import-not-at-top
  import onnx  # pylint: disable=g-import-not-at-top
  import onnxruntime  # pylint: disable=g-import-not-at-top
  versions = {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__, "opset": OPSET}
  versions["jax2onnx"] = getattr(jax2onnx, "__version__", None) or _distribution_version("jax2onnx")
  return versions


def _distribution_version(name: str) -> str:
  from importlib import metadata  # pylint: disable=g-import-not-at-top
  try:
    return metadata.version(name)
  except metadata.PackageNotFoundError:
    return "unknown"


