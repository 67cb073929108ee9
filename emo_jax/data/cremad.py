"""CREMA-D constants, clip names and metadata readers."""
from collections.abc import Sequence
import csv
import dataclasses
import os

import numpy as np

# Class order used everywhere (label index = position). Crowd-vote letters A D F H N S
# follow the same order.
EMOTIONS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
EMOTION_NAMES = ("anger", "disgust", "fear", "happy", "neutral", "sad")
VOTE_LETTERS = ("A", "D", "F", "H", "N", "S")
# CREMA-D class -> the shared label space (emo_jax.data.labels, which adds surprise, calm).
TO_COMMON = dict(zip(EMOTIONS, EMOTION_NAMES))
LEVELS = ("LO", "MD", "HI", "XX")
# The 12 sentences; only IEO is spoken at three intensity levels (LO, MD, HI), the
# others at an unspecified level (XX).
SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
ACTORS = tuple(range(1001, 1092))
# Clips known to be broken in the official release; excluded by default.
BROKEN_CLIPS = frozenset(
    {"1076_MTI_NEU_XX", "1076_MTI_SAD_XX", "1064_TIE_SAD_XX", "1064_IEO_DIS_MD"})


@dataclasses.dataclass(frozen=True, order=True)
class ClipName:
  """A parsed `ActorID_Sentence_Emotion_Level` clip name, e.g. `1001_DFA_ANG_XX`."""
  actor: int
  sentence: str
  emotion: str
  level: str

  @property
  def name(self) -> str:
    return f"{self.actor}_{self.sentence}_{self.emotion}_{self.level}"

  @property
  def label(self) -> int:
    return EMOTIONS.index(self.emotion)


def parse_clip_name(name_or_path: str | os.PathLike) -> ClipName:
  """Parses `1001_DFA_ANG_XX` (or a path to `1001_DFA_ANG_XX.flv`) into a ClipName.

  Raises:
    ValueError: naming the file, when the name is not a CREMA-D clip name.
  """
  stem = os.path.splitext(os.path.basename(os.fspath(name_or_path)))[0]
  parts = stem.split("_")
  problem = None
  if len(parts) != 4:
    problem = "expected 4 parts ActorID_Sentence_Emotion_Level"
  elif not parts[0].isdigit():
    problem = f"actor id {parts[0]!r} is not a number"
  elif parts[1] not in SENTENCES:
    problem = f"sentence {parts[1]!r} is not one of {', '.join(SENTENCES)}"
  elif parts[2] not in EMOTIONS:
    problem = f"emotion {parts[2]!r} is not one of {', '.join(EMOTIONS)}"
  elif parts[3] not in LEVELS:
    problem = f"level {parts[3]!r} is not one of {', '.join(LEVELS)}"
  if problem:
    raise ValueError(
        f"{os.fspath(name_or_path)!r} is not a CREMA-D clip name ({problem}); "
        "names look like 1001_DFA_ANG_XX.flv")
  return ClipName(int(parts[0]), parts[1], parts[2], parts[3])


# ---------------------------------------------------------------------------
# Metadata readers.
# ---------------------------------------------------------------------------

CLONE_COMMAND = "git lfs clone https://github.com/CheyneyComputerScience/CREMA-D.git"
DEMOGRAPHICS_CSV = "VideoDemographics.csv"
SENTENCE_FILENAMES_CSV = "SentenceFilenames.csv"
TABULATED_VOTES_CSV = os.path.join("processedResults", "tabulatedVotes.csv")
SUMMARY_TABLE_CSV = os.path.join("processedResults", "summaryTable.csv")
# Rater presentations in processedResults/*. In tabulatedVotes.csv the unnamed first
# column is `queryType * 100000 + stimulus number` (queryType codes from the CREMA-D
# README: 1 voice only, 2 face only, 3 audio-visual; each row's majority matches the
# matching summaryTable.csv column), so every clip has three rows.
MODALITIES = ("voice", "face", "multimodal")
_QUERY_TYPE_TO_MODALITY = {1: "voice", 2: "face", 3: "multimodal"}
# `load_votes(modality=ALL_MODALITIES)` sums the three presentations.
ALL_MODALITIES = "all"
NO_VOTE = -1
# Files that Git LFS did not fetch hold a small text pointer starting with this.
LFS_POINTER_PREFIX = "version https://git-lfs"


@dataclasses.dataclass(frozen=True)
class Demographics:
  """One row of VideoDemographics.csv."""
  age: int
  sex: str  # "Male" / "Female".
  race: str  # "Caucasian", "African American", "Asian", "Unknown".
  ethnicity: str  # "Hispanic" / "Not Hispanic".


