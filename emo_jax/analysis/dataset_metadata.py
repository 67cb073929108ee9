"""Joins evaluation outputs to CREMA-D clip names and metadata CSVs of the run's dataset."""
import dataclasses
import os
import pathlib
import re

import numpy as np

from emo_jax.data import cremad

# Source descriptions the CREMA-D builder stores in `info.metadata["source"]`.
_SOURCE_PATTERNS = (re.compile(r"^synthetic tree (.+?) \(seed"), re.compile(r"^CREMA-D clone (.+)$"))
FER2013_SKIP_REASON = ("FER2013 has no actors, emotion levels, demographics or crowd votes, so "
                       "the CREMA-D breakdowns and the comparison with raters are skipped.")


@dataclasses.dataclass(frozen=True)
class ClipMetadata:
  """CREMA-D information for evaluated clips, or why there is none.

  Attributes:
    clip_names: `[N]` clip names in output order, or None.
    metadata: the CREMA-D CSVs (demographics, votes), or None when not found.
    notes: why parts are missing (shown in the report).
  """
  clip_names: np.ndarray | None
  metadata: cremad.CremadMetadata | None
  notes: tuple[str, ...] = ()

  @property
  def actors(self) -> np.ndarray | None:
    if self.clip_names is None:
      return None
    return np.array([cremad.parse_clip_name(n).actor for n in self.clip_names], np.int64)


# Datasets other than CREMA-D (a bare config name, e.g. "g16_112", is a CREMA-D one).
_OTHER_DATASETS = ("fer2013", "ravdess", "folder", "affectnet")


def is_cremad(dataset_name: str) -> bool:
  return dataset_name.strip().partition("/")[0] not in _OTHER_DATASETS


def clip_names_for_records(record_index: dict, record_indices: np.ndarray,
                           labels: np.ndarray | None = None) -> np.ndarray:
  """Clip names of records, checking that the index agrees with the evaluated labels.

  Args:
    record_index: `tfds_cremad.load_index(...)`: {"actor", "label", "clip_name"} per record.
    record_indices: `[N]` the evaluation outputs' `index`.
    labels: `[N]` the evaluated labels, compared with the index's labels.

  Raises:
    ValueError: when indices fall outside the dataset or labels disagree (the index
      sidecar does not describe the records the pipeline read).
  """
  record_indices = np.asarray(record_indices, np.int64)
  num_records = len(record_index["clip_name"])
  if record_indices.size and (record_indices.min() < 0 or record_indices.max() >= num_records):
    raise ValueError(f"record indices {record_indices.min()}..{record_indices.max()} fall outside "
                     f"the {num_records} records of the dataset's record_index.json")
  if labels is not None:
    mismatched = np.flatnonzero(record_index["label"][record_indices] != np.asarray(labels))
    if mismatched.size:
      first = mismatched[0]
      raise ValueError(
          f"{mismatched.size} evaluated labels disagree with record_index.json (e.g. record "
          f"{record_indices[first]}: label {labels[first]} read, index says "
          f"{record_index['label'][record_indices[first]]}): the index describes other records; "
          "delete record_index.json beside the dataset so it is rebuilt")
  return np.asarray(record_index["clip_name"])[record_indices]


def metadata_root_candidates(builder) -> list[pathlib.Path]:
  """Where the CSVs a CREMA-D dataset was built from may be, most likely first."""
  candidates = []
  metadata = dict(builder.info.metadata or {})
  if metadata.get("source_dir"):
    candidates.append(pathlib.Path(metadata["source_dir"]))
  for pattern in _SOURCE_PATTERNS:
    match = pattern.match(str(metadata.get("source", "")))
    if match:
      candidates.append(pathlib.Path(match.group(1)))
  config = builder.builder_config
  if getattr(config, "synthetic", False):
    # Where `tfds_cremad.cremad.synthetic_tree` generates it with the default download dir.
    prefix = (f"synthetic_cremad-seed{config.seed}-actors{config.num_actors}"
              f"-clips{config.clips_per_actor or 'all'}")
    downloads = pathlib.Path(os.fspath(builder.data_dir)) / "downloads"
    candidates += sorted(downloads.glob(prefix + "*"))
  return candidates


def find_metadata_root(builder, override: str | os.PathLike | None = None) -> pathlib.Path | None:
  """The first candidate holding VideoDemographics.csv (`override` first), or None."""
  candidates = ([pathlib.Path(override)] if override else []) + metadata_root_candidates(builder)
  for candidate in candidates:
    if (candidate / cremad.DEMOGRAPHICS_CSV).is_file():
      return candidate
  if override:
    raise FileNotFoundError(f"{override} has no {cremad.DEMOGRAPHICS_CSV}; pass the root of a "
                            "CREMA-D clone (or synthetic tree) as the metadata dir")
  return None


def load_clip_metadata(data_config, record_indices: np.ndarray, labels: np.ndarray,
                       metadata_dir: str | os.PathLike | None = None) -> ClipMetadata:
  """Clip names and metadata CSVs for a run's evaluated records.

  Args:
    data_config: the run's `config.data` (dataset, data_dir).
    record_indices: `[N]` the outputs' record indices (into the dataset's "all" split).
    labels: `[N]` the outputs' labels (checked against the index).
    metadata_dir: a CREMA-D clone or synthetic tree with the CSVs; found from the
      dataset's build metadata when None.
  """
  if not is_cremad(data_config.dataset):
    if data_config.dataset.startswith("fer2013"):
      return ClipMetadata(None, None, (FER2013_SKIP_REASON,))
    return ClipMetadata(None, None, (
        f"{data_config.dataset} is not CREMA-D: the CREMA-D breakdowns (emotion level, "
        "demographics) and the comparison with raters are skipped.",))
  import tfds_cremad  # pylint: disable=g-import-not-at-top  (slow: TFDS)
  builder = tfds_cremad.load_builder(data_config.dataset,
                                     os.path.expanduser(os.fspath(data_config.data_dir)))
  clip_names = clip_names_for_records(tfds_cremad.load_index(builder), record_indices, labels)
  root = find_metadata_root(builder, metadata_dir)
  if root is None:
    tried = ", ".join(str(c) for c in metadata_root_candidates(builder)) or "none"
    return ClipMetadata(clip_names, None, (
        f"The CREMA-D metadata CSVs were not found (tried: {tried}), so the demographic "
        "breakdowns and the comparison with raters are skipped; pass --metadata_dir.",))
  metadata = cremad.load_metadata(root, require_all=False)
  notes = tuple(f"{name} is missing in {root}; the parts that need it are skipped."
                for name in metadata.missing_files)
  return ClipMetadata(clip_names, metadata, (f"Metadata read from {root}.",) + notes)
