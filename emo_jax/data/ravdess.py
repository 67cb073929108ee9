"""RAVDESS constants, file names and the Zenodo layout (`Actor_NN/*.mp4`, or its zips).

RAVDESS (Livingstone & Russo, 2018): 24 actors (odd ids male, even female) speak and
sing two statements in 8 emotions. Each file is named by seven two-digit fields,
`MM-VV-EE-II-SS-RR-AA.ext`, e.g. `01-01-06-01-02-01-12.mp4`:
modality (01 full-AV, 02 video-only, 03 audio-only), vocal channel (01 speech, 02 song),
emotion (01 neutral .. 08 surprised, see EMOTIONS), intensity (01 normal, 02 strong;
neutral has only normal), statement (01 "Kids are talking by the door", 02 "Dogs are
sitting by the door"), repetition (01, 02) and actor (01..24). The video files are
1280x720 H.264 at 29.97 fps; full-AV ones carry 48 kHz audio, video-only ones none.

Zenodo (record 1188976) ships them as `Video_Speech_Actor_NN.zip` and
`Video_Song_Actor_NN.zip`, each holding `Actor_NN/*.mp4`, and `Audio_*` zips of .wav.
"""
from collections.abc import Iterable, Sequence
import dataclasses
import os
import pathlib
import re
import zipfile

# Label index = position = emotion code - 1.
EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
# RAVDESS class -> the shared label space of emo_jax.data.labels (all have one).
TO_COMMON = {"neutral": "neutral", "calm": "calm", "happy": "happy", "sad": "sad",
             "angry": "anger", "fearful": "fear", "disgust": "disgust",
             "surprised": "surprise"}
MODALITIES = {1: "full-AV", 2: "video-only", 3: "audio-only"}
VOCAL_CHANNELS = {1: "speech", 2: "song"}
INTENSITIES = {1: "normal", 2: "strong"}
STATEMENTS = {1: "Kids are talking by the door", 2: "Dogs are sitting by the door"}
ACTORS = tuple(range(1, 25))
VIDEO_SUFFIXES = (".mp4",)
AUDIO_SUFFIXES = (".wav",)
ZIP_PATTERN = re.compile(r"^(Video|Audio)_(Speech|Song)_Actor_(\d\d)\.zip$")
ACTOR_DIR_PATTERN = re.compile(r"^Actor_(\d\d)$")
LAYOUT_HELP = ("the RAVDESS Zenodo layout: Actor_01/ .. Actor_24/ holding files named like "
               "01-01-06-01-02-01-12.mp4, or the Video_Speech_Actor_NN.zip / "
               "Video_Song_Actor_NN.zip archives that hold them")


@dataclasses.dataclass(frozen=True, order=True)
class ClipName:
  """A parsed RAVDESS file name, e.g. `01-01-06-01-02-01-12`."""
  modality: int
  vocal_channel: int
  emotion: int
  intensity: int
  statement: int
  repetition: int
  actor: int

  @property
  def name(self) -> str:
    return "-".join(f"{v:02d}" for v in dataclasses.astuple(self))

  @property
  def label(self) -> int:
    return self.emotion - 1

  @property
  def emotion_name(self) -> str:
    return EMOTIONS[self.label]

  @property
  def sex(self) -> str:
    return "Male" if self.actor % 2 else "Female"

  @property
  def performance(self) -> str:
    """The name without the modality: full-AV and video-only files of one take share it."""
    return self.name[3:]

  @property
  def has_video(self) -> bool:
    return self.modality in (1, 2)

  @property
  def has_audio(self) -> bool:
    return self.modality in (1, 3)


def parse_clip_name(name_or_path: str | os.PathLike) -> ClipName:
  """Parses `01-01-06-01-02-01-12` (or a path to `...12.mp4`) into a ClipName.

  Raises:
    ValueError: naming the file and the field that is wrong.
  """
  stem = os.path.splitext(os.path.basename(os.fspath(name_or_path)))[0]
  parts = stem.split("-")
  problem = None
  if len(parts) != 7 or not all(len(p) == 2 and p.isdigit() for p in parts):
    problem = "expected 7 two-digit fields MM-VV-EE-II-SS-RR-AA"
  else:
    values = [int(p) for p in parts]
    checks = (("modality", values[0], MODALITIES), ("vocal channel", values[1], VOCAL_CHANNELS),
              ("emotion", values[2], range(1, len(EMOTIONS) + 1)),
              ("intensity", values[3], INTENSITIES), ("statement", values[4], STATEMENTS),
              ("repetition", values[5], (1, 2)), ("actor", values[6], ACTORS))
    for field, value, allowed in checks:
      if value not in allowed:
        problem = f"{field} {value:02d} is not one of {', '.join(f'{a:02d}' for a in allowed)}"
        break
    if problem is None and values[2] == 1 and values[3] == 2:
      problem = "neutral (emotion 01) has no strong intensity (02)"
  if problem:
    raise ValueError(f"{os.fspath(name_or_path)!r} is not a RAVDESS file name ({problem}); "
                     "names look like 01-01-06-01-02-01-12.mp4")
  return ClipName(*values)


@dataclasses.dataclass(frozen=True)
class ClipFile:
  """A video file found in the tree and its parsed name."""
  path: pathlib.Path
  clip: ClipName