@dataclasses.dataclass(frozen=True, eq=False)
class Votes:
  """Crowd votes for one clip: response counts over the six classes.

  Attributes:
    counts: int64 [6], responses per class in EMOTIONS order (columns A D F H N S).
    num_responses: total responses (the file's numResponses; equals counts.sum()).
    agreement: share of responses for the most voted class (the file's `agreement`;
      recomputed as max(counts) / num_responses when modalities are pooled).
  """
  counts: np.ndarray
  num_responses: int
  agreement: float

  @property
  def distribution(self) -> np.ndarray:
    """float32 [6] soft label: counts / num_responses; uniform when nobody voted."""
    total = int(self.counts.sum())
    if total == 0:
      return np.full(len(EMOTIONS), 1.0 / len(EMOTIONS), np.float32)
    return (self.counts / total).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class HumanVotes:
  """Majority crowd vote per presentation from summaryTable.csv, as label indices.

  NO_VOTE (-1) where the majority is a tie (e.g. "A:N") or the cell is empty.
  """
  face: int
  voice: int
  multimodal: int


@dataclasses.dataclass(frozen=True)
class CremadMetadata:
  """All CREMA-D metadata CSVs, keyed by actor id or clip name.

  Attributes:
    demographics: actor id -> Demographics (VideoDemographics.csv).
    votes: clip name -> Votes pooled over voice, face and audio-visual raters.
    votes_by_modality: "voice" / "face" / "multimodal" -> clip name -> Votes.
    human_votes: clip name -> HumanVotes (summaryTable.csv).
    sentence_filenames: clip names in stimulus order (SentenceFilenames.csv).
    missing_files: optional CSVs that were absent (only with `require_all=False`);
      their fields are then empty.
  """
  demographics: dict[int, Demographics]
  votes: dict[str, Votes]
  votes_by_modality: dict[str, dict[str, Votes]]
  human_votes: dict[str, HumanVotes]
  sentence_filenames: list[str]
  missing_files: tuple[str, ...] = ()

  @property
  def face_votes(self) -> dict[str, int]:
    return {name: votes.face for name, votes in self.human_votes.items()}


def _read_csv(root: str | os.PathLike, relative_path: str,
              required_columns: Sequence[str]) -> list[dict[str, str]]:
  """Reads `root/relative_path` as a list of row dicts, checking its columns."""
  path = os.path.join(os.fspath(root), relative_path)
  if not os.path.isfile(path):
    raise FileNotFoundError(
        f"{path} not found: a CREMA-D clone must contain {relative_path}. Point to the "
        f"root of a clone made with `{CLONE_COMMAND}`.")
  with open(path, newline="", encoding="utf-8") as f:
    head = f.read(len(LFS_POINTER_PREFIX))
    if head == LFS_POINTER_PREFIX:
      raise ValueError(f"{path} is a Git LFS pointer stub, not the CSV; run `git lfs pull` "
                       "inside the clone.")
    f.seek(0)
    reader = csv.DictReader(f)
    missing = [c for c in required_columns if c not in (reader.fieldnames or ())]
    if missing:
      raise ValueError(f"{path} lacks column(s) {', '.join(missing)} (has "
                       f"{', '.join(reader.fieldnames or ())}); is it the CREMA-D file?")
    return list(reader)



def load_demographics(root: str | os.PathLike) -> dict[int, Demographics]:
  """Reads VideoDemographics.csv: actor id -> Demographics (91 actors in CREMA-D)."""
  rows = _read_csv(root, DEMOGRAPHICS_CSV, ("ActorID", "Age", "Sex", "Race", "Ethnicity"))
  try:
    return {int(r["ActorID"]): Demographics(int(r["Age"]), r["Sex"], r["Race"], r["Ethnicity"])
            for r in rows}
  except ValueError as e:
    raise ValueError(f"{os.path.join(os.fspath(root), DEMOGRAPHICS_CSV)}: {e}") from e


def load_sentence_filenames(root: str | os.PathLike) -> list[str]:
  """Reads SentenceFilenames.csv: the 7,442 clip names in stimulus order."""
  return [r["Filename"] for r in _read_csv(root, SENTENCE_FILENAMES_CSV, ("Filename",))]


