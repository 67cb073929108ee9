"""Runs an exported ONNX model with onnxruntime and numpy only (no JAX, no Flax).

    model = runtime.load("fer2013.onnx")
    probabilities = model.probabilities(frames)  # uint8 or [0, 1] float [B, T, S, S, C]
    model.class_names, model.frames_shape

The same call shape as a loaded run (`emo_jax.checkpoints.LoadedRun` with
`emo_jax.predict.predict_frames`), so a deployment needs onnxruntime, numpy and OpenCV.
The input spec and class names travel inside the .onnx file (`metadata_props`) and in
the JSON sidecar written beside every export (`<file>.json`).
"""
import dataclasses
import json
import os
from typing import Any

import numpy as np

# Key of the metadata in the ONNX file's `metadata_props`.
METADATA_KEY = "emo_jax"
SIDECAR_SUFFIX = ".json"


@dataclasses.dataclass(frozen=True)
class ExportMetadata:
  """What a caller of an exported model needs to know, saved as JSON beside it.

  Attributes:
    format: "stablehlo" or "onnx".
    class_names: names of the output probabilities, in order.
    frames_shape: one clip, `[T, S, S, C]`; the input is `[B, T, S, S, C]` float32 in
      [0, 1] with any batch size B.
    input_name: name of the input (ONNX graph input).
    output_name: name of the output, probabilities `[B, K]` float32 (softmax applied).
    quantization: "none" or "int8" (and how, e.g. "int8 static QDQ ...").
    source: where the weights came from: {"workdir" or "bundled", "step", "model"}.
    check: the comparison with the JAX model made at export time.
  """
  format: str
  class_names: tuple[str, ...]
  frames_shape: tuple[int, int, int, int]
  input_name: str = "frames"
  output_name: str = "probabilities"
  quantization: str = "none"
  source: dict[str, Any] = dataclasses.field(default_factory=dict)
  check: dict[str, Any] = dataclasses.field(default_factory=dict)

  @property
  def input_shape(self) -> tuple[Any, ...]:
    return (None, *self.frames_shape)

  def to_json(self) -> str:
    fields = dataclasses.asdict(self)
    fields["input"] = {"name": self.input_name, "shape": ["batch", *self.frames_shape],
                       "dtype": "float32", "range": [0.0, 1.0],
                       "layout": "[B, T, S, S, C]: B clips of T frames, S x S pixels, C channels"}
    fields["output"] = {"name": self.output_name, "shape": ["batch", len(self.class_names)],
                        "dtype": "float32", "meaning": "class probabilities (softmax)"}
    return json.dumps(fields, indent=2, default=_json_default)

  @classmethod
  def from_json(cls, text: str, where: str = "metadata") -> "ExportMetadata":
    fields = json.loads(text)
    names = {f.name for f in dataclasses.fields(cls)}
    missing = sorted({"format", "class_names", "frames_shape"} - set(fields))
    if missing:
      raise ValueError(f"{where} is not emo_jax export metadata (missing {missing})")
    kwargs = {k: v for k, v in fields.items() if k in names}
    kwargs["class_names"] = tuple(kwargs["class_names"])
    kwargs["frames_shape"] = tuple(int(d) for d in kwargs["frames_shape"])
    return cls(**kwargs)


def _json_default(value):
  if isinstance(value, np.generic):
    return value.item()
  if isinstance(value, np.ndarray):
    return value.tolist()
  raise TypeError(f"cannot write {type(value).__name__} to JSON")


def sidecar_path(path: str | os.PathLike) -> str:
  """`model.onnx` -> `model.onnx.json`: the metadata written beside an export."""
  return os.fspath(path) + SIDECAR_SUFFIX


def write_sidecar(path: str | os.PathLike, metadata: ExportMetadata) -> str:
  sidecar = sidecar_path(path)
  with open(sidecar, "w") as f:
    f.write(metadata.to_json() + "\n")
  return sidecar


def read_sidecar(path: str | os.PathLike) -> ExportMetadata:
  sidecar = sidecar_path(path)
  if not os.path.isfile(sidecar):
    raise FileNotFoundError(f"{sidecar} not found: the export's metadata (class names, input "
                            "shape) is written beside it by `python -m emo_jax.export`")
  with open(sidecar) as f:
    return ExportMetadata.from_json(f.read(), where=sidecar)


