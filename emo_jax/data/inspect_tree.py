"""Summarises a CREMA-D(-like) tree: clip counts, split sizes, broken files, a contact sheet.

    python -m emo_jax.data.inspect_tree /path/to/CREMA-D [--json] [--split hicmae5:fold=1]
        [--contact_sheet sheet.png] [--num_frames 16] [--manifest media_manifest.csv]
        [--no_probe]

Counts clips (known-broken ones excluded) by emotion, level, sentence, actor and split
part; lists stub, empty, missing or truncated media files (`verify.verify_clone`) and,
with or without a manifest, the videos that a fast decode probe finds truncated or
corrupt (`decode.probe_video`: every packet read, the first and last frames decoded;
about 16 ms a clip, so roughly 2 minutes for the 7,442; `--no_probe` skips it); and
optionally writes a PNG grid of face crops: one row per emotion, the middle frame of a
few clips from different actors, each labelled with its name and face-found ratio.
"""
import argparse
import collections
import json
import os
import sys
import time
from typing import Any, Sequence

import cv2
import numpy as np

from emo_jax.data import cremad
from emo_jax.data import decode
from emo_jax.data import preprocess
from emo_jax.data import splits
from emo_jax.data import verify

DEFAULT_SPLIT = "hicmae5:fold=1"
_TILE_LABEL_HEIGHT = 28
_ROW_LABEL_WIDTH = 56


def summarize(root: str | os.PathLike, split: str | None = DEFAULT_SPLIT,
              manifest: str | os.PathLike | None = None,
              check_hashes: bool = False, probe: bool = True) -> dict[str, Any]:
  """Counts the clips of a CREMA-D tree and checks its media files.

  Args:
    root: a CREMA-D clone (or a tree in its layout, e.g. synthetic data).
    split: a split spec for `splits.split_actors`, or None to skip split counts.
    manifest: optional `path,size,sha256` CSV for `verify.verify_clone`.
    check_hashes: also compare sha256 (reads every byte; sizes only otherwise).

  Returns:
    A JSON-serialisable dict: root, num_clips, num_actors, known_broken (known-broken
    clips present, excluded from counts), by_emotion, by_level, by_sentence, by_actor,
    split ({spec, actors, clips} or {spec, error}), verify ({source, notes, problems}),
    decode_probe ({num_checked, seconds, problems: [{path, detail}]}; absent without
    `probe`).

  Raises:
    FileNotFoundError: when `root` does not exist or holds no VideoFlash/*.flv clip.
    ValueError: naming the file, for a .flv whose name is not a CREMA-D clip name.
  """
  root = os.fspath(root)
  if split is not None:
    splits.parse_split_spec(split)  # A typo fails here, before any work.
  if not os.path.isdir(root):
    raise FileNotFoundError(f"{root} does not exist; pass the root of a CREMA-D clone "
                            f"(get one with `{cremad.CLONE_COMMAND}`)")
  all_clips = cremad.list_clips(root, exclude_broken=False)
  clips = [c for c in all_clips if c.name not in cremad.BROKEN_CLIPS]
  actors = sorted({c.actor for c in clips})
  summary = {
      "root": root,
      "num_clips": len(clips),
      "num_actors": len(actors),
      "known_broken": [c.name for c in all_clips if c.name in cremad.BROKEN_CLIPS],
      "by_emotion": _count(clips, "emotion", cremad.EMOTIONS),
      "by_level": _count(clips, "level", cremad.LEVELS),
      "by_sentence": _count(clips, "sentence", cremad.SENTENCES),
      "by_actor": {str(a): n for a, n in sorted(collections.Counter(
          c.actor for c in clips).items())},
  }
  if split is not None:
    summary["split"] = _split_counts(split, clips)
  report = verify.verify_clone(root, manifest=manifest, check_hashes=check_hashes)
  summary["verify"] = {
      "source": report.source,
      "notes": list(report.notes),
      "problems": [{"path": p.path, "kind": p.kind, "detail": p.detail, "fix": p.fix}
                   for p in report.problems],
      "text": report.format(),
  }
  if probe:
    flagged = {p.path for p in report.problems}
    paths = [f"VideoFlash/{c.name}.flv" for c in clips]
    summary["decode_probe"] = probe_videos(root, [p for p in paths if p not in flagged])
  return summary


