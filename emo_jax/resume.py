"""Continuing a run from its latest checkpoint: the records and the best result up to that step."""
import json
import os

import jax

METRICS_FILE = "metrics.jsonl"


def truncate_metrics(workdir: str, step: int) -> list[dict]:
  """Drops the lines of `workdir/metrics.jsonl` written after the checkpoint at `step`.

  A run killed after its last checkpoint has logged steps that the resumed run will log
  again. Test results are dropped too (the resumed run writes its own). Only process 0
  writes the file (atomically); every process returns the records kept.
  """
  path = os.path.join(workdir, METRICS_FILE)
  if not os.path.exists(path):
    return []
  with open(path) as f:
    lines = [line for line in f if line.strip()]
  kept = [line for line in lines
          if json.loads(line)["step"] <= step and json.loads(line)["split"] != "test"]
  if jax.process_index() == 0 and len(kept) != len(lines):
    with open(path + ".tmp", "w") as f:
      f.writelines(kept)
    os.replace(path + ".tmp", path)
  return [json.loads(line) for line in kept]


def best_validation(records: list[dict], metric: str) -> dict | None:
  """The best "val" record by `metric` (the later one on a tie, as the loop keeps it)."""
  best = None
  for record in records:
    if record["split"] == "val" and metric in record:
      if best is None or record[metric] >= best[metric]:
        best = record
  if best is None:
    return None
  return {**{k: v for k, v in best.items() if k != "split"}, "step": best["step"]}
