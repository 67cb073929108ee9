"""EmotionNet's centre crop and test-time augmentation (emo_jax/models/emotion_net.py)."""
import jax
import numpy as np
import pytest

from emo_jax import models
from emo_jax.models import presets


def _model(**overrides):
  config = presets.default_model_config("fer2013_cnn")
  config.encoder.widths = (4, 8)
  config.head.hidden_sizes = (8,)
  config.update(overrides)
  return models.create_model(config, 7)


def _init(model, size=48):
  return model.init(jax.random.key(0), np.zeros((1, 1, size, size, 1), np.float32), train=False)


def test_center_crop_ignores_the_border():
  model = _model(center_crop=40)
  variables = _init(model)
  rng = np.random.default_rng(0)
  images = rng.uniform(size=(2, 1, 48, 48, 1)).astype(np.float32)
  changed = images.copy()
  changed[:, :, :4] = rng.uniform(size=changed[:, :, :4].shape)  # Top rows: outside the window.
  same, _ = model.apply(variables, images, train=False)
  other, _ = model.apply(variables, changed, train=False)
  np.testing.assert_allclose(same, other, atol=1e-6)
  changed[:, :, 20:24] = 0.0  # Inside the window: the output changes.
  inside, _ = model.apply(variables, changed, train=False)
  assert not np.allclose(same, inside, atol=1e-4)


def test_flip_averages_the_mirror_image():
  plain = _model(center_crop=40)
  flip = _model(center_crop=40, test_time_augmentation="flip")
  variables = _init(plain)
  images = np.random.default_rng(1).uniform(size=(3, 1, 48, 48, 1)).astype(np.float32)
  p = jax.nn.softmax(plain.apply(variables, images, train=False)[0])
  p_mirror = jax.nn.softmax(plain.apply(variables, images[:, :, :, ::-1], train=False)[0])
  averaged = jax.nn.softmax(flip.apply(variables, images, train=False)[0])
  np.testing.assert_allclose(averaged, (p + p_mirror) / 2, atol=1e-5)
  # Training never averages: the same outputs as without test-time augmentation.
  rngs = {"dropout": jax.random.key(2)}
  train_plain, _ = plain.apply(variables, images, train=True, rngs=rngs, mutable=["batch_stats"])
  train_flip, _ = flip.apply(variables, images, train=True, rngs=rngs, mutable=["batch_stats"])
  np.testing.assert_allclose(train_plain[0], train_flip[0], atol=1e-6)


def test_ten_crop_uses_ten_views_and_needs_a_crop_size():
  model = _model(center_crop=40, test_time_augmentation="ten_crop")
  variables = _init(model)
  images = np.random.default_rng(3).uniform(size=(2, 1, 48, 48, 1)).astype(np.float32)
  views = model.apply(variables, images, method=lambda m, x: m._test_time_views(x))
  assert len(views) == 10 and all(v.shape == (2, 1, 40, 40, 1) for v in views)
  np.testing.assert_array_equal(views[0][0, 0], images[0, 0, 4:44, 4:44])
  np.testing.assert_array_equal(views[1][0, 0], images[0, 0, :40, :40])
  np.testing.assert_array_equal(views[4][0, 0], images[0, 0, 8:, 8:])
  np.testing.assert_array_equal(views[5][0, 0], images[0, 0, 4:44, 4:44][:, ::-1])
  logits, _ = model.apply(variables, images, train=False)
  np.testing.assert_allclose(np.exp(logits).sum(-1), 1.0, atol=1e-5)
  with pytest.raises(ValueError, match="center_crop"):
    bad = _model(test_time_augmentation="ten_crop")
    bad.apply(_init(bad), images, train=False)
  with pytest.raises(ValueError, match="test_time_augmentation"):
    _model(test_time_augmentation="twelve_crop")