def probe_videos(root: str, paths: Sequence[str]) -> dict[str, Any]:
  """`decode.probe_video` on each of `paths` (relative to `root`): the unreadable ones."""
  start = time.perf_counter()
  problems = []
  for path in paths:
    try:
      decode.probe_video(os.path.join(root, path))
    except decode.DecodeError as e:
      detail = str(e).split(": ", 1)[-1]  # The message starts with the full path.
      problems.append({"path": path, "detail": detail})
  return {"num_checked": len(paths), "seconds": round(time.perf_counter() - start, 2),
          "problems": problems}


def _count(clips: Sequence[cremad.ClipName], field: str,
           order: Sequence[str]) -> dict[str, int]:
  counts = collections.Counter(getattr(c, field) for c in clips)
  return {key: counts[key] for key in order if counts[key]}


def _split_counts(spec: str, clips: Sequence[cremad.ClipName]) -> dict[str, Any]:
  try:
    parts = splits.split_actors(spec, actors={c.actor for c in clips})
  except ValueError as e:  # E.g. too few actors for the split.
    return {"spec": spec, "error": str(e)}
  part_of_actor = {a: part for part, ids in parts.items() for a in ids}
  clip_counts = collections.Counter(part_of_actor[c.actor] for c in clips)
  return {"spec": spec,
          "actors": {part: list(ids) for part, ids in parts.items()},
          "clips": {part: clip_counts[part] for part in parts}}


def format_summary(summary: dict[str, Any]) -> str:
  """The human-readable text of a `summarize` result."""
  def counts(d):
    return ", ".join(f"{k} {v}" for k, v in d.items()) or "none"
  lines = [f"CREMA-D tree {summary['root']}: {summary['num_clips']} clips, "
           f"{summary['num_actors']} actors"]
  if summary["known_broken"]:
    lines.append(f"known-broken clips excluded: {', '.join(summary['known_broken'])}")
  lines.append(f"by emotion: {counts(summary['by_emotion'])}")
  lines.append(f"by level: {counts(summary['by_level'])}")
  lines.append(f"by sentence: {counts(summary['by_sentence'])}")
  lines.append(f"by actor: {counts(summary['by_actor'])}")
  split = summary.get("split")
  if split and "error" in split:
    lines.append(f"split {split['spec']}: unavailable ({split['error']})")
  elif split:
    lines.append(f"split {split['spec']}: " + ", ".join(
        f"{part} {split['clips'][part]} clips ({len(split['actors'][part])} actors)"
        for part in split["clips"]))
  lines.append(summary["verify"]["text"])
  probe = summary.get("decode_probe")
  if probe:
    lines.append(f"Decode probe of {probe['num_checked']} videos (every packet read, first and "
                 f"last frames decoded) in {probe['seconds']:.0f} s: " + (
                     f"{len(probe['problems'])} truncated or corrupt:" if probe["problems"]
                     else "OK: no problems found."))
    lines += [f"  {problem['path']}: {problem['detail']}" for problem in probe["problems"]]
  if "contact_sheet" in summary:
    lines.append(f"contact sheet: {summary['contact_sheet']}")
  return "\n".join(lines)


def pick_sheet_clips(clips: Sequence[cremad.ClipName],
                     per_emotion: int) -> dict[str, list[cremad.ClipName]]:
  """Up to `per_emotion` clips per emotion, from as many different actors as possible."""
  picked = {}
  for emotion in cremad.EMOTIONS:
    of_emotion = sorted(c for c in clips if c.emotion == emotion)
    first_per_actor = list({c.actor: c for c in reversed(of_emotion)}.values())[::-1]
    rest = [c for c in of_emotion if c not in first_per_actor]
    if of_emotion:
      picked[emotion] = (first_per_actor + rest)[:per_emotion]
  return picked


