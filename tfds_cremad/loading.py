"""Dataset names ("cremad/g16_112", "fer2013") -> builders, with clear errors when not built."""
import os

import tensorflow_datasets as tfds

from emo_jax.data import cremad as cremad_data
from emo_jax.data import fer2013 as fer2013_data
from tfds_cremad import cremad
from tfds_cremad import fer2013

BUILDERS = {"cremad": cremad.Cremad, "fer2013": fer2013.Fer2013}
BUILD_COMMAND = "python -m tfds_cremad.build --config {config} --data_dir {data_dir}"
_MANUAL_DIR_HINTS = {"cremad": " --manual_dir /path/to/CREMA-D (a git lfs clone)",
                     "fer2013": " --manual_dir /path/to/fer2013 (csv, folders or archive)"}


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
  return ((config.num_frames, config.size, config.size, config.channels),
          len(cremad_data.EMOTIONS))


def make_builder(name: str, data_dir: str | os.PathLike,
                 **builder_kwargs) -> tfds.core.DatasetBuilder:
  """A builder for `name` in `data_dir`, built or not (see `resolve_name` for names)."""
  builder_class, config = resolve_name(name)
  if config:
    builder_kwargs["config"] = config
  return builder_class(data_dir=os.fspath(data_dir), **builder_kwargs)


def is_built(builder: tfds.core.DatasetBuilder) -> bool:
  """Whether `builder`'s dataset is in its data dir (like `is_prepared()`, minus a warning)."""
  return (builder.data_path / "dataset_info.json").exists()


def load_builder(name: str, data_dir: str | os.PathLike) -> tfds.core.DatasetBuilder:
  """The builder of an already built dataset, ready for `as_data_source`.

  Raises:
    ValueError: for an unknown name (listing those that exist).
    DatasetNotBuiltError: when `name` is not built in `data_dir`, with the command
      that builds it.
  """
  builder = make_builder(name, data_dir)
  if not is_built(builder):
    config = full_name(name)
    command = BUILD_COMMAND.format(config=config, data_dir=os.fspath(data_dir))
    if not getattr(builder.builder_config, "synthetic", False):
      command += _MANUAL_DIR_HINTS[builder.name]
    raise DatasetNotBuiltError(
        f"{config} is not built in {os.fspath(data_dir)} (no {builder.data_path}): run "
        f"{command}")
  return builder
