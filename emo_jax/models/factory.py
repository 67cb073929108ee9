"""`create_model`: builds an EmotionNet from a nested `model` config."""
import dataclasses
import difflib
import logging
from typing import Any, Callable, Mapping

import jax.numpy as jnp
import ml_collections

from emo_jax.models import attention
from emo_jax.models import audio_frontend
from emo_jax.models import audio_net
from emo_jax.models import audio_visual
from emo_jax.models import bottleneck
from emo_jax.models import conv3d
from emo_jax.models import conv_encoder
from emo_jax.models import emotion_net
from emo_jax.models import ensemble
from emo_jax.models import head
from emo_jax.models import lstm
from emo_jax.models import pooling
from emo_jax.models import resnet

# `name` in each sub-config picks the module; its other keys are the module's fields.
ENCODERS = {"conv": conv_encoder.ConvEncoder, "resnet": resnet.ResNet,
            "resnet18": resnet.ResNet18, "resnet34": resnet.ResNet34}
TEMPORAL_MODELS = {"lstm": lstm.TemporalLSTM, "attention": attention.TemporalAttention,
                   "mean": pooling.MeanPooling}
VIDEO_MODELS = {"c3d": conv3d.C3D, "r2plus1d": conv3d.R2Plus1D}
DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
# Encoder keys that configure training, not the module: `pretrained` is the checkpoint
# directory `pretrained.load_pretrained_encoder` reads.
_ENCODER_TRAINING_KEYS = ("pretrained",)
_TOP_LEVEL_KEYS = ("encoder", "bottleneck", "temporal", "video", "head", "dtype", "remat",
                   "input_norm", "center_crop", "test_time_augmentation", "audio", "fusion",
                   "ensemble")
# `model.fusion.modality`: which branches an AudioVisualNet has.
MODALITY_CHOICES = {"audio": ("audio",), "video": ("video",), "audio_visual": ("audio", "video")}


def create_model(model_config: ml_collections.ConfigDict | Mapping[str, Any],
                 num_classes: int) -> emotion_net.EmotionNet | audio_visual.AudioVisualNet:
  """Builds the model a config describes.

  Args:
    model_config: `config.model`, for example

      encoder=dict(name="conv", widths=(32, 64, 128), norm="batch", frozen=False,
                   pretrained=""),
      bottleneck=dict(dim=64, noise_std=0.1, pixel_decoder=False),  # or None
      temporal=dict(name="lstm", hidden_size=128, num_layers=1, bidirectional=True),
      video=None,  # or dict(name="c3d", widths=(32, 64, 128, 256)) with encoder=None
      head=dict(hidden_sizes=(128,), dropout=0.3),
      dtype="float32",  # or "bfloat16"; parameters stay float32
      remat=False,
      input_norm="fixed",  # or "per_frame" (see EmotionNet)
      center_crop=0,  # or the side of the central window the model sees, e.g. 40
      test_time_augmentation="none",  # or "flip", "ten_crop" (evaluation only)

      audio=None,  # or the audio branch, see `create_audio_visual`
      fusion=None,  # or dict(modality=..., mode=...): an AudioVisualNet

      Keys of each sub-config are the fields of its module (`name` picks the module, see
      ENCODERS, TEMPORAL_MODELS and VIDEO_MODELS); missing keys take the module's default,
      and keys that only another module of the same table has are ignored with a warning
      (so `temporal.name=mean` alone turns an LSTM config into mean pooling).
    num_classes: number of logits.

  Raises:
    ValueError: naming the offending `model.*` key, for unknown names or fields, or when
      the config sets neither or both of the per-frame (encoder + temporal) and clip
      (video) paths.
  """
  config = _plain(model_config)
  unknown = sorted(set(config) - set(_TOP_LEVEL_KEYS))
  if unknown:
    raise ValueError(f"unknown model config keys {unknown}; expected {_TOP_LEVEL_KEYS}")
  if config.get("ensemble") is not None:
    return create_ensemble(config, num_classes)
  dtype_name = config.get("dtype") or "float32"
  if dtype_name not in DTYPES:
    raise ValueError(f"model.dtype={dtype_name!r} is not one of {tuple(DTYPES)}")
  dtype = DTYPES[dtype_name]
  if config.get("fusion") is not None:
    return create_audio_visual(config, num_classes, dtype)

  input_norm = config.get("input_norm") or "fixed"
  if input_norm not in emotion_net.INPUT_NORMS:
    raise ValueError(f"model.input_norm={input_norm!r} is not one of {emotion_net.INPUT_NORMS}")

  per_frame = config.get("encoder") is not None
  clip = config.get("video") is not None
  if per_frame == clip:
    raise ValueError("set exactly one of model.encoder (with model.temporal) and model.video")
  modules = {}
  if per_frame:
    if config.get("temporal") is None:
      raise ValueError("model.temporal must be set with model.encoder; names: "
                       f"{tuple(TEMPORAL_MODELS)}")
    encoder_config = {k: v for k, v in config["encoder"].items() if k not in _ENCODER_TRAINING_KEYS}
    modules["encoder"] = _build("encoder", ENCODERS, encoder_config, dtype)
    modules["temporal"] = _build("temporal", TEMPORAL_MODELS, config["temporal"], dtype)
    if config.get("bottleneck") is not None:
      modules["bottleneck"] = _build("bottleneck", None, config["bottleneck"], dtype,
                                     module=bottleneck.AutoencoderBottleneck)
  else:
    for key in ("temporal", "bottleneck"):
      if config.get(key) is not None:
        raise ValueError(f"model.{key} is for the per-frame path; set it to None with model.video")
    modules["video"] = _build("video", VIDEO_MODELS, config["video"], dtype)
  head_config = dict(config.get("head") or {}, num_classes=num_classes)
  modules["head"] = _build("head", None, head_config, dtype, module=head.ClassifierHead)
  tta = config.get("test_time_augmentation") or "none"
  if tta not in emotion_net.TEST_TIME_AUGMENTATIONS:
    raise ValueError(f"model.test_time_augmentation={tta!r} is not one of "
                     f"{emotion_net.TEST_TIME_AUGMENTATIONS}")
  return emotion_net.EmotionNet(remat=bool(config.get("remat", False)), input_norm=input_norm,
                                center_crop=int(config.get("center_crop") or 0),
                                test_time_augmentation=tta, dtype=dtype, **modules)


