r"""ConvEncoder -> BiLSTM, no bottleneck: ae_lstm minus its autoencoder, for ablations.

  python -m emo_jax.train --config=configs/cnn_lstm.py:synthetic --workdir=workdirs/cnn_lstm

Arguments as in configs/ae_lstm.py (`synthetic`, `runlocal`, `ravdess`).
Cost and result (measured 2026-11-29 at commit bb89aac, 2 CPU cores shared with other
runs, load average 5-11): `:synthetic` (the quickstart's data and recipe, configs/common.py
`cpu_sized_synthetic`; holdout split, 1,092 steps of 16 clips) took 22.1 min wall, peak
RSS 1.4 GB; test accuracy 80.0% on the 4 unseen test actors (UAR 80.0%, macro F1 0.80),
from the best validation checkpoint (96.0%, the last). ae_lstm at the same commit: 80.8%.
`:runlocal`: 2 steps in 4-21 s (tests/test_configs.py).
"""
from configs import common
from emo_jax.models import presets


def get_config(arg=None):
  args = common.parse_arg(arg, synthetic=False, runlocal=False, ravdess=False)
  config = common.base_config()
  config.data = common.cremad_data_config(args)
  config.model = presets.default_model_config("cnn_lstm")
  common.cpu_sized_synthetic(config, args)
  common.real_faces_pretrained_encoder(config, args)
  if args.runlocal:
    common.runlocal_overrides(config)
    config.model.encoder.widths = (4, 8)
    config.model.temporal.hidden_size = 8
    config.model.head.hidden_sizes = (8,)
  return config
