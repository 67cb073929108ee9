"""Data-parallel scaling: the train step on 1, 2, 4 and 8 devices at the same global batch.

    python -m benchmarks.scaling [--quick] [--config ae_lstm] [--batch_size 32]

Runs in a subprocess with XLA_FLAGS=--xla_force_host_platform_device_count=8 so that a
CPU shows 8 devices. Simulated CPU devices share the same cores, so on a CPU this only
checks that the sharded step compiles and runs on every mesh size (and what the
partitioning costs); it says nothing about speed-up. On a machine with 8 accelerators
the same command measures real scaling. The step is `benchmarks.train_throughput.measure`'s
with `num_devices`: --quick uses the tiny `configs/fer2013_cnn.py:runlocal` model (4
frames of 32x32) at global batch 64, just to check the sharded path (~30 s on 2 CPU
cores); else the full-size ae_lstm at global batch 32 (16x112x112 clips; at most 1 min
of timed steps per mesh, ~10 min on 2 CPU cores).
"""
import argparse
import json
import os
import subprocess
import sys

import jax

from benchmarks import train_throughput

DEVICE_COUNTS = (1, 2, 4, 8)
SIMULATED_DEVICES_FLAG = "--xla_force_host_platform_device_count=8"


def measure_all(config: str, batch_size: int, num_steps: int,
                budget_s: float = float("inf")) -> list[dict]:
  """Measures `config` ("name" or "name:arg" of configs/) on meshes of each of
  `DEVICE_COUNTS` devices, in this process."""
  name, _, arg = config.partition(":")
  rows = []
  for num_devices in DEVICE_COUNTS:
    if num_devices > jax.device_count():
      rows.append({"name": f"scaling/{config}/devices={num_devices}",
                   "skipped": f"only {jax.device_count()} {jax.default_backend()} devices"})
      continue
    row = train_throughput.measure(name, arg or None, batch_size=batch_size,
                                   num_steps=num_steps, num_devices=num_devices,
                                   budget_s=budget_s, with_ceiling=False)
    rows.append({"name": f"scaling/{config}/devices={num_devices}", "input": row["input"],
                 **{key: row[key] for key in ("batch_size", "step_ms", "clips_per_second",
                                              "compile_seconds", "num_devices", "backend")}})
  for row in rows:
    if "step_ms" in row:
      row["speedup_vs_1"] = round(rows[0]["step_ms"] / row["step_ms"], 2)
  return rows


def run(quick: bool = False, name: str | None = None, batch_size: int | None = None,
        timeout_s: float = 3600) -> list[dict]:
  """`measure_all` in a subprocess that simulates 8 CPU devices (on CPU backends).

  Returns:
    One row per device count (step_ms, clips_per_second, compile_seconds, speedup_vs_1),
    or one row with "error".
  """
  name = name or ("fer2013_cnn:runlocal" if quick else "ae_lstm")
  batch_size = batch_size or (64 if quick else 32)
  command = [sys.executable, "-m", "benchmarks.scaling", "--one", name,
             "--batch_size", str(batch_size), "--num_steps", "2" if quick else "5",
             "--budget_s", "10" if quick else "60"]
  env = dict(os.environ)
  env["XLA_FLAGS"] = " ".join(filter(None, [
      train_throughput.without_simulated_devices(env.get("XLA_FLAGS", "")),
      SIMULATED_DEVICES_FLAG]))
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True,
                          timeout=timeout_s, check=False)
  lines = result.stdout.strip().splitlines()
  if result.returncode != 0 or not lines:
    tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
    return [{"name": f"scaling/{name}", "error": f"exit {result.returncode}: {tail}"}]
  return json.loads(lines[-1])


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="fer2013_cnn, 3 timed steps")
  parser.add_argument("--config", default=None, help="a module of configs/ (name[:arg])")
  parser.add_argument("--batch_size", type=int, default=None, help="global batch size")
  parser.add_argument("--one", help="measure this config in this process; print JSON")
  parser.add_argument("--num_steps", type=int, default=5)
  parser.add_argument("--budget_s", type=float, default=float("inf"),
                      help="stop timing steps after this many seconds (per mesh)")
  args = parser.parse_args(argv)
  if args.one:
    print(json.dumps(measure_all(args.one, args.batch_size, args.num_steps, args.budget_s)))
    return 0
  for row in run(args.quick, args.config, args.batch_size):
    print(json.dumps(row))
  return 0


if __name__ == "__main__":
  sys.exit(main())
