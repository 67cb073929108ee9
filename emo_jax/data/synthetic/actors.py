"""Actors and clip plans: who the actors are, which clips they say and how each one unfolds.

Everything here is a pure function of the seed, the actor and the clip name: an actor's
demographics, look and voice (`make_actor`), a clip's length, intensity, timing and nuisance
(`make_clip_plan`), and from those the per-frame face geometry that `drawing` draws and the
syllable envelope that `media` voices.
"""
import dataclasses
import fractions

import numpy as np

from emo_jax.data import cremad
from emo_jax.data import ravdess

FPS = fractions.Fraction(30000, 1001)  # 29.97, as the real clips.
MIN_FRAMES, MAX_FRAMES = 56, 75

# Level -> expression intensity at the apex; XX is drawn per clip around MD.
LEVEL_INTENSITY = {"LO": 0.35, "MD": 0.65, "HI": 1.0}
XX_INTENSITY_RANGE = (0.55, 0.85)

# Face geometry change at the apex of a full-intensity expression, in units of the face
# half-width: brow_raise (up +), brow_tilt (inner ends up +), eye_open (relative),
# corner (mouth corners up +), mouth_open, mouth_width (relative), lip_raise (upper lip),
# wrinkle (nose), fold (nasolabial), asym (one corner only). ANG and DIS share lowered
# brows and narrowed eyes, FEA and SAD raised inner brows, as in the FACS prototypes.
EXPRESSIONS = {
    "ANG": dict(brow_raise=-0.18, brow_tilt=-0.25, eye_open=-0.35, corner=-0.08,
                mouth_open=0.22, mouth_width=-0.15, wrinkle=0.4, fold=0.3),
    "DIS": dict(brow_raise=-0.10, brow_tilt=-0.08, eye_open=-0.50, corner=-0.16,
                mouth_open=0.05, lip_raise=0.16, wrinkle=1.0, fold=1.0, asym=0.08),
    "FEA": dict(brow_raise=0.24, brow_tilt=0.14, eye_open=0.55, corner=-0.06,
                mouth_open=0.22, mouth_width=0.25),
    "HAP": dict(brow_raise=0.03, eye_open=-0.35, corner=0.30, mouth_open=0.12,
                mouth_width=0.30, fold=0.9),
    "NEU": dict(),
    "SAD": dict(brow_raise=0.04, brow_tilt=0.28, eye_open=-0.40, corner=-0.24,
                mouth_open=-0.06, mouth_width=-0.10),
    # RAVDESS's two further classes: calm is a relaxed face (lids lowered, a trace of a
    # smile), surprise brows raised high, eyes and mouth wide open.
    "CAL": dict(eye_open=-0.20, corner=0.06, mouth_width=0.04, brow_raise=0.02),
    "SUR": dict(brow_raise=0.34, brow_tilt=0.04, eye_open=0.70, corner=0.02,
                mouth_open=0.38, mouth_width=-0.12),
}
_GEOMETRY_KEYS = ("brow_raise", "brow_tilt", "eye_open", "corner", "mouth_open",
                  "mouth_width", "lip_raise", "wrinkle", "fold", "asym")

# Voice at full intensity: f0 multiplier, pitch range, loudness, spectral tilt (higher is
# darker), vibrato/tremor depth.
VOICES = {
    "ANG": dict(pitch=1.30, pitch_range=0.22, energy=1.00, tilt=0.8, tremor=0.0),
    "DIS": dict(pitch=0.95, pitch_range=0.10, energy=0.55, tilt=1.3, tremor=0.0),
    "FEA": dict(pitch=1.45, pitch_range=0.18, energy=0.70, tilt=1.1, tremor=0.03),
    "HAP": dict(pitch=1.35, pitch_range=0.30, energy=0.80, tilt=1.0, tremor=0.0),
    "NEU": dict(pitch=1.00, pitch_range=0.08, energy=0.50, tilt=1.4, tremor=0.0),
    "SAD": dict(pitch=0.88, pitch_range=0.05, energy=0.35, tilt=1.8, tremor=0.01),
    "CAL": dict(pitch=0.95, pitch_range=0.06, energy=0.40, tilt=1.6, tremor=0.0),
    "SUR": dict(pitch=1.50, pitch_range=0.35, energy=0.85, tilt=1.0, tremor=0.0),
}
# Every expression code; CREMA-D's six come first so their seeds (index-based) are the
# same as before CAL and SUR were added.
EXPRESSION_CODES = cremad.EMOTIONS + ("CAL", "SUR")
# Syllables per sentence, e.g. IEO "It's eleven o'clock", DFA "Don't forget a jacket".
SYLLABLES = {"IEO": 6, "TIE": 8, "IOM": 8, "IWW": 7, "TAI": 7, "MTI": 9, "IWL": 8,
             "ITH": 10, "DFA": 6, "ITS": 7, "TSI": 5, "WSI": 9}
