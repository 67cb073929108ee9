"""An audio-visual model by modality (both, audio removed, video removed) beside the raters' votes.

CREMA-D's raters judged each clip from the voice alone (VoiceVote), the face alone
(FaceVote) or both (MultiModalVote, summaryTable.csv); each way of running the model is
set beside the raters who had the same information, on the same clips.
"""
from collections.abc import Mapping, Sequence

import numpy as np

from emo_jax import metrics as metrics_lib
from emo_jax.analysis import human
from emo_jax.analysis import report
from emo_jax.data import cremad

# Condition -> (what the model sees, the raters who saw the same, summaryTable column).
CONDITIONS = {
    "both": ("audio and video", "multimodal", "MultiModalVote"),
    "audio_removed": ("video only (audio removed)", "face", "FaceVote"),
    "video_removed": ("audio only (video removed)", "voice", "VoiceVote"),
}
# What a one-modality model sees, as a condition.
SINGLE_MODALITY_CONDITION = {("audio",): "video_removed", ("video",): "audio_removed"}


def condition_of(modalities: Sequence[str]) -> str:
  """The condition a model's unperturbed evaluation is: "both" with audio and video."""
  modalities = tuple(sorted(modalities))
  return "both" if modalities == ("audio", "video") else SINGLE_MODALITY_CONDITION[modalities]


def compare(labels: np.ndarray, probabilities_by_condition: Mapping[str, np.ndarray],
            num_classes: int, clip_names: Sequence[str] | None = None,
            metadata: cremad.CremadMetadata | None = None) -> dict:
  """Accuracy and UAR of each condition, and the matching raters' majority vote where known.

  Args:
    labels: `[N]`.
    probabilities_by_condition: condition (a key of CONDITIONS) -> `[N, K]`.
    num_classes: K.
    clip_names, metadata: CREMA-D clip names and CSVs; without them (or without
      summaryTable.csv) the raters' columns are left out.

  Returns:
    condition -> {"model_sees", "accuracy", "uar", "raters", "rater_column"} and, with
    votes, "majority_vote" (`human.compare_majority_vote` on the same clips).
  """
  labels = np.asarray(labels, np.int64)
  result = {}
  for condition, probabilities in probabilities_by_condition.items():
    model_sees, raters, column = CONDITIONS[condition]
    metrics = metrics_lib.classification_metrics(labels, np.asarray(probabilities), num_classes)
    row = {"model_sees": model_sees, "accuracy": float(metrics["accuracy"]),
           "uar": float(metrics["balanced_accuracy"]), "raters": raters, "rater_column": column}
    if clip_names is not None and metadata is not None and metadata.human_votes:
      row["majority_vote"] = human.compare_majority_vote(
          labels, np.asarray(probabilities).argmax(axis=-1), clip_names, metadata, raters)
    result[condition] = row
  return result


def markdown(comparison: Mapping[str, Mapping]) -> list[str]:
  """The "By modality" section of the evaluation report."""
  lines = ["## By modality", "",
           "The model with each modality removed (the branch is masked out, as in training "
           "with modality dropout), beside the crowd raters who had the same information. "
           "Raters' accuracy is on the clips with a unique majority vote; the model's is on "
           "all clips, and on those same clips in the last column.", ""]
  rows = []
  for row in comparison.values():
    vote = row.get("majority_vote")
    if vote is None:
      raters, model_on_voted = "n/a (no summaryTable.csv)", "n/a"
    else:
      voted = vote["on_voted_clips"]
      raters = (f"{report.format_rate(voted['human_accuracy'])} ({row['rater_column']}, "
                f"{vote['num_voted']} clips)")
      model_on_voted = report.format_rate(voted["model_accuracy"])
    rows.append([row["model_sees"], f"{100 * row['accuracy']:.1f}%", f"{100 * row['uar']:.1f}%",
                 raters, model_on_voted])
  lines += [report.table(["model sees", "accuracy", "UAR", "raters' majority vote",
                          "model on the raters' clips"], rows), ""]
  return lines
