"""Writes a synthetic CREMA-D tree (`generate`) and its command line (`main`)."""
import argparse
import dataclasses
import json
import multiprocessing
import os
import pathlib
import sys
import time

import cv2

from emo_jax.data import cremad
from emo_jax.data import ravdess
from emo_jax.data.synthetic import actors as actors_lib
from emo_jax.data.synthetic import drawing
from emo_jax.data.synthetic import media
from emo_jax.data.synthetic import votes

MARKER_FILE = "SYNTHETIC.json"
# Bumped whenever the same arguments would give different files, so that trees written
# by an older generator are not reused (tfds_cremad.cremad.synthetic_tree checks it).
# 2: light from one side and more head sway.
GENERATOR_VERSION = 2


@dataclasses.dataclass(frozen=True)
class GenerateSummary:
  """What `generate` wrote."""
  root: str
  actors: tuple[int, ...]
  num_clips: int
  num_frames: int
  frame_size: tuple[int, int]
  seed: int
  wall_seconds: float


NAMINGS = ("cremad", "ravdess")


def _write_ravdess_take(task) -> int:
  """Renders one RAVDESS take once and writes it as each asked modality's .mp4."""
  root, seed, take, frame_size, modalities = task
  plan = actors_lib.make_clip_plan(seed, actors_lib.ravdess_plan_clip(take))
  frames = list(drawing.render_frames(seed, plan, frame_size, yuv=True))
  audio = media.synthesize_speech(seed, plan, media.WAV_SAMPLE_RATE) if 1 in modalities else None
  for modality in modalities:
    name = dataclasses.replace(take, modality=modality).name
    final = os.path.join(root, f"Actor_{take.actor:02d}", name + ".mp4")
    partial = final + ".partial"
    media.write_mp4(partial, frames, audio if modality == 1 else None, frame_size)
    os.replace(partial, final)
  return plan.num_frames


def _write_clip(task) -> int:
  """Renders, encodes and writes one clip's FLV and WAV; returns its frame count."""
  if len(task) == 5:
    return _write_ravdess_take(task)
  root, seed, clip, frame_size = task
  plan = actors_lib.make_clip_plan(seed, clip)
  audio = media.synthesize_speech(seed, plan, media.WAV_SAMPLE_RATE)
  for folder, suffix in (("AudioWAV", ".wav"), ("VideoFlash", ".flv")):
    final = os.path.join(root, folder, clip.name + suffix)
    partial = final + ".partial"  # renamed when complete: no half-written clip survives
    if suffix == ".wav":
      media.write_wav(partial, audio)
    else:
      media.write_flv(partial, drawing.render_frames(seed, plan, frame_size, yuv=True), audio,
                      frame_size)
    os.replace(partial, final)
  return plan.num_frames


def _init_worker():
  cv2.setNumThreads(1)  # one process per core already


def _prepare_out_dir(root: pathlib.Path, overwrite: bool) -> None:
  """Creates `root`, or empties the synthetic files of a previous tree there."""
  if root.exists() and not root.is_dir():
    raise NotADirectoryError(f"--out {root} is a file; give a directory for the synthetic tree")
  if root.exists() and any(root.iterdir()) and not (root / MARKER_FILE).exists():
    if not overwrite:
      raise FileExistsError(
          f"--out {root} is not empty and holds no {MARKER_FILE}, so it is not a synthetic "
          "tree made by this module (it may be real data). Choose an empty or new directory, "
          "or pass overwrite=True (--overwrite) to replace its VideoFlash/*.flv, "
          "AudioWAV/*.wav and CSV files.")
  stale = [*root.glob("VideoFlash/*.flv*"), *root.glob("AudioWAV/*.wav*"),
           *root.glob("processedResults/*.csv"), *root.glob("*.csv"), root / MARKER_FILE,
           *root.glob("Actor_[0-9][0-9]/*.mp4*")]
  for path in stale:
    path.unlink(missing_ok=True)
  root.mkdir(parents=True, exist_ok=True)


