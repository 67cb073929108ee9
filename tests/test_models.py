"""EmotionNet built by create_model: every variant's outputs, masking, jit, dtype, remat,
frozen and pretrained encoders, and config errors."""
import functools

import chex
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from emo_jax import models
from emo_jax.models import presets
from tests import model_variables

NUM_CLASSES = 6
NUM_FRAMES = 3
SIZE = 16
VARIANTS = tuple(presets.INPUT_SHAPES)
AUX_KEYS = {
    "ae_lstm": {"frame_features", "bottleneck", "reconstruction", "reconstruction_target",
                "pooled"},
    "cnn_lstm": {"frame_features", "pooled"},
    "attention": {"frame_features", "pooled", "attention_weights"},
    "c3d": {"pooled"},
    "r2plus1d": {"pooled"},
    "resnet18_ae_lstm": {"frame_features", "bottleneck", "reconstruction",
                         "reconstruction_target", "pooled"},
    "fer2013_cnn": {"frame_features", "pooled"},
}


def _key(seed):
  # The "rbg" generator: XLA on CPU compiles random numbers (dropout, noise) many times
  # faster than with the default threefry.
  return jax.random.key(seed, impl="rbg")


def tiny_config(kind: str) -> ml_collections.ConfigDict:
  """The preset of `kind` with every width shrunk, for 16x16 frames."""
  config = models.default_model_config(kind)
  if config.encoder is not None:
    if config.encoder.name == "conv":
      config.encoder.widths = (4, 8)
    else:
      config.encoder.num_filters = 2
      config.encoder.small_stem = True
  if config.bottleneck is not None:
    config.bottleneck.dim = 6
    config.bottleneck.hidden_sizes = (5,) if config.bottleneck.hidden_sizes else ()
  if config.temporal is not None and config.temporal.name == "lstm":
    config.temporal.hidden_size = 5
  if config.temporal is not None and config.temporal.name == "attention":
    config.temporal.update(hidden_size=8, num_heads=2, mlp_dim=8, num_layers=1)
  if config.video is not None:
    config.video.widths = (4, 8)
  config.head.hidden_sizes = (8,)
  return config


def _frames(batch, num_frames=NUM_FRAMES, seed=0):
  return jnp.asarray(np.random.default_rng(seed).uniform(size=(batch, num_frames, SIZE, SIZE, 1)),
                     jnp.float32)


def _init(model, frames, seed=0):
  # Numpy-filled variables of the real structure: a compiled init takes seconds on CPU.
  return model_variables.numpy_variables(model, frames, train=False, seed=seed)


def _train_rngs(seed=1):
  return {"dropout": _key(seed), "noise": _key(seed + 100)}


@pytest.mark.parametrize("kind", VARIANTS)
def test_presets_build_at_full_size(kind):
  model = models.create_model(models.default_model_config(kind), NUM_CLASSES)
  num_frames, size, channels = presets.INPUT_SHAPES[kind]
  frames = jax.ShapeDtypeStruct((2, num_frames, size, size, channels), jnp.float32)
  variables = jax.eval_shape(lambda x: model.init({"params": _key(0)}, x, train=False), frames)
  logits, aux = jax.eval_shape(lambda v, x: model.apply(v, x, train=False), variables, frames)
  assert logits.shape == (2, NUM_CLASSES)
  assert set(aux) == AUX_KEYS[kind]


@pytest.mark.parametrize("kind", VARIANTS)
def test_each_variant_gives_logits_and_its_aux_in_evaluation_and_training(kind):
  config = tiny_config(kind)
  model = models.create_model(config, NUM_CLASSES)
  num_frames = 1 if kind == "fer2013_cnn" else NUM_FRAMES
  frames = _frames(2, num_frames)
  variables = _init(model, frames)
  assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(variables))

  logits, aux = jax.jit(lambda v, x: model.apply(v, x, train=False))(variables, frames)
  assert logits.shape == (2, NUM_CLASSES) and logits.dtype == jnp.float32
  assert set(aux) == AUX_KEYS[kind]
  assert aux["pooled"].ndim == 2 and aux["pooled"].shape[0] == 2
  if "frame_features" in aux:
    assert aux["frame_features"].shape[:2] == (2, num_frames)
  if "bottleneck" in aux:
    assert aux["bottleneck"].shape == (2, num_frames, config.bottleneck.dim)
    assert aux["reconstruction"].shape == aux["reconstruction_target"].shape
    np.testing.assert_array_equal(aux["reconstruction_target"], aux["frame_features"])
  if "attention_weights" in aux:
    assert aux["attention_weights"].shape == (2, 1, 2, num_frames + 1, num_frames + 1)

  # The train step: rng streams "dropout" and "noise", BatchNorm statistics updated.
  train = jax.jit(lambda v, x, rngs: model.apply(v, x, train=True, rngs=rngs,
                                                 mutable=["batch_stats"]))
  (train_logits, _), updates = train(variables, frames, _train_rngs())
  assert train_logits.shape == (2, NUM_CLASSES)
  frozen_encoder = config.encoder is not None and config.encoder.frozen
  if "batch_stats" in variables and not frozen_encoder:
    changed = jax.tree.map(lambda a, b: bool(np.any(a != b)), updates["batch_stats"],
                           variables["batch_stats"])
    assert any(jax.tree.leaves(changed))


