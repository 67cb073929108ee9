"""A run's datasets reading cached features (built on first use) instead of frames."""
import logging
from typing import Any, Mapping

import ml_collections

from emo_jax.feature_cache import build as build_lib
from emo_jax.feature_cache import keys
from emo_jax.feature_cache import layout
from emo_jax.feature_cache import source as source_lib


def cached_feature_datasets(datasets, config: ml_collections.ConfigDict, model,
                            variables: Mapping[str, Any]):
  """`datasets` reading cached features (built here when missing) instead of frames.

  Args:
    datasets: `input_pipeline.Datasets` of the run (frames).
    config: the run's config (`data.data_dir`, `data.cached_feature_*`, `data.augment`,
      `model`).
    model: the run's `EmotionNet`.
    variables: its variables with the encoder as it will be trained (pretrained loaded).

  Returns:
    `datasets.with_sources(...)`: the same split, order and batching, with batches of
    `frame_features` [B, T, D].
  """
  info = datasets.info
  encoder = keys.encoder_variables(variables)
  key_inputs = keys.key_inputs(config.model, info.dataset_name, info.dataset_version, encoder)
  key = keys.digest(key_inputs)
  caches = {}
  sources = {}
  for part, source in datasets.packed.sources.items():
    if id(source) not in caches:
      split = str(getattr(source, "split", None) or part)
      directory = layout.cache_directory(config.data.data_dir, info.dataset_name, info.dataset_version,
                                  key, split)
      directory, views_dir = build_lib.build_feature_cache(
          model, encoder, source, directory, dtype=config.data.cached_feature_dtype,
          num_views=config.data.cached_feature_views, augment_config=config.data.augment,
          key_inputs=dict(key_inputs, split=split))
      cached = source_lib.FeatureSource(directory, views_dir)
      if len(cached) != len(source):
        raise ValueError(f"{directory} holds {len(cached)} records but the packed split has "
                         f"{len(source)}; delete the directory to rebuild it")
      caches[id(source)] = cached
      logging.info("Training on cached features from %s", directory)
    sources[part] = caches[id(source)]
  return datasets.with_sources(sources)
