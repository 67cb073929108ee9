"""Exports of tiny trained runs to StableHLO and ONNX, checked against the JAX model."""
import json
import subprocess
import sys

import jax
import numpy as np
import pytest

from emo_jax import checkpoints
from emo_jax import predict
from emo_jax.export import cli
from emo_jax.export import exporter
from emo_jax.export import model_function
from emo_jax.export import runtime
from tests import helpers

TOLERANCE = 1e-4


def _onnx_tools():
  pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install -e .[dev])")
  pytest.importorskip("jax2onnx", reason="jax2onnx is not installed (pip install -e .[dev])")


@pytest.fixture(scope="module")
def tiny_image_workdir(tiny_data_dir, tmp_path_factory):
  """configs/fer2013_cnn.py:runlocal (conv encoder, mean over frames) trained for 2 steps."""
  from configs import fer2013_cnn
  from emo_jax import trainer
  config = fer2013_cnn.get_config("runlocal")
  config.data.data_dir = str(tiny_data_dir)
  workdir = tmp_path_factory.mktemp("tiny_image_run")
  trainer.train_and_evaluate(config, str(workdir))
  return workdir


def _frames(run, count, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (count, *run.frames_shape), dtype=np.uint8)


def _export(workdir, tmp_path, name, *flags):
  out = tmp_path / name
  status = cli.main(["--workdir", str(workdir), "--out", str(out), "--test_examples", "0",
                     *flags])
  return status, out


def test_stablehlo_export_runs_without_model_code_and_matches(tiny_trained_workdir, tmp_path,
                                                              capsys):
  status, out = _export(tiny_trained_workdir, tmp_path, "model.stablehlo", "--format", "stablehlo")
  assert status == 0
  printed = capsys.readouterr().out
  assert "max |p_export - p_jax|" in printed and "check passed" in printed
  sidecar = json.loads(out.with_name("model.stablehlo.json").read_text())
  run = checkpoints.load(str(tiny_trained_workdir))
  assert tuple(sidecar["class_names"]) == run.class_names
  assert tuple(sidecar["frames_shape"]) == run.frames_shape
  assert sidecar["check"]["passed"] and sidecar["check"]["max_abs_diff"] <= TOLERANCE
  # Deserialised and called with jax.export alone, at two batch sizes (symbolic batch).
  exported = jax.export.deserialize(bytearray(out.read_bytes()))
  for batch_size in (1, 5):
    frames = _frames(run, batch_size)
    expected = predict.predict_frames(run, frames)
    actual = np.asarray(exported.call(frames.astype(np.float32) / 255.0))
    assert actual.shape == (batch_size, run.num_classes)
    np.testing.assert_allclose(actual, expected, atol=TOLERANCE)


@pytest.mark.parametrize("workdir_fixture", ["tiny_trained_workdir", "tiny_image_workdir"])
def test_onnx_export_matches_the_jax_model(workdir_fixture, request, tmp_path):
  _onnx_tools()
  workdir = request.getfixturevalue(workdir_fixture)
  status, out = _export(workdir, tmp_path, "model.onnx", "--format", "onnx")
  assert status == 0
  run = checkpoints.load(str(workdir))
  model = runtime.load(out)
  assert model.class_names == run.class_names and model.frames_shape == run.frames_shape
  for batch_size in (1, 7):
    frames = _frames(run, batch_size, seed=batch_size)
    np.testing.assert_allclose(model.probabilities(frames), predict.predict_frames(run, frames),
                               atol=TOLERANCE)
  # One clip `[T, S, S, C]` and float frames in [0, 1] are accepted as well.
  clip = _frames(run, 1)[0]
  np.testing.assert_allclose(model.probabilities(clip.astype(np.float32) / 255.0),
                             model.probabilities(clip), atol=1e-6)


