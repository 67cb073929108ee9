"""The `cremad` TFDS builder, its CLI, record index and errors, on tiny synthetic trees."""
import contextlib
import io
import json
import pathlib
import shutil
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from emo_jax.data import cremad as cremad_data
from emo_jax.data import synthetic
from emo_jax.data import verify
import tfds_cremad
from tfds_cremad import build
from tfds_cremad import cremad
from tfds_cremad import record_index

TINY = "cremad/synthetic_tiny"
# A small real-config (manual dir) shape for tests, decoded in this process.
_MANUAL_CONFIG = cremad.CremadConfig(name="test_manual_g4_32", num_frames=4, size=32)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
  """synthetic_tiny built once, through the CLI, with 2 decoding processes."""
  data_dir = tmp_path_factory.mktemp("tfds")
  stdout = io.StringIO()
  with contextlib.redirect_stdout(stdout):
    assert build.main(["--config", "synthetic_tiny", "--data_dir", str(data_dir),
                       "--num_workers", "2"]) == 0
  builder = tfds_cremad.load_builder(TINY, data_dir)
  (tree,) = (data_dir / "downloads").glob("synthetic_cremad-*")
  clip_names = sorted(p.stem for p in (tree / "VideoFlash").glob("*.flv"))
  config = builder.builder_config
  assert len(clip_names) == config.num_actors * config.clips_per_actor
  return {"data_dir": data_dir, "stdout": stdout.getvalue(), "builder": builder,
          "tree": tree, "clip_names": clip_names}


def _records(data_dir, split="all"):
  data = tfds.data_source(TINY, split=split, data_dir=data_dir)
  return [data[i] for i in range(len(data))]


def _text(value) -> str:
  return value.decode() if isinstance(value, bytes) else str(value)


def _build_from(manual_dir, data_dir, **builder_kwargs) -> cremad.Cremad:
  builder = cremad.Cremad(config=_MANUAL_CONFIG, data_dir=data_dir,
                          num_workers=builder_kwargs.pop("num_workers", 0), **builder_kwargs)
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
  return builder


def _copy_tree(tree: pathlib.Path, destination: pathlib.Path) -> pathlib.Path:
  return pathlib.Path(shutil.copytree(tree, destination))


def test_configs_have_the_promised_shapes(tmp_path):
  shapes = {c.name: (c.num_frames, c.size, c.size, c.channels, c.synthetic)
            for c in cremad.Cremad.BUILDER_CONFIGS}
  for prefix, synthetic in (("", False), ("synthetic_", True)):
    assert shapes[prefix + "g16_112"] == (16, 112, 112, 1, synthetic)
    assert shapes[prefix + "rgb16_112"] == (16, 112, 112, 3, synthetic)
    assert shapes[prefix + "g8_64"] == (8, 64, 64, 1, synthetic)
  builder = tfds_cremad.make_builder("rgb16_112", tmp_path)
  assert builder.info.features["frames"].shape == (16, 112, 112, 3)
  assert "cremad/synthetic_tiny" in tfds_cremad.dataset_names()


def test_cli_says_where_it_wrote_and_how_many(tiny):
  out = tiny["stdout"]
  assert (f"Wrote cremad/synthetic_tiny/1.0.0 to {tiny['builder'].data_path}: "
          f"{len(tiny['clip_names'])} examples") in out
  assert "Skipped 0 clip(s)" in out
  assert "tensorflow" not in sys.modules  # TFDS ran without TensorFlow.


def test_records_hold_decoded_clips_and_metadata(tiny):
  records = _records(tiny["data_dir"])
  assert sorted(_text(r["clip_name"]) for r in records) == tiny["clip_names"]
  metadata = cremad_data.load_metadata(tiny["tree"])
  for record in records:
    clip = cremad_data.parse_clip_name(_text(record["clip_name"]))
    assert record["frames"].shape == (4, 32, 32, 1) and record["frames"].dtype == np.uint8
    assert record["frames"].std() > 0  # Pixels, not a blank placeholder.
    assert record["audio"].dtype == np.float32 and record["audio"].ndim == 1
    assert 0.5 < len(record["audio"]) / cremad.SAMPLE_RATE < 5
    assert record["label"] == clip.label and record["actor"] == clip.actor
    assert (_text(record["sentence"]), _text(record["level"])) == (clip.sentence, clip.level)
    demographics = metadata.demographics[clip.actor]
    assert record["age"] == demographics.age and _text(record["sex"]) == demographics.sex
    assert _text(record["race"]) == demographics.race
    assert _text(record["ethnicity"]) == demographics.ethnicity
    np.testing.assert_allclose(record["vote_distribution"],
                               metadata.votes_by_modality["face"][clip.name].distribution, atol=1e-6)
    assert record["face_vote"] == metadata.face_votes[clip.name]
    assert 0.0 <= record["face_found_ratio"] <= 1.0
  assert tiny["builder"].info.features["label"].names == list(cremad_data.EMOTIONS)
  assert tiny["builder"].info.metadata["num_skipped"] == 0


