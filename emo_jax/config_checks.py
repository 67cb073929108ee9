"""Checks on a config and a workdir before any compute, with errors that say what to change."""
import json
import os

import jax
import ml_collections

# Config parts that may change when a workdir is resumed: they change where results go,
# how often they are reported, or how fast data is read, never the trajectory of the
# parameters. Every other field (model, data, augmentation, batch size, optimiser,
# schedule and its length, loss, seed) must be the same, so a resumed run is the run
# an uninterrupted one would have been.
RESUMABLE_KEYS = (
    "train.log_every_steps", "train.eval_every_epochs", "train.checkpoint_every_epochs",
    "checkpoint.keep_latest", "checkpoint.keep_best", "wandb", "num_devices",
    "data.data_dir", "data.build_if_missing", "data.worker_count", "data.prefetch",
)

# Fields that were removed -> the one value a saved config may hold for them: a workdir
# saved with that value resumes (its run did what the code now always does); any other
# value is a difference. `data.augment.frame_dropout_fill`: see emo_jax/data/augment.py.
RETIRED_KEYS = {"data.augment.frame_dropout_fill": "repeat"}

# Fields added later -> their default, which a workdir saved before them ran with: such a
# workdir resumes while the field keeps that default.
ADDED_KEYS = {"train.init_from": ""}


class ConfigError(ValueError):
  """A config value that cannot work; the message says which key to change."""


def check_config(config: ml_collections.ConfigDict):
  """Impossible values, found before any data is read or anything compiled."""
  problems = []
  if config.data.batch_size <= 0:
    problems.append(f"config.data.batch_size={config.data.batch_size} must be positive")
  if config.data.eval_batch_size <= 0:
    problems.append(f"config.data.eval_batch_size={config.data.eval_batch_size} must be positive")
  if config.train.num_steps <= 0 and config.train.num_epochs <= 0:
    problems.append("training has no length: set config.train.num_steps > 0 or config.train.num_epochs > 0")
  if not 0 <= config.loss.label_smoothing < 1:
    problems.append(f"config.loss.label_smoothing={config.loss.label_smoothing} must be in [0, 1)")
  if not 0 <= config.loss.soft_label_weight <= 1:
    problems.append(f"config.loss.soft_label_weight={config.loss.soft_label_weight} must be in [0, 1]")
  if config.loss.class_weights not in ("none", "balanced"):
    problems.append(f"config.loss.class_weights={config.loss.class_weights!r} must be 'none' or 'balanced'")
  if config.optimizer.learning_rate <= 0:
    problems.append(f"config.optimizer.learning_rate={config.optimizer.learning_rate} must be positive")
  if config.wandb.mode not in ("offline", "online", "disabled"):
    problems.append(f"config.wandb.mode={config.wandb.mode!r} must be offline, online or disabled")
  if config.num_devices != -1 and not 1 <= config.num_devices <= jax.device_count():
    problems.append(f"config.num_devices={config.num_devices}: there are {jax.device_count()} devices "
                    "(use -1 for all)")
  init_from = config.train.get("init_from", "")
  encoder = config.model.get("encoder")
  if init_from and encoder and encoder.get("pretrained"):
    problems.append(f"config.train.init_from={init_from!r} sets every variable, "
                    f"config.model.encoder.pretrained={encoder.pretrained!r} the encoder's: "
                    "set one of them (--config.model.encoder.pretrained='')")
  problems += _audio_problems(config)
  if problems:
    raise ConfigError("invalid config:\n  " + "\n  ".join(problems))


def _audio_problems(config: ml_collections.ConfigDict) -> list[str]:
  """A model with an audio branch needs audio in its batches, and audio needs such a model."""
  fusion = config.model.get("fusion")
  modality = fusion.get("modality", "audio_visual") if fusion else "video"
  needs_audio = modality in ("audio", "audio_visual")
  audio_seconds = float(config.data.get("audio_seconds", 0.0))
  if needs_audio and audio_seconds <= 0:
    return [f"config.model.fusion.modality={modality!r} needs audio: set "
            "config.data.audio_seconds > 0 (the longest audio kept per clip)"]
  if not needs_audio and audio_seconds > 0:
    return [f"config.data.audio_seconds={audio_seconds} but the model has no audio branch "
            f"(model.fusion.modality={modality!r}); set it to 0, or choose 'audio' or "
            "'audio_visual'"]
  if needs_audio and config.data.get("cached_features"):
    return ["config.data.cached_features caches frame features only; an audio model "
            "reads the waveform in every step: set it to False"]
  return []


def check_batch_sizes(config: ml_collections.ConfigDict, mesh):
  """Global batch sizes must split evenly over the devices and the hosts."""
  for key in ("batch_size", "eval_batch_size"):
    size = config.data[key]
    if size % mesh.size:
      lower = max(size // mesh.size, 1) * mesh.size
      raise ConfigError(
          f"config.data.{key}={size} is not divisible by the {mesh.size} devices of the mesh; "
          f"use a multiple of {mesh.size} such as {lower} or {lower + mesh.size}, or set "
          "config.num_devices")


def _flatten(config: dict, prefix="") -> dict:
  flat = {}
  for key, value in config.items():
    if isinstance(value, dict):
      flat.update(_flatten(value, f"{prefix}{key}."))
    else:
      flat[f"{prefix}{key}"] = value
  return flat


def config_differences(saved: dict, current: dict, allowed=RESUMABLE_KEYS) -> list[str]:
  """`key: saved -> current` for each flattened field that differs and is not in `allowed`."""
  saved_flat, current_flat = _flatten(saved), _flatten(current)
  missing = object()
  differences = []
  for key in sorted(set(saved_flat) | set(current_flat)):
    if any(key == k or key.startswith(k + ".") for k in allowed):
      continue
    before, after = saved_flat.get(key, missing), current_flat.get(key, missing)
    if key in RETIRED_KEYS and after is missing and before == RETIRED_KEYS[key]:
      continue
    if key in ADDED_KEYS and before is missing and after == ADDED_KEYS[key]:
      continue
    if before != after:
      before = "(absent)" if before is missing else repr(before)
      after = "(absent)" if after is missing else repr(after)
      differences.append(f"{key}: {before} in the workdir, {after} now")
  return differences


def check_workdir_compatible(config: ml_collections.ConfigDict, workdir: str):
  """Refuses to resume a workdir whose run used another config (see `RESUMABLE_KEYS`).

  The first run writes `workdir/config.json`; later runs compare against it and, when
  only resumable fields changed, write the config they run with.
  """
  path = os.path.join(workdir, "config.json")
  current = json.loads(config.to_json_best_effort())
  if os.path.exists(path):
    with open(path) as f:
      saved = json.load(f)
    differences = config_differences(saved, current)
    if differences:
      raise ConfigError(
          f"{workdir} holds a run with another config, so resuming it would not continue "
          "that run:\n  " + "\n  ".join(differences)
          + "\nUse a new --workdir, or delete this one to start over. Fields that may change "
          f"on resume: {', '.join(RESUMABLE_KEYS)}.")
    if saved == current:
      return
  if jax.process_index() == 0:
    with open(path + ".tmp", "w") as f:
      json.dump(current, f, indent=2)
    os.replace(path + ".tmp", path)
