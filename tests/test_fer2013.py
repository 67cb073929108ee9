"""FER2013 readers (Kaggle folders, archive, csv) and the `fer2013` TFDS builder."""
import csv
import pathlib
import tarfile

import numpy as np
from PIL import Image
import pytest
import tensorflow_datasets as tfds

from emo_jax.data import cremad
from emo_jax.data import fer2013
import tfds_cremad

# (split, class, file name) of the fixture images; the Kaggle layout keeps train images in
# train/<class>/ and both test splits in test/<class>/, told apart by the name prefix.
_IMAGES = (
    ("train", "angry", "Training_1.jpg"),
    ("train", "angry", "Training_2.jpg"),
    ("train", "happy", "Training_3.jpg"),
    ("train", "surprise", "Training_4.jpg"),
    ("public_test", "neutral", "PublicTest_5.jpg"),
    ("public_test", "disgust", "PublicTest_6.jpg"),
    ("private_test", "sad", "PrivateTest_7.jpg"),
    ("private_test", "fear", "PrivateTest_8.jpg"),
)
_USAGE = {"train": "Training", "public_test": "PublicTest", "private_test": "PrivateTest"}


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
  """The same 8 images as Kaggle folders, as a .tar.gz of them, and as fer2013.csv."""
  root = tmp_path_factory.mktemp("fer")
  folders = root / "kaggle"
  rng = np.random.default_rng(0)
  rows = []
  for split, class_name, file_name in _IMAGES:
    path = folders / ("train" if split == "train" else "test") / class_name / file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (48, 48), dtype=np.uint8), "L").save(path)
    # The csv holds the pixels the JPEG decodes to, so both sources are the same images.
    pixels = np.asarray(Image.open(path))
    rows.append((fer2013.FER_CLASSES.index(class_name), " ".join(map(str, pixels.ravel())),
                 _USAGE[split]))
  csv_dir = root / "csv"
  csv_dir.mkdir()
  with open(csv_dir / "fer2013.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(("emotion", "pixels", "Usage"))
    writer.writerows(rows)
  archive_dir = root / "archive"
  archive_dir.mkdir()
  with tarfile.open(archive_dir / "fer2013_kaggle_layout.tar.gz", "w:gz") as t:
    t.add(folders / "train", "train")
    t.add(folders / "test", "test")
  return {"folders": folders, "csv": csv_dir, "archive": archive_dir, "root": root}


def _content(examples):
  """Order-independent view: sorted (split, label, image bytes)."""
  return sorted((e.split, e.label, e.image.tobytes()) for e in examples)


def test_classes_and_cremad_mapping():
  assert fer2013.FER_CLASSES == ("angry", "disgust", "fear", "happy", "sad", "surprise",
                                 "neutral")
  assert set(fer2013.FER_TO_CREMAD) == set(fer2013.FER_CLASSES)
  assert fer2013.FER_TO_CREMAD["surprise"] is None
  assert {v for v in fer2013.FER_TO_CREMAD.values() if v} == set(cremad.EMOTIONS)
  assert fer2013.cremad_label(fer2013.FER_CLASSES.index("sad")) == cremad.EMOTIONS.index("SAD")
  assert fer2013.cremad_label(fer2013.FER_CLASSES.index("surprise")) is None


def test_folders_read_with_splits_labels_and_names(sources):
  examples = list(fer2013.read_folders(sources["folders"]))
  assert len(examples) == len(_IMAGES)
  by_name = {pathlib.PurePosixPath(e.source_name).name: e for e in examples}
  for split, class_name, file_name in _IMAGES:
    example = by_name[file_name]
    assert example.split == split
    assert example.label == fer2013.FER_CLASSES.index(class_name)
    assert example.image.shape == (48, 48, 1) and example.image.dtype == np.uint8
  assert by_name["Training_1.jpg"].source_name == "train/angry/Training_1.jpg"
  only_private = list(fer2013.read_folders(sources["folders"], splits=("private_test",)))
  assert {e.split for e in only_private} == {"private_test"} and len(only_private) == 2


def test_csv_and_folders_give_the_same_examples(sources):
  from_csv = list(fer2013.read_csv(sources["csv"] / "fer2013.csv"))
  assert _content(from_csv) == _content(fer2013.read_folders(sources["folders"]))
  assert from_csv[0].source_name == "fer2013.csv:row=0"


def test_archive_is_extracted_once_into_the_cache(sources, tmp_path):
  cache = tmp_path / "cache"
  examples = list(fer2013.read(sources["archive"], cache_dir=cache))
  assert _content(examples) == _content(fer2013.read_folders(sources["folders"]))
  (extracted,) = [p for p in cache.iterdir() if not p.name.startswith(".")]
  marker_time = (extracted / ".extracted").stat().st_mtime_ns
  assert fer2013.locate(sources["archive"], cache_dir=cache) == ("folders", extracted)
  assert (extracted / ".extracted").stat().st_mtime_ns == marker_time


def test_locate_prefers_csv_unless_told(sources, tmp_path):
  both = tmp_path / "both"
  both.mkdir()
  (both / "fer2013.csv").write_bytes((sources["csv"] / "fer2013.csv").read_bytes())
  (both / "train").symlink_to(sources["folders"] / "train")
  (both / "test").symlink_to(sources["folders"] / "test")
  assert fer2013.locate(both)[0] == "csv"
  assert fer2013.locate(both, "folders") == ("folders", both)


def test_clear_errors(tmp_path):
  with pytest.raises(FileNotFoundError, match="fer2013.csv or train/ and test/"):
    fer2013.locate(tmp_path)
  bad = tmp_path / "fer2013.csv"
  bad.write_text("label,pixels\n0,1 2 3\n")
  with pytest.raises(ValueError, match="lacks column.*Usage"):
    list(fer2013.read_csv(bad))
  short = tmp_path / "short.csv"
  short.write_text("emotion,pixels,Usage\n0,1 2 3,Training\n")
  with pytest.raises(ValueError, match="has 3 pixels, expected 2304"):
    list(fer2013.read_csv(short))
  with pytest.raises(ValueError, match="unknown FER2013 split"):
    list(fer2013.read_csv(short, splits=("test",)))


@pytest.mark.parametrize("source", ["folders", "csv", "archive"])
def test_builder_packs_every_source_into_the_same_records(sources, source, tmp_path):
  builder = tfds_cremad.Fer2013(data_dir=tmp_path / "tfds")
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=sources[source]))
  assert builder.info.metadata["source_format"] == ("csv" if source == "csv" else "folders")
  records = []
  for split in fer2013.SPLITS:
    data = tfds.data_source("fer2013", split=split, data_dir=tmp_path / "tfds")
    for record in (data[i] for i in range(len(data))):
      assert record["image"].shape == (48, 48, 1) and record["image"].dtype == np.uint8
      assert set(record) == {"image", "label", "source_name"}
      records.append((split, int(record["label"]), record["image"].tobytes()))
  expected = _content(fer2013.read_folders(sources["folders"]))
  assert sorted(records) == expected
  assert builder.info.features["label"].names == list(fer2013.FER_CLASSES)
  counts = builder.info.metadata["class_counts"]
  assert counts["train"]["angry"] == 2 and counts["public_test"]["disgust"] == 1


