"""Dataset names ("cremad/g16_112", "ravdess/g16_112", "fer2013") -> builders, with clear errors."""
import json
import os

import tensorflow_datasets as tfds

from emo_jax.data import fer2013 as fer2013_data
from tfds_cremad import affectnet
from tfds_cremad import cremad
from tfds_cremad import fer2013
from tfds_cremad import folder
from tfds_cremad import ravdess

# One builder module per dataset; this table is the one place that names them all.
BUILDERS = {"cremad": cremad.Cremad, "ravdess": ravdess.Ravdess, "fer2013": fer2013.Fer2013,
            "folder": folder.Folder, "affectnet": affectnet.AffectNet}
BUILD_COMMAND = "python -m tfds_cremad.build --config {config} --data_dir {data_dir}"
_MANUAL_DIR_HINTS = {"cremad": " --manual_dir /path/to/CREMA-D (a git lfs clone)",
                     "ravdess": " --manual_dir /path/to/RAVDESS (Video_*_Actor_NN.zip or Actor_NN/)",
                     "fer2013": " --manual_dir /path/to/fer2013 (csv, folders or archive)",
                     "affectnet": " --manual_dir /path/to/AffectNet (a licensed copy)",
                     "folder": " --manual_dir /path/to/labelled/folder (DIR/<class>/* or a CSV)"}


class DatasetNotBuiltError(FileNotFoundError):
  """The packed dataset asked for has not been built in that data dir."""


def dataset_names() -> list[str]:
  """Every buildable name: "cremad/<config>" for each config, and "fer2013"."""
  names = []
  for dataset, builder_class in BUILDERS.items():
    configs = builder_class.BUILDER_CONFIGS
    names += [f"{dataset}/{c.name}" for c in configs] if configs else [dataset]
  return names


def resolve_name(name: str) -> tuple[type[tfds.core.DatasetBuilder], str | None]:
  """Splits a name into (builder class, config name or None).

  Accepts "cremad/g16_112", a bare CREMA-D config "g16_112", "cremad" (its default
  config, the first listed) and "fer2013".

  Raises:
    ValueError: listing the names that exist.
  """
  dataset, _, config = name.strip().partition("/")
  if dataset not in BUILDERS and not config:
    dataset, config = "cremad", dataset  # A bare config name is a CREMA-D config.
  builder_class = BUILDERS.get(dataset)
  if builder_class is not None:
    config_names = [c.name for c in builder_class.BUILDER_CONFIGS]
    if not config and config_names:
      return builder_class, config_names[0]
    if (config in config_names) or (not config and not config_names):
      return builder_class, config or None
  raise ValueError(f"unknown dataset config {name!r}; choose one of: "
                   f"{', '.join(dataset_names())} (the cremad/ prefix may be left out)")


def full_name(name: str) -> str:
  """The canonical "dataset/config" (or "fer2013") for any accepted spelling of `name`."""
  builder_class, config = resolve_name(name)
  return f"{builder_class.name}/{config}" if config else builder_class.name


def example_spec(name: str) -> tuple[tuple[int, int, int, int], int]:
  """(`[T, S, S, C]` of one example's frames, number of classes) of a dataset, unbuilt.

  Lets a run check its model and batch sizes before anything is generated or built.
  FER2013 images count as one-frame clips.
  """
  builder_class, config_name = resolve_name(name)
  if builder_class is fer2013.Fer2013:
    return (1, 48, 48, 1), len(fer2013_data.FER_CLASSES)
  config = next(c for c in builder_class.BUILDER_CONFIGS if c.name == config_name)
  class_names = getattr(config, "class_names", None) or builder_class.CLASS_NAMES
  channels = getattr(config, "channels", None) or (1 if config.grayscale else 3)
  return (config.num_frames, config.size, config.size, channels), len(class_names)


def make_builder(name: str, data_dir: str | os.PathLike,
                 **builder_kwargs) -> tfds.core.DatasetBuilder:
  """A builder for `name` in `data_dir`, built or not (see `resolve_name` for names)."""
  builder_class, config = resolve_name(name)
  if config:
    builder_kwargs["config"] = config
  return builder_class(data_dir=os.fspath(data_dir), **builder_kwargs)


class DatasetStaleError(DatasetNotBuiltError):
  """The packed dataset was built from other inputs (code, generator or crop version)."""


def packed_fingerprint(builder: tfds.core.DatasetBuilder) -> str | None:
  """The packing fingerprint a built dataset records (None: built before they were)."""
  path = builder.data_path / "metadata.json"
  if not path.exists():
    return None
  return json.loads(path.read_text()).get("packing_fingerprint")


def expected_fingerprint(builder: tfds.core.DatasetBuilder) -> str | None:
  """The fingerprint this code would record (None for datasets without one: fer2013)."""
  if builder.name == "cremad":
    return cremad.packing_fingerprint(builder.builder_config)
  return None


def exists(builder: tfds.core.DatasetBuilder) -> bool:
  """Whether some build of `builder`'s dataset is in its data dir, current or stale."""
  return (builder.data_path / "dataset_info.json").exists()


def is_stale(builder: tfds.core.DatasetBuilder) -> bool:
  """Whether the build in the data dir was packed from other inputs than this code's."""
  expected = expected_fingerprint(builder)
  return exists(builder) and expected is not None and packed_fingerprint(builder) != expected


def is_built(builder: tfds.core.DatasetBuilder) -> bool:
  """Whether `builder`'s dataset is in its data dir and packed by this code (not stale)."""
  return exists(builder) and not is_stale(builder)


def load_builder(name: str, data_dir: str | os.PathLike) -> tfds.core.DatasetBuilder:
  """The builder of an already built dataset, ready for `as_data_source`.

  Raises:
    ValueError: for an unknown name (listing those that exist).
    DatasetNotBuiltError: when `name` is not built in `data_dir`, with the command
      that builds it.
  """
  builder = make_builder(name, data_dir)
  if is_stale(builder):
    config = full_name(name)
    command = BUILD_COMMAND.format(config=config, data_dir=os.fspath(data_dir)) + " --overwrite"
    if not getattr(builder.builder_config, "synthetic", False):
      command += _MANUAL_DIR_HINTS[builder.name]
    raise DatasetStaleError(
        f"{config} in {builder.data_path} was packed by other code or parameters (packing "
        f"fingerprint {packed_fingerprint(builder)}, this code's "
        f"{expected_fingerprint(builder)}; see 'packing' in its metadata.json): rebuild it "
        f"with {command}")
  if not is_built(builder):
    config = full_name(name)
    command = BUILD_COMMAND.format(config=config, data_dir=os.fspath(data_dir))
    if not getattr(builder.builder_config, "synthetic", False):
      command += _MANUAL_DIR_HINTS[builder.name]
    raise DatasetNotBuiltError(
        f"{config} is not built in {os.fspath(data_dir)} (no {builder.data_path}): run "
        f"{command}")
  return builder
