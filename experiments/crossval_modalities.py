"""Audio-only, video-only and audio-visual cross-validations side by side, with the raters.

  python -m experiments.crossval_modalities --audio workdirs/cv_audio \
      --video workdirs/cv_video --audio_visual workdirs/cv_av [--metadata_dir DIR]

reads the fold workdirs that `experiments.crossval` trained (README, "Audio and video
together"), evaluates each fold's best checkpoint on its test actors once
(`emo_jax.evaluate`; a fold whose evaluation/test_best/metrics.json exists is read
instead, unless --reevaluate), and writes `OUT/by_modality.md` and `.json` (OUT: --out,
default the audio-visual root). Per fold, and as mean ± sample standard deviation over
the folds: test accuracy of the audio-only model, the video-only model, the audio-visual
model with both modalities, with its audio removed and with its video removed, and the
crowd raters' voice, face and audio-visual majority votes on the same clips (ties count
as wrong, as in CREMA-D's published 41.6/66.3/72.2%; with `--metadata_dir`, or the CSVs
of the tree the dataset was built from). It also says whether the audio-visual model
beats the better single modality by more than the fold-to-fold spread.
"""
import argparse
import json
import os
import sys

from experiments import crossval

EVALUATION_SUBDIR = os.path.join("evaluation", "test_best")
# Column -> (run, condition of that run's evaluation, title).
COLUMNS = {
    "audio": ("audio", "video_removed", "audio only"),
    "video": ("video", "audio_removed", "video only"),
    "audio_visual": ("audio_visual", "both", "audio-visual"),
    "av_audio_removed": ("audio_visual", "audio_removed", "AV, audio removed"),
    "av_video_removed": ("audio_visual", "video_removed", "AV, video removed"),
}
RATER_COLUMNS = {"voice": "raters, voice", "face": "raters, face", "multimodal": "raters, both"}


def fold_evaluation(workdir: str, metadata_dir: str | None, reevaluate: bool) -> dict:
  """metrics.json of the fold's best checkpoint on its test actors (evaluated when missing)."""
  path = os.path.join(workdir, EVALUATION_SUBDIR, "metrics.json")
  if reevaluate or not os.path.isfile(path):
    from emo_jax import evaluate  # pylint: disable=g-import-not-at-top (JAX, TFDS: only when needed)
    print(f"Evaluating {workdir} ...", flush=True)
    evaluate.evaluate_run(workdir, "best", "test", metadata_dir=metadata_dir)
  with open(path) as f:
    return json.load(f)


def conditions(metrics: dict, run: str) -> dict:
  """condition -> {"accuracy", "raters", "raters_accuracy" (None without votes)} of one evaluation.

  An audio-visual run's evaluation has "by_modality"; a one-modality run ("audio" or
  "video") is its own accuracy, in the condition its input is, beside its raters.
  """
  by_modality = metrics.get("by_modality")
  if by_modality is None:
    majority = (metrics.get("raters") or {}).get("majority_vote")
    by_modality = {COLUMNS[run][1]: {"accuracy": metrics["accuracy"], "majority_vote": majority,
                                     "raters": majority["modality"] if majority else None}}
  result = {}
  for condition, row in by_modality.items():
    majority = row.get("majority_vote")
    rate = majority["all_clips"]["human_accuracy_ties_wrong"]["rate"] if majority else None
    result[condition] = {"accuracy": row["accuracy"], "raters": row.get("raters"),
                         "raters_accuracy": rate}
  return result


def collect(roots: dict[str, str], folds, metadata_dir: str | None = None,
            reevaluate: bool = False) -> dict:
  """Per fold and summarised: the COLUMNS and the raters' RATER_COLUMNS.

  Args:
    roots: run ("audio", "video", "audio_visual") -> crossval root; missing runs are left out.
    folds: fold numbers; a fold without final_metrics.json is listed as missing.

  Returns:
    {"folds": {fold: {column: accuracy}}, "missing": {run: [folds]}, "summary": {column:
    mean/std/num_folds}, "target": ...}.
  """
  per_fold, missing = {}, {}
  for run, root in roots.items():
    for fold in folds:
      workdir = crossval.fold_workdir(root, fold)
      if not os.path.isfile(os.path.join(workdir, crossval.FINAL_METRICS_FILE)):
        missing.setdefault(run, []).append(fold)
        continue
      found = conditions(fold_evaluation(workdir, metadata_dir, reevaluate), run)
      row = per_fold.setdefault(fold, {})
      for column, (column_run, condition, _) in COLUMNS.items():
        if column_run == run and condition in found:
          row[column] = found[condition]["accuracy"]
      for values in found.values():
        if values["raters_accuracy"] is not None:
          row.setdefault(values["raters"], values["raters_accuracy"])
  columns = (*COLUMNS, *RATER_COLUMNS)
  summary = {c: crossval.mean_std([row[c] for row in per_fold.values() if c in row])
             for c in columns}
  return {"folds": dict(sorted(per_fold.items())), "missing": missing, "summary": summary,
          "target": target(per_fold, summary)}


