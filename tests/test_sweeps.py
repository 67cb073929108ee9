"""Every sweep file in experiments/sweeps runs: each value of each parameter, for one step,
through the command line a W&B agent builds; and a run logged to W&B offline holds its
config and metrics."""
import json
import pathlib
import struct
import sys

from absl import flags
import pytest
import yaml

from emo_jax import console_logging
from emo_jax import train
from experiments import sweep_local

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SWEEP_FILES = sorted((REPO_ROOT / "experiments" / "sweeps").glob("*.yaml"))


def covering_trials(parameters: dict) -> list[dict]:
  """Few trials that between them give every parameter each of its values: trial k sets
  each categorical parameter to its (k mod n)-th value and each range to its lower bound
  (k even) or upper bound (k odd). Each trial compiles a model, so covering every value
  in max(2, longest list) trials, not one trial per value, keeps the test minutes shorter;
  a failing trial's id names every value it set."""
  def values_of(spec):
    if "values" in spec:
      return list(spec["values"])
    if "value" in spec:
      return [spec["value"]]
    return [spec["min"], spec["max"]]

  choices = {name: values_of(spec) for name, spec in parameters.items()}
  count = max([2] + [len(values) for values in choices.values()])
  return [{name: values[k % len(values)] for name, values in choices.items()}
          for k in range(count)]


SWEEP_TRIALS = [(path, trial) for path in SWEEP_FILES
                for trial in covering_trials(sweep_local.load_sweep(str(path))["parameters"])]


def test_every_sweep_file_is_listed_and_every_value_is_covered():
  assert {path.name for path in SWEEP_FILES} >= {"ae_lstm_synthetic.yaml", "temporal_models.yaml"}
  for path in SWEEP_FILES:
    parameters = sweep_local.load_sweep(str(path))["parameters"]
    trials = [trial for p, trial in SWEEP_TRIALS if p == path]
    for name, spec in parameters.items():
      wanted = spec.get("values") or ([spec["value"]] if "value" in spec
                                      else [spec["min"], spec["max"]])
      assert {repr(v) for v in wanted} <= {repr(trial[name]) for trial in trials}, (path, name)
  dims = {trial["config.model.bottleneck.dim"] for p, trial in SWEEP_TRIALS
          if p.name == "ae_lstm_synthetic.yaml"}
  assert dims == {16, 64}  # int_uniform's bounds.


def tiny_trial_argv(command: list[str], data_dir: pathlib.Path, workdir: pathlib.Path) -> list[str]:
  """The agent's command as `emo_jax.train`'s argv, made test-sized: the sweep's config with
  `runlocal` added, one step, the shared tiny dataset and a workdir under `workdir`. The
  extra flags come last, as `sweep_local -- FLAGS` appends them."""
  interpreter, dash_m, module, *arguments = command
  assert (interpreter, dash_m, module) == (sys.executable, "-m", "emo_jax.train"), command
  arguments = [f"{a}{',' if ':' in a else ':'}runlocal" if a.startswith("--config=") else a
               for a in arguments]
  return [module, *arguments, "--config.train.num_steps=1", f"--config.data.data_dir={data_dir}",
          f"--workdir={workdir}/{{WANDB_RUN_ID}}"]


@pytest.fixture(scope="module")
def compilation_cache(tmp_path_factory):
  """A persistent compilation cache shared by the trials: they compile the same programs,
  but each builds its own jitted functions, so only this cache can reuse XLA's work."""
  import jax
  names = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs",
           "jax_persistent_cache_min_entry_size_bytes")
  saved = {name: getattr(jax.config, name) for name in names}
  for name, value in zip(names, (str(tmp_path_factory.mktemp("xla_cache")), 0.0, -1)):
    jax.config.update(name, value)
  yield
  for name, value in saved.items():
    jax.config.update(name, value)


@pytest.fixture
def parse_train_flags(monkeypatch):
  """Parses an argv with `emo_jax.train`'s flags, in process, as `app.run` would: the
  config's `--config.a.b` overrides are read from sys.argv by ml_collections."""
  def parse(argv):
    monkeypatch.setattr(sys, "argv", argv)
    forget_overrides()
    return flags.FLAGS(argv)

  def forget_overrides():
    for name in [name for name in flags.FLAGS if name.startswith("config.")]:
      delattr(flags.FLAGS, name)  # Each parse defines the overrides it sees as flags.
    flags.FLAGS.unparse_flags()

  yield parse
  forget_overrides()
  console_logging.remove()


