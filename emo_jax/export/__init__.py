"""Exports trained runs to StableHLO and ONNX (`python -m emo_jax.export`); see docs/export.md.

Nothing is imported here, so `emo_jax.export.runtime` (the ONNX runner) loads without JAX.
"""
