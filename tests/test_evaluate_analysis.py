"""Tests of the evaluation analyses on hand-made predictions (no model): emo_jax/analysis, evaluate.py."""
import json
import math

import numpy as np
import pytest

from emo_jax import evaluate
from emo_jax.analysis import dataset_metadata
from emo_jax.analysis import groups
from emo_jax.analysis import human
from emo_jax.analysis import plots
from emo_jax.data import cremad

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
  with open(path, "rb") as f:
    assert f.read(8) == PNG_SIGNATURE, path


# ------------------------------------------------------------------ Wilson and group accuracy


def test_wilson_interval_hand_computed():
  # 8/10: p = 0.8, z^2 = 3.8415; centre (0.8 + 0.19207) / 1.38415 = 0.71674,
  # half width 1.96 * sqrt(0.016 + 0.0096037) / 1.38415 = 0.22659.
  low, high = groups.wilson_interval(8, 10)
  assert low == pytest.approx(0.49016, abs=1e-4) and high == pytest.approx(0.94333, abs=1e-4)
  # 0/5: the interval starts at 0 and its top is z^2/n / (1 + z^2/n) = 0.43448.
  low, high = groups.wilson_interval(0, 5)
  assert low == 0.0 and high == pytest.approx(0.43448, abs=1e-4)
  low, high = groups.wilson_interval(5, 5)
  assert high == 1.0 and low == pytest.approx(1 - 0.43448, abs=1e-4)
  assert all(math.isnan(x) for x in groups.wilson_interval(0, 0))
  with pytest.raises(ValueError, match="successes <= trials"):
    groups.wilson_interval(3, 2)


def test_group_accuracy_on_hand_made_predictions():
  correct = [True, False, True, True, False, False]
  group = ["b", "a", "b", "a", "c", "c"]
  rows = groups.group_accuracy(correct, group)
  assert [(r.group, r.num_clips, r.num_correct, r.accuracy) for r in rows] == [
      ("a", 2, 1, 0.5), ("b", 2, 2, 1.0), ("c", 2, 0, 0.0)]
  assert (rows[0].ci_low, rows[0].ci_high) == groups.wilson_interval(1, 2)
  ordered = groups.group_accuracy(correct, group, order=["c", "x", "a", "b"])
  assert [r.group for r in ordered] == ["c", "a", "b"]


def test_group_interval_resamples_actors_not_clips():
  """Six actors, 40 clips each: three always right, three always wrong. Counted as 240
  independent clips, 50% is known to a few points; but the next six actors could well
  be mostly readable or mostly not, and only resampling actors says so."""
  actors = np.repeat(np.arange(1001, 1007), 40)
  correct = np.isin(actors, (1001, 1002, 1003))
  clip_low, clip_high = groups.cluster_bootstrap_interval(correct, np.arange(correct.size))
  actor_low, actor_high = groups.cluster_bootstrap_interval(correct, actors)
  assert clip_high - clip_low < 0.15
  assert actor_high - actor_low > 3 * (clip_high - clip_low)
  assert actor_low < 0.25 and actor_high > 0.75

  (row,) = groups.group_accuracy(correct, ["Female"] * correct.size, actors=actors)
  assert (row.accuracy, row.num_actors, row.ci_method) == (0.5, 6, "actor bootstrap")
  assert (row.ci_low, row.ci_high) == (actor_low, actor_high)
  wilson_low, wilson_high = groups.wilson_interval(120, 240)
  assert row.ci_high - row.ci_low > 3 * (wilson_high - wilson_low)
  # One actor: nothing to resample, so the row keeps the Wilson interval over its clips.
  one_actor = groups.group_accuracy(correct[:40], ["1001"] * 40, actors=actors[:40])[0]
  assert (one_actor.ci_method, one_actor.num_actors) == ("Wilson", 1)
  assert (one_actor.ci_low, one_actor.ci_high) == groups.wilson_interval(40, 40)


