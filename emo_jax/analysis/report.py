"""Markdown sections of an evaluation report: classification report, group tables, raters."""
from collections.abc import Mapping, Sequence
import math

from emo_jax.analysis import groups as groups_lib

GROUP_TITLES = {
    "actor": "Accuracy per actor",
    "sex": "Accuracy by sex",
    "age_band": "Accuracy by age band",
    "race": "Accuracy by race",
    "ethnicity": "Accuracy by ethnicity",
    "level": "Accuracy by emotion level (LO/MD/HI only for sentence IEO; XX: unspecified)",
    "emotion": "Accuracy by intended emotion",
}


def _percent(value) -> str:
  if value is None or (isinstance(value, float) and math.isnan(value)):
    return "n/a"
  return f"{100 * value:.1f}%"


def table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
  lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
  lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
  return "\n".join(lines)


def classification_report(metrics: Mapping, class_names: Sequence[str]) -> str:
  """Per-class precision, recall, F1 and support, then macro and weighted averages."""
  rows = []
  for index, name in enumerate(class_names):
    rows.append([name, f"{metrics['per_class_precision'][index]:.3f}",
                 f"{metrics['per_class_recall'][index]:.3f}", f"{metrics['per_class_f1'][index]:.3f}",
                 int(metrics["per_class_support"][index])])
  total = int(metrics["num_examples"])
  for average in ("macro", "weighted"):
    rows.append([f"**{average} avg**", f"{metrics[f'{average}_precision']:.3f}",
                 f"{metrics[f'{average}_recall']:.3f}", f"{metrics[f'{average}_f1']:.3f}", total])
  return table(["class", "precision", "recall", "F1", "support"], rows)


def summary_lines(metrics: Mapping) -> list[str]:
  return [
      f"- clips evaluated: {metrics['num_examples']}",
      f"- accuracy: {_percent(metrics['accuracy'])}",
      f"- balanced accuracy (UAR): {_percent(metrics['balanced_accuracy'])}",
      f"- macro F1: {metrics['macro_f1']:.3f}",
      f"- expected calibration error (15 bins): {metrics['expected_calibration_error']:.3f}",
  ] + ([f"- loss (cross-entropy): {metrics['loss']:.4f}"] if "loss" in metrics else [])


def group_table(rows: Sequence[groups_lib.GroupAccuracy], group_header: str) -> str:
  return table([group_header, "actors", "clips", "correct", "accuracy", "95% CI", "CI from"],
               [[r.group, "?" if r.num_actors is None else r.num_actors, r.num_clips,
                 r.num_correct, _percent(r.accuracy),
                 f"{_percent(r.ci_low)} - {_percent(r.ci_high)}", r.ci_method] for r in rows])


def breakdown_sections(breakdowns: Mapping[str, Sequence[groups_lib.GroupAccuracy]]) -> list[str]:
  sections = []
  for key, rows in breakdowns.items():
    sections += [f"### {GROUP_TITLES.get(key, key)}", "", group_table(rows, key), ""]
  return sections


def format_rate(rate: Mapping) -> str:
  if not rate["of"]:
    return "n/a"
  return (f"{_percent(rate['rate'])} ({rate['count']}/{rate['of']}; "
          f"95% CI {_percent(rate['ci_low'])} - {_percent(rate['ci_high'])})")


def rater_sections(majority: Mapping | None, distribution: Mapping | None) -> list[str]:
  """The model beside the raters: majority-vote table, then the vote-distribution match."""
  lines = []
  if majority is not None:
    modality = majority["modality"]
    voted = majority["on_voted_clips"]
    overall = majority["all_clips"]
    lines += [
        f"### Model vs. the raters' {modality}-only majority vote",
        "",
        f"Of {majority['num_clips']} clips, {majority['num_in_table']} are in summaryTable.csv; "
        f"{majority['num_ties']} of those have a tied (or empty) {modality} vote, leaving "
        f"{majority['num_voted']} clips with a unique majority vote.",
        "",
        table(["", "model", f"raters ({modality} majority)"], [
            ["accuracy on clips with a unique vote", format_rate(voted["model_accuracy"]),
             format_rate(voted["human_accuracy"])],
            ["accuracy on all clips (ties and missing votes count as wrong for the raters)",
             format_rate(overall["model_accuracy"]), format_rate(overall["human_accuracy_ties_wrong"])],
        ]),
        "",
        f"- model and raters agree (same class): {format_rate(voted['agreement'])}",
        f"- both right: {format_rate(voted['both_correct'])}; only the model: "
        f"{format_rate(voted['model_only_correct'])}; only the raters: "
        f"{format_rate(voted['human_only_correct'])}; both wrong: {format_rate(voted['both_wrong'])}",
        "",
    ]
  if distribution is not None:
    modality = distribution["modality"]
    lines += [f"### Model vs. the crowd's {modality}-only vote distribution", ""]
    if not distribution["num_clips"]:
      lines += [f"No clip has {modality}-only votes in tabulatedVotes.csv.", ""]
    else:
      lines += [
          f"Over {distribution['num_clips']} clips with {modality}-only votes (q: the crowd's "
          "share of votes per class, p: the model's probabilities):",
          "",
          f"- chance a model sample matches a random rater, mean of sum p*q: "
          f"{distribution['mean_vote_match']:.3f}",
          f"- total variation distance, mean of 0.5 * sum |p - q|: "
          f"{distribution['mean_total_variation']:.3f}",
          f"- KL(q || p), mean, nats: {distribution['mean_kl_crowd_to_model']:.3f}",
          f"- model's top class is the crowd's most voted class: "
          f"{_percent(distribution['top1_match_plurality'])}",
          f"- for scale: the crowd's unique most voted class is the intended emotion on "
          f"{_percent(distribution['crowd_plurality_accuracy_ties_wrong'])} of clips; mean share "
          f"of raters choosing the most voted class: {_percent(distribution['mean_crowd_agreement'])}",
          "",
      ]
  return lines
