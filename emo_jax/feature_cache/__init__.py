"""A frozen frame encoder's per-frame features, computed once per dataset and read memory-mapped.

A frozen encoder (`config.model.encoder.frozen`) computes the same features for a frame
in every step, so with `config.data.cached_features` the trainer runs it once over every
record of the packed dataset and trains the bottleneck, temporal model and head on the
stored features: the same model and the same maths, without the encoder's cost per step.

Layout, beside the packed dataset:

  <data_dir>/feature_cache/<dataset>/<version>/<key>/<tfds split>/
      features.npy             [N, T, D] float32 or float16, record i of the split
      label.npy                int64 [N]
      vote_distribution.npy    float32 [N, K] (when the records have one)
      meta.json                what the key was made of, shapes, build time
      views<V>_<hash>/views.npy  [V, N, T, D]: pixel-augmented views (cached_feature_views > 1)

`key` (`cache_key`) hashes the encoder's config, the model's compute dtype, the
pretrained checkpoint path and the encoder's parameter values, so another checkpoint or
another random initialisation gets its own cache; the dataset version is in the path.
Every directory is written under a temporary name and renamed when complete, so an
interrupted build leaves nothing that looks finished, and concurrent builders (hosts,
parallel runs) cannot mix their files.
"""
from emo_jax.feature_cache.checks import check_preconditions
from emo_jax.feature_cache.datasets import cached_feature_datasets
