"""`python -m emo_jax.video SOURCE --out DIR`: timeline.csv, summary.json, timeline.png, video.

    python -m emo_jax.video clip.mp4 --out results/clip --annotate
    python -m emo_jax.video 0 --out results/webcam            # live: window, q to stop
    python -m emo_jax.video clip.mp4 --out results/rt --realtime --workdir workdirs/fer2013_cnn
"""
import argparse
import os
import sys
import time

import numpy as np

from emo_jax.video import pipeline
from emo_jax.video import detect
from emo_jax.video import render
from emo_jax.video import report
from emo_jax.video import source as source_lib

WINDOW_NAME = "emo_jax.video (q to stop)"
# Detection every 5th frame (and on the frames after a new or missed face) costs Haar a
# fifth as much, ~4 ms per frame instead of ~18 (640x480), and changes little: on the
# six real CREMA-D clips every face of every frame is reported as with detection on
# every frame, boxes overlap them by IoU 0.97 (median), and the smoothed emotion is the
# same in 97% of frames, its probabilities within 0.04 (p95) (docs/video.md).
DEFAULT_DETECT_EVERY = 5


class _Window:
  """A live preview window when a display and an OpenCV with GUI exist; else nothing."""

  def __init__(self, enabled: bool):
    self.enabled = enabled and bool(os.environ.get("DISPLAY") or sys.platform != "linux")
    self.stopped = False

  def show(self, image: np.ndarray):
    if not self.enabled:
      return
    import cv2  # pylint: disable=g-import-not-at-top
    try:
      cv2.imshow(WINDOW_NAME, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
      self.stopped = (cv2.waitKey(1) & 0xFF) == ord("q")
    except cv2.error:  # opencv-python-headless has no GUI.
      self.enabled = False

  def close(self):
    if self.enabled:
      import cv2  # pylint: disable=g-import-not-at-top
      cv2.destroyAllWindows()


def analyze_to_dir(source, out_dir: str | os.PathLike, model=None, *, annotate: bool = False,
                   realtime: bool = False, progress: bool = True, window: bool = True,
                   analyzer: pipeline.Analyzer | None = None, **analyzer_kwargs) -> dict:
  """Runs `analyze` on a source and writes its outputs into `out_dir`.

  Writes timeline.csv (one row per frame and face), summary.json (per track: duration,
  mean probabilities, dominant emotion, share of time in each), timeline.png and, with
  `annotate`, annotated.mp4 (audio copied from a file source). When the source breaks
  mid-way (a corrupt or truncated file) everything up to the damage is written, the
  summary says `"complete": false` with the error, and the error is raised.

  Args:
    source, model, realtime, analyzer, analyzer_kwargs: as for `pipeline.analyze`.
    out_dir: the output folder (made if missing).
    annotate: also write annotated.mp4.
    progress: a progress bar for files.
    window: a preview window for live sources when a display exists (q stops).

  Returns:
    The summary dict (also in summary.json).

  Raises:
    source.SourceError: naming the source, when it cannot be opened, or after writing the
      results, when a frame cannot be decoded.
  """
  out_dir = os.fspath(out_dir)
  analyzer = analyzer or pipeline.Analyzer(model, **analyzer_kwargs)
  frames = source_lib.open_source(source, realtime)
  os.makedirs(out_dir, exist_ok=True)
  info = frames.info
  timeline = report.TimelineWriter(os.path.join(out_dir, "timeline.csv"), analyzer.class_names)
  summary = report.SummaryBuilder(analyzer.class_names)
  writer = (render.AnnotatedVideoWriter(os.path.join(out_dir, "annotated.mp4"), info.fps or 25.0,
                                        info.name if info.kind == "file" else None)
            if annotate else None)
  live_window = _Window(window and frames.live)
  bar = None
  if progress and not frames.live:
    import tqdm  # pylint: disable=g-import-not-at-top
    bar = tqdm.tqdm(total=info.num_frames, unit="frame", desc=os.path.basename(info.name))
  error = None
  start = time.perf_counter()
  try:
    for result in pipeline.analyze(frames, analyzer=analyzer):
      timeline.write(result)
      summary.add(result)
      if writer is not None or live_window.enabled:
        annotated = render.draw_faces(result.image, result.faces, analyzer.class_names)
        if writer is not None:
          writer.write(annotated, result.time)
        live_window.show(annotated)
        if live_window.stopped:
          break
      if bar is not None:
        bar.update(1)
  except (source_lib.SourceError, KeyboardInterrupt) as e:
    error = e
  finally:
    frames.close()
    if bar is not None:
      bar.close()
    live_window.close()
  seconds = time.perf_counter() - start
  timeline.close()
  annotated_path = writer.close() if writer is not None else None
  result = summary.summary(
      source=info.name, source_kind=info.kind, fps=info.fps,
      model={"workdir": analyzer.run.workdir, "step": analyzer.run.step,
             "frames_shape": list(analyzer.run.frames_shape)},
      detector=getattr(analyzer.detector, "name", type(analyzer.detector).__name__),
      detect_every=analyzer.detect_every, smoothing_s=analyzer.smoother.time_constant_s,
      realtime=realtime, processing_seconds=round(seconds, 3),
      processing_fps=round(summary.num_frames / seconds, 2) if seconds > 0 else None,
      complete=error is None, error=None if error is None else str(error) or type(error).__name__,
      annotated=os.path.basename(annotated_path) if annotated_path else None)
  report.write_json(result, os.path.join(out_dir, "summary.json"))
  report.plot_timeline(timeline.path, os.path.join(out_dir, "timeline.png"), analyzer.class_names)
  if isinstance(error, source_lib.SourceError):
    raise error
  return result


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="python -m emo_jax.video",
                                   description=__doc__.splitlines()[0])
  parser.add_argument("source", help="video file, image, folder or glob of images, camera "
                      "index (0) or stream URL")
  parser.add_argument("--out", required=True, help="output folder")
  parser.add_argument("--workdir", help="training workdir of the model (default: the "
                      "bundled FER2013 model)")
  parser.add_argument("--bundled", default=None,
                      help="a bundled model's name when no --workdir (default: fer2013, the "
                      "fastest; fer2013_vgg is more accurate and about 4x the cost per face)")
  parser.add_argument("--checkpoint", default="best", help="best, latest or a step number")
  parser.add_argument("--annotate", action="store_true", help="also write annotated.mp4")
  parser.add_argument("--detect_every", type=int, default=DEFAULT_DETECT_EVERY,
                      help="run the face detector every K frames, and on the next frames "
                      "while a face is new or just missed (the tracker carries boxes between)")
  parser.add_argument("--detector", default="auto", choices=detect.DETECTORS)
  parser.add_argument("--smoothing_s", type=float, default=0.5,
                      help="time constant of the per-face EMA in seconds (0: off)")
  parser.add_argument("--realtime", action="store_true",
                      help="pace a file as if live: frames are dropped when inference lags")
  parser.add_argument("--no_window", action="store_true", help="no live preview window")
  args = parser.parse_args(argv)
  from emo_jax import checkpoints  # pylint: disable=g-import-not-at-top
  try:
    model = (checkpoints.load(args.workdir, args.checkpoint) if args.workdir
             else checkpoints.load_bundled(args.bundled or checkpoints.REALTIME_BUNDLED))
  except (FileNotFoundError, ValueError) as e:  # BundleError is a ValueError
    print(f"error: cannot load the model: {e}", file=sys.stderr)
    return 2
  try:
    summary = analyze_to_dir(args.source, args.out, model, annotate=args.annotate,
                             realtime=args.realtime, window=not args.no_window,
                             detector=args.detector, detect_every=args.detect_every,
                             smoothing_s=args.smoothing_s)
  except source_lib.SourceError as e:
    print(f"error: {e}", file=sys.stderr)
    if os.path.exists(os.path.join(args.out, "summary.json")):
      print(f"the results up to the error are in {args.out}", file=sys.stderr)
    return 1
  print(f"{summary['num_frames']} frames, {summary['num_tracks']} face track(s), "
        f"{summary['processing_fps']} frames/s; wrote {args.out}")
  for track_id, track in summary["tracks"].items():
    print(f"  track {track_id}: {track['duration_s']:.1f} s, mostly {track['dominant_emotion']}")
  if "note" in summary:
    print(f"  {summary['note']}")
  return 0
