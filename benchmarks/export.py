"""Exported models side by side: file size, CPU latency at batch 1 and 32, test accuracy.

    python -m benchmarks.export --out benchmarks/results/export.json
    python -m benchmarks.run --only export

For the bundled FER2013 model (accuracy on PrivateTest, when `fer2013` is built in
data/tfds) and for an `ae_lstm` run (`--ae_lstm_workdir`, default workdirs/ae_lstm; a
tiny `configs/ae_lstm.py:runlocal` run is trained when there is none; accuracy on its
test actors), each as: the jitted JAX model, StableHLO (float32 and qwix int8), ONNX
float32 and ONNX int8 (static, calibrated on 256 training clips), all run on the CPU
in this process, one after the other. Latency is the median of repeated calls after
warm-up; sizes are of the files (JAX: its float32 variables). Targets (summary rows):
int8 at most a third of the float32 file and within 1 point of its accuracy; ONNX
float32 at least as fast as JAX at batch 1.
"""
import argparse
import json
import os
import pathlib
import statistics
import sys
import tempfile
import time

import jax
import numpy as np

from emo_jax.export import checks
from emo_jax.export import exporter
from emo_jax.export import model_function

BATCH_SIZES = (1, 32)
DEFAULT_AE_LSTM_WORKDIR = "workdirs/ae_lstm"


def median_seconds(function, frames: np.ndarray, repetitions: int, warmup: int = 2) -> float:
  for _ in range(warmup):
    function(frames)
  times = []
  for _ in range(repetitions):
    start = time.perf_counter()
    function(frames)
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def _jax_model(run):
  probabilities = jax.jit(model_function.probabilities_function(run))
  size = sum(np.asarray(x).nbytes for x in jax.tree.leaves(run.variables))
  return lambda frames: np.asarray(probabilities(frames.astype(np.float32) / 255.0)), size


def _exported_model(source, tmp: pathlib.Path, export_format: str, quantize: str,
                    data_dir: str | None):
  suffix = {"stablehlo": "stablehlo", "onnx": "onnx"}[export_format]
  path = tmp / f"{source.run.config.data.dataset.replace('/', '_')}_{quantize}.{suffix}"
  result = exporter.export(source, export_format, path, quantize=quantize, data_dir=data_dir,
                           test_examples=-1)
  if export_format == "onnx":
    from emo_jax.export import runtime  # pylint: disable=g-import-not-at-top
    model = runtime.load(path)
  else:
    from emo_jax.export import stablehlo  # pylint: disable=g-import-not-at-top
    model = stablehlo.load(path)
  return model.probabilities, result.size_bytes, result.metadata.quantization


def measure(name: str, source: model_function.ExportSource, tmp: pathlib.Path,
            data_dir: str | None, test_examples: int, repetitions: int,
            log=lambda text: None) -> list[dict]:
  """One row per variant of one model: size, latency at each batch size, accuracy."""
  run = source.run
  try:
    test = checks.read_examples(run, "test", test_examples, data_dir)
  except FileNotFoundError as e:
    test, no_test = None, str(e).splitlines()[0]
  rng = np.random.default_rng(0)
  batches = {b: rng.integers(0, 256, (b, *run.frames_shape), dtype=np.uint8) for b in BATCH_SIZES}
  jax_function, jax_size = _jax_model(run)
  variants = [("jax", lambda: (jax_function, jax_size, "float32 variables")),
              ("stablehlo", lambda: _exported_model(source, tmp, "stablehlo", "none", data_dir)),
              ("stablehlo_int8", lambda: _exported_model(source, tmp, "stablehlo", "int8", data_dir)),
              ("onnx", lambda: _exported_model(source, tmp, "onnx", "none", data_dir)),
              ("onnx_int8", lambda: _exported_model(source, tmp, "onnx", "int8", data_dir))]
  reference = jax_function(batches[32])
  rows = []
  for variant, make in variants:
    log(f"export benchmark: {name} {variant} ...")
    row = {"name": f"export/{name}/{variant}", "input": "x".join(map(str, run.frames_shape))}
    try:
      function, size, how = make()
    except Exception as e:  # pylint: disable=broad-except  (a variant that does not export)
      rows.append(dict(row, error=f"{type(e).__name__}: {str(e).splitlines()[0]}"))
      continue
    row["size_kib"] = round(size / 1024, 1)
    for batch_size, frames in batches.items():
      seconds = median_seconds(function, frames, repetitions)
      row[f"batch{batch_size}_ms"] = round(1000 * seconds, 3)
    row["max_abs_diff_vs_jax"] = float(f"{np.max(np.abs(function(batches[32]) - reference)):.3g}")
    if test is not None:
      predictions = np.concatenate([function(test.frames[i:i + 64]).argmax(-1)
                                    for i in range(0, len(test.frames), 64)])
      row["accuracy"] = round(float(np.mean(predictions == test.labels)), 4)
      row["test_clips"] = f"{len(test.labels)} ({run.config.data.dataset} {test.part})"
    else:
      row["accuracy_skipped"] = no_test
    row["quantization"] = how
    rows.append(row)
  _relative_sizes(rows)
  return rows


