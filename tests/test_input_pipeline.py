"""Tests for emo_jax/input_pipeline/ and emo_jax/sharding.py on in-memory records."""
import grain
import jax
import ml_collections
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec

from emo_jax import input_pipeline
from emo_jax.input_pipeline import iterators
from emo_jax.input_pipeline import records as records_lib
from emo_jax.input_pipeline import sources as sources_lib
from emo_jax import sharding
from emo_jax.data import splits

NUM_CLASSES = 6


def _records(num_records, num_actors=10, num_frames=2, size=4):
  """Frames filled with the record's id, so a batch row says which record it came from."""
  records = []
  for i in range(num_records):
    votes = np.zeros(NUM_CLASSES, np.float32)
    if i % 3:  # Every third clip has no votes: the pipeline falls back to one-hot.
      votes[i % NUM_CLASSES] = 0.75
      votes[(i + 1) % NUM_CLASSES] = 0.25
    records.append({
        "frames": np.full((num_frames, size, size, 1), i, np.uint8),
        "audio": np.zeros(3 + i, np.float32),
        "label": np.int64(i % NUM_CLASSES),
        "actor": np.int64(1001 + i % num_actors),
        "vote_distribution": votes,
        "clip_name": f"clip{i}",
    })
  return records


def _ids(batch):
  return np.asarray(batch["frames"])[:, 0, 0, 0, 0].astype(int)


def _mesh(num_devices):
  return sharding.create_mesh(num_devices)


def _train(records, mesh, batch_size=8, seed=0, augment=None, indices=None, **kwargs):
  indices = np.arange(len(records)) if indices is None else indices
  return iterators.train_iterator(
      records, indices, mesh=mesh, batch_size=batch_size, num_classes=NUM_CLASSES,
      seed=seed, augment_config=augment, **kwargs)


def _take(iterator, count):
  return [jax.device_get(next(iterator)) for _ in range(count)]


def _assert_same_batches(first, second):
  assert len(first) == len(second)
  for a, b in zip(first, second):
    assert a.keys() == b.keys()
    for key in a:
      np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# ----------------------------------------------------------------------------- sharding


def test_create_mesh():
  mesh = sharding.create_mesh()
  assert mesh.axis_names == ("data",) and mesh.size == jax.device_count() == 8
  assert mesh.axis_types == (jax.sharding.AxisType.Auto,)
  assert sharding.create_mesh(1).size == 1
  assert sharding.batch_sharding(mesh).spec == PartitionSpec("data")
  assert sharding.replicated(mesh).spec == PartitionSpec()
  with pytest.raises(ValueError, match="there are 8"):
    sharding.create_mesh(9)


def test_host_local_batch_to_global():
  mesh = _mesh(8)
  batch = {"x": np.arange(16, dtype=np.int32).reshape(8, 2), "m": np.ones(8, bool)}
  result = sharding.host_local_batch_to_global(batch, mesh)
  assert result["x"].sharding == sharding.batch_sharding(mesh)
  np.testing.assert_array_equal(result["x"], batch["x"])
  with pytest.raises(TypeError, match="strings"):
    sharding.host_local_batch_to_global({"name": np.array(["a"] * 8)}, mesh)


# ----------------------------------------------------------------------------- examples


def test_format_example():
  record = _records(3)[2]
  example = records_lib.format_example(record, NUM_CLASSES)
  assert set(example) == {"frames", "label", "vote_distribution", "mask"}
  assert example["label"].dtype == np.int32 and example["frames"].dtype == np.uint8
  np.testing.assert_allclose(example["vote_distribution"], record["vote_distribution"])
  no_votes = records_lib.format_example(_records(1)[0], NUM_CLASSES)
  np.testing.assert_array_equal(no_votes["vote_distribution"], np.eye(NUM_CLASSES)[0])
  fer = records_lib.format_example(
      {"image": np.zeros((48, 48, 1), np.uint8), "label": np.int64(6), "source_name": "x"}, 7)
  assert fer["frames"].shape == (1, 48, 48, 1)
  np.testing.assert_array_equal(fer["vote_distribution"], np.eye(7, dtype=np.float32)[6])


# ----------------------------------------------------------------------------- evaluation


