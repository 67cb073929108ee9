"""Synthetic CREMA-D: a deterministic CREMA-D-like tree of cartoon talking heads.

    python -m emo_jax.data.synthetic --out /tmp/synthetic_cremad --actors 10 --seed 0

writes `VideoFlash/<actor>_<sentence>_<emotion>_<level>.flv` (FLV1 video + MP3 audio, 480x360
at 29.97 fps, 56-75 frames), `AudioWAV/*.wav` (16-bit PCM, 16 kHz mono),
`VideoDemographics.csv`, `SentenceFilenames.csv` and `processedResults/{tabulatedVotes,
summaryTable}.csv` in the real files' layouts, plus `SYNTHETIC.json` (how it was made).

Each actor is a head and shoulders before a green backdrop with their own face shape,
skin tone, hair, position and voice. The emotion lives only in the face geometry (brows,
eyes, mouth corners, opening, upper lip, nose wrinkle) and in the voice (pitch, energy,
brightness); it rises from a near-neutral start to an apex and falls back, at the level's
intensity (LO < MD < HI; XX about MD). Head motion, lighting drift, sensor noise, blinks
and the apex time vary per clip; nothing global (colour, brightness, backdrop, length)
depends on the class. Crowd votes are simulated from the intensity, so weak clips are
ambiguous the way real ones are (toward neutral, and ANG-DIS, FEA-SAD). Everything is a
pure function of the seed, the actor and the clip name.
"""
import argparse
import dataclasses
import fractions
import functools
import json
import multiprocessing
import os
import pathlib
import time
import wave

import av
import cv2
import numpy as np

from emo_jax.data import cremad

FPS = fractions.Fraction(30000, 1001)  # 29.97, as the real clips.
WAV_SAMPLE_RATE = 16000
FLV_SAMPLE_RATE = 44100
MIN_FRAMES, MAX_FRAMES = 56, 75
MARKER_FILE = "SYNTHETIC.json"
_GENERATOR_VERSION = 1

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
}
# Syllables per sentence, e.g. IEO "It's eleven o'clock", DFA "Don't forget a jacket".
SYLLABLES = {"IEO": 6, "TIE": 8, "IOM": 8, "IWW": 7, "TAI": 7, "MTI": 9, "IWL": 8,
             "ITH": 10, "DFA": 6, "ITS": 7, "TSI": 5, "WSI": 9}
# Order of emotions within a sentence in SentenceFilenames.csv (the stimulus order).
STIMULUS_EMOTIONS = ("NEU", "HAP", "SAD", "ANG", "FEA", "DIS")


@dataclasses.dataclass(frozen=True)
class GenerateSummary:
  """What `generate` wrote."""
  root: str
  actors: tuple[int, ...]
  num_clips: int
  num_frames: int
  frame_size: tuple[int, int]
  seed: int
  wall_seconds: float


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
                               cremad.EMOTIONS.index(clip.emotion),
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


# ----------------------------------------------------------------------------- drawing
_SHIFT = 4  # cv2 fixed-point bits: sub-pixel positions keep slow motion smooth.
_EYE_WHITE, _PUPIL, _TEETH, _MOUTH_INSIDE = (236, 233, 226), (14, 12, 12), (232, 226, 214), (
    70, 24, 28)
_IRIS_COLOURS = ((72, 46, 30), (70, 104, 146), (84, 104, 62))
_NOISE_SIGMAS = (2.0, 4.0, 6.5)
_NOISE_PAD = 32


class _Pose:
  """Maps face coordinates (units of the face half-width, v down) to fixed-point pixels."""

  def __init__(self, centre: tuple[float, float], scale: float, roll_degrees: float):
    self.scale, self.roll = scale, roll_degrees
    angle, one = np.deg2rad(roll_degrees), 1 << _SHIFT
    self._cos, self._sin = scale * np.cos(angle) * one, scale * np.sin(angle) * one
    self._x, self._y = centre[0] * one, centre[1] * one
    self._matrix = np.array([[self._cos, self._sin], [-self._sin, self._cos]])
    self._offset = np.array([self._x, self._y])

  def points(self, uv) -> np.ndarray:
    return np.rint(np.asarray(uv, float) @ self._matrix + self._offset).astype(np.int32)

  def ellipse(self, image, centre, axes, colour, start=0, end=360):
    u, v = centre
    x, y = self._x + self._cos * u - self._sin * v, self._y + self._sin * u + self._cos * v
    axes = (round(axes[0] * self.scale * (1 << _SHIFT)), round(axes[1] * self.scale * (1 << _SHIFT)))
    cv2.ellipse(image, (round(x), round(y)), axes, self.roll, start, end, colour, -1, cv2.LINE_AA,
                _SHIFT)

  def polygon(self, image, uv, colour):
    cv2.fillPoly(image, [self.points(uv)], colour, cv2.LINE_AA, _SHIFT)

  def line(self, image, uv, colour, thickness):
    cv2.polylines(image, [self.points(uv)], False, colour,
                  max(1, round(thickness * self.scale)), cv2.LINE_AA, _SHIFT)