def _relative_sizes(rows: list[dict]):
  sizes = {row["name"].rsplit("/", 1)[1]: row.get("size_kib") for row in rows}
  for row in rows:
    variant = row["name"].rsplit("/", 1)[1]
    base = sizes.get(variant.replace("_int8", "")) if variant.endswith("_int8") else None
    if base and row.get("size_kib"):
      row["size_vs_float32"] = round(row["size_kib"] / base, 3)


def ae_lstm_source(workdir: str | None, tmp: pathlib.Path, log=lambda text: None):
  """The ae_lstm run to measure: `workdir`, workdirs/ae_lstm, or a tiny one trained here."""
  for candidate in (workdir, DEFAULT_AE_LSTM_WORKDIR):
    if candidate and os.path.isfile(os.path.join(candidate, "config.json")):
      return model_function.load_source(candidate), None
  if workdir:
    raise FileNotFoundError(f"--ae_lstm_workdir {workdir} is not a training workdir")
  log("no trained ae_lstm run: training configs/ae_lstm.py:runlocal (tiny) ...")
  from configs import ae_lstm  # pylint: disable=g-import-not-at-top
  from emo_jax import trainer  # pylint: disable=g-import-not-at-top
  config = ae_lstm.get_config("runlocal")
  config.data.data_dir = str(tmp / "tfds")
  tiny = tmp / "ae_lstm_runlocal"
  trainer.train_and_evaluate(config, str(tiny))
  return model_function.load_source(str(tiny)), "tiny runlocal run trained for the benchmark"


MODELS = ("fer2013_bundled", "ae_lstm")


def run(quick: bool, tmp: pathlib.Path, ae_lstm_workdir: str | None = None,
        fer2013_data_dir: str | None = None, models=MODELS, log=lambda text: None) -> list[dict]:
  """Rows for the bundled FER2013 model and for ae_lstm (see the module docstring)."""
  repetitions = 5 if quick else 20
  rows = []
  if "fer2013_bundled" in models:
    rows += _bundled_rows(quick, tmp, fer2013_data_dir, repetitions, log)
  if "ae_lstm" in models:
    source, note = ae_lstm_source(ae_lstm_workdir, tmp, log)
    ae_rows = measure("ae_lstm", source, tmp, None, 0, repetitions, log)
    rows += [dict(row, run=note or source.description.get("workdir")) for row in ae_rows]
  return rows


def _bundled_rows(quick, tmp, data_dir, repetitions, log) -> list[dict]:
  try:
    bundled = model_function.load_source(bundled="fer2013")
  except Exception as e:  # pylint: disable=broad-except  (no bundled model in this version)
    return [{"name": "export/fer2013_bundled", "skipped": f"{type(e).__name__}: {e}"}]
  return measure("fer2013_bundled", bundled, tmp, data_dir, 1000 if quick else 0, repetitions,
                 log)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="fewer repetitions and test clips")
  parser.add_argument("--ae_lstm_workdir", help=f"default {DEFAULT_AE_LSTM_WORKDIR}; a tiny "
                      "run is trained when there is none")
  parser.add_argument("--fer2013_data_dir", help="TFDS data dir with fer2013 built "
                      "(default: the bundled run's config)")
  parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of "
                      + ", ".join(MODELS))
  parser.add_argument("--out", help="write the rows as JSON to this file")
  args = parser.parse_args(argv)
  from benchmarks import machine  # pylint: disable=g-import-not-at-top
  from benchmarks import results_report  # pylint: disable=g-import-not-at-top
  from benchmarks import summary  # pylint: disable=g-import-not-at-top
  log = lambda text: print(text, file=sys.stderr, flush=True)
  load = machine.load_average()
  with tempfile.TemporaryDirectory(prefix="emo_jax_export_bench_") as tmp:
    rows = run(args.quick, pathlib.Path(tmp), args.ae_lstm_workdir, args.fer2013_data_dir,
               args.models.split(","), log)
  print(f"load average before: {load}, after: {machine.load_average()}")
  print(results_report.markdown_table(rows))
  print()
  print(results_report.markdown_table(summary.export_targets(rows)))
  if args.out:
    pathlib.Path(args.out).write_text(json.dumps(
        {"command": "python -m benchmarks.export " + " ".join(sys.argv[1:] if argv is None else argv),
         "machine": machine.describe(), "rows": rows,
         "summary": summary.export_targets(rows)}, indent=2) + "\n")
  return 1 if any("error" in row for row in rows) else 0


if __name__ == "__main__":
  sys.exit(main())
