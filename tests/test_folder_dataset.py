"""The `folder` builder: class folders or a CSV of clips or images, shared labels, bad input."""
import pathlib
import shutil

import numpy as np
from PIL import Image
import pytest
import tensorflow_datasets as tfds

from emo_jax.data import cremad
from emo_jax.data import folder as folder_data
from emo_jax.data import synthetic
import tfds_cremad
from tfds_cremad import build
from tfds_cremad import folder

_VIDEO = folder.FolderConfig(name="test_g4_32", media="video", num_frames=4, size=32)
_IMAGE = folder.FolderConfig(name="test_image_g32", media="image", size=32)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
  """Six short synthetic 160x120 clips (two actors x ANG, HAP, SAD) to sort into folders."""
  root = tmp_path_factory.mktemp("clips")
  out = {}
  for actor in (1001, 1002):
    for emotion in ("ANG", "HAP", "SAD"):
      clip = cremad.ClipName(actor, "DFA", emotion, "XX")
      plan = synthetic.make_clip_plan(0, clip)
      path = root / f"{clip.name}.flv"
      synthetic.write_flv(path, synthetic.render_frames(0, plan, (160, 120), yuv=True),
                          synthetic.synthesize_speech(0, plan, 16000), (160, 120))
      out[clip.name] = path
      image = next(synthetic.render_frames(0, plan, (160, 120)))
      Image.fromarray(image).save(root / f"{clip.name}.png")
  return root, out


def _build(manual_dir, data_dir, config=_VIDEO):
  builder = folder.Folder(config=config, data_dir=data_dir, num_workers=0)
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
  return builder


def _records(builder):
  source = builder.as_data_source(split="all")
  return [source[i] for i in range(len(source))]


def _text(value):
  return value.decode() if isinstance(value, bytes) else str(value)


def _class_folders(clips, tmp_path, suffix=".flv", names=None):
  root_in, paths = clips
  names = names or {"ANG": "angry", "HAP": "Happy", "SAD": "sadness"}
  manual = tmp_path / "classes"
  for name in paths:
    target = manual / names[name.split("_")[2]] / (name + suffix)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(root_in / (name + suffix), target)
  return manual


def test_class_folders_of_clips_are_labelled_in_the_shared_space(clips, tmp_path):
  builder = _build(_class_folders(clips, tmp_path), tmp_path / "tfds")
  records = _records(builder)
  got = sorted((_text(r["clip_name"]), _text(r["class_name"]), int(r["label"]))
               for r in records)
  # anger = 0, happy = 3, sad = 5 in COMMON_CLASSES.
  expected = sorted((f"{folder_name}/{actor}_DFA_{code}_XX.flv", folder_name, label)
                    for actor in (1001, 1002)
                    for code, folder_name, label in (("ANG", "angry", 0), ("HAP", "Happy", 3),
                                                     ("SAD", "sadness", 5)))
  assert got == expected
  assert records[0]["frames"].shape == (4, 32, 32, 1)
  assert sorted(int(r["actor"]) for r in records) == [1, 2, 3, 4, 5, 6]  # One per file.
  assert builder.info.metadata["subject_disjoint"] is False
  assert tfds_cremad.load_index(builder)["clip_name"].tolist() == [
      _text(r["clip_name"]) for r in records]