def _check_args(num_actors, seed, clips_per_actor, num_workers, frame_size, sentences,
                naming="cremad"):
  if naming not in NAMINGS:
    raise ValueError(f"naming must be one of {', '.join(NAMINGS)}, got {naming!r}")
  all_actors = cremad.ACTORS if naming == "cremad" else ravdess.ACTORS
  if not isinstance(num_actors, int) or not 1 <= num_actors <= len(all_actors):
    raise ValueError(f"num_actors must be an integer from 1 to {len(all_actors)} ({naming} "
                     f"has actors {all_actors[0]}-{all_actors[-1]}), got {num_actors!r}")
  if not isinstance(seed, int) or seed < 0:
    raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
  if clips_per_actor is not None and (not isinstance(clips_per_actor, int)
                                      or clips_per_actor < 1):
    raise ValueError(f"clips_per_actor must be a positive integer or None (all 82), got "
                     f"{clips_per_actor!r}")
  if not isinstance(num_workers, int) or num_workers < 1:
    raise ValueError(f"num_workers must be a positive integer, got {num_workers!r}")
  if (len(frame_size) != 2 or any(not isinstance(v, int) or v < 64 or v % 2 for v in frame_size)):
    raise ValueError(f"frame_size must be (width, height), even integers >= 64, got "
                     f"{frame_size!r}")
  unknown = [s for s in sentences if s not in cremad.SENTENCES]
  if not sentences or unknown:
    raise ValueError(f"sentences must be a non-empty subset of {', '.join(cremad.SENTENCES)}; "
                     f"unknown: {unknown}")


def generate(out_dir: str | os.PathLike, num_actors: int = 10, seed: int = 0,
             clips_per_actor: int | None = None, num_workers: int | None = None,
             frame_size: tuple[int, int] = (480, 360), sentences=None,
             overwrite: bool = False, naming: str = "cremad",
             modalities: tuple[int, ...] = (1, 2)) -> GenerateSummary:
  """Writes a synthetic CREMA-D tree for actors 1001..1000+num_actors into `out_dir`.

  With naming="ravdess" it writes a RAVDESS tree instead: actors 1..num_actors (<= 24),
  `Actor_NN/MM-01-EE-II-SS-RR-NN.mp4` (H.264, AAC audio in full-AV files), one file per
  modality in `modalities` (1 full-AV, 2 video-only) for each spoken take, the 8 RAVDESS
  classes (calm and surprised drawn as their own expressions), no metadata CSVs.
  `clips_per_actor` then counts takes (all 60 when None); use frame_size=(1280, 720) for
  the real size. The same actors, faces and plans machinery draws both.

  Args:
    out_dir: new or empty directory, or a previous synthetic tree (replaced).
    num_actors: 1..91.
    seed: the whole tree is a pure function of the seed and the other arguments; the
      same clip name gets the same content whatever the subset.
    clips_per_actor: None for all 82 CREMA-D clips per actor, else a class-balanced
      subset of that many (e.g. 12 for a fast test set).
    num_workers: processes rendering clips; defaults to the usable CPU cores.
    frame_size: (width, height), even, >= 64; the real clips are 480x360.
    sentences: subset of cremad.SENTENCES (default all 12).
    overwrite: allow writing into a non-empty directory that is not a synthetic tree.
    naming: "cremad" or "ravdess" (see above).
    modalities: ravdess only: the RAVDESS modality codes to write for each take.

  Returns:
    GenerateSummary.
  """
  started = time.perf_counter()
  sentences = tuple(cremad.SENTENCES if sentences is None else sentences)
  frame_size = tuple(frame_size)
  if num_workers is None:
    num_workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
  _check_args(num_actors, seed, clips_per_actor, num_workers, frame_size, sentences, naming)
  modalities = tuple(modalities)
  if naming == "ravdess" and (not modalities or set(modalities) - {1, 2}):
    raise ValueError(f"modalities must be a non-empty subset of (1, 2) (full-AV, "
                     f"video-only), got {modalities!r}")
  root = pathlib.Path(out_dir)
  _prepare_out_dir(root, overwrite)
  if naming == "ravdess":
    actors = ravdess.ACTORS[:num_actors]
    clips = [take for actor in actors
             for take in actors_lib.ravdess_takes(actor, seed, clips_per_actor)]
    for actor in actors:
      (root / f"Actor_{actor:02d}").mkdir(exist_ok=True)
    tasks = [(os.fspath(root), seed, take, frame_size, modalities) for take in clips]
  else:
    for folder in ("VideoFlash", "AudioWAV", "processedResults"):
      (root / folder).mkdir(exist_ok=True)
    actors = cremad.ACTORS[:num_actors]
    clips = [clip for actor in actors
             for clip in actors_lib.select_clips(actor, seed, clips_per_actor, sentences)]
    tasks = [(os.fspath(root), seed, clip, frame_size) for clip in clips]
  num_workers = min(num_workers, len(tasks))
  if num_workers == 1:
    num_frames = sum(map(_write_clip, tasks))
  else:
    # spawn, not fork: the parent may have started JAX's threads.
    context = multiprocessing.get_context("spawn")
    with context.Pool(num_workers, initializer=_init_worker) as pool:
      num_frames = sum(pool.imap(_write_clip, tasks, chunksize=4))
  if naming == "cremad":
    votes.write_metadata(root, seed, actors, clips)
  marker = dict(generator="emo_jax.data.synthetic", version=GENERATOR_VERSION, seed=seed,
                naming=naming,
                num_actors=num_actors, clips_per_actor=clips_per_actor,
                sentences=list(sentences), frame_size=list(frame_size), num_clips=len(clips))
  (root / MARKER_FILE).write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n")
  return GenerateSummary(root=os.fspath(root), actors=tuple(actors), num_clips=len(clips),
                         num_frames=int(num_frames), frame_size=frame_size, seed=seed,
                         wall_seconds=time.perf_counter() - started)


