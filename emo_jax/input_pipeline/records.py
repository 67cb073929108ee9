"""Packed records -> examples: uint8 frames (or cached features), audio, label, vote distribution, mask."""
from typing import Any, Mapping

import numpy as np

# What a device batch holds; everything else in a record stays on the host.
TRAIN_KEYS = ("frames", "label", "vote_distribution", "mask")
EVAL_KEYS = TRAIN_KEYS + ("index",)
# With audio (config.data.audio_seconds > 0) batches also hold these.
AUDIO_KEYS = ("audio", "audio_length")
# Audio whose peak is below this (about -80 dBFS) is silent: it gets length 0, so the
# model treats the clip as having no audio (the clip is kept).
SILENCE_PEAK = 1e-4


def format_audio(audio, num_samples: int) -> tuple[np.ndarray, np.int32]:
  """A clip's waveform -> (float32 `[num_samples]` zero-padded or cut, valid length).

  No audio (None or empty, e.g. a clip without an audio stream) and silent audio give
  length 0; longer audio keeps its first `num_samples` samples.
  """
  if num_samples <= 0:
    raise ValueError(f"num_samples must be positive, got {num_samples}")
  audio = np.zeros((0,), np.float32) if audio is None else np.asarray(audio, np.float32).reshape(-1)
  audio = audio[:num_samples]
  length = audio.size
  if not length or not np.max(np.abs(audio)) >= SILENCE_PEAK:  # NaN audio counts as silent too.
    audio, length = np.zeros((0,), np.float32), 0
  padded = np.zeros((num_samples,), np.float32)
  padded[:length] = audio
  return padded, np.int32(length)


def _frames(record: Mapping[str, Any]) -> np.ndarray:
  """A record's uint8 frames `[T, S, S, C]`; a still `image` `[S, S, C]` is one frame."""
  if "frames" in record:
    frames = np.asarray(record["frames"])
  elif "image" in record:
    frames = np.asarray(record["image"])[None]
  else:
    raise KeyError(f"record has neither 'frames' nor 'image'; keys: {sorted(record)}")
  if frames.dtype != np.uint8 or frames.ndim != 4:
    raise ValueError(f"expected uint8 frames [T, S, S, C], got {frames.dtype} {frames.shape}")
  return frames


def format_example(record: Mapping[str, Any], num_classes: int,
                   audio_samples: int = 0) -> dict[str, np.ndarray]:
  """A packed record -> {frames uint8 [T, S, S, C], label int32, vote_distribution, mask}.

  Still images (`image` [S, S, C]) become one-frame clips. Records without a vote
  distribution, or with no votes, get the one-hot of their label. A record of cached
  features gives `frame_features` [T, D] instead of `frames`. With `audio_samples > 0`
  the example also holds `audio` float32 `[audio_samples]` and `audio_length` int32
  (`format_audio`); the record must then have an `audio` field.
  """
  if "frame_features" in record:
    inputs = {"frame_features": np.asarray(record["frame_features"])}
  else:
    inputs = {"frames": _frames(record)}
  label = int(record["label"])
  votes = record.get("vote_distribution")
  if votes is None or not np.asarray(votes).sum() > 0:
    votes = np.eye(num_classes, dtype=np.float32)[label]
  if audio_samples:
    if "audio" not in record:
      raise KeyError(f"config.data.audio_seconds > 0 but the record has no 'audio' field "
                     f"(fields: {sorted(record)}): this dataset has no audio")
    inputs["audio"], inputs["audio_length"] = format_audio(record["audio"], audio_samples)
  return {**inputs, "label": np.int32(label),
          "vote_distribution": np.asarray(votes, np.float32), "mask": np.True_}


def padding_example(source, record_index: int, num_classes: int,
                    audio_samples: int = 0) -> dict[str, np.ndarray]:
  """An example of zeros shaped like record `record_index`, `mask` False and `index` -1."""
  example = format_example(source[int(record_index)], num_classes, audio_samples)
  padding = {key: np.zeros_like(value) for key, value in example.items()}
  padding["index"] = np.int32(-1)
  return padding
