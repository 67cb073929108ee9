"""Flax models: frame encoders, bottleneck, temporal models, 3D networks and EmotionNet."""
from emo_jax.models.emotion_net import EmotionNet
from emo_jax.models.ensemble import Ensemble
from emo_jax.models.factory import create_model
from emo_jax.models.presets import default_model_config
from emo_jax.models.pretrained import ENCODER_PATHS
from emo_jax.models.pretrained import copy_all_variables
from emo_jax.models.pretrained import copy_matching_encoder
from emo_jax.models.pretrained import load_pretrained_encoder
from emo_jax.models.pretrained import load_pretrained_from_config
from emo_jax.models.pretrained import save_encoder
