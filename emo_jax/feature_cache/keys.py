"""The name of a feature cache: a hash of the encoder's config, dtype, checkpoint and values."""
import hashlib
import json
from typing import Any, Mapping

import jax
import ml_collections
import numpy as np

from emo_jax.models import pretrained

FORMAT_VERSION = 1


def encoder_variables(variables: Mapping[str, Any]) -> dict:
  """The frame encoder's part of a model's variables, as host numpy arrays.

  `{"params": {"encoder": ...}, "batch_stats": {"encoder": ...}}` (see
  `pretrained.encoder_subtree`); replicated device arrays are read from this host's
  first copy.
  """
  subtree = pretrained.encoder_subtree(variables)

  def to_host(leaf):
    if isinstance(leaf, jax.Array):
      leaf = leaf.addressable_data(0)
    return np.asarray(leaf)

  return jax.tree.map(to_host, subtree)


def encoder_fingerprint(variables: Mapping[str, Any]) -> str:
  """sha256 over the paths, dtypes, shapes and bytes of the encoder's variables."""
  digest = hashlib.sha256()
  leaves, _ = jax.tree_util.tree_flatten_with_path(encoder_variables(variables))
  for path, leaf in leaves:
    leaf = np.ascontiguousarray(leaf)
    digest.update(f"{jax.tree_util.keystr(path)}|{leaf.dtype}|{leaf.shape}|".encode())
    digest.update(leaf.tobytes())
  return digest.hexdigest()


def key_inputs(model_config, dataset_name: str, dataset_version: str,
               variables: Mapping[str, Any]) -> dict:
  """What the cache key is made of (also recorded in meta.json)."""
  model_config = (model_config.to_dict() if isinstance(model_config, ml_collections.ConfigDict)
                  else dict(model_config))
  return {"format_version": FORMAT_VERSION,
          "encoder": model_config.get("encoder"),
          "model_dtype": model_config.get("dtype") or "float32",
          "dataset": dataset_name, "dataset_version": str(dataset_version),
          "encoder_fingerprint": encoder_fingerprint(variables)}


def cache_key(model_config, dataset_name: str, dataset_version: str,
              variables: Mapping[str, Any]) -> str:
  """The cache's name: 16 hex digits over what determines the features.

  Args:
    model_config: `config.model`; its `encoder` (including `pretrained`, the checkpoint
      path) and `dtype` count.
    dataset_name: e.g. "cremad/g16_112".
    dataset_version: the packed dataset's version.
    variables: the model's variables (or just the encoder's); the encoder's parameter
      and batch-statistics values count, so each checkpoint or seed has its own key.
  """
  return digest(key_inputs(model_config, dataset_name, dataset_version, variables))


def digest(key_inputs: Mapping[str, Any]) -> str:
  """16 hex digits of sha256 over `key_inputs` as sorted JSON."""
  text = json.dumps(key_inputs, sort_keys=True, default=str)
  return hashlib.sha256(text.encode()).hexdigest()[:16]
