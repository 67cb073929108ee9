"""Per-track temporal smoothing: an EMA with a time constant in seconds; clip windows (T > 1)."""
import collections
import math

import numpy as np

# CREMA-D clips last 2.5 s on average and the clip models see T frames spread uniformly
# over a clip, so a window of T crops taken every CLIP_SECONDS / T seconds shows the model
# what it was trained on, whatever the video's own frame rate.
CLIP_SECONDS = 2.5


class EmaSmoother:
  """Exponential moving average of each track's probabilities, independent of the frame rate.

  After a gap of dt seconds the old value keeps weight exp(-dt / time_constant_s), so
  25 fps and 50 fps video (or frames dropped in live mode) smooth the same in seconds.
  `time_constant_s = 0` turns smoothing off.
  """

  def __init__(self, time_constant_s: float = 0.5):
    if time_constant_s < 0:
      raise ValueError(f"time_constant_s must be >= 0, got {time_constant_s}")
    self.time_constant_s = time_constant_s
    self._state: dict[int, tuple[float, np.ndarray]] = {}

  def update(self, track_id: int, probabilities: np.ndarray, time: float) -> np.ndarray:
    """Smoothed probabilities `[K]` of `track_id` after `probabilities` `[K]` at `time`."""
    probabilities = np.asarray(probabilities, np.float32)
    previous = self._state.get(track_id)
    if previous is None or self.time_constant_s == 0:
      smoothed = probabilities
    else:
      last_time, last = previous
      keep = math.exp(-max(0.0, time - last_time) / self.time_constant_s)
      smoothed = keep * last + (1 - keep) * probabilities
    self._state[track_id] = (time, smoothed)
    return smoothed

  def keep_only(self, track_ids) -> None:
    """Forgets ended tracks, so memory follows the live tracks, not the video's length."""
    track_ids = set(track_ids)
    for track_id in list(self._state):
      if track_id not in track_ids:
        del self._state[track_id]


class ClipWindows:
  """The last `num_frames` face crops of each track, one every `interval_s` seconds.

  A clip model (T > 1) was trained on T frames spread over a clip; this keeps each
  track's crops at that rate. Until a track has T crops its oldest is repeated (as
  `decode.sample_frame_indices` repeats frames of a short clip), so a new face gets a
  prediction at once.
  """

  def __init__(self, num_frames: int, interval_s: float):
    self.num_frames = num_frames
    self.interval_s = interval_s
    self._windows: dict[int, collections.deque] = {}
    self._last_added: dict[int, float] = {}

  def add(self, track_id: int, crop: np.ndarray, time: float) -> bool:
    """Offers a crop `[S, S, C]`; returns True when the window changed (a new clip to classify)."""
    last = self._last_added.get(track_id)
    # A little slack so a 25 fps video sampled every 0.3125 s does not skip a beat.
    if last is not None and time - last < self.interval_s - 1e-3:
      return False
    window = self._windows.setdefault(track_id, collections.deque(maxlen=self.num_frames))
    window.append(crop)
    self._last_added[track_id] = time
    return True

  def clip(self, track_id: int) -> np.ndarray:
    """The track's clip `[T, S, S, C]` (oldest crop repeated at the front while filling)."""
    window = list(self._windows[track_id])
    return np.stack([window[0]] * (self.num_frames - len(window)) + window)

  def keep_only(self, track_ids) -> None:
    track_ids = set(track_ids)
    for track_id in list(self._windows):
      if track_id not in track_ids:
        del self._windows[track_id]
        del self._last_added[track_id]