# Order of emotions within a sentence in SentenceFilenames.csv (the stimulus order).
STIMULUS_EMOTIONS = ("NEU", "HAP", "SAD", "ANG", "FEA", "DIS")


def all_clips(actor: int, sentences=cremad.SENTENCES) -> list[cremad.ClipName]:
  """The 82 CREMA-D clips of one actor (fewer with a sentence subset), in stimulus order."""
  clips = []
  for sentence in sentences:
    for emotion in STIMULUS_EMOTIONS:
      levels = ("LO", "MD", "HI") if sentence == "IEO" and emotion != "NEU" else ("XX",)
      clips.extend(cremad.ClipName(actor, sentence, emotion, level) for level in levels)
  return clips


def select_clips(actor: int, seed: int, clips_per_actor: int | None = None,
                 sentences=cremad.SENTENCES) -> list[cremad.ClipName]:
  """All clips of an actor, or a class-balanced subset of `clips_per_actor`, in stimulus order.

  The subset takes the emotions in turn (starting at a per-actor offset), each time the
  next clip of a per-actor shuffle of that emotion's clips, so a few clips per actor still
  cover all six classes and different actors contribute different sentences.
  """
  clips = all_clips(actor, sentences)
  if clips_per_actor is None or clips_per_actor >= len(clips):
    return clips
  rng = np.random.default_rng([seed, actor, 7])
  by_emotion = []
  for emotion in cremad.EMOTIONS:
    group = [c for c in clips if c.emotion == emotion]
    by_emotion.append([group[i] for i in rng.permutation(len(group))])
  start = int(rng.integers(len(cremad.EMOTIONS)))
  chosen = []
  turn = 0
  while len(chosen) < clips_per_actor:
    group = by_emotion[(start + turn) % len(by_emotion)]
    if turn // len(by_emotion) < len(group):
      chosen.append(group[turn // len(by_emotion)])
    turn += 1
  order = {c: i for i, c in enumerate(clips)}
  return sorted(chosen, key=order.__getitem__)


# RAVDESS naming: emotion code (1..8) -> expression, intensity (1 normal, 2 strong) -> level,
# and (statement, repetition) -> a CREMA-D sentence that stands in for it (its syllables
# and its seeds), so every take gets its own plan and both files of a take (full-AV and
# video-only) show the same performance, as in the real set.
RAVDESS_EXPRESSIONS = ("NEU", "CAL", "HAP", "SAD", "ANG", "FEA", "DIS", "SUR")
RAVDESS_LEVELS = {1: "MD", 2: "HI"}
RAVDESS_SENTENCES = {(1, 1): "TIE", (1, 2): "IOM", (2, 1): "ITS", (2, 2): "IWL"}


def ravdess_plan_clip(clip: ravdess.ClipName) -> cremad.ClipName:
  """The clip (expression, level, sentence) that `make_clip_plan` renders for a RAVDESS take."""
  return cremad.ClipName(clip.actor, RAVDESS_SENTENCES[clip.statement, clip.repetition],
                         RAVDESS_EXPRESSIONS[clip.emotion - 1],
                         RAVDESS_LEVELS[clip.intensity])


def ravdess_takes(actor: int, seed: int, takes_per_actor: int | None = None,
                  vocal_channel: int = 1) -> list[ravdess.ClipName]:
  """The actor's 60 spoken takes (modality 01), or a class-balanced subset, sorted by name.

  As `select_clips`: the emotions in turn from a per-actor offset, each time the next take
  of a per-actor shuffle of that emotion's takes.
  """
  takes_by_emotion = []
  for emotion in range(1, len(ravdess.EMOTIONS) + 1):
    takes_by_emotion.append([
        ravdess.ClipName(1, vocal_channel, emotion, intensity, statement, repetition, actor)
        for intensity in ((1,) if emotion == 1 else (1, 2))
        for statement in (1, 2) for repetition in (1, 2)])
  everything = sorted(t for takes in takes_by_emotion for t in takes)
  if takes_per_actor is None or takes_per_actor >= len(everything):
    return everything
  rng = np.random.default_rng([seed, actor, 17])
  takes_by_emotion = [[group[i] for i in rng.permutation(len(group))]
                      for group in takes_by_emotion]
  start = int(rng.integers(len(takes_by_emotion)))
  chosen, turn = [], 0
  while len(chosen) < takes_per_actor:
    group = takes_by_emotion[(start + turn) % len(takes_by_emotion)]
    if turn // len(takes_by_emotion) < len(group):
      chosen.append(group[turn // len(takes_by_emotion)])
    turn += 1
  return sorted(chosen)


# ----------------------------------------------------------------------------- actors
_RACES = (("Caucasian", 0.67), ("African American", 0.23), ("Asian", 0.08), ("Unknown", 0.02))
# RGB skin tones per race (a tone is drawn from the race's palette and then jittered).
_SKIN_TONES = {
    "Caucasian": ((232, 196, 170), (214, 170, 140), (196, 150, 118)),
    "African American": ((175, 120, 88), (155, 105, 76), (142, 95, 68)),
    "Asian": ((226, 188, 150), (208, 168, 128)),
    "Unknown": ((200, 156, 120),),
}
_HAIR_COLOURS = ((30, 24, 20), (60, 40, 28), (100, 70, 40), (150, 120, 80), (120, 120, 118),
                 (20, 20, 22))
_SHIRT_COLOURS = ((60, 60, 66), (40, 50, 90), (120, 40, 40), (200, 200, 205), (30, 30, 32),
                  (90, 70, 110), (150, 120, 90))


@dataclasses.dataclass(frozen=True)
class Actor:
  """One synthetic actor: demographics, appearance (fractions of the frame width) and voice."""
  actor_id: int
  age: int
  sex: str
  race: str
  ethnicity: str
  centre: tuple[float, float]     # face centre, fractions of (width, height)
  half_width: float               # face half-width / frame width
  aspect: float                   # face half-height / half-width
  skin: tuple[float, float, float]
  hair: tuple[float, float, float]
  shirt: tuple[float, float, float]
  backdrop: tuple[float, float, float]
  hair_style: int                 # 0 short, 1 long, 2 receding
  shape: dict                     # feature positions and sizes (face units)
  baseline: dict                  # resting-face geometry offsets (EXPRESSIONS keys)
  expressivity: float
  f0: float                       # voice pitch in Hz


def make_actor(seed: int, actor_id: int) -> Actor:
  """The actor's demographics, look and voice, a pure function of (seed, actor_id)."""
  rng = np.random.default_rng([seed, actor_id, 1])
  sex = "Female" if rng.random() < 0.48 else "Male"
  if actor_id in ravdess.ACTORS:  # RAVDESS's rule: odd ids are male, even ones female.
    sex = "Male" if actor_id % 2 else "Female"
  race = _RACES[rng.choice(len(_RACES), p=[p for _, p in _RACES])][0]
  ethnicity = "Hispanic" if rng.random() < 0.1 else "Not Hispanic"
  age = int(np.clip(rng.gamma(2.0, 8.0) + 20, 20, 74))
  tones = _SKIN_TONES[race]
  skin = np.array(tones[rng.integers(len(tones))], float) * rng.uniform(0.96, 1.05)
  hair = np.array(_HAIR_COLOURS[rng.integers(len(_HAIR_COLOURS))], float)
  if age > 55 and rng.random() < 0.6:
    hair = np.array((150, 148, 145), float)
  shape = dict(
      eye_dx=rng.uniform(0.36, 0.40), eye_v=rng.uniform(-0.27, -0.23),
      eye_w=rng.uniform(0.17, 0.22), eye_h=rng.uniform(0.085, 0.11),
      iris=rng.uniform(0.075, 0.09), brow_v=rng.uniform(-0.29, -0.25),
      brow_thick=rng.uniform(0.08, 0.12), nose_v=rng.uniform(0.24, 0.30),
      nose_w=rng.uniform(0.14, 0.2), mouth_v=rng.uniform(0.60, 0.66),
      mouth_w=rng.uniform(0.44, 0.50), lip=rng.uniform(0.055, 0.085),
      hairline=rng.uniform(-1.2, -1.0), speech=rng.uniform(0.10, 0.16),
      iris_colour=rng.choice([0, 1, 2], p=[0.6, 0.25, 0.15]))
  baseline = dict(brow_raise=rng.normal(0, 0.02), brow_tilt=rng.normal(0, 0.02),
                  eye_open=rng.normal(0, 0.06), corner=rng.normal(0, 0.02),
                  mouth_width=rng.normal(0, 0.05), fold=rng.uniform(0, 0.3) * (age > 40))
  return Actor(
      actor_id=actor_id, age=age, sex=sex, race=race, ethnicity=ethnicity,
      centre=(rng.uniform(0.45, 0.55), rng.uniform(0.34, 0.41)),
      half_width=rng.uniform(0.115, 0.13), aspect=rng.uniform(1.28, 1.40),
      skin=tuple(np.clip(skin, 0, 255)), hair=tuple(hair),
      shirt=tuple(np.array(_SHIRT_COLOURS[rng.integers(len(_SHIRT_COLOURS))], float)),
      backdrop=(rng.uniform(40, 80), rng.uniform(140, 180), rng.uniform(40, 80)),
      hair_style=int(rng.choice(3, p=[0.5, 0.35, 0.15] if sex == "Female" else [0.6, 0.1, 0.3])),
      shape=shape, baseline=baseline, expressivity=rng.uniform(0.85, 1.15),
      f0=rng.uniform(175, 235) if sex == "Female" else rng.uniform(95, 140))


# ----------------------------------------------------------------------------- clips
@dataclasses.dataclass(frozen=True)
class ClipPlan:
  """Per-clip choices: length, intensity, expression timing and nuisance."""
  clip: cremad.ClipName
  num_frames: int
  intensity: float                # apex intensity, before the actor's expressivity
  onset: float                    # expression start level and times, fractions of the clip
  rise_start: float
  apex: float
  hold: float
  residual: float
  syllables: tuple                # (start, end) seconds of each syllable
  motion: dict                    # head pose offsets, sway amplitudes, frequencies, phases
  gain: tuple[float, float]       # brightness at the start and the end
  side_light: float               # luma gain slope across the face (light from a side)
  tint: tuple[float, float]       # white balance: offsets of the U and V planes
  noise_level: int                # index into the noise banks
  blinks: tuple                   # frame indices where a blink starts
  gaze: float


def make_clip_plan(seed: int, clip: cremad.ClipName) -> ClipPlan:
  """The clip's plan, a pure function of (seed, clip name)."""
  rng = np.random.default_rng([seed, clip.actor, cremad.SENTENCES.index(clip.sentence),
                               EXPRESSION_CODES.index(clip.emotion),
                               cremad.LEVELS.index(clip.level), 2])
  num_frames = int(rng.integers(MIN_FRAMES, MAX_FRAMES + 1))
  if clip.level == "XX":
    intensity = rng.uniform(*XX_INTENSITY_RANGE)
  else:
    intensity = LEVEL_INTENSITY[clip.level] * rng.uniform(0.92, 1.08)
  duration = num_frames / float(FPS)
  start, end = rng.uniform(0.1, 0.3), duration - rng.uniform(0.1, 0.3)
  count = SYLLABLES[clip.sentence]
  edges = np.linspace(start, end, count + 1) + np.r_[0, rng.normal(0, 0.02, count - 1), 0]
  syllables = tuple((float(a), float(a + (b - a) * rng.uniform(0.6, 0.9)))
                    for a, b in zip(edges[:-1], edges[1:]))
  motion = dict(dx=rng.uniform(-0.02, 0.02), dy=rng.uniform(-0.015, 0.015),
                roll=rng.uniform(-6, 6), scale=rng.uniform(0.92, 1.08),
                sway=rng.uniform(0, 0.035), roll_sway=rng.uniform(0, 3),
                scale_sway=rng.uniform(0, 0.02), freq=tuple(rng.uniform(0.2, 0.8, 2)),
                phase=tuple(rng.uniform(0, 2 * np.pi, 3)))
  gain = rng.uniform(0.82, 1.12)
  blinks = tuple(int(b) for b in rng.integers(0, num_frames - 5, rng.integers(0, 3)))
  return ClipPlan(
      clip=clip, num_frames=num_frames, intensity=float(intensity),
      onset=rng.uniform(0.0, 0.05), rise_start=rng.uniform(0.08, 0.2),
      apex=rng.uniform(0.35, 0.6), hold=rng.uniform(0.1, 0.25),
      residual=rng.uniform(0.35, 0.65), syllables=syllables, motion=motion,
      gain=(gain, gain + rng.uniform(-0.1, 0.1)),
      tint=tuple(rng.uniform(-6, 6, 2)), noise_level=int(rng.integers(3)),
      blinks=blinks, gaze=rng.uniform(-0.03, 0.03), side_light=rng.uniform(-0.15, 0.15))


def expression_envelope(plan: ClipPlan, times: np.ndarray) -> np.ndarray:
  """Expression strength in [0, 1] at `times` (fractions of the clip): onset, rise, hold, fall."""
  def smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)
  apex_end = min(plan.apex + plan.hold, 0.95)
  rise = smoothstep((times - plan.rise_start) / max(plan.apex - plan.rise_start, 1e-3))
  fall = smoothstep((times - apex_end) / max(1.0 - apex_end, 1e-3))
  return (plan.onset + (1 - plan.onset) * rise) * (1 - (1 - plan.residual) * fall)


def speech_envelope(plan: ClipPlan, seconds: np.ndarray) -> np.ndarray:
  """Syllable envelope in [0, 1] at `seconds`: a raised-cosine bump per syllable."""
  envelope = np.zeros_like(seconds)
  for start, end in plan.syllables:
    phase = (seconds - start) / (end - start)
    inside = (phase > 0) & (phase < 1)
    envelope[inside] = np.maximum(envelope[inside], np.sin(np.pi * phase[inside]) ** 0.7)
  return envelope


def face_geometry(actor: Actor, plan: ClipPlan, frame_index: int) -> dict:
  """Geometry offsets (EXPRESSIONS keys) of one frame: resting face + expression + blinks."""
  return face_geometries(actor, plan)[frame_index]


def face_geometries(actor: Actor, plan: ClipPlan) -> list[dict]:
  """`face_geometry` of every frame of the clip, with the envelopes computed once."""
  frames = np.arange(plan.num_frames)
  strengths = expression_envelope(plan, frames / max(plan.num_frames - 1, 1))
  strengths = strengths * plan.intensity * actor.expressivity
  speech = (speech_envelope(plan, frames / float(FPS)) * actor.shape["speech"]).tolist()
  target = EXPRESSIONS[plan.clip.emotion]
  geometries = []
  for index, strength in enumerate(strengths.tolist()):
    geometry = {key: actor.baseline.get(key, 0.0) + strength * target.get(key, 0.0)
                for key in _GEOMETRY_KEYS}
    geometry["speech"] = speech[index]
    geometry["gaze"] = plan.gaze
    for blink in plan.blinks:
      if 0 <= index - blink < 4:
        geometry["eye_open"] = -0.9 + 0.3 * abs(index - blink - 1.5)
    geometries.append(geometry)
  return geometries


def hash_clip(clip: cremad.ClipName) -> int:
  """A stable integer for a clip name (Python's hash() is salted per process)."""
  return (cremad.SENTENCES.index(clip.sentence) * 100 + EXPRESSION_CODES.index(clip.emotion) * 10
          + cremad.LEVELS.index(clip.level))
