"""Tests of experiments/crossval.py (aggregation on fake fold dirs) and ablation's run comparison."""
import json
import os
import sys

import pytest

from experiments import ablation
from experiments import crossval


def _write_fold(root, fold, accuracy, uar, f1):
  workdir = root / f"fold_{fold}"
  workdir.mkdir(parents=True)
  (workdir / "final_metrics.json").write_text(json.dumps({
      "test_accuracy": accuracy, "test_balanced_accuracy": uar, "test_macro_f1": f1,
      "best_step": 10 * fold, "steps": 100}))


def test_crossval_aggregation_on_fake_fold_dirs(tmp_path):
  values = {1: (0.5, 0.4, 0.3), 2: (0.7, 0.6, 0.5), 4: (0.6, 0.5, 0.4)}
  for fold, metrics in values.items():
    _write_fold(tmp_path, fold, *metrics)
  result = crossval.write_summary(str(tmp_path))
  assert result["missing_folds"] == [3, 5]
  assert sorted(result["folds"]) == [1, 2, 4]
  accuracy = result["summary"]["test_accuracy"]
  assert accuracy["mean"] == pytest.approx(0.6) and accuracy["num_folds"] == 3
  assert accuracy["std"] == pytest.approx(0.1)  # Sample std of 0.5, 0.7, 0.6.
  assert result["summary"]["test_macro_f1"]["mean"] == pytest.approx(0.4)
  saved = json.loads((tmp_path / "crossval.json").read_text())
  assert saved["folds"]["2"]["test_accuracy"] == 0.7 and saved["missing_folds"] == [3, 5]
  markdown = (tmp_path / "crossval.md").read_text()
  assert "| 2 | 70.00 | 60.00 | 50.00 | 20 |" in markdown
  assert "**60.00 ± 10.00**" in markdown and "Missing folds" in markdown


def test_crossval_single_fold_has_no_std():
  result = crossval.aggregate({1: {"test_accuracy": 0.5, "test_balanced_accuracy": 0.5,
                                   "test_macro_f1": 0.5}, 2: None})
  assert result["summary"]["test_accuracy"] == {"mean": 0.5, "std": None, "num_folds": 1}


def test_crossval_commands_and_fold_parsing(tmp_path, capsys):
  command = crossval.fold_command("configs/ae_lstm.py:synthetic", "/r", 3, ["--config.seed=1"])
  assert command == [sys.executable, "-m", "emo_jax.train", "--config=configs/ae_lstm.py:synthetic",
                     "--config.data.split=hicmae5:fold=3", "--workdir=/r/fold_3", "--config.seed=1"]
  assert crossval.parse_folds("1, 5") == (1, 5)
  with pytest.raises(ValueError, match="numbered 1..5"):
    crossval.parse_folds("0,6")
  assert crossval.main(["--config=configs/x.py", f"--workdir={tmp_path}", "--folds=2,4",
                        "--dry_run", "--", "--config.train.num_steps=3"]) == 0
  printed = capsys.readouterr().out.splitlines()
  assert len(printed) == 2 and printed[0].startswith("[fold 2] ")
  assert printed[1].endswith(f"--workdir={os.path.join(tmp_path, 'fold_4')} --config.train.num_steps=3")


def test_crossval_aggregate_only(tmp_path):
  _write_fold(tmp_path, 1, 0.5, 0.5, 0.5)
  assert crossval.main([f"--workdir={tmp_path}", "--aggregate_only"]) == 0
  assert (tmp_path / "crossval.md").exists()


def test_crossval_trains_and_tests_each_fold_end_to_end(tmp_path):
  """Two folds of the real protocol on 10 synthetic actors: built, trained, tested, summarised."""
  root, data_dir = tmp_path / "cv", tmp_path / "tfds"
  assert crossval.main(["--config=configs/ae_lstm.py:runlocal", f"--workdir={root}", "--folds=1,5",
                        "--", "--config.data.dataset=cremad/synthetic_tiny10",
                        f"--config.data.data_dir={data_dir}"]) == 0
  summary = json.loads((root / "crossval.json").read_text())
  assert sorted(summary["folds"]) == ["1", "5"] and summary["missing_folds"] == []
  for fold in (1, 5):
    final = json.loads((root / f"fold_{fold}" / "final_metrics.json").read_text())
    assert final["test_num_examples"] == 12  # 2 of the 10 actors x 6 clips: fold K's block.
    config = json.loads((root / f"fold_{fold}" / "config.json").read_text())
    assert config["data"]["split"] == f"hicmae5:fold={fold}"
  assert summary["summary"]["test_accuracy"]["num_folds"] == 2


def test_config_differences_only_lists_keys_that_differ():
  configs = {
      "a": {"model": {"bottleneck": {"dim": 64}, "head": {"dropout": 0.3}}, "seed": 0,
            "wandb": {"name": "a"}, "data": {"augment": [1, 2]}},
      "b": {"model": {"bottleneck": None, "head": {"dropout": 0.3}}, "seed": 0,
            "wandb": {"name": "b"}, "data": {"augment": [1, 2]}, "extra": 1},
  }
  differences = ablation.config_differences(configs)
  assert differences == {"extra": {"a": "(absent)", "b": 1},
                         "model.bottleneck": {"a": "(absent)", "b": None},
                         "model.bottleneck.dim": {"a": 64, "b": "(absent)"}}
  assert ablation.flatten({"x": {"y": [1, 2]}}) == {"x.y": (1, 2)}


def test_run_names_are_unique():
  assert ablation.run_names(["/w/ae", "/w/cnn/"]) == ["ae", "cnn"]
  assert ablation.run_names(["/a/run", "/b/run"]) == ["/a/run", "/b/run"]


def test_ablation_comparison_without_perturbations(tmp_path):
  workdirs = []
  for name, dim in (("ae", 64), ("ae_small", 16)):
    workdir = tmp_path / name
    workdir.mkdir()
    (workdir / "config.json").write_text(json.dumps({"model": {"bottleneck": {"dim": dim}}, "seed": 0}))
    (workdir / "final_metrics.json").write_text(json.dumps({"test_accuracy": dim / 100}))
    workdirs.append(str(workdir))
  out = tmp_path / "out"
  result = ablation.run_ablation(workdirs, str(out), perturb=False)
  assert result["config_differences"] == {"model.bottleneck.dim": {"ae": 64, "ae_small": 16}}
  markdown = (out / "ablation.md").read_text()
  assert "| model.bottleneck.dim | 64 | 16 |" in markdown
  assert "| test_accuracy | 0.64 | 0.16 |" in markdown
  with open(out / "runs.png", "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
