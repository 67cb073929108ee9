r"""ConvEncoder on single AffectNet faces (T = 1): the FER2013 image model on AffectNet.

  python -m tfds_cremad.build --config affectnet/c8_g48 --data_dir data/tfds --manual_dir /path/to/AffectNet
  python -m emo_jax.train --config=configs/affectnet_cnn.py --workdir=workdirs/affectnet_cnn

AffectNet needs a licence (http://mohammadmahoor.com/affectnet/); only the code ships.
Trains on AffectNet train less a class-balanced validation carve (500 per class), selects
on it, and reports the official validation set as test (its test set is not public).
Arguments: `classes=7` drops contempt (`affectnet/c7_*`), `balanced` trains on the
class-balanced subsample (`*_balanced`: every class cut to contempt's ~3.7k images)
instead of AffectNet's skew (the loss is class-weighted either way), `rgb` uses
112x112 RGB crops (`*_rgb112`) instead of 48x48 grey; `synthetic` and `runlocal` are
configs/fer2013_cnn.py's (synthetic CREMA-D frames; 2 steps on the tiny set, for tests). Scores on other datasets go through the shared labels:
`python -m emo_jax.evaluate --workdir workdirs/affectnet_cnn --dataset fer2013` (contempt
has no counterpart and is left out).
Cost and result: not measured (no AffectNet copy on this machine). At the FER2013
model's 2.0 steps/s of 128 images on 2 CPU cores, one epoch of the ~283k training images
is about 18 min; published 8-class accuracy on the official validation set is ~60%.
"""
from configs import common
from configs import fer2013_cnn


def get_config(arg=None):
  args = common.parse_arg(arg, synthetic=False, runlocal=False, classes=8, balanced=False,
                          rgb=False)
  if args.classes not in (7, 8):
    raise ValueError(f"classes must be 7 or 8 (AffectNet's configs), got {args.classes}")
  config = fer2013_cnn.get_config(",".join(
      name for name in ("synthetic", "runlocal") if args[name]))
  if not (args.synthetic or args.runlocal):
    name = f"c{args.classes}_{'rgb112' if args.rgb else 'g48'}"
    config.data.dataset = f"affectnet/{name}{'_balanced' if args.balanced else ''}"
    config.data.split = "standard"
    config.train.num_epochs = 10.0
  config.loss.class_weights = "balanced"
  return config
