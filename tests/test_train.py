"""The training loop end to end on the tiny synthetic set: resume, devices, preemption, bad input."""
import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from configs import ae_lstm
from emo_jax import config_checks
from emo_jax import trainer
from tests import helpers

REPO_ROOT = helpers.REPO_ROOT


def tiny_config(data_dir, **overrides):
  config = ae_lstm.get_config("runlocal")
  config.data.data_dir = str(data_dir)
  for key, value in overrides.items():
    helpers.set_nested(config, key, value)
  return config


def test_train_and_evaluate_returns_metrics_and_writes_its_files(tiny_data_dir, tmp_path):
  final = trainer.train_and_evaluate(tiny_config(tiny_data_dir), str(tmp_path))
  assert final["steps"] == 2 and not final["interrupted"]
  assert 0.0 <= final["test_accuracy"] <= 1.0
  assert final["test_num_examples"] > 0
  for name in ("metrics.jsonl", "config.json", "final_metrics.json", "training_curves.png"):
    assert (tmp_path / name).exists(), name
  records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert {r["split"] for r in records} == {"train", "val", "test"}
  train_record = next(r for r in records if r["split"] == "train")
  for key in ("loss", "grad_norm", "param_norm", "update_norm", "reconstruction_loss"):
    assert np.isfinite(train_record[key]), key
  assert (tmp_path / "checkpoints" / "latest").is_dir() and (tmp_path / "checkpoints" / "best").is_dir()


def test_same_seed_gives_identical_metrics(tiny_data_dir, tmp_path):
  first = trainer.train_and_evaluate(tiny_config(tiny_data_dir), str(tmp_path / "a"))
  second = trainer.train_and_evaluate(tiny_config(tiny_data_dir), str(tmp_path / "b"))
  keys = [k for k in first if k.startswith(("test_", "val_")) and k != "wall_time_seconds"]
  assert {k: first[k] for k in keys} == {k: second[k] for k in keys}


def train_losses(workdir):
  records = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
  return [r["loss"] for r in records if r["split"] == "train"]


def test_one_and_eight_devices_give_the_same_loss_trajectory(tiny_data_dir, tmp_path):
  assert jax.device_count() == 8
  overrides = {"train.num_steps": 3, "data.batch_size": 8, "data.eval_batch_size": 8}
  trainer.train_and_evaluate(tiny_config(tiny_data_dir, num_devices=1, **overrides), str(tmp_path / "one"))
  trainer.train_and_evaluate(tiny_config(tiny_data_dir, num_devices=8, **overrides), str(tmp_path / "eight"))
  one, eight = train_losses(tmp_path / "one"), train_losses(tmp_path / "eight")
  assert len(one) == 3
  np.testing.assert_allclose(one, eight, rtol=2e-4, atol=2e-5)


def test_rerun_resumes_from_the_latest_checkpoint(tiny_data_dir, tmp_path):
  trainer.train_and_evaluate(tiny_config(tiny_data_dir, **{"train.num_steps": 2}), str(tmp_path))
  final = trainer.train_and_evaluate(tiny_config(tiny_data_dir, **{"train.num_steps": 4}), str(tmp_path))
  assert final["steps"] == 4
  steps = [r["step"] for r in map(json.loads, open(tmp_path / "metrics.jsonl")) if r["split"] == "train"]
  assert steps == [1, 2, 3, 4]  # steps 1-2 from the first run, 3-4 after resuming


def test_non_finite_loss_stops_naming_the_step_and_keeps_the_checkpoint(tiny_data_dir, tmp_path):
  config = tiny_config(tiny_data_dir, **{"train.num_steps": 4, "optimizer.learning_rate": float("inf"),
                                         "optimizer.grad_clip_norm": 0.0, "optimizer.warmup_steps": 0})
  # Checkpoint after step 1 (the last finite one); the update of step 1 makes step 2 NaN.
  config.train.checkpoint_every_epochs = 1e-9
  with pytest.raises(trainer.NonFiniteLossError, match=r"at step 2.*step 1"):
    trainer.train_and_evaluate(config, str(tmp_path))
  assert (tmp_path / "checkpoints" / "latest" / "1").is_dir()


