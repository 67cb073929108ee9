"""End to end on a tiny trained run: load, evaluate, ablation, predict (emo_jax/evaluate.py, ...)."""
import json

import numpy as np
import pytest

from emo_jax import checkpoints
from emo_jax import evaluate
from emo_jax.input_pipeline import sources as sources_lib
from emo_jax import predict
from emo_jax.data import cremad
from experiments import ablation

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EVALUATION_FILES = ("metrics.json", "report.md", "predictions.npz", "confusion_matrix.png",
                    "reliability_diagram.png", "embeddings_tsne.png", "embeddings_pca.png",
                    "embeddings_tsne_by_actor.png", "embeddings_pca_by_actor.png")


@pytest.fixture(scope="module")
def final_metrics(tiny_trained_workdir):
  return json.loads((tiny_trained_workdir / "final_metrics.json").read_text())


def test_load_round_trip(tiny_trained_workdir, final_metrics):
  run = checkpoints.load(str(tiny_trained_workdir))
  assert run.step == final_metrics["best_step"] and run.class_names == cremad.EMOTIONS
  packed = sources_lib.load_packed_dataset(run.config.data.dataset, run.config.data.data_dir, None)
  assert packed.sources["train"][0]["frames"].shape == run.frames_shape
  frames = np.random.default_rng(0).uniform(size=(2, *run.frames_shape)).astype(np.float32)
  logits, aux = run.model.apply(run.variables, frames, train=False)
  assert logits.shape == (2, 6) and "bottleneck" in aux and np.all(np.isfinite(logits))
  latest = checkpoints.load(str(tiny_trained_workdir), "latest")
  assert latest.step == final_metrics["steps"]
  assert checkpoints.load(str(tiny_trained_workdir), str(latest.step)).step == latest.step
  with pytest.raises(FileNotFoundError, match="saved steps"):
    checkpoints.load(str(tiny_trained_workdir), 999)


def test_evaluate_reproduces_the_trainers_test_metrics_and_writes_everything(
    tiny_trained_workdir, final_metrics, tmp_path):
  out = tmp_path / "evaluation"
  assert evaluate.main(["--workdir", str(tiny_trained_workdir), "--out", str(out)]) == 0
  for name in EVALUATION_FILES:
    assert (out / name).exists(), name
    if name.endswith(".png"):
      assert (out / name).read_bytes()[:8] == PNG_SIGNATURE, name
  metrics = json.loads((out / "metrics.json").read_text())
  assert metrics["num_clips"] == final_metrics["test_num_examples"]
  assert metrics["accuracy"] == pytest.approx(final_metrics["test_accuracy"])
  assert metrics["macro_f1"] == pytest.approx(final_metrics["test_macro_f1"])
  assert metrics["run"]["step"] == final_metrics["best_step"]
  # The synthetic tree's CSVs were found, so every CREMA-D section is there.
  assert set(metrics["breakdowns"]) >= {"actor", "sex", "age_band", "race", "ethnicity", "level"}
  assert metrics["raters"]["majority_vote"]["num_clips"] == metrics["num_clips"]
  report = (out / "report.md").read_text()
  assert "Accuracy by age band" in report and "face-only majority vote" in report
  names = np.load(out / "predictions.npz")["clip_name"]
  assert all(cremad.parse_clip_name(n) for n in names)


def test_ablation_on_the_trained_run(tiny_trained_workdir, final_metrics, tmp_path):
  result = ablation.run_ablation([str(tiny_trained_workdir)], str(tmp_path), noise_stds=(0.2,))
  evaluation = next(iter(result["perturbations"].values()))
  assert list(evaluation["perturbations"]) == [
      "none", "shuffle_time", "half_frames_subsampled", "first_half_frames", "bottleneck_mean",
      "noise_0.2", "occlude_upper", "occlude_lower"]
  assert evaluation["perturbations"]["none"]["accuracy"] == pytest.approx(
      final_metrics["test_accuracy"])
  for name in ("ablation.md", "ablation.json", "runs.png", "perturbations.png"):
    assert (tmp_path / name).exists(), name
  assert "bottleneck code replaced by its training mean" in (tmp_path / "ablation.md").read_text()


def test_predict_video_on_a_synthetic_clip(tiny_trained_workdir, tiny_data_dir, capsys):
  video = next((tiny_data_dir / "downloads").glob("synthetic_cremad*/VideoFlash/*.flv"))
  run = checkpoints.load(str(tiny_trained_workdir))
  result = predict.predict_video(video, run)
  assert result["probabilities"].shape == (6,)
  assert result["probabilities"].sum() == pytest.approx(1.0, abs=1e-5)
  assert result["class_name"] == cremad.EMOTIONS[result["label"]]
  assert 0.0 <= result["face_found_ratio"] <= 1.0
  assert predict.main([str(video), "--workdir", str(tiny_trained_workdir)]) == 0
  assert result["class_name"] in capsys.readouterr().out
