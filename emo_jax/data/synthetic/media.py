"""Media: the clip's synthetic voice, and its WAV and FLV files."""
import os
import wave

import av
import numpy as np

from emo_jax.data.synthetic import actors

WAV_SAMPLE_RATE = 16000
FLV_SAMPLE_RATE = 44100


def synthesize_speech(seed: int, plan: actors.ClipPlan, sample_rate: int) -> np.ndarray:
  """A voiced 'sentence' for the clip: float32 `[num_samples]` in [-1, 1].

  A harmonic tone at the actor's pitch, shaped by the clip's syllable envelope (the same
  one that opens the mouth), with the emotion's pitch level, range, loudness, tremor and
  spectral tilt scaled by the clip's intensity, plus a little breath noise.
  """
  actor = actors.make_actor(seed, plan.clip.actor)
  rng = np.random.default_rng([seed, plan.clip.actor, actors.hash_clip(plan.clip), sample_rate, 8])
  strength = plan.intensity * actor.expressivity
  neutral, target = actors.VOICES["NEU"], actors.VOICES[plan.clip.emotion]
  voice = {k: neutral[k] + strength * (target[k] - neutral[k]) for k in neutral}
  duration = plan.num_frames / float(actors.FPS)
  seconds = np.arange(int(round(duration * sample_rate))) / sample_rate
  # Pitch: a random accent per syllable, a falling declination and the emotion's tremor.
  accents = np.interp(seconds, [(a + b) / 2 for a, b in plan.syllables],
                      rng.uniform(-1, 1, len(plan.syllables)))
  f0 = actor.f0 * voice["pitch"] * (1 + voice["pitch_range"] * accents
                                    - 0.08 * seconds / duration
                                    + voice["tremor"] * np.sin(2 * np.pi * 6.0 * seconds))
  phase = 2 * np.pi * np.cumsum(f0) / sample_rate
  harmonics = np.arange(1, 11)
  amplitudes = harmonics ** -voice["tilt"] * (harmonics * f0.mean() < sample_rate / 2.2)
  tone = np.zeros_like(seconds)
  for k, amplitude in zip(harmonics, amplitudes):
    if amplitude > 0:
      tone += amplitude * np.sin(k * phase)
  tone /= amplitudes.sum()
  envelope = actors.speech_envelope(plan, seconds)
  signal = envelope * (voice["energy"] * tone + 0.03 * rng.normal(0, 1, seconds.size))
  signal += 0.002 * rng.normal(0, 1, seconds.size)  # room noise
  return np.clip(0.8 * signal, -1, 1).astype(np.float32)


def write_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int = WAV_SAMPLE_RATE):
  """Writes float `[N]` audio in [-1, 1] as 16-bit PCM mono WAV."""
  pcm = np.round(np.clip(audio, -1, 1) * 32767).astype("<i2")
  with wave.open(os.fspath(path), "wb") as f:
    f.setnchannels(1)
    f.setsampwidth(2)
    f.setframerate(sample_rate)
    f.writeframes(pcm.tobytes())


def write_flv(path: str | os.PathLike, frames, audio: np.ndarray, frame_size: tuple[int, int],
              sample_rate: int = WAV_SAMPLE_RATE):
  """Encodes I420 frames (FLV1 video, 29.97 fps) and mono audio (MP3, 44.1 kHz) into an FLV.

  Args:
    path: the .flv file to write.
    frames: iterable of uint8 `[H * 3 // 2, W]` I420 frames (render_frames(..., yuv=True)).
    audio: float32 `[N]` mono at `sample_rate`; resampled to 44.1 kHz by the encoder.
    frame_size: (width, height).
    sample_rate: of `audio`.


  FLV1 (Sorenson H.263) is what FLV players and both decord and PyAV decode; the real
  files' VP6F cannot be encoded by FFmpeg.
  """
  with av.open(os.fspath(path), "w", format="flv") as container:
    video = container.add_stream("flv", rate=actors.FPS)
    video.width, video.height = frame_size
    video.pix_fmt = "yuv420p"
    video.bit_rate = 500_000
    video.codec_context.thread_count = 1  # deterministic output
    # compression_level 9 is lame's fastest mode; plenty for a synthetic voice.
    sound = container.add_stream("libmp3lame", rate=FLV_SAMPLE_RATE,
                                 options={"compression_level": "9"})
    sound.layout = "mono"
    sound.bit_rate = 64_000
    for frame in frames:
      for packet in video.encode(av.VideoFrame.from_ndarray(frame, format="yuv420p")):
        container.mux(packet)
    for packet in video.encode():
      container.mux(packet)
    audio_frame = av.AudioFrame.from_ndarray(audio[None].astype(np.float32), format="flt",
                                             layout="mono")
    audio_frame.sample_rate = sample_rate
    for packet in sound.encode(audio_frame):
      container.mux(packet)
    for packet in sound.encode():
      container.mux(packet)


MP4_SAMPLE_RATE = 48000


def write_mp4(path: str | os.PathLike, frames, audio: np.ndarray | None,
              frame_size: tuple[int, int], sample_rate: int = WAV_SAMPLE_RATE):
  """Encodes I420 frames (H.264, 29.97 fps) and, unless None, mono audio (AAC, 48 kHz).

  As RAVDESS's files: full-AV ones have both streams, video-only ones (audio=None) only
  the video. Arguments as `write_flv`.
  """
  with av.open(os.fspath(path), "w", format="mp4") as container:
    video = container.add_stream("libx264", rate=actors.FPS,
                                 options={"preset": "veryfast", "crf": "23"})
    video.width, video.height = frame_size
    video.pix_fmt = "yuv420p"
    video.codec_context.thread_count = 1  # deterministic output
    sound = None
    if audio is not None:
      sound = container.add_stream("aac", rate=MP4_SAMPLE_RATE)
      sound.layout = "mono"
      sound.bit_rate = 64_000
    for frame in frames:
      for packet in video.encode(av.VideoFrame.from_ndarray(frame, format="yuv420p")):
        container.mux(packet)
    for packet in video.encode():
      container.mux(packet)
    if sound is not None:
      # The AAC encoder takes planar float frames of its own size, resampled to 48 kHz.
      resampler = av.AudioResampler(format="fltp", layout="mono", rate=MP4_SAMPLE_RATE,
                                    frame_size=sound.codec_context.frame_size or 1024)
      audio_frame = av.AudioFrame.from_ndarray(audio[None].astype(np.float32), format="flt",
                                               layout="mono")
      audio_frame.sample_rate = sample_rate
      for resampled in [*resampler.resample(audio_frame), *resampler.resample(None)]:
        for packet in sound.encode(resampled):
          container.mux(packet)
      for packet in sound.encode():
        container.mux(packet)
