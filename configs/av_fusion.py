r"""Audio-visual emotion: the video model (ae_lstm's), an audio branch on log-mel spectrograms, fused.

  python -m emo_jax.train --config=configs/av_fusion.py:synthetic --workdir=workdirs/av_fusion

Arguments (comma-separated after the colon): `modality=audio_visual|audio|video` keeps
both branches or one (the same recipe otherwise, so the three are comparable);
`fusion=mid|late_mean|late_learned|cross_attention` (models/audio_visual.py);
`audio_transformer` puts a transformer over the audio frames instead of their mean;
`synthetic` trains on the synthetic CREMA-D (built on first use), `runlocal` runs 2 steps
on a tiny set (tests). Without `synthetic`, real CREMA-D (`cremad/g16_112`, built first:
`python -m tfds_cremad.build --config g16_112 --data_dir data/tfds --manual_dir
/path/to/CREMA-D`), whose 16 kHz audio is packed with the frames; the published protocol
is the 5 actor-independent folds:
  python -m experiments.crossval --config=configs/av_fusion.py --workdir=workdirs/cv_av
(HiCMAE, the best published CREMA-D result, reaches 84.9% UAR audio-visual over them.)

Bad input: a clip without an audio stream, or with silent audio, keeps its frames and
gets an all-masked audio branch (`input_pipeline.records.format_audio`); audio shorter
than one STFT window gives the frames librosa gives it; a dataset without audio (e.g.
fer2013) with an audio modality stops before training with a message naming the dataset.

Cost and result (trained 2026-11-29 at commit 72d78c0, one run at a time on one CPU core;
README "Audio-visual", files in benchmarks/results/crossval_av_synthetic/): `:synthetic`
(cremad/synthetic30_g8_64, the 5 hicmae5 folds of 19 train, 5 val and 6 test actors; 14
epochs, 490 steps of 16 clips; 4-5 min a fold) reached 84.6 +/- 7.0% test accuracy over
the folds, `modality=video` 69.6 +/- 6.5% (3-4 min a fold), `modality=audio` 62.9 +/- 1.3%
(1 min a fold). The audio-visual model with its audio removed at evaluation falls to
45.0 +/- 8.7%, with its video removed to 59.4 +/- 2.4%. Commands:
  python -m experiments.crossval --config=configs/av_fusion.py:synthetic --workdir=workdirs/cv_av
  (and `:synthetic,modality=audio`, `:synthetic,modality=video`), then
  python -m experiments.crossval_modalities --audio workdirs/cv_audio --video workdirs/cv_video --audio_visual workdirs/cv_av
Real CREMA-D: not measured here (no clone on this machine).
"""
from configs import ae_lstm
from configs import common
from emo_jax.models import presets

MODALITIES = ("audio_visual", "audio", "video")


def get_config(arg=None):
  args = common.parse_arg(arg, synthetic=False, runlocal=False, modality="audio_visual",
                          fusion="mid", audio_transformer=False)
  if args.modality not in MODALITIES:
    raise ValueError(f"modality={args.modality!r} is not one of {MODALITIES}")
  config = common.base_config()
  config.data = common.cremad_data_config(args)
  config.model = presets.audio_visual_model_config("ae_lstm")
  config.model.fusion.modality = args.modality
  config.model.fusion.mode = args.fusion
  if args.audio_transformer:
    config.model.audio.temporal = presets.AUDIO_TRANSFORMER
  # CREMA-D clips last up to 5 s; a video-only model reads no audio.
  config.data.audio_seconds = 0.0 if args.modality == "video" else 5.0
  common.cpu_sized_synthetic(config, args)
  if args.synthetic and not args.runlocal:
    cpu_sized_audio_visual(config)
  if args.runlocal:
    common.runlocal_overrides(config)
    ae_lstm.tiny_model(config.model)
    config.model.audio.encoder.update(widths=(4, 8), features=8)
    config.model.audio.frontend.update(hop_length=320, num_mels=16)
    config.model.audio.head.hidden_sizes = (8,)
    config.model.fusion.update(dim=8, num_heads=2, head=dict(hidden_sizes=(8,), dropout=0.3))
    if config.data.audio_seconds:
      config.data.audio_seconds = 1.0
  return config


def cpu_sized_audio_visual(config):
  """`:synthetic` on top of `common.cpu_sized_synthetic`: a few minutes per run on one CPU core.

  Fifteen runs (three modalities x five folds) have to fit in an hour of one shared core,
  so both branches are narrower than ae_lstm's and training is half as long (14 epochs,
  evaluated every second one). The synthetic clips last 1.9-2.5 s; their voices differ by
  pitch level and range, loudness and spectral tilt, which 20 ms hops and 40 mel bands
  keep. Chosen before any run, not tuned on test actors.
  """
  if config.data.audio_seconds:
    config.data.audio_seconds = 2.6
  config.model.encoder.update(widths=(8, 16, 32, 64), features=64)
  config.model.bottleneck.dim = 32
  config.model.temporal.hidden_size = 64
  config.model.head.hidden_sizes = (64,)
  config.model.audio.frontend.update(hop_length=320, num_mels=40)
  config.model.audio.encoder.update(widths=(8, 16, 32), features=64)
  config.model.audio.spec_augment.update(max_time_width=10, max_freq_width=6)
  config.model.audio.head.hidden_sizes = (64,)
  config.model.fusion.update(dim=64, head=dict(hidden_sizes=(64,), dropout=0.3))
  config.train.num_epochs = 14.0
  config.train.eval_every_epochs = 2.0
  config.train.checkpoint_every_epochs = 2.0