def create_ensemble(config: Mapping[str, Any], num_classes: int) -> ensemble.Ensemble:
  """The Ensemble of `model.ensemble`: a list of member model configs, nothing else set."""
  others = sorted(k for k, v in config.items() if k != "ensemble" and v is not None)
  if others:
    raise ValueError(f"model.ensemble lists whole member configs; set the other keys "
                     f"({others}) inside each member")
  members = list(config["ensemble"])
  if len(members) < 2:
    raise ValueError(f"model.ensemble needs at least two member configs, got {len(members)}")
  return ensemble.Ensemble(members=tuple(create_model(m, num_classes) for m in members))


def create_audio_visual(config: Mapping[str, Any], num_classes: int,
                        dtype: Any) -> audio_visual.AudioVisualNet:
  """The AudioVisualNet of a model config with `fusion` set (a plain dict, see `_plain`).

  model.fusion: dict(modality="audio_visual" | "audio" | "video", mode=one of
    `audio_visual.FUSIONS`, modality_dropout, dim, num_heads, head=dict(...)).
  model.audio: dict(frontend=<LogMel fields>, spec_augment=dict(num_time_masks,
    max_time_width, num_freq_masks, max_freq_width), encoder=<SpectrogramEncoder
    fields>, temporal=<a temporal model, e.g. dict(name="mean")>, head=dict(...)).
  The video branch is the EmotionNet the other keys describe (its `head` is the video
  branch's own, used by late fusion). A branch the modality leaves out is not built,
  and its keys are not read.
  """
  fusion = dict(config["fusion"])
  modality = fusion.pop("modality", "audio_visual")
  if modality not in MODALITY_CHOICES:
    raise ValueError(f"model.fusion.modality={modality!r} is not one of {tuple(MODALITY_CHOICES)}")
  modalities = MODALITY_CHOICES[modality]
  mode = fusion.pop("mode", "mid")
  if mode not in audio_visual.FUSIONS:
    raise ValueError(f"model.fusion.mode={mode!r} is not one of {audio_visual.FUSIONS}")
  head_config = fusion.pop("head", None) or {}
  kwargs = dict(fusion=mode, modality_dropout=float(fusion.pop("modality_dropout", 0.0)),
                fusion_dim=int(fusion.pop("dim", 128)), num_heads=int(fusion.pop("num_heads", 4)))
  if fusion:
    raise ValueError(f"unknown model.fusion keys {sorted(fusion)}; expected modality, mode, "
                     "modality_dropout, dim, num_heads, head")
  if not mode.startswith("late"):
    kwargs["head"] = _build("fusion.head", None, dict(head_config, num_classes=num_classes),
                            dtype, module=head.ClassifierHead)
  if "video" in modalities:
    video_config = {k: v for k, v in config.items() if k not in ("audio", "fusion")}
    kwargs["video"] = create_model(video_config, num_classes)
  if "audio" in modalities:
    if config.get("audio") is None:
      raise ValueError(f"model.fusion.modality={modality!r} needs model.audio (the audio branch)")
    kwargs["audio"] = _create_audio(config["audio"], num_classes, dtype)
  return audio_visual.AudioVisualNet(dtype=dtype, **kwargs)


