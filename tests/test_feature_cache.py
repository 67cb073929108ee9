"""Frozen encoders computed once: cache key and contents, the model on features, training."""
import functools
import json
import os
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import c3d
from configs import resnet_ae_lstm
from emo_jax import config_checks
from emo_jax.feature_cache import build as build_lib
from emo_jax.feature_cache import checks
from emo_jax.feature_cache import keys
from emo_jax.feature_cache import layout
from emo_jax.feature_cache import source as source_lib
from emo_jax.input_pipeline import iterators
from emo_jax.input_pipeline import sources as sources_lib
from emo_jax import models
from emo_jax import sharding
from emo_jax import trainer
from emo_jax.data import augment as augment_lib
from emo_jax.data import feature_augment
from tests import helpers

NUM_CLASSES = 6
FRAMES_SHAPE = (4, 32, 32, 1)  # cremad/synthetic_tiny
VIEW_AUGMENT = dict(crop_probability=1.0, crop_min_area=0.6, flip_probability=0.5, brightness=0.2)


def _key(seed):
  # The "rbg" generator: XLA on CPU compiles random numbers many times faster than threefry.
  return jax.random.key(seed, impl="rbg")


@functools.lru_cache
def _tiny_model_and_init():
  model_config = resnet_ae_lstm.get_config("runlocal").model
  model = models.create_model(model_config, NUM_CLASSES)
  init = jax.jit(lambda key: model.init({"params": key, "dropout": key, "noise": key},
                                        jnp.zeros((1, *FRAMES_SHAPE)), train=False))
  return model_config, model, init


@functools.lru_cache
def tiny_model(seed=0):
  """resnet_ae_lstm's runlocal model, initialised from `seed`."""
  model_config, model, init = _tiny_model_and_init()
  return model_config, model, init(_key(seed))


def encode(model, variables, frames):
  """uint8 `[T, H, W, C]` -> `[T, D]` with the model's encoder (eval mode)."""
  return np.asarray(model.apply(variables, frames[None], method="encode_frames"))[0]


def test_cache_key_depends_on_the_encoder_values_and_config_and_the_dataset_version():
  model_config, _, variables = tiny_model(seed=0)
  _, _, other_init = tiny_model(seed=1)
  key = keys.cache_key(model_config, "cremad/synthetic_tiny", "1.0.0", variables)
  assert key == keys.cache_key(model_config, "cremad/synthetic_tiny", "1.0.0", variables)
  assert key != keys.cache_key(model_config, "cremad/synthetic_tiny", "1.0.0", other_init)
  assert key != keys.cache_key(model_config, "cremad/synthetic_tiny", "1.0.1", variables)
  assert key != keys.cache_key(model_config, "cremad/g16_112", "1.0.0", variables)
  pretrained = model_config.copy_and_resolve_references()  # A copy: tiny_model is cached.
  pretrained.encoder.pretrained = "/checkpoints/fer2013_resnet18"
  assert key != keys.cache_key(pretrained, "cremad/synthetic_tiny", "1.0.0", variables)
  # The rest of the model is trained; only the encoder's values count.
  trained_head = dict(variables, params=dict(
      variables["params"], head=jax.tree.map(lambda x: x + 1, variables["params"]["head"])))
  assert key == keys.cache_key(model_config, "cremad/synthetic_tiny", "1.0.0",
                                        trained_head)


@pytest.fixture(scope="module")
def tiny_cache(tiny_data_dir, tmp_path_factory):
  """Features of every synthetic_tiny clip with 2 augmented views, built once for this module."""
  _, model, variables = tiny_model()
  source = sources_lib.load_packed_dataset("cremad/synthetic_tiny", tiny_data_dir,
                                              split=None).sources["train"]
  directory = str(tmp_path_factory.mktemp("feature_cache") / "all")
  directory, views_dir = build_lib.build_feature_cache(
      model, variables, source, directory, num_views=2, augment_config=VIEW_AUGMENT)
  return model, variables, source, directory, views_dir


