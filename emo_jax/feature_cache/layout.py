"""Where a feature cache lives on disk: its directory, its views' directory, and when it is complete."""
import dataclasses
import hashlib
import json
import os

from emo_jax.data import augment as augment_lib

DTYPES = ("float32", "float16")
# Written last into a cache directory: a directory without it is not a finished cache.
META = "meta.json"


def cache_directory(data_dir: str, dataset_name: str, dataset_version: str, key: str,
                    split: str) -> str:
  """`<data_dir>/feature_cache/<dataset>/<version>/<key>/<split>`."""
  return os.path.join(os.path.expanduser(os.fspath(data_dir)), "feature_cache", dataset_name,
                      str(dataset_version), key, split)


def pixel_augment_config(augment_config) -> augment_lib.AugmentConfig:
  """The pixel steps of an augmentation config (temporal steps off): what views bake in."""
  config = augment_lib.AugmentConfig.from_mapping(augment_config)
  return dataclasses.replace(config, temporal_min_fraction=1.0, frame_dropout_rate=0.0)


def views_directory(directory: str, num_views: int, augment_config,
                    view_seed: int = 0) -> str | None:
  """Where `num_views` augmented views live under a cache directory (None for one view)."""
  if num_views <= 1:
    return None
  settings = {"views": num_views, "seed": view_seed,
              "augment": dataclasses.asdict(pixel_augment_config(augment_config))}
  digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
  return os.path.join(directory, f"views{num_views}_{digest}")


def is_built(directory: str | None) -> bool:
  """Whether a cache (or views) directory is complete; None (no views asked for) counts as built."""
  return directory is None or os.path.exists(os.path.join(directory, META))
