"""Evaluates a trained run: `python -m emo_jax.evaluate --workdir DIR [--checkpoint best] [--split test]`.

`--dataset ravdess/g16_112` scores the run's model on another built dataset instead,
through the shared label space (emo_jax/data/labels.py): that dataset's classes the model
also has are scored, the others dropped and listed (metrics.json "cross_dataset").

Writes to `--out` (default `DIR/evaluation/<split>_<checkpoint>`): metrics.json,
report.md, predictions.npz, confusion_matrix.png, reliability_diagram.png and the
embedding maps embeddings_{tsne,pca}[_by_actor].png. For CREMA-D runs the report breaks
accuracy down by actor, demographic group and emotion level, and sets the model beside
the crowd raters' votes of the same modality (face-only for a video model, voice-only for
an audio model, audio-visual for one with both); FER2013 runs skip those parts and say
why. An audio-visual model is also evaluated with the audio removed and with the video
removed, each beside the raters' face-only and voice-only majority votes on the same
clips (report section "By modality", metrics.json "by_modality").
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
from emo_jax.analysis import modalities as modalities_lib
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
                     run_info: dict | None = None, extra_metrics: dict | None = None,
                     rater_modality: str = "face",
                     probabilities_by_condition: dict | None = None) -> dict:
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
    rater_modality: the raters set beside the model: "face" (FaceVote, a video model),
      "voice" or "multimodal" (an audio or audio-visual model).
    probabilities_by_condition: for a model with several modalities,
      `modalities.CONDITIONS` key -> `[N, K]` (e.g. "both", "audio_removed",
      "video_removed"): the "By modality" section and metrics.json "by_modality".

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
                                               clip_metadata.metadata, rater_modality)
      if any(clip_metadata.metadata.votes_by_modality.values()):
        distribution = human.compare_vote_distribution(labels, probabilities,
                                                       clip_metadata.clip_names,
                                                       clip_metadata.metadata, rater_modality)
      result["raters"] = {"majority_vote": majority, "vote_distribution": distribution}
      lines += report.rater_sections(majority, distribution)
  if probabilities_by_condition:
    by_modality = modalities_lib.compare(labels, probabilities_by_condition, len(class_names),
                                         clip_metadata.clip_names, clip_metadata.metadata)
    result["by_modality"] = by_modality
    lines += modalities_lib.markdown(by_modality)
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


def _other_dataset(run, dataset: str, dataset_split: str | None, data_dir: str | None, mesh):
  """(Datasets, Retargeted, its config.data) of another dataset, in the run's classes."""
  import tfds_cremad  # pylint: disable=g-import-not-at-top
  from emo_jax import input_pipeline  # pylint: disable=g-import-not-at-top
  from emo_jax.input_pipeline import relabel  # pylint: disable=g-import-not-at-top
  from emo_jax.input_pipeline import sources  # pylint: disable=g-import-not-at-top
  data_config = run.config.data.copy_and_resolve_references()
  data_config.dataset = tfds_cremad.loading.full_name(dataset)
  data_config.data_dir = os.path.expanduser(data_dir or data_config.data_dir)
  builder = tfds_cremad.load_builder(data_config.dataset, data_config.data_dir)
  data_config.split = dataset_split or builder.DEFAULT_SPLIT
  packed = sources.packed_from_builder(
      builder, data_config.split, with_audio=input_pipeline.audio_samples(data_config) > 0)
  labels_by_part = None
  if not getattr(builder, "FIXED_PARTS", None):  # Split by actor: labels from the index.
    index_labels = tfds_cremad.load_index(builder)["label"]
    labels_by_part = {part: index_labels[ids] for part, ids in packed.indices.items()}
  retargeted = relabel.retarget(packed, tuple(run.class_names), labels_by_part)
  frames_shape = tuple(dataset_frames_shape_of(packed))
  if frames_shape != tuple(run.frames_shape):
    raise ValueError(f"{data_config.dataset} has examples of shape {frames_shape}, the model of "
                     f"{run.workdir} takes {tuple(run.frames_shape)}: build a config of "
                     f"{data_config.dataset.partition('/')[0]} with the run's frames and size")
  data = input_pipeline.Datasets(retargeted.packed, data_config, mesh, run.config.seed)
  return data, retargeted, data_config


def dataset_frames_shape_of(packed) -> tuple[int, ...]:
  """`[T, S, S, C]` of the first train record of an opened dataset (stills: T = 1)."""
  from emo_jax.input_pipeline import records  # pylint: disable=g-import-not-at-top
  part = next(p for p, ids in packed.indices.items() if len(ids))
  record = packed.sources[part][int(packed.indices[part][0])]
  return records.format_example(record, packed.num_classes)["frames"].shape