def write_contact_sheet(root: str | os.PathLike, path: str | os.PathLike,
                        num_frames: int = 16, per_emotion: int = 4, size: int = 112,
                        grayscale: bool = True) -> str:
  """Writes a PNG grid of face crops: a row per emotion, the middle frame of each clip.

  Each clip goes through `preprocess.load_clip` (the training path); a clip that cannot
  be decoded gets a dark tile labelled "decode error" instead of stopping the sheet.

  Args:
    root: a CREMA-D tree.
    path: the PNG to write (parent folders are created).
    num_frames: frames sampled per clip (the crop box is smoothed over them).
    per_emotion: clips per row.
    size: tile side in pixels.
    grayscale: grey crops (as the default configs train on) or RGB.

  Returns:
    The path written.
  """
  path = os.fspath(path)
  if not path.lower().endswith(".png"):
    raise ValueError(f"contact sheet path {path} must end in .png")
  clips = cremad.list_clips(root)
  rows = []
  for emotion, row_clips in pick_sheet_clips(clips, per_emotion).items():
    tiles = [_tile(root, clip, num_frames, size, grayscale) for clip in row_clips]
    tiles += [_blank_tile(size)] * (per_emotion - len(tiles))
    rows.append(np.concatenate([_row_label(emotion, tiles[0].shape[0])] + tiles, axis=1))
  sheet = np.concatenate(rows, axis=0)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  if not cv2.imwrite(path, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)):
    raise OSError(f"could not write the contact sheet {path}; is the folder writable?")
  return path


def _tile(root: str, clip: cremad.ClipName, num_frames: int, size: int,
          grayscale: bool) -> np.ndarray:
  """One labelled `[size + label, size, 3]` RGB tile."""
  video_path = os.path.join(root, "VideoFlash", clip.name + ".flv")
  try:
    loaded = preprocess.load_clip(video_path, num_frames=num_frames, size=size,
                                  grayscale=grayscale, with_audio=False)
    image = loaded.frames[num_frames // 2]
    image = np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image
    note = f"face {loaded.face_found_ratio:.0%}"
  except decode.DecodeError:
    image, note = np.full((size, size, 3), 40, np.uint8), "decode error"
  label = np.full((_TILE_LABEL_HEIGHT, size, 3), 255, np.uint8)
  for line, text in enumerate((clip.name, note)):
    cv2.putText(label, text, (2, 11 + 13 * line), cv2.FONT_HERSHEY_PLAIN,
                max(0.5, min(0.8, size / 180)), (0, 0, 0), 1, cv2.LINE_AA)
  return np.concatenate([image, label], axis=0)


def _blank_tile(size: int) -> np.ndarray:
  return np.full((size + _TILE_LABEL_HEIGHT, size, 3), 255, np.uint8)


def _row_label(emotion: str, height: int) -> np.ndarray:
  label = np.full((height, _ROW_LABEL_WIDTH, 3), 255, np.uint8)
  cv2.putText(label, emotion, (4, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1,
              cv2.LINE_AA)
  return label


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("root", help="the CREMA-D clone (or a tree in its layout)")
  parser.add_argument("--json", action="store_true", help="print a JSON summary")
  parser.add_argument("--split", default=DEFAULT_SPLIT,
                      help=f"split spec to count ({', '.join(splits.SPEC_FORMS)})")
  parser.add_argument("--contact_sheet", help="write a PNG grid of face crops here")
  parser.add_argument("--num_frames", type=int, default=16,
                      help="frames sampled per clip for the contact sheet")
  parser.add_argument("--per_emotion", type=int, default=4, help="contact sheet columns")
  parser.add_argument("--manifest", help="CSV with columns path,size,sha256 for the check")
  parser.add_argument("--check_hashes", action="store_true",
                      help="compare sha256 too (slow: reads every byte)")
  parser.add_argument("--no_probe", action="store_true",
                      help="skip the decode probe of every video (about 2 min for CREMA-D)")
  args = parser.parse_args(argv)
  try:
    summary = summarize(args.root, args.split, args.manifest, args.check_hashes,
                        probe=not args.no_probe)
    if args.contact_sheet:
      summary["contact_sheet"] = write_contact_sheet(
          args.root, args.contact_sheet, args.num_frames, args.per_emotion)
  except (FileNotFoundError, ValueError, OSError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
  return 0


if __name__ == "__main__":
  sys.exit(main())
