r"""A residual network for FER2013 on the 2-core CPU: a different member for an ensemble.

  python -m tfds_cremad.build --config fer2013 --data_dir data/tfds --manual_dir /path/to/fer2013
  python -m emo_jax.train --config=configs/fer2013_cpu_resnet.py --workdir=workdirs/fer2013_cpu_resnet
  python -m experiments.fer2013_views --workdir workdirs/fer2013_cpu_resnet --data_dir data/tfds

The averaged networks in the `fer2013_ensemble` bundle are plain VGG-style stacks that
keep the spatial layout (`pooling="flatten"`) and make much the same mistakes. This
recipe changes the architecture and keeps everything else of `fer2013_cpu_deep.py` (its
crops, augmentation, AdamW with a cosine schedule, label smoothing, batch 64, 28
epochs): a ResNet with one basic block per stage (32-64-128-256 channels, a 3x3
stride-1 stem for the 40x40 crops, BatchNorm, identity shortcuts with a 1x1 projection
where the shape changes) and global average pooling, 1.3 M parameters and about 100 M
multiply-adds per face, sized to train as fast as `fer2013_cpu_deep.py` on the 2-core CPU.
Trains on FER2013 train, selects the checkpoint on PublicTest (val), reports PrivateTest
(test) once; `experiments.fer2013_views` picks the test-time augmentation on PublicTest.

`:runlocal` runs 2 steps on the tiny synthetic set (tests).
"""
import ml_collections

from configs import common
from configs import fer2013_cpu_deep


def get_config(arg=None):
  args = common.parse_arg(arg, synthetic=False, runlocal=False)
  config = fer2013_cpu_deep.get_config(arg)
  stages, filters = ((1, 1), 4) if args.runlocal else ((1, 1, 1, 1), 32)
  with config.unlocked():  # Another module: the conv encoder's fields do not apply.
    config.model.encoder = ml_collections.ConfigDict(dict(
        name="resnet", stage_sizes=stages, num_filters=filters, small_stem=True,
        norm="batch", frozen=False, pretrained=""))
  return config
