"""Checks an export against the JAX model: the same fixed batch, then accuracy on test clips."""
import dataclasses
from typing import Any, Callable

import numpy as np

from emo_jax import checkpoints

# Largest difference of probabilities allowed between a float32 export and the JAX model.
FLOAT32_TOLERANCE = 1e-4
# An int8 export may lose at most this much accuracy (fraction) against the JAX model.
INT8_ACCURACY_DROP = 0.01


@dataclasses.dataclass(frozen=True)
class Examples:
  """Clips of one part of the run's dataset: uint8 frames `[N, T, S, S, C]`, labels `[N]`."""
  part: str
  frames: np.ndarray
  labels: np.ndarray


def read_examples(run: checkpoints.LoadedRun, part: str, count: int, data_dir: str | None = None,
                  seed: int = 0) -> Examples:
  """Up to `count` clips (0: all) of `part` ("train", "val", "test") of the run's dataset,
  a seeded random choice (in record order).

  Raises:
    FileNotFoundError: when the dataset is not built in `data_dir` (the message says how
      to build it).
  """
  # pylint: disable=g-import-not-at-top  (TFDS: slow)
  from emo_jax.input_pipeline import records as records_lib
  from emo_jax.input_pipeline import sources
  # pylint: enable=g-import-not-at-top
  data = run.config.data
  packed = sources.load_packed_dataset(data.dataset, data_dir or data.data_dir,
                                              data.get("split"))
  if part not in packed.indices:
    raise ValueError(f"{data.dataset} has no {part!r} part (parts: {sorted(packed.indices)})")
  indices = np.asarray(packed.indices[part])
  if count and count < len(indices):
    indices = np.sort(np.random.default_rng(seed).choice(indices, count, replace=False))
  source = packed.sources[part]
  records = [records_lib.format_example(source[int(i)], packed.num_classes) for i in indices]
  frames = np.stack([r["frames"] for r in records]) if records else np.zeros((0, *run.frames_shape), np.uint8)
  labels = np.array([r["label"] for r in records], np.int64)
  return Examples(part, frames, labels)


def fixed_batch(run: checkpoints.LoadedRun, examples: Examples | None, size: int) -> np.ndarray:
  """The batch every export is compared on: the first test clips, or seeded random frames."""
  if examples is not None and len(examples.frames):
    return examples.frames[:size]
  return np.random.default_rng(0).integers(0, 256, (size, *run.frames_shape), dtype=np.uint8)


def compare(run: checkpoints.LoadedRun, exported: Callable[[np.ndarray], np.ndarray],
            batch: np.ndarray, test: Examples | None, quantized: bool,
            reference: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, Any]:
  """Runs the export and the JAX model on `batch` (and on `test`), returns the comparison.

  Returns:
    {"batch_size", "max_abs_diff", "argmax_agreement", "tolerance" (float32 only),
     "passed", and with test clips "test_part", "test_examples", "jax_accuracy",
     "export_accuracy", "accuracy_drop"}. float32 passes when every probability is within
    FLOAT32_TOLERANCE; int8 when accuracy drops by at most INT8_ACCURACY_DROP (or, without
    test clips, when the argmax agrees on the whole batch).
  """
  if reference is None:
    from emo_jax.export import model_function  # pylint: disable=g-import-not-at-top
    reference = lambda frames: model_function.jax_probabilities(run, frames)
  expected, actual = reference(batch), _batched(exported, batch)
  result = {"batch_size": int(len(batch)),
            "max_abs_diff": float(np.max(np.abs(expected - actual))),
            "argmax_agreement": float(np.mean(expected.argmax(-1) == actual.argmax(-1)))}
  if test is not None and len(test.frames):
    jax_accuracy = float(np.mean(reference(test.frames).argmax(-1) == test.labels))
    export_accuracy = float(np.mean(_batched(exported, test.frames).argmax(-1) == test.labels))
    result.update(test_part=test.part, test_examples=int(len(test.frames)),
                  jax_accuracy=jax_accuracy, export_accuracy=export_accuracy,
                  accuracy_drop=jax_accuracy - export_accuracy)
  if not quantized:
    result["tolerance"] = FLOAT32_TOLERANCE
    result["passed"] = result["max_abs_diff"] <= FLOAT32_TOLERANCE
  elif "accuracy_drop" in result:
    result["passed"] = result["accuracy_drop"] <= INT8_ACCURACY_DROP
  else:
    result["passed"] = result["argmax_agreement"] == 1.0
  return result


def _batched(function, frames: np.ndarray, batch_size: int = 64) -> np.ndarray:
  return np.concatenate([np.asarray(function(frames[start:start + batch_size]))
                         for start in range(0, len(frames), batch_size)])


def describe(result: dict[str, Any], quantized: bool) -> str:
  """One paragraph for the terminal."""
  lines = [f"fixed batch of {result['batch_size']}: max |p_export - p_jax| = "
           f"{result['max_abs_diff']:.2e}, same top class on {result['argmax_agreement']:.1%}"]
  if not quantized:
    lines[0] += f" (float32 tolerance {result['tolerance']:.0e})"
  if "test_examples" in result:
    lines.append(f"{result['test_part']} clips ({result['test_examples']}): accuracy JAX "
                 f"{result['jax_accuracy']:.2%}, export {result['export_accuracy']:.2%} "
                 f"({-100 * result['accuracy_drop']:+.2f} points)")
  elif quantized:
    lines.append("no test clips (dataset not built): int8 judged by top-class agreement only")
  lines.append("check " + ("passed" if result["passed"] else "FAILED"))
  return "\n".join(lines)
