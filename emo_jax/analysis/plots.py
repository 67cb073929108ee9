"""PNG figures: confusion matrix, reliability diagram, embedding maps, training curves."""
from collections.abc import Sequence
import os

import matplotlib

matplotlib.use("Agg")  # Files only; never a window (servers, tests).
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

# Legends with more entries than this are left out (91 actors would hide the plot).
_MAX_LEGEND_ENTRIES = 24
EMBEDDING_METHODS = ("tsne", "pca")


def _save(fig, path: str) -> str:
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=110, bbox_inches="tight")
  plt.close(fig)
  return path


def plot_confusion_matrix(matrix: np.ndarray, class_names: Sequence[str], path: str,
                          title: str = "Confusion matrix") -> str:
  """Counts and row percentages (share of each true class), rows = true class.

  Args:
    matrix: `[K, K]` counts, rows true, columns predicted.
    class_names: K names.
    path: the .png to write.
    title: figure title.
  """
  matrix = np.asarray(matrix)
  num_classes = len(class_names)
  if matrix.shape != (num_classes, num_classes):
    raise ValueError(f"confusion matrix {matrix.shape} does not match {num_classes} class names")
  row_totals = matrix.sum(axis=1, keepdims=True)
  shares = np.where(row_totals > 0, matrix / np.maximum(row_totals, 1), 0.0)
  size = 1.0 + 0.9 * num_classes
  fig, ax = plt.subplots(figsize=(size + 1.5, size))
  image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
  fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of true class")
  for i in range(num_classes):
    for j in range(num_classes):
      ax.text(j, i, f"{matrix[i, j]}\n{100 * shares[i, j]:.0f}%", ha="center", va="center",
              fontsize=8, color="white" if shares[i, j] > 0.5 else "black")
  ax.set_xticks(range(num_classes), class_names, rotation=45, ha="right")
  ax.set_yticks(range(num_classes), class_names)
  ax.set_xlabel("predicted")
  ax.set_ylabel("true")
  ax.set_title(title)
  return _save(fig, path)


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, num_bins: int = 15) -> dict:
  """Per equal-width confidence bin: count, mean confidence and accuracy (NaN when empty).

  The same bins as `emo_jax.metrics.expected_calibration_error`.
  """
  probabilities = np.asarray(probabilities, np.float64)
  confidence = probabilities.max(axis=-1)
  correct = probabilities.argmax(axis=-1) == np.asarray(labels)
  bins = np.minimum((confidence * num_bins).astype(np.int64), num_bins - 1)
  counts = np.bincount(bins, minlength=num_bins)
  with np.errstate(invalid="ignore", divide="ignore"):
    mean_confidence = np.bincount(bins, confidence, num_bins) / counts
    accuracy = np.bincount(bins, correct.astype(np.float64), num_bins) / counts
  return {"edges": np.linspace(0.0, 1.0, num_bins + 1), "count": counts,
          "confidence": mean_confidence, "accuracy": accuracy}


def plot_reliability_diagram(probabilities: np.ndarray, labels: np.ndarray, path: str,
                             num_bins: int = 15, ece: float | None = None) -> str:
  """Accuracy against confidence per bin (the diagonal is perfect calibration), with a
  histogram of confidences below."""
  bins = reliability_bins(probabilities, labels, num_bins)
  edges = bins["edges"]
  centres = (edges[:-1] + edges[1:]) / 2
  width = edges[1] - edges[0]
  filled = bins["count"] > 0
  fig, (top, bottom) = plt.subplots(2, 1, figsize=(5, 6), sharex=True,
                                    gridspec_kw={"height_ratios": (3, 1)})
  top.bar(centres[filled], bins["accuracy"][filled], width=width, edgecolor="black",
          color="tab:blue", label="accuracy")
  gap_bottom = np.minimum(bins["accuracy"], bins["confidence"])[filled]
  gap = np.abs(bins["accuracy"] - bins["confidence"])[filled]
  top.bar(centres[filled], gap, bottom=gap_bottom, width=width, color="tab:red", alpha=0.3,
          edgecolor="tab:red", hatch="//", label="gap to confidence")
  top.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
  top.set_xlim(0, 1)
  top.set_ylim(0, 1)
  top.set_ylabel("accuracy")
  title = "Reliability diagram"
  if ece is not None:
    title += f" (ECE {ece:.3f})"
  top.set_title(title)
  top.legend(loc="upper left", fontsize=8)
  bottom.bar(centres, bins["count"], width=width, color="gray", edgecolor="black")
  bottom.set_xlabel("confidence (max probability)")
  bottom.set_ylabel("clips")
  return _save(fig, path)


