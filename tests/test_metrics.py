"""Metric functions against hand-computed values."""
import numpy as np
import pytest

from emo_jax import metrics


def one_hot_probabilities(predictions, num_classes, confidence=0.9):
  probabilities = np.full((len(predictions), num_classes), (1 - confidence) / (num_classes - 1))
  probabilities[np.arange(len(predictions)), predictions] = confidence
  return probabilities


def test_confusion_matrix_rows_are_true_classes():
  matrix = metrics.confusion_matrix([0, 0, 1], [1, 1, 1], num_classes=3)
  assert matrix[0, 1] == 2  # two examples of true class 0 predicted as 1
  assert matrix[1, 1] == 1
  assert matrix.sum() == 3 and matrix[:, 0].sum() == 0


def test_metrics_hand_computed_with_a_class_that_never_occurs():
  # Classes 0, 1, 2; class 2 never occurs but is predicted once.
  labels = [0, 0, 0, 1, 1]
  predictions = [0, 0, 1, 1, 2]
  result = metrics.classification_metrics(labels, one_hot_probabilities(predictions, 3), num_classes=3)
  assert result["accuracy"] == pytest.approx(3 / 5)
  # Recall: class 0 2/3, class 1 1/2; UAR averages the classes that occur.
  assert result["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2) / 2)
  # Precision: class 0 2/2, class 1 1/2, class 2 0/1.
  np.testing.assert_allclose(result["per_class_precision"], [1.0, 0.5, 0.0])
  np.testing.assert_allclose(result["per_class_recall"], [2 / 3, 0.5, 0.0])
  f1 = [2 * 1 * (2 / 3) / (1 + 2 / 3), 0.5, 0.0]
  np.testing.assert_allclose(result["per_class_f1"], f1)
  assert result["macro_f1"] == pytest.approx(np.mean(f1))
  assert result["weighted_f1"] == pytest.approx(f1[0] * 3 / 5 + f1[1] * 2 / 5)
  np.testing.assert_array_equal(result["per_class_support"], [3, 2, 0])
  assert result["num_examples"] == 5


def test_expected_calibration_error_hand_computed():
  # Two examples at confidence 0.9 (one right, one wrong) -> |0.9 - 0.5| = 0.4 in one bin.
  probabilities = np.array([[0.9, 0.1], [0.9, 0.1]])
  assert metrics.expected_calibration_error(probabilities, np.array([0, 1])) == pytest.approx(0.4)
  # Perfectly calibrated: confidence 1.0 and always right.
  assert metrics.expected_calibration_error(np.array([[1.0, 0.0]]), np.array([0])) == pytest.approx(0.0)


def test_scalar_metrics_drops_arrays():
  result = metrics.classification_metrics([0, 1], one_hot_probabilities([0, 1], 2), 2)
  scalars = metrics.scalar_metrics(result)
  assert "accuracy" in scalars and "confusion_matrix" not in scalars
