"""AudioVisualNet: a video branch (EmotionNet) and an audio branch (AudioNet), fused as configured.

Fusion modes (`FUSIONS`):
  "late_mean": the branches' logits averaged over the modalities present;
  "late_learned": the same with learned modality weights (softmax of two parameters);
  "mid": the pooled embeddings concatenated (a missing one as zeros, with a presence
    flag per modality) -> the fusion head;
  "cross_attention": video frame features attend to audio frame features and the other
    way round (one residual multi-head cross-attention each way, keys masked), then the
    masked means of both concatenated with the presence flags -> the fusion head.

A model built for one modality (`modalities = ("audio",)` or `("video",)`) is the same
network with the other branch absent, so audio-only, video-only and audio-visual models
come from one config. A modality is "present" per clip: audio with at least one valid
spectrogram frame (no audio stream and silent audio are not), video unless removed.
Modality dropout in training removes one modality of a clip at random, so that the
model still works, and can be evaluated, with either one missing.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

from flax.typing import Dtype
from emo_jax.models import audio_net as audio_net_lib
from emo_jax.models import emotion_net
from emo_jax.models import head as head_lib
from emo_jax.models import masking

FUSIONS = ("late_mean", "late_learned", "mid", "cross_attention")
MODALITIES = ("audio", "video")
# Length of the silent waveform `init` uses when no audio is passed (parameters do not
# depend on the audio's length).
_INIT_AUDIO_SAMPLES = 4000


class AudioVisualNet(nn.Module):
  """`[B, T, H, W, C]` frames and `[B, N]` audio -> `([B, num_classes] logits, aux)`.

  Attributes:
    video: the video branch, an EmotionNet with its own head (its logits are used by
      late fusion), or None for an audio-only model.
    audio: the audio branch, or None for a video-only model.
    fusion: one of FUSIONS.
    head: the fusion head (mid and cross-attention fusion).
    modality_dropout: in training, the chance that a clip loses its audio, and the same
      chance that it loses its video instead (never both); only with both branches.
    fusion_dim: width of the cross-attention.
    num_heads: heads of the cross-attention.
  """
  fusion: str
  video: emotion_net.EmotionNet | None = None
  audio: audio_net_lib.AudioNet | None = None
  head: head_lib.ClassifierHead | None = None
  modality_dropout: float = 0.0
  fusion_dim: int = 128
  num_heads: int = 4
  dtype: Dtype = jnp.float32

  @property
  def modalities(self) -> tuple[str, ...]:
    return tuple(m for m in MODALITIES if getattr(self, m) is not None)

  @nn.compact
  def __call__(self, frames: jax.Array | None = None, *, train: bool,
               frame_mask: jax.Array | None = None, audio: jax.Array | None = None,
               audio_length: jax.Array | None = None, audio_present: jax.Array | None = None,
               video_present: jax.Array | None = None) -> tuple[jax.Array, dict]:
    """Runs the branches and fuses them.

    Args:
      frames: `[B, T, H, W, C]` in [0, 1] (ignored by an audio-only model, but always
        passed: its batch size is the batch's).
      train: dropout, SpecAugment, modality dropout and batch statistics on.
      frame_mask: `[B, T]` bool or None, as for EmotionNet.
      audio: `[B, N]` zero-padded waveforms; None (e.g. `init`) means no clip has audio.
      audio_length: `[B]` valid samples (default: all N).
      audio_present, video_present: `[B]` bool, False removes that modality of a clip
        (evaluation with one modality missing); None keeps it.

    Returns:
      `(logits, aux)`: aux holds `pooled` (the fused embedding), `audio_present` and
      `video_present` `[B]`, `video_logits` / `audio_logits` and each branch's aux
      (`frame_features`, `reconstruction`..., and `audio_features`, `audio_mask`),
      `video_pooled` / `audio_pooled`, and `fusion_weights` `[2]` with "late_learned".
    """
    if self.fusion not in FUSIONS:
      raise ValueError(f"model.fusion.mode={self.fusion!r} is not one of {FUSIONS}")
    if not self.modalities:
      raise ValueError("AudioVisualNet needs a video branch, an audio branch or both")
    if frames is None:
      raise ValueError("AudioVisualNet: pass `frames` (an audio-only model ignores them)")
    if frames.ndim == 4:
      frames = frames[:, None]
    batch = frames.shape[0]
    ones = jnp.ones((batch,), bool)
    audio_present = ones if audio_present is None else audio_present.astype(bool)
    video_present = ones if video_present is None else video_present.astype(bool)
    if train and self.modality_dropout > 0 and len(self.modalities) == 2:
      # One draw per clip: below p drops the audio, between p and 2p the video.
      draw = jax.random.uniform(self.make_rng("dropout"), (batch,))
      audio_present &= ~(draw < self.modality_dropout)
      video_present &= ~((draw >= self.modality_dropout) & (draw < 2 * self.modality_dropout))

    aux, logits, pooled, sequences = {}, {}, {}, {}
    if self.video is not None:
      # Removed video is zeroed, so nothing of it reaches the fused output.
      frames = jnp.where(video_present[:, None, None, None, None], frames,
                         jnp.zeros((), frames.dtype))
      logits["video"], video_aux = self.video(frames, train=train, frame_mask=frame_mask)
      aux.update({k: v for k, v in video_aux.items() if k != "pooled"})
      pooled["video"] = jnp.where(video_present[:, None], video_aux["pooled"], 0.0)
      if "frame_features" in video_aux:
        mask = (jnp.ones(video_aux["frame_features"].shape[:2], bool) if frame_mask is None
                else frame_mask.astype(bool))
        sequences["video"] = (video_aux["frame_features"], mask & video_present[:, None])
      else:  # A 3D network: its pooled clip embedding is one token.
        sequences["video"] = (video_aux["pooled"][:, None], video_present[:, None])
    else:
      video_present = jnp.zeros((batch,), bool)
    if self.audio is not None:
      if audio is None:
        audio = jnp.zeros((batch, _INIT_AUDIO_SAMPLES), jnp.float32)
        audio_length = jnp.zeros((batch,), jnp.int32)
      elif audio_length is None:
        audio_length = jnp.full((batch,), audio.shape[1], jnp.int32)
      logits["audio"], audio_aux = self.audio(audio, audio_length, train=train,
                                              present=audio_present)
      audio_present = audio_aux["audio_present"]
      aux.update({k: v for k, v in audio_aux.items() if k != "pooled"})
      pooled["audio"] = audio_aux["pooled"]
      sequences["audio"] = (audio_aux["audio_features"], audio_aux["audio_mask"])
    else:
      audio_present = jnp.zeros((batch,), bool)
    present = {"audio": audio_present, "video": video_present}
    for modality in self.modalities:
      aux[f"{modality}_logits"] = logits[modality]
      aux[f"{modality}_pooled"] = pooled[modality]
    aux.update(audio_present=audio_present, video_present=video_present)

    if self.fusion.startswith("late"):
      weights = jnp.ones((len(self.modalities),), jnp.float32)
      if self.fusion == "late_learned":
        weights = jax.nn.softmax(self.param("fusion_logits", nn.initializers.zeros,
                                            (len(self.modalities),)))
        aux["fusion_weights"] = weights
      present_weights = jnp.stack([present[m].astype(jnp.float32) for m in self.modalities],
                                  axis=1) * weights  # [B, M]
      stacked = jnp.stack([logits[m] for m in self.modalities], axis=1)  # [B, M, K]
      fused = (jnp.sum(stacked * present_weights[..., None], axis=1)
               / jnp.maximum(jnp.sum(present_weights, axis=1), 1e-6)[:, None])
      aux["pooled"] = jnp.concatenate([pooled[m] for m in self.modalities], axis=-1)
      return fused.astype(jnp.float32), aux

    if self.head is None:
      raise ValueError(f"fusion {self.fusion!r} needs a fusion head (model.fusion.head)")
    flags = jnp.stack([present[m] for m in self.modalities], axis=1).astype(self.dtype)
    if self.fusion == "mid":
      parts = [pooled[m] for m in self.modalities]
    else:
      parts = self._cross_attend(sequences, present, train)
    fused = jnp.concatenate([*[p.astype(self.dtype) for p in parts], flags], axis=-1)
    aux["pooled"] = fused
    return self.head(fused, train=train), aux

  def _cross_attend(self, sequences, present, train) -> list[jax.Array]:
    """Each modality's tokens attend to the other's; returns the masked mean of each `[B, W]`."""
    projected = {m: (nn.Dense(self.fusion_dim, dtype=self.dtype, name=f"{m}_projection")(x), mask)
                 for m, (x, mask) in sequences.items()}
    outputs = []
    for modality in self.modalities:
      x, mask = projected[modality]
      others = [m for m in self.modalities if m != modality]
      if others:
        keys, key_mask = projected[others[0]]
        attention_mask = nn.make_attention_mask(mask, key_mask)
        attended = nn.MultiHeadDotProductAttention(
            num_heads=self.num_heads, dtype=self.dtype, deterministic=not train,
            name=f"{modality}_from_{others[0]}")(
                nn.LayerNorm(dtype=self.dtype, name=f"{modality}_query_norm")(x),
                nn.LayerNorm(dtype=self.dtype, name=f"{modality}_key_norm")(keys),
                mask=attention_mask)
        # With the other modality missing every key is masked: add nothing.
        x = x + jnp.where(present[others[0]][:, None, None], attended, 0.0)
      pooled = masking.masked_mean(x, mask)
      outputs.append(jnp.where(present[modality][:, None], pooled, 0.0))
    return outputs
