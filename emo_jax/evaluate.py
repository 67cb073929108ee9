"""Evaluates a trained run: `python -m emo_jax.evaluate --workdir DIR [--checkpoint best] [--split test]`.

Writes to `--out` (default `DIR/evaluation/<split>_<checkpoint>`): metrics.json,
report.md, predictions.npz, confusion_matrix.png, reliability_diagram.png and the
embedding maps embeddings_{tsne,pca}[_by_actor].png. For CREMA-D runs the report breaks
accuracy down by actor, demographic group and emotion level, and sets the model beside
the crowd raters' face-only votes; FER2013 runs skip those parts and say why.
"""
import argparse
import json
import os
import sys

import numpy as np

from emo_jax import checkpoints
from emo_jax import evaluation
from emo_jax import metrics as metrics_lib
from emo_jax.analysis import dataset_metadata
from emo_jax.analysis import groups
from emo_jax.analysis import human
from emo_jax.analysis import plots
from emo_jax.analysis import report

SPLITS = ("test", "val")


def _jsonable(value):
  if isinstance(value, dict):
    return {str(k): _jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_jsonable(v) for v in value]
  if isinstance(value, groups.GroupAccuracy):
    return value.to_json()
  if isinstance(value, np.ndarray):
    return value.tolist()
  if isinstance(value, np.generic):
    return value.item()
  if isinstance(value, float) and np.isnan(value):
    return None
  return value


def write_evaluation(out_dir: str, labels: np.ndarray, probabilities: np.ndarray,
                     class_names: tuple[str, ...], embeddings: np.ndarray | None = None,
                     clip_metadata: dataset_metadata.ClipMetadata | None = None,
                     record_indices: np.ndarray | None = None, title: str = "Evaluation",
                     run_info: dict | None = None, extra_metrics: dict | None = None) -> dict:
  """Writes the metrics, report and figures of one set of predictions; needs no model.

  Args:
    out_dir: created if missing.
    labels: `[N]` true classes.
    probabilities: `[N, K]`.
    class_names: K names.
    embeddings: `[N, D]` clip embeddings (aux["pooled"]) for the embedding maps.
    clip_metadata: CREMA-D clip names and CSVs; the CREMA-D sections are skipped (with
      its notes in the report) when it or its parts are None.
    record_indices: `[N]` record indices, saved in predictions.npz.
    title: report title.
    run_info: shown at the top of the report and stored in metrics.json (workdir, step...).
    extra_metrics: scalars added to metrics.json (e.g. the loss).

  Returns:
    The content of metrics.json.
  """
  os.makedirs(out_dir, exist_ok=True)
  labels = np.asarray(labels, np.int64)
  probabilities = np.asarray(probabilities, np.float64)
  clip_metadata = clip_metadata or dataset_metadata.ClipMetadata(None, None, ())
  predictions = probabilities.argmax(axis=-1)
  metrics = metrics_lib.classification_metrics(labels, probabilities, len(class_names))
  metrics.update(extra_metrics or {})
  result = {**metrics, "class_names": list(class_names), "num_clips": int(labels.size),
            **({"run": run_info} if run_info else {})}

  plots.plot_confusion_matrix(metrics["confusion_matrix"], class_names,
                              os.path.join(out_dir, "confusion_matrix.png"))
  plots.plot_reliability_diagram(probabilities, labels,
                                 os.path.join(out_dir, "reliability_diagram.png"),
                                 ece=metrics["expected_calibration_error"])
  actors = clip_metadata.actors
  if embeddings is not None:
    plots.plot_embeddings(embeddings, labels, class_names, out_dir, actors=actors)

  lines = [f"# {title}", ""]
  lines += [f"- {key}: {value}" for key, value in (run_info or {}).items()]
  lines += report.summary_lines(metrics) + ["", "## Classification report", "",
                                            report.classification_report(metrics, class_names), "",
                                            "![confusion matrix](confusion_matrix.png)",
                                            "![reliability diagram](reliability_diagram.png)", ""]
  lines += ["## CREMA-D breakdowns", ""] + [f"_{note}_" for note in clip_metadata.notes] + [""]
  if clip_metadata.clip_names is not None:
    correct = predictions == labels
    demographics = clip_metadata.metadata.demographics if clip_metadata.metadata else {}
    breakdowns = groups.cremad_breakdowns(correct, clip_metadata.clip_names, demographics)
    if not demographics:
      breakdowns = {k: v for k, v in breakdowns.items() if k not in groups.DEMOGRAPHIC_FIELDS}
    result["breakdowns"] = breakdowns
    lines += report.breakdown_sections(breakdowns)
    if clip_metadata.metadata is not None:
      lines += ["## The model beside the crowd raters", ""]
      majority = distribution = None
      if clip_metadata.metadata.human_votes:
        majority = human.compare_majority_vote(labels, predictions, clip_metadata.clip_names,
                                               clip_metadata.metadata, "face")
      if any(clip_metadata.metadata.votes_by_modality.values()):
        distribution = human.compare_vote_distribution(labels, probabilities,
                                                       clip_metadata.clip_names,
                                                       clip_metadata.metadata, "face")
      result["raters"] = {"majority_vote": majority, "vote_distribution": distribution}
      lines += report.rater_sections(majority, distribution)
  if embeddings is not None:
    lines += ["## Clip embeddings", "",
              "Coloured by emotion, then by actor: clusters by actor mean the embedding "
              "encodes who is speaking more than how they feel.", "",
              "![t-SNE](embeddings_tsne.png) ![PCA](embeddings_pca.png)"]
    if actors is not None:
      lines += ["![t-SNE by actor](embeddings_tsne_by_actor.png) "
                "![PCA by actor](embeddings_pca_by_actor.png)"]
    lines.append("")

  with open(os.path.join(out_dir, "report.md"), "w") as f:
    f.write("\n".join(lines))
  result = _jsonable(result)
  with open(os.path.join(out_dir, "metrics.json"), "w") as f:
    json.dump(result, f, indent=2)
  arrays = {"label": labels, "probabilities": probabilities.astype(np.float32)}
  if record_indices is not None:
    arrays["index"] = np.asarray(record_indices)
  if clip_metadata.clip_names is not None:
    arrays["clip_name"] = np.asarray(clip_metadata.clip_names)
  if embeddings is not None:
    arrays["embedding"] = np.asarray(embeddings, np.float32)
  np.savez_compressed(os.path.join(out_dir, "predictions.npz"), **arrays)
  return result


