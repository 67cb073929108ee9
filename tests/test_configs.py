"""Every config in configs/ loads, and each runs a couple of steps in `runlocal` mode."""
import importlib
import pathlib

import pytest

from emo_jax import trainer

CONFIG_DIR = pathlib.Path(__file__).resolve().parents[1] / "configs"
CONFIG_NAMES = sorted(p.stem for p in CONFIG_DIR.glob("*.py") if p.stem not in ("__init__", "common"))
ARGS = ["", "synthetic", "runlocal", "synthetic,runlocal"]


def load(name, arg):
  return importlib.import_module(f"configs.{name}").get_config(arg)


def test_all_six_configs_exist():
  assert set(CONFIG_NAMES) >= {"ae_lstm", "cnn_lstm", "attention", "c3d", "resnet_ae_lstm", "fer2013_cnn"}


@pytest.mark.parametrize("name", CONFIG_NAMES)
@pytest.mark.parametrize("arg", ARGS)
def test_config_loads_and_documents_its_command(name, arg):
  config = load(name, arg)
  assert config.model and config.data.dataset
  doc = importlib.import_module(f"configs.{name}").__doc__
  assert f"--config=configs/{name}.py" in doc.split("\n\n")[1], "docstring must start with the command"


def test_unknown_config_argument_is_an_error():
  with pytest.raises(ValueError, match="unknown config argument 'sythetic'"):
    load("ae_lstm", "sythetic")


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_runlocal_trains_and_evaluates(name, tiny_data_dir, tmp_path):
  config = load(name, "runlocal")
  config.data.data_dir = str(tiny_data_dir)
  final = trainer.train_and_evaluate(config, str(tmp_path))
  assert final["steps"] == config.train.num_steps
  assert 0.0 <= final["test_accuracy"] <= 1.0


def test_c3d_r2plus1d_variant_runs(tiny_data_dir, tmp_path):
  config = load("c3d", "runlocal,r2plus1d")
  assert config.model.video.name == "r2plus1d"
  config.data.data_dir = str(tiny_data_dir)
  assert trainer.train_and_evaluate(config, str(tmp_path))["steps"] == 2
