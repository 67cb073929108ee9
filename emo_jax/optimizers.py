"""optax optimiser from the config: AdamW, warmup + cosine decay, clipping, per-group rates, freezing."""
import re

import flax
import jax
import ml_collections
import optax


def learning_rate_schedule(config: ml_collections.ConfigDict, total_steps: int) -> optax.Schedule:
  """Linear warmup to `config.learning_rate`, then cosine decay to `end_learning_rate_factor * lr`."""
  warmup_steps = min(int(config.warmup_steps), max(total_steps - 1, 0))
  return optax.warmup_cosine_decay_schedule(
      init_value=0.0, peak_value=config.learning_rate, warmup_steps=warmup_steps,
      decay_steps=max(total_steps, warmup_steps + 1),
      end_value=config.learning_rate * config.end_learning_rate_factor)


def param_group_labels(params, config: ml_collections.ConfigDict):
  """Labels every parameter "frozen", a group name from `config.param_groups`, or "default".

  `config.frozen` is a regex matched (re.search) against the '/'-joined parameter path,
  e.g. "^encoder/" freezes the frame encoder. `config.param_groups` is a tuple of
  `(regex, learning_rate_multiplier)` pairs, e.g. `(("^encoder/", 0.1),)`; the first
  matching regex wins.
  """
  frozen = re.compile(config.frozen) if config.frozen else None
  groups = [(re.compile(pattern), pattern) for pattern, _ in config.param_groups]

  def label(path, _):
    name = "/".join(str(p) for p in path)
    if frozen is not None and frozen.search(name):
      return "frozen"
    for regex, pattern in groups:
      if regex.search(name):
        return pattern
    return "default"

  return flax.traverse_util.path_aware_map(label, params)


def decays(params, config: ml_collections.ConfigDict):
  """Which parameters weight decay applies to: kernels only (ndim >= 2) unless
  `config.decay_norms_and_biases`, which decays every parameter (before 2026-11-29 the default)."""
  if config.get("decay_norms_and_biases", False):
    return jax.tree.map(lambda _: True, params)
  return jax.tree.map(lambda p: getattr(p, "ndim", 0) >= 2, params)


def create_optimizer(config: ml_collections.ConfigDict, params, total_steps: int):
  """Returns `(optax.GradientTransformation, schedule)` for `config.optimizer`."""
  schedule = learning_rate_schedule(config, total_steps)

  def adamw(multiplier):
    return optax.adamw(lambda step: multiplier * schedule(step), b1=config.b1, b2=config.b2,
                       weight_decay=config.weight_decay,
                       mask=lambda tree: decays(tree, config))

  labels = param_group_labels(params, config)
  transforms = {"default": adamw(1.0), "frozen": optax.set_to_zero()}
  for pattern, multiplier in config.param_groups:
    transforms[pattern] = adamw(float(multiplier))
  # Frozen gradients are zeroed before clipping so they do not count in the global norm.
  is_frozen = jax.tree.map(lambda label: label == "frozen", labels)
  chain = [optax.masked(optax.set_to_zero(), is_frozen)]
  if config.grad_clip_norm:
    chain.append(optax.clip_by_global_norm(config.grad_clip_norm))
  chain.append(optax.multi_transform(transforms, labels))
  return optax.chain(*chain), schedule