def test_csv_with_subjects_gives_subject_disjoint_splits(clips, tmp_path):
  from emo_jax.input_pipeline import sources  # pylint: disable=g-import-not-at-top
  root_in, paths = clips
  manual = tmp_path / "csv"
  (manual / "media").mkdir(parents=True)
  lines = ["path,label,subject"]
  for name in paths:
    shutil.copy(root_in / f"{name}.flv", manual / "media" / f"{name}.flv")
    actor, _, code, _ = name.split("_")
    lines.append(f"media/{name}.flv,{code},person{actor}")
  lines.append("media/gone.flv,HAP,person1001")  # Missing: skipped and listed.
  (manual / "labels.csv").write_text("\n".join(lines) + "\n")
  builder = _build(manual, tmp_path / "tfds")
  records = _records(builder)
  assert len(records) == 6
  by_name = {_text(r["clip_name"]): (int(r["actor"]), _text(r["subject"])) for r in records}
  assert by_name["media/1001_DFA_HAP_XX.flv"] == (1, "person1001")
  assert by_name["media/1002_DFA_SAD_XX.flv"] == (2, "person1002")
  assert builder.info.metadata["files_passed_over"] == [
      {"file": "media/gone.flv", "reason": f"missing: no file {manual / 'media/gone.flv'}"}]
  assert builder.info.metadata["subject_disjoint"] is True
  index = tfds_cremad.load_index(builder)
  # Three subjects so that every part has one.
  actors = np.concatenate([index["actor"], [3]])
  parts = sources.split_records(actors, "holdout")
  subjects = {part: set(actors[ids].tolist()) for part, ids in parts.items()}
  assert all(len(s) == 1 for s in subjects.values())
  assert not (subjects["train"] & subjects["test"]) and not (subjects["val"] & subjects["test"])


def test_a_folder_of_images_builds_with_an_image_config(clips, tmp_path):
  manual = _class_folders(clips, tmp_path, suffix=".png",
                          names={"ANG": "ANG", "HAP": "joy", "SAD": "sad"})
  records = _records(_build(manual, tmp_path / "tfds", _IMAGE))
  assert sorted(int(r["label"]) for r in records) == [0, 0, 3, 3, 5, 5]
  assert records[0]["image"].shape == (32, 32, 1)
  assert np.mean([float(r["face_found_ratio"]) for r in records]) > 0.5


def test_an_unreadable_file_is_skipped_and_listed(clips, tmp_path):
  manual = _class_folders(clips, tmp_path)
  (manual / "angry" / "broken.flv").write_bytes(b"not a video")
  (manual / "angry" / "notes.txt").write_text("x")
  builder = _build(manual, tmp_path / "tfds")
  assert [s["clip_name"] for s in builder.info.metadata["skipped_clips"]] == ["angry/broken.flv"]
  assert builder.info.metadata["files_passed_over"][0]["file"] == "angry/notes.txt"
  assert len(_records(builder)) == 6


def test_bad_folders_fail_with_what_was_expected(clips, tmp_path):
  manual = _class_folders(clips, tmp_path)
  with pytest.raises(folder_data.LayoutError, match=r"folder/test_image_g32 reads images"):
    _build(manual, tmp_path / "a", _IMAGE)
  (manual / "bored").mkdir()
  (manual / "bored" / "x.mp4").write_bytes(b"x")
  with pytest.raises(folder_data.LayoutError, match=r"unknown class\(es\) \['bored'\]"):
    folder_data.list_folder(manual)
  shutil.rmtree(manual / "bored")
  shutil.copy(clips[0] / "1001_DFA_ANG_XX.png", manual / "angry" / "still.png")
  with pytest.raises(folder_data.LayoutError, match=r"mixes 6 video\(s\).*and 1 image"):
    folder_data.list_folder(manual)
  empty = tmp_path / "flat"
  empty.mkdir()
  (empty / "a.mp4").write_bytes(b"x")
  with pytest.raises(folder_data.LayoutError, match=r"no class folders and no CSV.*a.mp4"):
    folder_data.list_folder(empty)


def test_a_csv_whose_paths_do_not_exist_says_where_it_looked(tmp_path, capsys):
  (tmp_path / "labels.csv").write_text("path,label\nnowhere/a.jpg,happy\nnowhere/b.jpg,sad\n")
  assert build.main(["--config", "folder/image_g48", "--data_dir", str(tmp_path / "tfds"),
                     "--manual_dir", str(tmp_path)]) == 1
  error = capsys.readouterr().err
  assert "none of its 2 paths is an existing video or image" in error
  assert str(tmp_path) in error


def test_the_bare_name_folder_is_the_clip_config():
  assert tfds_cremad.loading.full_name("folder") == "folder/g16_112"
