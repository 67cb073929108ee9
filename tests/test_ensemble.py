"""Ensembles of trained runs: the averaged probabilities, ensemble bundles and their checks
(emo_jax/models/ensemble.py, checkpoints.ensemble, bundle --members)."""
import dataclasses
import json
import types

import jax
import numpy as np
import pytest

from emo_jax import bundle
from emo_jax import checkpoints
from emo_jax import models
from emo_jax import predict


@pytest.fixture(scope="module")
def two_runs(tiny_trained_workdir):
  """The tiny trained run and a copy with its parameters scaled: two different members."""
  run = checkpoints.load(str(tiny_trained_workdir))
  other = dataclasses.replace(run, workdir="scaled", variables=dict(
      run.variables, params=jax.tree.map(lambda x: 1.5 * x + 0.01, run.variables["params"])))
  return run, other


def _frames(run, n=3):
  return np.random.default_rng(0).integers(0, 256, (n, *run.frames_shape), dtype=np.uint8)


def test_ensemble_averages_its_members_probabilities(two_runs):
  run, other = two_runs
  frames = _frames(run)
  first, second = predict.predict_frames(run, frames), predict.predict_frames(other, frames)
  assert np.abs(first - second).max() > 1e-3  # The members differ, so the mean is a real test.
  combined = checkpoints.ensemble([run, other])
  np.testing.assert_allclose(predict.predict_frames(combined, frames), (first + second) / 2,
                             atol=1e-5)
  logits, aux = combined.model.apply(combined.variables, frames / 255.0, train=False)
  assert aux["member_logits"].shape == (len(frames), 2, run.num_classes)
  assert logits.shape == (len(frames), run.num_classes)
  with pytest.raises(ValueError, match="for evaluation"):
    combined.model.apply(combined.variables, frames / 255.0, train=True)


def test_ensemble_members_must_agree(two_runs):
  run, other = two_runs
  with pytest.raises(ValueError, match="at least two"):
    checkpoints.ensemble([run])
  with pytest.raises(ValueError, match="class_names .* must agree"):
    checkpoints.ensemble([run, dataclasses.replace(other, class_names=tuple("abcdef"))])


def test_ensemble_config_takes_whole_member_configs(two_runs):
  run, _ = two_runs
  member = run.config.model.to_dict()
  assert isinstance(models.create_model({"ensemble": [member, member]}, 6), models.Ensemble)
  with pytest.raises(ValueError, match="inside each member"):
    models.create_model({"ensemble": [member, member], "dtype": "bfloat16"}, 6)
  with pytest.raises(ValueError, match="at least two member configs"):
    models.create_model({"ensemble": [member]}, 6)


def test_ensemble_bundle_round_trip_and_member_checks(two_runs, tmp_path):
  run, other = two_runs
  bundle.write_bundle(run, str(tmp_path / "a"))
  bundle.write_bundle(other, str(tmp_path / "b"))
  assert bundle.main(["--members", "a", "b", "--name", "ab", "--out", str(tmp_path / "ab")]) == 0
  manifest = json.loads((tmp_path / "ab" / "manifest.json").read_text())
  assert list(manifest["members"]) == ["a", "b"]
  assert not (tmp_path / "ab" / "variables.msgpack").exists()  # No copy of the weights.
  loaded = checkpoints.load_bundled(directory=str(tmp_path / "ab"))
  assert loaded.which == "bundled" and loaded.class_names == run.class_names
  frames = _frames(run)
  expected = (predict.predict_frames(run, frames) + predict.predict_frames(other, frames)) / 2
  np.testing.assert_allclose(predict.predict_frames(loaded, frames), expected, atol=1e-5)

  bundle.write_bundle(run, str(tmp_path / "b"))  # b retrained: not what was measured.
  with pytest.raises(checkpoints.BundleError, match="measured with 'b'"):
    checkpoints.load_bundled(directory=str(tmp_path / "ab"))
  (tmp_path / "a" / "manifest.json").unlink()
  with pytest.raises(checkpoints.BundleError, match="needs the bundle 'a'"):
    checkpoints.load_bundled(directory=str(tmp_path / "ab"))
  assert bundle.main(["--members", "a", "b", "--name", "x", "--out", str(tmp_path / "x")]) == 2


def test_ensemble_selection_prefers_fewer_members_within_the_tolerance():
  from experiments import fer2013_ensemble
  labels = np.array([0, 1, 0, 1, 0])
  onehot = np.eye(2)[labels]
  # a and b err on different examples; c is a softer a. Every pair and the triple score 4/5.
  probabilities = {"a": np.where(np.arange(5)[:, None] == 1, onehot[:, ::-1], onehot) * 0.8 + 0.1,
                   "b": np.where(np.arange(5)[:, None] == 2, onehot[:, ::-1], onehot) * 0.6 + 0.2,
                   "c": np.where(np.arange(5)[:, None] == 1, onehot[:, ::-1], onehot) * 0.4 + 0.3}
  scores = fer2013_ensemble.score_subsets(probabilities, labels)
  assert [len(s) for s, _ in scores].count(2) == 3 and len(scores) == 4
  assert dict(scores)[("a", "b")] == pytest.approx(0.8)
  assert len(fer2013_ensemble.choose(scores, tolerance=0.0)[0]) == 2
  better_triple = [(("a", "b", "c"), 0.9)] + scores
  assert fer2013_ensemble.choose(better_triple, tolerance=0.05)[0] == ("a", "b", "c")
  assert len(fer2013_ensemble.choose(better_triple, tolerance=0.2)[0]) == 2


def test_the_shipped_ensemble_loads_its_members_and_is_no_pretrained_encoder():
  run = checkpoints.load_bundled("fer2013_ensemble")
  assert isinstance(run.model, models.Ensemble) and len(run.model.members) == 2
  assert sorted(m.rsplit("/", 1)[-1] for m in run.config.members) == ["fer2013_deep", "fer2013_vgg"]
  from emo_jax import trainer
  state = types.SimpleNamespace(params={}, batch_stats={})
  with pytest.raises(ValueError, match="is an ensemble of .*start from one of its members"):
    trainer.load_pretrained_encoder(state, "bundled:fer2013_ensemble", None)
  with pytest.raises(ValueError, match="init_from='bundled:fer2013_ensemble' is an ensemble"):
    trainer.init_from(state, "bundled:fer2013_ensemble")