@dataclasses.dataclass
class Listing:
  """What `list_clips` found: usable clips and everything it passed over, with reasons."""
  clips: list[ClipFile]
  skipped: list[dict]  # {"file": relative path, "reason": why it is not used}


class LayoutError(ValueError):
  """The folder is not in the RAVDESS layout."""


def extract_archives(root: pathlib.Path, cache_dir: pathlib.Path) -> list[pathlib.Path]:
  """Extracts each `Video_*_Actor_NN.zip` in `root` once into `cache_dir`; returns the dirs.

  A zip is extracted into `cache_dir/<zip stem>/` (marked complete when done), so a second
  build reuses it. Bad zips raise ValueError naming the file.
  """
  extracted = []
  for archive in sorted(root.glob("*.zip")):
    match = ZIP_PATTERN.match(archive.name)
    if not match or match.group(1) != "Video":
      continue
    target = cache_dir / archive.stem
    marker = target / ".extracted"
    if not marker.exists():
      try:
        with zipfile.ZipFile(archive) as zf:
          zf.extractall(target)
      except zipfile.BadZipFile as e:
        raise ValueError(f"{archive}: not a readable zip ({e}); download it again from "
                         "https://zenodo.org/record/1188976") from None
      marker.touch()
    extracted.append(target)
  return extracted


def _actor_dirs(top: pathlib.Path) -> list[pathlib.Path]:
  return sorted(p for p in top.iterdir() if p.is_dir() and ACTOR_DIR_PATTERN.match(p.name))


def find_actor_dirs(root: str | os.PathLike,
                    cache_dir: str | os.PathLike | None = None) -> list[pathlib.Path]:
  """The `Actor_NN` folders under `root` (and inside its Video_* zips, once extracted).

  Raises:
    LayoutError: saying which layout was expected and what `root` holds instead.
  """
  root = pathlib.Path(root)
  if not root.is_dir():
    raise LayoutError(f"{root} is not a directory; expected {LAYOUT_HELP}")
  dirs = _actor_dirs(root)
  if cache_dir is not None:
    for extracted in extract_archives(root, pathlib.Path(cache_dir)):
      dirs += _actor_dirs(extracted)
  if not dirs:
    found = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())[:10]
    audio_zips = [f for f in found if ZIP_PATTERN.match(f) and f.startswith("Audio")]
    hint = (" (only Audio_* zips: the video zips Video_Speech_Actor_NN.zip are needed)"
            if audio_zips else "")
    raise LayoutError(f"{root} is not in the RAVDESS layout: expected {LAYOUT_HELP}; found "
                      f"{found or 'nothing'}{hint}")
  return dirs


def list_clips(actor_dirs: Iterable[pathlib.Path], modality: str = "any",
               vocal_channels: Sequence[int] = (1, 2)) -> Listing:
  """Chooses the video files to use, one per take unless `modality` says otherwise.

  Args:
    actor_dirs: from `find_actor_dirs`.
    modality: "any" (one file per take: full-AV, or video-only where that is all there
      is), "av" (full-AV files only), "video" (video-only files only) or "both" (every
      video file; a take then appears twice).
    vocal_channels: 1 speech, 2 song.

  Returns:
    A Listing, clips sorted by name. Files that are not RAVDESS names, audio-only files,
    files in the wrong actor folder and duplicates are skipped with a reason.
  """
  if modality not in ("any", "av", "video", "both"):
    raise ValueError(f"modality must be any, av, video or both, got {modality!r}")
  wanted = {"av": (1,), "video": (2,)}.get(modality, (1, 2))
  by_take: dict[str, list[ClipFile]] = {}
  skipped = []
  for actor_dir in actor_dirs:
    folder_actor = int(ACTOR_DIR_PATTERN.match(actor_dir.name).group(1))
    for path in sorted(actor_dir.iterdir()):
      relative = f"{actor_dir.name}/{path.name}"
      if path.name.startswith(".") or path.is_dir():
        continue
      try:
        clip = parse_clip_name(path)
      except ValueError as e:
        skipped.append({"file": relative, "reason": str(e)})
        continue
      if path.suffix.lower() in AUDIO_SUFFIXES or not clip.has_video:
        skipped.append({"file": relative, "reason": "audio-only, no video"})
      elif path.suffix.lower() not in VIDEO_SUFFIXES:
        skipped.append({"file": relative, "reason": f"not a video file ({path.suffix})"})
      elif clip.actor != folder_actor:
        skipped.append({"file": relative, "reason": f"actor {clip.actor:02d} in the folder of "
                                                    f"actor {folder_actor:02d}"})
      elif clip.vocal_channel not in vocal_channels or clip.modality not in wanted:
        continue  # Not asked for: not a problem with the file.
      else:
        by_take.setdefault(clip.performance, []).append(ClipFile(path, clip))
  clips = []
  for files in by_take.values():
    names = [f.clip.name for f in files]
    for duplicate in sorted({n for n in names if names.count(n) > 1}):
      skipped.append({"file": duplicate, "reason": "found more than once (zip and folder?); "
                                                   "the first is used"})
    unique = list({f.clip.name: f for f in reversed(files)}.values())
    unique.sort(key=lambda f: f.clip.modality)
    clips += unique if modality == "both" else unique[:1]
  clips.sort(key=lambda f: f.clip.name)
  return Listing(clips, skipped)
