"""Evaluation by modality: the raters' voice, face and audio-visual votes, and a trained AV run."""
import numpy as np
import pytest

from emo_jax.analysis import modalities
from emo_jax.analysis import perturbations
from emo_jax.data import cremad


@pytest.fixture(scope="module")
def real_metadata(cremad_shared_dir):
  return cremad.load_metadata(cremad_shared_dir)


def test_raters_by_modality_match_the_published_figures(real_metadata):
  # CREMA-D's crowd majority is right on 41.6% of clips from the voice, 66.3% from the
  # face and 72.2% from both (ties and missing votes count as wrong). A "model" that is
  # always right shows the raters' figures beside it.
  names = real_metadata.sentence_filenames
  labels = np.array([cremad.parse_clip_name(n).label for n in names])
  perfect = np.eye(6)[labels]
  result = modalities.compare(labels, {c: perfect for c in modalities.CONDITIONS}, 6, names,
                              real_metadata)
  published = {"both": 0.722, "audio_removed": 0.663, "video_removed": 0.416}
  for condition, rate in published.items():
    row = result[condition]
    assert row["accuracy"] == 1.0 and row["uar"] == 1.0
    assert row["majority_vote"]["all_clips"]["human_accuracy_ties_wrong"]["rate"] == pytest.approx(
        rate, abs=5e-4), condition
  lines = "\n".join(modalities.markdown(result))
  for column in ("MultiModalVote", "FaceVote", "VoiceVote"):
    assert column in lines


def test_without_votes_the_raters_are_left_out():
  labels = np.array([0, 1, 1])
  probabilities = np.eye(6)[[0, 1, 2]]
  result = modalities.compare(labels, {"both": probabilities}, 6)
  assert result["both"]["accuracy"] == pytest.approx(2 / 3) and "majority_vote" not in result["both"]
  assert "n/a (no summaryTable.csv)" in "\n".join(modalities.markdown(result))
  assert modalities.condition_of(("video", "audio")) == "both"
  assert modalities.condition_of(("audio",)) == "video_removed"


def test_modality_removal_is_chosen_from_the_model_structure():
  both = {"num_frames": 4, "has_bottleneck": False, "per_frame": True,
          "modalities": ("audio", "video")}
  names = [p.name for p in perturbations.applicable_perturbations(both)]
  assert names[:2] == ["audio_removed", "video_removed"] and "occlude_upper" in names
  audio_only = dict(both, modalities=("audio",))
  assert perturbations.applicable_perturbations(audio_only) == []
  video_only = dict(both, modalities=("video",))
  assert "audio_removed" not in [p.name for p in perturbations.applicable_perturbations(video_only)]
  inputs = perturbations.remove_modality({"frames": np.zeros((3, 2, 4, 4, 1))}, "audio")
  assert not np.asarray(inputs["audio_present"]).any()


def test_trained_audio_visual_run_is_evaluated_by_modality_and_ablated(tiny_data_dir, tmp_path):
  from configs import av_fusion
  from emo_jax import evaluate
  from emo_jax import trainer
  from experiments import ablation
  config = av_fusion.get_config("runlocal,fusion=cross_attention")
  config.data.data_dir = str(tiny_data_dir)
  workdir = tmp_path / "av"
  trainer.train_and_evaluate(config, str(workdir))
  result = evaluate.evaluate_run(str(workdir), out_dir=str(tmp_path / "eval"))
  by_modality = result["by_modality"]
  assert set(by_modality) == {"both", "audio_removed", "video_removed"}
  assert by_modality["both"]["accuracy"] == pytest.approx(result["accuracy"])
  for condition, row in by_modality.items():
    vote = row["majority_vote"]  # The synthetic tree has a summaryTable.csv.
    assert vote["modality"] == modalities.CONDITIONS[condition][1] and vote["num_clips"] == result["num_clips"]
  assert result["raters"]["majority_vote"]["modality"] == "multimodal"
  assert "## By modality" in (tmp_path / "eval" / "report.md").read_text()
  perturbed = ablation.evaluate_perturbations(str(workdir))
  assert {"audio_removed", "video_removed"} <= set(perturbed["perturbations"])
  assert perturbed["structure"]["modalities"] == ("audio", "video")
