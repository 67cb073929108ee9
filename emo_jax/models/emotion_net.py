"""EmotionNet: frame encoder -> bottleneck -> temporal model -> head, or 3D network -> head."""
import flax.linen as nn
import jax
import jax.numpy as jnp

from flax.typing import Dtype
from emo_jax.models import bottleneck as bottleneck_lib
from emo_jax.models import head as head_lib

# Scope of the frame encoder in the variables tree: `params/encoder/...`. The trainer
# freezes an encoder by zeroing updates of parameter paths under it.
ENCODER_SCOPE = "encoder"
INPUT_NORMS = ("fixed", "per_frame")
TEST_TIME_AUGMENTATIONS = ("none", "flip", "ten_crop")


class EmotionNet(nn.Module):
  """Classifies clips: `[B, T, H, W, C]` frames -> `([B, num_classes] logits, aux)`.

  Either per-frame path `encoder` -> optional `bottleneck` -> `temporal` -> `head`, or
  clip path `video` -> `head`. Submodules are passed in as unbound modules; build them
  from a config with `create_model`. Image mode (FER2013) is `T = 1` with any temporal
  model; `[B, H, W, C]` input is read as `T = 1`.

  Randomness in training: rng stream "dropout" (head, attention) and "noise" (the
  bottleneck's denoising noise). BatchNorm statistics live in the `batch_stats`
  collection: the train step calls
  `apply(variables, frames, train=True, rngs=..., mutable=["batch_stats"])`.

  Attributes:
    head: `[B, D'] -> [B, num_classes]`.
    encoder: image encoder `[N, H, W, C] -> [N, D]` with `__call__(x, *, train)`,
      applied to all `B * T` frames at once.
    bottleneck: optional `AutoencoderBottleneck` on the per-frame features.
    temporal: `__call__(x [B, T, K], *, mask [B, T], train) -> (pooled [B, D'], aux)`.
    video: 3D network `__call__(clip [B, T, H, W, C], *, train) -> [B, D']`, used
      instead of encoder and temporal.
    remat: rematerialise the frame encoder's activations in the backward pass (less
      memory for long clips, about one more encoder forward pass of compute).
    input_norm: how frames are scaled before the model: "fixed" maps [0, 1] to [-1, 1];
      "per_frame" standardises each frame to zero mean and unit variance, which removes
      differences of exposure, contrast and skin tone between actors (in grey crops a
      darker face has less contrast between skin, brows and lips).
    center_crop: when > 0, the model sees the central `center_crop` x `center_crop`
      pixels of each frame (FER2013 recipes train on 40-44 px of the 48 px faces; the
      pipeline's random crops and shifts then move the face within that window).
    test_time_augmentation: in evaluation (`train=False`), average the class
      probabilities over views of each clip: "flip" (the clip and its mirror image) or
      "ten_crop" (the four corner crops and the centre crop of size `center_crop`, and
      their mirror images). The logits returned are the log of the averaged
      probabilities, so `softmax(logits)` is that average; aux is the centre view's.
    dtype: compute dtype of the input normalisation.
  """
  head: head_lib.ClassifierHead
  encoder: nn.Module | None = None
  bottleneck: bottleneck_lib.AutoencoderBottleneck | None = None
  temporal: nn.Module | None = None
  video: nn.Module | None = None
  remat: bool = False
  input_norm: str = "fixed"
  center_crop: int = 0
  test_time_augmentation: str = "none"
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, frames: jax.Array | None = None, *, train: bool,
               frame_mask: jax.Array | None = None,
               frame_features: jax.Array | None = None) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Runs the model on frames, or on the frame encoder's outputs computed beforehand.

    Args:
      frames: `[B, T, H, W, C]` (or `[B, H, W, C]`) float in [0, 1], or uint8 in [0, 255].
      train: dropout, denoising noise and BatchNorm batch statistics on.
      frame_mask: `[B, T]` bool, True for valid frames, or None when all are valid.
        Padded frames are zeroed first, so what they hold never matters. LSTMs need the
        mask to be a prefix (padding at the end). 3D networks see the zeroed frames.
      frame_features: `[B, T, D]`, instead of `frames`: what `encode_frames` returns for
        them (e.g. read from `emo_jax.feature_cache`). The encoder is skipped and its
        variables are left untouched; the outputs are those of the model on the frames
        when the encoder is frozen (it then has no dropout and no batch statistics in
        training). Per-frame path only, and not with a pixel-decoding bottleneck.

    Returns:
      `(logits [B, num_classes] float32, aux)`; aux holds `pooled` `[B, D']` always,
      `frame_features` `[B, T, D]` on the per-frame path, `bottleneck` `[B, T, K]`,
      `reconstruction` and `reconstruction_target` with a bottleneck, and
      `attention_weights` (and `pooling_weights`) with temporal attention.
    """
    if self.video is None and (self.encoder is None or self.temporal is None):
      raise ValueError("EmotionNet needs either `video` or both `encoder` and `temporal`")
    if (frames is None) == (frame_features is None):
      raise ValueError("EmotionNet: pass exactly one of `frames` and `frame_features`")
    if self.test_time_augmentation not in TEST_TIME_AUGMENTATIONS:
      raise ValueError(f"model.test_time_augmentation={self.test_time_augmentation!r} is not "
                       f"one of {TEST_TIME_AUGMENTATIONS}")
    if train or frames is None or self.test_time_augmentation == "none":
      return self._forward(frames, train, frame_mask, frame_features)
    views = self._test_time_views(frames)
    outputs = [self._forward(view, train, frame_mask, None) for view in views]
    probabilities = jnp.mean(jnp.stack([jax.nn.softmax(logits.astype(jnp.float32), axis=-1)
                                        for logits, _ in outputs]), axis=0)
    return jnp.log(jnp.maximum(probabilities, 1e-12)), outputs[0][1]

  def _forward(self, frames, train, frame_mask, frame_features):
    """`__call__` on one view of the clip."""
    aux = {}
    if frame_features is None:
      x, mask = self._normalise(frames, frame_mask)
    else:
      if self.video is not None:
        raise ValueError("EmotionNet: `frame_features` needs the per-frame path (encoder + "
                         "temporal); a 3D network has no frame encoder to skip")
      if self.bottleneck is not None and self.bottleneck.pixel_decoder:
        raise ValueError("EmotionNet: a bottleneck with pixel_decoder=True reconstructs the "
                         "frames, so it cannot run from `frame_features`")
      x = None
      batch, num_frames = frame_features.shape[:2]
      mask = (jnp.ones((batch, num_frames), bool) if frame_mask is None
              else frame_mask.astype(bool))

    if self.video is not None:
      pooled = self.video(x, train=train)
    else:
      if frame_features is None:
        features = self._encode_frames(x, train)
      else:
        features = frame_features.astype(self.dtype)
      aux["frame_features"] = features
      if self.bottleneck is not None:
        code, reconstruction, target = self.bottleneck(features, frames=x, train=train)
        aux.update(bottleneck=code, reconstruction=reconstruction, reconstruction_target=target)
        features = code
      pooled, temporal_aux = self.temporal(features, mask=mask, train=train)
      aux.update(temporal_aux)
    aux["pooled"] = pooled
    return self.head(pooled, train=train), aux

  def encode_frames(self, frames: jax.Array, *, frame_mask: jax.Array | None = None) -> jax.Array:
    """The frame encoder alone, in evaluation mode: frames `[B, T, H, W, C]` -> `[B, T, D]`.

    `__call__(frame_features=encode_frames(frames))` gives the outputs of
    `__call__(frames)` for a frozen encoder. Call with
    `model.apply(variables, frames, method="encode_frames")`; only the encoder's
    variables are needed.
    """
    if self.encoder is None:
      raise ValueError("EmotionNet.encode_frames: the model has no frame encoder (3D network)")
    x, _ = self._normalise(frames, frame_mask)
    return self._encode_frames(x, train=False)

  def _normalise(self, frames: jax.Array,
                 frame_mask: jax.Array | None) -> tuple[jax.Array, jax.Array]:
    """Frames -> (`[B, T, H, W, C]` scaled by `input_norm`, in `dtype`, padded frames
    zeroed; mask `[B, T]`)."""
    if self.input_norm not in INPUT_NORMS:
      raise ValueError(f"model.input_norm={self.input_norm!r} is not one of {INPUT_NORMS}")
    if frames.ndim == 4:
      frames = frames[:, None]
    frames = self._crop(frames, "centre")
    if frames.dtype == jnp.uint8:
      frames = frames.astype(jnp.float32) / 255.0
    x = frames.astype(jnp.float32)
    if self.input_norm == "per_frame":
      mean = jnp.mean(x, axis=(2, 3, 4), keepdims=True)
      std = jnp.std(x, axis=(2, 3, 4), keepdims=True)
      x = (x - mean) / jnp.maximum(std, 1.0 / 255.0)  # A flat frame stays finite.
    else:
      x = x * 2.0 - 1.0
    x = x.astype(self.dtype)
    batch, num_frames = x.shape[:2]
    if frame_mask is None:
      return x, jnp.ones((batch, num_frames), bool)
    mask = frame_mask.astype(bool)
    return jnp.where(mask[:, :, None, None, None], x, jnp.zeros((), x.dtype)), mask

  def _encode_frames(self, x: jax.Array, train: bool) -> jax.Array:
    """`[B, T, H, W, C] -> [B, T, D]`: the encoder on every frame, as one batch of B * T."""
    batch, num_frames = x.shape[:2]

    def encode(module, images):
      return module.encoder(images, train=train)

    if self.remat:
      encode = nn.remat(encode)
    features = encode(self, x.reshape(batch * num_frames, *x.shape[2:]))
    return features.reshape(batch, num_frames, features.shape[-1])

  def _crop(self, frames: jax.Array, where: str) -> jax.Array:
    """`[B, T, H, W, C]` -> the `center_crop`-sized window at `where` ("centre",
    "top_left", "top_right", "bottom_left", "bottom_right"); frames that are already that
    size (or `center_crop = 0`) pass through."""
    height, width = frames.shape[2:4]
    size = self.center_crop
    if not size or (height == size and width == size):
      return frames
    if size > min(height, width):
      raise ValueError(f"model.center_crop={size} is larger than the {height}x{width} frames")
    top = {"centre": (height - size) // 2, "top_left": 0, "top_right": 0,
           "bottom_left": height - size, "bottom_right": height - size}[where]
    left = {"centre": (width - size) // 2, "top_left": 0, "bottom_left": 0,
            "top_right": width - size, "bottom_right": width - size}[where]
    return frames[:, :, top:top + size, left:left + size]

  def _test_time_views(self, frames: jax.Array) -> list[jax.Array]:
    """The views `test_time_augmentation` averages over, centre view first."""
    if frames.ndim == 4:
      frames = frames[:, None]
    if self.test_time_augmentation == "ten_crop":
      if not self.center_crop:
        raise ValueError("model.test_time_augmentation='ten_crop' needs model.center_crop > 0")
      crops = [self._crop(frames, where) for where in
               ("centre", "top_left", "top_right", "bottom_left", "bottom_right")]
    else:
      crops = [self._crop(frames, "centre")]
    return crops + [crop[:, :, :, ::-1] for crop in crops]
