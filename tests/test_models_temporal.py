"""Temporal models: the scanned LSTM against a Python loop, bidirectionality, masking."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from emo_jax.models import attention
from emo_jax.models import lstm
from emo_jax.models import masking
from emo_jax.models import pooling
from tests import model_variables

HIDDEN = 5


def _key(seed):
  # The "rbg" generator: XLA on CPU compiles random numbers (dropout) many times faster
  # than with the default threefry.
  return jax.random.key(seed, impl="rbg")


def _codes(batch=2, num_frames=5, dim=3, seed=0):
  return jnp.asarray(np.random.default_rng(seed).normal(size=(batch, num_frames, dim)), jnp.float32)


def _init(model, x, mask):
  """Numpy-filled variables of the real structure: a compiled init takes seconds on CPU."""
  return model_variables.numpy_variables(model, x, mask=mask, train=False)


def _prefix_mask(lengths, num_frames):
  return jnp.arange(num_frames)[None, :] < jnp.asarray(lengths)[:, None]


@jax.jit
def _lstm_step(cell_params, carry, inputs):
  return nn.OptimizedLSTMCell(HIDDEN).apply({"params": cell_params}, carry, inputs)


def _loop_lstm(cell_params, inputs):
  """Runs one LSTM cell step by step in Python: `[T, D]` -> (final h [H], outputs [T, H])."""
  carry = (jnp.zeros((1, HIDDEN)), jnp.zeros((1, HIDDEN)))
  outputs = []
  for step in range(inputs.shape[0]):
    carry, output = _lstm_step(cell_params, carry, inputs[None, step])
    outputs.append(output[0])
  return carry[1][0], jnp.stack(outputs)


def test_masked_mean_ignores_padding_and_survives_empty_clips():
  x = jnp.array([[[1.0], [3.0], [100.0]], [[5.0], [7.0], [9.0]]])
  mask = jnp.array([[True, True, False], [False, False, False]])
  np.testing.assert_allclose(masking.masked_mean(x, mask), [[2.0], [0.0]])


@pytest.mark.parametrize("pooling_kind", ["last", "mean"])
def test_scanned_lstm_equals_python_loop_over_the_same_cells(pooling_kind):
  x = _codes()
  lengths = [5, 3]
  mask = _prefix_mask(lengths, 5)
  model = lstm.TemporalLSTM(HIDDEN, num_layers=2, pooling=pooling_kind)
  variables = _init(model, x, mask)
  pooled, aux = jax.jit(lambda x, mask: model.apply(variables, x, mask=mask, train=False))(x, mask)
  assert pooled.shape == (2, HIDDEN) and aux == {}

  for example, length in enumerate(lengths):
    layer_input = x[example, :length]
    for layer in range(2):
      final_hidden, layer_input = _loop_lstm(
          variables["params"][f"layer{layer}"]["cell"], layer_input)
    expected = final_hidden if pooling_kind == "last" else layer_input.mean(axis=0)
    np.testing.assert_allclose(pooled[example], expected, rtol=1e-5, atol=1e-5)


def test_bidirectional_lstm_adds_a_backward_pass_over_the_valid_frames():
  x = _codes()
  lengths = [5, 3]
  mask = _prefix_mask(lengths, 5)
  model = lstm.TemporalLSTM(HIDDEN, bidirectional=True)
  variables = _init(model, x, mask)
  pooled, _ = jax.jit(lambda x, mask: model.apply(variables, x, mask=mask, train=False))(x, mask)
  assert pooled.shape == (2, 2 * HIDDEN)

  params = variables["params"]["layer0"]
  for example, length in enumerate(lengths):
    valid = x[example, :length]
    forward, _ = _loop_lstm(params["forward_rnn"]["cell"], valid)
    backward, _ = _loop_lstm(params["backward_rnn"]["cell"], valid[::-1])
    backward_cell_forwards, _ = _loop_lstm(params["backward_rnn"]["cell"], valid)
    np.testing.assert_allclose(pooled[example, :HIDDEN], forward, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(pooled[example, HIDDEN:], backward, rtol=1e-5, atol=1e-5)
    # The backward half really reads the clip backwards: differs from a forward reading.
    assert np.abs(pooled[example, HIDDEN:] - backward_cell_forwards).max() > 1e-3


def _temporal_models():
  return {
      "lstm": lstm.TemporalLSTM(HIDDEN),
      "bilstm_2_layers": lstm.TemporalLSTM(HIDDEN, num_layers=2, bidirectional=True),
      "lstm_mean": lstm.TemporalLSTM(HIDDEN, pooling="mean"),
      "attention_cls": attention.TemporalAttention(num_layers=2, num_heads=2, mlp_dim=8,
                                                   hidden_size=8, pooling="cls"),
      "attention_pool": attention.TemporalAttention(num_layers=1, num_heads=2, mlp_dim=8,
                                                    hidden_size=8, pooling="attention"),
      "attention_mean": attention.TemporalAttention(num_layers=1, num_heads=2, mlp_dim=8,
                                                    hidden_size=8, pooling="mean"),
      "mean": pooling.MeanPooling(),
  }


@pytest.mark.parametrize("name", list(_temporal_models()))
def test_masked_padding_does_not_change_the_pooled_output(name):
  model = _temporal_models()[name]
  num_frames, short = 6, 3
  x = _codes(num_frames=num_frames)
  mask = _prefix_mask([num_frames, short], num_frames)
  variables = _init(model, x, mask)
  apply = jax.jit(lambda x, mask: model.apply(variables, x, mask=mask, train=False)[0])

  pooled = apply(x, mask)
  garbage = x.at[1, short:].set(1e3)
  np.testing.assert_allclose(apply(garbage, mask), pooled, rtol=1e-5, atol=1e-5)
  # The padded clip gives what the unpadded short clip gives on its own.
  alone = apply(x[1:, :short], jnp.ones((1, short), bool))
  np.testing.assert_allclose(pooled[1:], alone, rtol=1e-5, atol=1e-5)
  # Without the mask the padding does change the output, so the checks above can fail.
  full = jnp.ones_like(mask)
  assert np.abs(apply(garbage, full)[1] - apply(x, full)[1]).max() > 1e-4


def test_attention_weights_shape_and_zero_weight_on_masked_keys():
  x = _codes(num_frames=4)
  mask = _prefix_mask([4, 2], 4)
  model = attention.TemporalAttention(num_layers=2, num_heads=2, mlp_dim=8, hidden_size=8,
                                      pooling="attention")
  variables = _init(model, x, mask)
  pooled, aux = jax.jit(lambda x, mask: model.apply(variables, x, mask=mask, train=False))(x, mask)
  assert pooled.shape == (2, 8)
  weights = aux["attention_weights"]
  assert weights.shape == (2, 2, 2, 4, 4)  # [B, layers, heads, T, T]
  np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
  np.testing.assert_array_equal(weights[1, :, :, :, 2:], 0.0)
  np.testing.assert_allclose(aux["pooling_weights"][1, 2:], 0.0)


def test_attention_dropout_uses_the_dropout_rng_in_training_only():
  x = _codes(num_frames=4)
  mask = jnp.ones((2, 4), bool)
  model = attention.TemporalAttention(num_layers=1, num_heads=2, mlp_dim=8, hidden_size=8,
                                      dropout=0.5)
  variables = _init(model, x, mask)
  train = jax.jit(lambda key: model.apply(variables, x, mask=mask, train=True,
                                          rngs={"dropout": key})[0])
  assert np.abs(train(_key(1)) - train(_key(2))).max() > 1e-4
  evaluate = jax.jit(lambda: model.apply(variables, x, mask=mask, train=False)[0])
  np.testing.assert_array_equal(evaluate(), evaluate())


def test_attention_rejects_clips_longer_than_its_positional_embeddings():
  model = attention.TemporalAttention(num_layers=1, num_heads=2, mlp_dim=8, max_len=4)
  with pytest.raises(ValueError, match="max_len"):
    model.init(_key(0), _codes(num_frames=5, dim=4), mask=jnp.ones((2, 5), bool),
               train=False)
