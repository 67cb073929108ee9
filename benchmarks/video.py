"""Video analysis: detectors (hit rate, false positives, cost) and `video.analyze` end to end.

    python -m benchmarks.video [--quick] [--only detectors,analyze,memory] [--cremad_dir DIR]
        [--fer_python PYTHON]

detectors: each face detector on the six real CREMA-D clips (one face per frame: a hit
  is a frame where a box overlaps the clip's median face box, IoU > 0.3; every other box
  is a false positive) and on synthetic 640x480 clips with known boxes (one face, two
  side by side, two crossing); ms per frame of the detector alone (downscaling included).
analyze: frames/s end to end (decode thread, detection, tracking, crop, the jitted model
  on a padded batch, smoothing) and per-frame latency p50/p95 (time from one result to
  the next while the decoder runs ahead) on a 640x480 25 fps clip with one face and one
  with two, detecting every frame and every 5th. A file's faces go to the model 8 frames
  at a time (`pipeline.BATCH_FRAMES`), so its results come in bursts of 8 (p50 ~0, p95
  the gap between bursts); the .../frame_by_frame row (one face, every 5th frame) is the
  path of live sources, one model call per frame, whose latencies are per frame. The
  model is the bundled FER2013 one when present, else the same architecture with random
  weights (same cost).
  The `fer` package's video path (`fer.classes.Video.analyze` with `fer.fer.FER(mtcnn=False)`,
  every frame) runs on the same clips when it is installed (it needs TensorFlow, which
  this project does not install, so the row says skipped), or by `--fer_python`, the
  interpreter of another environment that has it (e.g. .venv_fer/bin/python), on the same
  clips in a subprocess after this project's rows; its rows are named
  analyze/fer_package/... so the summary's one-face target only reads this project's.
  `pip install tensorflow-cpu pandas && pip install --no-deps fer` keeps this project's
  pins (numpy, opencv-python-headless); fer's other requirements (opencv-contrib-python,
  facenet-pytorch, moviepy, ffmpeg-python) are for display, MTCNN and audio.
memory: peak and current RSS while analysing a long synthetic video (1 min; 10 min
  without --quick), sampled each minute: flat means no growth with length.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks import machine
from emo_jax.video import detect
from emo_jax.video import pipeline
from emo_jax.video import source
from emo_jax.video import synthetic
from emo_jax.video import track

DEFAULT_CREMAD_DIR = (pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" /
                      "cremad")
FRAME_SIZE = (640, 480)
FPS = 25.0


def _detectors(variants: bool = False) -> dict:
  """The detectors by name; `variants` adds Haar's other settings for comparison."""
  detectors = {"haar": detect.HaarDetector()}
  if variants:
    detectors["haar_min_neighbors_5"] = detect.HaarDetector(min_neighbors=5)
    detectors["haar_120_rows"] = detect.HaarDetector(detect_height=120)
    detectors["haar_from_24_px"] = detect.HaarDetector(min_face_share=0.0)
  if detect.mediapipe_available():
    detectors["mediapipe"] = detect.MediaPipeDetector()
  return detectors


def _score(detections_per_frame, true_boxes_per_frame) -> dict:
  hits = false_positives = faces = 0
  for detections, true_boxes in zip(detections_per_frame, true_boxes_per_frame):
    faces += len(true_boxes)
    if detections:
      iou = track.iou_matrix(true_boxes, np.stack([d.box for d in detections]))
      hits += int((iou.max(1) > 0.3).sum())
      false_positives += int((iou.max(0) <= 0.3).sum())
  return {"hit_rate": round(hits / max(faces, 1), 4), "false_positives": false_positives,
          "false_positives_per_frame": round(false_positives / len(true_boxes_per_frame), 4)}


def _timed(detector, frames) -> tuple[list, float, float]:
  """(detections per frame, wall ms per frame, CPU ms per frame of all threads)."""
  detector(frames[0])  # warm-up
  start, cpu_start = time.perf_counter(), time.process_time()
  found = [detector(f) for f in frames]
  return (found, 1000 * (time.perf_counter() - start) / len(frames),
          1000 * (time.process_time() - cpu_start) / len(frames))


