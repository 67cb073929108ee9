"""`export(...)`: a loaded run -> a checked StableHLO or ONNX file with its JSON sidecar."""
import dataclasses
import os
import tempfile
from typing import Any, Callable

import numpy as np

from emo_jax.export import checks
from emo_jax.export import model_function
from emo_jax.export import runtime

FORMATS = ("stablehlo", "onnx")
QUANTIZATIONS = ("none", "int8")


@dataclasses.dataclass(frozen=True)
class ExportResult:
  path: str
  metadata: runtime.ExportMetadata
  check: dict[str, Any]
  size_bytes: int
  notes: tuple[str, ...] = ()


def check_output_path(out: str | os.PathLike) -> str:
  """Raises FileNotFoundError when the output's directory does not exist."""
  out = os.fspath(out)
  directory = os.path.dirname(os.path.abspath(out))
  if not os.path.isdir(directory):
    raise FileNotFoundError(f"the directory of --out {out} ({directory}) does not exist; "
                            f"create it first (mkdir -p {directory})")
  if os.path.isdir(out):
    raise IsADirectoryError(f"--out {out} is a directory; give a file name, e.g. "
                            f"{os.path.join(out, 'model.onnx')}")
  return out


def export(source: model_function.ExportSource, export_format: str, out: str | os.PathLike,
           quantize: str = "none", data_dir: str | None = None, calibration_examples: int = 256,
           test_examples: int = 1000, check_batch_size: int = 16,
           log: Callable[[str], None] = lambda text: None) -> ExportResult:
  """Exports `source` to `out`, runs the export against the JAX model and records the check.

  Args:
    source: `model_function.load_source(...)`.
    export_format: "stablehlo" or "onnx".
    out: the file to write; `<out>.json` gets the metadata (class names, input spec, check).
    quantize: "none" or "int8" (ONNX: onnxruntime static quantisation calibrated on
      `calibration_examples` training clips, dynamic without the dataset; StableHLO: qwix).
    data_dir: the TFDS data dir of the run's dataset (default: the run's config).
    calibration_examples: training clips for the int8 calibration.
    test_examples: test clips both models are scored on (0: all); none without the dataset.
    check_batch_size: size of the fixed batch compared probability by probability.
    log: progress messages.

  Raises:
    ExportError: the model does not export to this format (which layer and why).
    FileNotFoundError: the output directory does not exist.
  """
  if export_format not in FORMATS:
    raise ValueError(f"--format {export_format!r} must be one of {FORMATS}")
  if quantize not in QUANTIZATIONS:
    raise ValueError(f"--quantize {quantize!r} must be one of {QUANTIZATIONS}")
  out = check_output_path(out)
  run, notes = source.run, []
  quantized = quantize == "int8"

  test, calibration = None, None
  try:
    if test_examples >= 0:
      test = checks.read_examples(run, "test", test_examples, data_dir)
    if quantized and export_format == "onnx":
      calibration = checks.read_examples(run, "train", calibration_examples, data_dir, seed=1)
  except FileNotFoundError as e:
    notes.append(f"dataset not available ({_first_line(e)}): the check uses random frames"
                 + (", int8 falls back to dynamic quantisation" if quantized else ""))

  log(f"exporting {source.name} to {export_format}"
      + (" (int8)" if quantized else "") + " ...")
  if export_format == "stablehlo":
    from emo_jax.export import stablehlo  # pylint: disable=g-import-not-at-top
    exported = stablehlo.export(source, quantize)
    quantization = ("int8 qwix PTQ (int8 weights and dynamic-range int8 activations of conv "
                    "and dense layers)" if quantized else "none")
    stablehlo.save(exported, out, model_function.metadata(source, "stablehlo", quantization))
    model = stablehlo.load(out)
  else:
    quantization = _export_onnx(source, out, quantized, calibration)
    model = _open_onnx(source, out)

  log("checking the export against the JAX model ...")
  batch = checks.fixed_batch(run, test, check_batch_size)
  check = checks.compare(run, model.probabilities, batch, test, quantized)
  metadata = model_function.metadata(source, export_format, quantization, check)
  runtime.write_sidecar(out, metadata)
  if export_format == "onnx":
    _rewrite_onnx_metadata(out, metadata)
  return ExportResult(out, metadata, check, os.path.getsize(out), tuple(notes))


def _export_onnx(source, out: str, quantized: bool, calibration: checks.Examples | None) -> str:
  """Writes the ONNX export, int8 when `quantized` (static with `calibration` clips, else
  dynamic); returns how it was quantised."""
  from emo_jax.export import onnx_export  # pylint: disable=g-import-not-at-top
  proto = onnx_export.convert(source)
  metadata = model_function.metadata(source, "onnx")
  if not quantized:
    onnx_export.save(proto, out, metadata)
    return "none"
  from emo_jax.export import quantize  # pylint: disable=g-import-not-at-top
  with tempfile.TemporaryDirectory(prefix="emo_jax_export_") as tmp:
    float_path = os.path.join(tmp, "float32.onnx")
    onnx_export.save(proto, float_path, metadata)
    frames = None if calibration is None else calibration.frames.astype(np.float32) / 255.0
    return quantize.quantize_int8(float_path, out, frames)


def _open_onnx(source, out: str):
  try:
    return runtime.load(out)
  except (FileNotFoundError, ImportError):
    raise
  except Exception as e:  # pylint: disable=broad-except  (onnxruntime rejects the graph)
    raise model_function.ExportError(
        f"{source.name} ({model_function._model_summary(source.run)}) does not export to "  # pylint: disable=protected-access
        f"ONNX: jax2onnx wrote a graph that onnxruntime rejects: {_first_line(e)}. Export it "
        "with --format stablehlo, or see docs/export.md for the configs that export to "
        "ONNX") from e


def _rewrite_onnx_metadata(path: str, metadata: runtime.ExportMetadata):
  import onnx  # pylint: disable=g-import-not-at-top
  from emo_jax.export import onnx_export  # pylint: disable=g-import-not-at-top
  proto = onnx.load(path)
  onnx_export.embed_metadata(proto, metadata)
  onnx.save(proto, path)


def _first_line(error: BaseException) -> str:
  lines = str(error).strip().splitlines()
  return lines[0] if lines else type(error).__name__
