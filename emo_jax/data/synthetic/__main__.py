"""`python -m emo_jax.data.synthetic --out DIR --actors N ...`: see `generator.main`."""
from emo_jax.data.synthetic import generator

if __name__ == "__main__":  # not when a spawned worker re-imports the main module
  generator.main()
