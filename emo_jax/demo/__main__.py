"""`python -m emo_jax.demo`: see `emo_jax.demo.cli`."""
import sys

from emo_jax.demo import cli

sys.exit(cli.main())
