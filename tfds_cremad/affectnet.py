"""TFDS builder `affectnet`: AffectNet face images (manual download), 7 or 8 classes."""
import dataclasses
import os
import pathlib
import time

import numpy as np
import tensorflow_datasets as tfds
import tqdm

from emo_jax.data import affectnet as affectnet_data
from emo_jax.data import faces
from emo_jax.data import preprocess
from tfds_cremad import parallel

# TFDS split -> which images: a class-balanced validation carved from train, and the
# official validation set (AffectNet's test labels are not public) as the test split.
SPLITS = ("train", "validation", "test")


@dataclasses.dataclass
class AffectNetConfig(tfds.core.BuilderConfig):
  """Classes, crop shape and sampling of a packed AffectNet.

  Attributes:
    num_classes: 8 (with contempt) or 7 (contempt images left out, counted).
    size: S of the square face crops.
    grayscale: C = 1 or 3.
    val_per_class: images of each class carved from train as the validation split
      (the official validation set has 500 of each).
    balanced: class-balanced train split: every class subsampled (seeded) to the size of
      the smallest one, instead of AffectNet's skew (about 75k happy, 4k contempt).
    seed: of the validation carve and the subsampling.
  """
  num_classes: int = 8
  size: int = 112
  grayscale: bool = False
  val_per_class: int = 500
  balanced: bool = False
  seed: int = 0

  @property
  def class_names(self) -> tuple[str, ...]:
    return affectnet_data.CLASSES[:self.num_classes]

  @property
  def num_frames(self) -> int:
    return 1  # Stills: one-frame clips to the models.

  @property
  def channels(self) -> int:
    return 1 if self.grayscale else 3


def _make_configs() -> list[AffectNetConfig]:
  configs = []
  for num_classes in (8, 7):
    for name, size, grayscale in (("rgb112", 112, False), ("g48", 48, True)):
      for balanced in (False, True):
        configs.append(AffectNetConfig(
            name=f"c{num_classes}_{name}" + ("_balanced" if balanced else ""),
            num_classes=num_classes, size=size, grayscale=grayscale, balanced=balanced,
            description=(f"{num_classes} classes, {size}x{size} "
                         f"{'grey' if grayscale else 'RGB'} face crops"
                         + (", class-balanced train split" if balanced else "") + ".")))
  return configs


def decode_image(job: tuple[str, tuple | None, int, bool]) -> dict[str, np.ndarray | float]:
  """Runs in a worker process: one face crop (the CSV's box, or the whole crop image)."""
  path, box, size, grayscale = job
  face = faces.Box(*box) if box is not None else "whole"
  clip = preprocess.load_image(path, size=size, grayscale=grayscale, face=face, margin=0.1)
  return {"image": clip.frames[0]}


