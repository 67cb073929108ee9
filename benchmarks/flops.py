"""FLOPs of a compiled XLA computation, a matmul ceiling, and model FLOPs utilisation.

Model FLOPs utilisation (MFU) here is the FLOPs XLA counts in one compiled train step
divided by the step time, as a share of a ceiling measured in the same run: the median
rate of a large matmul (float32 on CPU, bfloat16 on GPU) on this machine, now. It is
a ceiling for dense matmuls, the best case of any model; convolutions and LSTMs reach
less. XLA's cost analysis counts a multiply and an add as two FLOPs and counts a loop
body (an LSTM scan) once, so recurrent models are slightly undercounted.
"""
import statistics
import time

import jax
import jax.numpy as jnp


def compiled_flops(compiled) -> float:
  """FLOPs of one run of a `jax.jit(f).lower(...).compile()` result (0.0 if unknown)."""
  cost = compiled.cost_analysis()
  if isinstance(cost, (list, tuple)):  # Older JAX returns one dict per computation.
    cost = cost[0] if cost else {}
  return float((cost or {}).get("flops", 0.0))


def utilisation(flops_per_step: float, step_seconds: float, peak_flops_per_second: float) -> float:
  """MFU: achieved FLOP/s (`flops_per_step / step_seconds`) as a share of the peak."""
  if step_seconds <= 0 or peak_flops_per_second <= 0:
    raise ValueError(f"step_seconds={step_seconds} and peak_flops_per_second="
                     f"{peak_flops_per_second} must both be positive")
  return flops_per_step / step_seconds / peak_flops_per_second


def ceiling_dtype() -> jnp.dtype:
  """The dtype a model would use at best on this backend: bfloat16 on GPU/TPU, else float32."""
  return jnp.float32 if jax.default_backend() == "cpu" else jnp.bfloat16


def matmul_ceiling(size: int = 2048, repetitions: int = 5, dtype=None) -> dict:
  """FLOP/s of a `[size, size] @ [size, size]` matmul on the default device.

  Returns:
    {"ceiling_gflops": the median rate over `repetitions` (the ceiling MFU is measured
    against: a median, as the step times are, so that both see the machine's load
    alike), "best_gflops", "dtype", "size"}.
  """
  dtype = dtype or ceiling_dtype()
  keys = jax.random.split(jax.random.key(0))
  a = jax.random.normal(keys[0], (size, size), dtype)
  b = jax.random.normal(keys[1], (size, size), dtype)
  matmul = jax.jit(jnp.matmul)
  jax.block_until_ready(matmul(a, b))  # Compile and warm up.
  seconds = []
  for _ in range(repetitions):
    start = time.perf_counter()
    jax.block_until_ready(matmul(a, b))
    seconds.append(time.perf_counter() - start)
  flops = 2.0 * size**3
  return {"ceiling_gflops": round(flops / statistics.median(seconds) / 1e9, 1),
          "best_gflops": round(flops / min(seconds) / 1e9, 1),
          "dtype": jnp.dtype(dtype).name, "size": size}
