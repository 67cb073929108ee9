"""Packed records -> examples: uint8 frames (or cached features), label, vote distribution, mask."""
from typing import Any, Mapping

import numpy as np

# What a device batch holds; everything else in a record stays on the host.
TRAIN_KEYS = ("frames", "label", "vote_distribution", "mask")
EVAL_KEYS = TRAIN_KEYS + ("index",)


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


def format_example(record: Mapping[str, Any], num_classes: int) -> dict[str, np.ndarray]:
  """A packed record -> {frames uint8 [T, S, S, C], label int32, vote_distribution, mask}.

  Still images (`image` [S, S, C]) become one-frame clips. Records without a vote
  distribution, or with no votes, get the one-hot of their label. A record of cached
  features gives `frame_features` [T, D] instead of `frames`.
  """
  if "frame_features" in record:
    inputs = {"frame_features": np.asarray(record["frame_features"])}
  else:
    inputs = {"frames": _frames(record)}
  label = int(record["label"])
  votes = record.get("vote_distribution")
  if votes is None or not np.asarray(votes).sum() > 0:
    votes = np.eye(num_classes, dtype=np.float32)[label]
  return {**inputs, "label": np.int32(label),
          "vote_distribution": np.asarray(votes, np.float32), "mask": np.True_}


def padding_example(source, record_index: int, num_classes: int) -> dict[str, np.ndarray]:
  """An example of zeros shaped like record `record_index`, `mask` False and `index` -1."""
  example = format_example(source[int(record_index)], num_classes)
  padding = {key: np.zeros_like(value) for key, value in example.items()}
  padding["index"] = np.int32(-1)
  return padding
