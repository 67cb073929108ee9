r"""A C3D-style 3D convolution network on the whole clip -> head (`:r2plus1d` for (2+1)D).

  python -m emo_jax.train --config=configs/c3d.py:synthetic --workdir=workdirs/c3d

Arguments: `synthetic`, `runlocal`, `ravdess` as in configs/ae_lstm.py, and `r2plus1d` for the
factorised (2+1)D network.
Cost and result: a full `:synthetic` run has not been measured yet. Its train step is
about 2x ae_lstm's on CPU (benchmarks/RESULTS.md: 3.2 s vs 1.5 s for 4 clips of
16x112x112 on 2 quiet cores), so the quickstart recipe would take about 20 min here; a
run started on 2026-11-24 was stopped for lack of time. `:runlocal`: 2 steps in 4-21 s
(tests/test_configs.py).
"""
from configs import common
from emo_jax.models import presets


def get_config(arg=None):
  args = common.parse_arg(arg, synthetic=False, runlocal=False, ravdess=False, r2plus1d=False)
  config = common.base_config()
  config.data = common.cremad_data_config(args)
  config.model = presets.default_model_config("r2plus1d" if args.r2plus1d else "c3d")
  common.cpu_sized_synthetic(config, args)
  if args.runlocal:
    common.runlocal_overrides(config)
    config.model.video.widths = (4, 8)
    config.model.head.hidden_sizes = (8,)
  return config
