"""Bundled models: writing, loading, the checksum, and the shipped FER2013 model's accuracy
(emo_jax/bundle.py, emo_jax/checkpoints.py)."""
import json
import re

import jax
import numpy as np
import pytest

from emo_jax import bundle
from emo_jax import checkpoints
from emo_jax import predict
from emo_jax.data import fer2013


def test_bundle_round_trip_and_checksum(tiny_trained_workdir, tmp_path):
  run = checkpoints.load(str(tiny_trained_workdir))
  out = tmp_path / "tiny"
  digest = bundle.write_bundle(run, str(out), card_notes="# Tiny\n\nA test model.")
  loaded = checkpoints.load_bundled(directory=str(out))
  assert loaded.class_names == run.class_names and loaded.frames_shape == run.frames_shape
  assert loaded.step == run.step and loaded.which == "bundled"
  for a, b in zip(jax.tree.leaves(run.variables), jax.tree.leaves(loaded.variables)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  frames = np.random.default_rng(0).uniform(size=(2, *run.frames_shape)).astype(np.float32)
  np.testing.assert_allclose(predict.predict_frames(run, frames),
                             predict.predict_frames(loaded, frames), atol=1e-6)
  assert json.loads((out / "manifest.json").read_text())["sha256"] == digest
  card = (out / "MODEL_CARD.md").read_text()
  assert card.startswith("# Tiny") and digest in card
  assert b"pickle" not in (out / "variables.msgpack").read_bytes()[:64]

  damaged = bytearray((out / "variables.msgpack").read_bytes())
  damaged[len(damaged) // 2] ^= 0xFF
  (out / "variables.msgpack").write_bytes(bytes(damaged))
  with pytest.raises(checkpoints.BundleError, match="SHA-256"):
    checkpoints.load_bundled(directory=str(out))


def test_a_float16_bundle_is_half_the_size_and_loads_as_float32(tiny_trained_workdir, tmp_path):
  run = checkpoints.load(str(tiny_trained_workdir))
  bundle.write_bundle(run, str(tmp_path / "full"))
  bundle.write_bundle(run, str(tmp_path / "half"), weights_dtype="float16")
  sizes = [(tmp_path / name / "variables.msgpack").stat().st_size for name in ("full", "half")]
  assert 0.45 < sizes[1] / sizes[0] < 0.6, sizes
  loaded = checkpoints.load_bundled(directory=str(tmp_path / "half"))
  assert json.loads((tmp_path / "half" / "manifest.json").read_text())["weights_dtype"] == "float16"
  for a, b in zip(jax.tree.leaves(run.variables), jax.tree.leaves(loaded.variables)):
    assert b.dtype == np.float32
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=2e-3, atol=1e-4)
  frames = np.random.default_rng(0).uniform(size=(4, *run.frames_shape)).astype(np.float32)
  np.testing.assert_allclose(predict.predict_frames(loaded, frames),
                             predict.predict_frames(run, frames), atol=1e-2)
  with pytest.raises(ValueError, match="weights_dtype must be one of"):
    bundle.write_bundle(run, str(tmp_path / "x"), weights_dtype="int8")


def test_unknown_bundle_names_the_known_ones():
  with pytest.raises(checkpoints.BundleError, match="bundled models: .*fer2013"):
    checkpoints.load_bundled("no_such_model")


def test_bundle_command_line_errors(tmp_path, capsys):
  assert bundle.main(["--workdir", str(tmp_path / "missing"), "--name", "x"]) == 2
  assert "not a training workdir" in capsys.readouterr().err


def test_the_default_bundle_is_shipped():
  assert checkpoints.DEFAULT_BUNDLED in checkpoints.bundled_names()
  assert predict.DEFAULT_BUNDLED == checkpoints.DEFAULT_BUNDLED


@pytest.mark.parametrize("name", ["fer2013", "fer2013_deep", "fer2013_vgg", "fer2013_deep28",
                                  "fer2013_ensemble"])
def test_shipped_fer2013_model_matches_its_card(fer2013_shared_dir, name):
  """Accuracy on a fixed sample of 300 PrivateTest images, against the model card's figure."""
  run = checkpoints.load_bundled(name)
  assert run.class_names == fer2013.FER_CLASSES and run.frames_shape == (1, 48, 48, 1)
  card = (checkpoints.bundled_dir() + f"/{name}/MODEL_CARD.md")
  with open(card) as f:
    claimed = float(re.search(r"PrivateTest accuracy: ([\d.]+)%", f.read()).group(1)) / 100
  examples = list(fer2013.read(fer2013_shared_dir, splits=("private_test",)))
  sample = np.random.default_rng(0).choice(len(examples), 300, replace=False)
  images = np.stack([examples[i].image for i in sample])[:, None]
  labels = np.array([examples[i].label for i in sample])
  accuracy = np.mean(np.argmax(predict.predict_frames(run, images), -1) == labels)
  # 300 images: the binomial standard error is about 2.7 points.
  assert abs(accuracy - claimed) < 0.08, (accuracy, claimed)


def _abstract_variables(model, frames_shape):
  """The shapes of `model`'s variables for frames of `frames_shape`, without computing them."""
  rngs = {"params": jax.random.key(0), "dropout": jax.random.key(0), "noise": jax.random.key(0)}
  return jax.eval_shape(lambda: model.init(rngs, np.zeros(frames_shape, np.float32), train=False))


def test_a_video_model_starts_from_the_bundled_encoders_matching_layers(tmp_path):
  """`model.encoder.pretrained="bundled:fer2013"`: the conv stages are copied, the rest kept."""
  from configs import ae_lstm  # pylint: disable=g-import-not-at-top
  from emo_jax import models  # pylint: disable=g-import-not-at-top
  from emo_jax import trainer  # pylint: disable=g-import-not-at-top
  source = checkpoints.load_bundled("fer2013").variables
  config = ae_lstm.get_config("runlocal").model
  # The bundled encoder's widths; a 128-wide projection where the bundle's is 256-wide.
  config.encoder.update(widths=(32, 64, 128, 256), convs_per_stage=1, pooling="flatten",
                        features=128, pretrained="bundled:fer2013")
  model = models.create_model(config, 6)
  fresh = jax.jit(lambda: model.init({"params": jax.random.key(0), "dropout": jax.random.key(0),
                                      "noise": jax.random.key(0)},
                                     np.zeros((1, 4, 32, 32, 1), np.float32), train=False))()
  loaded, copied, skipped = models.copy_matching_encoder(fresh, source)
  np.testing.assert_array_equal(loaded["params"]["encoder"]["stage3_conv0"]["kernel"],
                                source["params"]["encoder"]["stage3_conv0"]["kernel"])
  np.testing.assert_array_equal(loaded["batch_stats"]["encoder"]["stage0_norm0"]["mean"],
                                source["batch_stats"]["encoder"]["stage0_norm0"]["mean"])
  assert "params/encoder/projection/kernel" in skipped
  np.testing.assert_array_equal(loaded["params"]["encoder"]["projection"]["kernel"],
                                fresh["params"]["encoder"]["projection"]["kernel"])
  jax.tree.map(np.testing.assert_array_equal, loaded["params"]["temporal"],
               fresh["params"]["temporal"])
  assert len(copied) >= 8  # 4 convolutions' kernels and biases at least.
  config.encoder.widths = (16, 32, 64, 128)  # The quickstart's half widths: nothing fits.
  half = models.create_model(config, 6)
  half_variables = _abstract_variables(half, (1, 4, 32, 32, 1))
  with pytest.raises(ValueError, match="no parameter of the source encoder fits"):
    models.copy_matching_encoder(half_variables, source)
  assert trainer.BUNDLED_PREFIX == "bundled:"


def test_an_audio_visual_models_video_branch_starts_from_the_bundled_encoder():
  """The AudioVisualNet keeps its frame encoder under params/video; it loads and freezes there."""
  from configs import av_fusion  # pylint: disable=g-import-not-at-top
  from emo_jax import models  # pylint: disable=g-import-not-at-top
  from emo_jax import optimizers  # pylint: disable=g-import-not-at-top
  from emo_jax import trainer  # pylint: disable=g-import-not-at-top
  source = checkpoints.load_bundled("fer2013").variables
  config = av_fusion.get_config("runlocal")
  config.model.encoder.update(widths=(32, 64, 128, 256), convs_per_stage=1, pooling="flatten",
                              features=128, frozen=True)
  model = models.create_model(config.model, 6)
  fresh = _abstract_variables(model, (1, 4, 32, 32, 1))
  assert "encoder" not in fresh["params"] and "audio" in fresh["params"]
  loaded, copied, skipped = models.copy_matching_encoder(fresh, source)
  np.testing.assert_array_equal(loaded["params"]["video"]["encoder"]["stage2_conv0"]["kernel"],
                                source["params"]["encoder"]["stage2_conv0"]["kernel"])
  np.testing.assert_array_equal(loaded["batch_stats"]["video"]["encoder"]["stage1_norm0"]["var"],
                                source["batch_stats"]["encoder"]["stage1_norm0"]["var"])
  assert sum(path.startswith("params/encoder/stage") for path in copied) >= 8
  assert "params/encoder/projection/kernel" in skipped
  assert loaded["params"]["audio"] is fresh["params"]["audio"]  # The audio branch untouched.
  labels = optimizers.param_group_labels(loaded["params"], trainer.optimizer_config(config))
  assert labels["video"]["encoder"]["stage0_conv0"]["kernel"] == "frozen"
  assert "frozen" not in jax.tree.leaves(labels["video"]["temporal"]) + jax.tree.leaves(labels["audio"])


@pytest.mark.parametrize("name", ["ae_lstm", "attention", "cnn_lstm"])
def test_real_face_configs_start_from_the_bundled_encoder(name):
  """Real CREMA-D configs default to the fer2013 bundle's encoder; synthetic ones do not."""
  import importlib  # pylint: disable=g-import-not-at-top
  from configs import common  # pylint: disable=g-import-not-at-top
  from emo_jax import models  # pylint: disable=g-import-not-at-top
  module = importlib.import_module(f"configs.{name}")
  assert not module.get_config("synthetic").model.encoder.get("pretrained")
  config = module.get_config("").model
  assert config.encoder.pretrained == common.PRETRAINED_FRAME_ENCODER == "bundled:fer2013"
  assert config.input_norm == "per_frame"  # As the bundle's faces were standardised.
  model = models.create_model(config, 6)
  fresh = _abstract_variables(model, (1, 2, 112, 112, 1))
  source = checkpoints.load_bundled(config.encoder.pretrained.split(":", 1)[1]).variables
  _, copied, _ = models.copy_matching_encoder(fresh, source)
  assert sum(path.startswith("params/encoder/stage") for path in copied) >= 8
