"""The training loop end to end on the tiny synthetic set: resume, devices, preemption, bad input."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import ae_lstm
from emo_jax import train_checkpoints
from emo_jax import config_checks
from emo_jax import metric_writers
from emo_jax import models
from emo_jax import optimizers
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


class SimulatedCrash(Exception):
  pass


def records_without_timing(workdir):
  return [{k: v for k, v in r.items() if k != "steps_per_second"}
          for r in map(json.loads, open(os.path.join(workdir, "metrics.jsonl")))]


def test_crash_then_rerun_continues_as_one_run(tiny_data_dir, tmp_path, monkeypatch):
  # Checkpoints every 2 steps, evaluations every step; the crash comes after step 5 was
  # logged, so the rerun restores step 4 and logs step 5 again.
  overrides = {"train.num_steps": 6, "train.checkpoint_every_epochs": 2.0,
               "train.eval_every_epochs": 1.0}
  reference = trainer.train_and_evaluate(tiny_config(tiny_data_dir, **overrides),
                                         str(tmp_path / "reference"))
  assert reference["steps"] == 6

  save_latest, write = train_checkpoints.Checkpointer.save_latest, metric_writers.MetricWriter.write

  def save_and_wait(self, *args, **kwargs):
    save_latest(self, *args, **kwargs)
    self.wait()

  def write_then_crash(self, step, split, metrics):
    write(self, step, split, metrics)
    if step == 5 and split == "val":
      raise SimulatedCrash()

  monkeypatch.setattr(train_checkpoints.Checkpointer, "save_latest", save_and_wait)
  monkeypatch.setattr(metric_writers.MetricWriter, "write", write_then_crash)
  with pytest.raises(SimulatedCrash):
    trainer.train_and_evaluate(tiny_config(tiny_data_dir, **overrides), str(tmp_path / "crashed"))
  monkeypatch.undo()
  assert max(int(p.name) for p in (tmp_path / "crashed" / "checkpoints" / "latest").iterdir()
             if p.name.isdigit()) == 4
  resumed = trainer.train_and_evaluate(tiny_config(tiny_data_dir, **overrides),
                                       str(tmp_path / "crashed"))
  # Each step logged once, the same numbers, and the best validation result of steps 1-4
  # remembered across the restart.
  assert records_without_timing(tmp_path / "crashed") == records_without_timing(tmp_path / "reference")
  for key in ("val_accuracy", "val_step", "val_loss", "best_step", "test_accuracy", "steps"):
    assert resumed[key] == reference[key], key


def test_resume_refuses_a_changed_run_and_lists_the_changes(tiny_data_dir, tmp_path):
  trainer.train_and_evaluate(tiny_config(tiny_data_dir), str(tmp_path))
  for overrides, fields in (
      ({"data.batch_size": 16}, ["data.batch_size"]),
      ({"optimizer.learning_rate": 0.1, "optimizer.warmup_steps": 7},
       ["optimizer.learning_rate", "optimizer.warmup_steps"]),
      ({"data.augment.flip_probability": 0.0}, ["data.augment.flip_probability"]),
      ({"train.num_steps": 4}, ["train.num_steps"]),
      ({"model.temporal.hidden_size": 16}, ["model.temporal.hidden_size"])):
    with pytest.raises(config_checks.ConfigError) as error:
      trainer.train_and_evaluate(tiny_config(tiny_data_dir, **overrides), str(tmp_path))
    changed = [line.split(":")[0].strip() for line in str(error.value).splitlines()[1:]
               if " in the workdir, " in line]
    assert changed == fields, str(error.value)
  # Reporting intervals may change; config.json then records the config in use.
  final = trainer.train_and_evaluate(tiny_config(tiny_data_dir, **{"train.log_every_steps": 5}),
                                     str(tmp_path))
  assert final["steps"] == 2
  assert json.loads((tmp_path / "config.json").read_text())["train"]["log_every_steps"] == 5


def test_non_finite_update_stops_and_keeps_only_finite_checkpoints(tiny_data_dir, tmp_path,
                                                                   monkeypatch):
  # Fault injection: the third update is infinite. Its loss (computed before the update)
  # is finite, so a guard on the loss alone would save the infinite parameters as step 3.
  create_optimizer = optimizers.create_optimizer

  def create_failing_optimizer(*args, **kwargs):
    tx, schedule = create_optimizer(*args, **kwargs)
    blow_up = optax.scale_by_schedule(lambda count: jnp.where(count >= 2, jnp.inf, 1.0))
    return optax.chain(tx, blow_up), schedule

  monkeypatch.setattr(optimizers, "create_optimizer", create_failing_optimizer)
  config = tiny_config(tiny_data_dir, **{"train.num_steps": 5, "train.log_every_steps": 100})
  config.train.checkpoint_every_epochs = 1e-9  # A checkpoint after every good step.
  config.train.eval_every_epochs = 1e-9
  with pytest.raises(trainer.NonFiniteLossError, match=r"step 3 gave non-finite.*step 2"):
    trainer.train_and_evaluate(config, str(tmp_path))
  for which in ("latest", "best"):
    saved = sorted(int(p.name) for p in (tmp_path / "checkpoints" / which).iterdir()
                   if p.name.isdigit())
    assert saved and max(saved) == 2, (which, saved)
  from emo_jax import checkpoints
  for which in ("latest", "best"):
    loaded = checkpoints.load(str(tmp_path), which=which)
    assert loaded.step == 2
    leaves = jax.tree.leaves(jax.device_get(loaded.variables))
    assert leaves and all(np.isfinite(leaf).all() for leaf in leaves)


def test_train_step_returns_the_old_state_when_the_update_is_not_finite():
  from emo_jax import sharding
  from emo_jax import train_state

  mesh = sharding.create_mesh(1)
  config = tiny_config("unused")
  model = models.create_model(config.model, 6)
  tx = optax.sgd(jnp.inf)
  state = train_state.create_train_state(model, tx, (1, 4, 32, 32, 1), jax.random.key(0), mesh)
  before = jax.device_get(state)
  step = train_state.jit_train_step(mesh, model=model, tx=tx, loss_config=config.loss,
                                    num_classes=6)
  batch = {"frames": np.full((2, 4, 32, 32, 1), 128, np.uint8), "label": np.zeros(2, np.int32),
           "vote_distribution": np.eye(6, dtype=np.float32)[[0, 0]], "mask": np.ones(2, bool)}
  state, metrics = step(state, batch, jax.random.key(1), train_state.no_fault())
  assert not metrics["finite"] and int(metrics["first_fault_step"]) == 1
  state, metrics = step(state, batch, jax.random.key(1), metrics["first_fault_step"])
  assert int(metrics["first_fault_step"]) == 1  # The first failed step is remembered.
  for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(jax.device_get(state)), strict=True):
    np.testing.assert_array_equal(a, b)


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


@pytest.mark.parametrize("overrides, message", [
    ({"data.split": "hicmae5:fold=7"}, r"config.data.split=.*fold must be 1..5"),
    ({"data.split": "holdut"}, r"config.data.split=.*unknown split"),
    ({"data.dataset": "cremad/synthetic_g99"}, r"config.data.dataset=.*choose one of"),
    ({"data.batch_size": 12}, r"batch_size=12 is not divisible by the 8 devices"),
    ({"data.eval_batch_size": 4}, r"eval_batch_size=4 is not divisible"),
    ({"model.temporal.hidden_size": 0}, r"config.model does not build .*ZeroDivisionError"),
    ({"model.bottleneck.dim": -3}, r"config.model does not build"),
])
def test_bad_inputs_fail_before_the_dataset_is_built(tmp_path, overrides, message):
  # An empty data dir: the synthetic set would be generated and packed first (about 20 s
  # for this tiny one, 95 s for the quickstart's) if the checks came after the build.
  data_dir = tmp_path / "data"
  config = tiny_config(data_dir, **overrides)
  assert config.data.build_if_missing
  start = time.time()
  with pytest.raises(config_checks.ConfigError, match=message):
    trainer.train_and_evaluate(config, str(tmp_path / "workdir"))
  assert time.time() - start < 10
  assert not data_dir.exists(), "a dataset was built before the error"


def test_unbuilt_dataset_says_how_to_build_it(tmp_path):
  config = tiny_config(tmp_path / "empty_data_dir", **{"data.build_if_missing": False})
  with pytest.raises(FileNotFoundError, match="python -m tfds_cremad.build"):
    trainer.train_and_evaluate(config, str(tmp_path / "workdir"))


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
  saved_when_killed = sorted(int(p.name) for p in latest.iterdir() if p.name.isdigit())
  # The kill landed mid-run: a checkpoint below the final step, none at the final step.
  assert saved_when_killed and min(saved_when_killed) < 8 and 8 not in saved_when_killed
  resumed = run_train(args + [f"--workdir={killed_dir}"])
  output, _ = resumed.communicate(timeout=300)
  assert resumed.returncode == 0, output[-3000:]
  assert "Resuming from the checkpoint" in output
  for a, b in zip(final_params(tmp_path / "reference"), final_params(killed_dir), strict=True):
    np.testing.assert_array_equal(a, b)
  assert [r["step"] for r in records_without_timing(killed_dir) if r["split"] == "train"] == list(range(1, 9))


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
  # The console: this project's INFO lines (progress, evaluations) and nothing of Orbax's,
  # which is in the log file.
  info_sources = {line.split("]")[0].split()[-1].split(":")[0]
                  for line in output.splitlines() if re.match(r"I\d{4} ", line)}
  assert "metric_writers.py" in info_sources, output[-3000:]
  assert info_sources <= {"train.py", "trainer.py", "metric_writers.py", "train_checkpoints.py"}, info_sources
  assert "checkpoint_manager.py" in (tmp_path / "train.log").read_text()


def test_init_from_starts_every_variable_from_a_trained_run(tiny_data_dir, tiny_trained_workdir,
                                                            tmp_path):
  """`train.init_from=WORKDIR`: a second schedule from the run's weights, optimiser fresh."""
  from emo_jax import checkpoints  # pylint: disable=g-import-not-at-top
  source = checkpoints.load(str(tiny_trained_workdir))
  config = tiny_config(tiny_data_dir, **{"train.init_from": str(tiny_trained_workdir),
                                         "optimizer.learning_rate": 1e-9})
  final = trainer.train_and_evaluate(config, str(tmp_path / "from_run"))
  assert final["steps"] == 2  # A new schedule: the source's step is not carried over.
  tuned = checkpoints.load(str(tmp_path / "from_run"), "latest")
  # At a negligible learning rate the parameters stay the source's, not a fresh init's.
  for a, b in zip(jax.tree.leaves(source.variables["params"]),
                  jax.tree.leaves(tuned.variables["params"])):
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), atol=1e-5)
  fresh = trainer.train_and_evaluate(tiny_config(tiny_data_dir, **{"optimizer.learning_rate": 1e-9}),
                                     str(tmp_path / "fresh"))
  assert fresh["steps"] == 2
  fresh_params = checkpoints.load(str(tmp_path / "fresh"), "latest").variables["params"]
  assert any(np.abs(np.asarray(a) - np.asarray(b)).max() > 1e-3 for a, b in
             zip(jax.tree.leaves(source.variables["params"]), jax.tree.leaves(fresh_params)))


