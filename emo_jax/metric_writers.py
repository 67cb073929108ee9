"""Where metrics go: JSON lines in the workdir, a console progress line, and W&B (offline by default)."""
import hashlib
import json
import logging
import os
import time

import ml_collections


class MetricWriter:
  """Writes `{"step", "split", ...metrics}` lines to `workdir/metrics.jsonl` and to W&B.

  `config.wandb.mode` is "offline" (default: a local run under `workdir/wandb`, sync it
  later with `wandb sync`), "online" or "disabled". Only process 0 writes.
  """

  def __init__(self, workdir: str, config: ml_collections.ConfigDict, *, is_main_process: bool = True,
               extra_run_info: dict | None = None):
    self.path = os.path.join(workdir, "metrics.jsonl")
    self.enabled = is_main_process
    self._wandb_run = None
    self._last_time = None
    self._last_step = None
    if not self.enabled:
      return
    mode = os.environ.get("WANDB_MODE") or config.wandb.mode
    if mode != "disabled":
      import wandb  # Imported lazily: it is slow to import and unused when disabled.
      self._wandb_run = wandb.init(
          project=config.wandb.project, entity=config.wandb.entity or None,
          name=config.wandb.name or os.path.basename(os.path.abspath(workdir)),
          tags=list(config.wandb.tags), mode=mode, dir=workdir, resume="allow",
          # A sweep agent sets WANDB_RUN_ID itself; otherwise the same workdir keeps one run.
          id=None if "WANDB_RUN_ID" in os.environ else _stable_run_id(workdir),
          config={**config.to_dict(), **(extra_run_info or {})})

  def write(self, step: int, split: str, metrics: dict):
    if not self.enabled:
      return
    record = {"step": int(step), "split": split, **{k: _to_python(v) for k, v in metrics.items()}}
    with open(self.path, "a") as f:
      f.write(json.dumps(record) + "\n")
    if self._wandb_run is not None:
      self._wandb_run.log({f"{split}/{k}": v for k, v in record.items() if k not in ("step", "split")},
                          step=int(step))

  def progress(self, step: int, total_steps: int, metrics: dict):
    """Logs a console line with the metrics, steps per second and the ETA."""
    now = time.time()
    rate = None
    if self._last_time is not None and step > self._last_step:
      rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
    self._last_time, self._last_step = now, step
    parts = [f"step {step}/{total_steps}"]
    parts += [f"{k} {_to_python(v):.4g}" for k, v in metrics.items() if isinstance(_to_python(v), float)]
    if rate:
      parts.append(f"{rate:.2f} steps/s, ETA {_format_seconds((total_steps - step) / rate)}")
    logging.info(" | ".join(parts))
    return rate

  def close(self):
    if self._wandb_run is not None:
      self._wandb_run.finish()
      self._wandb_run = None


def read_metrics(workdir: str) -> list[dict]:
  """The records of `workdir/metrics.jsonl`, in the order written ([] when there is none)."""
  path = os.path.join(workdir, "metrics.jsonl")
  if not os.path.exists(path):
    return []
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


def _stable_run_id(workdir: str) -> str:
  """The same W&B run id for the same workdir, so a resumed run continues its W&B run."""
  return hashlib.sha1(os.path.abspath(workdir).encode()).hexdigest()[:12]


def _to_python(value):
  if hasattr(value, "item") and getattr(value, "size", 2) == 1:
    return value.item()
  if hasattr(value, "tolist"):
    return value.tolist()
  return value


def _format_seconds(seconds: float) -> str:
  seconds = int(seconds)
  return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
