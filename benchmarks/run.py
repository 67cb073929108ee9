"""Runs the benchmark suite: a markdown table on stdout, JSON and markdown files on request.

    python -m benchmarks.run --quick --out benchmarks/results/latest.json \
        --markdown benchmarks/RESULTS.md
    python -m benchmarks.run --only train,reference_train_step   # full size, some parts

Runs each benchmark of `benchmarks.suite.SUITE` in turn (decoding, dataset build, input
pipeline, training throughput with memory and MFU, scaling over simulated devices, and
the reference project's data path and model side by side), then the summary of targets
(`benchmarks.summary`). Every figure is the median of several repetitions after
warm-up. --quick takes ~8 min on 2 CPU cores shared with other work (load average ~8),
~4 min on idle ones; without it, about an hour. A benchmark that fails becomes a row
with its error and the others still run (exit status 1).
"""
import argparse
import os
import pathlib
import sys
import tempfile
import time

from benchmarks import machine
from benchmarks import results_report
from benchmarks import suite
from benchmarks import summary


def run_benchmarks(benchmarks, quick: bool, workspace: suite.Workspace,
                   log=lambda text: None) -> dict:
  """Runs `benchmarks` (`suite.Benchmark`s) in order; returns the results dict.

  Returns:
    {"quick", "machine" (`machine.describe()` at the start), "sections" (one per
    benchmark: name, description, seconds, load_average_before, rows), "summary"
    (`summary.targets`), "load_average_end", "total_seconds"}. A benchmark that raises
    gets one row {"name", "error"}.
  """
  start = time.perf_counter()
  results = {"quick": quick, "machine": machine.describe(), "sections": []}
  for benchmark in benchmarks:
    load = machine.load_average()
    log(f"running {benchmark.name} (load average {load}) ...")
    section_start = time.perf_counter()
    try:
      rows = list(benchmark.run(quick, workspace))
    except Exception as e:  # pylint: disable=broad-except
      rows = [{"name": benchmark.name, "error": f"{type(e).__name__}: {e}"}]
    section = {"name": benchmark.name, "description": benchmark.description,
               "seconds": round(time.perf_counter() - section_start, 1),
               "load_average_before": load, "rows": rows}
    results["sections"].append(section)
    log(results_report.markdown_table(rows) + f"\n({section['seconds']:.0f} s)\n")
  all_rows = [row for section in results["sections"] for row in section["rows"]]
  results["summary"] = summary.targets(all_rows)
  results["load_average_end"] = machine.load_average()
  results["total_seconds"] = round(time.perf_counter() - start, 1)
  return results


def has_errors(results: dict) -> bool:
  return any("error" in row for section in results["sections"] for row in section["rows"])


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true",
                      help="small builds and batches, fewer repetitions (~7 min)")
  parser.add_argument("--out", help="write the results as JSON to this file")
  parser.add_argument("--markdown", help="write the results as markdown to this file "
                      "(e.g. benchmarks/RESULTS.md)")
  parser.add_argument("--only", help="comma-separated benchmarks to run; known: "
                      + ", ".join(b.name for b in suite.SUITE))
  parser.add_argument("--cremad_dir", help="CREMA-D root with real clips "
                      f"(default {suite.DEFAULT_CREMAD_DIR})")
  args = parser.parse_args(argv)
  benchmarks = list(suite.SUITE)
  if args.only:
    names = args.only.split(",")
    unknown = sorted(set(names) - {b.name for b in benchmarks})
    if unknown:
      parser.error(f"unknown benchmark(s) {unknown}; known: "
                   + ", ".join(b.name for b in benchmarks))
    benchmarks = [b for b in benchmarks if b.name in names]
  os.environ.setdefault("TFDS_DISABLE_PROGRESS_BAR", "1")
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  tfds.disable_progress_bar()
  log = lambda text: print(text, file=sys.stderr, flush=True)
  with tempfile.TemporaryDirectory(prefix="emo_jax_bench_") as tmp:
    workspace = suite.Workspace(tmp=pathlib.Path(tmp),
                                cremad_dir=suite.find_cremad_dir(args.cremad_dir))
    results = run_benchmarks(benchmarks, args.quick, workspace, log)
  results["command"] = "python -m benchmarks.run " + " ".join(
      sys.argv[1:] if argv is None else argv)
  print(results_report.sections_markdown(results))
  if args.out:
    log(f"wrote {results_report.write_json(results, args.out)}")
  if args.markdown:
    log(f"wrote {results_report.write_markdown(results, args.markdown)}")
  return 1 if has_errors(results) else 0


if __name__ == "__main__":
  sys.exit(main())
