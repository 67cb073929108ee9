"""Whether a config can train on cached features, with errors that name each value to change."""
import ml_collections

from emo_jax import config_checks
from emo_jax.data import augment as augment_lib
from emo_jax.feature_cache import layout

# AugmentConfig fields that change the pixels the encoder sees (the rest are temporal).
PIXEL_AUGMENTATIONS = ("crop_probability", "flip_probability", "brightness", "contrast",
                       "noise_stddev", "rotation_degrees", "erase_probability")


def check_preconditions(config: ml_collections.ConfigDict) -> None:
  """Cached features need a frozen per-frame encoder and no pixel augmentation (or views).

  Raises:
    config_checks.ConfigError: listing each value to change.
  """
  problems = []
  encoder = config.model.get("encoder")
  if not encoder:
    problems.append("config.model.encoder is None: a 3D network has no frame encoder whose "
                    "features could be cached; set config.data.cached_features=False")
  elif not encoder.get("frozen"):
    problems.append("config.model.encoder.frozen=False: a trained encoder's features change "
                    "every step; set config.model.encoder.frozen=True or "
                    "config.data.cached_features=False")
  bottleneck = config.model.get("bottleneck")
  if bottleneck and bottleneck.get("pixel_decoder"):
    problems.append("config.model.bottleneck.pixel_decoder=True reconstructs the frames, which a "
                    "run on cached features never reads; set it to False or "
                    "config.data.cached_features=False")
  views = config.data.cached_feature_views
  if views < 1:
    problems.append(f"config.data.cached_feature_views={views} must be >= 1")
  elif views == 1:
    augment = augment_lib.AugmentConfig.from_mapping(config.data.augment)
    for name in PIXEL_AUGMENTATIONS:
      if getattr(augment, name):
        problems.append(
            f"config.data.augment.{name}={getattr(augment, name)} changes the pixels the encoder "
            "sees; set it to 0, or cache augmented views with config.data.cached_feature_views > 1")
  if config.data.cached_feature_dtype not in layout.DTYPES:
    problems.append(f"config.data.cached_feature_dtype={config.data.cached_feature_dtype!r} "
                    f"must be one of {layout.DTYPES}")
  if problems:
    raise config_checks.ConfigError("config.data.cached_features=True cannot work:\n  "
                                    + "\n  ".join(problems))
