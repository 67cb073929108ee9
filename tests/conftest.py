"""Shared test setup: eight simulated CPU devices and the real CREMA-D files in ../shared."""
import os

# Must happen before jax is imported anywhere: every test sees 8 CPU devices.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("WANDB_SILENT", "true")

import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
CREMAD_SHARED = SHARED_DATA / "cremad"
FER2013_SHARED = SHARED_DATA / "fer2013"


@pytest.fixture(scope="session")
def cremad_shared_dir():
  """The real CREMA-D metadata and six real clips, read in place (never copied)."""
  if not (CREMAD_SHARED / "VideoDemographics.csv").exists():
    pytest.skip(f"real CREMA-D files not found at {CREMAD_SHARED} (CI has ../shared beside the clone)")
  return CREMAD_SHARED


@pytest.fixture(scope="session")
def fer2013_shared_dir():
  if not (FER2013_SHARED / "fer2013_kaggle_layout.tar.gz").exists():
    pytest.skip(f"real FER2013 archive not found at {FER2013_SHARED}")
  return FER2013_SHARED


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory):
  """A TFDS data dir with `cremad/synthetic_tiny` built once per test session."""
  import tfds_cremad
  data_dir = tmp_path_factory.mktemp("tfds")
  tfds_cremad.make_builder("cremad/synthetic_tiny", data_dir).download_and_prepare()
  return data_dir


@pytest.fixture(scope="session")
def tiny_trained_workdir(tiny_data_dir, tmp_path_factory):
  """A workdir of `configs/ae_lstm.py:runlocal` trained for its 2 steps on synthetic_tiny,
  trained once per session for the tests that read trained runs (evaluate, ablation, load)."""
  from configs import ae_lstm
  from emo_jax import trainer
  config = ae_lstm.get_config("runlocal")
  config.data.data_dir = str(tiny_data_dir)
  workdir = tmp_path_factory.mktemp("tiny_trained_run")
  trainer.train_and_evaluate(config, str(workdir))
  return workdir
