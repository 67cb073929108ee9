"""Tests for emo_jax/evaluation.py: padding is dropped and the loss is the mean cross-entropy."""
import numpy as np

from emo_jax import evaluation


def test_evaluate_batches_drops_padding_and_computes_the_loss():
  logits = np.log(np.array([[0.5, 0.5], [0.25, 0.75], [0.9, 0.1]], np.float32))
  batches = [
      {"label": np.array([0, 1]), "index": np.array([4, 7]), "mask": np.array([True, True]),
       "logits": logits[:2]},
      {"label": np.array([0, 0]), "index": np.array([9, -1]), "mask": np.array([True, False]),
       "logits": np.concatenate([logits[2:], np.zeros((1, 2), np.float32)])},
  ]

  def eval_step(state, batch):
    assert state == "state"
    return {"logits": batch["logits"], "pooled": batch["logits"] * 2}

  metrics, outputs = evaluation.evaluate_batches(eval_step, "state", batches, num_classes=2)
  np.testing.assert_array_equal(outputs["index"], [4, 7, 9])
  np.testing.assert_array_equal(outputs["label"], [0, 1, 0])
  np.testing.assert_allclose(outputs["probabilities"][:, 0], [0.5, 0.25, 0.9], rtol=1e-6)
  assert outputs["pooled"].shape == (3, 2)
  assert metrics["accuracy"] == 1.0  # argmax of [0.5, 0.5] is class 0.
  expected_loss = -(np.log(0.5) + np.log(0.75) + np.log(0.9)) / 3
  np.testing.assert_allclose(metrics["loss"], expected_loss, rtol=1e-5)
