"""Trains a model: `python -m emo_jax.train --config=configs/ae_lstm.py --workdir=DIR`.

Override any config value with `--config.section.key=value`. Re-running the same command
resumes from the workdir's latest checkpoint. For several hosts, pass
`--jax_distributed` (calls `jax.distributed.initialize()`; see README, "Multi-host").
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

_CONFIG = config_flags.DEFINE_config_file("config", None, "Path to a config file in configs/.",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics and logs.")
_DISTRIBUTED = flags.DEFINE_bool("jax_distributed", False,
                                 "Call jax.distributed.initialize() first (multi-host runs).")
flags.mark_flags_as_required(["config", "workdir"])


def resolve_workdir(workdir: str) -> str:
  """Fills `{NAME}` from the environment, e.g. `workdirs/sweep/{WANDB_RUN_ID}` in sweep files."""
  try:
    return workdir.format_map(os.environ)
  except KeyError as e:
    raise app.UsageError(f"--workdir={workdir} names the environment variable {e} which is not set")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  if _DISTRIBUTED.value:
    jax.distributed.initialize()
  workdir = resolve_workdir(_WORKDIR.value)
  verbosity = flags.FLAGS.verbosity if flags.FLAGS["verbosity"].present else None
  log_file = console_logging.configure(workdir, verbosity)
  logging.info("Library logs go to %s (--verbosity=0 shows them here too).", log_file)
  final = trainer.train_and_evaluate(_CONFIG.value, workdir)
  print(json.dumps({k: v for k, v in final.items() if not isinstance(v, (list, dict))}, indent=2,
                   default=float))


if __name__ == "__main__":
  app.run(main)