def evaluate_run(workdir: str, checkpoint: str | int = "best", split: str = "test",
                 out_dir: str | None = None, metadata_dir: str | None = None,
                 dataset: str | None = None, dataset_split: str | None = None,
                 data_dir: str | None = None) -> dict:
  """Evaluates a checkpoint of a run on a split of its dataset (or another) and writes the results.

  Args:
    workdir: the run's workdir.
    checkpoint: "best", "latest" or a step.
    split: "test" or "val" (the run's actor split, config.data.split).
    out_dir: default `workdir/evaluation/<split>_<checkpoint>` (`..._<dataset>` for
      another dataset).
    metadata_dir: CREMA-D clone or synthetic tree with the metadata CSVs (found from
      the dataset's build info when None).
    dataset: another built dataset to score the model on (e.g. "ravdess/g16_112"), through
      the shared label space (emo_jax/data/labels.py): its records of classes the model
      has are relabelled, the others dropped and listed in the report.
    dataset_split: that dataset's split spec (default: its builder's DEFAULT_SPLIT, e.g.
      "ravdess6:fold=1"); `split` picks the part.
    data_dir: where that dataset is built (default: the run's config.data.data_dir).

  Returns:
    The content of metrics.json, plus "out_dir".
  """
  # Imported here: they pull in TFDS and grain, which `write_evaluation` does not need.
  from emo_jax import input_pipeline  # pylint: disable=g-import-not-at-top
  from emo_jax import sharding  # pylint: disable=g-import-not-at-top
  from emo_jax.analysis import inference  # pylint: disable=g-import-not-at-top
  from emo_jax.analysis import perturbations  # pylint: disable=g-import-not-at-top

  run = checkpoints.load(workdir, checkpoint)
  config = run.config
  mesh = sharding.create_mesh(None if config.num_devices == -1 else config.num_devices)
  retargeted = None
  if dataset is None:
    data_config = config.data
    data = input_pipeline.create_datasets(config.data, mesh, seed=config.seed)
  else:
    data, retargeted, data_config = _other_dataset(run, dataset, dataset_split, data_dir, mesh)
  variables = inference.replicate(run.variables, mesh)
  metrics, outputs = evaluation.evaluate_batches(
      inference.make_eval_step(run.model), variables, data.eval_batches(split),
      data.info.num_classes)
  model_modalities = getattr(run.model, "modalities", ("video",))
  condition = modalities_lib.condition_of(model_modalities)
  by_condition = None
  if condition == "both":  # Once more without each modality.
    by_condition = {condition: outputs["probabilities"]}
    for removal in perturbations.modality_removals(model_modalities):
      _, removed = evaluation.evaluate_batches(
          inference.make_eval_step(run.model, removal), variables, data.eval_batches(split),
          data.info.num_classes)
      by_condition[removal.name] = removed["probabilities"]
  clip_metadata = dataset_metadata.load_clip_metadata(data_config, outputs["index"],
                                                      outputs["label"], metadata_dir)
  suffix = "" if retargeted is None else "_" + data_config.dataset.replace("/", "-")
  out_dir = out_dir or os.path.join(workdir, "evaluation", f"{split}_{checkpoint}{suffix}")
  run_info = {"workdir": os.path.abspath(workdir), "checkpoint": str(checkpoint),
              "step": run.step, "split": split, "dataset": data_config.dataset,
              "actor_split": data_config.get("split", "")}
  extra_metrics = {"loss": metrics["loss"]}
  if retargeted is not None:
    run_info["trained_on"] = config.data.dataset
    run_info["label_mapping"] = " ".join(retargeted.describe(split))
    extra_metrics["cross_dataset"] = {
        "scored_classes": [list(k) for k in retargeted.mapping.kept],
        "dropped_classes": [{"class": c, "why": why} for c, why in retargeted.mapping.dropped],
        "dropped_records": retargeted.dropped_counts.get(split, {}),
        "model_classes_without_examples": list(retargeted.mapping.unseen)}
  result = write_evaluation(
      out_dir, outputs["label"], outputs["probabilities"], tuple(data.info.class_names),
      embeddings=outputs["pooled"], clip_metadata=clip_metadata, record_indices=outputs["index"],
      title=(f"Evaluation of {os.path.basename(os.path.abspath(workdir))} ({split}, {checkpoint}"
             + (f", on {data_config.dataset})" if retargeted else ")")),
      run_info=run_info, extra_metrics=extra_metrics,
      rater_modality=modalities_lib.CONDITIONS[condition][1],
      probabilities_by_condition=by_condition)
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
  parser.add_argument("--dataset", default=None,
                      help="score on another built dataset (e.g. ravdess/g16_112) through the "
                      "shared label space; classes the model lacks are dropped and listed")
  parser.add_argument("--dataset_split", default=None,
                      help="that dataset's split spec (default: its own, e.g. ravdess6:fold=1)")
  parser.add_argument("--data_dir", default=None,
                      help="where --dataset is built (default: the run's data_dir)")
  args = parser.parse_args(argv)
  result = evaluate_run(args.workdir, args.checkpoint, args.split, args.out, args.metadata_dir,
                        args.dataset, args.dataset_split, args.data_dir)
  if "cross_dataset" in result:
    cross = result["cross_dataset"]
    print(f"Scored {result['run']['dataset']} as the model's classes: " + ", ".join(
        f"{t} -> {m}" for t, m, _ in cross["scored_classes"]))
    if cross["dropped_classes"]:
      print("Dropped (the model has no such class): " + ", ".join(
          f"{d['class']} ({cross['dropped_records'].get(d['class'], 0)} records)"
          for d in cross["dropped_classes"]))
  print(f"{result['num_clips']} clips: accuracy {result['accuracy']:.4f}, UAR "
        f"{result['balanced_accuracy']:.4f}, macro F1 {result['macro_f1']:.4f}")
  for row in result.get("by_modality", {}).values():
    vote = row.get("majority_vote")
    raters = ("" if vote is None or not vote["num_voted"] else
              f"; raters' {row['rater_column']} "
              f"{vote['on_voted_clips']['human_accuracy']['rate']:.4f} on {vote['num_voted']} clips")
    print(f"  {row['model_sees']}: accuracy {row['accuracy']:.4f}, UAR {row['uar']:.4f}{raters}")
  print(f"Wrote {result['out_dir']}/report.md, metrics.json and figures.")
  return 0


if __name__ == "__main__":
  sys.exit(main())