def test_uint8_and_image_batches_are_read_like_float_clips():
  model = models.create_model(tiny_config("fer2013_cnn"), NUM_CLASSES)
  images = np.random.default_rng(0).integers(0, 256, size=(2, 1, SIZE, SIZE, 1), dtype=np.uint8)
  variables = _init(model, jnp.asarray(images, jnp.float32) / 255)
  apply = lambda x: model.apply(variables, x, train=False)[0]
  expected = apply(jnp.asarray(images, jnp.float32) / 255)
  np.testing.assert_allclose(apply(jnp.asarray(images)), expected, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(apply(jnp.asarray(images[:, 0])), expected, rtol=1e-5, atol=1e-6)


def test_per_frame_input_norm_ignores_each_frames_brightness_and_contrast():
  config = tiny_config("cnn_lstm")
  frames = _frames(2) * 0.5 + 0.2
  # Each frame its own exposure and contrast (a darker face, a brighter room).
  gain = jnp.asarray(np.random.default_rng(1).uniform(0.3, 1.5, (2, NUM_FRAMES, 1, 1, 1)))
  offset = jnp.asarray(np.random.default_rng(2).uniform(-0.1, 0.1, (2, NUM_FRAMES, 1, 1, 1)))
  relit = frames * gain + offset
  outputs = {}
  for input_norm in ("fixed", "per_frame"):
    config.input_norm = input_norm
    model = models.create_model(config, NUM_CLASSES)
    variables = _init(model, frames)
    outputs[input_norm] = [model.apply(variables, x, train=False)[0] for x in (frames, relit)]
  np.testing.assert_allclose(*outputs["per_frame"], rtol=1e-4, atol=1e-5)
  assert np.max(np.abs(outputs["fixed"][0] - outputs["fixed"][1])) > 1e-3


def test_feature_norm_gives_unit_scale_frame_features():
  config = tiny_config("cnn_lstm")
  config.encoder.update(pooling="flatten", features=12, feature_norm=True)
  model = models.create_model(config, NUM_CLASSES)
  frames = _frames(2) * 50  # Large inputs: large projected features without the norm.
  variables = _init(model, frames)
  norm = variables["params"]["encoder"]["feature_norm"]
  norm = {"scale": jnp.ones_like(norm["scale"]), "bias": jnp.zeros_like(norm["bias"])}
  variables["params"]["encoder"]["feature_norm"] = norm  # Flax's initial values.
  features = model.apply(variables, frames, train=False)[1]["frame_features"]
  np.testing.assert_allclose(features.mean(-1), 0, atol=1e-4)
  np.testing.assert_allclose(features.std(-1), 1, atol=1e-2)


@pytest.mark.parametrize("kind", ["cnn_lstm", "attention", "fer2013_cnn"])
def test_masked_padded_frames_do_not_change_the_output(kind):
  model = models.create_model(tiny_config(kind), NUM_CLASSES)
  num_frames, short = 4, 2
  frames = _frames(2, num_frames)
  mask = jnp.arange(num_frames)[None] < jnp.array([[num_frames], [short]])
  variables = _init(model, frames)
  apply = jax.jit(lambda x, mask: model.apply(variables, x, train=False, frame_mask=mask)[0])

  logits = apply(frames, mask)
  np.testing.assert_allclose(apply(frames.at[1, short:].set(0.5), mask), logits, atol=1e-5)
  alone = apply(frames[1:, :short], jnp.ones((1, short), bool))
  np.testing.assert_allclose(logits[1:], alone, rtol=1e-4, atol=1e-5)
  unmasked = apply(frames, jnp.ones_like(mask))
  assert np.abs(unmasked[1] - logits[1]).max() > 1e-5  # The padding matters unmasked.


def test_3d_networks_ignore_what_masked_frames_hold():
  model = models.create_model(tiny_config("c3d"), NUM_CLASSES)
  frames = _frames(2)
  mask = jnp.array([[True, True, True], [True, False, False]])
  variables = _init(model, frames)
  apply = jax.jit(lambda x: model.apply(variables, x, train=False, frame_mask=mask)[0])
  np.testing.assert_allclose(apply(frames.at[1, 1:].set(0.9)), apply(frames), atol=1e-5)


@pytest.mark.parametrize("kind", ["ae_lstm", "c3d"])
def test_apply_traces_once_per_shape(kind):
  chex.clear_trace_counter()  # The counter is per function name, across parametrisations.
  model = models.create_model(tiny_config(kind), NUM_CLASSES)
  variables = _init(model, _frames(2))

  @jax.jit
  @chex.assert_max_traces(n=1)
  def train_forward(variables, frames, mask, rngs):
    return model.apply(variables, frames, train=True, frame_mask=mask, rngs=rngs,
                       mutable=["batch_stats"])

  mask = jnp.ones((2, NUM_FRAMES), bool)
  train_forward(variables, _frames(2, seed=1), mask, _train_rngs(1))
  train_forward(variables, _frames(2, seed=2), mask.at[1, 2].set(False), _train_rngs(2))


@pytest.mark.parametrize("kind", ["ae_lstm", "attention"])
def test_bfloat16_compute_stays_close_to_float32(kind):
  config = tiny_config(kind)
  model_32 = models.create_model(config, NUM_CLASSES)
  config.dtype = "bfloat16"
  model_16 = models.create_model(config, NUM_CLASSES)
  frames = _frames(4)
  variables = _init(model_16, frames)
  assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(variables["params"]))
  logits_32, _ = jax.jit(lambda x: model_32.apply(variables, x, train=False))(frames)
  logits_16, aux_16 = jax.jit(lambda x: model_16.apply(variables, x, train=False))(frames)
  assert aux_16["frame_features"].dtype == jnp.bfloat16
  assert logits_16.dtype == jnp.float32
  np.testing.assert_allclose(logits_16, logits_32, atol=0.05 + 0.05 * np.abs(logits_32).max())
  np.testing.assert_allclose(jax.nn.softmax(logits_16), jax.nn.softmax(logits_32), atol=0.03)