def _curve(start, middle, end, num_points=9) -> np.ndarray:
  """Quadratic Bezier from `start` to `end` passing through `middle`: float [N, 2]."""
  control = (2 * middle[0] - 0.5 * (start[0] + end[0]), 2 * middle[1] - 0.5 * (start[1] + end[1]))
  return _bezier_basis(num_points) @ np.array([start, control, end], float)


@functools.lru_cache(maxsize=None)
def _bezier_basis(num_points: int) -> np.ndarray:
  t = np.linspace(0, 1, num_points)[:, None]
  return np.concatenate([(1 - t) ** 2, 2 * (1 - t) * t, t ** 2], 1)


def _arc(centre, axes, start, end, num_points=12) -> np.ndarray:
  return np.asarray(centre, float) + np.asarray(axes, float) * _unit_arc(start, end, num_points)


@functools.lru_cache(maxsize=None)
def _unit_arc(start: float, end: float, num_points: int) -> np.ndarray:
  angles = np.linspace(start, end, num_points)
  return np.stack([np.cos(angles), np.sin(angles)], 1)


@functools.lru_cache(maxsize=4096)  # the same few colours are mixed in every frame
def _mix(colour, other, weight) -> tuple:
  weight = min(max(float(weight), 0.0), 1.0)
  return tuple(float(a) * (1 - weight) + float(b) * weight for a, b in zip(colour, other))


def _luma(colour) -> float:
  return 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]


@functools.lru_cache(maxsize=4096)
def _shade(colour, factor) -> tuple:
  return tuple(float(c) * factor for c in colour)


@functools.lru_cache(maxsize=4)
def _backdrop(seed: int, actor_id: int, width: int, height: int) -> np.ndarray:
  """Green screen with a soft light gradient and folds, and the actor's torso: uint8 [H, W, 3]."""
  actor = make_actor(seed, actor_id)
  rng = np.random.default_rng([seed, actor_id, 4])
  y, x = np.mgrid[0:height, 0:width].astype(np.float32)
  x, y = x / width - 0.5, y / height - 0.5
  light = 1.0 + 0.12 * (rng.uniform(-1, 1) * x - y) - 0.35 * (x * x + y * y)
  folds = cv2.resize(rng.normal(0, 1, (5, 7)).astype(np.float32), (width, height),
                     interpolation=cv2.INTER_CUBIC)
  image = np.asarray(actor.backdrop, np.float32) * (light + 0.04 * folds)[..., None]
  image = np.clip(image, 0, 255).astype(np.uint8)
  torso = _Pose((actor.centre[0] * width, actor.centre[1] * height), actor.half_width * width, 0)
  shoulders = actor.aspect + 0.45  # top of the shoulders, just below the chin
  torso.ellipse(image, (0, shoulders + 1.3), (3.1, 1.3), actor.shirt)
  torso.polygon(image, [(-3.1, shoulders + 1.3), (3.1, shoulders + 1.3), (3.3, 20), (-3.3, 20)],
                actor.shirt)
  torso.ellipse(image, (0, shoulders - 0.05), (0.62, 0.45), _shade(actor.skin, 0.7), 0, 180)
  return image


@functools.lru_cache(maxsize=2)
def _noise_banks(seed: int, width: int, height: int) -> tuple:
  """Per noise level, (positive, negative) uint8 luma noise larger than a frame; frames crop it."""
  rng = np.random.default_rng([seed, 5])
  banks = []
  for sigma in _NOISE_SIGMAS:
    noise = rng.normal(0, sigma, (height + _NOISE_PAD, width + _NOISE_PAD)).astype(np.float32)
    banks.append((np.clip(noise, 0, 255).astype(np.uint8),
                  np.clip(-noise, 0, 255).astype(np.uint8)))
  return tuple(banks)


