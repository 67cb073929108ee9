"""`python -m emo_jax.export`: see `emo_jax.export.cli`."""
import sys

from emo_jax.export import cli

if __name__ == "__main__":
  sys.exit(cli.main())
