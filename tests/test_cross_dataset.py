"""The shared label space, and a CREMA-D model scored on synthetic RAVDESS through it."""
import json

import numpy as np
import pytest

from emo_jax import evaluate
from emo_jax.data import affectnet
from emo_jax.data import cremad
from emo_jax.data import fer2013
from emo_jax.data import labels
from emo_jax.data import ravdess
from emo_jax.input_pipeline import relabel
from emo_jax.input_pipeline import sources
import tfds_cremad


def test_every_dataset_declares_its_map_into_the_common_classes():
  assert labels.to_common(cremad.EMOTIONS) == cremad.TO_COMMON == {
      "ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral",
      "SAD": "sad"}
  assert labels.to_common(ravdess.EMOTIONS) == ravdess.TO_COMMON
  assert ravdess.TO_COMMON["fearful"] == "fear" and ravdess.TO_COMMON["calm"] == "calm"
  assert labels.to_common(fer2013.FER_CLASSES) == fer2013.TO_COMMON
  assert labels.to_common(affectnet.CLASSES) == affectnet.TO_COMMON
  assert affectnet.TO_COMMON["contempt"] is None
  assert labels.COMMON_CLASSES[:6] == cremad.EMOTION_NAMES


def test_ravdess_onto_a_cremad_model_by_hand():
  mapping = labels.cross_dataset_map(cremad.EMOTIONS, ravdess.EMOTIONS)
  # neutral calm happy sad angry fearful disgust surprised -> NEU - HAP SAD ANG FEA DIS -.
  assert mapping.label_map == (4, -1, 3, 5, 0, 2, 1, -1)
  assert [t for t, _ in mapping.dropped] == ["calm", "surprised"]
  assert mapping.unseen == ()
  fer_on_affectnet = labels.cross_dataset_map(fer2013.FER_CLASSES, affectnet.CLASSES)
  assert fer_on_affectnet.label_map == (6, 3, 4, 5, 2, 1, 0, -1)
  assert fer_on_affectnet.dropped == (("contempt", "not in the shared label space"),)
  with pytest.raises(ValueError, match="no class of the dataset"):
    labels.cross_dataset_map(("calm",), cremad.EMOTIONS)


def test_retarget_keeps_shared_classes_and_counts_the_rest():
  records = [{"frames": np.zeros((1, 2, 2, 1), np.uint8), "label": np.int64(label),
              "vote_distribution": np.ones(8, np.float32)} for label in range(8)]
  packed = sources.PackedDataset("ravdess/x", "1.0.0", ravdess.EMOTIONS,
                                 {"train": records, "test": records},
                                 {"train": np.arange(8), "test": np.array([1, 2, 7])},
                                 np.ones(8, np.int64))
  out = relabel.retarget(packed, cremad.EMOTIONS)
  assert out.packed.class_names == cremad.EMOTIONS
  assert out.packed.indices["test"].tolist() == [2]
  assert out.dropped_counts["test"] == {"calm": 1, "surprised": 1}
  record = out.packed.sources["test"][2]
  assert int(record["label"]) == 3 and "vote_distribution" not in record  # happy -> HAP
  assert out.packed.train_label_counts.tolist() == [1, 1, 1, 1, 1, 1]


@pytest.fixture(scope="module")
def ravdess_data_dir(tmp_path_factory):
  """A data dir with `ravdess/synthetic_tiny` (6 actors x 8 takes, 4 frames 32x32 grey)."""
  data_dir = tmp_path_factory.mktemp("tfds_ravdess")
  tfds_cremad.make_builder("ravdess/synthetic_tiny", data_dir,
                           num_workers=0).download_and_prepare()
  return data_dir


def test_every_ravdess6_fold_of_a_built_ravdess_is_actor_disjoint(ravdess_data_dir):
  builder = tfds_cremad.load_builder("ravdess/synthetic_tiny", ravdess_data_dir)
  index = tfds_cremad.load_index(builder)
  assert sorted(set(index["actor"].tolist())) == [1, 2, 3, 4, 5, 6]
  tested = []
  for fold in range(1, 7):
    parts = sources.split_records(index["actor"], f"ravdess6:fold={fold}")
    actors = {part: set(index["actor"][ids].tolist()) for part, ids in parts.items()}
    assert not (actors["train"] & actors["val"] or actors["train"] & actors["test"]
                or actors["val"] & actors["test"])
    assert sum(len(ids) for ids in parts.values()) == len(index["actor"]) == 48
    tested += sorted(actors["test"])
  assert tested == [1, 2, 3, 4, 5, 6]  # Six actors: one test actor per fold.


def test_the_ravdess_variant_of_a_config_trains_on_ravdess(ravdess_data_dir, tmp_path):
  from configs import ae_lstm  # pylint: disable=g-import-not-at-top
  from emo_jax import trainer  # pylint: disable=g-import-not-at-top
  config = ae_lstm.get_config("ravdess,runlocal")
  assert (config.data.dataset, config.data.split) == ("ravdess/synthetic_tiny", "ravdess6:fold=1")
  config.data.data_dir = str(ravdess_data_dir)
  final = trainer.train_and_evaluate(config, str(tmp_path))
  assert np.isfinite(final["test_accuracy"])
  assert ae_lstm.get_config("ravdess").data.dataset == "ravdess/g16_112"


def test_a_cremad_model_scored_on_synthetic_ravdess(tiny_trained_workdir, ravdess_data_dir,
                                                    capsys):
  data_dir = ravdess_data_dir
  assert evaluate.main(["--workdir", str(tiny_trained_workdir), "--dataset",
                        "ravdess/synthetic_tiny", "--data_dir", str(data_dir),
                        "--split", "test", "--checkpoint", "latest"]) == 0
  printed = capsys.readouterr().out
  assert "Dropped (the model has no such class): calm (1 records), surprised (1 records)" in printed
  out_dir = tiny_trained_workdir / "evaluation" / "test_latest_ravdess-synthetic_tiny"
  metrics = json.loads((out_dir / "metrics.json").read_text())
  # ravdess6:fold=1 over actors 1-6 tests actor 1: 8 takes, one per class, 6 shared.
  assert metrics["num_clips"] == 6
  assert metrics["class_names"] == list(cremad.EMOTIONS)
  assert metrics["cross_dataset"]["dropped_records"] == {"calm": 1, "surprised": 1}
  assert metrics["run"]["trained_on"] == "cremad/synthetic_tiny"
  predictions = np.load(out_dir / "predictions.npz")
  assert sorted(predictions["label"].tolist()) == [0, 1, 2, 3, 4, 5]
  report = (out_dir / "report.md").read_text()
  assert "Dropped (no counterpart in the model's classes): calm" in report
  print("cross-dataset accuracy", metrics["accuracy"], "UAR", metrics["balanced_accuracy"])
