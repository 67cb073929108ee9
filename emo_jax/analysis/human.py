"""The model beside the CREMA-D crowd raters: majority-vote accuracy, agreement, vote distributions."""
from collections.abc import Sequence

import numpy as np

from emo_jax.analysis import groups
from emo_jax.data import cremad

_EPSILON = 1e-12


def _rate(successes: int, trials: int) -> dict:
  low, high = groups.wilson_interval(successes, trials)
  return {"count": int(successes), "of": int(trials),
          "rate": successes / trials if trials else None,
          "ci_low": None if np.isnan(low) else low, "ci_high": None if np.isnan(high) else high}


def compare_majority_vote(labels: Sequence[int], predictions: Sequence[int],
                          clip_names: Sequence[str], metadata: cremad.CremadMetadata,
                          modality: str = "face") -> dict:
  """Scores the raters' majority vote (summaryTable.csv) and the model on the same clips.

  Args:
    labels: `[N]` intended emotions (label indices in `cremad.EMOTIONS` order).
    predictions: `[N]` model predictions.
    clip_names: `[N]` clip names.
    metadata: with `human_votes` (summaryTable.csv).
    modality: "face" (FaceVote: raters saw the video without sound, as the model
      does), "voice" or "multimodal".

  Returns:
    A dict of rates (`{"count", "of", "rate", "ci_low", "ci_high"}`):
      on_voted_clips: clips with a unique majority vote (no tie, vote present):
        `model_accuracy`, `human_accuracy`, `agreement` (model prediction == vote), and
        `both_correct`, `model_only_correct`, `human_only_correct`, `both_wrong`.
      all_clips: every clip; a tie or a missing vote counts as a wrong human answer:
        `model_accuracy`, `human_accuracy_ties_wrong`.
    plus `num_clips`, `num_in_table` (clips present in summaryTable.csv), `num_ties`
    (present but tied or empty) and `num_voted`.
  """
  if modality not in cremad.MODALITIES:
    raise ValueError(f"modality must be one of {cremad.MODALITIES}, got {modality!r}")
  labels = np.asarray(labels, np.int64)
  predictions = np.asarray(predictions, np.int64)
  names = list(clip_names)
  if not labels.shape == predictions.shape == (len(names),):
    raise ValueError(f"labels {labels.shape}, predictions {predictions.shape} and "
                     f"{len(names)} clip names must have the same length")
  in_table = np.array([name in metadata.human_votes for name in names], bool)
  votes = np.array([getattr(metadata.human_votes[name], modality) if present else cremad.NO_VOTE
                    for name, present in zip(names, in_table)], np.int64)
  voted = votes != cremad.NO_VOTE
  model_correct = predictions == labels
  human_correct = votes == labels  # False for ties and missing votes.
  n_voted = int(voted.sum())

  def on_voted(mask):
    return _rate(int((mask & voted).sum()), n_voted)

  return {
      "modality": modality,
      "num_clips": len(names),
      "num_in_table": int(in_table.sum()),
      "num_ties": int((in_table & ~voted).sum()),
      "num_voted": n_voted,
      "on_voted_clips": {
          "model_accuracy": on_voted(model_correct),
          "human_accuracy": on_voted(human_correct),
          "agreement": on_voted(predictions == votes),
          "both_correct": on_voted(model_correct & human_correct),
          "model_only_correct": on_voted(model_correct & ~human_correct),
          "human_only_correct": on_voted(~model_correct & human_correct),
          "both_wrong": on_voted(~model_correct & ~human_correct),
      },
      "all_clips": {
          "model_accuracy": _rate(int(model_correct.sum()), len(names)),
          "human_accuracy_ties_wrong": _rate(int(human_correct.sum()), len(names)),
      },
  }


def compare_vote_distribution(labels: Sequence[int], probabilities: np.ndarray,
                              clip_names: Sequence[str], metadata: cremad.CremadMetadata,
                              modality: str = "face") -> dict:
  """How close the model's probabilities are to the crowd's vote distribution.

  Uses the clips with at least one response of `modality` in tabulatedVotes.csv; `q` is
  the crowd's distribution, `p` the model's.

  Returns:
    num_clips: clips with crowd votes.
    mean_vote_match: mean of `sum_k p_k q_k`, the chance that a class drawn from the
      model matches a randomly chosen rater's answer.
    mean_total_variation: mean of `0.5 * sum_k |p_k - q_k|` (0 same, 1 disjoint).
    mean_kl_crowd_to_model: mean of `KL(q || p)` in nats.
    top1_match_plurality: share of clips where the model's top class is the crowd's
      most voted class (any of them when several tie).
    crowd_plurality_accuracy_ties_wrong: share where the crowd's unique most voted
      class is the intended emotion (for scale; a plurality tie counts as wrong).
    mean_crowd_agreement: mean share of raters who chose the most voted class.
  """
  labels = np.asarray(labels, np.int64)
  probabilities = np.asarray(probabilities, np.float64)
  if probabilities.ndim != 2 or probabilities.shape[1] != len(cremad.EMOTIONS):
    raise ValueError(f"probabilities must be [N, {len(cremad.EMOTIONS)}] in CREMA-D class "
                     f"order, got {probabilities.shape}")
  by_clip = metadata.votes_by_modality.get(modality, {})
  rows, crowd = [], []
  for row, name in enumerate(clip_names):
    votes = by_clip.get(name)
    if votes is not None and votes.counts.sum() > 0:
      rows.append(row)
      crowd.append(votes.counts / votes.counts.sum())
  result = {"modality": modality, "num_clips": len(rows)}
  if not rows:
    return result
  p = probabilities[rows]
  q = np.asarray(crowd, np.float64)
  plurality = q == q.max(axis=1, keepdims=True)
  unique_plurality = plurality.sum(axis=1) == 1
  model_top = p.argmax(axis=1)
  kl = np.sum(np.where(q > 0, q * (np.log(np.maximum(q, _EPSILON)) - np.log(np.maximum(p, _EPSILON))),
                       0.0), axis=1)
  result.update({
      "mean_vote_match": float(np.mean(np.sum(p * q, axis=1))),
      "mean_total_variation": float(np.mean(0.5 * np.abs(p - q).sum(axis=1))),
      "mean_kl_crowd_to_model": float(np.mean(kl)),
      "top1_match_plurality": float(np.mean(plurality[np.arange(len(rows)), model_top])),
      "crowd_plurality_accuracy_ties_wrong": float(np.mean(
          unique_plurality & (q.argmax(axis=1) == labels[rows]))),
      "mean_crowd_agreement": float(np.mean(q.max(axis=1))),
  })
  return result
