"""Loads a trained model for notebooks and tools: a run's workdir, or a model the package ships.

    run = checkpoints.load("workdirs/ae_lstm")       # a training workdir
    run = checkpoints.load_bundled()                  # the default model shipped in emo_jax/bundled/
    run = checkpoints.load_bundled("fer2013")         # the smaller, CPU-trained one
    run = checkpoints.ensemble([checkpoints.load("workdirs/a"), checkpoints.load("workdirs/b")])
    logits, aux = run.model.apply(run.variables, frames, train=False)  # frames [B, T, H, W, C] in [0, 1]

Only the model variables (params, batch_stats) are read, not the optimiser state, so this
needs neither the dataset nor the optimiser config. A bundled model is the variables as
msgpack plus the run's config as JSON, with a SHA-256 in its manifest that is checked on
every load (`emo_jax.bundle` writes them). An ensemble bundle lists other bundles (its
members) and the SHA-256 each had when the ensemble was measured; it holds no weights.
"""
import dataclasses
import hashlib
import importlib.resources
import json
import os
from typing import Any

from flax import serialization
import jax
import ml_collections
import orbax.checkpoint as ocp

from emo_jax import models
from emo_jax.data import cremad
from emo_jax.data import fer2013

CONFIG_FILE = "config.json"
CHECKPOINT_KINDS = ("best", "latest")
# A bundled model's folder, `emo_jax/bundled/<name>/`, holds these files.
BUNDLE_VARIABLES = "variables.msgpack"
BUNDLE_MANIFEST = "manifest.json"
BUNDLE_MODEL_CARD = "MODEL_CARD.md"
# How a bundle may store its float variables; they are float32 once loaded.
BUNDLE_WEIGHT_DTYPES = ("float32", "float16")
# The single bundled network with the best PublicTest accuracy (each bundle's MODEL_CARD.md
# says how it was chosen; the opt-in ensemble costs both members' time): `predict`'s default.
DEFAULT_BUNDLED = "fer2013_vgg"
# The fastest: the default of live and whole-video analysis (`emo_jax.video`, the demo),
# about 3.7x cheaper per face on a CPU than DEFAULT_BUNDLED, 7.6 points less accurate on PrivateTest.
REALTIME_BUNDLED = "fer2013"


class BundleError(ValueError):
  """A bundled model is missing, incomplete, or its weights fail the checksum."""


@dataclasses.dataclass(frozen=True)
class LoadedRun:
  """A trained model ready for `model.apply(variables, frames, train=False)`.

  Attributes:
    workdir: where the run lives.
    config: the run's config (from `workdir/config.json`).
    model: the EmotionNet the config describes.
    variables: {"params": ..., "batch_stats": ...} (batch_stats only when the model has
      BatchNorm), on the default device.
    step: the training step of the checkpoint.
    which: "best", "latest" or the step asked for.
    class_names: names of the logits, in order.
    frames_shape: one clip as the run's dataset stores it, `[T, S, S, C]`.
  """
  workdir: str
  config: ml_collections.ConfigDict
  model: models.EmotionNet
  variables: dict[str, Any]
  step: int
  which: str | int
  class_names: tuple[str, ...]
  frames_shape: tuple[int, int, int, int]

  @property
  def num_classes(self) -> int:
    return len(self.class_names)


def read_config(workdir: str) -> ml_collections.ConfigDict:
  """The config the trainer saved as `workdir/config.json`."""
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path} not found: {workdir} is not a training workdir (the "
                            "trainer writes config.json when a run starts)")
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


def dataset_class_names(dataset: str) -> tuple[str, ...]:
  """Class names of a dataset name such as "cremad/g16_112", "ravdess/g8_64" or "fer2013"."""
  if dataset.strip().startswith("fer2013"):
    return fer2013.FER_CLASSES
  if dataset.strip().partition("/")[0] not in ("ravdess", "folder", "affectnet"):
    return cremad.EMOTIONS  # No TFDS import for the common case.
  from tfds_cremad import loading  # pylint: disable=g-import-not-at-top  (slow: TFDS)
  builder_class, config_name = loading.resolve_name(dataset)
  config = next(c for c in builder_class.BUILDER_CONFIGS if c.name == config_name)
  return tuple(getattr(config, "class_names", None) or builder_class.CLASS_NAMES)


