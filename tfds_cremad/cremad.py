"""TFDS builder `cremad`: decoded, face-cropped CREMA-D clips packed into array_record."""
import dataclasses
import json
import os
import pathlib
import shutil
import tempfile
import time

import numpy as np
import tensorflow_datasets as tfds
import tqdm

from emo_jax.data import cremad as cremad_data
from emo_jax.data import preprocess
from emo_jax.data import verify
from tfds_cremad import parallel
from tfds_cremad import record_index

# The one stored split. TFDS reserves the name "all" for the union of all splits, so read
# every record with `split="all"` (same records, same order) and pick folds by actor.
SPLIT = "clips"
VERIFY_MODES = ("sizes", "hashes", "off")
SAMPLE_RATE = 16000
NO_VOTE = cremad_data.NO_VOTE
_SYNTHETIC_MARKER = ".complete"


# Bump when what the builder writes changes for the same config and sources (features,
# decoding, frame sampling, cropping, clip selection): a packed set records the
# fingerprint of everything its content depends on, and a stale one is rebuilt or refused.
PACKING_CODE_VERSION = 2
_CONFIG_FIELDS = ("num_frames", "size", "grayscale", "synthetic", "num_actors",
                  "clips_per_actor", "seed", "source_frame_size")


def packing_inputs(config: "CremadConfig") -> dict:
  """Everything a packed set's content depends on besides the source files themselves."""
  import inspect  # pylint: disable=g-import-not-at-top
  from emo_jax.data import faces  # pylint: disable=g-import-not-at-top
  crop_defaults = {name: p.default for name, p in
                   inspect.signature(faces.crop_faces).parameters.items()
                   if p.default is not inspect.Parameter.empty}
  inputs = {
      "code_version": PACKING_CODE_VERSION,
      "config": {name: getattr(config, name) for name in _CONFIG_FIELDS},
      "sample_rate": SAMPLE_RATE,
      "crop": {"detect_height": faces.DETECT_HEIGHT,
               "fallback_side_share": faces.FALLBACK_SIDE_SHARE,
               "fallback_centre_y_share": faces.FALLBACK_CENTRE_Y_SHARE, **crop_defaults},
  }
  if config.synthetic:
    from emo_jax.data import synthetic  # pylint: disable=g-import-not-at-top
    inputs["generator_version"] = synthetic.GENERATOR_VERSION
  return json.loads(json.dumps(inputs, default=list))


def packing_fingerprint(config: "CremadConfig") -> str:
  """12 hex digits of a hash of `packing_inputs(config)`."""
  import hashlib  # pylint: disable=g-import-not-at-top
  text = json.dumps(packing_inputs(config), sort_keys=True)
  return hashlib.sha256(text.encode()).hexdigest()[:12]


class MissingSourceError(FileNotFoundError):
  """The CREMA-D clone (manual dir) to build from is missing or incomplete."""


@dataclasses.dataclass
class CremadConfig(tfds.core.BuilderConfig):
  """Clip shape and source of a packed CREMA-D.

  Attributes:
    num_frames: T, frames sampled uniformly over each clip.
    size: S, side of the square face crops.
    grayscale: C = 1 (grey) or 3 (RGB).
    synthetic: build from a synthetic CREMA-D-like tree generated first (into the
      download dir) instead of a real clone in the manual dir.
    num_actors: synthetic only: actors 1001..1000+num_actors.
    clips_per_actor: synthetic only: a class-balanced subset per actor (None: all 82).
    seed: synthetic only: the generator's seed.
    source_frame_size: synthetic only: (width, height) of the generated videos (the
      real clips are 480x360).
  """
  num_frames: int = 16
  size: int = 112
  grayscale: bool = True
  synthetic: bool = False
  num_actors: int = 10
  clips_per_actor: int | None = None
  seed: int = 0
  source_frame_size: tuple[int, int] = (480, 360)

  @property
  def channels(self) -> int:
    return 1 if self.grayscale else 3


