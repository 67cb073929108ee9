r"""ConvEncoder -> denoising autoencoder bottleneck -> BiLSTM: the reference project's model.

  python -m emo_jax.train --config=configs/ae_lstm.py:synthetic --workdir=workdirs/ae_lstm

Arguments (comma-separated after the colon): `synthetic` trains on the synthetic
CREMA-D (built on first use), `runlocal` runs 2 steps on a tiny set (tests). Without
`synthetic`, it trains on real CREMA-D (`cremad/g16_112`, holdout split), which must be
built first: `python -m tfds_cremad.build --config g16_112 --data_dir data/tfds
--manual_dir /path/to/CREMA-D`. `ravdess` trains on RAVDESS instead (fold 1 of the
6-fold actor protocol; `--config.data.split=ravdess6:fold=K` for the others):
  python -m tfds_cremad.build --config ravdess/g16_112 --data_dir data/tfds --manual_dir /path/to/zips
  python -m emo_jax.train --config=configs/ae_lstm.py:ravdess --workdir=workdirs/ae_lstm_ravdess
or, with no download, `:ravdess,synthetic` (24 synthetic actors x 16 takes of 1280x720
video, built on first use: about 10 s per take to generate and 1.7 s to decode on one
busy core). Not measured yet: no RAVDESS run has been trained here.

Cost and result: `:synthetic` (cremad/synthetic30_g8_64: 30 actors x 30 clips, 8 frames
of 64x64; holdout split of 21 train, 5 val and 4 test actors; 28 epochs, 1,092 steps of
16 clips), measured 2026-11-29 at commit bb89aac on 2 shared CPU cores: 15.5 min wall
with data generation, peak RSS 1.6 GB; test accuracy 80.8% on the 4 test actors (best
validation checkpoint, 96.7%). Its 5-fold cross-validation (`python -m
experiments.crossval --config=configs/ae_lstm.py:synthetic --workdir=workdirs/cv`, commit
57a8a6d): 84.2 +/- 7.7% over the 30 actors. Details: README, "Quickstart". Real CREMA-D
runs have not been measured here (no clone on this machine).

On real faces (CREMA-D, RAVDESS) the frame encoder starts from the bundled FER2013
model's (`common.real_faces_pretrained_encoder`): at the bundle's widths on the synthetic
set it reached 98.7% best validation and 98.3% test against 97.3% and 83.3% from scratch
(commit 72d78c0; README, "FER2013 pretraining for the video models").
"""
from configs import common
from emo_jax.models import presets


def get_config(arg=None):
  args = common.parse_arg(arg, synthetic=False, runlocal=False, ravdess=False)
  config = common.base_config()
  config.data = common.cremad_data_config(args)
  config.model = presets.default_model_config("ae_lstm")
  common.cpu_sized_synthetic(config, args)
  common.real_faces_pretrained_encoder(config, args)
  if args.runlocal:
    common.runlocal_overrides(config)
    tiny_model(config.model)
  return config


def tiny_model(model):
  """`runlocal`'s model: a few channels per layer (also av_fusion's video branch)."""
  model.encoder.widths = (4, 8)
  model.bottleneck.dim = 8
  model.temporal.hidden_size = 8
  model.head.hidden_sizes = (8,)