def dataset_frames_shape(dataset: str) -> tuple[int, int, int, int]:
  """`[T, S, S, C]` of one example of the named dataset, from its builder config."""
  if dataset.strip().startswith("fer2013"):
    return (1, fer2013.IMAGE_SIZE, fer2013.IMAGE_SIZE, 1)
  from tfds_cremad import loading  # pylint: disable=g-import-not-at-top  (slow: TFDS)
  builder_class, config_name = loading.resolve_name(dataset)
  config = next(c for c in builder_class.BUILDER_CONFIGS if c.name == config_name)
  return (config.num_frames, config.size, config.size, config.channels)


def _manager(workdir: str, kind: str) -> ocp.CheckpointManager:
  path = os.path.join(os.path.abspath(workdir), "checkpoints", kind)
  # Saved with StandardSave; the PyTree handler reads it and allows a partial restore.
  return ocp.CheckpointManager(path, item_handlers={"state": ocp.PyTreeCheckpointHandler()},
                               options=ocp.CheckpointManagerOptions(read_only=True))


def _best_step(manager: ocp.CheckpointManager, metric: str) -> int | None:
  """The step with the highest `metric` among those saved with metrics (Orbax keeps them)."""
  scored = []
  for step in manager.all_steps():
    metrics = manager.metrics(step) or {}
    if metric in metrics:
      scored.append((float(metrics[metric]), step))
  return max(scored)[1] if scored else manager.latest_step()


def find_checkpoint(workdir: str, which: str | int = "best",
                    best_metric: str = "accuracy") -> tuple[ocp.CheckpointManager, int]:
  """The manager and step of a checkpoint: "best", "latest" or a step number.

  Raises:
    FileNotFoundError: naming what exists, when the checkpoint is not there.
  """
  managers = {kind: _manager(workdir, kind) for kind in CHECKPOINT_KINDS}
  available = {kind: sorted(m.all_steps()) for kind, m in managers.items()}
  if which == "best":
    step = _best_step(managers["best"], best_metric)
    kind = "best"
  elif which == "latest":
    step, kind = managers["latest"].latest_step(), "latest"
  else:
    step = int(which)
    kind = next((k for k in ("latest", "best") if step in available[k]), None)
  for other, manager in managers.items():
    if other != kind:
      manager.close()
  if step is None or kind is None:
    raise FileNotFoundError(
        f"no {which!r} checkpoint in {os.path.join(workdir, 'checkpoints')} (saved steps: "
        f"latest {available['latest']}, best {available['best']}); pass --checkpoint best, "
        "latest or one of those steps")
  return managers[kind], step


def restore_variables(manager: ocp.CheckpointManager, step: int) -> dict[str, Any]:
  """Reads params (and batch_stats) of a TrainState checkpoint onto the default device."""
  saved = manager.item_metadata(step)["state"]
  device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
  keys = [key for key in ("params", "batch_stats") if key in saved and saved[key]]
  abstract = {key: jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device),
                                saved[key]) for key in keys}
  restore_args = jax.tree.map(lambda _: ocp.ArrayRestoreArgs(sharding=device), abstract)
  restored = manager.restore(step, args=ocp.args.Composite(state=ocp.args.PyTreeRestore(
      abstract, restore_args=restore_args, partial_restore=True)))["state"]
  return {key: restored[key] for key in keys}


