"""Frame encoders, the autoencoder bottleneck, 3D networks and the head, on tiny inputs."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from emo_jax.models import bottleneck
from emo_jax.models import conv3d
from emo_jax.models import conv_encoder
from emo_jax.models import head
from emo_jax.models import resnet
from tests import model_variables


def _key(seed):
  # The "rbg" generator: XLA on CPU compiles random numbers (dropout, noise) many times
  # faster than with the default threefry.
  return jax.random.key(seed, impl="rbg")


def _init_apply(model, *inputs, **kwargs):
  """Numpy-filled variables (a compiled init takes seconds on CPU) and a jitted
  evaluation apply: `(variables, output)`."""
  variables = model_variables.numpy_variables(model, *inputs, train=False, **kwargs)
  output = jax.jit(functools.partial(model.apply, train=False, **kwargs))(variables, *inputs)
  return variables, output


def _images(shape, seed=0):
  return jnp.asarray(np.random.default_rng(seed).uniform(-1, 1, size=shape), jnp.float32)


@pytest.mark.parametrize("norm", ["batch", "group", "none"])
def test_conv_encoder_pools_images_to_vectors(norm):
  model = conv_encoder.ConvEncoder(widths=(4, 6), norm=norm)
  variables, features = _init_apply(model, _images((3, 16, 16, 1)))
  assert features.shape == (3, 6)
  assert ("batch_stats" in variables) == (norm == "batch")
  _, projected = _init_apply(conv_encoder.ConvEncoder(widths=(4,), features=5),
                             _images((3, 16, 16, 1)))
  assert projected.shape == (3, 5)


def test_conv_encoder_takes_a_conv_count_per_stage():
  model = conv_encoder.ConvEncoder(widths=(4, 6), convs_per_stage=(1, 2))
  params = jax.eval_shape(lambda: model.init(_key(0), jnp.zeros((1, 16, 16, 1)),
                                             train=False))["params"]
  assert sorted(name for name in params if "conv" in name) == [
      "stage0_conv0", "stage1_conv0", "stage1_conv1"]
  with pytest.raises(ValueError, match="2 counts for 3 stages"):
    conv_encoder.ConvEncoder(widths=(4, 6, 8), convs_per_stage=(1, 2)).init(
        _key(0), jnp.zeros((1, 16, 16, 1)), train=False)


@pytest.mark.parametrize("variant,stages", [(resnet.ResNet18, 4), (resnet.ResNet34, 4)])
def test_resnets_have_the_standard_depths(variant, stages):
  model = variant(num_filters=2, small_stem=True, norm="group")
  params = jax.eval_shape(lambda: model.init(_key(0), jnp.zeros((1, 16, 16, 1)),
                                             train=False))["params"]
  blocks = [name for name in params if name.startswith("stage")]
  expected = {resnet.ResNet18: 8, resnet.ResNet34: 16}[variant]
  assert len(blocks) == expected and blocks[-1].startswith(f"stage{stages - 1}_")


def test_resnet18_encodes_frames():
  model = resnet.ResNet18(num_filters=2)  # ImageNet stem: 32 -> 8 before the first stage.
  _, features = _init_apply(model, _images((2, 32, 32, 3)))
  assert features.shape == (2, 16)


def test_frozen_encoder_keeps_batchnorm_statistics_and_stops_gradients():
  images = _images((4, 16, 16, 1))
  model = conv_encoder.ConvEncoder(widths=(4,), frozen=True)
  variables = model_variables.numpy_variables(model, images, train=False)
  features, updates = model.apply(variables, images, train=True, mutable=["batch_stats"])
  jax.tree.map(np.testing.assert_array_equal, updates["batch_stats"], variables["batch_stats"])
  grads = jax.grad(lambda p: model.apply({**variables, "params": p}, images, train=True,
                                         mutable=["batch_stats"])[0].sum())(variables["params"])
  assert all(np.all(leaf == 0) for leaf in jax.tree.leaves(grads))
  assert features.shape == (4, 4)


def test_bottleneck_codes_reconstructs_and_adds_noise_only_in_training():
  features = _images((2, 3, 8))
  model = bottleneck.AutoencoderBottleneck(dim=4, hidden_sizes=(6,), noise_std=0.5)
  variables, (code, reconstruction, target) = _init_apply(model, features)
  assert code.shape == (2, 3, 4) and reconstruction.shape == target.shape == (2, 3, 8)
  np.testing.assert_array_equal(target, features)

  train = jax.jit(lambda key: model.apply(variables, features, train=True, rngs={"noise": key}))
  code_1, _, target_1 = train(_key(1))
  code_2, _, _ = train(_key(2))
  assert np.abs(code_1 - code_2).max() > 1e-3
  np.testing.assert_array_equal(target_1, features)  # The target is the clean input.
  # The target is under stop_gradient: only the code path carries gradients to the input.
  target_grad = jax.grad(lambda f: model.apply(variables, f, train=False)[2].sum())(features)
  np.testing.assert_array_equal(target_grad, 0.0)


def test_pixel_decoder_reconstructs_downsampled_frames():
  frames = _images((2, 3, 16, 16, 1))
  features = _images((2, 3, 8), seed=1)
  model = bottleneck.AutoencoderBottleneck(dim=4, pixel_decoder=True, pixel_size=8,
                                           pixel_widths=(4,))
  _, (code, reconstruction, target) = _init_apply(model, features, frames=frames)
  assert code.shape == (2, 3, 4)
  assert reconstruction.shape == target.shape == (2, 3, 8, 8, 1)
  np.testing.assert_allclose(target.mean(), frames.mean(), atol=0.05)
  with pytest.raises(ValueError, match="pixel_size"):
    bottleneck.AutoencoderBottleneck(dim=4, pixel_decoder=True, pixel_size=10).init(
        _key(0), features, frames=frames, train=False)


@pytest.mark.parametrize("model", [
    conv3d.C3D(widths=(4, 6, 8)),
    conv3d.R2Plus1D(widths=(4, 6), norm="group"),
], ids=["c3d", "r2plus1d"])
def test_3d_networks_embed_clips(model):
  clip = _images((2, 3, 16, 16, 1))
  _, embedding = _init_apply(model, clip)
  assert embedding.shape == (2, model.widths[-1])


def test_head_gives_float32_logits_and_uses_dropout_in_training():
  model = head.ClassifierHead(6, hidden_sizes=(8,), dropout=0.5, dtype=jnp.bfloat16)
  x = _images((4, 5))
  variables, logits = _init_apply(model, x)
  assert logits.shape == (4, 6) and logits.dtype == jnp.float32
  train = jax.jit(lambda key: model.apply(variables, x, train=True, rngs={"dropout": key}))
  assert np.abs(train(_key(1)) - train(_key(2))).max() > 1e-3
