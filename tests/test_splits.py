"""Tests for the actor-disjoint splits in emo_jax/data/splits.py."""
import pytest

from emo_jax.data import cremad
from emo_jax.data import splits

SPECS = ("holdout",) + tuple(f"hicmae5:fold={fold}" for fold in range(1, 6))


def _assert_partition(split, actors):
  assert set(split) == set(splits.PARTS)
  for part, ids in split.items():
    assert ids, f"{part} is empty"
    assert list(ids) == sorted(set(ids))
  assert sum(len(ids) for ids in split.values()) == len(set(actors))
  assert set().union(*split.values()) == set(actors)


@pytest.mark.parametrize("spec", SPECS)
def test_parts_are_disjoint_and_cover_all_91_actors(spec):
  _assert_partition(splits.split_actors(spec), cremad.ACTORS)


def test_hicmae5_test_blocks_partition_the_actors():
  tests = [splits.split_actors(f"hicmae5:fold={fold}")["test"] for fold in range(1, 6)]
  assert tests[0] == tuple(range(1001, 1019)) and tests[4] == tuple(range(1073, 1092))
  assert sorted(a for test in tests for a in test) == list(cremad.ACTORS)
  sizes = [len(splits.split_actors(f"hicmae5:fold={fold}")["val"]) for fold in range(1, 6)]
  assert sizes == [14] * 5


def test_hicmae5_validation_follows_the_documented_rule(cremad_shared_dir):
  sex = {actor: d.sex for actor, d in cremad.load_demographics(cremad_shared_dir).items()}
  for fold in range(1, 6):
    first, last = splits.HICMAE5_TEST_RANGES[fold % 5 + 1]
    block = range(first, last + 1)
    males = [a for a in block if sex[a] == "Male"][:7]
    females = [a for a in block if sex[a] == "Female"][:7]
    assert splits.split_actors(f"hicmae5:fold={fold}")["val"] == tuple(sorted(males + females))


def test_holdout_is_63_14_14_and_sex_balanced(cremad_shared_dir):
  sex = {actor: d.sex for actor, d in cremad.load_demographics(cremad_shared_dir).items()}
  split = splits.split_actors("holdout")
  assert {part: len(ids) for part, ids in split.items()} == {"train": 63, "val": 14,
                                                            "test": 14}
  for part in ("val", "test"):
    assert sorted(sex[a] for a in split[part]) == ["Female"] * 7 + ["Male"] * 7


def test_split_of_actor():
  parts = splits.split_of_actor("hicmae5:fold=2")
  assert len(parts) == 91
  assert (parts[1019], parts[1037], parts[1001], parts[1054]) == ("test", "val", "train",
                                                                  "train")


def test_parse_split_spec():
  assert splits.parse_split_spec("hicmae5:fold=3") == ("hicmae5", {"fold": 3})
  assert splits.parse_split_spec(" holdout ") == ("holdout", {})


@pytest.mark.parametrize("spec, message", [
    ("kfold:fold=1", "unknown split 'kfold'.*hicmae5:fold=1..5, holdout"),
    ("hicmae5:fold=0", "fold must be 1..5"),
    ("hicmae5:fold=6", "fold must be 1..5"),
    ("hicmae5", "hicmae5 needs a fold"),
    ("hicmae5:fold", "malformed split spec"),
    ("hicmae5:fold=one", "fold must be an integer"),
    ("hicmae5:fold=1,fold=2", "fold is given twice"),
    ("hicmae5:seed=1", "takes only fold"),
    ("holdout:fold=1", "holdout takes no options"),
])
def test_bad_specs_are_explained(spec, message):
  with pytest.raises(ValueError, match=message):
    splits.split_actors(spec)


def test_a_large_subset_keeps_the_fixed_lists():
  actors = [a for a in cremad.ACTORS if a % 2]
  for spec in SPECS:
    split = splits.split_actors(spec, actors)
    full = splits.split_actors(spec)
    _assert_partition(split, actors)
    assert all(set(split[p]) == set(full[p]) & set(actors) for p in splits.PARTS)


@pytest.mark.parametrize("num_actors", [3, 5, 10, 24])
def test_small_synthetic_actor_sets(num_actors):
  actors = range(1001, 1001 + num_actors)
  for spec in SPECS if num_actors >= 5 else ("holdout",):
    _assert_partition(splits.split_actors(spec, actors), actors)
  if num_actors >= 5:
    tests = [splits.split_actors(f"hicmae5:fold={f}", actors)["test"] for f in range(1, 6)]
    assert sorted(a for test in tests for a in test) == list(actors)


def test_ten_synthetic_actors_match_the_documented_examples():
  actors = range(1001, 1011)
  assert splits.split_actors("holdout", actors) == {
      "train": (1001, 1002, 1003, 1005, 1006, 1007, 1009), "val": (1008,),
      "test": (1004, 1010)}
  assert splits.split_actors("hicmae5:fold=1", actors) == {
      "train": (1005, 1006, 1007, 1008, 1009, 1010), "val": (1003, 1004),
      "test": (1001, 1002)}


def test_ids_outside_cremad_use_the_proportional_rule():
  split = splits.split_actors("holdout", range(1, 21))
  assert split == {"train": tuple(range(1, 15)), "val": (15, 16, 17), "test": (18, 19, 20)}


def test_too_few_actors_is_an_error():
  with pytest.raises(ValueError, match="needs at least 5 actors"):
    splits.split_actors("hicmae5:fold=1", [1001, 1002, 1003])
  with pytest.raises(ValueError, match="needs at least 3 actors"):
    splits.split_actors("holdout", [1001, 1002])
  with pytest.raises(ValueError, match="empty"):
    splits.split_actors("holdout", [])