def _head_pose(actor: Actor, plan: ClipPlan, frame_index: int, width: int, height: int) -> _Pose:
  m, t = plan.motion, 2 * np.pi * frame_index / float(FPS)
  x = actor.centre[0] + m["dx"] + m["sway"] * np.sin(m["freq"][0] * t + m["phase"][0])
  y = actor.centre[1] * height / width + m["dy"] + 0.6 * m["sway"] * np.sin(
      m["freq"][1] * t + m["phase"][1])
  scale = actor.half_width * m["scale"] * (1 + m["scale_sway"] * np.sin(m["freq"][1] * t
                                                                        + m["phase"][2]))
  roll = m["roll"] + m["roll_sway"] * np.sin(m["freq"][0] * t + m["phase"][2])
  return _Pose((x * width, y * width), scale * width, roll)


def _draw_head(image: np.ndarray, actor: Actor, pose: _Pose, torso: _Pose, g: dict):
  """Draws neck, hair, ears, face, eyes, brows, nose and mouth for geometry `g` in place."""
  s, b = actor.shape, actor.aspect
  skin = actor.skin
  opening = max(0.0, g["speech"] + g["mouth_open"])
  # Neck: top follows the head, bottom stays on the (static) torso.
  neck = np.concatenate([pose.points([(-0.45, b * 0.5), (0.45, b * 0.5)]),
                         torso.points([(0.55, b + 0.6), (-0.55, b + 0.6)])])
  cv2.fillPoly(image, [neck], _shade(skin, 0.82), cv2.LINE_AA, _SHIFT)
  if actor.hair_style == 1:
    pose.ellipse(image, (0, 0.2), (1.2, b * 1.12), actor.hair)
  else:
    pose.ellipse(image, (0, -0.25), (1.06, b * 0.92), actor.hair)
  for side in (-1, 1):
    pose.ellipse(image, (side * 0.98, s["eye_v"] + 0.15), (0.13, 0.26), _shade(skin, 0.9))
  pose.ellipse(image, (0, 0), (1.0, b), skin, 180, 360)
  pose.ellipse(image, (0, 0), (1.0, b + 0.5 * opening), skin, 0, 180)
  hairline = s["hairline"] - (0.25 if actor.hair_style == 2 else 0.0)
  cap = b + hairline + 0.15
  pose.ellipse(image, (0, hairline), (1.04, cap), actor.hair, 180, 360)
  pose.polygon(image, np.concatenate([_curve((-1.0, hairline), (0, hairline + 0.14),
                                             (1.0, hairline)), [(0, hairline - 0.1)]]), actor.hair)
  _draw_eyes(image, actor, pose, g)
  _draw_nose(image, actor, pose, g)
  _draw_mouth(image, actor, pose, g, opening)


