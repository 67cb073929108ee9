"""AudioVisualNet: each fusion mode's shapes and masks, modality dropout, and the config checks."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import av_fusion
from emo_jax import config_checks
from emo_jax import models
from emo_jax.models import audio_visual

NUM_CLASSES = 6
BATCH, FRAMES, SIZE, SAMPLES = 4, 3, 16, 4000


def tiny_model(mode: str, modality: str = "audio_visual", modality_dropout: float = 0.0):
  config = av_fusion.get_config(f"runlocal,modality={modality},fusion={mode}").model
  config.fusion.modality_dropout = modality_dropout
  return models.create_model(config, NUM_CLASSES)


def inputs(seed: int = 0):
  rng = np.random.default_rng(seed)
  frames = rng.uniform(size=(BATCH, FRAMES, SIZE, SIZE, 1)).astype(np.float32)
  audio = (0.3 * rng.normal(size=(BATCH, SAMPLES))).astype(np.float32)
  lengths = np.array([SAMPLES, 3000, 200, 0], np.int32)  # The last clip has no audio.
  return jnp.asarray(frames), jnp.asarray(audio), jnp.asarray(lengths)


def init(model):
  frames, audio, lengths = inputs()
  rng = jax.random.key(0)
  return model.init({"params": rng, "dropout": rng, "noise": rng}, frames, train=False,
                    audio=audio, audio_length=lengths)


def apply(model, variables, frames, audio, lengths, **kwargs):
  return model.apply(variables, frames, train=False, audio=audio, audio_length=lengths, **kwargs)


@pytest.mark.parametrize("mode", audio_visual.FUSIONS)
def test_each_fusion_mode_gives_logits_and_named_intermediates(mode):
  model = tiny_model(mode)
  variables = init(model)
  frames, audio, lengths = inputs()
  logits, aux = apply(model, variables, frames, audio, lengths)
  assert logits.shape == (BATCH, NUM_CLASSES) and logits.dtype == jnp.float32
  assert np.isfinite(np.asarray(logits)).all()
  for key in ("pooled", "video_logits", "audio_logits", "frame_features", "audio_features",
              "audio_mask", "video_pooled", "audio_pooled"):
    assert key in aux, key
  assert aux["pooled"].shape[0] == BATCH
  # The clip of length 0 has no audio; the others have it.
  assert list(np.asarray(aux["audio_present"])) == [True, True, True, False]
  assert np.asarray(aux["video_present"]).all()
  if mode == "late_mean":
    both = (aux["video_logits"][:3] + aux["audio_logits"][:3]) / 2
    np.testing.assert_allclose(logits[:3], both, atol=1e-5)
    np.testing.assert_allclose(logits[3], aux["video_logits"][3], atol=1e-5)
  if mode == "late_learned":
    np.testing.assert_allclose(aux["fusion_weights"], [0.5, 0.5], atol=1e-6)  # At init.


@pytest.mark.parametrize("mode", audio_visual.FUSIONS)
def test_a_removed_modality_has_no_influence(mode):
  model = tiny_model(mode)
  variables = init(model)
  frames, audio, lengths = inputs(0)
  other_frames, other_audio, _ = inputs(1)
  no_audio = jnp.zeros((BATCH,), bool)
  without_audio, aux = apply(model, variables, frames, audio, lengths, audio_present=no_audio)
  assert not np.asarray(aux["audio_present"]).any()
  changed_audio, _ = apply(model, variables, frames, other_audio, lengths, audio_present=no_audio)
  np.testing.assert_allclose(without_audio, changed_audio, atol=1e-5)
  no_video = jnp.zeros((BATCH,), bool)
  without_video, aux = apply(model, variables, frames, audio, lengths, video_present=no_video)
  assert not np.asarray(aux["video_present"]).any()
  changed_frames, _ = apply(model, variables, other_frames, audio, lengths, video_present=no_video)
  np.testing.assert_allclose(without_video, changed_frames, atol=1e-5)
  # ... and the other modality still counts.
  assert not np.allclose(without_audio, apply(model, variables, other_frames, audio, lengths,
                                              audio_present=no_audio)[0])


@pytest.mark.parametrize("modality", ["audio", "video"])
def test_one_modality_models_build_one_branch_from_the_same_config(modality):
  model = tiny_model("mid", modality)
  assert model.modalities == (modality,)
  variables = init(model)
  assert ("audio" in variables["params"]) == (modality == "audio")
  assert ("video" in variables["params"]) == (modality == "video")
  frames, audio, lengths = inputs(0)
  other_frames, other_audio, _ = inputs(1)
  logits, _ = apply(model, variables, frames, audio, lengths)
  if modality == "audio":  # Frames are passed but not used.
    np.testing.assert_allclose(logits, apply(model, variables, other_frames, audio, lengths)[0])
  else:  # Without an audio branch, audio changes nothing.
    np.testing.assert_allclose(logits, apply(model, variables, frames, other_audio, lengths)[0])


def test_init_without_audio_gives_the_same_parameters():
  model = tiny_model("cross_attention")
  frames, _, _ = inputs()
  rng = jax.random.key(0)
  without = model.init({"params": rng, "dropout": rng, "noise": rng}, frames, train=False)
  shapes = lambda tree: jax.tree.map(jnp.shape, tree)
  assert shapes(without) == shapes(init(model))


def test_modality_dropout_drops_one_modality_per_clip_in_training_only():
  model = tiny_model("mid", modality_dropout=0.3)
  variables = init(model)
  rng = np.random.default_rng(0)
  batch = 64
  frames = jnp.asarray(rng.uniform(size=(batch, FRAMES, SIZE, SIZE, 1)), jnp.float32)
  audio = jnp.asarray(0.3 * rng.normal(size=(batch, SAMPLES)), jnp.float32)
  lengths = jnp.full((batch,), SAMPLES, jnp.int32)
  (_, aux), _ = model.apply(variables, frames, train=True, audio=audio, audio_length=lengths,
                            rngs={"dropout": jax.random.key(3), "noise": jax.random.key(4)},
                            mutable=["batch_stats"])
  audio_present = np.asarray(aux["audio_present"])
  video_present = np.asarray(aux["video_present"])
  assert (audio_present | video_present).all(), "never both dropped"
  assert 5 <= (~audio_present).sum() <= 35 and 5 <= (~video_present).sum() <= 35
  _, eval_aux = model.apply(variables, frames, train=False, audio=audio, audio_length=lengths)
  assert np.asarray(eval_aux["audio_present"]).all() and np.asarray(eval_aux["video_present"]).all()
  # One-modality models have nothing to drop.
  single = tiny_model("mid", "audio", modality_dropout=0.3)
  (_, aux), _ = single.apply(init(single), frames, train=True, audio=audio, audio_length=lengths,
                             rngs={"dropout": jax.random.key(3)}, mutable=["batch_stats"])
  assert np.asarray(aux["audio_present"]).all()


def test_train_step_trains_the_audio_visual_model():
  import optax
  from emo_jax import train_state
  model = tiny_model("cross_attention", modality_dropout=0.2)
  frames, audio, lengths = inputs()
  batch = {"frames": (frames * 255).astype(jnp.uint8), "audio": audio, "audio_length": lengths,
           "label": jnp.arange(BATCH) % NUM_CLASSES, "mask": jnp.ones((BATCH,), bool)}
  config = av_fusion.get_config("runlocal")
  tx = optax.adam(1e-3)
  state = train_state.TrainState(step=jnp.zeros((), jnp.int32), params=init(model)["params"],
                                 batch_stats=init(model)["batch_stats"], opt_state=None)
  state = state.replace(opt_state=tx.init(state.params))
  new_state, metrics = train_state.train_step(state, batch, jax.random.key(0), model=model, tx=tx,
                                              loss_config=config.loss, num_classes=NUM_CLASSES)
  assert bool(metrics["finite"]) and float(metrics["grad_norm"]) > 0
  audio_grads = optax.global_norm(jax.tree.map(lambda a, b: a - b, new_state.params["audio"],
                                               state.params["audio"]))
  assert float(audio_grads) > 0, "the audio branch is trained"


def test_config_errors_name_what_to_change():
  config = av_fusion.get_config("runlocal")
  config.data.audio_seconds = 0.0
  with pytest.raises(config_checks.ConfigError, match="needs audio: set config.data.audio_seconds"):
    config_checks.check_config(config)
  config = av_fusion.get_config("runlocal,modality=video")
  config.data.audio_seconds = 1.0
  with pytest.raises(config_checks.ConfigError, match="has no audio branch"):
    config_checks.check_config(config)
  with pytest.raises(ValueError, match="modality='both' is not one of"):
    av_fusion.get_config("modality=both")
  model_config = av_fusion.get_config("runlocal").model
  model_config.fusion.mode = "early"
  with pytest.raises(ValueError, match="model.fusion.mode='early' is not one of"):
    models.create_model(model_config, NUM_CLASSES)


def test_a_dataset_without_audio_is_refused_before_anything_is_built():
  from emo_jax import preflight
  from emo_jax import sharding
  config = av_fusion.get_config("runlocal")
  config.data.dataset = "fer2013"
  config.data.split = "standard"
  with pytest.raises(config_checks.ConfigError, match="'fer2013' has no audio"):
    preflight.check_data_and_model(config, sharding.create_mesh(1))
