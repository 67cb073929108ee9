"""Trains a model: `python -m emo_jax.train --config=configs/ae_lstm.py --workdir=DIR`.

Override any config value with `--config.section.key=value`. Re-running the same command
resumes from the workdir's latest checkpoint. For several hosts, run the same command on
each with `--coordinator_address=HOST:PORT --num_processes=N --process_id=I` (or the
environment variables JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID), or
with `--jax_distributed` alone on a cluster JAX detects (SLURM, Cloud TPU, ...); see
README, "Multi-host".
"""
import json
import logging
import os

from absl import app
from absl import flags
import jax
from ml_collections import config_flags

from emo_jax import console_logging
from emo_jax import trainer


def _int_from_env(name: str) -> int | None:
  value = os.environ.get(name)
  return int(value) if value else None


_CONFIG = config_flags.DEFINE_config_file("config", None, "Path to a config file in configs/.",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics and logs.")
_DISTRIBUTED = flags.DEFINE_bool(
    "jax_distributed", False,
    "Join a multi-host run on a cluster JAX detects itself (jax.distributed.initialize()).")
_COORDINATOR_ADDRESS = flags.DEFINE_string(
    "coordinator_address", os.environ.get("JAX_COORDINATOR_ADDRESS"),
    "HOST:PORT of process 0, reachable from every host (multi-host runs).")
_NUM_PROCESSES = flags.DEFINE_integer(
    "num_processes", _int_from_env("JAX_NUM_PROCESSES"), "Number of hosts (processes).")
_PROCESS_ID = flags.DEFINE_integer(
    "process_id", _int_from_env("JAX_PROCESS_ID"), "This host's index, 0 to num_processes - 1.")
flags.mark_flags_as_required(["config", "workdir"])


def initialize_distributed():
  """Joins the other hosts when the flags (or the environment) say there are any."""
  given = {"coordinator_address": _COORDINATOR_ADDRESS.value,
           "num_processes": _NUM_PROCESSES.value, "process_id": _PROCESS_ID.value}
  if any(value is not None for value in given.values()):
    missing = [f"--{name}" for name, value in given.items() if value is None]
    if missing:
      raise app.UsageError(f"a multi-host run needs --coordinator_address, --num_processes and "
                           f"--process_id; missing {', '.join(missing)}")
    jax.distributed.initialize(**given)
  elif _DISTRIBUTED.value:
    jax.distributed.initialize()  # The cluster (SLURM, Cloud TPU, ...) says who is who.


def resolve_workdir(workdir: str) -> str:
  """Fills `{NAME}` from the environment, e.g. `workdirs/sweep/{WANDB_RUN_ID}` in sweep files."""
  try:
    return workdir.format_map(os.environ)
  except KeyError as e:
    raise app.UsageError(f"--workdir={workdir} names the environment variable {e} which is not set")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  initialize_distributed()
  workdir = resolve_workdir(_WORKDIR.value)
  verbosity = flags.FLAGS.verbosity if flags.FLAGS["verbosity"].present else None
  log_file = console_logging.configure(workdir, verbosity)
  logging.info("Library logs go to %s (--verbosity=0 shows them here too).", log_file)
  final = trainer.train_and_evaluate(_CONFIG.value, workdir)
  print(json.dumps({k: v for k, v in final.items() if not isinstance(v, (list, dict))}, indent=2,
                   default=float))


if __name__ == "__main__":
  app.run(main)
