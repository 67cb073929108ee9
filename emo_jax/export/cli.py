"""Exports a trained run to StableHLO or ONNX and checks it against the JAX model.

  python -m emo_jax.export --workdir workdirs/ae_lstm --format onnx --out ae_lstm.onnx
  python -m emo_jax.export --bundled fer2013 --format onnx --quantize int8 --out fer2013_int8.onnx
  python -m emo_jax.export --workdir workdirs/ae_lstm --format stablehlo --out ae_lstm.stablehlo

Writes FILE and FILE.json (class names, input spec `[batch, T, S, S, C]` float32 in [0, 1],
the check). Exit status 0 when the check passed, 1 when it failed, 2 on bad input.
"""
import argparse
import os
import sys

# The command prints its own messages; TFDS's progress bars and absl's INFO lines are noise.
os.environ.setdefault("TFDS_DISABLE_PROGRESS_BAR", "1")


def parse_args(argv=None) -> argparse.Namespace:
  parser = argparse.ArgumentParser(prog="python -m emo_jax.export",
                                   description=__doc__.splitlines()[0])
  source = parser.add_mutually_exclusive_group(required=True)
  source.add_argument("--workdir", help="training workdir (`python -m emo_jax.train --workdir`)")
  source.add_argument("--bundled", help="a model shipped in the package, e.g. fer2013")
  parser.add_argument("--checkpoint", default="best", help="with --workdir: best, latest or a step")
  parser.add_argument("--format", required=True, choices=("stablehlo", "onnx"))
  parser.add_argument("--quantize", default="none", choices=("none", "int8"),
                      help="int8 post-training quantisation (ONNX: onnxruntime, static with "
                      "calibration on training clips; StableHLO: qwix)")
  parser.add_argument("--out", required=True, help="file to write (its directory must exist)")
  parser.add_argument("--data_dir", help="TFDS data dir of the run's dataset, for calibration "
                      "and the accuracy check (default: the run's config.data.data_dir)")
  parser.add_argument("--calibration_examples", type=int, default=256,
                      help="training clips the int8 ranges are calibrated on")
  parser.add_argument("--test_examples", type=int, default=1000,
                      help="test clips both models are scored on (0: all, -1: none)")
  parser.add_argument("--check_batch_size", type=int, default=16,
                      help="clips in the fixed batch compared probability by probability")
  return parser.parse_args(argv)


def main(argv=None) -> int:
  args = parse_args(argv)
  from emo_jax.export import exporter  # pylint: disable=g-import-not-at-top  (JAX: slow)
  from emo_jax.export import model_function  # pylint: disable=g-import-not-at-top
  log = lambda text: print(text, file=sys.stderr, flush=True)
  try:
    exporter.check_output_path(args.out)
    source = model_function.load_source(args.workdir, args.bundled, args.checkpoint)
    result = exporter.export(source, args.format, args.out, quantize=args.quantize,
                             data_dir=args.data_dir,
                             calibration_examples=args.calibration_examples,
                             test_examples=args.test_examples,
                             check_batch_size=args.check_batch_size, log=log)
  except (FileNotFoundError, IsADirectoryError, ValueError) as e:  # ExportError is a ValueError.
    print(f"error: {e}", file=sys.stderr)
    return 2
  from emo_jax.export import checks  # pylint: disable=g-import-not-at-top
  for note in result.notes:
    print(f"note: {note}")
  print(f"wrote {result.path} ({result.size_bytes / 1024:.1f} KiB, {args.format}, "
        f"quantization: {result.metadata.quantization}) and {result.path}.json")
  print(checks.describe(result.check, args.quantize == "int8"))
  return 0 if result.check["passed"] else 1


if __name__ == "__main__":
  sys.exit(main())