def test_actor_bootstrap_is_close_to_the_clip_interval_when_actors_are_alike():
  rng = np.random.default_rng(0)
  actors = np.repeat(np.arange(20), 30)
  correct = rng.random(actors.size) < 0.7
  clip_low, clip_high = groups.cluster_bootstrap_interval(correct, np.arange(correct.size))
  actor_low, actor_high = groups.cluster_bootstrap_interval(correct, actors)
  assert actor_high - actor_low == pytest.approx(clip_high - clip_low, rel=0.35)


def test_age_band():
  assert [groups.age_band(a) for a in (20, 29, 30, 74)] == ["20-29", "20-29", "30-39", "70-79"]


def _demographics():
  return {1001: cremad.Demographics(51, "Male", "Caucasian", "Not Hispanic"),
          1002: cremad.Demographics(21, "Female", "Asian", "Hispanic")}


def test_cremad_breakdowns():
  names = ["1001_IEO_ANG_HI", "1001_DFA_SAD_XX", "1002_IEO_ANG_LO", "1002_IEO_HAP_HI",
           "1003_TIE_NEU_XX"]
  correct = [True, False, True, True, False]
  result = groups.cremad_breakdowns(correct, names, _demographics())
  def summary(key):
    return {r.group: (r.num_correct, r.num_clips) for r in result[key]}
  assert summary("actor") == {"1001": (1, 2), "1002": (2, 2), "1003": (0, 1)}
  assert summary("sex") == {"Female": (2, 2), "Male": (1, 2), "unknown": (0, 1)}
  assert summary("age_band") == {"20-29": (2, 2), "50-59": (1, 2), "unknown": (0, 1)}
  assert summary("ethnicity") == {"Hispanic": (2, 2), "Not Hispanic": (1, 2), "unknown": (0, 1)}
  assert [r.group for r in result["level"]] == ["LO", "HI", "XX"]  # LEVELS order.
  assert summary("level") == {"LO": (1, 1), "HI": (2, 2), "XX": (0, 2)}
  assert summary("emotion") == {"ANG": (2, 2), "HAP": (1, 1), "NEU": (0, 1), "SAD": (0, 1)}
  # Groups of several actors resample actors; single actors keep Wilson.
  methods = {r.group: (r.num_actors, r.ci_method) for r in result["level"]}
  assert methods == {"LO": (1, "Wilson"), "HI": (2, "actor bootstrap"),
                     "XX": (2, "actor bootstrap")}
  assert all(r.ci_method == "Wilson" for r in result["actor"])


# ------------------------------------------------------------------ comparison with raters


@pytest.fixture(scope="module")
def real_metadata(cremad_shared_dir):
  return cremad.load_metadata(cremad_shared_dir)


def test_majority_vote_comparison_on_real_summary_rows(real_metadata):
  # summaryTable.csv FaceVote: NEU_XX N, HAP_LO H, SAD_HI "A:F" (tie), ANG_LO D,
  # FEA_LO "F:N" (tie), ANG_HI A. 1092_* is not in the table.
  names = ["1001_IEO_NEU_XX", "1001_IEO_HAP_LO", "1001_IEO_SAD_HI", "1001_IEO_ANG_LO",
           "1001_IEO_FEA_LO", "1001_IEO_ANG_HI", "1092_DFA_ANG_XX"]
  labels = [cremad.parse_clip_name(n).label for n in names]
  predictions = [4, 4, 5, 1, 2, 3, 0]  # N, N, S, D, F, H, A
  result = human.compare_majority_vote(labels, predictions, names, real_metadata)
  assert (result["num_clips"], result["num_in_table"], result["num_ties"],
          result["num_voted"]) == (7, 6, 2, 4)
  voted = {k: (v["count"], v["of"]) for k, v in result["on_voted_clips"].items()}
  assert voted == {"model_accuracy": (1, 4), "human_accuracy": (3, 4), "agreement": (2, 4),
                   "both_correct": (1, 4), "model_only_correct": (0, 4),
                   "human_only_correct": (2, 4), "both_wrong": (1, 4)}
  overall = result["all_clips"]
  assert (overall["model_accuracy"]["count"], overall["model_accuracy"]["of"]) == (4, 7)
  assert overall["human_accuracy_ties_wrong"]["count"] == 3
  assert result["on_voted_clips"]["human_accuracy"]["ci_low"] == pytest.approx(
      groups.wilson_interval(3, 4)[0])


