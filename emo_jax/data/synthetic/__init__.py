"""Synthetic CREMA-D: a deterministic CREMA-D-like tree of cartoon talking heads.

    python -m emo_jax.data.synthetic --out /tmp/synthetic_cremad --actors 10 --seed 0

writes `VideoFlash/<actor>_<sentence>_<emotion>_<level>.flv` (FLV1 video + MP3 audio, 480x360
at 29.97 fps, 56-75 frames), `AudioWAV/*.wav` (16-bit PCM, 16 kHz mono),
`VideoDemographics.csv`, `SentenceFilenames.csv` and `processedResults/{tabulatedVotes,
summaryTable}.csv` in the real files' layouts, plus `SYNTHETIC.json` (how it was made).

Each actor is a head and shoulders before a green backdrop with their own face shape,
skin tone, hair, position and voice. The emotion lives only in the face geometry (brows,
eyes, mouth corners, opening, upper lip, nose wrinkle) and in the voice (pitch, energy,
brightness); it rises from a near-neutral start to an apex and falls back, at the level's
intensity (LO < MD < HI; XX about MD). Head motion, lighting drift, sensor noise, blinks
and the apex time vary per clip; nothing global (colour, brightness, backdrop, length)
depends on the class. Crowd votes are simulated from the intensity, so weak clips are
ambiguous the way real ones are (toward neutral, and ANG-DIS, FEA-SAD). Everything is a
pure function of the seed, the actor and the clip name.

With `naming="ravdess"` (`--naming ravdess`) the same generator writes a RAVDESS tree
instead: `Actor_NN/{01,02}-01-EE-II-SS-RR-NN.mp4` (full-AV and video-only H.264 files of
each spoken take, 1280x720 with `--frame_size 1280x720`), the 8 RAVDESS classes (calm and
surprise are two more expressions), no CSVs.

Modules: `actors` (actors, clip plans, face geometry), `drawing` (frames), `media` (voice,
WAV and FLV), `votes` (crowd votes and metadata CSVs), `generator` (`generate` and the CLI).
Their public names are re-exported here, so `synthetic.generate(...)` etc. work as before.
"""
from emo_jax.data.synthetic.actors import Actor
from emo_jax.data.synthetic.actors import all_clips
from emo_jax.data.synthetic.actors import ClipPlan
from emo_jax.data.synthetic.actors import EXPRESSION_CODES
from emo_jax.data.synthetic.actors import EXPRESSIONS
from emo_jax.data.synthetic.actors import expression_envelope
from emo_jax.data.synthetic.actors import face_geometries
from emo_jax.data.synthetic.actors import face_geometry
from emo_jax.data.synthetic.actors import FPS
from emo_jax.data.synthetic.actors import hash_clip
from emo_jax.data.synthetic.actors import LEVEL_INTENSITY
from emo_jax.data.synthetic.actors import make_actor
from emo_jax.data.synthetic.actors import make_clip_plan
from emo_jax.data.synthetic.actors import MAX_FRAMES
from emo_jax.data.synthetic.actors import MIN_FRAMES
from emo_jax.data.synthetic.actors import ravdess_plan_clip
from emo_jax.data.synthetic.actors import ravdess_takes
from emo_jax.data.synthetic.actors import select_clips
from emo_jax.data.synthetic.actors import speech_envelope
from emo_jax.data.synthetic.actors import STIMULUS_EMOTIONS
from emo_jax.data.synthetic.actors import SYLLABLES
from emo_jax.data.synthetic.actors import VOICES
from emo_jax.data.synthetic.actors import XX_INTENSITY_RANGE
from emo_jax.data.synthetic.drawing import render_frames
from emo_jax.data.synthetic.generator import generate
from emo_jax.data.synthetic.generator import GENERATOR_VERSION
from emo_jax.data.synthetic.generator import GenerateSummary
from emo_jax.data.synthetic.generator import main
from emo_jax.data.synthetic.generator import MARKER_FILE
from emo_jax.data.synthetic.media import FLV_SAMPLE_RATE
from emo_jax.data.synthetic.media import synthesize_speech
from emo_jax.data.synthetic.media import WAV_SAMPLE_RATE
from emo_jax.data.synthetic.media import write_flv
from emo_jax.data.synthetic.media import write_mp4
from emo_jax.data.synthetic.media import write_wav
from emo_jax.data.synthetic.votes import _levels  # tests/test_synthetic.py checks it directly.
from emo_jax.data.synthetic.votes import simulate_votes
from emo_jax.data.synthetic.votes import vote_probabilities
from emo_jax.data.synthetic.votes import write_metadata
