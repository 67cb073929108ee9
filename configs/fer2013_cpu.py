r"""The FER2013 recipe for a two-hour run on this project's 2-core CPU.

  python -m tfds_cremad.build --config fer2013 --data_dir data/tfds --manual_dir /path/to/fer2013
  python -m emo_jax.train --config=configs/fer2013_cpu.py --workdir=workdirs/fer2013_cpu
  python -m experiments.fer2013_views --workdir workdirs/fer2013_cpu --data_dir data/tfds

`fer2013_bundled.py` underfits: after 24 epochs its training accuracy (58.8%, under
augmentation) is below its PublicTest accuracy (60.6%). This recipe spends the same kind
of CPU budget on capacity instead of regularisation: four 3x3 conv stages twice as wide
(64-128-256-512, 2.8 M parameters, 89 M multiply-adds per 40x40 face against the
bundle's 23 M), the spatial layout kept (`pooling="flatten"`), lighter dropout (0.3) and
random erasing (0.25), and the optimiser of `fer2013_vgg.py` (AdamW, decoupled weight
decay on the kernels only, cosine schedule). The epoch count is sized so that the whole
run (training, evaluations, the final test) fits in two hours on the 2-core machine
when nothing else runs. Trains on FER2013 train, selects the checkpoint on
PublicTest (val), reports PrivateTest (test) once; `experiments.fer2013_views` picks the
test-time augmentation on PublicTest.

Cost and result (commit 42ad2c3, 2026-11-30, the 2-core CPU, idle but for a minute of tests;
README "Real faces"; log and numbers in benchmarks/results/fer2013_cpu_2026-11-30/): the
whole run took 1 h 52 min wall (11,648 steps of 64 faces at about 1.8 steps/s, an
evaluation every 2 epochs; peak RSS 1.8 GB). Best PublicTest at the last epoch, 64.4%;
PrivateTest 66.0% with the mirror image (chosen on PublicTest), 65.9% without, 65.1%
with ten crops; UAR 59.1%, macro F1 0.606; recall from 27% (disgust, 55 faces) and 40%
(fear) to 89% (happy). 3.5 points above the `fer2013` bundle's recipe, still short of
the 68% target; PublicTest below `fer2013_vgg`'s 65.8%, so it is not bundled.
`:runlocal` runs 2 steps on the tiny synthetic set (tests).
"""
from configs import common
from configs import fer2013_vgg


def get_config(arg=None):
  args = common.parse_arg(arg, synthetic=False, runlocal=False)
  config = fer2013_vgg.get_config(arg)
  config.model.encoder.update(widths=(64, 128, 256, 512), convs_per_stage=1)
  config.model.head.dropout = 0.3
  if not (args.synthetic or args.runlocal):
    config.data.batch_size = 64
    config.data.worker_count = 2
    config.data.augment.erase_probability = 0.25
  config.train.num_epochs = 26.0
  config.train.checkpoint_every_epochs = 1.0
  config.train.log_every_steps = 100
  if args.runlocal:
    common.runlocal_overrides(config)
    config.model.encoder.update(widths=(4, 8), features=16)
    config.model.head.hidden_sizes = (8,)
  return config
