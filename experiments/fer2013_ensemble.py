r"""Chooses, on PublicTest only, which trained FER2013 networks to average into an ensemble.

  python -m experiments.fer2013_ensemble --data_dir data/tfds \
      --member fer2013 --member workdirs/fer2013_cpu --member fer2013_deep --member fer2013_vgg

Each `--member` is a bundled model's name or a training workdir (its best checkpoint),
run with the test-time augmentation in its config. Every subset of two or more members
is scored on PublicTest (the validation split) by the accuracy of its members' mean
class probabilities; the best is chosen, except that a subset with fewer members within
`--tolerance` points of it is preferred, since each member adds its whole cost per face.
PrivateTest is not read here: bundle the chosen members (`python -m emo_jax.bundle
--members ...`) and report the ensemble once with `python -m experiments.fer2013_views
--bundled NAME`. `--out FILE.json` keeps every subset's score.
"""
import argparse
import itertools
import json
import os

import numpy as np

from emo_jax import checkpoints
from emo_jax import predict
from experiments import fer2013_views


def load_member(member: str) -> checkpoints.LoadedRun:
  """A bundled model's name, or else a training workdir."""
  if os.path.isdir(member):
    return checkpoints.load(member)
  return checkpoints.load_bundled(member)


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
  return float(np.mean(probabilities.argmax(-1) == labels))


def score_subsets(probabilities: dict[str, np.ndarray], labels: np.ndarray,
                  min_size: int = 2) -> list[tuple[tuple[str, ...], float]]:
  """`(members, accuracy of their mean probabilities)` for every subset, best first."""
  names = list(probabilities)
  scores = []
  for size in range(min_size, len(names) + 1):
    for subset in itertools.combinations(names, size):
      mean = np.mean([probabilities[name] for name in subset], axis=0)
      scores.append((subset, accuracy(mean, labels)))
  return sorted(scores, key=lambda s: (-s[1], len(s[0])))


def choose(scores: list[tuple[tuple[str, ...], float]], tolerance: float) -> tuple[tuple[str, ...], float]:
  """The best subset, or the smallest one within `tolerance` (a fraction) of it; then the best of those."""
  best = scores[0][1]
  close = [s for s in scores if s[1] >= best - tolerance - 1e-12]
  fewest = min(len(s[0]) for s in close)
  return max((s for s in close if len(s[0]) == fewest), key=lambda s: s[1])


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--member", action="append", required=True,
                      help="a bundled model's name or a workdir; repeat for each candidate")
  parser.add_argument("--data_dir", default="data/tfds")
  parser.add_argument("--tolerance", type=float, default=0.2,
                      help="a smaller subset within this many points of the best PublicTest accuracy is preferred")
  parser.add_argument("--out", default=None, help="write every subset's score as JSON here")
  args = parser.parse_args(argv)
  if len(args.member) < 2:
    parser.error("an ensemble needs at least two --member")
  images, labels = fer2013_views.load_split(args.data_dir, "public_test")
  probabilities = {}
  for member in args.member:
    run = load_member(member)
    probabilities[member] = predict.predict_frames(run, images)
    print(f"{member}: PublicTest {accuracy(probabilities[member], labels):.1%} alone")
  scores = score_subsets(probabilities, labels)
  chosen, chosen_accuracy = choose(scores, args.tolerance / 100)
  print(f"\n| members | PublicTest accuracy |\n| --- | ---: |")
  for subset, value in scores[:10]:
    mark = " (chosen)" if subset == chosen else ""
    print(f"| {', '.join(subset)}{mark} | {value:.2%} |")
  print(f"\nchosen on PublicTest: {', '.join(chosen)} ({chosen_accuracy:.2%})")
  if args.out:
    with open(args.out, "w") as f:
      json.dump({"chosen": list(chosen), "chosen_public_test_accuracy": chosen_accuracy,
                 "tolerance_points": args.tolerance,
                 "singles": {m: accuracy(p, labels) for m, p in probabilities.items()},
                 "subsets": [{"members": list(s), "public_test_accuracy": a} for s, a in scores]},
                f, indent=1)
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