def _trial_id(path, trial):
  return path.stem + "-" + ",".join(f"{name.split('.')[-1]}={value}" for name, value in trial.items())


@pytest.mark.parametrize("path,trial", SWEEP_TRIALS, ids=[_trial_id(p, t) for p, t in SWEEP_TRIALS])
def test_sweep_trial_runs_one_step(path, trial, tiny_data_dir, tmp_path, parse_train_flags,
                                   compilation_cache, monkeypatch, capsys):
  sweep = sweep_local.load_sweep(str(path))
  command = sweep_local.build_command(sweep, trial)
  for name, value in trial.items():
    assert f"--{name}={value}" in command
  monkeypatch.setenv("WANDB_RUN_ID", "trial-000")
  argv = tiny_trial_argv(command, tiny_data_dir, tmp_path)
  remaining = parse_train_flags(argv)
  for name, value in trial.items():
    config = train._CONFIG.value  # pylint: disable=protected-access
    for key in name.split(".")[1:]:
      config = config[key]
    assert config == value
  train.main(remaining)
  assert final_metrics(capsys.readouterr().out)["steps"] == 1
  assert (tmp_path / "trial-000" / "metrics.jsonl").exists()


def final_metrics(output: str) -> dict:
  """The JSON object `emo_jax.train` prints last."""
  return json.loads(output[output.rindex("{\n"):])


def test_wandb_offline_run_holds_the_config_and_the_metrics(tiny_data_dir, tmp_path, monkeypatch):
  from configs import ae_lstm
  from emo_jax import trainer
  monkeypatch.setenv("WANDB_MODE", "offline")
  monkeypatch.delenv("WANDB_RUN_ID", raising=False)
  config = ae_lstm.get_config("runlocal")
  config.data.data_dir = str(tiny_data_dir)
  config.wandb.mode = "offline"
  config.optimizer.learning_rate = 0.00123
  final = trainer.train_and_evaluate(config, str(tmp_path))

  runs = sorted((tmp_path / "wandb").glob("offline-run-*"))
  assert len(runs) == 1, list((tmp_path / "wandb").iterdir())
  records = wandb_records(next(runs[0].glob("run-*.wandb")))
  logged_config = {item.key: json.loads(item.value_json)
                   for record in records if record.WhichOneof("record_type") == "run"
                   for item in record.run.config.update}
  assert logged_config["optimizer"]["learning_rate"] == 0.00123
  assert logged_config["model"]["bottleneck"]["dim"] == config.model.bottleneck.dim
  assert logged_config["git_commit"]
  history = [{item.key or "/".join(item.nested_key): json.loads(item.value_json)
              for item in record.history.item}
             for record in records if record.WhichOneof("record_type") == "history"]
  assert [row["_step"] for row in history if "train/loss" in row] == [1, 2]
  assert history[-1]["test/accuracy"] == pytest.approx(final["test_accuracy"])


def wandb_records(path: pathlib.Path) -> list:
  """The protobuf records of an offline run's `.wandb` file: a 7-byte header (":W&B",
  magic, version), then LevelDB's log format, 32 KiB blocks of chunks (crc32, length,
  type: 1 full, 2 first, 3 middle, 4 last) that a record may span."""
  from wandb.proto import wandb_internal_pb2
  data = path.read_bytes()
  assert data[:4] == b":W&B", f"{path} is not a W&B run file"
  block, header = 32768, 7
  records, parts, position = [], [], 7
  while position + header <= len(data):
    if block - position % block < header:  # A block's tail too short for a header is padding.
      position += block - position % block
      continue
    _, length, kind = struct.unpack("<IHB", data[position:position + header])
    parts.append(data[position + header:position + header + length])
    position += header + length
    if kind in (1, 4):
      record = wandb_internal_pb2.Record()
      record.ParseFromString(b"".join(parts))
      records.append(record)
      parts = []
  return records
