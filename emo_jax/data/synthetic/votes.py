"""Crowd votes: simulated raters per modality and the CREMA-D metadata CSVs that hold them."""
import pathlib

import numpy as np

from emo_jax.data import cremad
from emo_jax.data.synthetic import actors as actors_lib

_MODALITIES = (("Voice", 0.55), ("Face", 1.0), ("MultiModal", 1.1))  # name, clarity
# Where a rater who misses the intended emotion goes (vote letter -> share).
_CONFUSIONS = {
    "ANG": {"N": 0.40, "D": 0.35, "F": 0.10, "S": 0.10, "H": 0.05},
    "DIS": {"N": 0.40, "A": 0.30, "S": 0.15, "F": 0.10, "H": 0.05},
    "FEA": {"N": 0.35, "S": 0.30, "D": 0.15, "A": 0.10, "H": 0.10},
    "HAP": {"N": 0.70, "F": 0.10, "A": 0.10, "D": 0.05, "S": 0.05},
    "NEU": {"S": 0.35, "D": 0.20, "A": 0.15, "H": 0.15, "F": 0.15},
    "SAD": {"N": 0.50, "F": 0.30, "D": 0.10, "A": 0.05, "H": 0.05},
}
_NUM_RESPONSES = (np.arange(6, 13), (0.005, 0.02, 0.09, 0.31, 0.51, 0.063, 0.002))
_RESPONSE_NAMES = ("Anger", "Disgust", "Fear", "Happy", "Neutral", "Sad")


def vote_probabilities(emotion: str, intensity: float, clarity: float) -> np.ndarray:
  """Chance of each vote letter (A D F H N S) for one rater: float64 `[6]`."""
  if emotion == "NEU":
    hit = 0.7 + 0.15 * min(clarity, 1.0)
  else:
    hit = float(np.clip(0.1 + 0.85 * intensity * clarity, 0.05, 0.95))
  probabilities = np.array([_CONFUSIONS[emotion].get(v, 0.0) for v in cremad.VOTE_LETTERS])
  probabilities *= 1 - hit
  probabilities[cremad.EMOTIONS.index(emotion)] += hit
  return probabilities / probabilities.sum()


def _number(value: float) -> str:
  """R's write.csv formatting: 15 significant digits, integers without a decimal point."""
  return "%.15g" % value


def _levels(values) -> str:
  """summaryTable levels: rounded to 2 decimals, ties with a common number of decimals."""
  values = [round(float(v), 2) for v in values]
  decimals = max(0 if v == int(v) else 1 if round(v, 1) == v else 2 for v in values)
  return ":".join(f"{v:.{decimals}f}" for v in values)


def simulate_votes(seed: int, plan: actors_lib.ClipPlan) -> dict:
  """Crowd responses per modality: {modality: {"counts", "ratings", "normalised"}}."""
  clip = plan.clip
  rng = np.random.default_rng([seed, clip.actor, actors_lib.hash_clip(clip), 9])
  actor = actors_lib.make_actor(seed, clip.actor)
  votes = {}
  for modality, clarity in _MODALITIES:
    probabilities = vote_probabilities(clip.emotion, plan.intensity * actor.expressivity, clarity)
    count = int(rng.choice(_NUM_RESPONSES[0], p=_NUM_RESPONSES[1]))
    choices = np.sort(rng.choice(6, size=count, p=probabilities))
    hit = choices == cremad.EMOTIONS.index(clip.emotion)
    mean = np.where(hit, 35 + 45 * plan.intensity * min(clarity, 1.0), 45.0)
    mean = np.where(choices == cremad.EMOTIONS.index("NEU"), 65.0, mean)
    ratings = np.clip(np.round(rng.normal(mean, 15)), 1, 100)
    normalised = np.clip(ratings * rng.uniform(0.85, 1.1, count) + rng.normal(-4, 6, count), 0,
                         100)
    votes[modality] = dict(counts=np.bincount(choices, minlength=6), choices=choices,
                           ratings=ratings, normalised=normalised)
  return votes


def _vote_row(row_id: str, name: str, vote: dict) -> tuple[str, dict]:
  """One tabulatedVotes.csv line and the per-emotion mean ratings (-1 when nobody chose it)."""
  counts, choices = vote["counts"], vote["choices"]
  winners = [cremad.VOTE_LETTERS[i] for i in np.flatnonzero(counts == counts.max())]
  means = {}
  fields = [f'"{row_id}"'] + [str(int(c)) for c in counts]
  fields += [f'"{name}"', str(len(choices)), _number(counts.max() / len(choices)),
             f'"{":".join(winners)}"']
  for key in ("ratings", "normalised"):
    values = vote[key]
    per_emotion = [values[choices == i].mean() if counts[i] else -1.0 for i in range(6)]
    if key == "ratings":
      means = dict(zip(cremad.VOTE_LETTERS, per_emotion))
    fields += [_number(values.mean())] + [_number(v) for v in per_emotion]
    fields.append(_number(np.median(values)))
  return ",".join(fields), {"vote": ":".join(winners),
                            "level": _levels([means[w] for w in winners])}


def write_metadata(root: pathlib.Path, seed: int, actors, clips) -> None:
  """Writes VideoDemographics.csv, SentenceFilenames.csv and processedResults/*.csv."""
  lines = ['"ActorID","Age","Sex","Race","Ethnicity"']
  for actor_id in actors:
    a = actors_lib.make_actor(seed, actor_id)
    lines.append(f'{actor_id},{a.age},"{a.sex}","{a.race}","{a.ethnicity}"')
  (root / "VideoDemographics.csv").write_text("\n".join(lines) + "\n")
  # The real SentenceFilenames.csv has no newline after its last line; so has this one.
  lines = ['"Stimulus_Number","Filename"']
  lines += [f'{number},"{clip.name}"' for number, clip in enumerate(clips, 1)]
  (root / "SentenceFilenames.csv").write_text("\n".join(lines))
  header = ['""', *(f'"{v}"' for v in cremad.VOTE_LETTERS), '"fileName"', '"numResponses"',
            '"agreement"', '"emoVote"', '"meanEmoResp"']
  header += [f'"mean{n}Resp"' for n in _RESPONSE_NAMES] + ['"medianEmoResp"', '"meanEmoRespNorm"']
  header += [f'"mean{n}RespNorm"' for n in _RESPONSE_NAMES] + ['"medianEmoRespNorm"']
  tabulated = {modality: [] for modality, _ in _MODALITIES}
  summary = ['"","FileName","VoiceVote","VoiceLevel","FaceVote","FaceLevel","MultiModalVote",'
             '"MultiModalLevel"']
  for number, clip in enumerate(clips, 1):
    votes = simulate_votes(seed, actors_lib.make_clip_plan(seed, clip))
    fields = [f'"{number}"', f'"{clip.name}"']
    for block, (modality, _) in enumerate(_MODALITIES, 1):
      line, result = _vote_row(f"{block}{number:05d}", clip.name, votes[modality])
      tabulated[modality].append(line)
      fields += [f'"{result["vote"]}"', f'"{result["level"]}"']
    summary.append(",".join(fields))
  (root / "processedResults").mkdir(exist_ok=True)
  rows = [",".join(header)] + [line for lines in tabulated.values() for line in lines]
  (root / "processedResults" / "tabulatedVotes.csv").write_text("\n".join(rows) + "\n")
  (root / "processedResults" / "summaryTable.csv").write_text("\n".join(summary) + "\n")