def test_index_sidecar_matches_the_data_source_order(tiny):
  records = _records(tiny["data_dir"])
  assert [_text(r["clip_name"]) for r in records] == [
      _text(r["clip_name"]) for r in _records(tiny["data_dir"], split=cremad.SPLIT)]
  for index in (tfds_cremad.load_index(tiny["builder"]),
                tfds_cremad.load_index(tiny["builder"].data_path)):
    assert index["actor"].dtype == np.int64 and index["label"].dtype == np.int64
    assert index["clip_name"].tolist() == [_text(r["clip_name"]) for r in records]
    assert index["actor"].tolist() == [int(r["actor"]) for r in records]
    assert index["label"].tolist() == [int(r["label"]) for r in records]


def test_index_is_remade_when_missing_and_refused_when_stale(tiny, tmp_path):
  dataset_dir = _copy_tree(pathlib.Path(tiny["builder"].data_path), tmp_path / "copy")
  expected = tfds_cremad.load_index(tiny["builder"])
  (dataset_dir / record_index.INDEX_FILE).unlink()
  assert tfds_cremad.load_index(dataset_dir)["clip_name"].tolist() == (
      expected["clip_name"].tolist())
  assert (dataset_dir / record_index.INDEX_FILE).exists()
  stale = json.loads((dataset_dir / record_index.INDEX_FILE).read_text())
  stale.update(num_records=5, actor=stale["actor"][:5])
  (dataset_dir / record_index.INDEX_FILE).write_text(json.dumps(stale))
  with pytest.raises(ValueError, match="stale"):
    tfds_cremad.load_index(dataset_dir)
  with pytest.raises(FileNotFoundError, match="not a built dataset directory"):
    tfds_cremad.load_index(tmp_path)


