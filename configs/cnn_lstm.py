r"""ConvEncoder -> BiLSTM, no bottleneck: ae_lstm minus its autoencoder, for ablations.

  python -m emo_jax.train --config=configs/cnn_lstm.py:synthetic --workdir=workdirs/cnn_lstm

Arguments as in configs/ae_lstm.py (`synthetic`, `runlocal`).
Cost and result (measured, see README): `:runlocal`: 2 steps in 4-21 s (tests/test_configs.py). Full `:synthetic` and real
runs have not been measured yet.
"""
from configs import common
from emo_jax.models import presets


def get_config(arg=None):
  args = common.parse_arg(arg, synthetic=False, runlocal=False)
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
