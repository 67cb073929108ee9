"""Accuracy by group (actor, demographic, emotion level) with 95% confidence intervals.

Clips of one actor are not independent draws: an actor the model reads well gives many
right answers together. So a group of several actors gets its interval from a cluster
bootstrap over actors (whole actors resampled), which is what the accuracy on new actors
varies with; the Wilson interval, which counts clips as independent, would be far too
narrow. A group of one actor (each row of the per-actor table) keeps the Wilson
interval over its clips: with one actor there is nothing to resample.
"""
from collections.abc import Mapping, Sequence
import dataclasses
import math

import numpy as np

from emo_jax.data import cremad

# Two-sided 95% normal quantile.
Z_95 = 1.959963984540054
# Actor resamples of the cluster bootstrap, and its seed (reports are reproducible).
NUM_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
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


def cluster_bootstrap_interval(correct: Sequence[bool], clusters: Sequence,
                               num_resamples: int = NUM_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                               confidence: float = 0.95) -> tuple[float, float]:
  """Percentile bootstrap interval of accuracy, resampling whole clusters (actors).

  Each resample draws as many clusters as there are, with replacement, and takes the
  accuracy over all their clips (a cluster with more clips weighs more, as in the
  accuracy itself). With clips as the clusters this is the ordinary clip bootstrap.

  Args:
    correct: `[N]` bool per clip.
    clusters: `[N]` cluster (actor) of each clip.
    num_resamples: bootstrap draws.
    seed: of the draws.
    confidence: coverage of the interval.

  Returns:
    (low, high); (nan, nan) when there are no clips.
  """
  correct = np.asarray(correct, bool)
  _, cluster_index = np.unique(np.asarray(clusters), return_inverse=True)
  if correct.size == 0:
    return math.nan, math.nan
  num_clips = np.bincount(cluster_index)
  num_correct = np.bincount(cluster_index, weights=correct)
  draws = np.random.default_rng(seed).integers(0, num_clips.size, (num_resamples, num_clips.size))
  accuracies = num_correct[draws].sum(axis=1) / num_clips[draws].sum(axis=1)
  tail = (1 - confidence) / 2 * 100
  low, high = np.percentile(accuracies, [tail, 100 - tail])
  return float(low), float(high)


@dataclasses.dataclass(frozen=True)
class GroupAccuracy:
  """Accuracy of one group with its 95% interval.

  `ci_method` says how the interval was made: "actor bootstrap" (a group of several
  actors, see the module docstring) or "Wilson" (clips as independent trials: one
  actor, or no actor ids given). `num_actors` is None when no actor ids were given.
  """
  group: str
  num_clips: int
  num_correct: int
  accuracy: float
  ci_low: float
  ci_high: float
  num_actors: int | None = None
  ci_method: str = "Wilson"

  def to_json(self) -> dict:
    """A JSON-ready dict; NaN (empty group) becomes None."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in dataclasses.asdict(self).items()}


def group_accuracy(correct: Sequence[bool], groups: Sequence, order: Sequence | None = None,
                   actors: Sequence[int] | None = None) -> list[GroupAccuracy]:
  """Accuracy per group.

  Args:
    correct: `[N]` bool, whether each prediction is right.
    groups: `[N]` group of each example (any hashable; reported as str).
    order: groups in the order to report them (groups absent from the data are
      left out); by default sorted.
    actors: `[N]` actor of each example: a group of two or more actors then gets the
      actor bootstrap interval (`cluster_bootstrap_interval`); None: Wilson for all.

  Returns:
    One GroupAccuracy per group present.
  """
  correct = np.asarray(correct, bool)
  groups = np.asarray(groups)
  if correct.shape != groups.shape or correct.ndim != 1:
    raise ValueError(f"correct {correct.shape} and groups {groups.shape} must be equal 1-D shapes")
  if actors is not None:
    actors = np.asarray(actors)
    if actors.shape != correct.shape:
      raise ValueError(f"actors {actors.shape} must have the shape of correct {correct.shape}")
  present = set(groups.tolist())
  keys = [g for g in order if g in present] if order is not None else sorted(present)
  rows = []
  for key in keys:
    in_group = groups == key
    n, k = int(in_group.sum()), int(correct[in_group].sum())
    num_actors = None if actors is None else len(set(actors[in_group].tolist()))
    if num_actors is not None and num_actors >= 2:
      low, high = cluster_bootstrap_interval(correct[in_group], actors[in_group])
      method = "actor bootstrap"
    else:
      low, high = wilson_interval(k, n)
      method = "Wilson"
    rows.append(GroupAccuracy(str(key), n, k, k / n, low, high, num_actors, method))
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
     "level": ..., "emotion": ...}, each a list of GroupAccuracy; intervals of groups of
    several actors resample actors (see the module docstring).
  """
  clips = [cremad.parse_clip_name(name) for name in clip_names]
  actors = np.array([c.actor for c in clips], np.int64)
  breakdowns = {"actor": group_accuracy(correct, actors, actors=actors)}
  for field in DEMOGRAPHIC_FIELDS:
    values = [_demographic_value(demographics.get(c.actor), field) for c in clips]
    breakdowns[field] = group_accuracy(correct, values, actors=actors)
  breakdowns["level"] = group_accuracy(correct, [clip.level for clip in clips], order=cremad.LEVELS,
                                       actors=actors)
  breakdowns["emotion"] = group_accuracy(correct, [clip.emotion for clip in clips],
                                         order=cremad.EMOTIONS, actors=actors)
  return breakdowns