@pytest.mark.parametrize("num_devices", [1, 8])
@pytest.mark.parametrize("num_records,batch_size", [(13, 8), (37, 16), (5, 16)])
def test_eval_covers_every_record_exactly_once(num_devices, num_records, batch_size):
  records = _records(50)
  indices = np.arange(3, 3 + num_records)  # Not starting at 0: index is the record index.
  mesh = _mesh(num_devices)
  batches = [jax.device_get(b) for b in iterators.eval_batches(
      records, indices, mesh=mesh, batch_size=batch_size, num_classes=NUM_CLASSES)]
  assert len(batches) == iterators.num_eval_batches(num_records, batch_size)
  assert len(batches) == -(-num_records // batch_size)
  seen = []
  for batch in batches:
    assert set(batch) == set(records_lib.EVAL_KEYS)
    assert batch["frames"].shape == (batch_size, 2, 4, 4, 1)
    assert batch["index"].dtype == np.int32 and batch["mask"].dtype == bool
    assert (batch["index"][~batch["mask"]] == -1).all()
    real = batch["index"][batch["mask"]]
    np.testing.assert_array_equal(_ids(batch)[batch["mask"]], real)
    np.testing.assert_array_equal(batch["label"][batch["mask"]], real % NUM_CLASSES)
    seen.extend(real.tolist())
  assert sorted(seen) == indices.tolist()


def test_eval_is_a_fresh_pass_each_time():
  records, mesh = _records(20), _mesh(8)
  passes = [[jax.device_get(b) for b in iterators.eval_batches(
      records, np.arange(20), mesh=mesh, batch_size=8, num_classes=NUM_CLASSES)]
            for _ in range(2)]
  _assert_same_batches(*passes)


# ----------------------------------------------------------------------------- training


@pytest.mark.parametrize("num_devices", [1, 8])
def test_train_batches_are_sharded_over_the_mesh(num_devices):
  mesh = _mesh(num_devices)
  batch = next(_train(_records(20), mesh, batch_size=8))
  assert set(batch) == set(records_lib.TRAIN_KEYS)
  expected = NamedSharding(mesh, PartitionSpec("data"))
  for key, array in batch.items():
    assert isinstance(array, jax.Array) and array.shape[0] == 8, key
    assert array.sharding.is_equivalent_to(expected, array.ndim), key
  assert batch["frames"].dtype == np.uint8 and batch["frames"].shape == (8, 2, 4, 4, 1)
  assert batch["label"].dtype == np.int32 and batch["vote_distribution"].shape == (8, 6)
  assert batch["mask"].dtype == bool and bool(batch["mask"].all())


def test_train_order_is_seeded():
  records, mesh = _records(37), _mesh(8)
  first = [_ids(b) for b in _take(_train(records, mesh, seed=1), 6)]
  again = [_ids(b) for b in _take(_train(records, mesh, seed=1), 6)]
  other = [_ids(b) for b in _take(_train(records, mesh, seed=2), 6)]
  np.testing.assert_array_equal(first, again)
  assert not np.array_equal(first, other)


def test_epochs_are_reshuffled_and_drop_the_remainder():
  records, mesh = _records(37), _mesh(8)
  batches = [_ids(b) for b in _take(_train(records, mesh, batch_size=8), 8)]
  epochs = np.concatenate(batches[:4]), np.concatenate(batches[4:])  # 37 // 8 = 4 steps.
  for epoch in epochs:
    assert len(set(epoch.tolist())) == 32  # No record twice within an epoch.
  assert not np.array_equal(epochs[0], epochs[1])


def test_finite_epochs_end():
  batches = list(_train(_records(20), _mesh(8), batch_size=8, num_epochs=2))
  assert len(batches) == 4


def test_augmentation_is_applied_and_seeded():
  records, mesh = _records(16, size=8), _mesh(8)
  for record in records:  # A left-right ramp, so a flip is visible.
    record["frames"] = np.broadcast_to(np.arange(8, dtype=np.uint8)[None, None, :, None],
                                       record["frames"].shape).copy()
  flip = {"flip_probability": 0.5}
  frames = np.concatenate([b["frames"] for b in _take(_train(records, mesh, augment=flip), 2)])
  flipped = frames[:, 0, 0, 0, 0] == 7
  assert flipped.any() and not flipped.all()
  again = np.concatenate([b["frames"] for b in _take(_train(records, mesh, augment=flip), 2)])
  np.testing.assert_array_equal(frames, again)


@pytest.mark.parametrize("skip", [3, 6])  # Within the first epoch, and into the second.
def test_restored_iterator_continues_identically(skip):
  records, mesh = _records(37), _mesh(8)
  augment = {"crop_probability": 1.0, "flip_probability": 0.5, "brightness": 0.2}
  uninterrupted = _train(records, mesh, augment=augment)
  _take(uninterrupted, skip)
  state = uninterrupted.get_state()
  expected = _take(uninterrupted, 3)
  resumed = _train(records, mesh, augment=augment)
  resumed.set_state(state)
  _assert_same_batches(_take(resumed, 3), expected)


def test_iterator_state_round_trips_through_the_grain_checkpoint_handler(tmp_path):
  records, mesh = _records(37), _mesh(8)
  iterator = _train(records, mesh)
  _take(iterator, 2)
  handler = grain.checkpoint.CheckpointHandler()
  handler.save(tmp_path, args=grain.checkpoint.CheckpointSave(iterator))
  expected = _take(iterator, 2)
  restored = handler.restore(tmp_path, args=grain.checkpoint.CheckpointRestore(_train(records, mesh)))
  _assert_same_batches(_take(restored, 2), expected)


def test_worker_processes_give_the_same_batches():
  """grain worker processes (spawned: seconds to start) change speed, not content."""
  records, mesh = _records(37), _mesh(8)
  augment = {"flip_probability": 0.5, "brightness": 0.2}
  expected = _take(_train(records, mesh, augment=augment), 6)  # Into the second epoch.
  with_workers = _train(records, mesh, augment=augment, worker_count=2)
  try:
    _assert_same_batches(_take(with_workers, 6), expected)
  finally:
    with_workers.close()


def test_train_batch_size_must_divide_over_devices():
  with pytest.raises(ValueError, match=r"batch_size=12 is not divisible by the 8 devices.*"
                                       r"multiple of 8 such as 8 or 16"):
    _train(_records(20), _mesh(8), batch_size=12)
  with pytest.raises(ValueError, match="fewer than one batch"):
    _train(_records(5), _mesh(8), batch_size=8)


def test_several_hosts_read_disjoint_equal_shards(monkeypatch):
  """Simulated 3-host run: shards are disjoint, train shards equal, eval batches equal."""
  indices = np.arange(100, 137)
  monkeypatch.setattr(jax, "process_count", lambda: 3)
  train_shards, eval_shards = [], []
  for host in range(3):
    monkeypatch.setattr(jax, "process_index", lambda host=host: host)
    train_shards.append(iterators.host_shard(indices, equal_sizes=True))
    eval_shards.append(iterators.host_shard(indices, equal_sizes=False))
  assert {len(shard) for shard in train_shards} == {12}
  assert sorted(np.concatenate(eval_shards).tolist()) == indices.tolist()
  assert len(set(np.concatenate(train_shards).tolist())) == 36
  # 13 records on the fullest host, 4 per host and batch: 4 batches on every host.
  assert iterators.num_eval_batches(len(indices), 12) == 4


# ----------------------------------------------------------------------------- splits


@pytest.mark.parametrize("spec", ["hicmae5:fold=2", "holdout"])
def test_split_records_keep_only_the_parts_actors(spec):
  records = _records(60)
  actors = np.array([r["actor"] for r in records])
  parts = sources_lib.split_records(actors, spec)
  expected = splits.split_actors(spec, actors=np.unique(actors).tolist())
  for part, indices in parts.items():
    assert len(indices)
    assert set(actors[indices].tolist()) == set(expected[part])
  assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(60))


