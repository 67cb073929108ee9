"""A temporal self-attention encoder: pre-norm Transformer blocks over the per-frame codes."""
import flax.linen as nn
import jax
import jax.numpy as jnp

from flax.typing import Dtype
from emo_jax.models import masking

POOLINGS = ("cls", "attention", "mean")


class SelfAttention(nn.Module):
  """Multi-head self-attention that also returns its weights.

  `[B, S, W]`, mask `[B, 1, S, S]` -> `([B, S, W], weights [B, heads, S, S])`.
  """
  num_heads: int
  dropout: float = 0.0
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, *, mask: jax.Array, train: bool) -> tuple[jax.Array, jax.Array]:
    width = x.shape[-1]
    if width % self.num_heads:
      raise ValueError(f"attention width {width} is not divisible by num_heads={self.num_heads}; "
                       "change model.temporal.hidden_size or num_heads")
    qkv = nn.DenseGeneral((3, self.num_heads, width // self.num_heads), dtype=self.dtype,
                          name="qkv")(x)
    query, key, value = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    dropout_rng = self.make_rng("dropout") if train and self.dropout > 0 else None
    weights = nn.dot_product_attention_weights(
        query, key, mask=mask, dropout_rng=dropout_rng, dropout_rate=self.dropout,
        deterministic=not train, dtype=self.dtype, force_fp32_for_softmax=True)
    y = jnp.einsum("bhqk,bkhd->bqhd", weights, value)
    y = nn.DenseGeneral(width, axis=(-2, -1), dtype=self.dtype, name="out")(y)
    return y, weights


class TransformerBlock(nn.Module):
  """Pre-norm block, `x + attention(norm(x))` then `x + mlp(norm(x))`: `[B, S, W] -> [B, S, W]`."""
  num_heads: int
  mlp_dim: int
  dropout: float = 0.0
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, *, mask: jax.Array, train: bool) -> tuple[jax.Array, jax.Array]:
    y = nn.LayerNorm(dtype=self.dtype, name="attention_norm")(x)
    y, weights = SelfAttention(self.num_heads, self.dropout, self.dtype, name="attention")(
        y, mask=mask, train=train)
    x = x + nn.Dropout(self.dropout, deterministic=not train)(y)
    y = nn.LayerNorm(dtype=self.dtype, name="mlp_norm")(x)
    y = nn.gelu(nn.Dense(self.mlp_dim, dtype=self.dtype, name="mlp_hidden")(y))
    y = nn.Dropout(self.dropout, deterministic=not train)(y)
    y = nn.Dense(x.shape[-1], dtype=self.dtype, name="mlp_output")(y)
    return x + nn.Dropout(self.dropout, deterministic=not train)(y), weights


class TemporalAttention(nn.Module):
  """Transformer over time: `[B, T, D]`, mask `[B, T]` -> `([B, W], aux)`.

  The codes are projected to `hidden_size` (W; `D` when None) and get learned positional
  embeddings. Padded frames are masked out as keys, so they change no valid frame's
  output; any mask works, not only prefixes.

  `aux["attention_weights"]` is `[B, num_layers, num_heads, S, S]` with `S = T + 1` for
  CLS pooling (the CLS token is position 0) and `S = T` otherwise; attention pooling also
  gives `aux["pooling_weights"]` `[B, T]`.

  Attributes:
    num_layers: Transformer blocks.
    num_heads: attention heads; must divide the width.
    mlp_dim: hidden width of each block's MLP.
    hidden_size: model width W, or None for the input width D.
    dropout: dropout rate on attention weights and residual branches (rng "dropout").
    pooling: "cls" (a learned token prepended to the sequence), "attention" (a learned
      scoring of the valid frames, softmax-weighted sum) or "mean" (over valid frames).
    max_len: longest clip the positional embeddings cover.
    dtype: compute dtype; parameters stay float32.
  """
  num_layers: int = 2
  num_heads: int = 4
  mlp_dim: int = 256
  hidden_size: int | None = None
  dropout: float = 0.1
  pooling: str = "cls"
  max_len: int = 64
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, *, mask: jax.Array, train: bool) -> tuple[jax.Array, dict]:
    if self.pooling not in POOLINGS:
      raise ValueError(f"model.temporal.pooling={self.pooling!r} is not one of {POOLINGS}")
    batch, num_frames, _ = x.shape
    if num_frames > self.max_len:
      raise ValueError(f"clip of {num_frames} frames is longer than model.temporal.max_len="
                       f"{self.max_len}; raise max_len")
    x = x.astype(self.dtype)
    if self.hidden_size is not None:
      x = nn.Dense(self.hidden_size, dtype=self.dtype, name="input_projection")(x)
    width = x.shape[-1]
    positions = self.param("position_embedding", nn.initializers.normal(0.02),
                           (self.max_len, width))
    x = x + positions[:num_frames].astype(self.dtype)
    key_mask = mask
    if self.pooling == "cls":
      cls = self.param("cls_token", nn.initializers.normal(0.02), (width,))
      x = jnp.concatenate([jnp.broadcast_to(cls.astype(self.dtype), (batch, 1, width)), x], axis=1)
      key_mask = jnp.concatenate([jnp.ones((batch, 1), bool), mask], axis=1)
    attention_mask = nn.make_attention_mask(jnp.ones_like(key_mask), key_mask)
    x = nn.Dropout(self.dropout, deterministic=not train)(x)

    all_weights = []
    for layer in range(self.num_layers):
      x, weights = TransformerBlock(self.num_heads, self.mlp_dim, self.dropout, self.dtype,
                                    name=f"block{layer}")(x, mask=attention_mask, train=train)
      all_weights.append(weights)
    x = nn.LayerNorm(dtype=self.dtype, name="output_norm")(x)
    aux = {"attention_weights": jnp.stack(all_weights, axis=1)}

    if self.pooling == "cls":
      pooled = x[:, 0]
    elif self.pooling == "mean":
      pooled = masking.masked_mean(x, mask)
    else:
      scores = nn.Dense(1, dtype=self.dtype, name="pooling_score")(x)[..., 0]
      scores = jnp.where(mask, scores.astype(jnp.float32), -1e9)
      pooling_weights = jax.nn.softmax(scores, axis=-1)
      pooled = jnp.einsum("bt,btw->bw", pooling_weights.astype(self.dtype), x)
      aux["pooling_weights"] = pooling_weights
    return pooled, aux