def _draw_eyes(image, actor: Actor, pose: _Pose, g: dict):
  s, skin = actor.shape, actor.skin
  socket = _shade(skin, 0.6)
  # Whites in shadow, the darker the skin the more: the eye band must stay darker than the
  # cheeks for the Haar face detector (whose features expect it), at any skin tone.
  sclera = _mix(_EYE_WHITE, socket, 0.35 + 0.45 * (1 - min(_luma(skin) / 200, 1)))
  brow_colour = tuple(np.minimum(actor.hair, _shade(skin, 0.42)))
  half_height = s["eye_h"] * max(0.04, 1 + g["eye_open"])
  for side in (-1, 1):
    centre = np.array([side * s["eye_dx"], s["eye_v"]])
    width = s["eye_w"]
    # Socket shadow from the lower lid up to the brow, so raised brows and wide eyes keep
    # the dark eye band that face detectors look for.
    brow_v = s["eye_v"] + s["brow_v"] - g["brow_raise"] - 0.5 * max(g["brow_tilt"], 0)
    socket_top, socket_bottom = brow_v - 0.02, s["eye_v"] + max(half_height, 0.06) + 0.05
    pose.ellipse(image, (centre[0], (socket_top + socket_bottom) / 2),
                 (width * 1.45, (socket_bottom - socket_top) / 2), socket)
    white = _arc(centre, (width, half_height), 0, 2 * np.pi, 24)
    pose.polygon(image, white, sclera)
    iris = centre + (side * 0.01 + g.get("gaze", 0.0), 0.005)
    pose.ellipse(image, iris, (s["iris"], s["iris"]), _IRIS_COLOURS[int(s["iris_colour"])])
    pose.ellipse(image, iris, (s["iris"] * 0.45, s["iris"] * 0.45), _PUPIL)
    # Lids: cover the iris outside the eye opening with socket colour, then the lash line.
    reach = s["iris"] + 0.03
    top = _arc(centre, (width, half_height), np.pi, 2 * np.pi)
    bottom = _arc(centre, (width, half_height), 0, np.pi)
    pose.polygon(image, np.concatenate([top, [(centre[0] + width, centre[1] - reach),
                                              (centre[0] - width, centre[1] - reach)]]), socket)
    pose.polygon(image, np.concatenate([bottom, [(centre[0] - width, centre[1] + reach),
                                                 (centre[0] + width, centre[1] + reach)]]), socket)
    pose.line(image, top, (40, 30, 28), 0.05)
    # Brow: inner, middle and outer points; raise lifts all, tilt lifts the inner end.
    base = s["eye_v"] + s["brow_v"] - g["brow_raise"]
    lowest = s["eye_v"] - half_height - 0.05 - s["brow_thick"] / 2
    inner = min(base - g["brow_tilt"], lowest)
    middle = min(base - 0.05 - 0.3 * g["brow_tilt"], lowest)
    outer = min(base + 0.02 + 0.3 * g["brow_tilt"], lowest + 0.04)
    thick = s["brow_thick"]
    xs = side * s["eye_dx"] / 0.38 * np.array([0.12, 0.38, 0.64])
    upper = np.stack([xs, np.array([inner, middle, outer]) - (0.45 * thick, 0.6 * thick,
                                                              0.3 * thick)], 1)
    lower = np.stack([xs, np.array([inner, middle, outer]) + (0.5 * thick, 0.4 * thick,
                                                              0.2 * thick)], 1)
    pose.polygon(image, np.concatenate([_curve(*upper), _curve(*lower)[::-1]]), brow_colour)


def _draw_nose(image, actor: Actor, pose: _Pose, g: dict):
  s, skin = actor.shape, actor.skin
  tip = s["nose_v"]
  pose.polygon(image, [(-0.07, s["eye_v"] - 0.12), (0.07, s["eye_v"] - 0.12), (0.09, tip - 0.06),
                       (-0.09, tip - 0.06)], _mix(skin, (255, 240, 225), 0.18))
  for side in (-1, 1):
    pose.line(image, [(side * 0.1, s["eye_v"] + 0.08), (side * 0.13, tip - 0.05)],
              _shade(skin, 0.85), 0.03)
  pose.ellipse(image, (0, tip), (s["nose_w"], 0.075), _shade(skin, 0.86))
  for side in (-1, 1):
    pose.ellipse(image, (side * s["nose_w"] * 0.5, tip + 0.035), (0.05, 0.025), _shade(skin, 0.45))
  if g["wrinkle"] > 0.02:  # wrinkles across the nose bridge (disgust, some anger)
    wrinkle = _mix(skin, _shade(skin, 0.55), g["wrinkle"])
    for offset in (-0.04, 0.04, 0.12):
      v = s["eye_v"] + 0.12 + offset
      pose.line(image, _curve((-0.12, v), (0, v - 0.025), (0.12, v), 5), wrinkle, 0.035)
  fold = _mix(skin, _shade(skin, 0.68), g["fold"])
  for side in (-1, 1):
    corner = (side * (s["mouth_w"] * (1 + g["mouth_width"]) + 0.06), s["mouth_v"] - g["corner"])
    pose.line(image, _curve((side * (s["nose_w"] + 0.04), tip - 0.02),
                            (side * (s["nose_w"] + 0.12), (tip + corner[1]) / 2), corner, 6),
              fold, 0.04)


