"""Drawing: an actor's head and shoulders before a green backdrop, frame by frame.

`render_frames` draws each frame of a clip in RGB with cv2 (anti-aliased, in fixed point so
slow motion stays smooth), then applies the clip's lighting drift, side light, white balance
and luma sensor noise on the I420 planes the encoder takes.
"""
import functools

import cv2
import numpy as np

from emo_jax.data.synthetic import actors

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
  actor = actors.make_actor(seed, actor_id)
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


def _head_pose(actor: actors.Actor, plan: actors.ClipPlan, frame_index: int, width: int,
               height: int) -> _Pose:
  m, t = plan.motion, 2 * np.pi * frame_index / float(actors.FPS)
  x = actor.centre[0] + m["dx"] + m["sway"] * np.sin(m["freq"][0] * t + m["phase"][0])
  y = actor.centre[1] * height / width + m["dy"] + 0.6 * m["sway"] * np.sin(
      m["freq"][1] * t + m["phase"][1])
  scale = actor.half_width * m["scale"] * (1 + m["scale_sway"] * np.sin(m["freq"][1] * t
                                                                        + m["phase"][2]))
  roll = m["roll"] + m["roll_sway"] * np.sin(m["freq"][0] * t + m["phase"][2])
  return _Pose((x * width, y * width), scale * width, roll)


def _draw_head(image: np.ndarray, actor: actors.Actor, pose: _Pose, torso: _Pose, g: dict):
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


def _draw_eyes(image, actor: actors.Actor, pose: _Pose, g: dict):
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


def _draw_nose(image, actor: actors.Actor, pose: _Pose, g: dict):
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


def _draw_mouth(image, actor: actors.Actor, pose: _Pose, g: dict, opening: float):
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


def render_frames(seed: int, plan: actors.ClipPlan, frame_size: tuple[int, int] = (480, 360),
                  yuv: bool = False):
  """Yields the clip's frames: uint8 `[H, W, 3]` RGB, or `[H * 3 // 2, W]` I420 if `yuv`.

  Drawing is in RGB; lighting (a luma gain drifting over the clip and a chroma tint) and
  luma sensor noise are applied to the I420 planes, which the encoder takes directly.
  """
  width, height = frame_size
  actor = actors.make_actor(seed, plan.clip.actor)
  backdrop = _backdrop(seed, actor.actor_id, width, height)
  positive, negative = _noise_banks(seed, width, height)[plan.noise_level]
  rng = np.random.default_rng([seed, plan.clip.actor, actors.hash_clip(plan.clip), 6])
  offsets = rng.integers(0, _NOISE_PAD, (plan.num_frames, 2))
  torso = _Pose((actor.centre[0] * width, actor.centre[1] * height), actor.half_width * width, 0)
  levels = np.arange(256, dtype=np.float32)
  tint_u, tint_v = (np.clip(levels + t, 0, 255).astype(np.uint8) for t in plan.tint)
  # Light from one side: a horizontal luma ramp across the face (x 1 +- side_light at its
  # edges), in 1/128 steps for cv2.multiply's uint8 path.
  across = (np.arange(width, dtype=np.float32) / width - actor.centre[0]) / actor.half_width
  ramp = 1 + plan.side_light * np.clip(across, -1.5, 1.5)
  side_light = np.broadcast_to(np.round(ramp * 128).astype(np.uint8), (height, width)).copy()
  geometries = actors.face_geometries(actor, plan)
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
