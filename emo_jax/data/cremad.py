"""CREMA-D constants, clip names and metadata readers."""
import dataclasses
import os

# Class order used everywhere (label index = position). Crowd-vote letters A D F H N S
# follow the same order.
EMOTIONS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
EMOTION_NAMES = ("anger", "disgust", "fear", "happy", "neutral", "sad")
VOTE_LETTERS = ("A", "D", "F", "H", "N", "S")
LEVELS = ("LO", "MD", "HI", "XX")
# The 12 sentences; only IEO is spoken at three intensity levels (LO, MD, HI), the
# others at an unspecified level (XX).
SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
ACTORS = tuple(range(1001, 1092))
# Clips known to be broken in the official release; excluded by default.
BROKEN_CLIPS = frozenset({"1076_MTI_NEU_XX", "1076_MTI_SAD_XX", "1064_TIE_SAD_XX", "1064_IEO_DIS_MD"})


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