def main(argv=None) -> GenerateSummary:
  package_doc = sys.modules[__package__].__doc__  # emo_jax.data.synthetic's, as in its help
  parser = argparse.ArgumentParser(
      prog="python -m emo_jax.data.synthetic", description=package_doc.splitlines()[0])
  parser.add_argument("--out", required=True, help="output directory (new, empty or synthetic)")
  parser.add_argument("--actors", type=int, default=10, help="number of actors, 1..91")
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--clips_per_actor", type=int, default=None,
                      help="class-balanced subset per actor (default: all 82 CREMA-D clips or "
                      "60 RAVDESS takes)")
  parser.add_argument("--sentences", default=None,
                      help="comma-separated sentence codes, e.g. IEO,DFA (default: all 12)")
  parser.add_argument("--num_workers", type=int, default=None, help="default: CPU cores")
  parser.add_argument("--frame_size", default="480x360", help="WIDTHxHEIGHT, even, >= 64")
  parser.add_argument("--naming", default="cremad", choices=NAMINGS,
                      help="file layout and class set (ravdess: Actor_NN/*.mp4, 8 classes)")
  parser.add_argument("--overwrite", action="store_true",
                      help="write into a non-empty directory that is not a synthetic tree")
  args = parser.parse_args(argv)
  try:
    width, height = (int(v) for v in args.frame_size.lower().split("x"))
  except ValueError:
    parser.error(f"--frame_size must look like 480x360, got {args.frame_size!r}")
  try:
    summary = generate(args.out, num_actors=args.actors, seed=args.seed,
                       clips_per_actor=args.clips_per_actor, num_workers=args.num_workers,
                       frame_size=(width, height), overwrite=args.overwrite,
                       naming=args.naming,
                       sentences=args.sentences.split(",") if args.sentences else None)
  except (ValueError, FileExistsError, NotADirectoryError) as error:
    parser.error(str(error))
  print(f"wrote {summary.num_clips} clips ({summary.num_frames} frames) of "
        f"{len(summary.actors)} actors to {summary.root} in {summary.wall_seconds:.1f} s")
  return summary