def test_split_records_bad_fold():
  with pytest.raises(ValueError, match="fold must be 1..5"):
    sources_lib.split_records(np.arange(1001, 1011), "hicmae5:fold=6")


# ----------------------------------------------------------------------------- Datasets


def _data_config(**overrides):
  config = ml_collections.ConfigDict({
      "dataset": "cremad/in_memory", "data_dir": "", "split": "holdout", "batch_size": 8,
      "eval_batch_size": 8, "shuffle_seed": -1, "augment": {"flip_probability": 0.5},
      "worker_count": 0, "prefetch": 2})
  config.update(overrides)
  return config


def _packed(records, spec="holdout"):
  actors = np.array([r["actor"] for r in records])
  labels = np.array([r["label"] for r in records])
  indices = sources_lib.split_records(actors, spec)
  return sources_lib.PackedDataset(
      name="cremad/in_memory", version="0.0.0", class_names=tuple("ABCDEF"),
      sources={part: records for part in indices}, indices=indices,
      train_label_counts=np.bincount(labels[indices["train"]], minlength=NUM_CLASSES))


def test_datasets_info_train_and_eval():
  records = _records(70)
  packed = _packed(records)
  datasets = input_pipeline.Datasets(packed, _data_config(), _mesh(8), seed=0)
  info = datasets.info
  num_train = len(packed.indices["train"])
  assert info.num_classes == 6 and info.frames_shape == (2, 4, 4, 1)
  assert info.num_train_examples == num_train and info.steps_per_epoch == num_train // 8
  train_labels = [records[i]["label"] for i in packed.indices["train"]]
  np.testing.assert_array_equal(info.train_label_counts, np.bincount(train_labels, minlength=6))
  assert info.eval_steps["val"] == -(-len(packed.indices["val"]) // 8)
  assert datasets.eval_parts == ("val", "test")
  train_actors = set(splits.split_actors("holdout", range(1001, 1011))["train"])
  for batch in _take(datasets.train_iterator(), info.steps_per_epoch + 1):
    assert {records[i]["actor"] for i in _ids(batch)} <= train_actors
  seen = []
  for batch in datasets.eval_batches("test"):
    seen.extend(np.asarray(batch["index"])[np.asarray(batch["mask"])].tolist())
  assert sorted(seen) == packed.indices["test"].tolist()
  with pytest.raises(KeyError, match="no part 'dev'"):
    datasets.eval_batches("dev")


def test_datasets_seed_and_errors():
  packed = _packed(_records(70))
  mesh = _mesh(8)
  by_run_seed = input_pipeline.Datasets(packed, _data_config(), mesh, seed=5)
  by_config = input_pipeline.Datasets(packed, _data_config(shuffle_seed=5), mesh, seed=0)
  _assert_same_batches(_take(by_run_seed.train_iterator(), 2),
                       _take(by_config.train_iterator(), 2))
  with pytest.raises(ValueError, match="eval_batch_size=20 is not divisible"):
    input_pipeline.Datasets(packed, _data_config(eval_batch_size=20), mesh, seed=0)
  with pytest.raises(ValueError, match="unknown augmentation setting"):
    input_pipeline.Datasets(packed, _data_config(augment={"flip": 0.5}), mesh, seed=0)


# ----------------------------------------------------------------------------- packed TFDS data


def _build_tiny_fer2013(root, counts=(("Training", 20), ("PublicTest", 5), ("PrivateTest", 3))):
  """Builds fer2013 from a small random fer2013.csv with tfds_cremad's builder."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  import tfds_cremad  # pylint: disable=g-import-not-at-top
  manual_dir = root / "manual"
  manual_dir.mkdir()
  rng = np.random.default_rng(0)
  lines = ["emotion,pixels,Usage"]
  for usage, count in counts:
    for i in range(count):
      pixels = " ".join(map(str, rng.integers(0, 256, 48 * 48)))
      lines.append(f"{i % 7},{pixels},{usage}")
  (manual_dir / "fer2013.csv").write_text("\n".join(lines) + "\n")
  builder = tfds_cremad.make_builder("fer2013", root / "data")
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=str(manual_dir)))
  return str(root / "data")


@pytest.fixture(scope="module")
def fer2013_data_dir(tmp_path_factory):
  return _build_tiny_fer2013(tmp_path_factory.mktemp("fer2013"))


def test_fer2013_through_the_tfds_builder(fer2013_data_dir):
  config = _data_config(dataset="fer2013", data_dir=fer2013_data_dir, split="standard")
  datasets = input_pipeline.create_datasets(config, _mesh(8), seed=0)
  info = datasets.info
  assert info.num_classes == 7 and info.class_names[0] == "angry"
  assert info.frames_shape == (1, 48, 48, 1)
  assert info.num_examples == {"train": 20, "val": 5, "test": 3}
  assert info.steps_per_epoch == 2 and info.train_label_counts.sum() == 20
  batch = next(datasets.train_iterator())
  assert batch["frames"].shape == (8, 1, 48, 48, 1) and batch["frames"].dtype == np.uint8
  assert batch["vote_distribution"].shape == (8, 7)
  np.testing.assert_array_equal(np.asarray(batch["vote_distribution"]).argmax(-1),
                                np.asarray(batch["label"]))
  seen = []
  for batch in datasets.eval_batches("val"):
    seen.extend(np.asarray(batch["index"])[np.asarray(batch["mask"])].tolist())
  assert sorted(seen) == list(range(5))
  with pytest.raises(ValueError, match="fer2013 has fixed splits; use 'standard'"):
    sources_lib.load_packed_dataset("fer2013", fer2013_data_dir, "holdout")


def test_packed_dataset_errors(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"not built in .*run python -m tfds_cremad\.build "
                                              r"--config cremad/synthetic_g16_112 --data_dir"):
    sources_lib.load_packed_dataset("cremad/synthetic_g16_112", tmp_path, "holdout")
  with pytest.raises(ValueError, match=r"config.data.dataset='cremad/g99_7'.*choose one of"):
    sources_lib.load_packed_dataset("cremad/g99_7", tmp_path, "holdout")


@pytest.fixture(scope="module")
def cremad_builder(cremad_shared_dir, tmp_path_factory):
  """A `cremad` build by tfds_cremad's builder: 5 actors x 2 clips, 4 frames, 32x32 grey.

  The clips are the six real ones of actor 1001, linked under actor ids 1001..1005 (the
  synthetic generator is too slow for a unit test), so the split has actors to choose.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  import tfds_cremad  # pylint: disable=g-import-not-at-top
  root = tmp_path_factory.mktemp("cremad")
  manual_dir = root / "manual"
  (manual_dir / "VideoFlash").mkdir(parents=True)
  for name in ("VideoDemographics.csv", "SentenceFilenames.csv", "processedResults"):
    (manual_dir / name).symlink_to(cremad_shared_dir / name)
  emotions = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
  for actor in range(1001, 1006):
    for k in range(2):
      emotion = emotions[(actor + k) % 6]
      (manual_dir / "VideoFlash" / f"{actor}_DFA_{emotion}_XX.flv").symlink_to(
          cremad_shared_dir / "VideoFlash" / f"1001_DFA_{emotion}_XX.flv")
  config = tfds_cremad.CremadConfig(name="pipeline_test", num_frames=4, size=32)
  builder = tfds_cremad.Cremad(config=config, data_dir=str(root / "data"), num_workers=0,
                               verify="off")
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=str(manual_dir)))
  return builder