def load(workdir: str, which: str | int = "best") -> LoadedRun:
  """Loads a run's config, model and variables from its workdir.

  Args:
    workdir: the `--workdir` of `emo_jax.train`.
    which: "best" (highest `config.checkpoint.best_metric` on validation), "latest", or a
      step number.

  Raises:
    FileNotFoundError: when the workdir, its config or the checkpoint is missing.
    ValueError: when the checkpoint does not fit the model of the config.
  """
  if isinstance(which, str) and which not in CHECKPOINT_KINDS:
    if not which.isdigit():
      raise ValueError(f"which must be 'best', 'latest' or a step number, got {which!r}")
    which = int(which)
  config = read_config(workdir)
  class_names = dataset_class_names(config.data.dataset)
  frames_shape = dataset_frames_shape(config.data.dataset)
  model = models.create_model(config.model, len(class_names))
  manager, step = find_checkpoint(workdir, which, config.checkpoint.best_metric)
  variables = restore_variables(manager, step)
  manager.close()
  _check_fits(model, variables, frames_shape, workdir, step)
  return LoadedRun(workdir=workdir, config=config, model=model, variables=variables, step=step,
                   which=which, class_names=class_names, frames_shape=frames_shape)


def _check_fits(model, variables, frames_shape, workdir, step):
  """Raises ValueError when the restored variables are not those `model` expects."""
  expected = jax.eval_shape(
      lambda: model.init(jax.random.key(0), jax.numpy.zeros((1, *frames_shape)), train=False))
  expected_shapes = {k: jax.tree.map(lambda x: x.shape, v) for k, v in expected.items()
                     if k in ("params", "batch_stats") and v}
  restored_shapes = {k: jax.tree.map(lambda x: x.shape, v) for k, v in variables.items()}
  if expected_shapes != restored_shapes:
    raise ValueError(
        f"the checkpoint at step {step} in {workdir} does not fit the model of its "
        "config.json (parameter names or shapes differ); was config.json edited, or the "
        "workdir reused for another model?")


def ensemble(runs: list[LoadedRun], workdir: str = "ensemble") -> LoadedRun:
  """One `LoadedRun` whose model averages the class probabilities of `runs` (`models.Ensemble`).

  Member `i`'s variables go under `members_i`; its config's `model` is one entry of
  `config.model.ensemble`. The members must name the same classes and take the same input.

  Raises:
    ValueError: for fewer than two runs, or runs whose classes or input shapes differ.
  """
  if len(runs) < 2:
    raise ValueError(f"an ensemble needs at least two runs, got {len(runs)}")
  for run in runs[1:]:
    for field in ("class_names", "frames_shape"):
      if getattr(run, field) != getattr(runs[0], field):
        raise ValueError(f"{run.workdir} has {field} {getattr(run, field)}, but {runs[0].workdir} "
                         f"has {getattr(runs[0], field)}: ensemble members must agree")
  config = ml_collections.ConfigDict({
      "data": runs[0].config.data.to_dict(),
      "model": {"ensemble": [run.config.model.to_dict() for run in runs]},
      "members": [run.workdir for run in runs]})
  model = models.create_model(config.model, len(runs[0].class_names))
  variables = {}
  for i, run in enumerate(runs):
    for collection, tree in run.variables.items():
      variables.setdefault(collection, {})[f"members_{i}"] = tree
  return LoadedRun(workdir=workdir, config=config, model=model, variables=variables,
                   step=max(run.step for run in runs), which="ensemble",
                   class_names=runs[0].class_names, frames_shape=runs[0].frames_shape)


def bundled_dir() -> str:
  """The folder of the models that ship with the package (`emo_jax/bundled`)."""
  return os.fspath(importlib.resources.files("emo_jax") / "bundled")


def bundled_names() -> tuple[str, ...]:
  """Names of the bundled models, e.g. `("fer2013", "fer2013_deep", ..., "fer2013_vgg")`."""
  root = bundled_dir()
  return tuple(sorted(name for name in os.listdir(root)
                      if os.path.isfile(os.path.join(root, name, BUNDLE_MANIFEST))))