def as_model_input(frames: np.ndarray, frames_shape: tuple[int, ...], where: str) -> np.ndarray:
  """uint8 or float frames `[B, T, S, S, C]` (or one clip `[T, S, S, C]`) -> float32 in [0, 1].

  Raises:
    ValueError: naming `where` (the model file) when the frames do not match its input.
  """
  frames = np.asarray(frames)
  if frames.ndim == len(frames_shape):
    frames = frames[None]
  if frames.ndim != len(frames_shape) + 1 or tuple(frames.shape[1:]) != tuple(frames_shape):
    raise ValueError(
        f"frames of shape {tuple(frames.shape)} do not match the input of {where}: "
        f"[B, {', '.join(map(str, frames_shape))}] ([B, T, S, S, C]); crop the clips with "
        f"the frame count, size and colour the model was trained on (e.g. "
        f"emo_jax.data.preprocess.load_clip(path, num_frames={frames_shape[0]}, "
        f"size={frames_shape[1]}, grayscale={frames_shape[-1] == 1}))")
  if frames.dtype == np.uint8:
    return frames.astype(np.float32) / np.float32(255.0)
  return frames.astype(np.float32, copy=False)


class ExportedModel:
  """What every exported model shares: class names and input shape from its metadata."""
  metadata: ExportMetadata

  @property
  def class_names(self) -> tuple[str, ...]:
    return self.metadata.class_names

  @property
  def num_classes(self) -> int:
    return len(self.class_names)

  @property
  def frames_shape(self) -> tuple[int, int, int, int]:
    return self.metadata.frames_shape


class OnnxModel(ExportedModel):
  """An exported ONNX model behind the call shape of a loaded run.

  Attributes:
    path: the .onnx file.
    metadata: its `ExportMetadata` (class names, input spec, how it was made).
    session: the onnxruntime InferenceSession.
  """

  def __init__(self, path: str | os.PathLike, num_threads: int = 0,
               providers: tuple[str, ...] = ("CPUExecutionProvider",)):
    import onnxruntime  # pylint: disable=g-import-not-at-top  (optional dependency)
    self.path = os.fspath(path)
    if not os.path.isfile(self.path):
      raise FileNotFoundError(f"ONNX model {self.path} not found (make one with "
                              "`python -m emo_jax.export --format onnx --out FILE.onnx ...`)")
    options = onnxruntime.SessionOptions()
    # jax2onnx annotates some convolution outputs with their NCHW shape, which onnxruntime
    # reports as warnings when it merges shapes; errors still show.
    options.log_severity_level = 3
    if num_threads:
      options.intra_op_num_threads = num_threads
    self.session = onnxruntime.InferenceSession(self.path, options, providers=list(providers))
    embedded = self.session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
    self.metadata = (ExportMetadata.from_json(embedded, where=self.path) if embedded
                     else read_sidecar(self.path))
    inputs = self.session.get_inputs()
    if len(inputs) != 1:
      raise ValueError(f"{self.path} has {len(inputs)} inputs; an emo_jax export has one")
    self._input_name = inputs[0].name
    declared = tuple(inputs[0].shape[1:])
    if all(isinstance(d, int) for d in declared) and declared != self.frames_shape:
      raise ValueError(f"{self.path}: its ONNX input is [B, {declared}] but its metadata says "
                       f"frames_shape {self.frames_shape}; re-export the model")

  def probabilities(self, frames: np.ndarray) -> np.ndarray:
    """Class probabilities `[B, K]` float32 of uint8 or [0, 1] float clips `[B, T, S, S, C]`."""
    inputs = as_model_input(frames, self.frames_shape, self.path)
    return self.session.run(None, {self._input_name: inputs})[0]

  __call__ = probabilities


def load(path: str | os.PathLike, num_threads: int = 0) -> OnnxModel:
  """Opens an ONNX model written by `python -m emo_jax.export --format onnx`."""
  return OnnxModel(path, num_threads=num_threads)
