"""Sinks for analysis results: a table, timeline.csv, summary.json and timeline.png.

Files are written under a temporary name and renamed when complete, so a file with the
final name is never half-written.
"""
import csv
import json
import os
from typing import Iterable, Sequence

import numpy as np

from emo_jax.video import pipeline

BOX_COLUMNS = ("x0", "y0", "x1", "y1")


def columns(class_names: Sequence[str]) -> list[str]:
  """timeline.csv's header: one row per frame and face."""
  return (["frame", "time_s", "track_id", *BOX_COLUMNS, "detection_score", "detected"]
          + [f"prob_{n}" for n in class_names] + [f"smoothed_{n}" for n in class_names])


def table_dtype(class_names: Sequence[str]) -> np.dtype:
  fields = [("frame", np.int64), ("time_s", np.float64), ("track_id", np.int32)]
  fields += [(c, np.float32) for c in BOX_COLUMNS]
  fields += [("detection_score", np.float32), ("detected", np.bool_)]
  fields += [(f"prob_{n}", np.float32) for n in class_names]
  fields += [(f"smoothed_{n}", np.float32) for n in class_names]
  return np.dtype(fields)


def rows(result: pipeline.FrameResult) -> list[tuple]:
  """One tuple per face of a frame, in `columns` order."""
  return [(result.index, result.time, face.track_id, *(float(v) for v in face.box),
           face.detection_score, face.detected, *face.probabilities.tolist(),
           *face.smoothed.tolist()) for face in result.faces]


def to_table(results: Iterable[pipeline.FrameResult],
             class_names: Sequence[str]) -> np.ndarray:
  """A numpy structured array, one row per frame and face (fields: `columns`)."""
  return np.array([row for result in results for row in rows(result)],
                   dtype=table_dtype(class_names))


def analyze_to_table(source, model=None, analyzer: pipeline.Analyzer | None = None,
                     **analyzer_kwargs) -> tuple[np.ndarray, tuple[str, ...]]:
  """Analyzes a whole file into (structured array of `columns`, class names).

  Args are those of `analyze.analyze`; pass `analyzer` to reuse a compiled model.
  """
  analyzer = analyzer or pipeline.Analyzer(model, **analyzer_kwargs)
  results = pipeline.analyze(source, analyzer=analyzer)
  return to_table(results, analyzer.class_names), analyzer.class_names


def _partial(path: str) -> str:
  directory, name = os.path.split(path)
  return os.path.join(directory, f".{name}.partial")


def write_json(data: dict, path: str | os.PathLike) -> str:
  path = os.fspath(path)
  with open(_partial(path), "w") as f:
    json.dump(data, f, indent=2)
  os.replace(_partial(path), path)
  return path


class TimelineWriter:
  """Streams timeline.csv row by row (flat memory); the file appears under its name on close."""

  def __init__(self, path: str | os.PathLike, class_names: Sequence[str]):
    self.path = os.fspath(path)
    self._file = open(_partial(self.path), "w", newline="")
    self._writer = csv.writer(self._file)
    self._writer.writerow(columns(class_names))

  def write(self, result: pipeline.FrameResult):
    for row in rows(result):
      self._writer.writerow([_format(v) for v in row])

  def close(self):
    if not self._file.closed:
      self._file.close()
      os.replace(_partial(self.path), self.path)


def _format(value):
  if isinstance(value, (bool, np.bool_)):
    return int(value)
  if isinstance(value, float):
    return f"{value:.5g}"
  return value


def write_csv(table_or_results, path: str | os.PathLike,
              class_names: Sequence[str]) -> str:
  """Writes a `to_table` array, or FrameResults, as timeline.csv."""
  writer = TimelineWriter(path, class_names)
  if isinstance(table_or_results, np.ndarray):
    for row in table_or_results.tolist():
      writer._writer.writerow([_format(v) for v in row])  # pylint: disable=protected-access
  else:
    for result in table_or_results:
      writer.write(result)
  writer.close()
  return writer.path


