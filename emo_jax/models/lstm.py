"""A stacked, optionally bidirectional LSTM over time, scanned with `nn.RNN`."""
import flax.linen as nn
import jax
import jax.numpy as jnp

from flax.typing import Dtype
from emo_jax.models import masking

POOLINGS = ("last", "mean")


class TemporalLSTM(nn.Module):
  """LSTM over per-frame codes: `[B, T, D]`, mask `[B, T]` -> `([B, D'], {})`.

  `D' = hidden_size`, doubled when bidirectional. Variable-length clips pass their
  lengths to `nn.RNN` as `seq_lengths` (the number of valid frames), so the mask must be
  a prefix: valid frames first, padding at the end, as the input pipeline pads. The
  padded steps then never reach the pooled output: the forward direction stops at the
  last valid frame and the backward direction starts there.

  Attributes:
    hidden_size: LSTM state width per direction.
    num_layers: stacked LSTM layers; each layer reads the previous layer's outputs.
    bidirectional: run a second LSTM backwards over the valid frames (`nn.Bidirectional`)
      and concatenate the two directions.
    pooling: "last" pools the final hidden state (of both directions), "mean" the mean of
      the last layer's outputs over the valid frames.
    unroll: time steps per scan iteration (`nn.RNN(unroll=...)`); unrolling short clips
      can be faster on accelerators, and `unroll >= T` lets XLA's cost analysis count
      every step (it counts a loop body once).
    dtype: compute dtype; parameters and the LSTM state stay float32.
  """
  hidden_size: int = 128
  num_layers: int = 1
  bidirectional: bool = False
  pooling: str = "last"
  unroll: int = 1
  dtype: Dtype = jnp.float32

  def _rnn(self, **kwargs) -> nn.RNN:
    # The cell is unbound (parent=None) so that its RNN adopts it as `cell`: created bound,
    # it would land in this module's scope as OptimizedLSTMCell_0. The same goes for the
    # RNNs of nn.Bidirectional (forward_rnn, backward_rnn), made with parent=None.
    cell = nn.OptimizedLSTMCell(self.hidden_size, dtype=self.dtype, parent=None)
    return nn.RNN(cell, unroll=self.unroll, **kwargs)

  @nn.compact
  def __call__(self, x: jax.Array, *, mask: jax.Array, train: bool) -> tuple[jax.Array, dict]:
    del train  # No dropout.
    if self.pooling not in POOLINGS:
      raise ValueError(f"model.temporal.pooling={self.pooling!r} is not one of {POOLINGS}")
    seq_lengths = masking.sequence_lengths(mask)
    for layer in range(self.num_layers):
      if self.bidirectional:
        rnn = nn.Bidirectional(self._rnn(parent=None), self._rnn(parent=None),
                               name=f"layer{layer}")
      else:
        rnn = self._rnn(name=f"layer{layer}")
      carry, x = rnn(x, seq_lengths=seq_lengths, return_carry=True)
    if self.pooling == "mean":
      return masking.masked_mean(x, mask), {}
    if self.bidirectional:
      (_, hidden_forward), (_, hidden_backward) = carry
      return jnp.concatenate([hidden_forward, hidden_backward], axis=-1), {}
    _, hidden = carry
    return hidden, {}
