"""Actor-disjoint train/val/test splits (CREMA-D, RAVDESS, any subject ids), written down as data.

A split is named by a spec string, so configs and flags can carry it:

  "hicmae5:fold=K", K in 1..5: the published 5-fold subject-independent protocol. Test
      actors are the ID block of fold K (1001-1018, 1019-1036, 1037-1054, 1055-1072,
      1073-1091). Validation is the first 7 male and first 7 female actors (by ID, sexes
      from VideoDemographics.csv) of the next fold's block (fold 5 takes block 1):
      14 actors, 15%. Training is the other 58-59 actors.
  "holdout": fixed 63/14/14 actor lists (HOLDOUT). Validation and test hold 7 female and
      7 male actors each, drawn once with `numpy.random.default_rng(2024).permutation`
      within each sex; the literal lists below are the definition and never change.
  "ravdess6:fold=K", K in 1..6: RAVDESS's 6-fold actor-independent protocol of published
      results (4 actors per fold): fold K tests actors 4K-3..4K, i.e.
        fold 1: 1-4, fold 2: 5-8, fold 3: 9-12, fold 4: 13-16, fold 5: 17-20,
        fold 6: 21-24 (RAVDESS_FOLDS);
      validation is the first two actors of the next fold (4K+1 male, 4K+2 female; fold 6
      takes 1 and 2) and training the other 18. Published numbers train on all 20 others;
      ours keep two for model selection.

Other actor sets (synthetic data uses ids 1001..1000+N; a partial copy has a subset):
`split_actors(spec, actors=ids)` keeps the fixed lists, intersected with `ids`, as long
as every id is a CREMA-D actor and no part becomes empty (for hicmae5: in any fold), so
an actor's part does not depend on which other actors are present. Otherwise the same
rule is applied to the given actors instead, deterministically from their sorted ids:
  hicmae5: the ids are cut into 5 contiguous blocks (`numpy.array_split`); fold K tests
      on block K and validates on the next round(15%) (at least 1) actors after it,
      wrapping around; needs 5+ actors.
  holdout: the last round(15%) (at least 1) ids are test, the round(15%) (at least 1)
      before them validation, the rest training; needs 3+ actors.
  ravdess6: as hicmae5 with 6 blocks; needs 6+ actors.
Subject ids of other datasets (a folder's CSV, emo_jax/data/folder.py) always take the
proportional rule: "holdout" or "hicmae5:fold=K" / "ravdess6:fold=K" as K-fold.
E.g. 10 synthetic actors 1001..1010 with "holdout" keep the fixed lists (train 7, val
1008, test 1004 and 1010); with "hicmae5:fold=1" they fall back to blocks of 2 (test
1001-1002, val 1003-1004).
"""
from collections.abc import Iterable

import numpy as np

from emo_jax.data import cremad
from emo_jax.data import ravdess

PARTS = ("train", "val", "test")
NUM_FOLDS = 5
VAL_FRACTION = 0.15
TEST_FRACTION = 0.15

# hicmae5 fold -> test actors (inclusive ID range).
HICMAE5_TEST_RANGES = {1: (1001, 1018), 2: (1019, 1036), 3: (1037, 1054),
                       4: (1055, 1072), 5: (1073, 1091)}
