r"""ConvEncoder -> denoising autoencoder bottleneck -> BiLSTM: the reference project's model.

  python -m emo_jax.train --config=configs/ae_lstm.py:synthetic --workdir=workdirs/ae_lstm

Arguments (comma-separated after the colon): `synthetic` trains on the synthetic
CREMA-D (built on first use), `runlocal` runs 2 steps on a tiny set (tests). Without
`synthetic`, it trains on real CREMA-D (`cremad/g16_112`, holdout split), which must be
built first: `python -m tfds_cremad.build --config g16_112 --data_dir data/tfds
--manual_dir /path/to/CREMA-D`.

Cost and result (measured, see README): `:synthetic` (8 frames of 64x64, 10 actors, holdout split with 7 train, 1 val and
2 test actors): 30 epochs (510 steps) took 24.7 min wall on 2 shared CPU cores at load
average ~8, with peak RSS 1.9 GB. Test accuracy 54.9% (UAR 54.5%, macro F1 0.48);
best validation 51.2%. This is short of the 90% target (measured 2026-11-24).
"""
from configs import common
from emo_jax.models import presets


def get_config(arg=None):
  args = common.parse_arg(arg, synthetic=False, runlocal=False)
  config = common.base_config()
  config.data = common.cremad_data_config(args)
  config.model = presets.default_model_config("ae_lstm")
  common.cpu_sized_synthetic(config, args)
  if args.runlocal:
    common.runlocal_overrides(config)
    config.model.encoder.widths = (4, 8)
    config.model.bottleneck.dim = 8
    config.model.temporal.hidden_size = 8
    config.model.head.hidden_sizes = (8,)
  return config
