"""Audio front end in JAX: 16 kHz waveforms -> log-mel spectrograms with a frame mask, SpecAugment.

Computed inside the jitted step from the stored waveform, so the records keep raw audio
and the front end's parameters are part of the model config. The STFT, the mel filterbank
and the log follow `librosa.feature.melspectrogram` (centred frames, zero padding,
periodic Hann window, Slaney mel scale and normalisation), which the tests check.

Variable-length audio: batches hold waveforms zero-padded to one length `[B, N]` and the
true lengths `[B]`; frame `f` (centred on sample `f * hop_length`) is valid when
`f * hop_length <= length`, so a clip of `L` samples has the `1 + L // hop_length` frames
librosa gives it, also when `L` is shorter than one window. A clip of length 0 (no audio
stream, or silent audio: see `emo_jax.input_pipeline.records`) has no valid frame.
"""
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from flax.typing import Dtype


def hann_window(size: int) -> np.ndarray:
  """The periodic Hann window `[size]` (scipy's `get_window("hann", size)`, librosa's)."""
  return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(size) / size)).astype(np.float32)


def _hz_to_mel(hz):
  """Slaney's mel scale: linear below 1 kHz, logarithmic above (librosa, htk=False)."""
  hz = np.asarray(hz, np.float64)
  f_sp, min_log_hz = 200.0 / 3, 1000.0
  min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
  return np.where(hz >= min_log_hz, min_log_mel + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep,
                  hz / f_sp)


def _mel_to_hz(mel):
  mel = np.asarray(mel, np.float64)
  f_sp, min_log_hz = 200.0 / 3, 1000.0
  min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
  return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


@functools.lru_cache(maxsize=16)
def mel_filterbank(sample_rate: int, n_fft: int, num_mels: int, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
  """Triangular Slaney-normalised mel filters `[n_fft // 2 + 1, num_mels]` (librosa.filters.mel).

  Multiply a power spectrum `[..., n_fft // 2 + 1]` by it to get mel band energies.
  """
  fmax = sample_rate / 2.0 if fmax is None else float(fmax)
  fft_hz = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
  mel_hz = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), num_mels + 2))
  widths = np.diff(mel_hz)
  ramps = mel_hz[:, None] - fft_hz[None, :]
  lower = -ramps[:-2] / widths[:-1, None]
  upper = ramps[2:] / widths[1:, None]
  weights = np.maximum(0.0, np.minimum(lower, upper))
  weights *= (2.0 / (mel_hz[2:num_mels + 2] - mel_hz[:num_mels]))[:, None]
  return weights.T.astype(np.float32)


def num_frames(num_samples: int, hop_length: int) -> int:
  """Frames of a centred STFT of `num_samples` samples (librosa's count)."""
  return 1 + num_samples // hop_length


def frame_mask(lengths: jax.Array, num_frames_total: int, hop_length: int) -> jax.Array:
  """`[B]` sample counts -> `[B, F]` bool: frame f valid when `f * hop <= length > 0`."""
  lengths = jnp.asarray(lengths, jnp.int32)
  starts = jnp.arange(num_frames_total, dtype=jnp.int32) * hop_length
  return (starts[None, :] <= lengths[:, None]) & (lengths[:, None] > 0)