def _loss_and_grads(model, variables, frames):
  def loss(params):
    (logits, aux), _ = model.apply({**variables, "params": params}, frames, train=True,
                                   rngs=_train_rngs(), mutable=["batch_stats"])
    return jnp.sum(logits**2) + jnp.sum(aux["pooled"])
  return jax.jit(jax.value_and_grad(loss))(variables["params"])


def test_remat_gives_the_same_outputs_and_gradients():
  config = tiny_config("cnn_lstm")
  model = models.create_model(config, NUM_CLASSES)
  config.remat = True
  remat_model = models.create_model(config, NUM_CLASSES)
  frames = _frames(2)
  variables = _init(model, frames)
  primitives = lambda m: {eqn.primitive.name for eqn in jax.make_jaxpr(
      lambda v: m.apply(v, frames, train=False))(variables).jaxpr.eqns}
  remat_names = {"remat2", "remat", "checkpoint"}  # jax.checkpoint's primitive, by version.
  assert primitives(remat_model) & remat_names and not primitives(model) & remat_names
  loss, grads = _loss_and_grads(model, variables, frames)
  remat_loss, remat_grads = _loss_and_grads(remat_model, variables, frames)
  np.testing.assert_allclose(remat_loss, loss, rtol=1e-5)
  jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-4, atol=1e-6),
               remat_grads, grads)


def test_frozen_encoder_gets_zero_gradients():
  config = tiny_config("ae_lstm")
  config.encoder.frozen = True
  model = models.create_model(config, NUM_CLASSES)
  frames = _frames(2)
  variables = _init(model, frames)
  _, grads = _loss_and_grads(model, variables, frames)
  assert all(np.all(leaf == 0) for leaf in jax.tree.leaves(grads["encoder"]))
  assert any(np.any(leaf != 0) for leaf in jax.tree.leaves(grads["head"]))
  assert any(np.any(leaf != 0) for leaf in jax.tree.leaves(grads["bottleneck"]))


