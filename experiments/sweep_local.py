"""Runs a W&B sweep file's trials locally, with no W&B server: grid or random, offline.

  python -m experiments.sweep_local experiments/sweeps/ae_lstm_synthetic.yaml --count 4

Each trial's command line is built the way `wandb agent` builds it (`${args}` becomes
`--config.a.b=value` per parameter) and runs as a subprocess with `WANDB_MODE=offline` and
its own `WANDB_RUN_ID`. Extra flags after `--` are appended to every trial's command,
e.g. `-- --config.train.num_steps=10`.
"""
import argparse
import itertools
import math
import os
import subprocess
import sys

import numpy as np
import yaml


def load_sweep(path: str) -> dict:
  with open(path) as f:
    sweep = yaml.safe_load(f)
  for key in ("method", "parameters", "command"):
    if key not in sweep:
      raise ValueError(f"{path}: a sweep file needs a {key!r} entry")
  if sweep["method"] not in ("grid", "random"):
    raise ValueError(f"{path}: method {sweep['method']!r} is not supported locally (grid or random); "
                     "bayes needs a W&B server")
  return sweep


def sample_value(spec: dict, rng: np.random.Generator):
  """One draw from a W&B parameter spec (values, value, or a distribution)."""
  if "value" in spec:
    return spec["value"]
  if "values" in spec:
    return spec["values"][rng.integers(len(spec["values"]))]
  distribution = spec.get("distribution", "uniform")
  low, high = spec["min"], spec["max"]
  if distribution == "int_uniform":
    return int(rng.integers(low, high + 1))
  if distribution == "uniform":
    return float(rng.uniform(low, high))
  if distribution == "log_uniform_values":
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))
  if distribution == "q_uniform":
    q = spec.get("q", 1)
    return float(round(rng.uniform(low, high) / q) * q)
  raise ValueError(f"distribution {distribution!r} is not supported locally")


def trials(sweep: dict, count: int, seed: int = 0) -> list[dict]:
  """Parameter dicts: the grid in order (needs values/value only), or `count` random draws."""
  parameters = sweep["parameters"]
  if sweep["method"] == "grid":
    names = list(parameters)
    choices = []
    for name in names:
      spec = parameters[name]
      if "values" not in spec and "value" not in spec:
        raise ValueError(f"grid sweeps need 'values' for {name!r}, not a distribution")
      choices.append(spec.get("values", [spec.get("value")]))
    return [dict(zip(names, combo)) for combo in itertools.product(*choices)][:count]
  rng = np.random.default_rng(seed)
  return [{name: sample_value(spec, rng) for name, spec in parameters.items()} for _ in range(count)]


def build_command(sweep: dict, params: dict, program: str | None = None) -> list[str]:
  """The subprocess argv for one trial, expanding W&B's macros like `wandb agent` does."""
  args = [f"--{name}={value}" for name, value in params.items()]
  command = []
  for item in sweep["command"]:
    if item == "${env}":
      continue  # The agent puts `/usr/bin/env` here; we pass the environment directly.
    if item == "${interpreter}":
      command.append(sys.executable)
    elif item == "${program}":
      command.append(program or sweep["program"])
    elif item == "${args}":
      command.extend(args)
    elif item == "${args_no_hyphens}":
      command.extend(a[2:] for a in args)
    else:
      command.append(item)
  return command


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("sweep", help="a sweep YAML file, e.g. experiments/sweeps/ae_lstm_synthetic.yaml")
  parser.add_argument("--count", type=int, default=4, help="number of trials")
  parser.add_argument("--seed", type=int, default=0, help="seed of the random search")
  parser.add_argument("--dry_run", action="store_true", help="print the commands only")
  args, extra = parser.parse_known_args(argv)
  extra = [a for a in extra if a != "--"]
  try:
    sweep = load_sweep(args.sweep)
  except (OSError, ValueError) as e:
    sys.exit(f"sweep_local: {e}")
  sweep_name = os.path.splitext(os.path.basename(args.sweep))[0]
  failures = 0
  for number, params in enumerate(trials(sweep, args.count, args.seed)):
    command = build_command(sweep, params) + extra
    env = dict(os.environ, WANDB_MODE=os.environ.get("WANDB_MODE", "offline"),
               WANDB_RUN_ID=f"{sweep_name}-{number:03d}", WANDB_SWEEP_ID=f"local-{sweep_name}")
    print(f"[trial {number}] {' '.join(command)}", flush=True)
    if not args.dry_run:
      failures += subprocess.run(command, env=env, check=False).returncode != 0
  if failures:
    sys.exit(f"sweep_local: {failures} trial(s) failed")


if __name__ == "__main__":
  main()
