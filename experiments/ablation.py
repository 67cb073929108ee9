"""Compares trained runs and probes them with perturbations, from their checkpoints.

  python -m experiments.ablation --workdirs workdirs/ae_lstm workdirs/cnn_lstm --out workdirs/ablation

writes to --out: `ablation.md` (config differences, metrics side by side, and each model's
test metrics under perturbations), `ablation.json`, `runs.png` and `perturbations.png`.
Perturbations are chosen from each model's structure (see
`emo_jax.analysis.perturbations.applicable_perturbations`): frames shuffled in time,
every second frame, only the first half of the frames (per-frame models), the
bottleneck code replaced by its mean over training clips (models with a bottleneck),
Gaussian pixel noise, and the upper or lower half of the face hidden (filled with what the
model's input normalisation maps to 0); for an audio-visual model also the audio removed
and the video removed (its branch masked out, as modality dropout does in training), and
for an audio-only model only the baseline.
"""
import argparse
import json
import os
import sys

import numpy as np

from emo_jax import checkpoints
from emo_jax import evaluation
from emo_jax.analysis import perturbations as perturbations_lib
from emo_jax.analysis import plots
from emo_jax.analysis import report

FINAL_METRICS_FILE = "final_metrics.json"
# Metrics compared between runs (final_metrics.json keys) and under perturbations.
RUN_METRICS = ("test_accuracy", "test_balanced_accuracy", "test_macro_f1", "val_accuracy",
               "steps", "wall_time_seconds")
PERTURBATION_METRICS = ("accuracy", "balanced_accuracy", "macro_f1")
BASELINE = "none"
# Keys that always differ between runs and say nothing about the experiment.
_IGNORED_CONFIG_KEYS = ("wandb.name",)


def flatten(tree: dict, prefix: str = "") -> dict:
  """{"a": {"b": 1}} -> {"a.b": 1}; lists become tuples so they compare and print simply."""
  flat = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      flat.update(flatten(value, f"{prefix}{key}."))
    else:
      flat[f"{prefix}{key}"] = tuple(value) if isinstance(value, list) else value
  return flat


def config_differences(configs: dict[str, dict]) -> dict[str, dict[str, object]]:
  """Flattened config keys whose values differ between runs: key -> run -> value.

  A key absent from a run's config shows as "(absent)".
  """
  flat = {run: flatten(config) for run, config in configs.items()}
  keys = sorted(set().union(*(f.keys() for f in flat.values())) - set(_IGNORED_CONFIG_KEYS))
  differences = {}
  for key in keys:
    values = {run: f.get(key, "(absent)") for run, f in flat.items()}
    if len({repr(v) for v in values.values()}) > 1:
      differences[key] = values
  return differences


def run_names(workdirs) -> list[str]:
  """Short unique names: the workdir basenames, or more of the path where they clash."""
  names = [os.path.basename(os.path.normpath(w)) for w in workdirs]
  if len(set(names)) < len(names):
    names = [os.path.normpath(w) for w in workdirs]
  return names


def read_final_metrics(workdir: str) -> dict:
  path = os.path.join(workdir, FINAL_METRICS_FILE)
  if not os.path.isfile(path):
    return {}
  with open(path) as f:
    return json.load(f)


def _format(value) -> str:
  if isinstance(value, float):
    return f"{value:.4g}"
  return str(value)


def comparison_markdown(names, configs, final_metrics) -> list[str]:
  differences = config_differences(dict(zip(names, configs)))
  lines = ["## Runs side by side", "", "### Config keys that differ", ""]
  if differences:
    lines.append(report.table(["key", *names], [[key, *(_format(values[n]) for n in names)]
                                                for key, values in differences.items()]))
  else:
    lines.append("The configs are identical.")
  lines += ["", "### Final metrics (final_metrics.json)", "",
            report.table(["metric", *names], [[key, *(_format(m.get(key, "n/a")) for m in final_metrics)]
                                              for key in RUN_METRICS]), ""]
  return lines


def evaluate_perturbations(workdir: str, split: str = "test", checkpoint: str | int = "best",
                           noise_stds=(0.1,), max_train_batches: int | None = 50,
                           seed: int = 0) -> dict:
  """Test metrics of one run without and with each applicable perturbation.

  Returns:
    {"step", "structure", "perturbations": {name: {"description", metric: value,
    "delta_accuracy"}}}, with "none" the unperturbed baseline.
  """
  # Imported here: TFDS and grain are slow to import and `--help` needs neither.
  from emo_jax import input_pipeline  # pylint: disable=g-import-not-at-top
  from emo_jax import sharding  # pylint: disable=g-import-not-at-top
  from emo_jax.analysis import inference  # pylint: disable=g-import-not-at-top

  run = checkpoints.load(workdir, checkpoint)
  config = run.config
  mesh = sharding.create_mesh(None if config.num_devices == -1 else config.num_devices)
  data = input_pipeline.create_datasets(config.data, mesh, seed=config.seed)
  structure = perturbations_lib.model_structure(run.model, run.variables, data.info.frames_shape)
  chosen = [None] + perturbations_lib.applicable_perturbations(structure, noise_stds)
  bottleneck_code = None
  if structure["has_bottleneck"]:
    bottleneck_code = inference.bottleneck_mean(run.model, run.variables,
                                                data.eval_batches("train"), mesh, max_train_batches)
  variables = inference.replicate(run.variables, mesh)
  results = {}
  for perturbation in chosen:
    name = BASELINE if perturbation is None else perturbation.name
    print(f"{workdir}: evaluating with perturbation {name}", flush=True)
    step = inference.make_eval_step(run.model, perturbation, bottleneck_code, seed)
    metrics, _ = evaluation.evaluate_batches(step, variables, data.eval_batches(split),
                                             data.info.num_classes)
    results[name] = {"description": "unperturbed" if perturbation is None else perturbation.description,
                     **{key: float(metrics[key]) for key in PERTURBATION_METRICS}}
  for values in results.values():
    values["delta_accuracy"] = values["accuracy"] - results[BASELINE]["accuracy"]
  return {"step": run.step, "split": split, "structure": structure, "perturbations": results}


