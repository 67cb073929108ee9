r"""ConvEncoder -> BiLSTM, no bottleneck: ae_lstm minus its autoencoder, for ablations.

  python -m emo_jax.train --config=configs/cnn_lstm.py:synthetic --workdir=workdirs/cnn_lstm

Arguments as in configs/ae_lstm.py (`synthetic`, `runlocal`, `ravdess`).
Cost and result (measured 2026-11-24, 2 CPU cores shared with a FER2013 training run,
so about twice the quiet-machine time): `:synthetic` (the quickstart's data and recipe,
configs/common.py `cpu_sized_synthetic`; 1,092 steps of 16 clips) took 13.9 min wall,
peak RSS 1.4 GB. Test accuracy 79.2% (UAR
79.2%, macro F1 0.79) on the 4 unseen test actors, best validation 96.0%: against
ae_lstm's 90.0% on the same split, though one seed each cannot separate them well.
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
  if args.runlocal:
    common.runlocal_overrides(config)
    config.model.encoder.widths = (4, 8)
    config.model.temporal.hidden_size = 8
    config.model.head.hidden_sizes = (8,)
  return config
