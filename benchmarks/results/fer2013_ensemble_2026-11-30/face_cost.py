"""One-off timing of the bundled models: `predict.predict_frames` on one face.

  python benchmarks/results/fer2013_ensemble_2026-11-30/face_cost.py

`predict_frames` pads every call to a batch of 32 faces, so each figure is the cost of
one padded batch of 32; mean of 50 calls after one warm-up (compilation) call.
"""
import time

import numpy as np

from emo_jax import checkpoints
from emo_jax import predict

face = (np.random.default_rng(0).random((1, 1, 48, 48, 1)) * 255).astype(np.uint8)
for name in ("fer2013", "fer2013_deep", "fer2013_vgg", "fer2013_ensemble"):
  run = checkpoints.load_bundled(name)
  predict.predict_frames(run, face)
  times = []
  for _ in range(50):
    start = time.perf_counter()
    predict.predict_frames(run, face)
    times.append(time.perf_counter() - start)
  print(f"{name}: {1000 * np.mean(times):.1f} ms mean, {1000 * np.median(times):.1f} ms median")