# hicmae5 fold -> validation actors: the first 7 male and first 7 female actors of the
# next fold's test block (tests/test_splits.py re-derives this from VideoDemographics.csv).
HICMAE5_VAL = {
    1: (1019, 1020, 1021, 1022, 1023, 1024, 1025, 1026, 1027, 1028, 1029, 1030, 1031, 1032),
    2: (1037, 1038, 1039, 1040, 1041, 1042, 1043, 1044, 1045, 1046, 1047, 1049, 1052, 1053),
    3: (1055, 1056, 1057, 1058, 1059, 1060, 1061, 1062, 1063, 1064, 1065, 1066, 1067, 1072),
    4: (1073, 1074, 1075, 1076, 1077, 1078, 1079, 1080, 1081, 1082, 1083, 1085, 1086, 1087),
    5: (1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1011, 1014, 1015, 1016, 1017),
}
HOLDOUT = {
    "train": (1001, 1002, 1003, 1005, 1006, 1007, 1009, 1011, 1012, 1014, 1015, 1018, 1019,
              1022, 1023, 1025, 1026, 1027, 1028, 1029, 1030, 1031, 1032, 1033, 1034, 1039,
              1040, 1041, 1042, 1043, 1044, 1045, 1046, 1047, 1049, 1050, 1051, 1053, 1054,
              1056, 1058, 1059, 1060, 1061, 1064, 1065, 1067, 1068, 1069, 1072, 1073, 1074,
              1075, 1076, 1077, 1079, 1080, 1082, 1083, 1084, 1086, 1088, 1090),
    "val": (1008, 1013, 1016, 1021, 1024, 1037, 1038, 1048, 1052, 1062, 1063, 1070, 1085,
            1087),
    "test": (1004, 1010, 1017, 1020, 1035, 1036, 1055, 1057, 1066, 1071, 1078, 1081, 1089,
             1091),
}
RAVDESS_NUM_FOLDS = 6
# ravdess6 fold -> test actors: 4 per fold, 4K-3..4K.
RAVDESS_FOLDS = {fold: tuple(range(4 * fold - 3, 4 * fold + 1))
                 for fold in range(1, RAVDESS_NUM_FOLDS + 1)}
# Split name -> the options its spec takes, and its number of folds.
SPLITS = {"hicmae5": ("fold",), "holdout": (), "ravdess6": ("fold",)}
NUM_FOLDS_OF = {"hicmae5": NUM_FOLDS, "ravdess6": RAVDESS_NUM_FOLDS}
# Split name -> the actor ids its fixed lists are written for.
FIXED_ACTORS = {"hicmae5": cremad.ACTORS, "holdout": cremad.ACTORS, "ravdess6": ravdess.ACTORS}
SPEC_FORMS = ("hicmae5:fold=1..5", "holdout", "ravdess6:fold=1..6")

Split = dict[str, tuple[int, ...]]


def parse_split_spec(spec: str) -> tuple[str, dict[str, int]]:
  """Parses "hicmae5:fold=1" into ("hicmae5", {"fold": 1}) and "holdout" into ("holdout", {}).

  Raises:
    ValueError: for an unknown split name, unknown/missing/malformed options, or a fold
      outside 1..5; the message says what is accepted.
  """
  name, _, options_text = spec.strip().partition(":")
  if name not in SPLITS:
    raise ValueError(f"unknown split {name!r} in spec {spec!r}; splits are: "
                     f"{', '.join(SPEC_FORMS)}")
  options = {}
  for option in filter(None, (o.strip() for o in options_text.split(","))):
    key, equals, value = (part.strip() for part in option.partition("="))
    if not equals or not key or not value:
      raise ValueError(f"malformed split spec {spec!r}: options are key=value, e.g. "
                       "'hicmae5:fold=1'")
    if key not in SPLITS[name]:
      accepted = f"only {', '.join(SPLITS[name])}" if SPLITS[name] else "no options"
      raise ValueError(f"split spec {spec!r}: {name} takes {accepted}, got {key!r}")
    if key in options:
      raise ValueError(f"split spec {spec!r}: {key} is given twice")
    try:
      options[key] = int(value)
    except ValueError:
      raise ValueError(f"split spec {spec!r}: {key} must be an integer, got {value!r}") from None
  if name in NUM_FOLDS_OF:
    if "fold" not in options:
      raise ValueError(f"split spec {spec!r}: {name} needs a fold, e.g. '{name}:fold=1'")
    if not 1 <= options["fold"] <= NUM_FOLDS_OF[name]:
      raise ValueError(f"split spec {spec!r}: fold must be 1..{NUM_FOLDS_OF[name]}, "
                       f"got {options['fold']}")
  return name, options


