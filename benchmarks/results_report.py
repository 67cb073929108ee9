"""Benchmark results as markdown tables, a JSON file and benchmarks/RESULTS.md."""
import json
import os
import pathlib


def _cell(value) -> str:
  if value is None:
    return ""
  if isinstance(value, float):
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.3g}"
  if isinstance(value, (list, tuple)):
    return ", ".join(_cell(v) for v in value)
  return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: list[dict]) -> str:
  """A markdown table of `rows`: the union of their keys as columns, first-seen order.

  A row without a key has an empty cell there.
  """
  if not rows:
    return "(no rows)"
  columns = []
  for row in rows:
    columns += [key for key in row if key not in columns]
  lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
  for row in rows:
    lines.append("| " + " | ".join(_cell(row.get(column)) for column in columns) + " |")
  return "\n".join(lines)


def sections_markdown(results: dict) -> str:
  """The summary table, then one table per benchmark with its wall time and load."""
  parts = []
  if results.get("summary"):
    parts += ["### Summary: targets and ratios", "", markdown_table(results["summary"]), ""]
  for section in results["sections"]:
    load = section.get("load_average_before")
    parts += [f"### {section['name']} ({section['seconds']:.0f} s, load average before: "
              f"{_cell(load)})", ""]
    if section.get("description"):
      parts += [section["description"], ""]
    parts += [markdown_table(section["rows"]), ""]
  return "\n".join(parts)


def machine_markdown(machine: dict) -> str:
  """One paragraph: CPU, cores, memory, load, JAX devices and library versions."""
  libraries = ", ".join(f"{name} {version}" for name, version in machine["libraries"].items()
                        if version)
  missing = [name for name, version in machine["libraries"].items() if not version]
  devices = machine["jax"]
  return (f"{machine['cpu_model']}, {machine['usable_cores']} usable cores "
          f"({machine['cpu_count']} CPUs), {machine['memory_gb']} GB memory; load average "
          f"(1, 5, 15 min) {_cell(machine['load_average_1_5_15min'])} at the start; JAX "
          f"backend {devices['backend']} with {devices['device_count']} device(s) "
          f"({', '.join(devices['devices'])}); Python {machine['python']}, {libraries}"
          + (f"; not installed: {', '.join(missing)}" if missing else "") + ".")


def results_markdown(results: dict) -> str:
  """The whole of benchmarks/RESULTS.md: command, date, machine, then the tables."""
  machine = results["machine"]
  return "\n".join([
      "# Benchmark results",
      "",
      "Measured with",
      "",
      "    " + results["command"],
      "",
      f"on {machine['date']} in {results['total_seconds'] / 60:.1f} min. Machine: "
      + machine_markdown(machine) + " Load average at the end: "
      + _cell(results.get("load_average_end")) + ".",
      "",
      "Every figure is the median of several repetitions after warm-up; ratios are measured "
      "within this one run. The machine is shared, so absolute rates move with the load "
      "(a load average above the core count means other processes competed for the CPU); "
      "the ratios, measured alternately or close in time, move less. How each benchmark "
      "measures is in its module's docstring (benchmarks/*.py).",
      "",
      sections_markdown(results),
  ])


def write_json(results: dict, path: str | os.PathLike) -> pathlib.Path:
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps(results, indent=1, default=str) + "\n")
  return path


def write_markdown(results: dict, path: str | os.PathLike) -> pathlib.Path:
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(results_markdown(results))
  return path