def _make_configs() -> list[CremadConfig]:
  shapes = (("g16_112", 16, 112, True), ("rgb16_112", 16, 112, False), ("g8_64", 8, 64, True))
  configs = []
  for synthetic in (False, True):
    for name, num_frames, size, grayscale in shapes:
      colour = "grey" if grayscale else "RGB"
      source = ("a synthetic 10-actor CREMA-D-like tree (seed 0), generated first" if synthetic
                else "a CREMA-D clone in the manual dir")
      configs.append(CremadConfig(
          name=f"synthetic_{name}" if synthetic else name,
          description=f"{num_frames} frames, {size}x{size} {colour} face crops, from {source}.",
          num_frames=num_frames, size=size, grayscale=grayscale, synthetic=synthetic))
  configs.append(CremadConfig(
      name="synthetic30_g8_64",
      description=("The quickstart's set: 30 synthetic actors x 30 clips (5 per emotion), 8 "
                   "frames, 64x64 grey. Telling emotions apart in actors never seen needs many "
                   "actors more than many clips of each; this costs what 10 x 82 costs."),
      num_frames=8, size=64, grayscale=True, synthetic=True, num_actors=30, clips_per_actor=30))
  configs.append(CremadConfig(
      name="synthetic_tiny",
      description=("For tests: 4 synthetic actors x 6 clips of 160x120 video, 4 frames, "
                   "32x32 grey."),
      num_frames=4, size=32, grayscale=True, synthetic=True, num_actors=4, clips_per_actor=6,
      source_frame_size=(160, 120)))
  configs.append(CremadConfig(
      name="synthetic_tiny10",
      description=("For tests of the 5-fold protocol: 10 synthetic actors x 6 clips of 160x120 "
                   "video, 4 frames, 32x32 grey."),
      num_frames=4, size=32, grayscale=True, synthetic=True, num_actors=10, clips_per_actor=6,
      source_frame_size=(160, 120)))
  return configs


def decode_clip(job: tuple[str, int, int, bool]) -> dict[str, np.ndarray | float]:
  """Runs in a worker process: decodes and face-crops one clip (see preprocess.load_clip)."""
  path, num_frames, size, grayscale = job
  clip = preprocess.load_clip(path, num_frames=num_frames, size=size, grayscale=grayscale,
                              with_audio=True, sample_rate=SAMPLE_RATE)
  return {"frames": clip.frames, "audio": clip.audio,
          "face_found_ratio": float(clip.face_found_ratio)}


def synthetic_tree(config: CremadConfig, download_dir: str | os.PathLike,
                   num_workers: int | None = None, naming: str = "cremad") -> pathlib.Path:
  """Generates the synthetic tree of `config` once under `download_dir`; returns its root.

  The tree depends only on seed, actors, clips per actor and video size, so all crop
  shapes share it. A tree written by an older generator version (its SYNTHETIC.json) is
  generated again. `naming="ravdess"` makes a RAVDESS tree (any config with the same
  synthetic fields, e.g. `tfds_cremad.ravdess.RavdessConfig`).
  """
  from emo_jax.data import synthetic  # Local import: only synthetic configs need it.
  download_dir = pathlib.Path(download_dir)
  width, height = config.source_frame_size
  root = download_dir / (f"synthetic_{naming}-seed{config.seed}-actors{config.num_actors}"
                         f"-clips{config.clips_per_actor or 'all'}-{width}x{height}")
  current = _generator_version(root) == synthetic.GENERATOR_VERSION
  if (root / _SYNTHETIC_MARKER).exists() and current:
    return root
  download_dir.mkdir(parents=True, exist_ok=True)
  staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=download_dir))
  try:
    synthetic.generate(staging, num_actors=config.num_actors, seed=config.seed,
                       clips_per_actor=config.clips_per_actor,
                       frame_size=config.source_frame_size, naming=naming,
                       num_workers=None if num_workers is None else max(num_workers, 1))
    (staging / _SYNTHETIC_MARKER).touch()
    shutil.rmtree(root, ignore_errors=True)
    staging.rename(root)
  finally:
    shutil.rmtree(staging, ignore_errors=True)
  return root


def _generator_version(root: pathlib.Path) -> int | None:
  """The generator version recorded in a synthetic tree, or None when unreadable."""
  from emo_jax.data import synthetic  # Local import, as in synthetic_tree.
  try:
    return json.loads((root / synthetic.MARKER_FILE).read_text()).get("version")
  except (OSError, ValueError):
    return None


