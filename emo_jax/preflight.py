"""Checks of a run's dataset name, split, batch sizes and model, before any data is built."""
import jax
import ml_collections

import tfds_cremad

from emo_jax import config_checks
from emo_jax import models
from emo_jax.data import splits
from emo_jax.input_pipeline import sources

# Builders whose records hold each clip's audio (the others have frames or images only).
AUDIO_DATASETS = ("cremad", "ravdess")


def check_data_and_model(config: ml_collections.ConfigDict, mesh):
  """Dataset name, split spec, batch sizes and model structure, before any data is built.

  A synthetic dataset is generated and packed on first use (minutes); these checks
  need only the dataset's name, so a typo fails in seconds, not after the build.
  """
  dataset = config.data.dataset
  try:
    frames_shape, num_classes = tfds_cremad.example_spec(dataset)
  except ValueError as e:
    raise config_checks.ConfigError(f"config.data.dataset={dataset!r}: {e}") from None
  builder_class, _ = tfds_cremad.loading.resolve_name(dataset)
  if getattr(builder_class, "FIXED_PARTS", None):
    if config.data.split != sources.FIXED_SPLIT:
      raise config_checks.ConfigError(
          f"config.data.split={config.data.split!r}: {builder_class.name} has fixed splits; "
          f"use {sources.FIXED_SPLIT!r}")
  else:
    try:
      splits.parse_split_spec(config.data.split)
    except ValueError as e:
      raise config_checks.ConfigError(f"config.data.split={config.data.split!r}: {e}") from None
  config_checks.check_batch_sizes(config, mesh)
  if float(config.data.get("audio_seconds", 0.0)) > 0 and builder_class.name not in AUDIO_DATASETS:
    raise config_checks.ConfigError(
        f"config.data.dataset={dataset!r} has no audio, but the model has an audio branch "
        f"(model.fusion.modality={config.model.fusion.get('modality')!r}); datasets with audio: "
        f"{', '.join(f'{name}/*' for name in AUDIO_DATASETS)}. For a video-only model set "
        "model.fusion.modality='video' and config.data.audio_seconds=0")
  model = models.create_model(config.model, num_classes)
  rng = jax.random.key(0)
  inputs = jax.ShapeDtypeStruct((1, *frames_shape), jax.numpy.float32)
  try:
    jax.eval_shape(lambda x: model.init({"params": rng, "dropout": rng, "noise": rng}, x,
                                        train=False), inputs)
  except Exception as e:  # pylint: disable=broad-except  # Any failure is a config error.
    raise config_checks.ConfigError(
        f"config.model does not build for {dataset} clips [B, {', '.join(map(str, frames_shape))}]"
        f": {type(e).__name__}: {e}") from e