class SummaryBuilder:
  """Per-track running totals for summary.json (memory grows with tracks, not frames)."""

  def __init__(self, class_names: Sequence[str]):
    self.class_names = tuple(class_names)
    self.num_frames = 0
    self.num_frames_with_faces = 0
    self.first_time = None
    self.last_time = 0.0
    self.num_dropped = 0
    self._tracks: dict[int, dict] = {}

  def add(self, result: pipeline.FrameResult):
    self.num_frames += 1
    self.first_time = result.time if self.first_time is None else self.first_time
    self.last_time = result.time
    self.num_dropped = result.num_dropped
    self.num_frames_with_faces += bool(result.faces)
    for face in result.faces:
      totals = self._tracks.get(face.track_id)
      if totals is None:
        totals = self._tracks[face.track_id] = dict(
            first_s=result.time, num_frames=0, detected_frames=0,
            probability_sum=np.zeros(len(self.class_names)),
            dominant_counts=np.zeros(len(self.class_names), np.int64))
      totals["last_s"] = result.time
      totals["num_frames"] += 1
      totals["detected_frames"] += bool(face.detected)
      totals["probability_sum"] += face.probabilities
      totals["dominant_counts"][int(np.argmax(face.smoothed))] += 1

  def summary(self, **extra) -> dict:
    """The summary.json dict; `extra` (source, model, error, ...) is merged in."""
    frame_seconds = ((self.last_time - self.first_time) / max(self.num_frames - 1, 1)
                     if self.num_frames > 1 else 0.0)
    tracks = {}
    for track_id, t in sorted(self._tracks.items()):
      mean = t["probability_sum"] / t["num_frames"]
      share = t["dominant_counts"] / t["num_frames"]
      tracks[str(track_id)] = {
          "first_s": round(t["first_s"], 3), "last_s": round(t["last_s"], 3),
          "duration_s": round(t["last_s"] - t["first_s"] + frame_seconds, 3),
          "num_frames": t["num_frames"], "detected_frames": t["detected_frames"],
          "mean_probabilities": {n: round(float(p), 4) for n, p in zip(self.class_names, mean)},
          "dominant_emotion": self.class_names[int(np.argmax(mean))],
          "share_of_time": {n: round(float(s), 4) for n, s in zip(self.class_names, share)}}
    summary = {"num_frames": self.num_frames,
               "duration_s": round(self.last_time - (self.first_time or 0.0) + frame_seconds, 3),
               "num_frames_with_faces": self.num_frames_with_faces,
               "num_dropped_frames": self.num_dropped, "class_names": list(self.class_names),
               "num_tracks": len(tracks), "tracks": tracks}
    if not tracks:
      summary["note"] = ("no face was found in any frame: the timeline is empty. Is a face "
                         "visible and frontal, and at least ~10% of the frame height?")
    summary.update(extra)
    return summary


def plot_timeline(csv_path: str | os.PathLike, out_path: str | os.PathLike,
                  class_names: Sequence[str], max_tracks: int = 8) -> str:
  """timeline.png: per track (longest first), smoothed probabilities stacked over time."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  by_track: dict[int, list] = {}
  with open(csv_path, newline="") as f:
    reader = csv.DictReader(f)
    for row in reader:
      by_track.setdefault(int(row["track_id"]), []).append(
          [float(row["time_s"])] + [float(row[f"smoothed_{n}"]) for n in class_names])
  chosen = sorted(by_track, key=lambda k: -len(by_track[k]))[:max_tracks]
  chosen.sort()
  figure, axes = plt.subplots(max(1, len(chosen)), 1, figsize=(10, 1.8 + 1.6 * max(1, len(chosen))),
                              squeeze=False, sharex=True)
  colours = plt.get_cmap("tab10").colors
  for axis, track_id in zip(axes[:, 0], chosen):
    data = np.array(by_track[track_id])
    axis.stackplot(data[:, 0], data[:, 1:].T, labels=class_names,
                   colors=colours[:len(class_names)])
    axis.set_ylim(0, 1)
    axis.set_ylabel(f"track {track_id}")
  if chosen:
    axes[0, 0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
  else:
    axes[0, 0].text(0.5, 0.5, "no face found", ha="center", va="center")
  axes[-1, 0].set_xlabel("time (s)")
  figure.suptitle("smoothed class probabilities per track")
  figure.tight_layout()
  out_path = os.fspath(out_path)
  partial = _partial(out_path)
  figure.savefig(partial, format="png", dpi=80)
  plt.close(figure)
  os.replace(partial, out_path)
  return out_path
