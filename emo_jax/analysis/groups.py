"""Accuracy by group (actor, demographic, emotion level) with Wilson 95% confidence intervals."""
from collections.abc import Mapping, Sequence
import dataclasses
import math

import numpy as np

from emo_jax.data import cremad

# Two-sided 95% normal quantile.
Z_95 = 1.959963984540054
# Demographic fields of `cremad.Demographics` broken down in reports (age as a band).
DEMOGRAPHIC_FIELDS = ("sex", "age_band", "race", "ethnicity")
UNKNOWN = "unknown"


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
  """Wilson score interval for a binomial proportion; (nan, nan) when `trials` is 0.

  Unlike the normal (Wald) interval it stays inside [0, 1] and is sensible for
  proportions near 0 or 1 and for small groups, which per-actor counts are.
  """
  if trials < 0 or not 0 <= successes <= trials:
    raise ValueError(f"wilson_interval needs 0 <= successes <= trials, got {successes}/{trials}")
  if trials == 0:
    return math.nan, math.nan
  p = successes / trials
  z2 = z * z
  denominator = 1.0 + z2 / trials
  centre = (p + z2 / (2 * trials)) / denominator
  half_width = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
  return max(0.0, centre - half_width), min(1.0, centre + half_width)


@dataclasses.dataclass(frozen=True)
class GroupAccuracy:
  """Accuracy of one group with its 95% Wilson interval."""
  group: str
  num_clips: int
  num_correct: int
  accuracy: float
  ci_low: float
  ci_high: float

  def to_json(self) -> dict:
    """A JSON-ready dict; NaN (empty group) becomes None."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in dataclasses.asdict(self).items()}


def group_accuracy(correct: Sequence[bool], groups: Sequence, order: Sequence | None = None
                   ) -> list[GroupAccuracy]:
  """Accuracy per group.

  Args:
    correct: `[N]` bool, whether each prediction is right.
    groups: `[N]` group of each example (any hashable; reported as str).
    order: groups in the order to report them (groups absent from the data are
      left out); by default sorted.

  Returns:
    One GroupAccuracy per group present.
  """
  correct = np.asarray(correct, bool)
  groups = np.asarray(groups)
  if correct.shape != groups.shape or correct.ndim != 1:
    raise ValueError(f"correct {correct.shape} and groups {groups.shape} must be equal 1-D shapes")
  present = set(groups.tolist())
  keys = [g for g in order if g in present] if order is not None else sorted(present)
  rows = []
  for key in keys:
    in_group = groups == key
    n, k = int(in_group.sum()), int(correct[in_group].sum())
    low, high = wilson_interval(k, n)
    rows.append(GroupAccuracy(str(key), n, k, k / n, low, high))
  return rows


def age_band(age: int, width: int = 10) -> str:
  """`34 -> "30-39"` (width 10)."""
  if age < 0:
    raise ValueError(f"age must be non-negative, got {age}")
  low = (age // width) * width
  return f"{low}-{low + width - 1}"


def _demographic_value(demographics: cremad.Demographics | None, field: str) -> str:
  if demographics is None:
    return UNKNOWN
  if field == "age_band":
    return age_band(demographics.age)
  return str(getattr(demographics, field))


def cremad_breakdowns(correct: Sequence[bool], clip_names: Sequence[str],
                      demographics: Mapping[int, cremad.Demographics]) -> dict[str, list[GroupAccuracy]]:
  """Accuracy per actor, demographic group and emotion level of CREMA-D clips.

  Args:
    correct: `[N]` bool per clip.
    clip_names: `[N]` CREMA-D clip names ("1001_DFA_ANG_XX").
    demographics: actor id -> Demographics (VideoDemographics.csv); actors missing here
      are reported as "unknown".

  Returns:
    {"actor": ..., "sex": ..., "age_band": ..., "race": ..., "ethnicity": ...,
     "level": ..., "emotion": ...}, each a list of GroupAccuracy.
  """
  clips = [cremad.parse_clip_name(name) for name in clip_names]
  breakdowns = {"actor": group_accuracy(correct, np.array([c.actor for c in clips], np.int64))}
  for field in DEMOGRAPHIC_FIELDS:
    values = [_demographic_value(demographics.get(c.actor), field) for c in clips]
    breakdowns[field] = group_accuracy(correct, values)
  breakdowns["level"] = group_accuracy(correct, [clip.level for clip in clips], order=cremad.LEVELS)
  breakdowns["emotion"] = group_accuracy(correct, [clip.emotion for clip in clips],
                                         order=cremad.EMOTIONS)
  return breakdowns
