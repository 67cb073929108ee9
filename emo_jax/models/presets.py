"""Standard `config.model` settings for each model variant, for configs to start from."""
import ml_collections

# The frames each variant is meant for: (num_frames, size, channels).
INPUT_SHAPES = {
    "ae_lstm": (16, 112, 1),
    "cnn_lstm": (16, 112, 1),
    "attention": (16, 112, 1),
    "c3d": (16, 112, 1),
    "r2plus1d": (16, 112, 1),
    "resnet18_ae_lstm": (16, 112, 1),
    "fer2013_cnn": (1, 48, 1),
}

_CONV_ENCODER = dict(name="conv", widths=(32, 64, 128, 256), convs_per_stage=1, norm="batch",
                     pooling="mean", features=None, feature_norm=False, frozen=False,
                     pretrained="")
_BOTTLENECK = dict(dim=64, hidden_sizes=(), noise_std=0.1, pixel_decoder=False, pixel_size=32,
                   pixel_widths=(32, 16))
_BILSTM = dict(name="lstm", hidden_size=128, num_layers=1, bidirectional=True, pooling="last",
               unroll=1)
_HEAD = dict(hidden_sizes=(128,), dropout=0.3)


def default_model_config(kind: str) -> ml_collections.ConfigDict:
  """Returns the `config.model` of a variant, one of `INPUT_SHAPES`.

  ae_lstm: conv encoder -> denoising autoencoder bottleneck -> BiLSTM (the reference model);
  cnn_lstm: the same without bottleneck; attention: conv encoder -> temporal Transformer;
  c3d, r2plus1d: 3D networks on the clip; resnet18_ae_lstm: frozen ResNet-18 (set
  `encoder.pretrained`) -> bottleneck -> BiLSTM; fer2013_cnn: the conv encoder on single
  48x48 images (T = 1), whose encoder can initialise the video models'.
  """
  per_frame = dict(encoder=_CONV_ENCODER, bottleneck=None, temporal=_BILSTM, video=None,
                   head=_HEAD, dtype="float32", remat=False, input_norm="fixed", center_crop=0,
                   test_time_augmentation="none")
  variants = {
      "ae_lstm": dict(per_frame, bottleneck=_BOTTLENECK),
      "cnn_lstm": per_frame,
      "attention": dict(per_frame, temporal=dict(
          name="attention", num_layers=2, num_heads=4, mlp_dim=256, hidden_size=128,
          dropout=0.1, pooling="cls", max_len=64)),
      "c3d": dict(per_frame, encoder=None, temporal=None, video=dict(
          name="c3d", widths=(32, 64, 128, 256), convs_per_stage=1, norm="batch")),
      "r2plus1d": dict(per_frame, encoder=None, temporal=None, video=dict(
          name="r2plus1d", widths=(32, 64, 128, 256), blocks_per_stage=1, norm="batch")),
      "resnet18_ae_lstm": dict(per_frame, bottleneck=dict(_BOTTLENECK, hidden_sizes=(256,)),
                               encoder=dict(name="resnet18", num_filters=64, norm="batch",
                                            small_stem=False, frozen=True, pretrained="")),
      "fer2013_cnn": dict(per_frame, encoder=dict(_CONV_ENCODER, widths=(32, 64, 128)),
                          temporal=dict(name="mean")),
  }
  if kind not in variants:
    raise ValueError(f"unknown model variant {kind!r}; known: {', '.join(variants)}")
  return ml_collections.ConfigDict(variants[kind])


# The audio branch (models/audio_net.py) for 16 kHz audio: 32 ms windows every 10 ms,
# 64 mel bands; a 3-stage CNN over the spectrogram, the mean over its time frames.
_AUDIO = dict(
    frontend=dict(sample_rate=16000, n_fft=512, hop_length=160, num_mels=64, fmin=0.0,
                  fmax=0.0, log_floor=1e-6, log_offset=-5.0, log_scale=5.0),
    spec_augment=dict(num_time_masks=2, max_time_width=20, num_freq_masks=2, max_freq_width=8),
    encoder=dict(widths=(32, 64, 128), norm="batch", features=128),
    temporal=dict(name="mean"),
    head=dict(hidden_sizes=(128,), dropout=0.3))
# A transformer over the audio frames instead of their mean (`audio_transformer`).
AUDIO_TRANSFORMER = dict(name="attention", num_layers=2, num_heads=4, mlp_dim=256, hidden_size=128,
                         dropout=0.1, pooling="cls", max_len=512)
_FUSION = dict(modality="audio_visual", mode="mid", modality_dropout=0.2, dim=128, num_heads=4,
               head=dict(hidden_sizes=(128,), dropout=0.3))


def audio_visual_model_config(video_kind: str = "ae_lstm") -> ml_collections.ConfigDict:
  """`config.model` of an AudioVisualNet: the video variant `video_kind`, the audio branch
  and mid fusion of both (`fusion.modality` "audio" or "video" keeps one branch)."""
  config = default_model_config(video_kind)
  config.audio = ml_collections.ConfigDict(_AUDIO)
  config.fusion = ml_collections.ConfigDict(_FUSION)
  return config