def _draw_mouth(image, actor: Actor, pose: _Pose, g: dict, opening: float):
  s, skin = actor.shape, actor.skin
  lips = _mix(skin, (150, 55, 60), 0.35)
  v, half_width = s["mouth_v"], s["mouth_w"] * (1 + g["mouth_width"])
  left = (-half_width, v - g["corner"])
  right = (half_width, v - g["corner"] - g["asym"])
  top = (0, v - g["lip_raise"] - 0.3 * opening)
  bottom = (0, v + 0.7 * opening)
  upper_inner, lower_inner = _curve(left, top, right), _curve(left, bottom, right)
  upper_outer = _curve(left, (0, top[1] - s["lip"]), right)
  lower_outer = _curve(left, (0, bottom[1] + s["lip"] * 1.3), right)
  pose.polygon(image, np.concatenate([upper_outer, lower_outer[::-1]]), lips)
  if bottom[1] - top[1] > 0.012:
    pose.polygon(image, np.concatenate([upper_inner, lower_inner[::-1]]), _MOUTH_INSIDE)
    teeth = min(0.05, 0.45 * (bottom[1] - top[1]))
    pose.polygon(image, np.concatenate([upper_inner, upper_inner[::-1] + (0, teeth)]), _TEETH)
  pose.line(image, upper_inner, _shade(lips, 0.55), 0.02)


