"""The shared label space: CREMA-D's six classes plus surprise and calm, and maps into it.

Every dataset declares its classes and their common names (`cremad.TO_COMMON`,
`ravdess.TO_COMMON`, `fer2013.TO_COMMON`, `affectnet.TO_COMMON`; a folder dataset is
labelled in the common space directly). `common_name` knows the spellings they use, so
a built dataset's class names (its `ClassLabel`) are enough to map it, and
`cross_dataset_map` says how a model trained on one dataset scores another: which of
the other's classes it can be scored on, and which it must drop (e.g. RAVDESS's calm
and surprised for a CREMA-D model).
"""
from collections.abc import Sequence
import dataclasses

COMMON_CLASSES = ("anger", "disgust", "fear", "happy", "neutral", "sad", "surprise", "calm")
# Spelling (lower case) -> common class. Contempt (AffectNet) has no common class.
SYNONYMS = {
    "anger": "anger", "angry": "anger", "ang": "anger", "mad": "anger",
    "disgust": "disgust", "disgusted": "disgust", "dis": "disgust",
    "fear": "fear", "fearful": "fear", "afraid": "fear", "scared": "fear", "fea": "fear",
    "happy": "happy", "happiness": "happy", "joy": "happy", "hap": "happy",
    "neutral": "neutral", "neu": "neutral",
    "sad": "sad", "sadness": "sad",
    "surprise": "surprise", "surprised": "surprise", "sur": "surprise",
    "calm": "calm", "cal": "calm",
}


def common_name(class_name: str) -> str | None:
  """The common class of a dataset's class name (any case, synonyms), or None."""
  return SYNONYMS.get(str(class_name).strip().lower())


def to_common(class_names: Sequence[str]) -> dict[str, str | None]:
  """{class name: common class or None} for a dataset's classes."""
  return {name: common_name(name) for name in class_names}


@dataclasses.dataclass(frozen=True)
class CrossDatasetMap:
  """How records labelled in `target_classes` are scored by a model of `model_classes`.

  Attributes:
    label_map: int64 `[len(target_classes)]`: target label -> model label, -1 dropped.
    kept: target classes scored, as (target name, model name, common name).
    dropped: target classes no model class shares, with why.
    unseen: model classes that no target class maps to (never the true class).
  """
  model_classes: tuple[str, ...]
  target_classes: tuple[str, ...]
  label_map: tuple[int, ...]
  kept: tuple[tuple[str, str, str], ...]
  dropped: tuple[tuple[str, str], ...]
  unseen: tuple[str, ...]

  def describe(self) -> list[str]:
    """Lines for a report: what was mapped to what, and what was dropped."""
    lines = ["Scored classes (dataset -> model): " + ", ".join(
        f"{t} -> {m}" for t, m, _ in self.kept)]
    if self.dropped:
      lines.append("Dropped (no counterpart in the model's classes): " + ", ".join(
          f"{t} ({why})" for t, why in self.dropped))
    if self.unseen:
      lines.append("Model classes with no examples here: " + ", ".join(self.unseen))
    return lines


def cross_dataset_map(model_classes: Sequence[str],
                      target_classes: Sequence[str]) -> CrossDatasetMap:
  """Maps a target dataset's labels onto a model's classes through the common space.

  Raises:
    ValueError: when no target class has a counterpart (nothing could be scored).
  """
  model_by_common = {}
  for index, name in enumerate(model_classes):
    common = common_name(name)
    if common is not None:
      model_by_common.setdefault(common, index)
  label_map, kept, dropped = [], [], []
  for name in target_classes:
    common = common_name(name)
    if common is None:
      label_map.append(-1)
      dropped.append((name, "not in the shared label space"))
    elif common not in model_by_common:
      label_map.append(-1)
      dropped.append((name, f"the model has no {common} class"))
    else:
      label_map.append(model_by_common[common])
      kept.append((name, model_classes[model_by_common[common]], common))
  if not kept:
    raise ValueError(f"no class of the dataset ({', '.join(target_classes)}) has a counterpart "
                     f"among the model's classes ({', '.join(model_classes)})")
  used = {m for _, m, _ in kept}
  unseen = tuple(m for m in model_classes if m not in used)
  return CrossDatasetMap(tuple(model_classes), tuple(target_classes), tuple(label_map),
                         tuple(kept), tuple(dropped), unseen)
