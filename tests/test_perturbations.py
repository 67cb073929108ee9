"""Tests of emo_jax/analysis/perturbations.py and the perturbed eval step on small arrays."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from emo_jax import models
from emo_jax.analysis import perturbations

B, T, H, W, C = 3, 6, 4, 4, 1


def _frames():
  """Frame t of clip b is filled with (10 * b + t) / 100, so positions are readable."""
  values = (10 * np.arange(B)[:, None] + np.arange(T)[None]) / 100.0
  return np.broadcast_to(values[:, :, None, None, None], (B, T, H, W, C)).astype(np.float32)


def _keys(seed=0):
  return jax.vmap(lambda i: jax.random.fold_in(jax.random.key(seed), i))(jnp.arange(B))


def test_shuffle_time_permutes_each_clip_in_time_only():
  frames = _frames()
  shuffled = np.asarray(perturbations.shuffle_time(frames, _keys()))
  assert shuffled.shape == frames.shape
  for b in range(B):
    np.testing.assert_array_equal(np.sort(shuffled[b, :, 0, 0, 0]), frames[b, :, 0, 0, 0])
    # Each frame stays whole (a frame is moved, not mixed with others).
    assert np.all(shuffled[b] == shuffled[b, :, :1, :1])
  assert not np.array_equal(shuffled, frames)
  # Deterministic per key; a clip's key decides its permutation, whatever the batch.
  np.testing.assert_array_equal(shuffled, perturbations.shuffle_time(frames, _keys()))
  single = perturbations.shuffle_time(frames[1:2], _keys()[1:2])
  np.testing.assert_array_equal(single[0], shuffled[1])


def test_subsample_frames_keeps_every_second():
  sub = np.asarray(perturbations.subsample_frames(_frames(), 2))
  assert sub.shape == (B, T // 2, H, W, C)
  np.testing.assert_allclose(sub[0, :, 0, 0, 0], [0.0, 0.02, 0.04])
  assert perturbations.subsample_frames(_frames()[:, :5], 2).shape[1] == 3
  with pytest.raises(ValueError):
    perturbations.subsample_frames(_frames(), 0)


def test_prefix_frame_mask():
  mask = np.asarray(perturbations.prefix_frame_mask(2, 4, 2))
  np.testing.assert_array_equal(mask, [[1, 1, 0, 0], [1, 1, 0, 0]])
  with pytest.raises(ValueError):
    perturbations.prefix_frame_mask(2, 4, 0)


def test_gaussian_noise_has_the_asked_std_and_stays_in_range():
  frames = np.full((2, 4, 16, 16, 1), 0.5, np.float32)
  noisy = np.asarray(perturbations.add_gaussian_noise(frames, _keys()[:2], 0.1))
  assert noisy.min() >= 0 and noisy.max() <= 1
  assert np.std(noisy - frames) == pytest.approx(0.1, rel=0.1)
  assert abs(np.mean(noisy - frames)) < 0.01
  clipped = np.asarray(perturbations.add_gaussian_noise(np.ones_like(frames), _keys()[:2], 0.5))
  assert clipped.max() == 1.0


@pytest.mark.parametrize("region", ["upper", "lower"])
def test_occlude_greys_one_half(region):
  frames = np.zeros((1, 2, 5, 3, 1), np.float32)
  out = np.asarray(perturbations.occlude(frames, region))
  rows = out[0, 0, :, 0, 0]
  expected = [0.5, 0.5, 0, 0, 0] if region == "upper" else [0, 0, 0.5, 0.5, 0.5]
  np.testing.assert_array_equal(rows, expected)
  assert np.all(out[0, 1] == out[0, 0])


@pytest.mark.parametrize("input_norm,center_crop", [("fixed", 0), ("per_frame", 0),
                                                     ("per_frame", 6)])
def test_occluded_half_is_zero_after_the_models_input_normalisation(input_norm, center_crop):
  """The hidden half carries no signal into the model: the ablation's perturbation is
  the one that fits the model's `input_norm` (mid-grey would be a bright or dark band
  after per-frame standardisation)."""
  config = models.default_model_config("cnn_lstm")
  config.update(input_norm=input_norm, center_crop=center_crop)
  model = models.create_model(config, 6)
  frames = jax.random.uniform(jax.random.key(3), (2, T, 8, 8, 1)) ** 3  # Mean far from 0.5.
  structure = {"num_frames": T, "per_frame": True, "has_bottleneck": False,
               "input_norm": model.input_norm, "center_crop": model.center_crop}
  for perturbation in perturbations.applicable_perturbations(structure, noise_stds=()):
    if not perturbation.name.startswith("occlude_"):
      continue
    occluded = perturbation.frames_fn(frames, _keys()[:2])
    normalised, _ = model.apply({}, occluded, None, method=lambda m, f, mask: m._normalise(f, mask))
    crop_top = (8 - (center_crop or 8)) // 2
    hidden_rows = np.arange(8)[crop_top:8 - crop_top] < 4
    if perturbation.name == "occlude_lower":
      hidden_rows = ~hidden_rows
    np.testing.assert_allclose(normalised[:, :, hidden_rows], 0.0, atol=1e-5)
    assert np.abs(normalised[:, :, ~hidden_rows]).max() > 0.5  # The visible half is intact.


def test_visible_mean_fill_is_each_frames_mean_over_the_visible_pixels():
  frames = np.zeros((1, 2, 4, 2, 1), np.float32)
  frames[0, 0, 2:] = [[[0.2], [0.4]], [[0.6], [0.8]]]
  frames[0, 1, 2:] = 1.0
  out = np.asarray(perturbations.occlude(frames, "upper", fill="visible_mean"))
  np.testing.assert_allclose(out[0, 0, :2], 0.5)
  np.testing.assert_allclose(out[0, 1, :2], 1.0)
  np.testing.assert_array_equal(out[:, :, 2:], frames[:, :, 2:])
  with pytest.raises(ValueError, match="fill must be one of"):
    perturbations.occlude(frames, "upper", fill="black")


def _tiny_model(kind):
  config = models.default_model_config(kind)
  if config.encoder is not None:
    config.encoder.widths = (4,)
  if config.bottleneck is not None:
    config.bottleneck.dim = 3
  if config.video is not None:
    config.video.widths = (4,)
  if config.temporal is not None and config.temporal.name == "lstm":
    config.temporal.hidden_size = 4
  config.head.hidden_sizes = ()
  model = models.create_model(config, 6)
  variables = model.init(jax.random.key(0), jnp.zeros((1, T, 8, 8, 1)), train=False)
  return model, variables


def test_applicable_perturbations_follow_model_structure():
  model, variables = _tiny_model("ae_lstm")
  structure = perturbations.model_structure(model, variables, (T, 8, 8, 1))
  assert structure["has_bottleneck"] and structure["per_frame"]
  names = [p.name for p in perturbations.applicable_perturbations(structure, noise_stds=(0.1,))]
  assert names == ["shuffle_time", "half_frames_subsampled", "first_half_frames",
                   "bottleneck_mean", "noise_0.1", "occlude_upper", "occlude_lower"]
  model, variables = _tiny_model("c3d")
  structure = perturbations.model_structure(model, variables, (T, 8, 8, 1))
  names = [p.name for p in perturbations.applicable_perturbations(structure)]
  assert "bottleneck_mean" not in names and "first_half_frames" not in names
  assert "shuffle_time" in names
  model, variables = _tiny_model("fer2013_cnn")
  structure = perturbations.model_structure(model, variables, (1, 8, 8, 1))
  names = [p.name for p in perturbations.applicable_perturbations(structure)]
  assert names == ["noise_0.1", "occlude_upper", "occlude_lower"]


def test_replace_bottleneck_code_reaches_the_head():
  model, variables = _tiny_model("ae_lstm")
  frames = jax.random.uniform(jax.random.key(1), (2, T, 8, 8, 1))
  code = jnp.array([0.5, -1.0, 2.0])

  @jax.jit
  def replaced(variables, frames):
    with perturbations.replace_bottleneck_code(code):
      return model.apply(variables, frames, train=False)

  logits, aux = replaced(variables, frames)
  np.testing.assert_allclose(aux["bottleneck"], np.broadcast_to(code, (2, T, 3)))
  # Both clips now see the same codes, so they get the same logits.
  np.testing.assert_allclose(logits[0], logits[1], rtol=1e-5)
  real_logits, real_aux = model.apply(variables, frames, train=False)
  assert not np.allclose(real_logits[0], real_logits[1])
  # The reconstruction target is still the real features.
  np.testing.assert_allclose(aux["reconstruction_target"], real_aux["reconstruction_target"])
