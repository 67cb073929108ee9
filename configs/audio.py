r"""Audio only: the audio branch of configs/av_fusion.py (log-mel -> 2D CNN -> mean -> head).

  python -m emo_jax.train --config=configs/audio.py:synthetic --workdir=workdirs/audio

The same as `configs/av_fusion.py:modality=audio` (same arguments otherwise, e.g.
`:synthetic,audio_transformer`); the frames are read but not used.

Cost and result (trained 2026-11-29 at commit 72d78c0 as av_fusion.py:synthetic,modality=audio
on the 5 hicmae5 folds, one CPU core): 62.9 +/- 1.3% test accuracy (UAR the same), about
1 min a fold (README "Audio-visual"; `python -m experiments.crossval
--config=configs/av_fusion.py:synthetic,modality=audio --workdir=workdirs/cv_audio`).
"""
from configs import av_fusion


def get_config(arg=None):
  return av_fusion.get_config(",".join(filter(None, ["modality=audio", arg])))
