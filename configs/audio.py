r"""Audio only: the audio branch of configs/av_fusion.py (log-mel -> 2D CNN -> mean -> head).

  python -m emo_jax.train --config=configs/audio.py:synthetic --workdir=workdirs/audio

The same as `configs/av_fusion.py:modality=audio` (same arguments otherwise, e.g.
`:synthetic,audio_transformer`); the frames are read but not used.

Cost and result (measured 2026-11-29 at commit c41cc8e as av_fusion.py:synthetic,modality=audio,
fold 1 of hicmae5, one heavily shared CPU core): 62.8% test accuracy (UAR 62.8%, best
validation 60.0%) in 5.5 min wall; folds 2-5 not run yet (README "Audio-visual").
"""
from configs import av_fusion


def get_config(arg=None):
  return av_fusion.get_config(",".join(filter(None, ["modality=audio", arg])))