def test_a_corrupt_clip_is_skipped_counted_and_listed(tiny, tmp_path):
  clone = _copy_tree(tiny["tree"], tmp_path / "clone")
  num_good = len(tiny["clip_names"])
  broken_name = next(clip.name for clip in synthetic.all_clips(1001)
                     if clip.name not in tiny["clip_names"])
  content = (clone / "VideoFlash" / f"{tiny['clip_names'][0]}.flv").read_bytes()
  (clone / "VideoFlash" / f"{broken_name}.flv").write_bytes(content[:len(content) // 3])
  builder = _build_from(clone, tmp_path / "tfds", num_workers=2)
  assert builder.info.splits[cremad.SPLIT].num_examples == num_good
  on_disk = json.loads((builder.data_path / "metadata.json").read_text())
  assert on_disk["num_skipped"] == 1 and on_disk["num_examples"] == num_good
  (skipped,) = on_disk["skipped_clips"]
  assert skipped["clip_name"] == broken_name
  assert f"{broken_name}.flv" in skipped["error"]
  assert broken_name not in tfds_cremad.load_index(builder)["clip_name"].tolist()


def test_a_zero_byte_clip_stops_the_verified_build_unless_verify_is_off(tiny, tmp_path,
                                                                        capsys):
  clone = _copy_tree(tiny["tree"], tmp_path / "clone")
  (clone / "VideoFlash" / "1002_WSI_ANG_XX.flv").write_bytes(b"")  # New or emptied.
  with pytest.raises(verify.CloneVerificationError, match="1002_WSI_ANG_XX.flv"):
    _build_from(clone, tmp_path / "verified")
  assert build.main(["--config", "g8_64", "--data_dir", str(tmp_path / "cli"),
                     "--manual_dir", str(clone)]) == 1
  err = capsys.readouterr().err
  assert "VideoFlash/1002_WSI_ANG_XX.flv: 0 bytes" in err and "--verify off" in err
  assert "Traceback" not in err
  builder = _build_from(clone, tmp_path / "unverified", verify="off")
  assert [s["clip_name"] for s in builder.info.metadata["skipped_clips"]] == [
      "1002_WSI_ANG_XX"]
  assert "empty" in builder.info.metadata["skipped_clips"][0]["error"]


def test_real_clips_and_metadata(cremad_shared_dir, tmp_path):
  builder = _build_from(cremad_shared_dir, tmp_path)
  records = {_text(r["clip_name"]): r for r in
             (builder.as_data_source("all")[i] for i in range(6))}
  assert sorted(records) == [f"1001_DFA_{e}_XX" for e in cremad_data.EMOTIONS]
  record = records["1001_DFA_ANG_XX"]
  assert (record["age"], _text(record["sex"]), _text(record["race"])) == (
      51, "Male", "Caucasian")
  assert record["label"] == 0 and record["face_found_ratio"] > 0.5
  assert abs(record["vote_distribution"].sum() - 1) < 1e-5


def test_wrong_config_name_is_one_line_listing_the_names(tmp_path, capsys):
  assert build.main(["--config", "g16", "--data_dir", str(tmp_path)]) == 2
  err = capsys.readouterr().err.strip()
  assert "\n" not in err and "Traceback" not in err
  assert "unknown dataset config 'g16'" in err and "cremad/synthetic_g16_112" in err
  with pytest.raises(ValueError, match="choose one of: cremad/g16_112"):
    tfds_cremad.load_builder("cremad/g32_224", tmp_path)


def test_missing_manual_dir_says_how_to_get_cremad(tmp_path, capsys):
  assert build.main(["--config", "g8_64", "--data_dir", str(tmp_path)]) == 1
  err = [line for line in capsys.readouterr().err.splitlines()
         if not line.startswith("WARNING")]
  assert len(err) == 1 and "Traceback" not in err[0]
  assert cremad_data.CLONE_COMMAND in err[0] and "--manual_dir" in err[0]


def test_unbuilt_dataset_error_names_the_build_command(tmp_path):
  with pytest.raises(tfds_cremad.DatasetNotBuiltError,
                     match=(r"run python -m tfds_cremad.build --config cremad/g16_112 "
                            rf"--data_dir {tmp_path} --manual_dir")):
    tfds_cremad.load_builder("g16_112", tmp_path)
  with pytest.raises(tfds_cremad.DatasetNotBuiltError,
                     match=r"--config cremad/synthetic_g8_64 --data_dir \S+$"):
    tfds_cremad.load_builder("cremad/synthetic_g8_64", tmp_path)


def test_a_second_build_reuses_the_dataset(tiny, capsys):
  assert build.main(["--config", TINY, "--data_dir", str(tiny["data_dir"])]) == 0
  assert "already built" in capsys.readouterr().out


def test_a_synthetic_tree_of_an_older_generator_is_generated_again(tmp_path):
  config = cremad.CremadConfig(name="test_tree", num_frames=2, size=16, synthetic=True,
                               num_actors=1, clips_per_actor=6, source_frame_size=(160, 120))
  root = cremad.synthetic_tree(config, tmp_path, num_workers=0)
  flv = next((root / "VideoFlash").glob("*.flv"))
  assert cremad.synthetic_tree(config, tmp_path, num_workers=0) == root
  assert flv.exists()  # Reused as it is: same generator.
  marker = root / synthetic.MARKER_FILE
  marker.write_text(json.dumps(dict(json.loads(marker.read_text()), version=0)))
  flv.unlink()
  assert cremad.synthetic_tree(config, tmp_path, num_workers=0) == root
  assert flv.exists()  # Written again by the current generator.
  assert json.loads(marker.read_text())["version"] == synthetic.GENERATOR_VERSION


def test_packing_fingerprint_follows_what_is_packed(monkeypatch):
  from emo_jax.data import faces
  from emo_jax.data import synthetic
  from tfds_cremad import cremad as cremad_builder
  config = next(c for c in cremad_builder.Cremad.BUILDER_CONFIGS if c.name == "synthetic_tiny")
  other = next(c for c in cremad_builder.Cremad.BUILDER_CONFIGS if c.name == "synthetic_g8_64")
  before = cremad_builder.packing_fingerprint(config)
  assert before == cremad_builder.packing_fingerprint(config)
  assert before != cremad_builder.packing_fingerprint(other)
  for module, name, value in ((synthetic, "GENERATOR_VERSION", synthetic.GENERATOR_VERSION + 1),
                              (faces, "FALLBACK_SIDE_SHARE", 0.5),
                              (cremad_builder, "PACKING_CODE_VERSION", 99)):
    with monkeypatch.context() as patch:
      patch.setattr(module, name, value)
      assert cremad_builder.packing_fingerprint(config) != before, name


def test_a_stale_packed_set_is_refused_or_rebuilt(tmp_path, monkeypatch):
  import ml_collections
  from emo_jax import input_pipeline
  from tfds_cremad import cremad as cremad_builder
  data_config = ml_collections.ConfigDict({"dataset": "cremad/synthetic_tiny",
                                           "data_dir": str(tmp_path)})
  input_pipeline.build_if_missing(data_config)
  builder = tfds_cremad.load_builder("cremad/synthetic_tiny", tmp_path)
  fingerprint = tfds_cremad.loading.packed_fingerprint(builder)
  assert fingerprint and not tfds_cremad.is_stale(builder)
  from emo_jax.input_pipeline import sources
  packed = sources.load_packed_dataset("cremad/synthetic_tiny", tmp_path, "holdout")
  assert packed.version == f"1.0.0+{fingerprint}"

  monkeypatch.setattr(cremad_builder, "PACKING_CODE_VERSION", cremad_builder.PACKING_CODE_VERSION + 1)
  builder = tfds_cremad.make_builder("cremad/synthetic_tiny", tmp_path)
  assert tfds_cremad.is_stale(builder) and not tfds_cremad.is_built(builder)
  with pytest.raises(tfds_cremad.DatasetStaleError, match="--overwrite"):
    tfds_cremad.load_builder("cremad/synthetic_tiny", tmp_path)
  input_pipeline.build_if_missing(data_config)  # A synthetic set is simply packed again.
  builder = tfds_cremad.load_builder("cremad/synthetic_tiny", tmp_path)
  assert tfds_cremad.loading.packed_fingerprint(builder) not in (None, fingerprint)
