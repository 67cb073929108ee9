"""Post-training int8 quantisation of an exported ONNX model with onnxruntime.quantization.

Static (QDQ, per-channel int8 weights, uint8 activations with ranges calibrated on a few
hundred training clips) when calibration frames are given, else dynamic (int8 weights,
activation ranges computed at run time). Loop bodies (the LSTM) are left in float32.
"""
import os
import tempfile

import numpy as np

CALIBRATION_BATCH_SIZE = 32
# The layers that hold the weights; quantising only their inputs keeps the calibration to
# the tensors that matter (the rest of the graph is shape arithmetic and elementwise ops).
QUANTIZED_OPS = ["Conv", "MatMul", "Gemm"]


class _FramesReader:
  """onnxruntime's CalibrationDataReader over float32 frames `[N, T, S, S, C]`."""

  def __init__(self, input_name: str, frames: np.ndarray):
    self._batches = iter([{input_name: frames[start:start + CALIBRATION_BATCH_SIZE]}
                          for start in range(0, len(frames), CALIBRATION_BATCH_SIZE)])

  def get_next(self):
    return next(self._batches, None)


def quantize_int8(float_path: str | os.PathLike, out_path: str | os.PathLike,
                  calibration_frames: np.ndarray | None = None,
                  input_name: str = "frames") -> str:
  """Writes the int8 version of `float_path` to `out_path`; returns how it was quantised.

  Args:
    float_path: a float32 ONNX export.
    out_path: where the int8 model goes.
    calibration_frames: float32 `[N, T, S, S, C]` in [0, 1] (a few hundred training
      clips) for static quantisation, or None for dynamic quantisation.
    input_name: the model's input.
  """
  from onnxruntime import quantization  # pylint: disable=g-import-not-at-top
  float_path, out_path = os.fspath(float_path), os.fspath(out_path)
  with tempfile.TemporaryDirectory(prefix="emo_jax_quantize_") as tmp:
    # Shape inference and graph optimisation first, as onnxruntime recommends; a model it
    # cannot pre-process is quantised as it is.
    prepared = os.path.join(tmp, "prepared.onnx")
    try:
      quantization.quant_pre_process(float_path, prepared, skip_symbolic_shape=True)
    except Exception:  # pylint: disable=broad-except
      prepared = float_path
    if calibration_frames is None:
      quantization.quantize_dynamic(prepared, out_path, op_types_to_quantize=QUANTIZED_OPS,
                                    weight_type=quantization.QuantType.QInt8, per_channel=True)
      return "int8 dynamic (per-channel int8 weights, activations quantised at run time)"
    reader = _FramesReader(input_name, np.asarray(calibration_frames, np.float32))
    try:
      quantization.quantize_static(
          prepared, out_path, reader, quant_format=quantization.QuantFormat.QDQ,
          op_types_to_quantize=QUANTIZED_OPS, per_channel=True,
          weight_type=quantization.QuantType.QInt8,
          activation_type=quantization.QuantType.QUInt8,
          calibrate_method=quantization.CalibrationMethod.MinMax)
    except Exception as e:  # pylint: disable=broad-except  (onnxruntime's calibration failed)
      quantization.quantize_dynamic(prepared, out_path, op_types_to_quantize=QUANTIZED_OPS,
                                    weight_type=quantization.QuantType.QInt8, per_channel=True)
      return ("int8 dynamic (static calibration failed: "
              f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})")
    return (f"int8 static QDQ (per-channel int8 weights, uint8 activations calibrated "
            f"on {len(calibration_frames)} training clips, MinMax)")