def test_face_majority_accuracy_of_all_clips_matches_published_figure(real_metadata):
  # shared/data/README.md: the face-only majority matches the intended emotion on 66.3%
  # of clips (strict: ties count as wrong).
  names = real_metadata.sentence_filenames
  labels = [cremad.parse_clip_name(n).label for n in names]
  result = human.compare_majority_vote(labels, labels, names, real_metadata)
  assert result["all_clips"]["human_accuracy_ties_wrong"]["rate"] == pytest.approx(0.663, abs=5e-4)
  assert result["on_voted_clips"]["model_accuracy"]["rate"] == 1.0


def test_vote_distribution_comparison_on_real_face_votes(real_metadata):
  # tabulatedVotes.csv face-only rows (2000xx): NEU [1,0,0,0,9,0], ANG [5,2,0,0,3,0],
  # FEA [1,3,2,0,2,1] (most voted: D).
  names = ["1001_DFA_NEU_XX", "1001_DFA_ANG_XX", "1001_DFA_FEA_XX"]
  labels = [4, 0, 2]
  p = np.array([np.eye(6)[4], np.full(6, 1 / 6), np.eye(6)[2]])
  result = human.compare_vote_distribution(labels, p, names, real_metadata)
  assert result["num_clips"] == 3
  assert result["mean_vote_match"] == pytest.approx((0.9 + 1 / 6 + 2 / 9) / 3)
  assert result["mean_total_variation"] == pytest.approx((0.1 + 0.5 + 7 / 9) / 3)
  assert result["top1_match_plurality"] == pytest.approx(2 / 3)
  assert result["crowd_plurality_accuracy_ties_wrong"] == pytest.approx(2 / 3)
  one = human.compare_vote_distribution([0], p[1:2], names[1:2], real_metadata)
  expected_kl = 0.5 * math.log(3) + 0.2 * math.log(1.2) + 0.3 * math.log(1.8)
  assert one["mean_kl_crowd_to_model"] == pytest.approx(expected_kl)


# ------------------------------------------------------------------ plots and write_evaluation


def _fake_predictions(num_clips=18, num_classes=6, seed=0):
  rng = np.random.default_rng(seed)
  labels = np.arange(num_clips) % num_classes
  logits = rng.normal(size=(num_clips, num_classes)) + 2 * np.eye(num_classes)[labels]
  probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
  embeddings = rng.normal(size=(num_clips, 5)).astype(np.float32)
  return labels, probabilities, embeddings


def test_reliability_bins_match_ece():
  labels, probabilities, _ = _fake_predictions()
  bins = plots.reliability_bins(probabilities, labels, 15)
  filled = bins["count"] > 0
  ece = np.sum(bins["count"][filled] / len(labels)
               * np.abs(bins["accuracy"][filled] - bins["confidence"][filled]))
  from emo_jax import metrics
  assert ece == pytest.approx(metrics.expected_calibration_error(probabilities, labels, 15))


@pytest.mark.parametrize("num_points", [1, 2, 3, 7])
def test_projection_handles_tiny_sets(num_points):
  x = np.random.default_rng(0).normal(size=(num_points, 4))
  for method in plots.EMBEDDING_METHODS:
    assert plots.project_embeddings(x, method).shape == (num_points, 2)


