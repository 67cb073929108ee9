"""Classification metrics on numpy arrays: accuracy, UAR, precision/recall/F1, confusion, calibration."""
import numpy as np


def confusion_matrix(labels, predictions, num_classes: int) -> np.ndarray:
  """`[K, K]` counts; rows are the true class, columns the predicted class."""
  labels = np.asarray(labels, np.int64)
  predictions = np.asarray(predictions, np.int64)
  matrix = np.zeros((num_classes, num_classes), np.int64)
  np.add.at(matrix, (labels, predictions), 1)
  return matrix


def _safe_divide(numerator, denominator):
  numerator = np.asarray(numerator, np.float64)
  denominator = np.asarray(denominator, np.float64)
  return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), 0.0)


def per_class_scores(matrix: np.ndarray) -> dict:
  """Precision, recall, F1 and support per class from a confusion matrix.

  A class never predicted has precision 0; a class that never occurs has recall 0 and
  support 0 (as scikit-learn with zero_division=0).
  """
  true_positives = np.diag(matrix).astype(np.float64)
  support = matrix.sum(axis=1)
  predicted = matrix.sum(axis=0)
  precision = _safe_divide(true_positives, predicted)
  recall = _safe_divide(true_positives, support)
  f1 = _safe_divide(2 * precision * recall, precision + recall)
  return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def expected_calibration_error(probabilities, labels, num_bins: int = 15) -> float:
  """ECE: the bin-size-weighted gap between confidence and accuracy over equal-width bins."""
  probabilities = np.asarray(probabilities, np.float64)
  labels = np.asarray(labels)
  confidence = probabilities.max(axis=-1)
  correct = probabilities.argmax(axis=-1) == labels
  bins = np.minimum((confidence * num_bins).astype(np.int64), num_bins - 1)
  ece = 0.0
  for b in range(num_bins):
    in_bin = bins == b
    if in_bin.any():
      ece += in_bin.mean() * abs(confidence[in_bin].mean() - correct[in_bin].mean())
  return float(ece)


def classification_metrics(labels, probabilities, num_classes: int) -> dict:
  """All summary metrics for one evaluation.

  Args:
    labels: `[N]` true classes.
    probabilities: `[N, K]` predicted class probabilities.
    num_classes: K.

  Returns:
    accuracy, balanced_accuracy (unweighted average recall, UAR, over the classes that
    occur), macro and weighted precision/recall/F1 (macro over all K classes),
    expected_calibration_error, num_examples, per-class arrays and the confusion matrix.
  """
  labels = np.asarray(labels, np.int64)
  probabilities = np.asarray(probabilities, np.float64)
  predictions = probabilities.argmax(axis=-1)
  matrix = confusion_matrix(labels, predictions, num_classes)
  scores = per_class_scores(matrix)
  support = scores["support"]
  present = support > 0
  weights = support / max(support.sum(), 1)
  metrics = {
      "num_examples": int(labels.size),
      "accuracy": float(np.mean(predictions == labels)) if labels.size else 0.0,
      "balanced_accuracy": float(scores["recall"][present].mean()) if present.any() else 0.0,
      "expected_calibration_error": expected_calibration_error(probabilities, labels) if labels.size else 0.0,
      "confusion_matrix": matrix,
  }
  for name in ("precision", "recall", "f1"):
    metrics[f"macro_{name}"] = float(scores[name].mean())
    metrics[f"weighted_{name}"] = float(np.sum(scores[name] * weights))
    metrics[f"per_class_{name}"] = scores[name]
  metrics["per_class_support"] = support
  return metrics


def scalar_metrics(metrics: dict) -> dict:
  """Only the scalar entries (for logging and checkpoint selection)."""
  return {k: v for k, v in metrics.items() if np.ndim(v) == 0}