def _fixed_split(name: str, options: dict[str, int]) -> Split:
  """The split over all actors of FIXED_ACTORS[name]."""
  if name == "holdout":
    return dict(HOLDOUT)
  fold = options["fold"]
  if name == "ravdess6":
    test = RAVDESS_FOLDS[fold]
    val = RAVDESS_FOLDS[fold % RAVDESS_NUM_FOLDS + 1][:2]
    train = tuple(a for a in ravdess.ACTORS if a not in test and a not in val)
    return {"train": train, "val": val, "test": test}
  first, last = HICMAE5_TEST_RANGES[fold]
  test = tuple(range(first, last + 1))
  val = HICMAE5_VAL[fold]
  train = tuple(a for a in cremad.ACTORS if a not in test and a not in val)
  return {"train": train, "val": val, "test": test}


def _part_size(num_actors: int, fraction: float) -> int:
  return max(1, int(fraction * num_actors + 0.5))  # Round half up, at least one actor.


def _proportional_split(name: str, options: dict[str, int], actors: tuple[int, ...]) -> Split:
  """The documented fallback rule applied to the (sorted) given actors."""
  num_actors = len(actors)
  if name == "holdout":
    if num_actors < 3:
      raise ValueError(f"split 'holdout' needs at least 3 actors for train/val/test, got "
                       f"{num_actors}: {list(actors)}")
    num_test = _part_size(num_actors, TEST_FRACTION)
    num_val = _part_size(num_actors, VAL_FRACTION)
    num_train = num_actors - num_test - num_val
    return {"train": actors[:num_train], "val": actors[num_train:num_train + num_val],
            "test": actors[num_train + num_val:]}
  num_folds = NUM_FOLDS_OF[name]
  if num_actors < num_folds:
    raise ValueError(f"split {name!r} needs at least {num_folds} actors (one test actor "
                     f"per fold), got {num_actors}: {list(actors)}")
  blocks = np.array_split(np.array(actors), num_folds)
  fold = options["fold"]
  test = tuple(int(a) for a in blocks[fold - 1])
  after = [int(a) for block in blocks[fold:] + blocks[:fold - 1] for a in block]
  val = tuple(sorted(after[:_part_size(num_actors, VAL_FRACTION)]))
  train = tuple(sorted(after[len(val):]))
  return {"train": train, "val": val, "test": test}


def _intersect(split: Split, actors: set[int]) -> Split:
  return {part: tuple(a for a in split[part] if a in actors) for part in PARTS}


def split_actors(spec: str, actors: Iterable[int] | None = None) -> Split:
  """The actors of each part of a split.

  Args:
    spec: e.g. "hicmae5:fold=1" or "holdout" (see the module docstring).
    actors: the actor ids present in the data (any iterable of ints); None means all
      actors the split is written for (91 CREMA-D actors; 24 RAVDESS ones for ravdess6). Parts are then restricted to these ids, falling back to the
      proportional rule of the module docstring when the fixed lists do not fit.

  Returns:
    {"train": ids, "val": ids, "test": ids}, each a sorted tuple; no id is in two parts
    and together they hold every actor.
  """
  name, options = parse_split_spec(spec)
  if actors is None:
    return _fixed_split(name, options)
  given = tuple(sorted({int(a) for a in actors}))
  if not given:
    raise ValueError(f"split {spec!r}: the actor list is empty")
  given_set = set(given)
  if given_set <= set(FIXED_ACTORS[name]):
    specs = ([(name, {"fold": f}) for f in range(1, NUM_FOLDS_OF[name] + 1)]
             if name in NUM_FOLDS_OF else [(name, options)])
    if all(all(_intersect(_fixed_split(n, o), given_set).values()) for n, o in specs):
      return _intersect(_fixed_split(name, options), given_set)
  return _proportional_split(name, options, given)


def split_of_actor(spec: str, actors: Iterable[int] | None = None) -> dict[int, str]:
  """Actor id -> "train" / "val" / "test" for `split_actors(spec, actors)`."""
  return {actor: part for part, ids in split_actors(spec, actors).items() for actor in ids}