def render_frames(seed: int, plan: ClipPlan, frame_size: tuple[int, int] = (480, 360),
                  yuv: bool = False):
  """Yields the clip's frames: uint8 `[H, W, 3]` RGB, or `[H * 3 // 2, W]` I420 if `yuv`.

  Drawing is in RGB; lighting (a luma gain drifting over the clip and a chroma tint) and
  luma sensor noise are applied to the I420 planes, which the encoder takes directly.
  """
  width, height = frame_size
  actor = make_actor(seed, plan.clip.actor)
  backdrop = _backdrop(seed, actor.actor_id, width, height)
  positive, negative = _noise_banks(seed, width, height)[plan.noise_level]
  rng = np.random.default_rng([seed, plan.clip.actor, hash_clip(plan.clip), 6])
  offsets = rng.integers(0, _NOISE_PAD, (plan.num_frames, 2))
  torso = _Pose((actor.centre[0] * width, actor.centre[1] * height), actor.half_width * width, 0)
  levels = np.arange(256, dtype=np.float32)
  tint_u, tint_v = (np.clip(levels + t, 0, 255).astype(np.uint8) for t in plan.tint)
  # Light from one side: a horizontal luma ramp across the face (x 1 +- side_light at its
  # edges), in 1/128 steps for cv2.multiply's uint8 path.
  across = (np.arange(width, dtype=np.float32) / width - actor.centre[0]) / actor.half_width
  ramp = 1 + plan.side_light * np.clip(across, -1.5, 1.5)
  side_light = np.broadcast_to(np.round(ramp * 128).astype(np.uint8), (height, width)).copy()
  geometries = face_geometries(actor, plan)
  for index in range(plan.num_frames):
    image = backdrop.copy()
    pose = _head_pose(actor, plan, index, width, height)
    _draw_head(image, actor, pose, torso, geometries[index])
    planes = cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420)
    fraction = index / max(plan.num_frames - 1, 1)
    gain = plan.gain[0] + (plan.gain[1] - plan.gain[0]) * fraction
    y, x = offsets[index]
    luma = cv2.LUT(planes[:height], np.clip(levels * gain + 0.5, 0, 255).astype(np.uint8))
    luma = cv2.multiply(luma, side_light, scale=1 / 128)
    luma = cv2.add(luma, positive[y:y + height, x:x + width])
    planes[:height] = cv2.subtract(luma, negative[y:y + height, x:x + width])
    chroma = planes.reshape(-1)[width * height:]  # U then V, each a quarter of the pixels
    chroma[:chroma.size // 2] = cv2.LUT(chroma[:chroma.size // 2], tint_u).reshape(-1)
    chroma[chroma.size // 2:] = cv2.LUT(chroma[chroma.size // 2:], tint_v).reshape(-1)
    yield planes if yuv else cv2.cvtColor(planes, cv2.COLOR_YUV2RGB_I420)


def hash_clip(clip: cremad.ClipName) -> int:
  """A stable integer for a clip name (Python's hash() is salted per process)."""
  return (cremad.SENTENCES.index(clip.sentence) * 100 + cremad.EMOTIONS.index(clip.emotion) * 10
          + cremad.LEVELS.index(clip.level))


# ----------------------------------------------------------------------------- audio
def synthesize_speech(seed: int, plan: ClipPlan, sample_rate: int) -> np.ndarray:
  """A voiced 'sentence' for the clip: float32 `[num_samples]` in [-1, 1].

  A harmonic tone at the actor's pitch, shaped by the clip's syllable envelope (the same
  one that opens the mouth), with the emotion's pitch level, range, loudness, tremor and
  spectral tilt scaled by the clip's intensity, plus a little breath noise.
  """
  actor = make_actor(seed, plan.clip.actor)
  rng = np.random.default_rng([seed, plan.clip.actor, hash_clip(plan.clip), sample_rate, 8])
  strength = plan.intensity * actor.expressivity
  neutral, target = VOICES["NEU"], VOICES[plan.clip.emotion]
  voice = {k: neutral[k] + strength * (target[k] - neutral[k]) for k in neutral}
  duration = plan.num_frames / float(FPS)
  seconds = np.arange(int(round(duration * sample_rate))) / sample_rate
  # Pitch: a random accent per syllable, a falling declination and the emotion's tremor.
  accents = np.interp(seconds, [(a + b) / 2 for a, b in plan.syllables],
                      rng.uniform(-1, 1, len(plan.syllables)))
  f0 = actor.f0 * voice["pitch"] * (1 + voice["pitch_range"] * accents
                                    - 0.08 * seconds / duration
                                    + voice["tremor"] * np.sin(2 * np.pi * 6.0 * seconds))
  phase = 2 * np.pi * np.cumsum(f0) / sample_rate
  harmonics = np.arange(1, 11)
  amplitudes = harmonics ** -voice["tilt"] * (harmonics * f0.mean() < sample_rate / 2.2)
  tone = np.zeros_like(seconds)
  for k, amplitude in zip(harmonics, amplitudes):
    if amplitude > 0:
      tone += amplitude * np.sin(k * phase)
  tone /= amplitudes.sum()
  envelope = speech_envelope(plan, seconds)
  signal = envelope * (voice["energy"] * tone + 0.03 * rng.normal(0, 1, seconds.size))
  signal += 0.002 * rng.normal(0, 1, seconds.size)  # room noise
  return np.clip(0.8 * signal, -1, 1).astype(np.float32)


def write_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int = WAV_SAMPLE_RATE):
  """Writes float `[N]` audio in [-1, 1] as 16-bit PCM mono WAV."""
  pcm = np.round(np.clip(audio, -1, 1) * 32767).astype("<i2")
  with wave.open(os.fspath(path), "wb") as f:
    f.setnchannels(1)
    f.setsampwidth(2)
    f.setframerate(sample_rate)
    f.writeframes(pcm.tobytes())


def write_flv(path: str | os.PathLike, frames, audio: np.ndarray, frame_size: tuple[int, int],
              sample_rate: int = WAV_SAMPLE_RATE):
  """Encodes I420 frames (FLV1 video, 29.97 fps) and mono audio (MP3, 44.1 kHz) into an FLV.

  Args:
    path: the .flv file to write.
    frames: iterable of uint8 `[H * 3 // 2, W]` I420 frames (render_frames(..., yuv=True)).
    audio: float32 `[N]` mono at `sample_rate`; resampled to 44.1 kHz by the encoder.
    frame_size: (width, height).
    sample_rate: of `audio`.


  FLV1 (Sorenson H.263) is what FLV players and both decord and PyAV decode; the real
  files' VP6F cannot be encoded by FFmpeg.
  """
  with av.open(os.fspath(path), "w", format="flv") as container:
    video = container.add_stream("flv", rate=FPS)
    video.width, video.height = frame_size
    video.pix_fmt = "yuv420p"
    video.bit_rate = 500_000
    video.codec_context.thread_count = 1  # deterministic output
    # compression_level 9 is lame's fastest mode; plenty for a synthetic voice.
    sound = container.add_stream("libmp3lame", rate=FLV_SAMPLE_RATE,
                                 options={"compression_level": "9"})
    sound.layout = "mono"
    sound.bit_rate = 64_000
    for frame in frames:
      for packet in video.encode(av.VideoFrame.from_ndarray(frame, format="yuv420p")):
        container.mux(packet)
    for packet in video.encode():
      container.mux(packet)
    audio_frame = av.AudioFrame.from_ndarray(audio[None].astype(np.float32), format="flt",
                                             layout="mono")
    audio_frame.sample_rate = sample_rate
    for packet in sound.encode(audio_frame):
      container.mux(packet)
    for packet in sound.encode():
      container.mux(packet)


# ----------------------------------------------------------------------------- votes
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


def simulate_votes(seed: int, plan: ClipPlan) -> dict:
  """Crowd responses per modality: {modality: {"counts", "ratings", "normalised"}}."""
  clip = plan.clip
  rng = np.random.default_rng([seed, clip.actor, hash_clip(clip), 9])
  actor = make_actor(seed, clip.actor)
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
    a = make_actor(seed, actor_id)
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
    votes = simulate_votes(seed, make_clip_plan(seed, clip))
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


# ----------------------------------------------------------------------------- generate
def _write_clip(task) -> int:
  """Renders, encodes and writes one clip's FLV and WAV; returns its frame count."""
  root, seed, clip, frame_size = task
  plan = make_clip_plan(seed, clip)
  audio = synthesize_speech(seed, plan, WAV_SAMPLE_RATE)
  for folder, suffix in (("AudioWAV", ".wav"), ("VideoFlash", ".flv")):
    final = os.path.join(root, folder, clip.name + suffix)
    partial = final + ".partial"  # renamed when complete: no half-written clip survives
    if suffix == ".wav":
      write_wav(partial, audio)
    else:
      write_flv(partial, render_frames(seed, plan, frame_size, yuv=True), audio, frame_size)
    os.replace(partial, final)
  return plan.num_frames


def _init_worker():
  cv2.setNumThreads(1)  # one process per core already


def _prepare_out_dir(root: pathlib.Path, overwrite: bool) -> None:
  """Creates `root`, or empties the synthetic files of a previous tree there."""
  if root.exists() and not root.is_dir():
    raise NotADirectoryError(f"--out {root} is a file; give a directory for the synthetic tree")
  if root.exists() and any(root.iterdir()) and not (root / MARKER_FILE).exists():
    if not overwrite:
      raise FileExistsError(
          f"--out {root} is not empty and holds no {MARKER_FILE}, so it is not a synthetic "
          "tree made by this module (it may be real data). Choose an empty or new directory, "
          "or pass overwrite=True (--overwrite) to replace its VideoFlash/*.flv, "
          "AudioWAV/*.wav and CSV files.")
  stale = [*root.glob("VideoFlash/*.flv*"), *root.glob("AudioWAV/*.wav*"),
           *root.glob("processedResults/*.csv"), *root.glob("*.csv"), root / MARKER_FILE]
  for path in stale:
    path.unlink(missing_ok=True)
  for folder in ("VideoFlash", "AudioWAV", "processedResults"):
    (root / folder).mkdir(parents=True, exist_ok=True)


def _check_args(num_actors, seed, clips_per_actor, num_workers, frame_size, sentences):
  if not isinstance(num_actors, int) or not 1 <= num_actors <= len(cremad.ACTORS):
    raise ValueError(f"num_actors must be an integer from 1 to {len(cremad.ACTORS)} (CREMA-D "
                     f"has actors 1001-1091), got {num_actors!r}")
  if not isinstance(seed, int) or seed < 0:
    raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
  if clips_per_actor is not None and (not isinstance(clips_per_actor, int)
                                      or clips_per_actor < 1):
    raise ValueError(f"clips_per_actor must be a positive integer or None (all 82), got "
                     f"{clips_per_actor!r}")
  if not isinstance(num_workers, int) or num_workers < 1:
    raise ValueError(f"num_workers must be a positive integer, got {num_workers!r}")
  if (len(frame_size) != 2 or any(not isinstance(v, int) or v < 64 or v % 2 for v in frame_size)):
    raise ValueError(f"frame_size must be (width, height), even integers >= 64, got "
                     f"{frame_size!r}")
  unknown = [s for s in sentences if s not in cremad.SENTENCES]
  if not sentences or unknown:
    raise ValueError(f"sentences must be a non-empty subset of {', '.join(cremad.SENTENCES)}; "
                     f"unknown: {unknown}")


def generate(out_dir: str | os.PathLike, num_actors: int = 10, seed: int = 0,
             clips_per_actor: int | None = None, num_workers: int | None = None,
             frame_size: tuple[int, int] = (480, 360), sentences=None,
             overwrite: bool = False) -> GenerateSummary:
  """Writes a synthetic CREMA-D tree for actors 1001..1000+num_actors into `out_dir`.

  Args:
    out_dir: new or empty directory, or a previous synthetic tree (replaced).
    num_actors: 1..91.
    seed: the whole tree is a pure function of the seed and the other arguments; the
      same clip name gets the same content whatever the subset.
    clips_per_actor: None for all 82 CREMA-D clips per actor, else a class-balanced
      subset of that many (e.g. 12 for a fast test set).
    num_workers: processes rendering clips; defaults to the usable CPU cores.
    frame_size: (width, height), even, >= 64; the real clips are 480x360.
    sentences: subset of cremad.SENTENCES (default all 12).
    overwrite: allow writing into a non-empty directory that is not a synthetic tree.

  Returns:
    GenerateSummary.
  """
  started = time.perf_counter()
  sentences = tuple(cremad.SENTENCES if sentences is None else sentences)
  frame_size = tuple(frame_size)
  if num_workers is None:
    num_workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
  _check_args(num_actors, seed, clips_per_actor, num_workers, frame_size, sentences)
  root = pathlib.Path(out_dir)
  _prepare_out_dir(root, overwrite)
  actors = cremad.ACTORS[:num_actors]
  clips = [clip for actor in actors
           for clip in select_clips(actor, seed, clips_per_actor, sentences)]
  tasks = [(os.fspath(root), seed, clip, frame_size) for clip in clips]
  num_workers = min(num_workers, len(tasks))
  if num_workers == 1:
    num_frames = sum(map(_write_clip, tasks))
  else:
    # spawn, not fork: the parent may have started JAX's threads.
    context = multiprocessing.get_context("spawn")
    with context.Pool(num_workers, initializer=_init_worker) as pool:
      num_frames = sum(pool.imap(_write_clip, tasks, chunksize=4))
  write_metadata(root, seed, actors, clips)
  marker = dict(generator="emo_jax.data.synthetic", version=_GENERATOR_VERSION, seed=seed,
                num_actors=num_actors, clips_per_actor=clips_per_actor,
                sentences=list(sentences), frame_size=list(frame_size), num_clips=len(clips))
  (root / MARKER_FILE).write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n")
  return GenerateSummary(root=os.fspath(root), actors=tuple(actors), num_clips=len(clips),
                         num_frames=int(num_frames), frame_size=frame_size, seed=seed,
                         wall_seconds=time.perf_counter() - started)


def main(argv=None) -> GenerateSummary:
  parser = argparse.ArgumentParser(
      prog="python -m emo_jax.data.synthetic", description=__doc__.splitlines()[0])
  parser.add_argument("--out", required=True, help="output directory (new, empty or synthetic)")
  parser.add_argument("--actors", type=int, default=10, help="number of actors, 1..91")
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--clips_per_actor", type=int, default=None,
                      help="class-balanced subset per actor (default: all 82)")
  parser.add_argument("--sentences", default=None,
                      help="comma-separated sentence codes, e.g. IEO,DFA (default: all 12)")
  parser.add_argument("--num_workers", type=int, default=None, help="default: CPU cores")
  parser.add_argument("--frame_size", default="480x360", help="WIDTHxHEIGHT, even, >= 64")
  parser.add_argument("--overwrite", action="store_true",
                      help="write into a non-empty directory that is not a synthetic tree")
  args = parser.parse_args(argv)
  try:
    width, height = (int(v) for v in args.frame_size.lower().split("x"))
  except ValueError:
    parser.error(f"--frame_size must look like 480x360, got {args.frame_size!r}")
  try:
    summary = generate(args.out, num_actors=args.actors, seed=args.seed,
                       clips_per_actor=args.clips_per_actor, num_workers=args.num_workers,
                       frame_size=(width, height), overwrite=args.overwrite,
                       sentences=args.sentences.split(",") if args.sentences else None)
  except (ValueError, FileExistsError, NotADirectoryError) as error:
    parser.error(str(error))
  print(f"wrote {summary.num_clips} clips ({summary.num_frames} frames) of "
        f"{len(summary.actors)} actors to {summary.root} in {summary.wall_seconds:.1f} s")
  return summary


if __name__ == "__main__":
  main()
