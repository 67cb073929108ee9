"""`python -m emo_jax.video SOURCE --out DIR`, see emo_jax/video/cli.py."""
import sys

from emo_jax.video import cli

if __name__ == "__main__":
  sys.exit(cli.main())