def power_spectrogram(waveforms: jax.Array, n_fft: int, hop_length: int) -> jax.Array:
  """`[B, N]` -> `[B, F, n_fft // 2 + 1]` |STFT|^2, centred frames, zero padding, Hann window."""
  padded = jnp.pad(waveforms.astype(jnp.float32), ((0, 0), (n_fft // 2, n_fft // 2)))
  count = num_frames(waveforms.shape[1], hop_length)
  # Gather the frames with one index array: [F, n_fft] sample positions.
  positions = (np.arange(count)[:, None] * hop_length + np.arange(n_fft)[None, :])
  frames = padded[:, positions] * hann_window(n_fft)
  spectrum = jnp.fft.rfft(frames, n=n_fft, axis=-1)
  return jnp.square(spectrum.real) + jnp.square(spectrum.imag)


class LogMel(nn.Module):
  """Waveforms `[B, N]` and lengths `[B]` -> (log-mel `[B, F, num_mels]`, mask `[B, F]`).

  `log(max(mel_power, log_floor))`, then `(x - log_offset) / log_scale` so the encoder
  sees values of order one; samples past each length are zeroed first, and invalid
  frames are set to 0 (after scaling). No parameters.

  Attributes:
    sample_rate: of the stored audio (16 kHz for the packed datasets).
    n_fft: window and FFT size in samples (512 = 32 ms at 16 kHz).
    hop_length: samples between frames (160 = 10 ms).
    num_mels: mel bands.
    fmin, fmax: band edges in Hz (fmax 0: sample_rate / 2).
    log_floor: power floor before the log (silence is `log(log_floor)`, never -inf).
    log_offset, log_scale: affine scaling of the log-mel values.
  """
  sample_rate: int = 16000
  n_fft: int = 512
  hop_length: int = 160
  num_mels: int = 64
  fmin: float = 0.0
  fmax: float = 0.0
  log_floor: float = 1e-6
  log_offset: float = -5.0
  log_scale: float = 5.0
  dtype: Dtype = jnp.float32

  def __call__(self, waveforms: jax.Array, lengths: jax.Array) -> tuple[jax.Array, jax.Array]:
    if waveforms.ndim != 2:
      raise ValueError(f"audio must be [B, N] waveforms, got shape {waveforms.shape}")
    # Samples past each length are zeroed, so whatever padding holds never matters.
    valid = jnp.arange(waveforms.shape[1])[None, :] < jnp.asarray(lengths)[:, None]
    waveforms = jnp.where(valid, waveforms.astype(jnp.float32), 0.0)
    power = power_spectrogram(waveforms, self.n_fft, self.hop_length)
    filters = mel_filterbank(self.sample_rate, self.n_fft, self.num_mels, self.fmin,
                             self.fmax or None)
    mel = jnp.einsum("bfk,km->bfm", power, filters, precision=jax.lax.Precision.HIGHEST)
    log_mel = (jnp.log(jnp.maximum(mel, self.log_floor)) - self.log_offset) / self.log_scale
    mask = frame_mask(lengths, log_mel.shape[1], self.hop_length)
    log_mel = jnp.where(mask[..., None], log_mel, 0.0)
    return log_mel.astype(self.dtype), mask


def _band_masks(key: jax.Array, size: int, count: int, max_width: int) -> jax.Array:
  """`[size]` bool, True inside any of `count` random bands of width 0..max_width."""
  if count == 0 or max_width == 0:
    return jnp.zeros((size,), bool)
  width_key, start_key = jax.random.split(key)
  widths = jax.random.randint(width_key, (count,), 0, min(max_width, size) + 1)
  starts = jax.random.randint(start_key, (count,), 0, size) % jnp.maximum(size - widths + 1, 1)
  index = jnp.arange(size)
  return jnp.any((index[None] >= starts[:, None]) & (index[None] < (starts + widths)[:, None]),
                 axis=0)


def spec_augment(log_mel: jax.Array, key: jax.Array, num_time_masks: int, max_time_width: int,
                 num_freq_masks: int, max_freq_width: int) -> jax.Array:
  """SpecAugment's time and frequency masking (no time warping): `[B, F, M] -> [B, F, M]`.

  Each clip gets its own `num_time_masks` bands of up to `max_time_width` frames and
  `num_freq_masks` bands of up to `max_freq_width` mel bins, set to 0 (the value of
  padding after `LogMel`'s scaling).
  """
  batch, frames, mels = log_mel.shape

  def one(key, x):
    time_key, freq_key = jax.random.split(key)
    time = _band_masks(time_key, frames, num_time_masks, max_time_width)
    freq = _band_masks(freq_key, mels, num_freq_masks, max_freq_width)
    return jnp.where(time[:, None] | freq[None, :], jnp.zeros((), x.dtype), x)

  return jax.vmap(one)(jax.random.split(key, batch), log_mel)