@pytest.mark.parametrize("spec", ["hicmae5:fold=1", "hicmae5:fold=5", "holdout"])
def test_cremad_through_the_tfds_builder(cremad_builder, spec):
  import tfds_cremad  # pylint: disable=g-import-not-at-top
  packed = sources_lib.packed_from_builder(cremad_builder, spec)
  index = tfds_cremad.load_index(cremad_builder)
  expected = splits.split_actors(spec, actors=np.unique(index["actor"]).tolist())
  for part, indices in packed.indices.items():
    assert set(index["actor"][indices].tolist()) == set(expected[part]), part
  assert packed.name == "cremad/pipeline_test" and packed.num_classes == 6
  np.testing.assert_array_equal(
      packed.train_label_counts, np.bincount(index["label"][packed.indices["train"]], minlength=6))

  datasets = input_pipeline.Datasets(
      packed, _data_config(split=spec, batch_size=2, eval_batch_size=4), _mesh(2), seed=0)
  assert datasets.info.frames_shape == (4, 32, 32, 1)
  assert datasets.info.steps_per_epoch == len(packed.indices["train"]) // 2
  iterator = datasets.train_iterator()
  batch = next(iterator)
  assert batch["frames"].shape == (2, 4, 32, 32, 1) and batch["frames"].dtype == np.uint8
  np.testing.assert_allclose(np.asarray(batch["vote_distribution"]).sum(-1), 1.0, rtol=1e-5)
  state = iterator.get_state()
  expected_next = _take(iterator, 2)
  resumed = datasets.train_iterator()
  resumed.set_state(state)
  _assert_same_batches(_take(resumed, 2), expected_next)
  for part in datasets.eval_parts:
    seen = []
    for batch in datasets.eval_batches(part):
      mask = np.asarray(batch["mask"])
      seen.extend(np.asarray(batch["index"])[mask].tolist())
      np.testing.assert_array_equal(np.asarray(batch["label"])[mask],
                                    index["label"][np.asarray(batch["index"])[mask]])
    assert sorted(seen) == packed.indices[part].tolist()
