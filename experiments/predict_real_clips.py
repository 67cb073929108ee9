r"""Scores `emo_jax.predict` on labelled real CREMA-D clips, over crop margins and aggregations.

  python -m experiments.predict_real_clips --clips ../shared/data/cremad/VideoFlash

The label of each clip is its file name's emotion (`1001_DFA_HAP_XX.flv` is HAP); a
FER2013 model's classes are mapped to CREMA-D's six (surprise has no counterpart and
counts as wrong). For each face-crop margin and each way of averaging the frames it
prints how many clips are named right and the mean probability given to the right
class (less noisy than a count over few clips), then each clip's prediction at the
chosen setting and the time per clip. Decoding and face detection are shared by every
setting, so the timing is measured once, with the defaults of `emo_jax.predict`.
"""
import argparse
import glob
import os
import time

import numpy as np

from emo_jax import predict
from emo_jax.data import cremad
from emo_jax.data import faces
from emo_jax.data import fer2013

MARGINS = (0.0, 0.1, 0.2, 0.3)


def cremad_probabilities(probabilities: np.ndarray, class_names) -> np.ndarray:
  """`[K]` probabilities over the model's classes -> `[6]` over CREMA-D's (summed per code)."""
  if tuple(class_names) == tuple(cremad.EMOTIONS):
    return probabilities
  out = np.zeros(len(cremad.EMOTIONS))
  for name, p in zip(class_names, probabilities):
    code = fer2013.FER_TO_CREMAD.get(name)
    if code is not None:
      out[cremad.EMOTIONS.index(code)] += p
  return out


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--clips", required=True, help="folder of CREMA-D clips (*.flv)")
  parser.add_argument("--workdir", default=None, help="a run (default: a bundled model)")
  parser.add_argument("--bundled", default=predict.DEFAULT_BUNDLED,
                      help="the bundled model without --workdir, e.g. fer2013_ensemble")
  parser.add_argument("--max_frames", type=int, default=0, help="frames per clip (0: all)")
  args = parser.parse_args(argv)
  paths = sorted(glob.glob(os.path.join(args.clips, "*.flv")))
  if not paths:
    raise SystemExit(f"no .flv clips in {args.clips}")
  run = predict.load_model(args.workdir, args.bundled)
  labels = [cremad.parse_clip_name(p).label for p in paths]
  predict.predict(paths[0], run, max_frames=2)  # Compile once, outside the timing.
  start = time.perf_counter()
  results = {m: [predict.predict(p, run, args.max_frames, margin=m) for p in paths]
             for m in MARGINS}
  seconds = (time.perf_counter() - start) / (len(MARGINS) * len(paths))
  print(f"{len(paths)} clips, {args.max_frames or 'all'} frames each; "
        f"{seconds:.2f} s per clip (decode, detect, crop, classify)\n")
  print("| margin | aggregation | clips right | mean p(right class) |")
  print("| ---: | --- | ---: | ---: |")
  for margin, clip_results in results.items():
    for how in predict.AGGREGATIONS:
      right, p_right = 0, []
      for result, label in zip(clip_results, labels):
        frames = np.array([f["probabilities"] for f in result.frames if f["probabilities"]])
        if not len(frames):
          p_right.append(0.0)
          continue
        p = cremad_probabilities(predict.aggregate(frames, how), run.class_names)
        right += int(np.argmax(p) == label)
        p_right.append(p[label])
      print(f"| {margin} | {how} | {right} of {len(labels)} | {np.mean(p_right):.3f} |")
  print(f"\nAt the defaults (margin {faces.FER2013_MARGIN}, log_mean):")
  for result, label in zip(results[faces.FER2013_MARGIN], labels):
    print(f"  {os.path.basename(result.path)}: {result.class_name} "
          f"(true {cremad.EMOTIONS[label]}; face in {result.face_found_ratio:.0%} of frames)")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
