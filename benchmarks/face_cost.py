r"""Cost per face of bundled models: `predict.predict_frames` on one face, timed.

  python -m benchmarks.face_cost                          # fer2013, fer2013_deep, fer2013_vgg, fer2013_ensemble
  python -m benchmarks.face_cost fer2013_deep fer2013     # any bundled names

`predict_frames` pads every call to a batch of 32 faces, so each figure is the cost of
one padded batch of 32; mean and median of 50 calls after one warm-up (compilation)
call. A one-off timing on whatever else the machine is doing: the figures in the README
and the model cards are in benchmarks/results/fer2013_cpu_deep28_2026-11-30/face_cost.txt
and benchmarks/results/fer2013_ensemble_2026-11-30/face_cost.txt.
"""
import sys
import time

import numpy as np

from emo_jax import checkpoints
from emo_jax import predict

DEFAULT_NAMES = ("fer2013", "fer2013_deep", "fer2013_vgg", "fer2013_ensemble")


def time_bundled(name: str, calls: int = 50) -> list[float]:
  """Seconds of each of `calls` calls of `predict_frames` on one face, after a warm-up."""
  run = checkpoints.load_bundled(name)
  face = (np.random.default_rng(0).random((1, 1, 48, 48, 1)) * 255).astype(np.uint8)
  predict.predict_frames(run, face)
  times = []
  for _ in range(calls):
    start = time.perf_counter()
    predict.predict_frames(run, face)
    times.append(time.perf_counter() - start)
  return times


def main(argv=None) -> int:
  names = (sys.argv[1:] if argv is None else argv) or DEFAULT_NAMES
  for name in names:
    times = time_bundled(name)
    print(f"{name}: {1000 * np.mean(times):.1f} ms mean, {1000 * np.median(times):.1f} ms median")
  return 0


if __name__ == "__main__":
  sys.exit(main())
