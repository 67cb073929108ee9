r"""Audio only: the audio branch of configs/av_fusion.py (log-mel -> 2D CNN -> mean -> head).

  python -m emo_jax.train --config=configs/audio.py:synthetic --workdir=workdirs/audio

The same as `configs/av_fusion.py:modality=audio` (same arguments otherwise, e.g.
`:synthetic,audio_transformer`); the frames are read but not used. Cost and result: see
the README ("Audio-visual"), measured with av_fusion.py:modality=audio.
"""
from configs import av_fusion


def get_config(arg=None):
  return av_fusion.get_config(",".join(filter(None, ["modality=audio", arg])))
