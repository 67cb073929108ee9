r"""ConvEncoder -> temporal self-attention (pre-norm Transformer, CLS pooling) -> head.

  python -m emo_jax.train --config=configs/attention.py:synthetic --workdir=workdirs/attention

Arguments as in configs/ae_lstm.py (`synthetic`, `runlocal`, `ravdess`).
Cost and result (measured 2026-11-29 at commit bb89aac, 2 CPU cores shared with other
runs, load average 5-11): `:synthetic` (the quickstart's data and recipe, configs/common.py
`cpu_sized_synthetic`, tuned on ae_lstm; holdout split, 1,092 steps of 16 clips) took 21.6
min wall, peak RSS 1.5 GB; test accuracy 70.8% on the 4 unseen test actors (UAR 70.8%,
macro F1 0.69), from the best validation checkpoint (90.0%, the last), below ae_lstm
(80.8%) and cnn_lstm (80.0%) at the same commit.
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
  common.real_faces_pretrained_encoder(config, args)
  if args.runlocal:
    common.runlocal_overrides(config)
    config.model.encoder.widths = (4, 8)
    config.model.temporal.update(num_layers=1, num_heads=2, mlp_dim=16, hidden_size=8)
    config.model.head.hidden_sizes = (8,)
  return config