def _create_audio(config: Mapping[str, Any], num_classes: int, dtype: Any) -> audio_net.AudioNet:
  """The AudioNet of `model.audio`."""
  config = dict(config)
  unknown = sorted(set(config) - {"frontend", "spec_augment", "encoder", "temporal", "head"})
  if unknown:
    raise ValueError(f"unknown model.audio keys {unknown}; expected frontend, spec_augment, "
                     "encoder, temporal, head")
  return audio_net.AudioNet(
      frontend=_build("audio.frontend", None, config.get("frontend") or {}, dtype,
                      module=audio_frontend.LogMel),
      encoder=_build("audio.encoder", None, config.get("encoder") or {}, dtype,
                     module=audio_net.SpectrogramEncoder),
      temporal=_build("audio.temporal", TEMPORAL_MODELS, config.get("temporal") or {"name": "mean"},
                      dtype),
      head=_build("audio.head", None, dict(config.get("head") or {}, num_classes=num_classes),
                  dtype, module=head.ClassifierHead),
      dtype=dtype, **dict(config.get("spec_augment") or {}))


def _build(section: str, table: Mapping[str, Callable] | None, sub_config: Mapping[str, Any],
           dtype: Any, module: Callable | None = None):
  """Instantiates the (unbound) module of `model.<section>` with its config as fields."""
  kwargs = dict(sub_config)
  if table is not None:
    name = kwargs.pop("name", None)
    if name not in table:
      raise ValueError(f"model.{section}.name={name!r} is not one of {tuple(table)}")
    module = table[name]
  cls = getattr(module, "func", module)  # A functools.partial variant such as ResNet18.
  fields = _fields(module)
  if table is not None:
    kwargs = _without_other_modules_fields(section, name, kwargs, fields, table)
  for key in kwargs:
    if key not in fields:
      close = difflib.get_close_matches(key, fields, n=1)
      hint = f" Did you mean {close[0]!r}?" if close else ""
      raise ValueError(f"model.{section}.{key} is not a field of {cls.__name__} "
                       f"(fields: {', '.join(fields)}).{hint}")
  preset = getattr(module, "keywords", {})  # What a partial such as ResNet18 fixes.
  required = [f.name for f in dataclasses.fields(cls) if f.name in fields
              and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
  missing = [key for key in required if key not in kwargs and key not in preset]
  if missing:
    raise ValueError(f"model.{section} needs {', '.join(missing)} for {cls.__name__}; "
                     f"set model.{section}.{missing[0]}")
  return module(dtype=dtype, **kwargs)


def _fields(module: Callable) -> list[str]:
  cls = getattr(module, "func", module)
  return [f.name for f in dataclasses.fields(cls) if f.name not in ("parent", "name", "dtype")]


def _without_other_modules_fields(section: str, name: str, kwargs: dict[str, Any],
                                  fields: list[str], table: Mapping[str, Callable]) -> dict[str, Any]:
  """`kwargs` less the keys that belong to another module of `table`, not to `name`'s.

  A config written for one module and switched to another by its name alone (a sweep's
  `--config.model.temporal.name=mean` on cnn_lstm, whose temporal section holds the
  LSTM's `bidirectional`) keeps the first module's settings; they mean nothing to the
  second, so they are dropped with a warning. Keys that are fields of no module of the
  table stay, and fail below as the typos they are.
  """
  others = {key for other, module in table.items() if other != name for key in _fields(module)}
  dropped = sorted(key for key in kwargs if key not in fields and key in others)
  if dropped:
    logging.warning("model.%s.name=%r: ignoring %s, settings of other %s modules that %s does "
                    "not have", section, name, ", ".join(f"model.{section}.{key}" for key in dropped),
                    section, name)
  return {key: value for key, value in kwargs.items() if key not in dropped}


def _plain(config: ml_collections.ConfigDict | Mapping[str, Any]) -> dict[str, Any]:
  """ConfigDict -> dict of dicts, lists as tuples, so modules stay hashable."""
  if isinstance(config, ml_collections.ConfigDict):
    config = config.to_dict()
  def convert(value):
    if isinstance(value, Mapping):
      return {key: convert(item) for key, item in value.items()}
    if isinstance(value, list):
      return tuple(convert(item) for item in value)
    return value
  return convert(config)
