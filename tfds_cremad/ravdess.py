"""TFDS builder `ravdess`: RAVDESS video clips, face-cropped by the same path as CREMA-D."""
import dataclasses
import os
import pathlib
import time

import numpy as np
import tensorflow_datasets as tfds
import tqdm

from emo_jax.data import preprocess
from emo_jax.data import ravdess as ravdess_data
from tfds_cremad import cremad
from tfds_cremad import parallel
from tfds_cremad import record_index

SPLIT = cremad.SPLIT  # One stored split, read with split="all"; folds are chosen by actor.
MODALITIES = ("any", "av", "video", "both")
VOCAL_CHANNELS = {"speech": (1,), "song": (2,), "both": (1, 2)}


@dataclasses.dataclass
class RavdessConfig(tfds.core.BuilderConfig):
  """Clip shape and source of a packed RAVDESS.

  Attributes:
    num_frames, size, grayscale: as `CremadConfig`.
    modality: which video files: "any" (one per take: full-AV, else video-only), "av",
      "video" or "both" (every video file; each take twice).
    vocal_channel: "speech", "song" or "both".
    synthetic, num_actors, clips_per_actor, seed, source_frame_size: as `CremadConfig`,
      for a synthetic RAVDESS tree (actors 1..num_actors, `clips_per_actor` spoken takes,
      each as a full-AV and a video-only file).
  """
  num_frames: int = 16
  size: int = 112
  grayscale: bool = True
  modality: str = "any"
  vocal_channel: str = "both"
  synthetic: bool = False
  num_actors: int = 24
  clips_per_actor: int | None = None
  seed: int = 0
  source_frame_size: tuple[int, int] = (1280, 720)

  @property
  def channels(self) -> int:
    return 1 if self.grayscale else 3


def _make_configs() -> list[RavdessConfig]:
  configs = []
  for name, num_frames, size, grayscale in (("g16_112", 16, 112, True),
                                            ("rgb16_112", 16, 112, False),
                                            ("g8_64", 8, 64, True)):
    colour = "grey" if grayscale else "RGB"
    configs.append(RavdessConfig(
        name=name, num_frames=num_frames, size=size, grayscale=grayscale,
        description=(f"{num_frames} frames, {size}x{size} {colour} face crops of every "
                     "speech and song take (full-AV file, else video-only) in the manual dir.")))
  configs.append(RavdessConfig(
      name="synthetic_g8_64",
      description=("24 synthetic actors x 16 spoken takes of 1280x720 video (the real size), "
                   "8 frames, 64x64 grey."),
      num_frames=8, size=64, synthetic=True, num_actors=24, clips_per_actor=16))
  configs.append(RavdessConfig(
      name="synthetic_tiny",
      description=("For tests: 6 synthetic actors x 8 takes of 160x120 video, 4 frames, 32x32 "
                   "grey (the shape of cremad/synthetic_tiny)."),
      num_frames=4, size=32, synthetic=True, num_actors=6, clips_per_actor=8,
      source_frame_size=(160, 120)))
  return configs


def decode_clip(job: tuple[str, int, int, bool, bool]) -> dict[str, np.ndarray | float]:
  """Runs in a worker process: decodes and face-crops one clip (see preprocess.load_clip).

  Video-only files have no audio: their `audio` is empty.
  """
  path, num_frames, size, grayscale, with_audio = job
  clip = preprocess.load_clip(path, num_frames=num_frames, size=size, grayscale=grayscale,
                              with_audio=with_audio, sample_rate=cremad.SAMPLE_RATE)
  audio = clip.audio if with_audio else np.zeros((0,), np.float32)
  return {"frames": clip.frames, "audio": audio,
          "face_found_ratio": float(clip.face_found_ratio)}