def project_embeddings(embeddings: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
  """`[N, D] -> [N, 2]` by PCA or t-SNE; perplexity shrinks for small N (it must be < N).

  Fewer than 3 points (or a constant set) cannot be projected meaningfully; they are
  placed on a line so the plot still shows them.
  """
  if method not in EMBEDDING_METHODS:
    raise ValueError(f"method must be one of {EMBEDDING_METHODS}, got {method!r}")
  x = np.asarray(embeddings, np.float64).reshape(len(embeddings), -1)
  num_points = len(x)
  if num_points < 3 or np.allclose(x, x[:1]):
    return np.stack([np.arange(num_points, dtype=np.float64), np.zeros(num_points)], axis=1)
  from sklearn import decomposition  # pylint: disable=g-import-not-at-top
  if method == "pca" or x.shape[1] == 1:
    components = min(2, x.shape[1])
    projected = decomposition.PCA(n_components=components, random_state=seed).fit_transform(x)
    if components == 1:
      projected = np.concatenate([projected, np.zeros_like(projected)], axis=1)
    return projected
  from sklearn import manifold  # pylint: disable=g-import-not-at-top
  perplexity = float(min(30.0, max(1.0, (num_points - 1) / 3)))
  init = "pca" if x.shape[1] >= 2 else "random"
  return manifold.TSNE(n_components=2, perplexity=perplexity, init=init, random_state=seed,
                       max_iter=500).fit_transform(x)


def plot_embedding_map(points: np.ndarray, colour_by: Sequence, path: str, title: str,
                       names: Sequence[str] | None = None) -> str:
  """Scatter of 2-D points coloured by a per-point group.

  Args:
    points: `[N, 2]`.
    colour_by: `[N]` group per point (class index, actor id, ...).
    path: the .png to write.
    title: figure title.
    names: display names indexed by the group value (e.g. class names for indices);
      the group value itself when None.
  """
  points = np.asarray(points)
  colour_by = np.asarray(colour_by)
  groups = sorted(set(colour_by.tolist()))
  cmap = plt.get_cmap("tab10" if len(groups) <= 10 else "tab20" if len(groups) <= 20 else "turbo")
  fig, ax = plt.subplots(figsize=(6.5, 5.5))
  for index, group in enumerate(groups):
    chosen = colour_by == group
    colour = cmap(index / max(len(groups) - 1, 1)) if len(groups) > 20 else cmap(index)
    label = names[group] if names is not None else str(group)
    ax.scatter(points[chosen, 0], points[chosen, 1], s=14, color=colour, label=label, alpha=0.8)
  if len(groups) <= _MAX_LEGEND_ENTRIES:
    ax.legend(fontsize=7, markerscale=1.2, loc="best", ncol=2 if len(groups) > 12 else 1)
  ax.set_title(title)
  ax.set_xticks([])
  ax.set_yticks([])
  return _save(fig, path)


def plot_embeddings(embeddings: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                    out_dir: str, actors: np.ndarray | None = None, seed: int = 0) -> list[str]:
  """Writes `embeddings_{tsne,pca}.png` coloured by class and, given actors,
  `embeddings_{tsne,pca}_by_actor.png`; returns the paths.

  Clusters by actor rather than by emotion mean the embedding encodes identity.
  """
  paths = []
  for method in EMBEDDING_METHODS:
    points = project_embeddings(embeddings, method, seed)
    method_name = "t-SNE" if method == "tsne" else "PCA"
    paths.append(plot_embedding_map(
        points, labels, os.path.join(out_dir, f"embeddings_{method}.png"),
        f"Clip embeddings ({method_name}), coloured by true emotion", names=class_names))
    if actors is not None:
      paths.append(plot_embedding_map(
          points, actors, os.path.join(out_dir, f"embeddings_{method}_by_actor.png"),
          f"Clip embeddings ({method_name}), coloured by actor"))
  return paths


def plot_grouped_bars(values: dict[str, dict[str, float]], path: str, title: str,
                      ylabel: str) -> str:
  """Bars per category (outer keys on the x axis) and series (inner keys, one colour each).

  Args:
    values: category -> series -> value (a missing series leaves a gap).
    path: the .png to write.
    title: figure title.
    ylabel: y axis label.
  """
  categories = list(values)
  series = list(dict.fromkeys(s for inner in values.values() for s in inner))
  width = 0.8 / max(len(series), 1)
  fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(categories) * max(len(series), 1) * 0.6 + 2), 4))
  for index, name in enumerate(series):
    xs = [i + (index - (len(series) - 1) / 2) * width for i in range(len(categories))]
    ys = [values[c].get(name, np.nan) for c in categories]
    ax.bar(xs, ys, width=width, label=name)
  ax.set_xticks(range(len(categories)), categories, rotation=30, ha="right")
  ax.set_ylabel(ylabel)
  ax.set_title(title)
  ax.grid(axis="y", alpha=0.3)
  if len(series) > 1:
    ax.legend(fontsize=8)
  return _save(fig, path)


def plot_training_curves(records: Sequence[dict], path: str) -> str:
  """Loss and accuracy curves (train and val) of `metric_writers.read_metrics` records."""
  fig, axes = plt.subplots(1, 2, figsize=(10, 4))
  for ax, key in zip(axes, ("loss", "accuracy")):
    for split in ("train", "val"):
      points = [(r["step"], r[key]) for r in records if r["split"] == split and key in r]
      if points:
        steps, values = zip(*sorted(points))
        ax.plot(steps, values, marker="o" if split == "val" else None, label=split)
    ax.set_xlabel("step")
    ax.set_title(key)
    ax.grid(alpha=0.3)
    ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return path