def test_pretrained_encoder_round_trips_into_a_fresh_model(tmp_path):
  # An encoder trained on FER2013 images (T = 1) initialises a clip model's encoder.
  image_model = models.create_model(tiny_config("fer2013_cnn"), 7)
  image_variables = _init(image_model, _frames(2, 1))
  image_variables["batch_stats"]["encoder"]["stage0_norm0"]["mean"] += 0.25
  models.save_encoder(image_variables, tmp_path / "fer_encoder")
  with pytest.raises(FileExistsError):
    models.save_encoder(image_variables, tmp_path / "fer_encoder")

  config = tiny_config("ae_lstm")
  config.encoder.widths = (4, 8)
  config.encoder.pretrained = str(tmp_path / "fer_encoder")
  video_model = models.create_model(config, NUM_CLASSES)
  fresh = _init(video_model, _frames(2), seed=5)
  loaded = models.load_pretrained_from_config(fresh, config)
  for collection in ("params", "batch_stats"):
    jax.tree.map(np.testing.assert_array_equal, loaded[collection]["encoder"],
                 image_variables[collection]["encoder"])
  jax.tree.map(np.testing.assert_array_equal, loaded["params"]["head"], fresh["params"]["head"])
  assert loaded["params"].keys() == fresh["params"].keys()
  logits, _ = video_model.apply(loaded, _frames(2), train=False)
  assert logits.shape == (2, NUM_CLASSES)

  config.encoder.widths = (4, 6)
  other = models.create_model(config, NUM_CLASSES)
  other_variables = jax.eval_shape(lambda x: other.init({"params": _key(0)}, x, train=False),
                                   _frames(2))
  with pytest.raises(ValueError, match="fer_encoder.*shape"):
    models.load_pretrained_encoder(other_variables, tmp_path / "fer_encoder")
  with pytest.raises(FileNotFoundError, match="missing"):
    models.load_pretrained_encoder(fresh, tmp_path / "missing")


@pytest.mark.parametrize("change,message", [
    (dict(encoder=dict(name="conv", widht=(4,))), "Did you mean 'widths'"),
    (dict(encoder=dict(name="vgg")), "model.encoder.name='vgg'"),
    (dict(encoder=dict(name="resnet", num_filters=2)), "model.encoder needs stage_sizes for ResNet"),
    (dict(video=dict(name="c3d")), "exactly one"),
    (dict(temporal=None), "model.temporal must be set"),
    (dict(dtype="float16"), "model.dtype"),
    (dict(input_norm="zscore"), "model.input_norm"),
    (dict(optimiser="adam"), "unknown model config keys"),
])
def test_config_mistakes_fail_with_a_clear_message(change, message):
  config = tiny_config("cnn_lstm").to_dict()
  config.update(change)
  with pytest.raises(ValueError, match=message):
    models.create_model(config, NUM_CLASSES)


def test_resnet_encoder_takes_its_stage_sizes_from_the_config():
  """`name="resnet"` is the ResNet of any depth: one block per stage here, as in
  configs/fer2013_cpu_resnet.py."""
  config = tiny_config("cnn_lstm")
  with config.unlocked():
    config.encoder = ml_collections.ConfigDict(dict(name="resnet", stage_sizes=(1, 1),
                                                    num_filters=2, small_stem=True))
  model = models.create_model(config, NUM_CLASSES)
  variables = _init(model, _frames(2))
  blocks = sorted(k for k in variables["params"]["encoder"] if k.startswith("stage"))
  assert blocks == ["stage0_block0", "stage1_block0"]
  logits, _ = model.apply(variables, _frames(2), train=False)
  assert logits.shape == (2, NUM_CLASSES)


def test_switching_the_temporal_model_by_name_drops_the_other_models_settings(caplog):
  """A sweep's `--config.model.temporal.name=mean` on cnn_lstm leaves the LSTM's settings
  (`bidirectional`, `hidden_size`, ...) in the section: mean pooling runs without them,
  saying so, while a key of no temporal model is still an error."""
  config = tiny_config("cnn_lstm")
  config.temporal.name = "mean"
  assert config.temporal.bidirectional
  with caplog.at_level("WARNING"):
    model = models.create_model(config, NUM_CLASSES)
  assert type(model.temporal).__name__ == "MeanPooling"
  assert "model.temporal.bidirectional" in caplog.text
  logits, _ = model.apply(_init(model, _frames(2)), _frames(2), train=False)
  assert logits.shape == (2, NUM_CLASSES)
  config.temporal.bidirectinal = True
  with pytest.raises(ValueError, match="bidirectinal is not a field of MeanPooling"):
    models.create_model(config, NUM_CLASSES)