def evaluate_run(workdir: str, checkpoint: str | int = "best", split: str = "test",
                 out_dir: str | None = None, metadata_dir: str | None = None) -> dict:
  """Evaluates a checkpoint of a run on a split of its dataset and writes the results.

  Args:
    workdir: the run's workdir.
    checkpoint: "best", "latest" or a step.
    split: "test" or "val" (the run's actor split, config.data.split).
    out_dir: default `workdir/evaluation/<split>_<checkpoint>`.
    metadata_dir: CREMA-D clone or synthetic tree with the metadata CSVs (found from
      the dataset's build info when None).

  Returns:
    The content of metrics.json, plus "out_dir".
  """
  # Imported here: they pull in TFDS and grain, which `write_evaluation` does not need.
  from emo_jax import input_pipeline  # pylint: disable=g-import-not-at-top
  from emo_jax import sharding  # pylint: disable=g-import-not-at-top
  from emo_jax.analysis import inference  # pylint: disable=g-import-not-at-top

  run = checkpoints.load(workdir, checkpoint)
  config = run.config
  mesh = sharding.create_mesh(None if config.num_devices == -1 else config.num_devices)
  data = input_pipeline.create_datasets(config.data, mesh, seed=config.seed)
  metrics, outputs = evaluation.evaluate_batches(
      inference.make_eval_step(run.model), inference.replicate(run.variables, mesh),
      data.eval_batches(split), data.info.num_classes)
  clip_metadata = dataset_metadata.load_clip_metadata(config.data, outputs["index"],
                                                      outputs["label"], metadata_dir)
  out_dir = out_dir or os.path.join(workdir, "evaluation", f"{split}_{checkpoint}")
  run_info = {"workdir": os.path.abspath(workdir), "checkpoint": str(checkpoint),
              "step": run.step, "split": split, "dataset": config.data.dataset,
              "actor_split": config.data.get("split", "")}
  result = write_evaluation(
      out_dir, outputs["label"], outputs["probabilities"], tuple(data.info.class_names),
      embeddings=outputs["pooled"], clip_metadata=clip_metadata, record_indices=outputs["index"],
      title=f"Evaluation of {os.path.basename(os.path.abspath(workdir))} ({split}, {checkpoint})",
      run_info=run_info, extra_metrics={"loss": metrics["loss"]})
  return dict(result, out_dir=out_dir)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="python -m emo_jax.evaluate",
                                   description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", required=True, help="training workdir")
  parser.add_argument("--checkpoint", default="best", help="best, latest or a step number")
  parser.add_argument("--split", default="test", choices=SPLITS)
  parser.add_argument("--out", default=None, help="output dir (default: WORKDIR/evaluation/...)")
  parser.add_argument("--metadata_dir", default=None,
                      help="CREMA-D clone or synthetic tree with the metadata CSVs "
                      "(default: where the dataset was built from)")
  args = parser.parse_args(argv)
  result = evaluate_run(args.workdir, args.checkpoint, args.split, args.out, args.metadata_dir)
  print(f"{result['num_clips']} clips: accuracy {result['accuracy']:.4f}, UAR "
        f"{result['balanced_accuracy']:.4f}, macro F1 {result['macro_f1']:.4f}")
  print(f"Wrote {result['out_dir']}/report.md, metrics.json and figures.")
  return 0


if __name__ == "__main__":
  sys.exit(main())