class AffectNet(tfds.core.GeneratorBasedBuilder):
  """AffectNet: face images with expression, valence and arousal, from a manual download."""

  name = "affectnet"  # Not TFDS's default snake case of the class name, affect_net.
  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = _make_configs()
  # Fixed splits: the pipeline's part -> the stored split (config.data.split "standard").
  DEFAULT_SPLIT = "standard"
  FIXED_PARTS = {"train": "train", "val": "validation", "test": "test"}
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  AffectNet is licensed per user (http://mohammadmahoor.com/affectnet/). Put your copy in
  the manual dir, in {affectnet_data.LAYOUT_HELP}, and run
  `python -m tfds_cremad.build --config affectnet/c8_rgb112 --data_dir DIR --manual_dir /path`.
  """

  def __init__(self, *, num_workers: int | None = None, clip_timeout_s: float = 60.0,
               **kwargs):
    self._num_workers = (os.cpu_count() or 1) if num_workers is None else num_workers
    self._clip_timeout_s = clip_timeout_s
    kwargs.setdefault("file_format", "array_record")  # No TensorFlow needed to write.
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    config = self.builder_config
    return self.dataset_info_from_configs(
        description="AffectNet face crops with expression, valence and arousal.",
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Tensor(
                shape=(config.size, config.size, config.channels),
                dtype=np.uint8, encoding=tfds.features.Encoding.BYTES),
            "label": tfds.features.ClassLabel(names=config.class_names),
            "valence": tfds.features.Scalar(dtype=np.float32),
            "arousal": tfds.features.Scalar(dtype=np.float32),
            "source_name": tfds.features.Text(),
        }),
        supervised_keys=("image", "label"),
        homepage="http://mohammadmahoor.com/affectnet/",
        citation="""@article{mollahosseini2017affectnet,
  title={{AffectNet}: A database for facial expression, valence, and arousal computing in
         the wild},
  author={Mollahosseini, Ali and Hasani, Behzad and Mahoor, Mohammad H},
  journal={IEEE Transactions on Affective Computing}, volume={10}, number={1},
  pages={18--31}, year={2017}}""",
        metadata=tfds.core.MetadataDict(),
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    config = self.builder_config
    try:
      root = pathlib.Path(os.fspath(dl_manager.manual_dir))
    except AssertionError:  # TFDS's way of saying the manual dir is absent or empty.
      given = dl_manager._manual_dir  # pylint: disable=protected-access
      raise FileNotFoundError(
          f"no AffectNet copy given for affectnet/{config.name} (the manual dir {given} is "
          f"missing or empty): AffectNet needs a licence (http://mohammadmahoor.com/"
          f"affectnet/); pass your copy, in {affectnet_data.LAYOUT_HELP}, as --manual_dir"
          ) from None
    listing = affectnet_data.list_images(root)
    skipped = list(listing.skipped)
    items = []
    for item in listing.items:
      if item.expression >= config.num_classes:
        skipped.append({"file": item.name, "reason": f"{affectnet_data.CLASSES[item.expression]}"
                                                     f" is not one of the {config.num_classes} "
                                                     "classes"})
      else:
        items.append(item)
    held_out = affectnet_data.carve_validation(items, config.val_per_class, config.seed)
    by_split = {
        "train": [i for i in items if i.part == "train" and i.name not in held_out],
        "validation": [i for i in items if i.name in held_out],
        "test": [i for i in items if i.part == "official_val"],
    }
    if config.balanced:
      by_split["train"] = self._balance(by_split["train"])
    empty = [split for split, chosen in by_split.items() if not chosen]
    if empty:
      raise ValueError(f"{root}: no images for split(s) {empty} of affectnet/{config.name}")
    self.info.metadata.update({
        "source": os.fspath(root), "source_layout": listing.layout,
        "num_files_passed_over": len(skipped), "files_passed_over": skipped,
        "carved_validation_per_class": config.val_per_class, "balanced_train": config.balanced,
    })
    return {split: self._generate_examples(split, chosen) for split, chosen in by_split.items()}

  def _balance(self, items):
    config = self.builder_config
    rng = np.random.default_rng([config.seed, 1])
    groups = [[i for i in items if i.expression == c] for c in range(config.num_classes)]
    smallest = min(len(g) for g in groups if g)
    kept = []
    for group in groups:
      kept += [group[j] for j in sorted(rng.permutation(len(group))[:smallest])]
    return kept

  def _generate_examples(self, split, items):
    config = self.builder_config
    jobs = [(os.fspath(i.path), tuple(i.face_box) if i.face_box else None, config.size,
             config.grayscale) for i in items]
    counts = dict.fromkeys(config.class_names, 0)
    skipped = []
    start = time.monotonic()
    results = parallel.map_unordered(decode_image, jobs, self._num_workers,
                                     self._clip_timeout_s)
    for index, result in tqdm.tqdm(results, total=len(jobs), unit="image", disable=None,
                                   desc=f"decoding affectnet/{config.name} {split}"):
      item = items[index]
      if isinstance(result, parallel.Failure):
        skipped.append({"clip_name": item.name, "error": result.message})
        continue
      counts[config.class_names[item.expression]] += 1
      yield item.name, {**result, "label": item.expression, "valence": item.valence,
                        "arousal": item.arousal, "source_name": item.name}
    metadata = self.info.metadata
    metadata.setdefault("class_counts", {})[split] = counts
    metadata["skipped_clips"] = sorted(metadata.get("skipped_clips", []) + skipped,
                                       key=lambda s: s["clip_name"])
    metadata["num_skipped"] = len(metadata["skipped_clips"])
    metadata[f"decode_seconds_{split}"] = round(time.monotonic() - start, 1)