class Cremad(tfds.core.GeneratorBasedBuilder):
  """CREMA-D (Cao et al., 2014): 7,442 clips of 91 actors, 6 emotions, decoded once.

  Each record holds T face-cropped frames and the 16 kHz audio of one clip with its
  labels and metadata; see `_info`. Clips that fail to decode are skipped and listed in
  `info.metadata["skipped_clips"]`. `record_index.json` beside the records gives the
  actor, label and clip name of every record (`tfds_cremad.load_index`).
  """

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = _make_configs()
  # The split a run uses unless config.data.split says otherwise (emo_jax/data/splits.py);
  # records are split by their `actor` when read.
  DEFAULT_SPLIT = "hicmae5:fold=1"
  CLASS_NAMES = cremad_data.EMOTIONS
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  Clone CREMA-D with Git LFS (the GitHub zip download holds only LFS pointer stubs):

    {cremad_data.CLONE_COMMAND}

  (about 2.4 GB of video) and pass the clone's root as the manual dir:
  `python -m tfds_cremad.build --config g16_112 --data_dir DIR --manual_dir /path/to/CREMA-D`.
  The clone is verified first (Git LFS stubs, missing or truncated files).
  The synthetic_* configs need no download.
  """

  def __init__(self, *, num_workers: int | None = None, verify: str = "sizes",
               clip_timeout_s: float = 300.0, **kwargs):
    """See tfds.core.DatasetBuilder; these only change how the records are made.

    Args:
      num_workers: decoding processes (default: all CPUs); 0 decodes in this process.
      verify: check the clone before decoding: "sizes" (fast), "hashes" (sha256 of
        every file, ~1 min) or "off" (bad files then fail to decode and are skipped).
      clip_timeout_s: a clip whose decoding takes longer (hung or crashed decoder) is
        skipped.
      **kwargs: config, data_dir, ... as for any TFDS builder.
    """
    if verify not in VERIFY_MODES:
      raise ValueError(f"verify must be one of {', '.join(VERIFY_MODES)}, got {verify!r}")
    self._num_workers = (os.cpu_count() or 1) if num_workers is None else num_workers
    self._verify = verify
    self._clip_timeout_s = clip_timeout_s
    # TFRecord, the TFDS default, needs TensorFlow to write; array_record does not.
    kwargs.setdefault("file_format", "array_record")
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    config = self.builder_config
    shape = (config.num_frames, config.size, config.size, config.channels)
    return self.dataset_info_from_configs(
        description=("CREMA-D clips decoded once: uniformly sampled face-cropped frames "
                     "and 16 kHz mono audio, with labels, crowd votes and demographics."),
        features=tfds.features.FeaturesDict({
            "frames": tfds.features.Tensor(shape=shape, dtype=np.uint8,
                                           encoding=tfds.features.Encoding.BYTES),
            "audio": tfds.features.Tensor(shape=(None,), dtype=np.float32,
                                          encoding=tfds.features.Encoding.BYTES),
            "label": tfds.features.ClassLabel(names=cremad_data.EMOTIONS),
            "level": tfds.features.Text(),
            "actor": tfds.features.Scalar(dtype=np.int64),
            "sentence": tfds.features.Text(),
            "clip_name": tfds.features.Text(),
            "age": tfds.features.Scalar(dtype=np.int64),
            "sex": tfds.features.Text(),
            "race": tfds.features.Text(),
            "ethnicity": tfds.features.Text(),
            "vote_distribution": tfds.features.Tensor(shape=(len(cremad_data.EMOTIONS),),
                                                      dtype=np.float32),
            "face_vote": tfds.features.Scalar(dtype=np.int64),
            "face_found_ratio": tfds.features.Scalar(dtype=np.float32),
        }),
        supervised_keys=("frames", "label"),
        homepage="https://github.com/CheyneyComputerScience/CREMA-D",
        citation="""@article{cao2014crema,
  title={{CREMA-D}: Crowd-sourced emotional multimodal actors dataset},
  author={Cao, Houwei and Cooper, David G and Keutmann, Michael K and Gur, Ruben C and
          Nenkova, Ani and Verma, Ragini},
  journal={IEEE Transactions on Affective Computing}, volume={5}, number={4},
  pages={377--390}, year={2014}}""",
        metadata=tfds.core.MetadataDict(),
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    config = self.builder_config
    if config.synthetic:
      root = synthetic_tree(config, dl_manager.download_dir, self._num_workers)
      source = (f"synthetic tree {root} (seed {config.seed}, {config.num_actors} actors, "
                f"clips per actor: {config.clips_per_actor or 'all'})")
    else:
      root = self._find_clone(dl_manager)
      source = f"CREMA-D clone {root}"
    found = cremad_data.list_clips(root, exclude_broken=False)
    clips = [clip for clip in found if clip.name not in cremad_data.BROKEN_CLIPS]
    metadata = cremad_data.load_metadata(root, require_all=not config.synthetic)
    self.info.metadata.update({
        "packing": packing_inputs(config),
        "packing_fingerprint": packing_fingerprint(config),
        "source": source,
        "num_clips_found": len(found),
        "excluded_broken_clips": sorted(c.name for c in found if c not in clips),
    })
    return {SPLIT: self._generate_examples(root, clips, metadata)}

  def _find_clone(self, dl_manager: tfds.download.DownloadManager) -> pathlib.Path:
    """The manual dir, checked to be a CREMA-D clone and (unless off) verified."""
    try:
      root = pathlib.Path(os.fspath(dl_manager.manual_dir))
    except AssertionError:  # TFDS's way of saying the manual dir is absent or empty.
      given = dl_manager._manual_dir  # pylint: disable=protected-access
      raise MissingSourceError(
          f"no CREMA-D clone given for {self.builder_config.name} (the manual dir {given} "
          "is missing or empty): get it with "
          f"`{cremad_data.CLONE_COMMAND}` and pass --manual_dir /path/to/CREMA-D, or "
          "build a synthetic_* config") from None
    if not (root / "VideoFlash").is_dir():
      raise MissingSourceError(
          f"{root} is not a CREMA-D clone (no VideoFlash/ folder): get it with "
          f"`{cremad_data.CLONE_COMMAND}` and pass its root as --manual_dir")
    if self._verify != "off":
      report = verify.verify_clone(root, check_hashes=self._verify == "hashes")
      if not report.ok:
        raise verify.CloneVerificationError(
            report.format() + "\nFix the clone, or build with verify='off' (--verify off) "
            "to skip the bad clips.")
    return root

  def _generate_examples(self, root, clips, metadata):
    config = self.builder_config
    jobs = [(os.path.join(root, "VideoFlash", f"{clip.name}.flv"), config.num_frames,
             config.size, config.grayscale) for clip in clips]
    face_votes = metadata.face_votes
    # The model sees only the face, so its soft labels are the raters' face-only votes
    # (tabulatedVotes.csv has one row per clip and modality: voice, face, audio-visual).
    face_only_votes = metadata.votes_by_modality.get("face") or metadata.votes
    skipped, num_without_votes = [], 0
    start = time.monotonic()
    results = parallel.map_unordered(decode_clip, jobs, self._num_workers,
                                     self._clip_timeout_s)
    for index, result in tqdm.tqdm(results, total=len(jobs), unit="clip", disable=None,
                                   desc=f"decoding cremad/{config.name}"):
      clip = clips[index]
      if isinstance(result, parallel.Failure):
        skipped.append({"clip_name": clip.name, "error": result.message})
        continue
      votes = face_only_votes.get(clip.name)
      if votes is None or votes.num_responses == 0:
        num_without_votes += 1
        vote_distribution = np.eye(len(cremad_data.EMOTIONS), dtype=np.float32)[clip.label]
      else:
        vote_distribution = votes.distribution
      demographics = metadata.demographics.get(clip.actor)
      yield clip.name, {
          **result,
          "label": clip.label,
          "level": clip.level,
          "actor": clip.actor,
          "sentence": clip.sentence,
          "clip_name": clip.name,
          "age": demographics.age if demographics else -1,
          "sex": demographics.sex if demographics else "",
          "race": demographics.race if demographics else "",
          "ethnicity": demographics.ethnicity if demographics else "",
          "vote_distribution": vote_distribution,
          "face_vote": face_votes.get(clip.name, NO_VOTE),
      }
    self.info.metadata.update(parallel.build_summary(
        f"clips in {root}", len(jobs), skipped, start, self._num_workers))
    self.info.metadata["num_without_votes"] = num_without_votes

  def _post_download_and_prepare_hook(self) -> None:
    record_index.write_index(self)