def test_write_evaluation_cremad(tmp_path):
  labels, probabilities, embeddings = _fake_predictions()
  names = np.array([f"{1001 + i % 3}_{cremad.SENTENCES[i // 6]}_{cremad.EMOTIONS[label]}_XX"
                    for i, label in enumerate(labels)])
  metadata = cremad.CremadMetadata(
      demographics=_demographics(), votes={}, votes_by_modality={
          "face": {names[0]: cremad.Votes(np.array([9, 1, 0, 0, 0, 0]), 10, 0.9)}},
      human_votes={names[0]: cremad.HumanVotes(face=0, voice=0, multimodal=0),
                   names[1]: cremad.HumanVotes(face=-1, voice=0, multimodal=0)},
      sentence_filenames=[])
  clip_metadata = dataset_metadata.ClipMetadata(names, metadata, ("Metadata read from test.",))
  result = evaluate.write_evaluation(str(tmp_path), labels, probabilities, cremad.EMOTIONS,
                                     embeddings=embeddings, clip_metadata=clip_metadata,
                                     record_indices=np.arange(len(labels)),
                                     run_info={"step": 3}, extra_metrics={"loss": 1.5})
  for name in ("confusion_matrix", "reliability_diagram", "embeddings_tsne", "embeddings_pca",
               "embeddings_tsne_by_actor", "embeddings_pca_by_actor"):
    assert_png(tmp_path / f"{name}.png")
  saved = json.loads((tmp_path / "metrics.json").read_text())
  assert saved == result
  assert saved["num_clips"] == len(labels) and saved["class_names"] == list(cremad.EMOTIONS)
  assert np.array(saved["confusion_matrix"]).sum() == len(labels)
  assert saved["accuracy"] == pytest.approx(np.mean(probabilities.argmax(1) == labels))
  assert len(saved["per_class_f1"]) == 6 and saved["loss"] == 1.5
  assert [row["group"] for row in saved["breakdowns"]["actor"]] == ["1001", "1002", "1003"]
  assert saved["raters"]["majority_vote"]["num_voted"] == 1
  assert saved["raters"]["vote_distribution"]["num_clips"] == 1
  report = (tmp_path / "report.md").read_text()
  for text in ("| class | precision | recall | F1 | support |", "Accuracy per actor",
               "Accuracy by age band", "| 95% CI | CI from |", "face-only majority vote",
               "ties and missing votes count as wrong", "embeddings_pca_by_actor.png"):
    assert text in report, text
  saved_arrays = np.load(tmp_path / "predictions.npz")
  assert list(saved_arrays["clip_name"]) == list(names)


def test_write_evaluation_without_cremad_metadata_says_why(tmp_path):
  labels, probabilities, embeddings = _fake_predictions(num_classes=7, num_clips=14)
  clip_metadata = dataset_metadata.ClipMetadata(None, None, (dataset_metadata.FER2013_SKIP_REASON,))
  names = tuple(f"class{i}" for i in range(7))
  result = evaluate.write_evaluation(str(tmp_path), labels, probabilities, names,
                                     embeddings=embeddings, clip_metadata=clip_metadata)
  assert "breakdowns" not in result and "raters" not in result
  assert dataset_metadata.FER2013_SKIP_REASON in (tmp_path / "report.md").read_text()
  assert_png(tmp_path / "embeddings_tsne.png")
  assert not (tmp_path / "embeddings_tsne_by_actor.png").exists()


def test_clip_names_for_records_checks_labels():
  index = {"actor": np.array([1001, 1002, 1001]), "label": np.array([0, 3, 5]),
           "clip_name": np.array(["1001_DFA_ANG_XX", "1002_DFA_HAP_XX", "1001_DFA_SAD_XX"])}
  names = dataset_metadata.clip_names_for_records(index, np.array([2, 0]), np.array([5, 0]))
  assert list(names) == ["1001_DFA_SAD_XX", "1001_DFA_ANG_XX"]
  with pytest.raises(ValueError, match="disagree with record_index.json"):
    dataset_metadata.clip_names_for_records(index, np.array([2, 0]), np.array([5, 1]))
  with pytest.raises(ValueError, match="fall outside"):
    dataset_metadata.clip_names_for_records(index, np.array([3]), None)