def test_the_cache_holds_the_encoders_outputs_and_is_built_once(tiny_cache):
  model, variables, source, directory, views_dir = tiny_cache
  cached = source_lib.FeatureSource(directory, views_dir)
  assert len(cached) == len(source) == 24
  assert isinstance(cached[0]["frame_features"], np.memmap)  # Read lazily, not loaded.
  pixel_config = layout.pixel_augment_config(VIEW_AUGMENT)
  for index in (0, 7, 23):
    record, clip = cached[index], source[index]
    np.testing.assert_allclose(record["frame_features"], encode(model, variables, clip["frames"]),
                               rtol=1e-5, atol=1e-6)
    assert record["label"] == clip["label"]
    np.testing.assert_array_equal(record["vote_distribution"], clip["vote_distribution"])
    for view in range(2):
      augmented = augment_lib.augment_clip(
          clip["frames"], np.random.default_rng([0, view, index]), pixel_config)
      np.testing.assert_allclose(record["frame_feature_views"][view],
                                 encode(model, variables, augmented), rtol=1e-5, atol=1e-6)
  assert not np.allclose(cached[0]["frame_feature_views"][0], cached[0]["frame_features"])
  meta_path = os.path.join(directory, "meta.json")
  assert json.load(open(meta_path))["features_shape"] == [24, 4, 32]
  built_at = os.path.getmtime(meta_path)
  build_lib.build_feature_cache(model, variables, source, directory, num_views=2,
                                    augment_config=VIEW_AUGMENT)
  assert os.path.getmtime(meta_path) == built_at
  assert not [name for name in os.listdir(os.path.dirname(directory)) if ".tmp-" in name]
  # grain worker processes get the source pickled: without its memory maps, which reopen.
  np.testing.assert_array_equal(pickle.loads(pickle.dumps(cached))[7]["frame_features"],
                                cached[7]["frame_features"])


def test_float16_cache_is_half_the_size_and_close(tiny_cache, tmp_path):
  model, variables, source, directory, _ = tiny_cache
  records = [source[index] for index in range(4)]
  half, _ = build_lib.build_feature_cache(model, variables, records, str(tmp_path / "half"),
                                              dtype="float16")
  features = np.load(os.path.join(half, "features.npy"))
  assert features.dtype == np.float16 and features.shape == (4, 4, 32)
  np.testing.assert_allclose(features, np.load(os.path.join(directory, "features.npy"))[:4],
                             rtol=2e-3, atol=1e-3)


def test_training_batches_draw_one_cached_view_per_example(tiny_cache):
  _, _, _, directory, views_dir = tiny_cache
  cached = source_lib.FeatureSource(directory, views_dir)
  iterator = iterators.train_iterator(
      cached, np.arange(24), mesh=sharding.create_mesh(1), batch_size=8,
      num_classes=NUM_CLASSES, seed=0)
  views = np.load(os.path.join(views_dir, "views.npy"))
  chosen = []
  for _ in range(3):  # One epoch.
    batch = jax.device_get(next(iterator))
    assert set(batch) == {"frame_features", "label", "vote_distribution", "mask"}
    for features, label in zip(batch["frame_features"], batch["label"]):
      matches = [(view, index) for view in range(2) for index in range(24)
                 if np.array_equal(views[view, index], features)]
      assert len(matches) == 1 and cached[matches[0][1]]["label"] == label
      chosen.append(matches[0])
  assert sorted(index for _, index in chosen) == list(range(24))
  assert {view for view, _ in chosen} == {0, 1}


def test_model_on_cached_features_equals_model_on_frames():
  _, model, variables = tiny_model()
  frames = jax.random.randint(_key(1), (3, *FRAMES_SHAPE), 0, 256).astype(jnp.uint8)
  features = model.apply(variables, frames, method="encode_frames")
  assert features.shape == (3, 4, 32)
  rngs = {"dropout": _key(2), "noise": _key(3)}
  for train in (False, True):
    apply = jax.jit(functools.partial(model.apply, train=train, mutable=["batch_stats"]))
    (logits, aux), state = apply(variables, frames, rngs=rngs)
    (cached_logits, cached_aux), cached_state = apply(variables, frame_features=features, rngs=rngs)
    np.testing.assert_allclose(cached_logits, logits, rtol=1e-5, atol=1e-6)
    assert set(cached_aux) == set(aux)
    for key in aux:
      np.testing.assert_allclose(cached_aux[key], aux[key], rtol=1e-5, atol=1e-6, err_msg=key)
    # The encoder's variables come back untouched (same tree, so the train state keeps its shape).
    assert jax.tree.structure(cached_state) == jax.tree.structure(state)
  with pytest.raises(ValueError, match="exactly one of"):
    model.apply(variables, frames, frame_features=features, train=False)
  with pytest.raises(ValueError, match="exactly one of"):
    model.apply(variables, train=False)


