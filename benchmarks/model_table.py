"""Parameter counts and forward FLOPs per clip of each model variant, as a markdown table.

  python -m benchmarks.model_table

Compiles each variant's forward pass (evaluation mode, batch 1) with XLA and reads the
FLOP count from `compiled.cost_analysis()`; nothing is executed, so a CPU suffices
(seconds). FLOPs count multiply and add separately; LSTMs are unrolled for the count
because XLA counts a loop body once.
"""
import time

from absl import app
import jax
import jax.numpy as jnp

from emo_jax import models
from emo_jax.models import presets

NUM_CLASSES = 6


def measure(kind: str) -> dict:
  """Parameter count and forward FLOPs per clip of `presets.default_model_config(kind)`."""
  num_frames, size, channels = presets.INPUT_SHAPES[kind]
  model_config = models.default_model_config(kind)
  if model_config.temporal is not None and model_config.temporal.name == "lstm":
    # XLA's cost analysis counts a loop body once; unrolled, every time step is counted.
    model_config.temporal.unroll = num_frames
  model = models.create_model(model_config, NUM_CLASSES)
  frames = jax.ShapeDtypeStruct((1, num_frames, size, size, channels), jnp.float32)
  variables = jax.eval_shape(
      lambda x: model.init({"params": jax.random.key(0)}, x, train=False), frames)
  forward = jax.jit(lambda v, x: model.apply(v, x, train=False)[0])
  compiled = forward.lower(variables, frames).compile()
  cost = compiled.cost_analysis()
  if isinstance(cost, (list, tuple)):  # Older JAX returns one dict per computation.
    cost = cost[0]
  return dict(
      kind=kind,
      input=f"{num_frames}x{size}x{size}x{channels}",
      params=sum(leaf.size for leaf in jax.tree.leaves(variables["params"])),
      flops=float(cost["flops"]))


def markdown_table(rows: list[dict]) -> str:
  lines = ["| variant | input T x H x W x C | parameters | forward GFLOPs per clip |",
           "| --- | --- | ---: | ---: |"]
  for row in rows:
    lines.append(f"| {row['kind']} | {row['input']} | {row['params']:,} | "
                 f"{row['flops'] / 1e9:.3f} |")
  return "\n".join(lines)


def main(argv):
  del argv
  start = time.time()
  rows = [measure(kind) for kind in presets.INPUT_SHAPES]
  print(markdown_table(rows))
  print(f"\n(jax {jax.__version__}, backend {jax.default_backend()}, "
        f"{time.time() - start:.0f} s)")


if __name__ == "__main__":
  app.run(main)