def detector_rows(quick: bool, cremad_dir: pathlib.Path | None) -> list[dict]:
  """Hit rate, false positives and ms per frame of each detector."""
  num_frames = 50 if quick else 125
  clips = {"synthetic_one_face": synthetic.one_face(num_frames, FRAME_SIZE),
           "synthetic_two_faces": synthetic.two_faces(num_frames, FRAME_SIZE),
           "synthetic_crossing": synthetic.two_faces(num_frames, FRAME_SIZE, crossing=True)}
  real = []
  if cremad_dir is not None:
    for path in sorted((cremad_dir / "VideoFlash").glob("*.flv")):
      real.append(np.stack([f.image for f in source.open_source(path)]))
  rows = []
  for name, detector in _detectors(variants=True).items():
    for clip_name, clip in clips.items():
      found, ms, cpu_ms = _timed(detector, clip.frames)
      rows.append({"name": f"detect/{name}/{clip_name}", "frames": len(clip.frames),
                   "faces_per_frame": clip.boxes.shape[1], **_score(found, clip.boxes),
                   "ms_per_frame": round(ms, 2), "cpu_ms_per_frame": round(cpu_ms, 2)})
    if real:
      found_all, ms_all, cpu_all, truth_all = [], [], [], []
      for frames in real:
        found, ms, cpu_ms = _timed(detector, frames)
        # The clip's face: the median of the largest box per frame (CREMA-D: one actor).
        largest = [d[0].box for d in found if d]
        truth = np.median(np.stack(largest), 0) if largest else np.zeros(4)
        found_all += found
        truth_all += [truth[None]] * len(frames)
        ms_all.append(ms * len(frames))
        cpu_all.append(cpu_ms * len(frames))
      rows.append({"name": f"detect/{name}/cremad_real", "frames": len(found_all),
                   "faces_per_frame": 1, **_score(found_all, truth_all),
                   "ms_per_frame": round(sum(ms_all) / len(found_all), 2),
                   "cpu_ms_per_frame": round(sum(cpu_all) / len(found_all), 2)})
  return rows


def _load_model():
  try:
    return pipeline.load_model(None), "bundled"
  except Exception:  # pylint: disable=broad-except  (no bundle in this checkout)
    return synthetic.untrained_run("fer2013_cnn"), "fer2013_cnn architecture, random weights"


def _measure(path: str, analyzer: pipeline.Analyzer,
             batch_frames: int = pipeline.BATCH_FRAMES) -> dict:
  results = pipeline.analyze(path, analyzer=analyzer, batch_frames=batch_frames)
  gaps, faces = [], 0
  cpu_start = time.process_time()
  start = last = time.perf_counter()
  for result in results:
    now = time.perf_counter()
    gaps.append(now - last)
    last = now
    faces += len(result.faces)
  total = last - start
  cpu_ms = 1000 * (time.process_time() - cpu_start) / len(gaps)
  gaps_ms = np.array(gaps) * 1000
  return {"fps": round(len(gaps) / total, 1), "cpu_ms_per_frame": round(cpu_ms, 2),
          "latency_ms_p50": round(float(np.percentile(gaps_ms, 50)), 2),
          "latency_ms_p95": round(float(np.percentile(gaps_ms, 95)), 2), "frames": len(gaps),
          "faces_per_frame": round(faces / len(gaps), 2)}