def _load_votes_by_modality(root: str | os.PathLike) -> dict[str, dict[str, Votes]]:
  """Reads tabulatedVotes.csv into modality -> clip name -> Votes."""
  path = os.path.join(os.fspath(root), TABULATED_VOTES_CSV)
  rows = _read_csv(root, TABULATED_VOTES_CSV,
                   ("", *VOTE_LETTERS, "fileName", "numResponses", "agreement"))
  by_modality = {modality: {} for modality in MODALITIES}
  for row in rows:
    try:
      modality = _QUERY_TYPE_TO_MODALITY.get(int(row[""]) // 100000)
      counts = np.array([int(row[letter]) for letter in VOTE_LETTERS], np.int64)
      votes = Votes(counts, int(row["numResponses"]), float(row["agreement"]))
    except ValueError as e:
      raise ValueError(f"{path}: bad row for {row['fileName']!r}: {e}") from e
    if modality is None:
      raise ValueError(f"{path}: row id {row['']!r} of {row['fileName']!r} does not start "
                       "with a query type 1 (voice), 2 (face) or 3 (audio-visual)")
    by_modality[modality][row["fileName"]] = votes
  return by_modality


def _pool(per_modality: Sequence[Votes]) -> Votes:
  counts = sum(v.counts for v in per_modality)
  num_responses = sum(v.num_responses for v in per_modality)
  agreement = float(counts.max() / num_responses) if num_responses else 0.0
  return Votes(counts, num_responses, agreement)


def _pool_modalities(by_modality: dict[str, dict[str, Votes]]) -> dict[str, Votes]:
  names = sorted(set().union(*by_modality.values()))
  return {name: _pool([m[name] for m in by_modality.values() if name in m]) for name in names}


def load_votes(root: str | os.PathLike, modality: str = ALL_MODALITIES) -> dict[str, Votes]:
  """Reads processedResults/tabulatedVotes.csv: clip name -> Votes.

  The file has one row per clip and rater presentation (voice only, face only,
  audio-visual). `modality="all"` (default) sums the three: about 28 responses per clip.

  Args:
    root: a CREMA-D clone.
    modality: "all", or one of MODALITIES ("voice", "face", "multimodal").
  """
  if modality != ALL_MODALITIES and modality not in MODALITIES:
    raise ValueError(f"modality must be {ALL_MODALITIES!r} or one of {MODALITIES}, "
                     f"got {modality!r}")
  by_modality = _load_votes_by_modality(root)
  if modality == ALL_MODALITIES:
    return _pool_modalities(by_modality)
  return by_modality[modality]


def vote_label(vote: str) -> int:
  """Maps a summaryTable vote ("A" .. "S") to its label index; ties ("A:N") or "" -> -1."""
  vote = vote.strip()
  return VOTE_LETTERS.index(vote) if vote in VOTE_LETTERS else NO_VOTE


def load_human_votes(root: str | os.PathLike) -> dict[str, HumanVotes]:
  """Reads processedResults/summaryTable.csv: clip name -> majority votes (-1 on ties)."""
  rows = _read_csv(root, SUMMARY_TABLE_CSV,
                   ("FileName", "VoiceVote", "FaceVote", "MultiModalVote"))
  return {r["FileName"]: HumanVotes(face=vote_label(r["FaceVote"]),
                                    voice=vote_label(r["VoiceVote"]),
                                    multimodal=vote_label(r["MultiModalVote"]))
          for r in rows}


def load_face_votes(root: str | os.PathLike) -> dict[str, int]:
  """Face-only majority vote per clip as a label index; -1 for ties ("A:N") or none."""
  return {name: votes.face for name, votes in load_human_votes(root).items()}


def load_metadata(root: str | os.PathLike, require_all: bool = True) -> CremadMetadata:
  """Reads all CREMA-D metadata CSVs under `root`.

  Args:
    root: a CREMA-D clone (or a tree laid out like one).
    require_all: VideoDemographics.csv is always required. With False, absent
      SentenceFilenames.csv, tabulatedVotes.csv or summaryTable.csv leave their fields
      empty and are listed in `missing_files` (useful for partial or synthetic trees).

  Raises:
    FileNotFoundError: naming the missing CSV.
  """
  demographics = load_demographics(root)
  missing = []

  def optional(load, relative_path, empty):
    try:
      return load(root)
    except FileNotFoundError:
      if require_all:
        raise
      missing.append(relative_path)
      return empty

  sentence_filenames = optional(load_sentence_filenames, SENTENCE_FILENAMES_CSV, [])
  votes_by_modality = optional(_load_votes_by_modality, TABULATED_VOTES_CSV,
                               {modality: {} for modality in MODALITIES})
  human_votes = optional(load_human_votes, SUMMARY_TABLE_CSV, {})
  return CremadMetadata(
      demographics=demographics,
      votes=_pool_modalities(votes_by_modality),
      votes_by_modality=votes_by_modality,
      human_votes=human_votes,
      sentence_filenames=sentence_filenames,
      missing_files=tuple(missing))


def list_clips(root: str | os.PathLike, exclude_broken: bool = True) -> list[ClipName]:
  """Lists the clips in `root/VideoFlash/*.flv`, sorted.

  Args:
    root: a CREMA-D clone.
    exclude_broken: drop BROKEN_CLIPS (four clips broken in the official release).

  Raises:
    FileNotFoundError: when VideoFlash/ is missing or holds no .flv file.
    ValueError: naming the file, for a .flv whose name is not a CREMA-D clip name.
  """
  video_dir = os.path.join(os.fspath(root), "VideoFlash")
  names = sorted(f for f in os.listdir(video_dir) if f.endswith(".flv")) if os.path.isdir(
      video_dir) else []
  if not names:
    raise FileNotFoundError(
        f"no .flv clips in {video_dir}: expected a CREMA-D clone with VideoFlash/*.flv. "
        f"Get it with `{CLONE_COMMAND}` (the GitHub zip download holds only Git LFS "
        "stubs, not the videos).")
  clips = sorted(parse_clip_name(os.path.join(video_dir, name)) for name in names)
  if exclude_broken:
    clips = [clip for clip in clips if clip.name not in BROKEN_CLIPS]
  return clips