def perturbation_markdown(name: str, result: dict) -> list[str]:
  structure = result["structure"]
  lines = [f"### {name} (step {result['step']}, {result['split']} split)", "",
           f"Model: {structure['num_frames']} frame(s), "
           f"{'bottleneck' if structure['has_bottleneck'] else 'no bottleneck'}, "
           f"{'per-frame encoder + temporal model' if structure['per_frame'] else 'clip (3D) network'}"
           f", modalities: {' + '.join(structure.get('modalities', ('video',)))}.",
           ""]
  rows = [[key, values["description"], f"{100 * values['accuracy']:.2f}",
           f"{100 * values['delta_accuracy']:+.2f}", f"{100 * values['balanced_accuracy']:.2f}",
           f"{values['macro_f1']:.3f}"] for key, values in result["perturbations"].items()]
  lines += [report.table(["perturbation", "what changes", "accuracy %", "Δ accuracy (points)",
                          "UAR %", "macro F1"], rows), ""]
  return lines


def run_ablation(workdirs, out_dir: str, split: str = "test", checkpoint: str | int = "best",
                 noise_stds=(0.1,), max_train_batches: int | None = 50,
                 perturb: bool = True) -> dict:
  """Writes ablation.md, ablation.json and the plots for `workdirs` into `out_dir`."""
  os.makedirs(out_dir, exist_ok=True)
  names = run_names(workdirs)
  configs = [json.loads(json.dumps(checkpoints.read_config(w).to_dict())) for w in workdirs]
  final_metrics = [read_final_metrics(w) for w in workdirs]
  lines = ["# Ablation", "", *[f"- {n}: `{os.path.abspath(w)}`" for n, w in zip(names, workdirs)], ""]
  lines += comparison_markdown(names, configs, final_metrics)
  plots.plot_grouped_bars(
      {key: {n: m.get(key, np.nan) for n, m in zip(names, final_metrics)}
       for key in ("test_accuracy", "test_balanced_accuracy", "test_macro_f1")},
      os.path.join(out_dir, "runs.png"), "Test metrics of each run", "value")
  result = {"runs": names, "workdirs": [os.path.abspath(w) for w in workdirs],
            "config_differences": config_differences(dict(zip(names, configs))),
            "final_metrics": dict(zip(names, final_metrics))}
  if perturb:
    lines += ["## Perturbations", "",
              "Accuracy of each trained model when its input or its bottleneck is changed; "
              "the drop shows what the model relies on.", ""]
    result["perturbations"] = {}
    for name, workdir in zip(names, workdirs):
      evaluation = evaluate_perturbations(workdir, split, checkpoint, noise_stds, max_train_batches)
      result["perturbations"][name] = evaluation
      lines += perturbation_markdown(name, evaluation)
    by_perturbation = {}
    for name, evaluation in result["perturbations"].items():
      for key, values in evaluation["perturbations"].items():
        by_perturbation.setdefault(key, {})[name] = values["accuracy"]
    plots.plot_grouped_bars(by_perturbation, os.path.join(out_dir, "perturbations.png"),
                            f"{split} accuracy under perturbations", "accuracy")
    lines.append("![accuracy under perturbations](perturbations.png)")
  lines.append("![test metrics of each run](runs.png)")
  with open(os.path.join(out_dir, "ablation.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
  with open(os.path.join(out_dir, "ablation.json"), "w") as f:
    json.dump(result, f, indent=2, default=_json_default)
  return result


def _json_default(value):
  if isinstance(value, (np.generic,)):
    return value.item()
  if isinstance(value, tuple):
    return list(value)
  return str(value)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="python -m experiments.ablation",
                                   description=__doc__.splitlines()[0])
  parser.add_argument("--workdirs", nargs="+", required=True, help="training workdirs")
  parser.add_argument("--out", required=True, help="output dir")
  parser.add_argument("--split", default="test", choices=("test", "val"))
  parser.add_argument("--checkpoint", default="best", help="best, latest or a step number")
  parser.add_argument("--noise_std", type=float, action="append", default=None,
                      help="Gaussian noise std on pixels in [0, 1]; repeat for several (default 0.1)")
  parser.add_argument("--max_train_batches", type=int, default=50,
                      help="train batches averaged for the bottleneck mean (-1: all)")
  parser.add_argument("--no_perturbations", action="store_true",
                      help="only compare configs and final metrics")
  args = parser.parse_args(argv)
  missing = [w for w in args.workdirs if not os.path.isdir(w)]
  if missing:
    parser.error(f"not a directory: {', '.join(missing)}")
  run_ablation(args.workdirs, args.out, args.split, args.checkpoint, tuple(args.noise_std or (0.1,)),
               None if args.max_train_batches < 0 else args.max_train_batches,
               perturb=not args.no_perturbations)
  print(f"Wrote {os.path.join(args.out, 'ablation.md')}, ablation.json and plots.")
  return 0


if __name__ == "__main__":
  sys.exit(main())
