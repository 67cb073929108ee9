r"""Frozen ResNet-18 -> feature autoencoder -> BiLSTM: the reference notebook's model.

  python -m emo_jax.train --config=configs/resnet_ae_lstm.py:synthetic --workdir=workdirs/resnet_ae_lstm

The encoder is frozen (no gradient, no weight decay). Point `model.encoder.pretrained`
at an encoder checkpoint (e.g. saved with `emo_jax.models.save_encoder` from a run of
configs/fer2013_cnn.py:resnet18) with `--config.model.encoder.pretrained=DIR`; left
empty, the frozen encoder keeps its random initialisation (a random-features baseline).
The autoencoder is pre-trained alone for `train.autoencoder_pretrain_epochs` first, as
in the reference notebook. Arguments: `synthetic`, `runlocal`, `ravdess` as in configs/ae_lstm.py;
`cached` computes the frozen encoder's per-frame features once (stored beside the packed
dataset, see emo_jax/feature_cache/) and trains the bottleneck, LSTM and head on them:
the same model and maths, without the ResNet's cost in every step
(`configs/resnet_ae_lstm.py:synthetic,cached`). What it gives up: the pixel
augmentations (crop, flip, brightness, contrast, noise), which `cached` turns off since
they change what the encoder sees. Temporal jitter and frame dropout still work, applied
to the cached features exactly. `cached,views=8` keeps the pixel augmentations as 8
cached augmented views of every clip (8 encoder passes over the data once, 8x the disk),
one drawn per example per epoch: the same augmentations, but a fixed set of 8 draws.
Cost and result (measured 2026-11-24 at commit 53a7977 on 2 CPU cores, shared with a CI run;
stale since the training batch order and weight decay changed, 2026-11-29):
`:synthetic,cached` with no pretrained encoder (random frozen ResNet-18 features) took
8.0 min wall, peak RSS 1.4 GB: 6.5 min to generate and pack the 10-actor 16x112 set and
cache the encoder's features (3.0 min of it, 0.22 s per clip), then 510 steps (30
epochs of 32 clips) in about 1 min. Test accuracy 26.2% (training 28%; chance 17%):
random ResNet features carry little of the expressions, so this is the floor a
pretrained encoder must beat. Runs with a pretrained encoder have not been measured.
`:runlocal`: 2 steps in 4-21 s (tests/test_configs.py).
"""
from configs import common
from emo_jax.models import presets


def get_config(arg=None):
  args = common.parse_arg(arg, synthetic=False, runlocal=False, ravdess=False, cached=False, views=1)
  config = common.base_config()
  config.data = common.cremad_data_config(args)
  config.model = presets.default_model_config("resnet18_ae_lstm")
  config.train.autoencoder_pretrain_epochs = 2.0
  if args.runlocal:
    common.runlocal_overrides(config)
    config.train.autoencoder_pretrain_epochs = 1.0  # Step 1 autoencoder only, step 2 joint.
    config.model.encoder.num_filters = 4
    config.model.bottleneck.update(dim=8, hidden_sizes=(8,))
    config.model.temporal.hidden_size = 8
    config.model.head.hidden_sizes = (8,)
  if args.views != 1 and not args.cached:
    raise ValueError(f"config argument views={args.views} is for cached features; add `cached`")
  if args.cached:
    config.data.cached_features = True
    config.data.cached_feature_views = args.views
    if args.views == 1:
      config.data.augment.update(crop_probability=0.0, flip_probability=0.0, brightness=0.0,
                                 contrast=0.0, noise_stddev=0.0)
  return config