@pytest.mark.parametrize("overrides, message", [
    ({"data.batch_size": 12}, "not divisible by the 8 devices"),
    ({"data.batch_size": 0}, "batch_size=0 must be positive"),
    ({"data.split": "hicmae5:fold=7"}, "fold"),
    ({"train.num_steps": -1, "train.num_epochs": 0.0}, "training has no length"),
    ({"loss.class_weights": "inverse"}, "class_weights"),
])
def test_impossible_values_fail_before_compute(tiny_data_dir, tmp_path, overrides, message):
  with pytest.raises(ValueError, match=message):
    trainer.train_and_evaluate(tiny_config(tiny_data_dir, **overrides), str(tmp_path))


def test_unbuilt_dataset_says_how_to_build_it(tmp_path):
  config = tiny_config(tmp_path / "empty_data_dir", **{"data.build_if_missing": False})
  with pytest.raises(FileNotFoundError, match="python -m tfds_cremad.build"):
    trainer.train_and_evaluate(config, str(tmp_path / "workdir"))


def test_workdir_with_an_incompatible_config_is_refused(tiny_data_dir, tmp_path):
  trainer.train_and_evaluate(tiny_config(tiny_data_dir), str(tmp_path))
  config = tiny_config(tiny_data_dir, **{"model.temporal.hidden_size": 16})
  with pytest.raises(config_checks.ConfigError, match="model.temporal.hidden_size"):
    trainer.train_and_evaluate(config, str(tmp_path))


def run_train(args, env_extra=None, **kwargs):
  env = dict(os.environ, JAX_PLATFORMS="cpu", **(env_extra or {}))
  return subprocess.Popen([sys.executable, "-m", "emo_jax.train", *args], cwd=REPO_ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def test_unknown_key_and_wrong_type_fail_at_the_command_line(tmp_path):
  for flag, message in (("--config.optimiser.learning_rate=0.1", "optimiser"),
                        ("--config.data.batch_size=eight", "batch_size")):
    process = run_train(["--config=configs/ae_lstm.py:runlocal", f"--workdir={tmp_path}", flag])
    output, _ = process.communicate(timeout=120)
    assert process.returncode != 0
    assert message in output, output[-2000:]


def final_params(workdir):
  from emo_jax import checkpoints
  loaded = checkpoints.load(str(workdir), which="latest")
  return jax.tree.leaves(jax.device_get(loaded.variables))


def test_sigkill_then_rerun_ends_with_the_same_parameters(tiny_data_dir, tmp_path):
  args = ["--config=configs/ae_lstm.py:runlocal", f"--config.data.data_dir={tiny_data_dir}",
          "--config.train.num_steps=8", "--config.train.checkpoint_every_epochs=0.000001",
          "--config.train.eval_every_epochs=1000"]
  reference = run_train(args + [f"--workdir={tmp_path / 'reference'}"])
  output, _ = reference.communicate(timeout=300)
  assert reference.returncode == 0, output[-3000:]

  killed_dir = tmp_path / "killed"
  victim = run_train(args + [f"--workdir={killed_dir}"])
  deadline = time.time() + 300
  latest = killed_dir / "checkpoints" / "latest"
  # Kill once a checkpoint past step 3 is committed (Orbax renames the tmp dir on commit).
  while time.time() < deadline and victim.poll() is None:
    if latest.is_dir() and any(p.name.isdigit() and int(p.name) >= 3 for p in latest.iterdir()):
      break
    time.sleep(0.2)
  assert victim.poll() is None, "the run finished before it could be killed; make it longer"
  victim.send_signal(signal.SIGKILL)
  victim.communicate()
  resumed = run_train(args + [f"--workdir={killed_dir}"])
  output, _ = resumed.communicate(timeout=300)
  assert resumed.returncode == 0, output[-3000:]
  assert "Resuming from the checkpoint" in output
  for a, b in zip(final_params(tmp_path / "reference"), final_params(killed_dir), strict=True):
    np.testing.assert_array_equal(a, b)


def test_sigterm_saves_and_exits_cleanly(tiny_data_dir, tmp_path):
  args = ["--config=configs/ae_lstm.py:runlocal", f"--config.data.data_dir={tiny_data_dir}",
          "--config.train.num_steps=100000", "--config.train.checkpoint_every_epochs=1000",
          f"--workdir={tmp_path}"]
  process = run_train(args)
  deadline = time.time() + 300
  while time.time() < deadline and not (tmp_path / "metrics.jsonl").exists():
    time.sleep(0.2)
  process.send_signal(signal.SIGTERM)
  output, _ = process.communicate(timeout=120)
  assert process.returncode == 0, output[-3000:]
  assert '"interrupted": true' in output
  saved = [int(p.name) for p in (tmp_path / "checkpoints" / "latest").iterdir() if p.name.isdigit()]
  assert saved and max(saved) >= 1
