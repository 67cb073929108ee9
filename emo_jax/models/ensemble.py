"""Ensemble: averages the class probabilities of several trained models."""
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class Ensemble(nn.Module):
  """`[B, T, H, W, C]` frames -> `([B, num_classes] logits, aux)`, like EmotionNet.

  Each member sees the same frames and does its own preprocessing (input norm, centre
  crop, test-time augmentation). The logits are the log of the members' mean class
  probabilities, so `softmax(logits)` is that mean; `aux["member_logits"]` is
  `[B, M, num_classes]`. Member `i`'s variables are under `members_i`. An ensemble is
  built from trained members (`emo_jax.bundle --members`), not trained as one.

  Attributes:
    members: the models, each returning `(logits, aux)` over the same classes.
  """
  members: Sequence[nn.Module]

  @nn.compact
  def __call__(self, frames: jax.Array, *, train: bool) -> tuple[jax.Array, dict]:
    if train:
      raise ValueError("an Ensemble is for evaluation: train its members one by one")
    logits = jnp.stack([member(frames, train=False)[0].astype(jnp.float32)
                        for member in self.members], axis=1)
    log_mean = jax.nn.logsumexp(jax.nn.log_softmax(logits, axis=-1), axis=1)
    return log_mean - jnp.log(len(self.members)), {"member_logits": logits}
