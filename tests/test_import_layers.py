"""The package map of docs/ARCHITECTURE.md, checked: no module of emo_jax imports upward.

Every module under emo_jax/ belongs to one layer; it may import its own layer and the
layers below, never one above (`import` statements anywhere in the file count, lazy
ones inside functions too). A new module must be given a layer here: the map then
stays true.
"""
import ast
import pathlib

import pytest

from tests import helpers

# Lowest first. A name covers the module and everything below it (a package).
LAYERS = (
    ("core", ("emo_jax.sharding", "emo_jax.metrics", "emo_jax.losses", "emo_jax.config_checks",
              "emo_jax.provenance")),
    ("data", ("emo_jax.data", "emo_jax.input_pipeline", "tfds_cremad")),
    ("models", ("emo_jax.models",)),
    # Runs a model over data without training it: the one evaluation pass, reports and
    # ablations, cached encoder features, loading finished runs and shipped weights.
    ("evaluation", ("emo_jax.evaluation", "emo_jax.analysis", "emo_jax.feature_cache",
                    "emo_jax.checkpoints", "emo_jax.bundled")),
    ("training", ("emo_jax.trainer", "emo_jax.train_state", "emo_jax.optimizers",
                  "emo_jax.train_checkpoints", "emo_jax.metric_writers", "emo_jax.training")),
    ("entry points", ("emo_jax.train", "emo_jax.evaluate", "emo_jax.predict", "emo_jax.export",
                      "emo_jax.video", "emo_jax.demo", "emo_jax.bundle")),
)
ROOT = "emo_jax"


def layer_of(module: str) -> int | None:
  """The index in LAYERS of `module` ("emo_jax.data.cremad"), or None when it has none."""
  for index, (_, prefixes) in enumerate(LAYERS):
    if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
      return index
  return None


def module_name(path: pathlib.Path) -> str:
  parts = path.relative_to(helpers.REPO_ROOT).with_suffix("").parts
  return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str) -> set[str]:
  """Every emo_jax / tfds_cremad module `source` imports (`from a import b` gives a.b and a)."""
  names = set()
  for node in ast.walk(ast.parse(source)):
    if isinstance(node, ast.Import):
      names.update(alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
      if node.level:  # Relative: resolve against this module's package.
        package = module.split(".")[:-node.level]
        base = ".".join(package + ([node.module] if node.module else []))
      else:
        base = node.module
      names.add(base)
      names.update(f"{base}.{alias.name}" for alias in node.names)
  return {name for name in names if name.split(".")[0] in (ROOT, "tfds_cremad")}


def _modules():
  modules = ((module_name(path), path) for path in (helpers.REPO_ROOT / ROOT).rglob("*.py"))
  return sorted((name, path) for name, path in modules if name != ROOT)


def test_every_module_has_a_layer():
  missing = [name for name, _ in _modules() if layer_of(name) is None]
  assert not missing, (f"{missing} belong to no layer; add each to LAYERS in "
                       "tests/test_import_layers.py and to the map in docs/ARCHITECTURE.md")


@pytest.mark.parametrize("module,path", _modules(), ids=lambda value: str(value))
def test_no_upward_imports(module, path):
  own = layer_of(module)
  assert own is not None, f"{module} has no layer (see test_every_module_has_a_layer)"
  upward = []
  for name in sorted(imported_modules(path.read_text(), module)):
    other = layer_of(name)
    if other is not None and other > own:
      upward.append(f"{name} ({LAYERS[other][0]})")
  assert not upward, (f"{path.relative_to(helpers.REPO_ROOT)} is in layer {LAYERS[own][0]!r} but "
                      f"imports upward: {', '.join(upward)}. Move the shared code down a layer.")


def test_the_check_finds_an_upward_import():
  source = "def f():\n  from emo_jax import trainer\n  from emo_jax.data import cremad\n"
  names = imported_modules(source, "emo_jax.analysis.report")
  assert "emo_jax.trainer" in names
  assert layer_of("emo_jax.trainer") > layer_of("emo_jax.analysis.report")
  assert layer_of("emo_jax.data.cremad") < layer_of("emo_jax.analysis.report")
