"""Five-fold actor-independent cross-validation (the hicmae5 folds), one training run per fold.

  python -m experiments.crossval --config=configs/ae_lstm.py:synthetic --workdir=workdirs/cv

runs, one after another,

  python -m emo_jax.train --config=configs/ae_lstm.py:synthetic \
      --config.data.split=hicmae5:fold=K --workdir=workdirs/cv/fold_K

(printed first, so a scheduler or sweep can run them in parallel instead; `--dry_run`
only prints them), then writes `ROOT/crossval.md` and `ROOT/crossval.json`: test accuracy,
UAR and macro F1 per fold and their mean and standard deviation. Flags after `--` are
passed to every training run, e.g. `-- --config.train.num_steps=10`. A fold whose workdir
already has final_metrics.json is not retrained (unless --rerun); `--aggregate_only`
just summarises the fold workdirs.
"""
import argparse
import json
import math
import os
import subprocess
import sys

NUM_FOLDS = 5
FOLDS = tuple(range(1, NUM_FOLDS + 1))
FINAL_METRICS_FILE = "final_metrics.json"
# (key in final_metrics.json, label in the table).
SUMMARY_METRICS = (("test_accuracy", "accuracy"), ("test_balanced_accuracy", "UAR"),
                   ("test_macro_f1", "macro F1"))


def fold_workdir(root: str, fold: int) -> str:
  return os.path.join(root, f"fold_{fold}")


def fold_command(config: str, root: str, fold: int, extra_flags=()) -> list[str]:
  """The training command of one fold (argv)."""
  return [sys.executable, "-m", "emo_jax.train", f"--config={config}",
          f"--config.data.split=hicmae5:fold={fold}", f"--workdir={fold_workdir(root, fold)}",
          *extra_flags]


def parse_folds(text: str) -> tuple[int, ...]:
  """"1,2,5" -> (1, 2, 5); each in 1..5."""
  try:
    folds = tuple(int(part) for part in text.split(",") if part.strip())
  except ValueError:
    raise ValueError(f"--folds must be comma-separated fold numbers such as 1,2,3, got {text!r}")
  bad = [f for f in folds if f not in FOLDS]
  if bad or not folds:
    raise ValueError(f"--folds {text!r}: folds are numbered {FOLDS[0]}..{FOLDS[-1]}")
  return folds


def read_fold_metrics(root: str, folds=FOLDS) -> dict[int, dict | None]:
  """Fold -> its final_metrics.json, or None when that fold has not finished."""
  result = {}
  for fold in folds:
    path = os.path.join(fold_workdir(root, fold), FINAL_METRICS_FILE)
    if os.path.isfile(path):
      with open(path) as f:
        result[fold] = json.load(f)
    else:
      result[fold] = None
  return result


def aggregate(fold_metrics: dict[int, dict | None]) -> dict:
  """Per-fold values and mean ± standard deviation of the summary metrics.

  Args:
    fold_metrics: fold -> final metrics (`test_accuracy`, `test_balanced_accuracy`,
      `test_macro_f1`, ...), or None for a missing fold.

  Returns:
    {"folds": {fold: {metric: value}}, "missing_folds": [...], "summary": {metric:
    {"mean", "std", "num_folds"}}}; std is the sample standard deviation (n - 1), None
    with fewer than two folds.
  """
  per_fold, missing = {}, []
  for fold, metrics in sorted(fold_metrics.items()):
    if metrics is None:
      missing.append(fold)
      continue
    per_fold[fold] = {key: metrics.get(key) for key, _ in SUMMARY_METRICS}
    per_fold[fold]["best_step"] = metrics.get("best_step")
  summary = {key: mean_std([m[key] for m in per_fold.values() if m[key] is not None])
             for key, _ in SUMMARY_METRICS}
  return {"folds": per_fold, "missing_folds": missing, "summary": summary}


def mean_std(values: list[float]) -> dict:
  """{"mean", "std", "num_folds"}: std is the sample standard deviation (n - 1), None
  with fewer than two values; mean None with none."""
  mean = sum(values) / len(values) if values else None
  std = (math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
         if len(values) > 1 else None)
  return {"mean": mean, "std": std, "num_folds": len(values)}


