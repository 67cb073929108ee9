"""The `affectnet` builder on tiny trees in its three layouts, with hand-written labels."""
import numpy as np
from PIL import Image
import pytest
import tensorflow_datasets as tfds

from emo_jax.data import affectnet as affectnet_data
from emo_jax.data import labels
import tfds_cremad
from tfds_cremad import affectnet
from tfds_cremad import build

_C8 = affectnet.AffectNetConfig(name="test_c8", num_classes=8, size=32, val_per_class=1)
_C7 = affectnet.AffectNetConfig(name="test_c7", num_classes=7, size=32, val_per_class=1)
_C8_BALANCED = affectnet.AffectNetConfig(name="test_c8_balanced", num_classes=8, size=32,
                                         val_per_class=1, balanced=True)
_TRAIN_PER_CLASS = 3


def _image(path, value, size=(64, 48)):
  path.parent.mkdir(parents=True, exist_ok=True)
  pixels = np.full((size[1], size[0], 3), value, np.uint8)
  pixels[10:30, 20:40] = 255 - value  # The "face" of the official layout's box.
  Image.fromarray(pixels).save(path)


def _official_tree(root):
  """3 train images per class (code c: brightness 10c+j) + 1 official val image per class,
  plus a 'no-face' row and a row whose file is missing."""
  header = ("subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,"
            "expression,valence,arousal")
  rows = {"training.csv": [header], "validation.csv": [header]}
  for code in range(8):
    for j in range(_TRAIN_PER_CLASS):
      name = f"{code}/train_{code}_{j}.jpg"
      _image(root / "Manually_Annotated_Images" / name, 10 * code + j)
      rows["training.csv"].append(f'{name},20,10,20,20,"1;2",{code},0.{code},-0.{j}')
    name = f"9{code}/val_{code}.png"
    _image(root / "Manually_Annotated_Images" / name, 100 + code)
    rows["validation.csv"].append(f'{name},20,10,20,20,"",{code},-0.5,0.25')
  _image(root / "Manually_Annotated_Images" / "8/noface.jpg", 5)
  rows["training.csv"].append('8/noface.jpg,0,0,10,10,"",10,-2,-2')
  rows["training.csv"].append('8/gone.jpg,0,0,10,10,"",1,0.1,0.1')
  lists = root / "Manually_Annotated_file_lists"
  lists.mkdir(parents=True)
  for file_name, lines in rows.items():
    (lists / file_name).write_text("\n".join(lines) + "\n")
  return root


def _build(manual_dir, data_dir, config=_C8):
  builder = affectnet.AffectNet(config=config, data_dir=data_dir, num_workers=0)
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
  return builder


def _records(builder, split):
  source = builder.as_data_source(split=split)
  return [source[i] for i in range(len(source))]


def _text(value):
  return value.decode() if isinstance(value, bytes) else str(value)


def test_official_layout_keeps_labels_valence_and_arousal(tmp_path):
  builder = _build(_official_tree(tmp_path / "affectnet"), tmp_path / "tfds")
  test = {_text(r["source_name"]): r for r in _records(builder, "test")}
  assert sorted(test) == sorted(f"Manually_Annotated_Images/9{c}/val_{c}.png" for c in range(8))
  record = test["Manually_Annotated_Images/93/val_3.png"]
  assert int(record["label"]) == 3 and builder.info.features["label"].names[3] == "surprise"
  assert float(record["valence"]) == pytest.approx(-0.5)
  assert float(record["arousal"]) == pytest.approx(0.25)
  assert record["image"].shape == (32, 32, 3)
  # The face box (a bright square, 152, in a 103 photo) is what was cropped: with the 10%
  # margin it fills 69% of the crop (mean 137); the whole photo would average 109.
  assert 130 < record["image"].mean() < 145
  train = _records(builder, "train")
  validation = _records(builder, "validation")
  assert len(train) == 8 * (_TRAIN_PER_CLASS - 1) and len(validation) == 8
  assert sorted(int(r["label"]) for r in validation) == list(range(8))
  names = [_text(r["source_name"]) for r in train + validation]
  assert len(set(names)) == len(names)  # Validation is carved out of train, not copied.
  five = next(r for r in train + validation
              if _text(r["source_name"]) == "Manually_Annotated_Images/5/train_5_2.jpg")
  assert (int(five["label"]), float(five["valence"]), float(five["arousal"])) == pytest.approx(
      (5, 0.5, -0.2))
  passed_over = {p["file"]: p["reason"] for p in builder.info.metadata["files_passed_over"]}
  assert passed_over["8/noface.jpg"] == "expression 10 (no-face)"
  assert passed_over["8/gone.jpg"].startswith("missing: no file")


