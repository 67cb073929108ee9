r"""A deeper two-hour CPU recipe for FER2013: seven convs, thin where the faces are large.

  python -m tfds_cremad.build --config fer2013 --data_dir data/tfds --manual_dir /path/to/fer2013
  python -m emo_jax.train --config=configs/fer2013_cpu_deep.py --workdir=workdirs/fer2013_cpu_deep
  python -m experiments.fer2013_views --workdir workdirs/fer2013_cpu_deep --data_dir data/tfds

`fer2013_cpu.py` (four convs, 64-128-256-512) reached 64.4% on PublicTest in 26 epochs,
while `fer2013_vgg.py` (eight convs) had 65.8% after 30 of a 60-epoch run with its
learning rate still high: depth buys more per face seen than width. A 3x3 conv costs the
most on the 2-core CPU at full resolution, so this recipe keeps `fer2013_vgg.py`'s two
convs per stage and its 192 and 384 channels in the 10x10 and 5x5 stages, and thins the
two large stages (one conv of 32 channels at 40x40, two of 64 at 20x20): 3.4 M
parameters and 119 M multiply-adds per face, yet it trains as fast as `fer2013_cpu.py`
(1.8-1.9 steps a second over its three runs, against 1.8, per the runs' logs). Everything else is
`fer2013_cpu.py`'s: AdamW with decay on the kernels, a cosine schedule, label smoothing
0.1, batch 64, except lighter regularisation for a run bound by compute: head dropout
0.2 and random erasing 0.1 (not 0.3 and 0.25). 28 epochs, an evaluation every 4, so
that the whole run fits in two hours on the 2-core machine when nothing else runs.
Trains on FER2013 train, selects the checkpoint on PublicTest (val), reports PrivateTest
(test) once; `experiments.fer2013_views` picks the test-time augmentation on PublicTest.
The bundled `fer2013_deep` (`predict`'s default until the annealed `fer2013_vgg`) is this
recipe's run:

  python -m emo_jax.bundle --workdir workdirs/fer2013_cpu_deep --name fer2013_deep \
      --card_notes docs/model_cards/fer2013_deep.md

Cost and result (commit 165e5f0 with `--config.data.augment.erase_probability=0.1
--config.model.head.dropout=0.2`, what this config now says; 2026-11-30, the 2-core CPU
with nothing else running; README "Real faces"; log, numbers and the rule fixed before
the run in benchmarks/results/fer2013_cpu_deep_light_2026-11-30/): the whole run took
1 h 58 min 3 s wall (12,544 steps of 64 faces at about 1.8 steps/s; peak RSS 1.8 GB).
PublicTest peaked at the last evaluation, epoch 28: 67.5% with the mirror image (chosen
on PublicTest); **PrivateTest 68.1%** with the mirror image, 67.7% without, 67.2% with
ten crops; UAR 64.9%, macro F1 0.656; recall from 43% (fear) and 56% (disgust, 55
faces) to 88% (happy). That meets the 68% target for a two-hour CPU run, by 0.07 points.
A second seed (`--config.seed=1`, commit 78d1f29's code, the rule in
benchmarks/results/fer2013_ensemble_2026-11-30/rule.md; log and numbers in
benchmarks/results/fer2013_cpu_deep_seed1_2026-11-30/) took 1 h 51 min 39 s with a few
minutes of unit tests beside it: 66.7% on PublicTest, **PrivateTest 68.5%** with the
mirror image (UAR 65.2%), so the target is met by both seeds. It is not bundled (its
PublicTest figure is below the seed-0 run's).

Earlier runs of this recipe had dropout 0.3 and erasing 0.25 (add
`--config.model.head.dropout=0.3 --config.data.augment.erase_probability=0.25`):
- 28 epochs (commit cb59152; 1 h 52 min;
  benchmarks/results/fer2013_cpu_deep28_2026-11-30/): 66.7% on PublicTest, 67.4% on
  PrivateTest (UAR 62.7%). At its end the running training accuracy was 71.7%, not far
  above PublicTest: the reason the regularisation was lightened.
- 24 epochs with an evaluation every 3 (commit 47f55a0; add `--config.train.num_epochs=24
  --config.train.eval_every_epochs=3`; 1 h 35 min;
  benchmarks/results/fer2013_cpu_deep_2026-11-30/): 65.6% on PublicTest (epoch 21),
  67.2% on PrivateTest (UAR 60.3%).

`:runlocal` runs 2 steps on the tiny synthetic set (tests).
"""
from configs import common
from configs import fer2013_cpu


def get_config(arg=None):
  args = common.parse_arg(arg, synthetic=False, runlocal=False)
  config = fer2013_cpu.get_config(arg)
  widths, convs = ((4, 8), (1, 2)) if args.runlocal else ((32, 64, 192, 384), (1, 2, 2, 2))
  config.model.encoder.widths = widths
  with config.unlocked():  # An int in the presets; here a count per stage.
    del config.model.encoder["convs_per_stage"]
    config.model.encoder.convs_per_stage = convs
  config.model.head.dropout = 0.2
  if not (args.synthetic or args.runlocal):
    config.data.augment.erase_probability = 0.1
  config.train.num_epochs = 28.0
  config.train.eval_every_epochs = 4.0
  return config