def analyze_rows(quick: bool, workdir: pathlib.Path, fer_python: str | None = None) -> list[dict]:
  """End-to-end fps and latency of `analyze` per clip, detector and detect_every."""
  seconds = 4 if quick else 10
  num_frames = int(seconds * FPS)
  clips = {"one_face": synthetic.one_face(num_frames, FRAME_SIZE),
           "two_faces": synthetic.two_faces(num_frames, FRAME_SIZE)}
  paths = {name: synthetic.write_video(workdir / f"{name}.mp4", clip.frames, FPS)
           for name, clip in clips.items()}
  run, model_name = _load_model()
  rows = []
  for detector_name, detector in _detectors().items():
    runs = [(detect_every, clip_name, pipeline.BATCH_FRAMES, "")
            for detect_every in (1, 5) for clip_name in paths]
    runs.append((5, "one_face", 1, "/frame_by_frame"))
    for detect_every, clip_name, batch_frames, suffix in runs:
      analyzer = pipeline.Analyzer(run, detector=detector, detect_every=detect_every)
      analyzer.classifier.warm_up((1, 2))
      path = paths[clip_name]
      _measure(path, analyzer, batch_frames)  # warm-up pass (caches, lazy imports)
      timings = [_measure(path, analyzer, batch_frames) for _ in range(1 if quick else 3)]
      best = sorted(timings, key=lambda t: t["fps"])[len(timings) // 2]  # median by fps
      rows.append({"name": f"analyze/{clip_name}/{detector_name}/every_{detect_every}{suffix}",
                   **best, "model": model_name, "frame_size": "640x480",
                   # Wall-clock fps depends on what else runs; CPU ms does much less.
                   "load_average": machine.load_average()[0]})
  rows += _fer_rows_in(fer_python, paths, quick) if fer_python else _fer_rows(paths, workdir, quick)
  return rows


FER_PACKAGE = "analyze/fer_package"


def _fer_measure(fer_classes, detector, path: str, outdir: pathlib.Path,
                 write_outputs: bool) -> dict:
  """One pass of the fer package's own video path, `fer.classes.Video.analyze`.

  frequency=1 (its default: every frame, like detect_every=1 here). Its results come
  as one list at the end, so per-frame latency is the time between the ends of
  consecutive `detect_emotions` calls (decode, detection, crop and the model in
  between), measured like `_measure`'s gaps between consecutive results.
  """
  done = []
  faces = [0]
  original = detector.detect_emotions

  def timed_detect_emotions(img, *args, **kwargs):
    found = original(img, *args, **kwargs)
    done.append(time.perf_counter())
    faces[0] += len(found)
    return found

  detector.detect_emotions = timed_detect_emotions
  # Video.analyze calls cv2.waitKey(1) after every frame and cv2.destroyAllWindows() when
  # deleted, display or not; this project's opencv-python-headless raises "not
  # implemented" there (fer asks for the GUI build, opencv-contrib-python, which would
  # replace ours), so both are no-ops while fer runs: what a GUI build does with no
  # window open, less its <= 1 ms wait for a key.
  gui = {name: getattr(fer_classes.cv2, name) for name in ("waitKey", "destroyAllWindows")}
  fer_classes.cv2.waitKey = lambda delay=0: -1
  fer_classes.cv2.destroyAllWindows = lambda: None
  try:
    video = fer_classes.Video(str(path), outdir=str(outdir))
    cpu_start = time.process_time()
    start = time.perf_counter()
    video.analyze(detector, display=False, output="pandas", frequency=1,
                  save_frames=write_outputs, save_video=write_outputs,
                  annotate_frames=write_outputs, zip_images=write_outputs)
    call_s = time.perf_counter() - start
    cpu_ms = 1000 * (time.process_time() - cpu_start) / len(done)
    del video
  finally:
    del detector.detect_emotions
    for name, function in gui.items():
      setattr(fer_classes.cv2, name, function)
  gaps_ms = np.diff(np.array([start] + done)) * 1000
  return {"fps": round(len(done) / (done[-1] - start), 1), "cpu_ms_per_frame": round(cpu_ms, 2),
          "latency_ms_p50": round(float(np.percentile(gaps_ms, 50)), 2),
          "latency_ms_p95": round(float(np.percentile(gaps_ms, 95)), 2), "frames": len(done),
          "faces_per_frame": round(faces[0] / len(done), 2),
          "call_fps": round(len(done) / call_s, 1)}


def _fer_rows(paths: dict, workdir: pathlib.Path, quick: bool) -> list[dict]:
  """The `fer` package (PyPI `fer`, TensorFlow) on the same clips, its own video path.

  `fer.fer.FER(mtcnn=False)`: its defaults, the OpenCV Haar cascade on the full frame
  (scaleFactor 1.1, minNeighbors 5, min face 50 px) and its bundled quantised TFLite
  64x64 grey model, one face at a time; read by `fer.classes.Video` (cv2.VideoCapture),
  every frame. Without output files (like `analyze` here) and, one face, with its default
  outputs (annotated JPEG per frame, annotated video, zip).
  """
  try:
    import fer  # pylint: disable=g-import-not-at-top
    from fer import classes as fer_classes  # pylint: disable=g-import-not-at-top
    from fer import fer as fer_fer  # pylint: disable=g-import-not-at-top
  except Exception as e:  # pylint: disable=broad-except
    return [{"name": FER_PACKAGE, "skipped": "the fer package (TensorFlow) is not "
             f"installed ({type(e).__name__}: {e}); pip install tensorflow-cpu pandas && pip "
             "install --no-deps fer to compare"}]
  import logging  # pylint: disable=g-import-not-at-top
  logging.getLogger("fer").setLevel(logging.WARNING)  # its per-run INFO lines
  detector = fer_fer.FER(mtcnn=False)
  model = f"fer {fer.__version__} haar + tflite (mtcnn=False)"
  rows = []
  runs = [(name, path, False) for name, path in paths.items()]
  runs.append(("one_face", paths["one_face"], True))
  for clip_name, path, write_outputs in runs:
    outdir = workdir / f"fer_{clip_name}_{int(write_outputs)}"
    _fer_measure(fer_classes, detector, path, outdir, write_outputs)  # warm-up pass
    timings = [_fer_measure(fer_classes, detector, path, outdir, write_outputs)
               for _ in range(1 if quick else 3)]
    best = sorted(timings, key=lambda t: t["fps"])[len(timings) // 2]
    suffix = "/fer_default_outputs" if write_outputs else ""
    rows.append({"name": f"{FER_PACKAGE}/{clip_name}/haar/every_1{suffix}", **best,
                 "model": model, "frame_size": "640x480",
                 "load_average": machine.load_average()[0]})
  return rows


def _fer_rows_in(python: str, paths: dict, quick: bool) -> list[dict]:
  """`_fer_rows` run by another environment's interpreter (one with fer and TensorFlow)."""
  repo = pathlib.Path(__file__).resolve().parents[1]
  with tempfile.TemporaryDirectory(prefix="emo_jax_fer_rows_") as tmp:
    out = pathlib.Path(tmp) / "rows.json"
    clips = ",".join(f"{name}={path}" for name, path in paths.items())
    command = [python, "-m", "benchmarks.video", "--only", "fer_package", "--fer_clips", clips,
               "--json", str(out)] + (["--quick"] if quick else [])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode or not out.exists():
      tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
      return [{"name": FER_PACKAGE, "error": f"{python} exited {done.returncode}: {tail[0]}"}]
    return json.loads(out.read_text())


def _rss_mb() -> tuple[float, float]:
  """(current, peak) resident memory of this process, MB (Linux /proc)."""
  values = {}
  with open("/proc/self/status") as f:
    for line in f:
      if line.startswith(("VmRSS:", "VmHWM:")):
        values[line.split(":")[0]] = int(line.split()[1]) / 1024
  return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def memory_rows(quick: bool, workdir: pathlib.Path) -> list[dict]:
  """RSS each minute while analysing a long one-face video (flat = bounded memory)."""
  minutes = 1 if quick else 10
  loop = synthetic.one_face(250, FRAME_SIZE).frames  # 10 s, played over and over
  path = workdir / "long.mp4"
  num_frames = int(minutes * 60 * FPS)
  synthetic.write_video(path, (loop[i % len(loop)] for i in range(num_frames)), FPS)
  run, _ = _load_model()
  analyzer = pipeline.Analyzer(run, detector="auto", detect_every=5)
  rows, start = [], time.perf_counter()
  sample_every = int((10 if quick else 60) * FPS)
  for result in pipeline.analyze(str(path), analyzer=analyzer):
    if (result.index + 1) % sample_every == 0:
      current, peak = _rss_mb()
      rows.append({"name": f"memory/at_{(result.index + 1) / FPS:.0f}s", "rss_mb": round(current),
                   "peak_rss_mb": round(peak), "wall_s": round(time.perf_counter() - start, 1)})
  return rows


def run(quick: bool = False, cremad_dir: str | pathlib.Path | None = None,
        only: tuple[str, ...] = ("detectors", "analyze", "memory"),
        fer_python: str | None = None, fer_clips: dict | None = None) -> list[dict]:
  """The rows of the parts in `only` ("fer_package": fer's rows alone on `fer_clips`,
  {"one_face": path, ...}, what `--fer_python` runs)."""
  root = pathlib.Path(cremad_dir or DEFAULT_CREMAD_DIR)
  cremad_dir = root if any(root.glob("VideoFlash/*.flv")) else None
  rows = []
  with tempfile.TemporaryDirectory(prefix="emo_jax_video_bench_") as tmp:
    if "detectors" in only:
      rows += detector_rows(quick, cremad_dir)
    if "analyze" in only:
      rows += analyze_rows(quick, pathlib.Path(tmp), fer_python)
    if "fer_package" in only:
      rows += _fer_rows(fer_clips, pathlib.Path(tmp), quick)
    if "memory" in only:
      rows += memory_rows(quick, pathlib.Path(tmp))
  return rows


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true")
  parser.add_argument("--only", default="detectors,analyze,memory")
  parser.add_argument("--cremad_dir")
  parser.add_argument("--fer_python", help="the python of an environment with the fer "
                      "package, for its rows beside this project's")
  parser.add_argument("--fer_clips", help=argparse.SUPPRESS)  # name=path,... (--only fer_package)
  parser.add_argument("--json", help="also write the rows to this JSON file")
  args = parser.parse_args(argv)
  from benchmarks import results_report  # pylint: disable=g-import-not-at-top
  fer_clips = (dict(item.split("=", 1) for item in args.fer_clips.split(","))
               if args.fer_clips else None)
  rows = run(args.quick, args.cremad_dir, tuple(args.only.split(",")), args.fer_python,
             fer_clips)
  print(results_report.markdown_table(rows))
  if args.json:
    with open(args.json, "w") as f:
      json.dump(rows, f, indent=2)
  return 0


if __name__ == "__main__":
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  sys.exit(main())
