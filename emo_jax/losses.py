"""Loss functions: classification (hard, smoothed or crowd-vote soft labels) and reconstruction."""
import jax
import jax.numpy as jnp
import optax


def classification_targets(labels: jax.Array, vote_distribution: jax.Array | None, num_classes: int,
                           label_smoothing: float = 0.0, soft_label_weight: float = 0.0) -> jax.Array:
  """Target distributions `[B, K]` from integer labels and (optionally) the crowd's votes.

  The target is `(1 - w) * smooth(one_hot(label)) + w * votes`, with `w = soft_label_weight`.
  `w = 0` is plain (smoothed) cross-entropy; `w = 1` trains against the raters' vote
  distribution alone.
  """
  targets = optax.smooth_labels(jax.nn.one_hot(labels, num_classes), label_smoothing)
  if soft_label_weight:
    if vote_distribution is None:
      raise ValueError("soft_label_weight > 0 needs `vote_distribution` in the batch; "
                       "this dataset has no crowd votes, set config.loss.soft_label_weight=0")
    targets = (1.0 - soft_label_weight) * targets + soft_label_weight * vote_distribution
  return targets


def weighted_cross_entropy(logits: jax.Array, targets: jax.Array, labels: jax.Array,
                           mask: jax.Array, class_weights: jax.Array | None = None) -> jax.Array:
  """Mean cross-entropy over the unmasked examples, optionally weighted by the true class.

  Args:
    logits: `[B, K]`.
    targets: `[B, K]` target distributions.
    labels: `[B]` integer labels, used only to look up `class_weights`.
    mask: `[B]` bool or float; padding examples have weight 0.
    class_weights: optional `[K]`; the loss is normalised by the sum of the weights used.
  """
  per_example = optax.softmax_cross_entropy(logits.astype(jnp.float32), targets)
  weights = mask.astype(jnp.float32)
  if class_weights is not None:
    weights = weights * class_weights[labels]
  return jnp.sum(per_example * weights) / jnp.maximum(jnp.sum(weights), 1e-8)


def reconstruction_loss(reconstruction: jax.Array, target: jax.Array, mask: jax.Array) -> jax.Array:
  """Mean squared error per example `[B, ...]`, averaged over the unmasked examples."""
  squared = jnp.square(reconstruction.astype(jnp.float32) - target.astype(jnp.float32))
  per_example = jnp.mean(squared.reshape(squared.shape[0], -1), axis=-1)
  weights = mask.astype(jnp.float32)
  return jnp.sum(per_example * weights) / jnp.maximum(jnp.sum(weights), 1e-8)


def balanced_class_weights(label_counts, num_classes: int) -> jax.Array:
  """`n / (K * n_k)` per class (sklearn's "balanced"); classes absent from training get weight 0."""
  counts = jnp.asarray(label_counts, jnp.float32)
  if counts.shape != (num_classes,):
    raise ValueError(f"label_counts has shape {counts.shape}, expected ({num_classes},)")
  total = jnp.sum(counts)
  return jnp.where(counts > 0, total / (num_classes * jnp.maximum(counts, 1.0)), 0.0)
