"""Losses and the optimiser's parameter groups and freezing."""
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from configs import common
from emo_jax import losses
from emo_jax import optimizers


def test_targets_mix_smoothing_and_votes():
  labels = jnp.array([0])
  votes = jnp.array([[0.0, 0.5, 0.5]])
  targets = losses.classification_targets(labels, votes, 3, label_smoothing=0.3, soft_label_weight=0.5)
  smoothed = np.array([0.7 + 0.1, 0.1, 0.1])
  np.testing.assert_allclose(targets[0], 0.5 * smoothed + 0.5 * np.array([0.0, 0.5, 0.5]), rtol=1e-6)
  with pytest.raises(ValueError, match="vote_distribution"):
    losses.classification_targets(labels, None, 3, soft_label_weight=0.5)


def test_cross_entropy_ignores_masked_examples_and_weights_classes():
  logits = jnp.array([[2.0, 0.0], [0.0, 2.0], [5.0, -5.0]])
  labels = jnp.array([0, 0, 1])
  targets = jax.nn.one_hot(labels, 2)
  mask = jnp.array([True, True, False])
  expected = np.mean([optax.softmax_cross_entropy(logits[i], targets[i]) for i in range(2)])
  assert losses.weighted_cross_entropy(logits, targets, labels, mask) == pytest.approx(expected, rel=1e-6)
  # With class 0 weighted 0, only the masked class-1 example remains: its weight is 0 too.
  weights = jnp.array([0.0, 1.0])
  assert losses.weighted_cross_entropy(logits, targets, labels, mask, weights) == pytest.approx(0.0)


def test_balanced_class_weights():
  weights = losses.balanced_class_weights([6, 2, 0], 3)
  np.testing.assert_allclose(weights, [8 / (3 * 6), 8 / (3 * 2), 0.0], rtol=1e-6)


def test_reconstruction_loss_is_masked_mean_squared_error():
  reconstruction = jnp.ones((2, 3))
  target = jnp.zeros((2, 3)).at[1].set(1.0)
  assert losses.reconstruction_loss(reconstruction, target, jnp.array([True, True])) == pytest.approx(0.5)
  assert losses.reconstruction_loss(reconstruction, target, jnp.array([False, True])) == pytest.approx(0.0)


def optimizer_config(**overrides):
  config = common.base_config().optimizer
  config.warmup_steps = 0
  config.update(overrides)
  return config


def test_frozen_parameters_do_not_move_and_groups_scale_the_rate():
  params = {"encoder": {"kernel": jnp.ones(3)}, "head": {"kernel": jnp.ones(3)},
            "temporal": {"kernel": jnp.ones(3)}}
  config = optimizer_config(frozen="^encoder/", param_groups=(("^temporal/", 0.0),), weight_decay=0.0,
                            learning_rate=0.1)
  tx, _ = optimizers.create_optimizer(config, params, total_steps=10)
  grads = jax.tree.map(jnp.ones_like, params)
  updates, _ = tx.update(grads, tx.init(params), params)
  np.testing.assert_array_equal(updates["encoder"]["kernel"], 0.0)
  np.testing.assert_array_equal(updates["temporal"]["kernel"], 0.0)  # multiplier 0
  assert np.all(np.asarray(updates["head"]["kernel"]) < 0)
  labels = optimizers.param_group_labels(params, config)
  assert labels == {"encoder": {"kernel": "frozen"}, "head": {"kernel": "default"},
                    "temporal": {"kernel": "^temporal/"}}


@pytest.mark.parametrize("decay_norms_and_biases", [False, True])
def test_weight_decay_skips_norms_and_biases_unless_asked(decay_norms_and_biases):
  params = {"dense": {"kernel": jnp.ones((2, 3)), "bias": jnp.ones(3)}, "norm": {"scale": jnp.ones(3)}}
  config = optimizer_config(weight_decay=0.5, learning_rate=0.1, warmup_steps=0,
                            decay_norms_and_biases=decay_norms_and_biases)
  tx, _ = optimizers.create_optimizer(config, params, total_steps=10)
  zero_grads = jax.tree.map(jnp.zeros_like, params)
  updates, _ = tx.update(zero_grads, tx.init(params), params)
  # With zero gradients the only update is the decay itself.
  assert np.all(np.asarray(updates["dense"]["kernel"]) < 0)
  for leaf in (updates["dense"]["bias"], updates["norm"]["scale"]):
    if decay_norms_and_biases:
      assert np.all(np.asarray(leaf) < 0)
    else:
      np.testing.assert_array_equal(leaf, 0.0)


def test_schedule_warms_up_then_decays():
  config = optimizer_config(warmup_steps=10, learning_rate=1.0, end_learning_rate_factor=0.01)
  schedule = optimizers.learning_rate_schedule(config, total_steps=100)
  assert schedule(0) == pytest.approx(0.0)
  assert schedule(10) == pytest.approx(1.0)
  assert schedule(100) == pytest.approx(0.01)
