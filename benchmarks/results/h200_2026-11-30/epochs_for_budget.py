"""How many epochs of configs/fer2013_vgg.py fit in a time budget, from a short real run.

  python benchmarks/results/h200_2026-11-30/epochs_for_budget.py CALIBRATION_WORKDIR BUDGET_S

Reads the steps per second that the train loop logged in a short calibration run of the
same config on the same machine (the median of its log intervals after the first, which
holds the compilation), adds the evaluation every 2 epochs (about 2 s each), and prints
the number of epochs (at most the config's) that fit in 90% of BUDGET_S.
"""
import json
import os
import statistics
import sys

from configs import fer2013_vgg

STEPS_PER_EPOCH = 224  # 28,709 train faces // 128.
EVAL_SECONDS = 2.0

if __name__ == "__main__":
  workdir, budget = sys.argv[1], float(sys.argv[2])
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    rows = [json.loads(line) for line in f]
  rates = [r["steps_per_second"] for r in rows if r.get("split") == "train" and "steps_per_second" in r]
  rate = statistics.median(rates)
  train = fer2013_vgg.get_config().train
  per_epoch = STEPS_PER_EPOCH / rate + EVAL_SECONDS / train.eval_every_epochs
  epochs = int(min(train.num_epochs, 0.9 * budget / per_epoch))
  print(f"train loop {rate:.1f} steps/s (intervals: {', '.join(f'{r:.1f}' for r in rates)}); "
        f"{per_epoch:.1f} s per epoch; {epochs} epochs in {budget:.0f} s", file=sys.stderr)
  print(max(epochs, 10))
