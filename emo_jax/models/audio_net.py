"""The audio branch: log-mel front end -> 2D CNN over the spectrogram -> temporal model -> head."""
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from flax.typing import Dtype
from emo_jax.models import audio_frontend
from emo_jax.models import head as head_lib
from emo_jax.models import normalization


class SpectrogramEncoder(nn.Module):
  """A small 2D CNN over the log-mel spectrogram, kept per time frame.

  `[B, F, M]` log-mel, mask `[B, F]` -> (features `[B, F', D]`, mask `[B, F']`) with
  `F' = ceil(F / 2 ** len(widths))`: each stage is a 3x3 convolution, norm, ReLU and 2x2
  max pooling over (time, mel); the remaining mel bins and channels of each time step are
  flattened and projected to `features`. A reduced frame is valid when any frame it
  pools is.

  Attributes:
    widths: channels of each stage.
    norm: "batch", "group" or "none" (`normalization.make_norm`).
    features: output width D.
    dtype: compute dtype.
  """
  widths: Sequence[int] = (16, 32, 64)
  norm: str = "batch"
  features: int = 128
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, log_mel: jax.Array, mask: jax.Array, *,
               train: bool) -> tuple[jax.Array, jax.Array]:
    x = log_mel.astype(self.dtype)[..., None]  # [B, F, M, 1]
    for stage, width in enumerate(self.widths):
      x = nn.Conv(width, (3, 3), use_bias=self.norm == "none", dtype=self.dtype,
                  name=f"stage{stage}_conv")(x)
      x = normalization.make_norm(self.norm, width, use_running_average=not train,
                                  dtype=self.dtype, name=f"stage{stage}_norm")(x)
      # Invalid frames are zeroed before pooling: the next convolution then sees zeros
      # there, as it would past the end of an unpadded clip, so padding changes nothing.
      x = jnp.where(mask[:, :, None, None], nn.relu(x), jnp.zeros((), x.dtype))
      x = nn.max_pool(x, (2, 2), strides=(2, 2), padding="SAME")
      if mask.shape[1] % 2:
        mask = jnp.pad(mask, ((0, 0), (0, 1)))
      mask = mask.reshape(mask.shape[0], -1, 2).any(axis=-1)
    x = x.reshape(*x.shape[:2], -1)
    x = nn.Dense(self.features, dtype=self.dtype, name="projection")(x)
    x = nn.LayerNorm(dtype=self.dtype, name="feature_norm")(x)
    return x, mask


class AudioNet(nn.Module):
  """Classifies clips by their voice: `[B, N]` waveforms -> `([B, num_classes] logits, aux)`.

  Attributes:
    frontend: `audio_frontend.LogMel` (no parameters).
    encoder: `SpectrogramEncoder`.
    temporal: any temporal model of the video path (`MeanPooling`, or
      `TemporalAttention` for a transformer over the audio frames).
    head: `[B, D'] -> [B, num_classes]`.
    num_time_masks, max_time_width, num_freq_masks, max_freq_width: SpecAugment in
      training (widths in spectrogram frames and mel bins; 0 masks disables it).
  """
  frontend: audio_frontend.LogMel
  encoder: SpectrogramEncoder
  temporal: nn.Module
  head: head_lib.ClassifierHead
  num_time_masks: int = 2
  max_time_width: int = 20
  num_freq_masks: int = 2
  max_freq_width: int = 8
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, audio: jax.Array, audio_length: jax.Array, *, train: bool,
               present: jax.Array | None = None) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Runs the branch.

    Args:
      audio: `[B, N]` float waveforms, zero-padded.
      audio_length: `[B]` int, valid samples of each (0: no audio).
      train: SpecAugment (rng stream "dropout"), dropout and batch statistics on.
      present: optional `[B]` bool; False removes the clip's audio (modality dropout
        or an evaluation without sound): every frame is masked.

    Returns:
      `(logits, aux)`: aux holds `audio_features` `[B, F', D]`, `audio_mask` `[B, F']`,
      `audio_present` `[B]` (some valid frame), `pooled` `[B, D']` and the temporal
      model's aux (e.g. `attention_weights`) prefixed with `audio_`.
    """
    log_mel, mask = self.frontend(audio, audio_length)
    if present is not None:
      mask = mask & present[:, None]
    if train and self.num_time_masks + self.num_freq_masks > 0:
      log_mel = audio_frontend.spec_augment(
          log_mel, self.make_rng("dropout"), self.num_time_masks, self.max_time_width,
          self.num_freq_masks, self.max_freq_width)
    log_mel = jnp.where(mask[..., None], log_mel, jnp.zeros((), log_mel.dtype))
    features, feature_mask = self.encoder(log_mel, mask, train=train)
    pooled, temporal_aux = self.temporal(features, mask=feature_mask, train=train)
    present_any = jnp.any(feature_mask, axis=1)
    pooled = jnp.where(present_any[:, None], pooled, jnp.zeros((), pooled.dtype))
    aux = {f"audio_{key}": value for key, value in temporal_aux.items()}
    aux.update(audio_features=features, audio_mask=feature_mask, audio_present=present_any,
               pooled=pooled)
    return self.head(pooled, train=train), aux
