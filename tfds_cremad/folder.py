"""TFDS builder `folder`: any folder of labelled clips or images (emo_jax/data/folder.py)."""
import dataclasses
import os
import pathlib
import time

import numpy as np
import tensorflow_datasets as tfds
import tqdm

from emo_jax.data import folder as folder_data
from emo_jax.data import labels
from emo_jax.data import preprocess
from tfds_cremad import cremad
from tfds_cremad import parallel
from tfds_cremad import record_index

SPLIT = cremad.SPLIT  # One stored split, read with split="all"; folds are chosen by subject.


@dataclasses.dataclass
class FolderConfig(tfds.core.BuilderConfig):
  """What a folder build reads and the crop shape.

  Attributes:
    media: "video" (records hold `frames` [T, S, S, C]) or "image" (`image` [S, S, C]).
    num_frames: T, for video.
    size: S.
    grayscale: C = 1 or 3.
    seed: orders files without a subject for the proportional splits.
  """
  media: str = "video"
  num_frames: int = 16
  size: int = 112
  grayscale: bool = True
  seed: int = 0

  @property
  def channels(self) -> int:
    return 1 if self.grayscale else 3


def _make_configs() -> list[FolderConfig]:
  configs = []
  for name, num_frames, size, grayscale in (("g16_112", 16, 112, True),
                                            ("rgb16_112", 16, 112, False),
                                            ("g8_64", 8, 64, True), ("g4_32", 4, 32, True)):
    configs.append(FolderConfig(
        name=name, media="video", num_frames=num_frames, size=size, grayscale=grayscale,
        description=f"Clips: {num_frames} face-cropped frames, {size}x{size}."))
  for name, size, grayscale in (("image_g48", 48, True), ("image_g112", 112, True),
                                ("image_rgb112", 112, False)):
    configs.append(FolderConfig(
        name=name, media="image", num_frames=1, size=size, grayscale=grayscale,
        description=f"Stills: one face crop, {size}x{size}."))
  return configs


def decode_file(job: tuple[str, str, int, int, bool]) -> dict[str, np.ndarray | float]:
  """Runs in a worker process: one face-cropped clip or image."""
  path, media, num_frames, size, grayscale = job
  if media == "video":
    clip = preprocess.load_clip(path, num_frames=num_frames, size=size, grayscale=grayscale,
                                with_audio=False)
    return {"frames": clip.frames, "face_found_ratio": float(clip.face_found_ratio)}
  clip = preprocess.load_image(path, size=size, grayscale=grayscale)
  return {"image": clip.frames[0], "face_found_ratio": float(clip.face_found_ratio)}


class Folder(tfds.core.GeneratorBasedBuilder):
  """A folder of labelled clips or images, labelled in the shared label space.

  Labels are `emo_jax.data.labels.COMMON_CLASSES`; `class_name` keeps the label as
  written, `actor` the subject id (1..; see `emo_jax.data.folder.subject_ids`) and
  `subject` its name. Files that fail to decode are skipped and listed as for `cremad`.
  """

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = _make_configs()
  CLASS_NAMES = labels.COMMON_CLASSES
  DEFAULT_SPLIT = "holdout"  # Split by subject id when read (emo_jax/data/splits.py).
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  Pass the folder as --manual_dir: {folder_data.LAYOUT_HELP}. Clip configs (folder/g16_112,
  ...) read videos, folder/image_* configs read stills.
  """

  def __init__(self, *, num_workers: int | None = None, clip_timeout_s: float = 300.0,
               **kwargs):
    self._num_workers = (os.cpu_count() or 1) if num_workers is None else num_workers
    self._clip_timeout_s = clip_timeout_s
    kwargs.setdefault("file_format", "array_record")  # No TensorFlow needed to write.
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    config = self.builder_config
    if config.media == "video":
      pixels = {"frames": tfds.features.Tensor(
          shape=(config.num_frames, config.size, config.size, config.channels),
          dtype=np.uint8, encoding=tfds.features.Encoding.BYTES)}
    else:
      pixels = {"image": tfds.features.Tensor(
          shape=(config.size, config.size, config.channels), dtype=np.uint8,
          encoding=tfds.features.Encoding.BYTES)}
    return self.dataset_info_from_configs(
        description="A folder of labelled clips or images, face-cropped, shared labels.",
        features=tfds.features.FeaturesDict({
            **pixels,
            "label": tfds.features.ClassLabel(names=labels.COMMON_CLASSES),
            "class_name": tfds.features.Text(),
            "actor": tfds.features.Scalar(dtype=np.int64),
            "subject": tfds.features.Text(),
            "clip_name": tfds.features.Text(),
            "face_found_ratio": tfds.features.Scalar(dtype=np.float32),
        }),
        supervised_keys=(next(iter(pixels)), "label"),
        metadata=tfds.core.MetadataDict(),
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    config = self.builder_config
    try:
      source = pathlib.Path(os.fspath(dl_manager.manual_dir))
    except AssertionError:  # TFDS's way of saying the manual dir is absent or empty.
      given = dl_manager._manual_dir  # pylint: disable=protected-access
      raise FileNotFoundError(f"no folder given for folder/{config.name} (the manual dir "
                              f"{given} is missing or empty): pass --manual_dir with "
                              f"{folder_data.LAYOUT_HELP}") from None
    listing = folder_data.list_folder(source)
    if listing.media != config.media:
      other = "folder/image_g112" if listing.media == "image" else "folder/g16_112"
      raise folder_data.LayoutError(
          f"folder/{config.name} reads {config.media}s but {source} holds "
          f"{len(listing.files)} {listing.media}s: build {other} (or another "
          f"{listing.media} config) instead")
    subjects = folder_data.subject_ids(listing, config.seed)
    self.info.metadata.update({
        "source": os.fspath(source), "source_format": listing.source_format,
        "subject_disjoint": listing.has_subjects,
        "num_files_passed_over": len(listing.skipped), "files_passed_over": listing.skipped,
    })
    return {SPLIT: self._generate_examples(listing, subjects)}

  def _generate_examples(self, listing, subjects):
    config = self.builder_config
    jobs = [(os.fspath(f.path), config.media, config.num_frames, config.size,
             config.grayscale) for f in listing.files]
    skipped = []
    counts = dict.fromkeys(labels.COMMON_CLASSES, 0)
    start = time.monotonic()
    results = parallel.map_unordered(decode_file, jobs, self._num_workers,
                                     self._clip_timeout_s)
    for index, result in tqdm.tqdm(results, total=len(jobs), unit="file", disable=None,
                                   desc=f"decoding folder/{config.name}"):
      file = listing.files[index]
      if isinstance(result, parallel.Failure):
        skipped.append({"clip_name": file.name, "error": result.message})
        continue
      counts[labels.COMMON_CLASSES[file.label]] += 1
      yield file.name, {
          **result,
          "label": file.label,
          "class_name": file.class_name,
          "actor": int(subjects[index]),
          "subject": file.subject,
          "clip_name": file.name,
      }
    self.info.metadata.update(parallel.build_summary(
        "files", len(jobs), skipped, start, self._num_workers))
    self.info.metadata["class_counts"] = {SPLIT: counts}

  def _post_download_and_prepare_hook(self) -> None:
    record_index.write_index(self)