def test_init_from_another_architecture_says_which_variables_differ(tiny_data_dir,
                                                                    tiny_trained_workdir, tmp_path):
  config = tiny_config(tiny_data_dir, **{"train.init_from": str(tiny_trained_workdir),
                                         "model.temporal.hidden_size": 16})
  with pytest.raises(ValueError, match=r"does not have this model's architecture: \d+ of its "
                                       r"variables differ, e\.g\. params/\S+ \(\(\d+, \d+\) here, \(\d+, \d+\) in "
                                       r"the source\)"):
    trainer.train_and_evaluate(config, str(tmp_path))


def test_init_from_and_a_pretrained_encoder_cannot_both_be_set(tiny_data_dir, tmp_path):
  config = tiny_config(tiny_data_dir, **{"train.init_from": "bundled:fer2013",
                                         "model.encoder.pretrained": "bundled:fer2013"})
  with pytest.raises(config_checks.ConfigError, match="set one of them"):
    trainer.train_and_evaluate(config, str(tmp_path))


def test_a_workdir_saved_before_init_from_existed_still_resumes():
  saved = {"train": {"num_steps": 2}}
  assert config_checks.config_differences(saved, {"train": {"num_steps": 2, "init_from": ""}}) == []
  assert config_checks.config_differences(saved, {"train": {"num_steps": 2, "init_from": "x"}}) == [
      "train.init_from: (absent) in the workdir, 'x' now"]