def test_seven_classes_leave_contempt_out_and_count_it(tmp_path):
  builder = _build(_official_tree(tmp_path / "affectnet"), tmp_path / "tfds", _C7)
  assert builder.info.features["label"].names == list(affectnet_data.CLASSES[:7])
  assert all(int(r["label"]) < 7 for r in _records(builder, "test"))
  reasons = [p["reason"] for p in builder.info.metadata["files_passed_over"]]
  assert reasons.count("contempt is not one of the 7 classes") == _TRAIN_PER_CLASS + 1


def test_balanced_train_has_as_many_of_each_class(tmp_path):
  root = _official_tree(tmp_path / "affectnet")
  for j in range(3, 7):  # Three more happy images: happy is the big class, as in AffectNet.
    name = f"1/train_1_{j}.jpg"
    _image(root / "Manually_Annotated_Images" / name, 10 + j)
    with open(root / "Manually_Annotated_file_lists" / "training.csv", "a") as f:
      f.write(f'{name},20,10,20,20,"",1,0.9,0.9\n')
  unbalanced = np.bincount([int(r["label"]) for r in _records(_build(root, tmp_path / "a"),
                                                               "train")], minlength=8)
  balanced = np.bincount([int(r["label"]) for r in _records(
      _build(root, tmp_path / "b", _C8_BALANCED), "train")], minlength=8)
  assert unbalanced[1] > unbalanced[0]
  assert balanced.tolist() == [balanced[0]] * 8


def test_npy_layout(tmp_path):
  root = tmp_path / "affectnet"
  expected = {}
  for folder, count in (("train_set", 2), ("val_set", 1)):
    for code in range(8):
      for j in range(count):
        stem = f"{folder[0]}{code}{j}"
        _image(root / folder / "images" / f"{stem}.jpg", 20 * code, size=(40, 40))
        annotations = root / folder / "annotations"
        annotations.mkdir(parents=True, exist_ok=True)
        np.save(annotations / f"{stem}_exp.npy", np.array(str(code)))
        np.save(annotations / f"{stem}_val.npy", np.array(str(code / 10)))
        np.save(annotations / f"{stem}_aro.npy", np.array("-0.3"))
        expected[f"{folder}/images/{stem}.jpg"] = (code, code / 10)
  builder = _build(root, tmp_path / "tfds")
  records = [r for split in ("train", "validation", "test") for r in _records(builder, split)]
  got = {_text(r["source_name"]): (int(r["label"]), round(float(r["valence"]), 4))
         for r in records}
  assert got == expected
  assert {_text(r["source_name"]) for r in _records(builder, "test")} == {
      n for n in expected if n.startswith("val_set")}


def test_class_folder_layout_and_the_shared_label_space(tmp_path):
  root = tmp_path / "affectnet"
  for code, name in enumerate(affectnet_data.CLASSES):
    for j in range(2):
      _image(root / "train" / name / f"{j}.png", 30 * j + code, size=(40, 40))
    _image(root / "val" / str(code) / "0.png", code, size=(40, 40))
  builder = _build(root, tmp_path / "tfds")
  test = {_text(r["source_name"]): int(r["label"]) for r in _records(builder, "test")}
  assert test == {f"val/{code}/0.png": code for code in range(8)}
  assert all(float(r["valence"]) == affectnet_data.NO_VALUE for r in _records(builder, "test"))
  assert labels.to_common(affectnet_data.CLASSES) == affectnet_data.TO_COMMON


def test_a_csv_whose_paths_do_not_exist_fails_naming_it(tmp_path, capsys):
  root = _official_tree(tmp_path / "affectnet")
  csv_path = root / "Manually_Annotated_file_lists" / "validation.csv"
  lines = csv_path.read_text().splitlines()
  csv_path.write_text("\n".join([lines[0]] + [l.replace(",", "x,", 1) for l in lines[1:]]))
  assert build.main(["--config", "affectnet/c8_g48", "--data_dir", str(tmp_path / "tfds"),
                     "--manual_dir", str(root)]) == 1
  error = capsys.readouterr().err
  assert "validation.csv: none of its 8 image paths exists under" in error


def test_wrong_layout_says_which_were_expected(tmp_path, capsys):
  (tmp_path / "src" / "images").mkdir(parents=True)
  assert build.main(["--config", "affectnet/c8_g48", "--data_dir", str(tmp_path / "tfds"),
                     "--manual_dir", str(tmp_path / "src")]) == 1
  error = capsys.readouterr().err
  assert "not in an AffectNet layout" in error and "Manually_Annotated_Images/" in error
  assert "found ['images/']" in error


def test_affectnet_is_listed(tmp_path):
  assert "affectnet/c7_rgb112" in tfds_cremad.dataset_names()
  with pytest.raises(tfds_cremad.DatasetNotBuiltError, match="--manual_dir /path/to/AffectNet"):
    tfds_cremad.load_builder("affectnet/c7_g48", tmp_path)