def test_onnx_int8_is_calibrated_and_scored_on_the_dataset(tiny_trained_workdir, tiny_data_dir,
                                                          tmp_path):
  _onnx_tools()
  source = model_function.load_source(str(tiny_trained_workdir))
  result = exporter.export(source, "onnx", tmp_path / "int8.onnx", quantize="int8",
                           data_dir=str(tiny_data_dir), calibration_examples=8,
                           test_examples=0)
  assert result.metadata.quantization.startswith("int8 static")
  assert "calibrated on 8 training clips" in result.metadata.quantization
  check = result.check
  assert check["test_examples"] > 0 and 0 <= check["export_accuracy"] <= 1
  assert check["passed"] == (check["accuracy_drop"] <= 0.01)
  model = runtime.load(result.path)
  probabilities = model.probabilities(_frames(source.run, 3))
  assert probabilities.shape == (3, 6)
  np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)


def test_stablehlo_int8_with_qwix(tiny_image_workdir, tiny_data_dir, tmp_path):
  pytest.importorskip("qwix", reason="qwix is not installed (pip install -e .[export])")
  source = model_function.load_source(str(tiny_image_workdir))
  result = exporter.export(source, "stablehlo", tmp_path / "int8.stablehlo", quantize="int8",
                           data_dir=str(tiny_data_dir), test_examples=0)
  assert result.metadata.quantization.startswith("int8 qwix")
  assert "jax_accuracy" in result.check and "export_accuracy" in result.check
  exported = jax.export.deserialize(bytearray((tmp_path / "int8.stablehlo").read_bytes()))
  probabilities = np.asarray(exported.call(_frames(source.run, 2).astype(np.float32) / 255.0))
  np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)


def test_onnx_runner_needs_neither_jax_nor_flax(tiny_trained_workdir, tmp_path):
  _onnx_tools()
  status, out = _export(tiny_trained_workdir, tmp_path, "model.onnx", "--format", "onnx")
  assert status == 0
  out.with_name("model.onnx.json").unlink()  # The metadata embedded in the file suffices.
  script = (
      "import sys, numpy as np\n"
      "from emo_jax.export import runtime\n"
      f"model = runtime.load({str(out)!r})\n"
      "frames = np.zeros((2, *model.frames_shape), np.uint8)\n"
      "print(model.probabilities(frames).shape, model.class_names[0])\n"
      "assert 'jax' not in sys.modules and 'flax' not in sys.modules, 'imported JAX'\n")
  done = subprocess.run([sys.executable, "-c", script], cwd=helpers.REPO_ROOT,
                        capture_output=True, text=True, check=False)
  assert done.returncode == 0, done.stderr
  assert done.stdout.strip() == "(2, 6) ANG"


def test_missing_workdir_and_output_directory_are_clear_errors(tiny_trained_workdir, tmp_path,
                                                               capsys):
  status = cli.main(["--workdir", str(tmp_path / "nope"), "--format", "stablehlo",
                     "--out", str(tmp_path / "m.stablehlo")])
  error = capsys.readouterr().err
  assert status == 2 and f"workdir {tmp_path / 'nope'} does not exist" in error
  status = cli.main(["--workdir", str(tiny_trained_workdir), "--format", "onnx",
                     "--out", str(tmp_path / "missing" / "m.onnx")])
  error = capsys.readouterr().err
  assert status == 2 and "does not exist; create it first" in error
  assert str(tmp_path / "missing") in error


def test_onnx_input_that_does_not_match_the_crops(tiny_trained_workdir, tmp_path):
  _onnx_tools()
  status, out = _export(tiny_trained_workdir, tmp_path, "model.onnx", "--format", "onnx")
  assert status == 0
  model = runtime.load(out)
  num_frames, size, _, channels = model.frames_shape
  with pytest.raises(ValueError, match=r"do not match the input of .*model\.onnx.*num_frames=4"):
    model.probabilities(np.zeros((1, num_frames, size * 2, size * 2, channels), np.uint8))
  with pytest.raises(ValueError, match="do not match"):
    model.probabilities(np.zeros((1, num_frames + 1, size, size, 3), np.uint8))


