"""A denoising autoencoder bottleneck over per-frame features, optionally decoding pixels."""
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from flax.typing import Dtype


class PixelDecoder(nn.Module):
  """Decodes codes to small images: `[N, K] -> [N, size, size, channels]`.

  A dense layer to a `size / 2**len(widths)` square grid, then one stride-2 transposed
  convolution per entry of `widths`, then a 3x3 convolution to `channels`.
  """
  size: int
  channels: int
  widths: Sequence[int] = (32, 16)
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, code: jax.Array) -> jax.Array:
    upsampling = 2**len(self.widths)
    if not self.widths or self.size % upsampling:
      raise ValueError(
          f"model.bottleneck.pixel_size={self.size} must be divisible by 2**len(pixel_widths)"
          f"={upsampling} (and pixel_widths non-empty); change one of them")
    start = self.size // upsampling
    x = nn.Dense(start * start * self.widths[0], dtype=self.dtype, name="project")(code)
    x = nn.relu(x.reshape(code.shape[0], start, start, self.widths[0]))
    for index, width in enumerate(self.widths):
      x = nn.ConvTranspose(width, (3, 3), strides=(2, 2), dtype=self.dtype, name=f"up{index}")(x)
      x = nn.relu(x)
    return nn.Conv(self.channels, (3, 3), dtype=self.dtype, name="to_pixels")(x)


class AutoencoderBottleneck(nn.Module):
  """Denoising autoencoder: features `[B, T, D]` -> codes `[B, T, K]` and a reconstruction.

  In training the input features get additive Gaussian noise (std `noise_std`) drawn from
  the rng stream "noise", so the train step passes `rngs={"dropout": ..., "noise": ...}`;
  the codes used downstream are those of the noisy input. The reconstruction target is the
  clean input under `stop_gradient`: the target is what the encoder produced, and without
  the stop a trainable encoder could shrink its features to make reconstruction trivial.
  This matches the reference project, which reconstructs frozen ResNet features.

  With `pixel_decoder=True` the decoder reconstructs the face crop instead, at
  `pixel_size` x `pixel_size` (the normalised frames resized), so the loss is the same MSE
  between `reconstruction` and `reconstruction_target` whichever variant is used.

  Attributes:
    dim: width K of the code.
    hidden_sizes: widths of hidden ReLU layers of the encoder; the decoder mirrors them.
    noise_std: standard deviation of the denoising noise; 0 turns it off.
    pixel_decoder: reconstruct downsampled frames instead of the features.
    pixel_size: side of the reconstructed frames.
    pixel_widths: channels of the pixel decoder's upsampling layers.
    dtype: compute dtype; parameters, reconstruction and target are float32.
  """
  dim: int = 64
  hidden_sizes: Sequence[int] = ()
  noise_std: float = 0.1
  pixel_decoder: bool = False
  pixel_size: int = 32
  pixel_widths: Sequence[int] = (32, 16)
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, features: jax.Array, *, train: bool,
               frames: jax.Array | None = None) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Encodes and decodes per-frame features.

    Args:
      features: `[B, T, D]` per-frame features.
      train: add the denoising noise (rng stream "noise").
      frames: `[B, T, H, W, C]` normalised frames; needed when `pixel_decoder`.

    Returns:
      `(code [B, T, K], reconstruction, reconstruction_target)`, the last two
      `[B, T, D]` float32, or `[B, T, pixel_size, pixel_size, C]` with `pixel_decoder`.
    """
    x = features.astype(self.dtype)
    if train and self.noise_std > 0:
      noise = jax.random.normal(self.make_rng("noise"), x.shape, jnp.float32)
      x = x + (self.noise_std * noise).astype(self.dtype)
    for index, width in enumerate(self.hidden_sizes):
      x = nn.relu(nn.Dense(width, dtype=self.dtype, name=f"encoder_hidden{index}")(x))
    code = nn.Dense(self.dim, dtype=self.dtype, name="encoder_code")(x)

    if self.pixel_decoder:
      if frames is None:
        raise ValueError("AutoencoderBottleneck with pixel_decoder=True needs the frames")
      batch, num_frames, _, _, channels = frames.shape
      decoder = PixelDecoder(self.pixel_size, channels, self.pixel_widths, dtype=self.dtype,
                             name="pixel_decoder")
      reconstruction = decoder(code.reshape(batch * num_frames, self.dim))
      reconstruction = reconstruction.reshape(batch, num_frames, *reconstruction.shape[1:])
      target = jax.image.resize(
          frames.astype(jnp.float32),
          (batch, num_frames, self.pixel_size, self.pixel_size, channels), method="linear")
    else:
      y = code
      for index, width in reversed(list(enumerate(self.hidden_sizes))):
        y = nn.relu(nn.Dense(width, dtype=self.dtype, name=f"decoder_hidden{index}")(y))
      reconstruction = nn.Dense(features.shape[-1], dtype=self.dtype, name="decoder_output")(y)
      target = features
    target = jax.lax.stop_gradient(target.astype(jnp.float32))
    return code, reconstruction.astype(jnp.float32), target