@pytest.fixture(scope="module")
def real_fer_slice(fer2013_shared_dir, tmp_path_factory):
  """A TFDS data dir with 14 real images per class of train and 7 of each test split."""
  root = tmp_path_factory.mktemp("fer_real")
  taken = {}
  for example in fer2013.read(fer2013_shared_dir):
    key = (example.split, example.label)
    limit = 14 if example.split == "train" else 7
    if taken.get(key, 0) >= limit:
      continue
    taken[key] = taken.get(key, 0) + 1
    folder = "train" if example.split == "train" else "test"
    name = f"{_USAGE[example.split]}_{len(taken)}{taken[key]}.jpg"
    path = root / "kaggle" / folder / fer2013.FER_CLASSES[example.label] / name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(example.image[..., 0], "L").save(path, quality=100)
    if len(taken) == 21 and all(v >= (14 if s == "train" else 7) for (s, _), v in taken.items()):
      break
  data_dir = root / "tfds"
  tfds_cremad.Fer2013(data_dir=data_dir).download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=root / "kaggle"))
  return data_dir


def test_bundled_recipe_trains_on_real_fer2013_images(real_fer_slice, tmp_path):
  """The FER2013 recipe itself (augmentation, centre crop, test-time flips) on real faces."""
  from configs import fer2013_bundled
  from emo_jax import trainer
  config = fer2013_bundled.get_config()
  config.data.update(data_dir=str(real_fer_slice), batch_size=16, eval_batch_size=16,
                     worker_count=0)
  config.model.encoder.update(widths=(4, 8), features=16)
  config.model.head.hidden_sizes = (8,)
  config.train.update(num_steps=3, num_epochs=0.0, log_every_steps=1)
  config.wandb.mode = "disabled"
  final = trainer.train_and_evaluate(config, str(tmp_path / "run"))
  assert final["steps"] == 3 and final["test_num_examples"] == 49
  assert np.isfinite(final["test_loss"])
