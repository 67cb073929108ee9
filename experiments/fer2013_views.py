r"""FER2013 accuracy of a trained run with each test-time augmentation, chosen on PublicTest.

  python -m experiments.fer2013_views --workdir workdirs/fer2013_bundled --data_dir data/tfds
  python -m experiments.fer2013_views --bundled fer2013_vgg   # a model that ships

Evaluates the run's selected checkpoint on PublicTest (the validation split) and
PrivateTest (the test split) with no test-time augmentation, with the mirror image
("flip") and with ten crops (an ensemble bundle: as its members are), prints accuracy,
UAR and macro F1 for each, marks the mode with the best PublicTest accuracy (the choice
never looks at PrivateTest), and prints PrivateTest's per-class table for that mode. `--out FILE.json` keeps the numbers.
"""
import argparse
import json

import numpy as np
import tensorflow_datasets as tfds

import tfds_cremad  # pylint: disable=unused-import  (registers the builders)
from emo_jax import checkpoints
from emo_jax import metrics as metrics_lib
from emo_jax import models
from emo_jax import predict
from emo_jax.models import emotion_net

SPLITS = {"public_test": "val", "private_test": "test"}


def load_split(data_dir: str, split: str) -> tuple[np.ndarray, np.ndarray]:
  source = tfds.data_source("fer2013", split=split, data_dir=data_dir)
  records = [source[i] for i in range(len(source))]
  images = np.stack([r["image"] for r in records])[:, None]
  return images, np.array([int(r["label"]) for r in records])


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  source = parser.add_mutually_exclusive_group(required=True)
  source.add_argument("--workdir", help="a training workdir")
  source.add_argument("--bundled", help="a bundled model's name, e.g. fer2013_vgg")
  parser.add_argument("--data_dir", default="data/tfds")
  parser.add_argument("--checkpoint", default="best")
  parser.add_argument("--out", default=None, help="write the numbers as JSON here")
  args = parser.parse_args(argv)
  if args.bundled:
    run = checkpoints.load_bundled(args.bundled)
  else:
    run = checkpoints.load(args.workdir, args.checkpoint)
  data = {split: load_split(args.data_dir, split) for split in SPLITS}
  results = {}
  # An ensemble's members keep their own test-time augmentation (chosen for each).
  modes = ([("members' own", None)] if run.config.model.get("ensemble") else
           [(m, m) for m in emotion_net.TEST_TIME_AUGMENTATIONS])
  for mode, augmentation in modes:
    model_run = run
    if augmentation:
      if augmentation == "ten_crop" and not run.config.model.get("center_crop"):
        continue
      config = run.config.model.copy_and_resolve_references()
      config.test_time_augmentation = augmentation
      model_run = checkpoints.LoadedRun(**{**run.__dict__, "model": models.create_model(
          config, len(run.class_names))})
    for split, (images, labels) in data.items():
      probabilities = predict.predict_frames(model_run, images)
      results[(mode, split)] = metrics_lib.classification_metrics(labels, probabilities,
                                                                  len(run.class_names))
  chosen = max((m for m, s in results if s == "public_test"),
               key=lambda m: results[(m, "public_test")]["accuracy"])
  print(f"{args.workdir or 'bundled ' + args.bundled}, step {run.step}, "
        f"compute dtype {run.config.model.get('dtype', 'float32')}\n")
  print("| test-time augmentation | PublicTest accuracy | PrivateTest accuracy | PrivateTest UAR | PrivateTest macro F1 |")
  print("| --- | ---: | ---: | ---: | ---: |")
  for mode in dict.fromkeys(m for m, _ in results):
    val, test = results[(mode, "public_test")], results[(mode, "private_test")]
    mark = " (chosen on PublicTest)" if mode == chosen else ""
    print(f"| {mode}{mark} | {val['accuracy']:.1%} | {test['accuracy']:.1%} | "
          f"{test['balanced_accuracy']:.1%} | {test['macro_f1']:.3f} |")
  test = results[(chosen, "private_test")]
  print(f"\nPrivateTest per class ({chosen}):\n")
  print("| class | precision | recall | F1 | support |")
  print("| --- | ---: | ---: | ---: | ---: |")
  for i, name in enumerate(run.class_names):
    print(f"| {name} | {test['per_class_precision'][i]:.3f} | {test['per_class_recall'][i]:.3f} | "
          f"{test['per_class_f1'][i]:.3f} | {int(test['per_class_support'][i])} |")
  if args.out:
    with open(args.out, "w") as f:
      json.dump({"step": run.step, "chosen": chosen,
                 "results": {f"{m}/{s}": {k: v for k, v in r.items()} for (m, s), r in results.items()}},
                f, indent=1, default=lambda x: np.asarray(x).tolist())
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
