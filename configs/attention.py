r"""ConvEncoder -> temporal self-attention (pre-norm Transformer, CLS pooling) -> head.

  python -m emo_jax.train --config=configs/attention.py:synthetic --workdir=workdirs/attention

Arguments as in configs/ae_lstm.py (`synthetic`, `runlocal`, `ravdess`).
Cost and result: stale. Recorded 2026-11-24 at commit a851850 from a run started
alongside cnn_lstm's, most likely on synthetic data of generator version 1 (before its
side light and head sway; version 2 was enforced from 4238aa5, 15 min before the
record): `:synthetic` (the quickstart's data and recipe, configs/common.py
`cpu_sized_synthetic`; 1,092 steps of 16 clips) took 13.9 min wall on 2 CPU cores
shared with a FER2013 training run, peak RSS 1.5 GB; test accuracy 68.3% on the 4
unseen test actors, below ae_lstm (90.0%) and cnn_lstm (79.2%), both version 1, with
the recipe tuned on ae_lstm. Not yet re-measured at this commit: see the README's
Quickstart section for the current ae_lstm figure and its commit.
`:runlocal`: 2 steps in 4-21 s (tests/test_configs.py).
"""
from configs import common
from emo_jax.models import presets


def get_config(arg=None):
  args = common.parse_arg(arg, synthetic=False, runlocal=False, ravdess=False)
  config = common.base_config()
  config.data = common.cremad_data_config(args)
  config.model = presets.default_model_config("attention")
  common.cpu_sized_synthetic(config, args)
  if args.runlocal:
    common.runlocal_overrides(config)
    config.model.encoder.widths = (4, 8)
    config.model.temporal.update(num_layers=1, num_heads=2, mlp_dim=16, hidden_size=8)
    config.model.head.hidden_sizes = (8,)
  return config
