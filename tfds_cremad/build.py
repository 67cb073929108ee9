"""Builds a packed dataset into a TFDS data dir.

    python -m tfds_cremad.build --config synthetic_g16_112 --data_dir ~/tensorflow_datasets
    python -m tfds_cremad.build --config g16_112 --data_dir DIR --manual_dir /path/to/CREMA-D
    python -m tfds_cremad.build --config fer2013 --data_dir DIR --manual_dir /path/to/fer2013
    python -m tfds_cremad.build --config ravdess/g16_112 --data_dir DIR --manual_dir /path/to/RAVDESS
    python -m tfds_cremad.build --config affectnet/c8_rgb112 --data_dir DIR --manual_dir /path/to/AffectNet
    python -m tfds_cremad.build --config folder --data_dir DIR --manual_dir DIR_OF_CLASS_FOLDERS

Configs: `cremad/<config>` (the `cremad/` prefix may be left out), `ravdess/<config>`,
`affectnet/<config>`, `folder/<config>` (`folder` alone: clips, 16 frames 112x112 grey; `folder/image_*` for
stills) and `fer2013`; a wrong name lists them. Prints where it wrote, the examples per split and the skipped clips.
"""
import argparse
import os
import pathlib
import sys
import time

import tensorflow_datasets as tfds

from emo_jax.data import verify
from tfds_cremad import affectnet
from tfds_cremad import cremad
from tfds_cremad import folder
from tfds_cremad import loading
from tfds_cremad import ravdess

_MAX_LISTED_SKIPPED = 10


def _parse_args(argv):
  parser = argparse.ArgumentParser(
      prog="python -m tfds_cremad.build", description=__doc__.splitlines()[0])
  parser.add_argument("--config", required=True,
                      help="e.g. g16_112, synthetic_g16_112, fer2013; see the list on error")
  parser.add_argument("--data_dir", required=True, help="TFDS data dir to write into")
  parser.add_argument("--manual_dir", help="CREMA-D clone (real cremad configs) or the "
                      "FER2013 folder/archive/csv")
  parser.add_argument("--num_workers", type=int, default=None,
                      help="CREMA-D decoding processes (default: all CPUs; 0: in-process)")
  parser.add_argument("--verify", choices=cremad.VERIFY_MODES, default="sizes",
                      help="CREMA-D clone check before decoding (default: sizes)")
  parser.add_argument("--overwrite", action="store_true",
                      help="rebuild even if the dataset is already built")
  return parser.parse_args(argv)


def _size_on_disk(path: pathlib.Path) -> int:
  return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _summary(builder: tfds.core.DatasetBuilder, seconds: float) -> list[str]:
  info = builder.info
  num_examples = sum(split.num_examples for split in info.splits.values())
  size = _size_on_disk(pathlib.Path(os.fspath(builder.data_path)))
  splits = ", ".join(f"{name}: {split.num_examples}" for name, split in info.splits.items())
  lines = [f"Wrote {info.full_name} to {builder.data_path}: {num_examples} examples "
           f"({splits}), {size / 1e6:.1f} MB, in {seconds:.1f} s "
           f"({num_examples / max(seconds, 1e-9):.1f} examples/s)."]
  metadata = info.metadata or {}
  if "num_skipped" in metadata:
    skipped = metadata["skipped_clips"]
    lines.append(f"Skipped {len(skipped)} clip(s) that failed to decode"
                 + (":" if skipped else "."))
    lines += [f"  {s['clip_name']}: {s['error']}" for s in skipped[:_MAX_LISTED_SKIPPED]]
    if len(skipped) > _MAX_LISTED_SKIPPED:
      lines.append(f"  ... and {len(skipped) - _MAX_LISTED_SKIPPED} more (all are listed in "
                   f"{builder.data_path}/metadata.json).")
  passed_over = metadata.get("files_passed_over") or []
  if passed_over:
    lines.append(f"Passed over {len(passed_over)} file(s) in the source:")
    lines += [f"  {p['file']}: {p['reason']}" for p in passed_over[:_MAX_LISTED_SKIPPED]]
    if len(passed_over) > _MAX_LISTED_SKIPPED:
      lines.append(f"  ... and {len(passed_over) - _MAX_LISTED_SKIPPED} more (all are listed "
                   f"in {builder.data_path}/metadata.json).")
  for split, counts in (metadata.get("class_counts") or {}).items():
    lines.append(f"  {split}: " + ", ".join(f"{name} {n}" for name, n in counts.items()))
  return lines


def main(argv=None) -> int:
  args = _parse_args(argv)
  try:
    builder_class, _ = loading.resolve_name(args.config)
  except ValueError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  builder_kwargs = {}
  if builder_class is cremad.Cremad:
    builder_kwargs.update(num_workers=args.num_workers, verify=args.verify)
  elif builder_class in (ravdess.Ravdess, folder.Folder, affectnet.AffectNet):
    builder_kwargs.update(num_workers=args.num_workers)
  builder = loading.make_builder(args.config, args.data_dir, **builder_kwargs)
  if loading.is_built(builder) and not args.overwrite:
    print(f"{builder.info.full_name} is already built in {builder.data_path}; pass "
          "--overwrite to rebuild it.")
    return 0
  if loading.is_stale(builder) and not args.overwrite:
    print(f"error: {builder.info.full_name} in {builder.data_path} was packed by other code or "
          "parameters (see 'packing' in its metadata.json); pass --overwrite to rebuild it.",
          file=sys.stderr)
    return 1
  mode = (tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS if args.overwrite
          else tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS)
  download_config = tfds.download.DownloadConfig(manual_dir=args.manual_dir,
                                                 download_mode=mode)
  tfds.disable_progress_bar()  # Our own bar counts decoded clips.
  start = time.monotonic()
  try:
    builder.download_and_prepare(download_config=download_config)
  except (FileNotFoundError, ValueError, verify.CloneVerificationError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  print("\n".join(_summary(builder, time.monotonic() - start)))
  return 0


if __name__ == "__main__":
  sys.exit(main())
