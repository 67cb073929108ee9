"""Pieces shared by the configs: the base config and parsing of `:arg` strings."""
import ml_collections


def parse_arg(arg: str | None, **defaults) -> ml_collections.ConfigDict:
  """Parses `"synthetic,runlocal,frames=8"` into a ConfigDict over `defaults`.

  A bare name sets a boolean default to True; `key=value` converts value to the type of
  the default. Unknown names are an error that lists the known ones.
  """
  parsed = ml_collections.ConfigDict(defaults)
  for item in filter(None, (arg or "").split(",")):
    key, _, value = item.partition("=")
    key = key.strip()
    if key not in defaults:
      raise ValueError(f"unknown config argument {key!r}; known: {', '.join(sorted(defaults))}")
    default = defaults[key]
    if not value:
      if not isinstance(default, bool):
        raise ValueError(f"config argument {key!r} needs a value, e.g. {key}={default}")
      parsed[key] = True
    elif isinstance(default, bool):
      parsed[key] = value.lower() in ("1", "true", "yes")
    else:
      parsed[key] = type(default)(value)
  return parsed


def base_config() -> ml_collections.ConfigDict:
  """Everything but the model and the dataset: training, loss, optimiser, logging."""
  config = ml_collections.ConfigDict()
  config.seed = 0

  config.data = ml_collections.ConfigDict()

  config.train = ml_collections.ConfigDict()
  # Durations: set num_steps > 0, or num_epochs; turned into steps in one place
  # (emo_jax.trainer.training_schedule).
  config.train.num_epochs = 30.0
  config.train.num_steps = -1
  # Steps that optimise only the autoencoder's reconstruction loss before joint training
  # (the reference project trains its autoencoder first). 0 disables the phase.
  config.train.autoencoder_pretrain_epochs = 0.0
  config.train.log_every_steps = 50
  config.train.eval_every_epochs = 1.0
  config.train.checkpoint_every_epochs = 1.0
  # Start every variable of the model (not the optimiser) from a trained model of the same
  # architecture: "bundled:NAME" or a training workdir (its best checkpoint). "" = fresh.
  config.train.init_from = ""

  config.loss = ml_collections.ConfigDict()
  config.loss.label_smoothing = 0.1
  # Weight of the crowd's vote distribution in the target (0: intended emotion only).
  config.loss.soft_label_weight = 0.0
  # Weight of the bottleneck's reconstruction loss (ignored by models without one).
  config.loss.reconstruction_weight = 1.0
  config.loss.class_weights = "none"  # "none" | "balanced"

  config.optimizer = ml_collections.ConfigDict()
  config.optimizer.learning_rate = 1e-3
  config.optimizer.end_learning_rate_factor = 0.01
  config.optimizer.warmup_steps = 100
  config.optimizer.b1 = 0.9
  config.optimizer.b2 = 0.999
  config.optimizer.weight_decay = 1e-4
  # False: weight decay on kernels only, not on norm scales and biases (the usual choice).
  config.optimizer.decay_norms_and_biases = False
  config.optimizer.grad_clip_norm = 1.0
  # Regex over '/'-joined parameter paths, e.g. "^encoder/" to freeze the frame encoder.
  config.optimizer.frozen = ""
  # Tuple of (regex, learning-rate multiplier) pairs, first match wins.
  config.optimizer.param_groups = ()

  config.checkpoint = ml_collections.ConfigDict()
  config.checkpoint.keep_latest = 2
  config.checkpoint.keep_best = 1
  config.checkpoint.best_metric = "accuracy"

  config.wandb = ml_collections.ConfigDict()
  config.wandb.mode = "offline"  # "offline" | "online" | "disabled"
  config.wandb.project = "emo_jax"
  config.wandb.entity = ""
  config.wandb.name = ""
  config.wandb.tags = ()

  # Number of devices in the ("data",) mesh; -1 uses all of them.
  config.num_devices = -1
  return config


# Packed datasets built on demand when missing (synthetic ones need no download).
DATA_DIR = "data/tfds"


# The `:ravdess` variant of the video configs: RAVDESS with its 6-fold actor protocol.
RAVDESS_DATASET = "ravdess/g16_112"
RAVDESS_SYNTHETIC_DATASET = "ravdess/synthetic_g8_64"
RAVDESS_SPLIT = "ravdess6:fold=1"


def cremad_data_config(args: ml_collections.ConfigDict, real_dataset: str = "cremad/g16_112",
                       synthetic_dataset: str = "cremad/synthetic_g16_112") -> ml_collections.ConfigDict:
  """`config.data` for CREMA-D: real (`holdout` split) or, with `:synthetic`, the synthetic set.

  `runlocal` switches to the tiny synthetic set used by the tests. With `:ravdess` (when
  the config takes it) the same for RAVDESS: `ravdess/g16_112` (built from the Zenodo
  zips first), `ravdess/synthetic_g8_64` or `ravdess/synthetic_tiny`, split
  "ravdess6:fold=1" (`--config.data.split=ravdess6:fold=K` for the other folds).
  """
  data = ml_collections.ConfigDict()
  data.dataset = synthetic_dataset if args.synthetic else real_dataset
  if args.runlocal:
    data.dataset = "cremad/synthetic_tiny"
  if args.get("ravdess", False):
    data.dataset = ("ravdess/synthetic_tiny" if args.runlocal else
                    RAVDESS_SYNTHETIC_DATASET if args.synthetic else RAVDESS_DATASET)
  data.data_dir = DATA_DIR
  # Synthetic datasets are generated and packed by the first run that needs them; real
  # ones must be built first with `python -m tfds_cremad.build` (it needs the clone).
  data.build_if_missing = args.synthetic or args.runlocal
  data.split = RAVDESS_SPLIT if args.get("ravdess", False) else "holdout"
  data.batch_size = 8 if args.runlocal else 32
  data.eval_batch_size = 8 if args.runlocal else 64
  data.shuffle_seed = -1
  # Fields of emo_jax.data.augment.AugmentConfig.
  data.augment = ml_collections.ConfigDict(dict(
      crop_probability=0.5, crop_min_area=0.8, flip_probability=0.5, brightness=0.1,
      contrast=0.1, temporal_min_fraction=1.0, frame_dropout_rate=0.0,
      noise_stddev=0.0, rotation_degrees=0.0,
      erase_probability=0.0))
  data.worker_count = 0
  data.prefetch = 2
  cached_feature_fields(data)
  return data


