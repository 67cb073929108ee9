"""experiments/crossval_modalities.py on fold dirs whose evaluations the real writer made."""
import json

import numpy as np
import pytest

from emo_jax import evaluate
from emo_jax.analysis import dataset_metadata
from emo_jax.data import cremad
from experiments import crossval
from experiments import crossval_modalities

CLASSES = tuple(cremad.EMOTIONS)


def _predictions(labels, num_right):
  """One-hot predictions, right on the first `num_right` clips and wrong on the rest."""
  predicted = np.where(np.arange(labels.size) < num_right, labels, (labels + 1) % len(CLASSES))
  return np.eye(len(CLASSES))[predicted]


def _write_fold(root, fold, right, labels, clip_metadata=None, by_condition_right=None):
  """A finished fold: final_metrics.json and the test evaluation `emo_jax.evaluate` writes."""
  workdir = root / f"fold_{fold}"
  workdir.mkdir(parents=True)
  (workdir / crossval.FINAL_METRICS_FILE).write_text(json.dumps({"test_accuracy": 0.0}))
  by_condition = None
  rater_modality = {"audio": "voice", "video": "face"}.get(root.name, "multimodal")
  if by_condition_right:
    by_condition = {c: _predictions(labels, n) for c, n in by_condition_right.items()}
  evaluate.write_evaluation(str(workdir / crossval_modalities.EVALUATION_SUBDIR), labels,
                            _predictions(labels, right), CLASSES, clip_metadata=clip_metadata,
                            rater_modality=rater_modality, probabilities_by_condition=by_condition)


def test_three_runs_by_fold_with_their_spread_and_the_target(tmp_path, capsys):
  labels = np.arange(20) % len(CLASSES)
  roots = {run: tmp_path / run for run in ("audio", "video", "audio_visual")}
  for fold, (audio, video, av, av_no_audio, av_no_video) in {
      1: (10, 14, 18, 12, 9), 2: (12, 16, 19, 13, 10)}.items():
    _write_fold(roots["audio"], fold, audio, labels)
    _write_fold(roots["video"], fold, video, labels)
    _write_fold(roots["audio_visual"], fold, av, labels, by_condition_right={
        "both": av, "audio_removed": av_no_audio, "video_removed": av_no_video})
  (roots["video"] / "fold_3").mkdir()  # Trained partly: no final_metrics.json.

  result = crossval_modalities.collect({k: str(v) for k, v in roots.items()}, (1, 2, 3))
  assert result["folds"][1] == pytest.approx({"audio": 0.5, "video": 0.7, "audio_visual": 0.9,
                                              "av_audio_removed": 0.6, "av_video_removed": 0.45})
  assert result["missing"] == {"audio": [3], "video": [3], "audio_visual": [3]}
  summary = result["summary"]
  assert summary["video"]["mean"] == pytest.approx(0.75)
  assert summary["video"]["std"] == pytest.approx(np.std([0.7, 0.8], ddof=1))
  assert summary["voice"]["num_folds"] == 0  # No summaryTable.csv: no raters.
  goal = result["target"]
  assert goal["better_single"] == "video" and goal["margin"] == pytest.approx(0.175)
  assert goal["spread"] == pytest.approx(np.std([0.7, 0.8], ddof=1)) and goal["met"]
  assert goal["paired_difference"]["mean"] == pytest.approx(0.175)

  out = tmp_path / "out"
  assert crossval_modalities.main([f"--{run}={root}" for run, root in roots.items()]
                                  + ["--folds=1,2,3", f"--out={out}"]) == 0
  markdown = (out / "by_modality.md").read_text()
  assert "| 1 | 50.0 | 70.0 | 90.0 | 60.0 | 45.0 | n/a | n/a | n/a |" in markdown
  assert "**75.0 ± 7.1**" in markdown and "target met" in markdown
  assert "Missing (video, no final_metrics.json): folds 3" in markdown
  assert json.loads((out / "by_modality.json").read_text())["folds"]["2"]["audio"] == 0.6
  assert "Wrote" in capsys.readouterr().out


def test_the_raters_columns_are_the_votes_on_the_same_clips(tmp_path, cremad_shared_dir):
  # Every CREMA-D clip, always predicted right: the raters' columns are CREMA-D's published
  # majority-vote accuracies (41.6% voice, 66.3% face, 72.2% both; ties count as wrong).
  metadata = cremad.load_metadata(cremad_shared_dir)
  names = np.array(metadata.sentence_filenames)
  labels = np.array([cremad.parse_clip_name(n).label for n in names])
  clips = dataset_metadata.ClipMetadata(names, metadata)
  n = labels.size
  _write_fold(tmp_path / "audio", 1, n, labels, clips)
  _write_fold(tmp_path / "audio_visual", 1, n, labels, clips,
              by_condition_right={"both": n, "audio_removed": n, "video_removed": n})
  result = crossval_modalities.collect(
      {"audio": str(tmp_path / "audio"), "audio_visual": str(tmp_path / "audio_visual")}, (1,))
  row = result["folds"][1]
  assert row["audio"] == row["audio_visual"] == 1.0
  assert row["voice"] == pytest.approx(0.416, abs=5e-4)
  assert row["face"] == pytest.approx(0.663, abs=5e-4)
  assert row["multimodal"] == pytest.approx(0.722, abs=5e-4)
  assert result["target"] is None  # One fold: no spread.
