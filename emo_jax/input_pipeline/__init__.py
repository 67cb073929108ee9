"""Packed TFDS records -> grain -> global `jax.Array` batches sharded over the mesh's "data" axis.

`create_datasets(config.data, mesh, seed) -> Datasets`; the trainer uses
`datasets.info`, `datasets.train_iterator()` and `datasets.eval_batches("val")`.
`load_packed_dataset` opens a build and applies the split; `train_iterator` and
`eval_batches` also work on any in-memory records (`len()` and `[i]` -> dict).

config.data fields read here (the defaults live in the config files):
  dataset: "cremad/<builder config>" (e.g. "cremad/g16_112", "cremad/synthetic_g16_112"),
      "ravdess/<config>", "folder/<config>", "affectnet/<config>" or "fer2013".
  data_dir: the TFDS data dir the dataset was built into.
  split: CREMA-D: an actor split spec, "hicmae5:fold=K" (K in 1..5) or "holdout" (see
      emo_jax/data/splits.py), applied when reading; RAVDESS: "ravdess6:fold=K" (K in
      1..6); a folder: "holdout" over its subjects. FER2013: "standard" (train = train,
      val = public_test, test = private_test); AffectNet: "standard" (train, validation
      carved from train, test = the official validation set).
  batch_size: global train batch size; a multiple of the number of devices.
  eval_batch_size: global evaluation batch size; same rule.
  shuffle_seed: seed of the train order and augmentations; -1 uses the run seed.
  augment: fields of `emo_jax.data.augment.AugmentConfig` (empty: no augmentation).
  worker_count: grain worker processes for training batches; 0 reads in this process.
  prefetch: batches read ahead (threads and buffer) per process.

Batches are dicts of `jax.Array`s with the global batch size B on the leading axis:
  frames uint8 [B, T, S, S, C] (FER2013: T = 1), or, from records of cached frame
  features (`emo_jax.feature_cache`, `Datasets.with_sources`), frame_features
  [B, T, D] float16/float32 instead, label int32 [B],
  vote_distribution float32 [B, num_classes] (the crowd's votes for CREMA-D, one-hot
  where a dataset has none or a clip has no votes), mask bool [B] (False for padding);
  evaluation batches also carry index int32 [B], the record index in the packed
  split (-1 for padding), to join predictions with metadata (actor, clip name).
Audio and strings never leave the host.

Training batches are global: batch b of an epoch is positions `b * B ...` of that
epoch's seeded permutation of the train records, and each host reads and augments its
own `B / process_count` rows of it (augmentations are seeded per epoch and position), so
the batches are the same whatever the number of hosts. The last `N mod B` records of
each epoch's permutation are dropped. Evaluation splits the records over the hosts
(every `process_count`-th one) and pads, so every host has the same number of batches
(`mask` False), and `emo_jax.sharding` assembles the global arrays. Training is endless
and reshuffled every epoch, deterministically from the seed; the returned iterator
has `get_state()` / `set_state()` (and works with `grain.checkpoint.CheckpointSave` in
Orbax), so a resumed run continues the same order.
"""
from emo_jax.input_pipeline.datasets import audio_samples
from emo_jax.input_pipeline.datasets import build_if_missing
from emo_jax.input_pipeline.datasets import create_datasets
from emo_jax.input_pipeline.datasets import Datasets
