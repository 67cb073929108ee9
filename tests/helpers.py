"""Small helpers shared by tests."""
import pathlib

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def set_nested(config, dotted_key: str, value):
  """`set_nested(config, "data.batch_size", 8)` sets `config.data.batch_size = 8`."""
  *parents, leaf = dotted_key.split(".")
  node = config
  for name in parents:
    node = node[name]
  node[leaf] = value