def test_a_config_that_does_not_export_to_onnx_says_which_part(tmp_path):
  _onnx_tools()
  run = _untrained_run("resnet18_ae_lstm", num_filters=4)
  source = model_function.ExportSource(run, {"workdir": "resnet_run"})
  with pytest.raises(model_function.ExportError,
                     match=r"resnet_run \(encoder=resnet18 .*\) does not export to ONNX"):
    exporter.export(source, "onnx", tmp_path / "resnet.onnx", test_examples=-1)
  # StableHLO takes every model.
  result = exporter.export(source, "stablehlo", tmp_path / "resnet.stablehlo", test_examples=-1)
  assert result.check["passed"]


def _untrained_run(kind: str, **encoder) -> checkpoints.LoadedRun:
  """A randomly initialised run of a preset, small, on 4 frames of 32x32 grey."""
  import ml_collections
  from emo_jax import models
  from emo_jax.models import presets
  model_config = presets.default_model_config(kind)
  model_config.encoder.update(encoder)
  frames_shape = (4, 32, 32, 1)
  model = models.create_model(model_config, 6)
  variables = model.init(jax.random.key(0), np.zeros((1, *frames_shape), np.float32), train=False)
  config = ml_collections.ConfigDict(dict(model=model_config.to_dict(),
                                          data=dict(dataset="cremad/synthetic_tiny")))
  return checkpoints.LoadedRun(workdir="resnet_run", config=config, model=model,
                               variables=dict(variables), step=0, which="best",
                               class_names=("ANG", "DIS", "FEA", "HAP", "NEU", "SAD"),
                               frames_shape=frames_shape)


def test_export_targets_from_benchmark_rows():
  from benchmarks import summary
  rows = [
      {"name": "export/m/jax", "size_kib": 400.0, "batch1_ms": 4.0, "accuracy": 0.5},
      {"name": "export/m/onnx", "size_kib": 600.0, "batch1_ms": 2.0, "accuracy": 0.5,
       "test_clips": "10"},
      {"name": "export/m/onnx_int8", "size_kib": 150.0, "batch1_ms": 1.0, "accuracy": 0.48,
       "test_clips": "10"},
      {"name": "export/m/stablehlo", "error": "ExportError: no"},
  ]
  targets = {row["name"]: row for row in summary.export_targets(rows)}
  assert targets["m: onnx int8 / float32 file size"]["measured"] == 0.25
  assert targets["m: onnx int8 / float32 file size"]["met"] == "yes"
  assert targets["m: onnx int8 accuracy drop (points)"]["measured"] == 2.0
  assert targets["m: onnx int8 accuracy drop (points)"]["met"] == "NO"
  assert targets["m: ONNX float32 speed-up over jitted JAX, batch 1"]["measured"] == 2.0
  assert not any(name.startswith("m: stablehlo") for name in targets)


def test_predict_with_an_onnx_model_needs_no_jax(tiny_image_workdir, tmp_path, cremad_shared_dir):
  """`python -m emo_jax.predict VIDEO --model FILE.onnx` on a real clip, without JAX."""
  _onnx_tools()
  status, out = _export(tiny_image_workdir, tmp_path, "frames.onnx", "--format", "onnx")
  assert status == 0
  video = cremad_shared_dir / "VideoFlash" / "1001_DFA_HAP_XX.flv"
  script = (
      "import json, sys\n"
      "from emo_jax import predict\n"
      f"status = predict.main([{str(video)!r}, '--model', {str(out)!r}, '--json', "
      "'--max_frames', '6'])\n"
      "assert 'jax' not in sys.modules and 'flax' not in sys.modules, 'imported JAX'\n"
      "sys.exit(status)\n")
  done = subprocess.run([sys.executable, "-c", script], cwd=helpers.REPO_ROOT,
                        capture_output=True, text=True, check=False)
  assert done.returncode == 0, done.stderr
  output = json.loads(done.stdout)
  assert output["class_name"] in output["probabilities"]
  assert sum(output["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
  assert output["face_found_ratio"] > 0.5
