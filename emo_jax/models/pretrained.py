"""Saving a frame encoder's variables and loading them into another model (Orbax)."""
import os
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp

from emo_jax.models import emotion_net

Variables = dict[str, Any]


# Where a model's frame encoder lives: at the top of an EmotionNet, or in the video branch
# of an AudioVisualNet.
ENCODER_PATHS = ((emotion_net.ENCODER_SCOPE,), ("video", emotion_net.ENCODER_SCOPE))


def _node(tree: Any, path: tuple[str, ...]) -> Any:
  for key in path:
    if not isinstance(tree, Mapping) or key not in tree:
      return None
    tree = tree[key]
  return tree


def encoder_path(variables: Mapping[str, Any]) -> tuple[str, ...]:
  """The path of the frame encoder in `variables["params"]`: ("encoder",) or ("video", "encoder").

  Raises ValueError when there is none (a 3D network or an audio-only model has no frame
  encoder).
  """
  for path in ENCODER_PATHS:
    if _node(variables.get("params"), path) is not None:
      return path
  places = " or ".join("params/" + "/".join(path) for path in ENCODER_PATHS)
  raise ValueError(f"the variables have no {places}: the model has no frame encoder (3D "
                   "networks and audio-only models have none)")


def encoder_subtree(variables: Mapping[str, Any]) -> Variables:
  """`{collection: {"encoder": ...}}` for every collection (params, batch_stats) holding one.

  The same layout wherever the model keeps its encoder (`encoder_path`), so an encoder
  saved from one kind of model loads into another.
  """
  path = encoder_path(variables)
  return {collection: {emotion_net.ENCODER_SCOPE: _node(tree, path)}
          for collection, tree in variables.items() if _node(tree, path) is not None}


def _with_encoder(variables: Variables, subtree: Variables) -> Variables:
  """`variables` with the encoder replaced by `subtree` (`encoder_subtree`'s layout)."""
  path = encoder_path(variables)

  def put(tree, keys, value):
    if not keys:
      return value
    return {**tree, keys[0]: put(tree[keys[0]], keys[1:], value)}

  merged = dict(variables)
  for collection, encoder in subtree.items():
    merged[collection] = put(variables[collection], path, encoder[emotion_net.ENCODER_SCOPE])
  return merged


def save_encoder(variables: Variables, path: str | os.PathLike, *, overwrite: bool = False) -> None:
  """Saves the frame encoder's params and batch_stats of an EmotionNet to directory `path`.

  The checkpoint holds `{"params": {"encoder": ...}, "batch_stats": {"encoder": ...}}`,
  the encoder's part of the variables tree, so any Orbax checkpoint of a whole variables
  tree (or of a train state with top-level `params` and `batch_stats`) loads the same way.

  Args:
    variables: the model's variables, `{"params": ..., "batch_stats": ...}`.
    path: a local directory, created by the save; it must not exist unless `overwrite`.
    overwrite: replace an existing checkpoint at `path`.
  """
  path = os.path.abspath(os.fspath(path))
  if os.path.exists(path) and not overwrite:
    raise FileExistsError(f"{path} exists; pass overwrite=True or choose another directory")
  checkpointer = ocp.StandardCheckpointer()
  checkpointer.save(path, encoder_subtree(variables), force=overwrite)
  checkpointer.wait_until_finished()


def load_pretrained_encoder(variables: Variables, checkpoint_path: str | os.PathLike) -> Variables:
  """Returns `variables` with the frame encoder's params and batch_stats read from a checkpoint.

  Only the encoder is read (other entries of the checkpoint, such as optimiser state,
  are skipped); everything else in `variables` is kept. Restored arrays take the dtype
  and, for `jax.Array`s, the sharding of the arrays they replace.

  Args:
    variables: the fresh model's variables (arrays or `jax.ShapeDtypeStruct`s).
    checkpoint_path: a local directory written by `save_encoder`, or any Orbax PyTree
      checkpoint with `params/encoder` (for example a FER2013 model's variables).

  Raises:
    FileNotFoundError: when `checkpoint_path` does not exist.
    ValueError: naming the checkpoint and the first differing entries when its encoder
      does not have the structure and shapes of this model's (a different encoder config).
  """
  path = os.path.abspath(os.fspath(checkpoint_path))
  if not os.path.isdir(path):
    raise FileNotFoundError(f"pretrained encoder checkpoint {path} does not exist; set "
                            "model.encoder.pretrained to a directory written by save_encoder")
  target = encoder_subtree(variables)
  checkpointer = ocp.PyTreeCheckpointer()
  _check_compatible(checkpointer.metadata(path).item_metadata.tree, target, path)
  restore_args = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), target)
  restored = checkpointer.restore(path, args=ocp.args.PyTreeRestore(
      item=target, restore_args=restore_args, partial_restore=True))

  def place(value, like):
    value = np.asarray(value, dtype=like.dtype)
    sharding = getattr(like, "sharding", None)
    return jax.device_put(value, sharding) if sharding is not None else jnp.asarray(value)

  return _with_encoder(variables, jax.tree.map(place, restored, target))