def sha256_of(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def load_bundled(name: str = DEFAULT_BUNDLED, directory: str | None = None) -> LoadedRun:
  """Loads a model that ships inside the package (or a bundle folder written elsewhere).

  Args:
    name: a bundled model's name (`bundled_names()`), e.g. "fer2013_vgg" (the default),
      "fer2013_deep", "fer2013" or "fer2013_ensemble" (two of them averaged), FER2013
      face models trained by this project (each MODEL_CARD.md says how and how well).
    directory: a bundle folder written by `python -m emo_jax.bundle`, instead of `name`.

  Returns:
    The same `LoadedRun` as `load(workdir)`; `workdir` is the bundle folder, `which`
    is "bundled", `step` the training step the weights come from.

  Raises:
    BundleError: when the bundle is unknown or incomplete, or its weights do not match
      the SHA-256 recorded in its manifest (a damaged or replaced file); for an
      ensemble, when a member is missing or is not the one the ensemble was measured with.
  """
  folder = directory or os.path.join(bundled_dir(), name)
  manifest_path = os.path.join(folder, BUNDLE_MANIFEST)
  if not os.path.isfile(manifest_path):
    known = ", ".join(bundled_names()) or "none"
    raise BundleError(f"no bundled model {name!r} ({manifest_path} not found); bundled "
                      f"models: {known}. Use --workdir for a run of your own.")
  with open(manifest_path) as f:
    manifest = json.load(f)
  if "members" in manifest:
    return _load_bundled_ensemble(folder, manifest)
  variables_path = os.path.join(folder, BUNDLE_VARIABLES)
  if not os.path.isfile(variables_path):
    raise BundleError(f"{variables_path} is missing: the bundle {folder} is incomplete")
  digest = sha256_of(variables_path)
  if digest != manifest["sha256"]:
    raise BundleError(
        f"{variables_path} has SHA-256 {digest}, but its manifest records "
        f"{manifest['sha256']}: the file is damaged or was replaced. Reinstall emo_jax "
        "(pip install --force-reinstall) or write the bundle again with python -m emo_jax.bundle.")
  config = ml_collections.ConfigDict(manifest["config"])
  class_names = tuple(manifest["class_names"])
  frames_shape = tuple(manifest["frames_shape"])
  model = models.create_model(config.model, len(class_names))
  with open(variables_path, "rb") as f:
    variables = serialization.msgpack_restore(f.read())
  variables = jax.tree.map(
      lambda x: jax.numpy.asarray(x, jax.numpy.float32 if x.dtype == "float16" else x.dtype),
      dict(variables))
  _check_fits(model, variables, frames_shape, folder, manifest["step"])
  return LoadedRun(workdir=folder, config=config, model=model, variables=variables,
                   step=int(manifest["step"]), which="bundled", class_names=class_names,
                   frames_shape=frames_shape)


def _load_bundled_ensemble(folder: str, manifest: dict[str, Any]) -> LoadedRun:
  """The ensemble bundle at `folder`: its members are bundles beside it, checked by SHA-256."""
  root = os.path.dirname(os.path.normpath(folder))
  runs = []
  for member, expected in manifest["members"].items():
    member_folder = os.path.join(root, member)
    member_manifest = os.path.join(member_folder, BUNDLE_MANIFEST)
    if not os.path.isfile(member_manifest):
      raise BundleError(f"the ensemble {folder} needs the bundle {member!r}, but "
                        f"{member_manifest} is not there")
    with open(member_manifest) as f:
      recorded = json.load(f)["sha256"]
    if recorded != expected:
      raise BundleError(
          f"the ensemble {folder} was measured with {member!r} of SHA-256 {expected}, but that "
          f"bundle now holds {recorded}: write the ensemble again (python -m emo_jax.bundle "
          "--members ...) and measure it again")
    runs.append(load_bundled(member, directory=member_folder))
  run = ensemble(runs, workdir=folder)
  return dataclasses.replace(run, which="bundled")