def test_temporal_augmentation_of_features_equals_that_of_frames():
  # Pixels as features (an identity encoder) make the comparison exact.
  config = augment_lib.AugmentConfig(temporal_min_fraction=0.5, frame_dropout_rate=0.4)
  frames = np.random.default_rng(0).integers(1, 256, (8, 3, 3, 1), dtype=np.uint8)
  record = {"frame_features": frames.reshape(8, -1)}
  changed = 0
  for seed in range(20):
    expected = augment_lib.augment_clip(frames, np.random.default_rng(seed), config).reshape(8, -1)
    actual = feature_augment.augment_features(record, np.random.default_rng(seed), config)
    np.testing.assert_array_equal(actual, expected)
    changed += not np.array_equal(actual, record["frame_features"])
  assert changed > 10
  identity = feature_augment.augment_features(record, np.random.default_rng(0), None)
  np.testing.assert_array_equal(identity, record["frame_features"])


def run_losses(workdir):
  records = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
  return {split: [r["loss"] for r in records if r["split"] == split]
          for split in ("train", "val", "test")}


@pytest.fixture
def rbg_random_keys():
  """Both runs draw dropout and noise with "rbg" keys: the same maths, compiled 3x faster on CPU."""
  previous = jax.config.jax_default_prng_impl
  jax.config.update("jax_default_prng_impl", "rbg")
  try:
    yield
  finally:
    jax.config.update("jax_default_prng_impl", previous)


def test_cached_run_trains_like_the_frames_run(tiny_data_dir, tmp_path, rbg_random_keys):
  results = {}
  for arg in ("runlocal", "runlocal,cached"):
    config = resnet_ae_lstm.get_config(arg)
    config.data.data_dir = str(tiny_data_dir)
    # The frames run without pixel augmentation, as `cached` sets it.
    config.data.augment.update(crop_probability=0.0, flip_probability=0.0, brightness=0.0,
                               contrast=0.0)
    final = trainer.train_and_evaluate(config, str(tmp_path / arg))
    assert final["steps"] == 2
    results[arg] = run_losses(tmp_path / arg)
  frames, cached = results["runlocal"], results["runlocal,cached"]
  assert len(frames["train"]) == 2  # Step 1 trains the autoencoder alone, step 2 all of it.
  for split in frames:
    np.testing.assert_allclose(cached[split], frames[split], rtol=1e-5, err_msg=split)
  assert os.listdir(os.path.join(tiny_data_dir, "feature_cache", "cremad", "synthetic_tiny"))


@pytest.mark.parametrize("overrides, message", [
    ({"model.encoder.frozen": False}, r"encoder.frozen=False.*encoder.frozen=True"),
    ({"data.augment.flip_probability": 0.5}, r"flip_probability=0.5.*cached_feature_views > 1"),
    ({"data.augment.noise_stddev": 0.1}, r"augment.noise_stddev=0.1"),
    ({"data.augment.rotation_degrees": 10.0}, r"augment.rotation_degrees=10.0"),
    ({"data.augment.erase_probability": 0.5}, r"augment.erase_probability=0.5"),
    ({"model.bottleneck.pixel_decoder": True}, "pixel_decoder=True"),
    ({"data.cached_feature_views": 0}, "cached_feature_views=0"),
    ({"data.cached_feature_dtype": "bfloat16"}, "cached_feature_dtype='bfloat16'"),
])
def test_impossible_cached_feature_configs_fail_before_compute(tiny_data_dir, tmp_path, overrides,
                                                               message):
  config = resnet_ae_lstm.get_config("runlocal,cached")
  config.data.data_dir = str(tiny_data_dir)
  for key, value in overrides.items():
    helpers.set_nested(config, key, value)
  with pytest.raises(config_checks.ConfigError, match=message):
    trainer.train_and_evaluate(config, str(tmp_path))


def test_cached_feature_preconditions_for_3d_networks_and_views():
  config = c3d.get_config("runlocal")
  config.data.cached_features = True
  with pytest.raises(config_checks.ConfigError, match="3D network has no frame encoder"):
    checks.check_preconditions(config)
  views = resnet_ae_lstm.get_config("cached,views=4")
  assert views.data.cached_feature_views == 4 and views.data.augment.flip_probability > 0
  checks.check_preconditions(views)  # Pixel augmentations live in the views.
  with pytest.raises(ValueError, match="add `cached`"):
    resnet_ae_lstm.get_config("views=4")