class Ravdess(tfds.core.GeneratorBasedBuilder):
  """RAVDESS (Livingstone & Russo, 2018): 24 actors, 8 emotions, 1280x720 video, decoded once.

  Records and metadata as `cremad` (one split `clips`, `record_index.json` with actor,
  label and clip name per record; clips that fail to decode are skipped and listed).
  """

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = _make_configs()
  CLASS_NAMES = ravdess_data.EMOTIONS
  DEFAULT_SPLIT = "ravdess6:fold=1"  # Split by actor when read (emo_jax/data/splits.py).
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Download the video zips of RAVDESS from https://zenodo.org/record/1188976
  (Video_Speech_Actor_01.zip .. Video_Speech_Actor_24.zip and, for song,
  Video_Song_Actor_NN.zip; CC BY-NC-SA 4.0) and pass their folder as the manual dir:
  `python -m tfds_cremad.build --config ravdess/g16_112 --data_dir DIR --manual_dir /path`.
  The zips are extracted once into DIR/downloads; a folder of Actor_NN/ already extracted
  works too. The synthetic_* configs need no download.
  """

  def __init__(self, *, num_workers: int | None = None, clip_timeout_s: float = 300.0,
               **kwargs):
    """Args as `Cremad` (num_workers, clip_timeout_s), less `verify`."""
    self._num_workers = (os.cpu_count() or 1) if num_workers is None else num_workers
    self._clip_timeout_s = clip_timeout_s
    kwargs.setdefault("file_format", "array_record")  # No TensorFlow needed to write.
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    config = self.builder_config
    shape = (config.num_frames, config.size, config.size, config.channels)
    return self.dataset_info_from_configs(
        description=("RAVDESS video clips decoded once: uniformly sampled face-cropped frames "
                     "and 16 kHz mono audio (empty for video-only files), with the fields of "
                     "the file name."),
        features=tfds.features.FeaturesDict({
            "frames": tfds.features.Tensor(shape=shape, dtype=np.uint8,
                                           encoding=tfds.features.Encoding.BYTES),
            "audio": tfds.features.Tensor(shape=(None,), dtype=np.float32,
                                          encoding=tfds.features.Encoding.BYTES),
            "label": tfds.features.ClassLabel(names=ravdess_data.EMOTIONS),
            "actor": tfds.features.Scalar(dtype=np.int64),
            "sex": tfds.features.Text(),
            "modality": tfds.features.Scalar(dtype=np.int64),
            "vocal_channel": tfds.features.Scalar(dtype=np.int64),
            "intensity": tfds.features.Scalar(dtype=np.int64),
            "statement": tfds.features.Scalar(dtype=np.int64),
            "repetition": tfds.features.Scalar(dtype=np.int64),
            "clip_name": tfds.features.Text(),
            "face_found_ratio": tfds.features.Scalar(dtype=np.float32),
        }),
        supervised_keys=("frames", "label"),
        homepage="https://zenodo.org/record/1188976",
        citation="""@article{livingstone2018ryerson,
  title={The {Ryerson} Audio-Visual Database of Emotional Speech and Song ({RAVDESS})},
  author={Livingstone, Steven R and Russo, Frank A},
  journal={PLoS ONE}, volume={13}, number={5}, pages={e0196391}, year={2018}}""",
        metadata=tfds.core.MetadataDict(),
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    config = self.builder_config
    if config.synthetic:
      root = cremad.synthetic_tree(config, dl_manager.download_dir, self._num_workers,
                                   naming="ravdess")
      source = f"synthetic RAVDESS tree {root}"
    else:
      try:
        root = pathlib.Path(os.fspath(dl_manager.manual_dir))
      except AssertionError:  # TFDS's way of saying the manual dir is absent or empty.
        given = dl_manager._manual_dir  # pylint: disable=protected-access
        raise FileNotFoundError(
            f"no RAVDESS source given for ravdess/{config.name} (the manual dir {given} is "
            "missing or empty): download Video_Speech_Actor_NN.zip (and Video_Song_*) from "
            "https://zenodo.org/record/1188976 and pass their folder as --manual_dir") from None
      source = f"RAVDESS folder {root}"
    actor_dirs = ravdess_data.find_actor_dirs(
        root, cache_dir=pathlib.Path(os.fspath(dl_manager.download_dir)) / "ravdess_extracted")
    listing = ravdess_data.list_clips(actor_dirs, config.modality,
                                      VOCAL_CHANNELS[config.vocal_channel])
    if not listing.clips:
      raise ValueError(f"{root}: no RAVDESS video files of modality {config.modality!r} and "
                       f"vocal channel {config.vocal_channel!r} in {len(actor_dirs)} Actor_NN "
                       f"folder(s); passed over: {listing.skipped[:5]}")
    self.info.metadata.update({"source": source, "num_files_passed_over": len(listing.skipped),
                               "files_passed_over": listing.skipped})
    return {SPLIT: self._generate_examples(listing.clips)}

  def _generate_examples(self, clips):
    config = self.builder_config
    jobs = [(os.fspath(c.path), config.num_frames, config.size, config.grayscale,
             c.clip.has_audio) for c in clips]
    skipped = []
    start = time.monotonic()
    results = parallel.map_unordered(decode_clip, jobs, self._num_workers,
                                     self._clip_timeout_s)
    for index, result in tqdm.tqdm(results, total=len(jobs), unit="clip", disable=None,
                                   desc=f"decoding ravdess/{config.name}"):
      clip = clips[index].clip
      if isinstance(result, parallel.Failure):
        skipped.append({"clip_name": clip.name, "error": result.message})
        continue
      yield clip.name, {
          **result,
          "label": clip.label,
          "actor": clip.actor,
          "sex": clip.sex,
          "modality": clip.modality,
          "vocal_channel": clip.vocal_channel,
          "intensity": clip.intensity,
          "statement": clip.statement,
          "repetition": clip.repetition,
          "clip_name": clip.name,
      }
    self.info.metadata.update(parallel.build_summary(
        "RAVDESS clips", len(jobs), skipped, start, self._num_workers))

  def _post_download_and_prepare_hook(self) -> None:
    record_index.write_index(self)