def target(per_fold: dict, summary: dict) -> dict | None:
  """Issue 18's target: audio-visual above the better single modality by more than the spread.

  The spread is the larger of the two runs' fold-to-fold standard deviations; the paired
  per-fold differences are given too.
  """
  singles = [c for c in ("audio", "video") if summary[c]["num_folds"]]
  if not singles or summary["audio_visual"]["num_folds"] < 2:
    return None
  better = max(singles, key=lambda c: summary[c]["mean"])
  margin = summary["audio_visual"]["mean"] - summary[better]["mean"]
  spread = max(s for s in (summary["audio_visual"]["std"], summary[better]["std"]) if s is not None)
  paired = [row["audio_visual"] - row[better] for row in per_fold.values()
            if "audio_visual" in row and better in row]
  return {"better_single": better, "margin": margin, "spread": spread,
          "paired_difference": crossval.mean_std(paired), "met": margin > spread}


def _cell(value, std=None) -> str:
  if value is None:
    return "n/a"
  return f"{100 * value:.1f}" + (f" ± {100 * std:.1f}" if std is not None else "")


def format_markdown(result: dict) -> str:
  titles = [title for _, _, title in COLUMNS.values()] + list(RATER_COLUMNS.values())
  columns = (*COLUMNS, *RATER_COLUMNS)
  lines = ["# Audio, video and audio-visual by fold", "",
           "Test accuracy (%) of each fold's best-on-validation checkpoint; the raters' "
           "majority votes on the same clips (ties count as wrong); mean ± sample standard "
           "deviation over the folds.", "",
           "| fold | " + " | ".join(titles) + " |", "|" + "|".join(" ---: " for _ in range(len(titles) + 1)) + "|"]
  for fold, row in result["folds"].items():
    lines.append(f"| {fold} | " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
  summary = result["summary"]
  lines.append("| **mean** | " + " | ".join(
      f"**{_cell(summary[c]['mean'], summary[c]['std'])}**" for c in columns) + " |")
  goal = result["target"]
  if goal:
    paired = goal["paired_difference"]
    lines += ["", f"Audio-visual minus the better single modality ({goal['better_single']}): "
              f"{_cell(goal['margin'])} points against a fold-to-fold spread of "
              f"{_cell(goal['spread'])} (paired per fold: {_cell(paired['mean'], paired['std'])}); "
              f"target {'met' if goal['met'] else 'not met'}."]
  for run, folds in result["missing"].items():
    lines.append(f"\nMissing ({run}, no {crossval.FINAL_METRICS_FILE}): folds "
                 f"{', '.join(map(str, folds))}; the means leave them out.")
  return "\n".join(lines) + "\n"


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="python -m experiments.crossval_modalities",
                                   description=__doc__.splitlines()[0])
  for run in ("audio", "video", "audio_visual"):
    parser.add_argument(f"--{run}", default=None, help=f"crossval root of the {run} run")
  parser.add_argument("--folds", default=",".join(map(str, crossval.FOLDS)))
  parser.add_argument("--metadata_dir", default=None,
                      help="CREMA-D clone or synthetic tree with the raters' CSVs "
                      "(default: where the dataset was built from)")
  parser.add_argument("--out", default=None, help="default: the --audio_visual root")
  parser.add_argument("--reevaluate", action="store_true",
                      help="evaluate folds again even when their metrics.json exists")
  args = parser.parse_args(argv)
  roots = {run: getattr(args, run) for run in ("audio", "video", "audio_visual")
           if getattr(args, run)}
  if not roots:
    parser.error("give at least one of --audio, --video, --audio_visual")
  try:
    folds = crossval.parse_folds(args.folds)
  except ValueError as e:
    parser.error(str(e))
  result = collect(roots, folds, args.metadata_dir, args.reevaluate)
  out = args.out or roots.get("audio_visual") or next(iter(roots.values()))
  os.makedirs(out, exist_ok=True)
  with open(os.path.join(out, "by_modality.json"), "w") as f:
    json.dump({"roots": roots, **result, "folds": {str(k): v for k, v in result["folds"].items()}},
              f, indent=2)
  markdown = format_markdown(result)
  with open(os.path.join(out, "by_modality.md"), "w") as f:
    f.write(markdown)
  print(markdown)
  print(f"Wrote {os.path.join(out, 'by_modality.md')} and by_modality.json")
  return 0


if __name__ == "__main__":
  sys.exit(main())