def _cell(value, std=None) -> str:
  if value is None:
    return "n/a"
  text = f"{100 * value:.2f}"
  return text + (f" ± {100 * std:.2f}" if std is not None else "")


def format_markdown(result: dict, title: str = "Cross-validation") -> str:
  header = ["fold"] + [label for _, label in SUMMARY_METRICS] + ["best step"]
  lines = [f"# {title}", "", "Test metrics (%) of the best-on-validation checkpoint of "
           "each fold; mean ± sample standard deviation over the folds.", "",
           "| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
  for fold, metrics in result["folds"].items():
    lines.append(f"| {fold} | " + " | ".join(_cell(metrics[key]) for key, _ in SUMMARY_METRICS)
                 + f" | {metrics['best_step']} |")
  summary = result["summary"]
  lines.append("| **mean** | " + " | ".join(
      f"**{_cell(summary[key]['mean'], summary[key]['std'])}**" for key, _ in SUMMARY_METRICS)
               + " | |")
  if result["missing_folds"]:
    lines += ["", f"Missing folds (no {FINAL_METRICS_FILE}): "
              f"{', '.join(map(str, result['missing_folds']))}; the mean leaves them out."]
  return "\n".join(lines) + "\n"


def write_summary(root: str, folds=FOLDS, title: str = "Cross-validation") -> dict:
  """Reads the fold workdirs under `root` and writes crossval.json and crossval.md."""
  result = aggregate(read_fold_metrics(root, folds))
  os.makedirs(root, exist_ok=True)
  with open(os.path.join(root, "crossval.json"), "w") as f:
    json.dump({"title": title, **result, "folds": {str(k): v for k, v in result["folds"].items()}},
              f, indent=2)
  with open(os.path.join(root, "crossval.md"), "w") as f:
    f.write(format_markdown(result, title))
  return result


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="python -m experiments.crossval",
                                   description=__doc__.splitlines()[0])
  parser.add_argument("--config", help="config file with optional :args, as for emo_jax.train")
  parser.add_argument("--workdir", required=True, help="root; fold K trains in ROOT/fold_K")
  parser.add_argument("--folds", default=",".join(map(str, FOLDS)), help="e.g. 1,2,3,4,5")
  parser.add_argument("--dry_run", action="store_true", help="print the commands only")
  parser.add_argument("--rerun", action="store_true",
                      help="run folds that already have final_metrics.json again")
  parser.add_argument("--aggregate_only", action="store_true",
                      help="only summarise the fold workdirs")
  args, extra = parser.parse_known_args(argv)
  extra = [a for a in extra if a != "--"]
  try:
    folds = parse_folds(args.folds)
  except ValueError as e:
    parser.error(str(e))
  if not args.aggregate_only:
    if not args.config:
      parser.error("--config is required unless --aggregate_only")
    commands = {fold: fold_command(args.config, args.workdir, fold, extra) for fold in folds}
    for fold, command in commands.items():
      print(f"[fold {fold}] {' '.join(command)}", flush=True)
    if args.dry_run:
      return 0
    failed = []
    for fold, command in commands.items():
      done = os.path.isfile(os.path.join(fold_workdir(args.workdir, fold), FINAL_METRICS_FILE))
      if done and not args.rerun:
        print(f"[fold {fold}] already finished ({FINAL_METRICS_FILE} exists); --rerun to retrain")
        continue
      print(f"[fold {fold}] training ...", flush=True)
      if subprocess.run(command, check=False).returncode != 0:
        failed.append(fold)
    if failed:
      print(f"crossval: fold(s) {failed} failed; see their output above", file=sys.stderr)
  result = write_summary(args.workdir, folds, title=f"Cross-validation of {args.config or args.workdir}")
  print(format_markdown(result))
  print(f"Wrote {os.path.join(args.workdir, 'crossval.md')} and crossval.json")
  return 1 if not args.aggregate_only and failed else 0


if __name__ == "__main__":
  sys.exit(main())
