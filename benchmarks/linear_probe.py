"""How hard is the synthetic set? A pixel-level linear probe on single face-cropped frames.

    python -m benchmarks.linear_probe [--actors 10] [--data_dir DIR] [--seed 0]

Generates a synthetic CREMA-D tree (or reads `--data_dir`, a tree written by
`emo_jax.data.synthetic`), face-crops a few frames of every clip with `faces.crop_faces`
(48x48 grey), and fits a logistic regression on the raw pixels, actor-disjoint (grouped
k-fold over actors), for each choice of frame:
  first:  the first frame (expression barely started: should be near chance, else a
          class leaks through something other than the face geometry);
  middle: the middle frame, what a frame-level baseline sees;
  random: a random frame of each clip;
  apex:   the frame of strongest expression (known from the generator's plan);
  apex-first: the difference apex - first, a crude stand-in for what a temporal model
          can compare.
A temporal model (CNN+LSTM on 16 frames) should beat all of these clearly. With 10 actors
this takes ~2-3 min on 2 CPU cores (generation ~1 min, decoding and cropping ~1 min).
"""
import argparse
import json
import multiprocessing
import os
import pathlib
import tempfile
import time

import numpy as np
from sklearn import linear_model
from sklearn import model_selection
from sklearn import pipeline
from sklearn import preprocessing
import threadpoolctl

from emo_jax.data import cremad
from emo_jax.data import decode
from emo_jax.data import faces
from emo_jax.data import synthetic

SIZE = 48
PROBES = ("first", "middle", "random", "apex", "apex-first")
# Strong L2 regularisation: ~2,300 pixels and a few hundred clips per fold.
REGULARISATION = 0.01


def frame_choices(seed: int, clip: cremad.ClipName) -> dict[str, int]:
  """The frame index of each probe's choice in `clip`, from the generator's plan."""
  plan = synthetic.make_clip_plan(seed, clip)
  times = np.arange(plan.num_frames) / max(plan.num_frames - 1, 1)
  rng = np.random.default_rng([seed, clip.actor, synthetic.hash_clip(clip), 99])
  return {"first": 0, "middle": plan.num_frames // 2,
          "random": int(rng.integers(plan.num_frames)),
          "apex": int(np.argmax(synthetic.expression_envelope(plan, times)))}


def _crop_clip(task) -> tuple[np.ndarray, float]:
  """Decodes one clip and face-crops the chosen frames: (uint8 [4, S, S], face ratio)."""
  path, num_frames, choices = task
  # All frames, so that output index == source frame index (read_frames samples uniformly).
  frames = decode.read_frames(path, num_frames)
  crops, face_found_ratio = faces.crop_faces(frames[list(choices.values())], SIZE,
                                             grayscale=True, margin=0.25)
  return crops[..., 0], face_found_ratio


def probe_accuracies(features: dict[str, np.ndarray], labels: np.ndarray,
                     actors: np.ndarray) -> dict[str, float]:
  """Actor-disjoint accuracy of a logistic regression on each feature set."""
  folds = model_selection.GroupKFold(n_splits=min(5, len(np.unique(actors))))
  results = {}
  # One BLAS thread: these fits are small, and on a busy 2-core machine a thread pool per
  # fit made them ~40x slower (110 s instead of 2.4 s).
  with threadpoolctl.threadpool_limits(limits=1):
    for name, x in features.items():
      model = pipeline.make_pipeline(
          preprocessing.StandardScaler(),
          linear_model.LogisticRegression(C=REGULARISATION, max_iter=2000))
      scores = model_selection.cross_val_score(model, x, labels, groups=actors, cv=folds)
      results[name] = float(np.mean(scores))
  return results


def run(data_dir: str | os.PathLike, num_workers: int = 2) -> dict:
  """Crops the probe frames of every clip under `data_dir` and fits the probes."""
  root = pathlib.Path(data_dir)
  marker = root / synthetic.MARKER_FILE
  if not marker.exists():
    raise FileNotFoundError(f"{marker} not found: --data_dir must be a tree written by "
                            "python -m emo_jax.data.synthetic (the probe needs its seed)")
  seed = json.loads(marker.read_text())["seed"]
  clips = cremad.list_clips(root, exclude_broken=False)
  if len({c.actor for c in clips}) < 2:
    raise ValueError(f"{root} has clips of fewer than 2 actors; an actor-disjoint probe "
                     "needs at least 2 (generate with --actors 2 or more)")
  choices = [frame_choices(seed, clip) for clip in clips]
  tasks = [(os.fspath(root / "VideoFlash" / f"{clip.name}.flv"),
            synthetic.make_clip_plan(seed, clip).num_frames, c)
           for clip, c in zip(clips, choices)]
  context = multiprocessing.get_context("spawn")
  with context.Pool(num_workers) as pool:
    results = pool.map(_crop_clip, tasks, chunksize=8)
  crops = np.stack([r[0] for r in results]).astype(np.float32) / 255  # [N, 4, S, S]
  features = {name: crops[:, i].reshape(len(clips), -1)
              for i, name in enumerate(("first", "middle", "random", "apex"))}
  features["apex-first"] = features["apex"] - features["first"]
  labels = np.array([c.label for c in clips])
  actors = np.array([c.actor for c in clips])
  accuracies = probe_accuracies({name: features[name] for name in PROBES}, labels, actors)
  return dict(accuracies=accuracies, num_clips=len(clips), num_actors=len(set(actors)),
              chance=float(np.bincount(labels).max() / len(labels)),
              face_found_ratio=float(np.mean([r[1] for r in results])))


def main(argv=None) -> dict:
  parser = argparse.ArgumentParser(prog="python -m benchmarks.linear_probe",
                                   description=__doc__.splitlines()[0])
  parser.add_argument("--data_dir", default=None,
                      help="a synthetic tree to probe (default: generate one in a temp dir)")
  parser.add_argument("--actors", type=int, default=10)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--clips_per_actor", type=int, default=None)
  parser.add_argument("--num_workers", type=int, default=2)
  args = parser.parse_args(argv)
  with tempfile.TemporaryDirectory(prefix="linear_probe_") as scratch:
    data_dir = args.data_dir
    if data_dir is None:
      data_dir = os.path.join(scratch, "synthetic")
      started = time.perf_counter()
      summary = synthetic.generate(data_dir, num_actors=args.actors, seed=args.seed,
                                   clips_per_actor=args.clips_per_actor,
                                   num_workers=args.num_workers)
      print(f"generated {summary.num_clips} clips of {len(summary.actors)} actors in "
            f"{time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    result = run(data_dir, args.num_workers)
  print(f"{result['num_clips']} clips, {result['num_actors']} actors, actor-disjoint "
        f"{min(5, result['num_actors'])}-fold; chance (majority) {result['chance']:.1%}; "
        f"faces found in {result['face_found_ratio']:.1%} of probed frames "
        f"({time.perf_counter() - started:.0f} s)")
  for name, accuracy in result["accuracies"].items():
    print(f"  linear probe on {SIZE}x{SIZE} grey pixels, {name:>10} frame: {accuracy:.1%}")
  return result


if __name__ == "__main__":
  main()
