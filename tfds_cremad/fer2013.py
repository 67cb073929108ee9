"""TFDS builder `fer2013`: 48x48 grey faces, 7 classes, from the Kaggle layout or the csv."""
import numpy as np
import tensorflow_datasets as tfds

from emo_jax.data import fer2013

_SOURCE_FORMATS_HELP = ", ".join(fer2013.SOURCE_FORMATS)


class Fer2013(tfds.core.GeneratorBasedBuilder):
  """FER2013 (Goodfellow et al., 2013), read from a folder you provide.

  The source format is detected in the manual dir: fer2013.csv (`emotion,pixels,Usage`),
  the Kaggle folders `train/<class>/*.jpg` + `test/<class>/{PublicTest,PrivateTest}_*.jpg`,
  or a .tar.gz/.zip of either (extracted once into `<data_dir>/downloads`). Both formats
  give the same images, labels and splits; only `source_name` differs.
  """

  # Fixed splits: the pipeline's part -> the stored split (config.data.split "standard").
  DEFAULT_SPLIT = "standard"
  CLASS_NAMES = fer2013.FER_CLASSES
  FIXED_PARTS = {"train": "train", "val": "public_test", "test": "private_test"}
  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release: image uint8 [48, 48, 1], label, source_name."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  FER2013 cannot be downloaded automatically (Kaggle login). Put one of these in the
  manual dir (--manual_dir DIR):
    * fer2013.csv from the Kaggle challenge "Challenges in Representation Learning:
      Facial Expression Recognition Challenge" (columns emotion,pixels,Usage), or
    * the Kaggle folder layout train/<class>/*.jpg and
      test/<class>/{PublicTest,PrivateTest}_*.jpg (e.g. kaggle.com/datasets/msambare/fer2013),
    * or a .tar.gz / .zip archive of either.
  """

  def __init__(self, *, source_format: str = "auto", **kwargs):
    """Args: source_format: "auto" (csv when both are present), "folders" or "csv"."""
    if source_format not in fer2013.SOURCE_FORMATS:
      raise ValueError(f"source_format must be one of {_SOURCE_FORMATS_HELP}, "
                       f"got {source_format!r}")
    self._source_format = source_format
    # TFRecord, the TFDS default, needs TensorFlow to write; array_record does not.
    kwargs.setdefault("file_format", "array_record")
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        description="FER2013 facial expressions: 48x48 grey faces in 7 classes.",
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Tensor(
                shape=(fer2013.IMAGE_SIZE, fer2013.IMAGE_SIZE, 1), dtype=np.uint8,
                encoding=tfds.features.Encoding.BYTES),
            "label": tfds.features.ClassLabel(names=fer2013.FER_CLASSES),
            "source_name": tfds.features.Text(),
        }),
        supervised_keys=("image", "label"),
        homepage=("https://www.kaggle.com/c/challenges-in-representation-learning-facial-"
                  "expression-recognition-challenge"),
        citation="""@inproceedings{goodfellow2013challenges,
  title={Challenges in representation learning: A report on three machine learning contests},
  author={Goodfellow, Ian J and others},
  booktitle={ICONIP}, year={2013}}""",
        metadata=tfds.core.MetadataDict(),
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    try:
      manual_dir = dl_manager.manual_dir
    except AssertionError:  # TFDS's way of saying the manual dir is absent or empty.
      given = dl_manager._manual_dir  # pylint: disable=protected-access
      raise FileNotFoundError(
          f"no FER2013 source given (the manual dir {given} is missing or empty): pass "
          "--manual_dir with fer2013.csv, the Kaggle train/ and test/ folders, or an "
          "archive of them") from None
    source_format, source = fer2013.locate(
        manual_dir, self._source_format,
        cache_dir=dl_manager.download_dir / "fer2013_extracted")
    self.info.metadata["source_format"] = source_format
    return {split: self._generate_examples(source_format, source, split)
            for split in fer2013.SPLITS}

  def _generate_examples(self, source_format, source, split):
    if source_format == "csv":
      examples = fer2013.read_csv(source, (split,))
    else:
      examples = fer2013.read_folders(source, (split,))
    counts = dict.fromkeys(fer2013.FER_CLASSES, 0)
    for example in examples:
      counts[fer2013.FER_CLASSES[example.label]] += 1
      yield example.source_name, {
          "image": example.image,
          "label": example.label,
          "source_name": example.source_name,
      }
    self.info.metadata.setdefault("class_counts", {})[split] = counts
