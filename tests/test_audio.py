"""The audio front end (against librosa), the audio records, and the audio branch's masks."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from emo_jax.input_pipeline import records
from emo_jax.models import audio_frontend
from emo_jax.models import factory
from emo_jax.models import presets

SAMPLE_RATE = 16000


def voice(num_samples: int, seed: int = 0) -> np.ndarray:
  """A harmonic tone with a gliding pitch and a little noise, float32 in [-1, 1]."""
  rng = np.random.default_rng(seed)
  seconds = np.arange(num_samples) / SAMPLE_RATE
  f0 = 180 + 40 * np.sin(2 * np.pi * 1.5 * seconds)
  phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
  tone = sum(np.sin(k * phase) / k for k in range(1, 8))
  return (0.2 * tone + 0.01 * rng.normal(size=num_samples)).astype(np.float32)


def librosa_log_mel(y, n_fft, hop_length, num_mels, floor):
  librosa = pytest.importorskip("librosa")
  power = librosa.feature.melspectrogram(y=y, sr=SAMPLE_RATE, n_fft=n_fft, hop_length=hop_length,
                                         n_mels=num_mels, power=2.0)
  return np.log(np.maximum(power, floor)).T  # [F, M]


def test_mel_filterbank_matches_librosa():
  librosa = pytest.importorskip("librosa")
  for n_fft, num_mels, fmin, fmax in ((512, 64, 0.0, None), (400, 40, 50.0, 7600.0)):
    ours = audio_frontend.mel_filterbank(SAMPLE_RATE, n_fft, num_mels, fmin, fmax)
    theirs = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=n_fft, n_mels=num_mels, fmin=fmin,
                                 fmax=fmax).T
    np.testing.assert_allclose(ours, theirs, atol=1e-7)


@pytest.mark.parametrize("n_fft,hop_length,num_mels", [(512, 160, 64), (400, 320, 40)])
def test_log_mel_of_padded_batch_matches_librosa_clip_by_clip(n_fft, hop_length, num_mels):
  # Lengths: two ordinary clips, one shorter than one window, one of a single sample.
  lengths = [12345, 8000, 300, 1]
  padded = np.zeros((len(lengths), 16000), np.float32)
  clips = [voice(n, seed) for seed, n in enumerate(lengths)]
  for row, clip in enumerate(clips):
    padded[row, :clip.size] = clip
  padded[1, 8000:] = 0.7  # Garbage past a length must not matter.
  front_end = audio_frontend.LogMel(n_fft=n_fft, hop_length=hop_length, num_mels=num_mels)
  log_mel, mask = jax.jit(front_end.apply)({}, jnp.asarray(padded), jnp.asarray(lengths))
  assert log_mel.shape == (4, 1 + 16000 // hop_length, num_mels) and mask.shape == log_mel.shape[:2]
  for row, clip in enumerate(clips):
    expected = librosa_log_mel(clip, n_fft, hop_length, num_mels, front_end.log_floor)
    valid = np.asarray(mask[row])
    assert valid.sum() == expected.shape[0] == 1 + clip.size // hop_length
    assert valid[:expected.shape[0]].all(), "the mask is a prefix"
    ours = np.asarray(log_mel[row, valid]) * front_end.log_scale + front_end.log_offset
    np.testing.assert_allclose(ours, expected, atol=2e-3)
    assert np.all(np.asarray(log_mel[row, ~valid]) == 0)


def test_log_mel_of_no_audio_has_no_valid_frame_and_stays_finite():
  log_mel, mask = audio_frontend.LogMel().apply({}, jnp.zeros((2, 4000)), jnp.asarray([0, 4000]))
  assert not np.asarray(mask[0]).any() and np.asarray(mask[1]).all()
  assert np.isfinite(np.asarray(log_mel)).all()


def test_spec_augment_masks_whole_time_and_frequency_bands_per_clip():
  x = jnp.ones((3, 50, 20))
  out = np.asarray(audio_frontend.spec_augment(x, jax.random.key(0), 2, 10, 2, 5))
  masked = out == 0
  for clip in masked:
    times = clip.all(axis=1)  # Fully masked frames.
    freqs = clip.all(axis=0)  # Fully masked mel bins.
    assert np.array_equal(clip, times[:, None] | freqs[None, :]), "only whole bands are masked"
    assert times.sum() <= 20 and freqs.sum() <= 10
  assert not all(np.array_equal(masked[0], m) for m in masked[1:]), "each clip has its own masks"
  unchanged = audio_frontend.spec_augment(x, jax.random.key(0), 0, 10, 0, 5)
  np.testing.assert_array_equal(unchanged, x)


def test_format_audio_pads_cuts_and_marks_missing_or_silent_audio_as_length_zero():
  clip = voice(1000)
  padded, length = records.format_audio(clip, 1500)
  assert padded.shape == (1500,) and length == 1000
  np.testing.assert_array_equal(padded[:1000], clip)
  assert not padded[1000:].any()
  cut, length = records.format_audio(clip, 600)
  assert length == 600 and np.array_equal(cut, clip[:600])
  for no_audio in (None, np.zeros((0,), np.float32), np.full(800, 1e-6, np.float32),
                   np.full(800, np.nan, np.float32)):
    padded, length = records.format_audio(no_audio, 1500)
    assert length == 0 and not padded.any()


def test_format_example_keeps_a_clip_without_audio_and_names_a_dataset_without_it():
  record = {"frames": np.zeros((2, 8, 8, 1), np.uint8), "label": 3,
            "audio": np.zeros((0,), np.float32)}
  example = records.format_example(record, 6, audio_samples=800)
  assert example["audio"].shape == (800,) and example["audio_length"] == 0 and example["mask"]
  assert "audio" not in records.format_example(record, 6)
  with pytest.raises(KeyError, match="has no audio"):
    records.format_example({"image": np.zeros((8, 8, 1), np.uint8), "label": 1}, 7,
                           audio_samples=800)


def tiny_audio_config(temporal=None):
  config = presets.audio_visual_model_config("cnn_lstm").audio.to_dict()
  config["frontend"].update(hop_length=320, num_mels=16)
  config["encoder"].update(widths=(4, 8), features=8)
  config["head"].update(hidden_sizes=())
  if temporal:
    config["temporal"] = temporal
  return config


@pytest.mark.parametrize("temporal", [None, dict(presets.AUDIO_TRANSFORMER, num_layers=1,
                                                 hidden_size=8, mlp_dim=8, num_heads=2)])
def test_audio_branch_shapes_and_what_padding_cannot_change(temporal):
  model = factory._create_audio(tiny_audio_config(temporal), 6, jnp.float32)
  audio = np.stack([voice(8000, 1), np.pad(voice(3000, 2), (0, 5000))])
  lengths = jnp.asarray([8000, 3000])
  variables = model.init({"params": jax.random.key(0), "dropout": jax.random.key(1)},
                         audio, lengths, train=False)
  logits, aux = model.apply(variables, audio, lengths, train=False)
  frames = 1 + 8000 // 320
  assert logits.shape == (2, 6)
  assert aux["audio_features"].shape == (2, -(-frames // 4), 8)
  assert aux["audio_mask"].shape == (2, -(-frames // 4)) and aux["pooled"].shape[0] == 2
  # More padding, with anything in it, changes nothing (the batch statistics are frozen).
  longer = np.concatenate([audio, np.full((2, 320 * 8), 0.5, np.float32)], axis=1)
  longer_logits, _ = model.apply(variables, longer, lengths, train=False)
  np.testing.assert_allclose(longer_logits, logits, atol=1e-5)
  # A clip marked absent gives the logits of a clip without audio, whatever it holds.
  absent, absent_aux = model.apply(variables, audio, lengths, train=False,
                                   present=jnp.asarray([False, True]))
  silent, _ = model.apply(variables, audio, jnp.asarray([0, 3000]), train=False)
  np.testing.assert_allclose(absent, silent, atol=1e-6)
  assert list(np.asarray(absent_aux["audio_present"])) == [False, True]
  # Training applies SpecAugment (rng stream "dropout"): outputs change with the key.
  train_logits = [model.apply(variables, audio, lengths, train=True, mutable=["batch_stats"],
                              rngs={"dropout": jax.random.key(seed)})[0][0] for seed in (0, 1)]
  assert not np.allclose(train_logits[0], train_logits[1])