def cached_feature_fields(data: ml_collections.ConfigDict):
  """`config.data` fields of training on cached frame-encoder features (emo_jax/feature_cache/).

  cached_features: run a frozen frame encoder once over the dataset and train on its
    stored features (needs `model.encoder.frozen` and, with one view, no pixel augmentation).
  cached_feature_views: 1 caches the clean clips; V > 1 also caches V views made with the
    pixel steps of `data.augment`, one drawn per example per epoch.
  cached_feature_dtype: "float32" (exact) or "float16" (half the disk and memory).
  """
  data.cached_features = False
  data.cached_feature_views = 1
  data.cached_feature_dtype = "float32"


# The bundled FER2013 model whose conv stages real-face video models start from.
PRETRAINED_FRAME_ENCODER = "bundled:fer2013"


def real_faces_pretrained_encoder(config: ml_collections.ConfigDict,
                                  args: ml_collections.ConfigDict):
  """On real faces (not `:synthetic`, not `runlocal`): the frame encoder starts from FER2013.

  `model.encoder.pretrained = "bundled:fer2013"` copies the bundle's convolutions and
  BatchNorm statistics (its widths are the full-size encoder's, 32-64-128-256), and the
  frames are standardised one by one as the bundle's faces were (`input_norm="per_frame"`).
  Why (issue 13, README "FER2013 pretraining for the video models"): on the synthetic
  set, the quickstart recipe at these widths reached 98.7% best validation from the
  bundle against 97.3% from scratch (90% at step 156 against 663; test 98.3% against
  83.3%, commit 72d78c0); the rule (default to it if validation is higher) was fixed
  before the pretrained run's result.
  Real faces are the bundle's own domain, which the cartoons are not. Not measured on
  real CREMA-D (no clone here). `--config.model.encoder.pretrained=''` trains from scratch.
  """
  if args.synthetic or args.runlocal:
    return
  config.model.encoder.pretrained = PRETRAINED_FRAME_ENCODER
  config.model.input_norm = "per_frame"


def runlocal_overrides(config: ml_collections.ConfigDict):
  """Seconds-long runs for tests: a few steps, frequent evaluation, no W&B."""
  config.train.num_steps = 2
  config.train.num_epochs = 0.0
  config.train.log_every_steps = 1
  config.optimizer.warmup_steps = 1
  config.wandb.mode = "disabled"


def cpu_sized_synthetic(config: ml_collections.ConfigDict, args: ml_collections.ConfigDict):
  """With `:synthetic`: data, widths and schedule sized so a 2-core CPU trains in minutes.

  The synthetic set is for checking the whole path and comparing variants quickly, so it
  uses `cremad/synthetic30_g8_64` (30 actors x 30 clips, 8 frames of 64x64) and
  half-width convolutions; real CREMA-D keeps the full 16 frames of 112x112. The recipe
  was tuned on ae_lstm (README, "Quickstart"):
    - each frame standardised (`model.input_norm="per_frame"`): grey crops of darker
      faces have less contrast, and unseen actors were where accuracy was lost;
    - conv encoders keep the 4x4 layout (`pooling="flatten"`: expressions are where
      things are, brows above eyes above mouth) with a LayerNorm on the 128 features
      (`feature_norm`), which shortened the plateau at chance before learning starts;
    - every clip randomly cropped (70-100% of its area), flipped half the time;
    - batches of 16 (twice the updates of batches of 32 for the same compute, which
      took ae_lstm from 85% to 89% test accuracy at equal time), a short warmup,
      clipping only at gradient norm 10 (at 1.0 it clipped every step of early
      training) and the reconstruction loss at weight 0.1.
  """
  if not args.synthetic or args.runlocal:
    return
  config.data.dataset = ("cremad/synthetic30_g8_64" if not args.get("ravdess", False)
                         else RAVDESS_SYNTHETIC_DATASET)
  config.data.batch_size = 16
  config.data.augment.update(crop_probability=1.0, crop_min_area=0.7)
  config.model.input_norm = "per_frame"
  for part in ("encoder", "video"):
    if config.model.get(part) and "widths" in config.model[part]:
      config.model[part].widths = tuple(w // 2 for w in config.model[part].widths)
  if config.model.get("encoder") and config.model.encoder.name == "conv":
    config.model.encoder.update(pooling="flatten", features=128, feature_norm=True)
  config.train.num_epochs = 28.0
  config.optimizer.update(warmup_steps=40, grad_clip_norm=10.0)
  config.loss.reconstruction_weight = 0.1