def _path_name(key_path) -> str:
  """A tree path as "params/encoder/stage0_conv0/kernel"."""
  return "/".join(str(getattr(k, "key", k)) for k in key_path)


def _placed_like(value, like):
  """`value` as an array of `like`'s dtype, on `like`'s sharding when it has one."""
  value = np.asarray(value, dtype=like.dtype)
  sharding = getattr(like, "sharding", None)
  return jax.device_put(value, sharding) if sharding is not None else jnp.asarray(value)


def copy_matching_encoder(variables: Variables, source: Mapping[str, Any]
                          ) -> tuple[Variables, list[str], list[str]]:
  """The encoder entries of `source` whose path and shape match `variables`' are copied in.

  For an encoder that shares only its first layers with the source (e.g. the bundled
  FER2013 model's conv stages, whose projection sees a 40x40 face's layout, under a
  video model that sees 64x64 frames): matching convolutions and their BatchNorm
  statistics are copied, the rest keeps its fresh initialisation.

  Returns:
    `(variables, copied, skipped)`: the new variables, and the '/'-joined paths copied
    and kept fresh.

  Raises:
    ValueError: when no parameter matches (a different encoder altogether).
  """
  target = encoder_subtree(variables)
  available = {}
  for key_path, leaf in jax.tree_util.tree_flatten_with_path(encoder_subtree(source))[0]:
    available[jax.tree_util.keystr(key_path)] = leaf
  copied, skipped = [], []

  def take(key_path, like):
    value = available.get(jax.tree_util.keystr(key_path))
    if value is None or tuple(np.shape(value)) != tuple(like.shape):
      skipped.append(_path_name(key_path))
      return like
    copied.append(_path_name(key_path))
    return _placed_like(value, like)

  restored = jax.tree_util.tree_map_with_path(take, target)
  if not any(name.startswith("params/") for name in copied):
    raise ValueError("no parameter of the source encoder fits this model's encoder (different "
                     f"widths or input channels?); kept fresh: {', '.join(skipped[:5])}. Give the "
                     "encoder the source's widths, or train from scratch with "
                     "--config.model.encoder.pretrained=''")
  return _with_encoder(variables, restored), copied, skipped


def copy_all_variables(variables: Variables, source: Mapping[str, Any]) -> Variables:
  """Every entry of `variables` (params, batch_stats) replaced by `source`'s, on its sharding.

  For `train.init_from`: the source must be a model of the same architecture, so every
  path and shape must match; floats are cast to the target's dtype (a float16 bundle
  starts a float32 run).

  Raises:
    ValueError: naming the first paths that are missing or shaped differently.
  """
  available = {jax.tree_util.keystr(path): leaf
               for path, leaf in jax.tree_util.tree_flatten_with_path(
                   {k: source[k] for k in variables if k in source})[0]}
  problems = []

  def take(key_path, like):
    value = available.get(jax.tree_util.keystr(key_path))
    if value is None or tuple(np.shape(value)) != tuple(like.shape):
      got = "absent" if value is None else tuple(np.shape(value))
      problems.append(f"{_path_name(key_path)} ({tuple(like.shape)} here, {got} in the source)")
      return like
    return _placed_like(value, like)

  copied = jax.tree_util.tree_map_with_path(take, dict(variables))
  if problems:
    raise ValueError(f"the source model does not have this model's architecture: "
                     f"{len(problems)} of its variables differ, e.g. {'; '.join(problems[:3])}. "
                     "Use the config the source was trained with")
  return copied


def load_pretrained_from_config(variables: Variables,
                                model_config: ml_collections.ConfigDict) -> Variables:
  """`load_pretrained_encoder` from `model_config.encoder.pretrained` when it is set."""
  encoder_config = model_config.get("encoder")
  checkpoint_path = encoder_config.get("pretrained") if encoder_config else None
  if not checkpoint_path:
    return variables
  return load_pretrained_encoder(variables, checkpoint_path)


def _check_compatible(metadata: Any, target: Variables, path: str) -> None:
  """Raises ValueError when the checkpoint lacks the target's entries or shapes differ."""
  def flatten(tree):
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {jax.tree_util.keystr(key_path): getattr(leaf, "shape", None)
            for key_path, leaf in leaves}

  saved = flatten({collection: metadata[collection] for collection in target
                   if isinstance(metadata, dict) and collection in metadata})
  wanted = flatten(target)
  problems = [f"{key} missing from the checkpoint" for key in wanted if key not in saved]
  problems += [f"{key} has shape {saved[key]} in the checkpoint, {shape} in the model"
               for key, shape in wanted.items()
               if key in saved and tuple(saved[key]) != tuple(shape)]
  if problems:
    shown = "; ".join(problems[:5])
    if len(problems) > 5:
      shown += f"; and {len(problems) - 5} more"
    raise ValueError(f"pretrained encoder checkpoint {path} does not fit this model's encoder "
                     f"({shown}); the encoder config must match the one it was saved with")
