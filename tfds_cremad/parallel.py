"""Maps a function over items in worker processes, yielding results as they complete.

A build must neither stop nor hang because of one bad input file: exceptions become
`Failure`s, and a task that neither returns nor raises within `timeout_s` (its worker
hung, or died in a decoder crash) also becomes a `Failure`, after which the pool is
replaced so the remaining items keep their full timeout.
"""
from collections.abc import Callable, Iterator, Sequence
import dataclasses
import multiprocessing
import multiprocessing.pool
import queue
import time
from typing import Any

# Spawned workers import only what the mapped function needs, and inherit no locks or
# thread pools (OpenCV, PyAV) from the parent, which forking could deadlock on.
_START_METHOD = "spawn"
_STARTUP_TIMEOUT_S = 120


@dataclasses.dataclass(frozen=True)
class Failure:
  """An item whose function raised, timed out, or whose worker process died."""
  message: str


def _call(fn: Callable[[Any], Any], item: Any) -> Any:
  """Runs in a worker: returns fn(item), or a Failure carrying the exception's text."""
  try:
    return fn(item)
  except Exception as e:  # pylint: disable=broad-except
    return Failure(f"{type(e).__name__}: {str(e).strip()}")


def _start_pool(num_workers: int) -> multiprocessing.pool.Pool:
  """Starts `num_workers` spawned processes and checks that they run."""
  pool = multiprocessing.get_context(_START_METHOD).Pool(num_workers)
  try:
    pool.apply_async(int).get(timeout=_STARTUP_TIMEOUT_S)
  except multiprocessing.TimeoutError:
    pool.terminate()
    raise RuntimeError(
        f"worker processes did not start within {_STARTUP_TIMEOUT_S} s. When building "
        "from a Python script, put the code under `if __name__ == '__main__':` (workers "
        "are spawned and re-import the main script), or pass num_workers=0.") from None
  return pool


def map_unordered(fn: Callable[[Any], Any], items: Sequence[Any], num_workers: int,
                  timeout_s: float | None = None) -> Iterator[tuple[int, Any]]:
  """Yields `(index, fn(items[index]) or Failure)` for every item, in completion order.

  Args:
    fn: a module-level (picklable) function of one item.
    items: picklable inputs.
    num_workers: worker processes; 0 runs everything in this process, in order.
    timeout_s: seconds one item may take before it is given up as a Failure (None: no
      limit; then a worker that dies or hangs blocks the map).
  """
  if num_workers <= 0:
    for index, item in enumerate(items):
      yield index, _call(fn, item)
    return
  results = queue.SimpleQueue()
  pending = list(range(len(items)))[::-1]  # Popped from the end: items go out in order.
  deadlines = {}  # In-flight index -> time after which it counts as hung.
  pool = _start_pool(num_workers)
  try:
    while pending or deadlines:
      # At most one item per worker, so an item starts as soon as it is submitted and
      # its deadline measures its own run time, not time spent queued.
      while pending and len(deadlines) < num_workers:
        index = pending.pop()
        deadlines[index] = time.monotonic() + timeout_s if timeout_s else float("inf")
        pool.apply_async(
            _call, (fn, items[index]),
            callback=lambda result, index=index, out=results: out.put((index, result)),
            error_callback=lambda error, index=index, out=results: out.put(
                (index, Failure(f"worker error: {error}"))))
      wait_s = min(deadlines.values()) - time.monotonic()
      try:
        index, result = results.get(timeout=None if wait_s == float("inf") else max(wait_s, 0))
      except queue.Empty:
        now = time.monotonic()
        expired = sorted(i for i, deadline in deadlines.items() if deadline <= now)
        for index in expired:
          del deadlines[index]
          yield index, Failure(f"gave up after {timeout_s:g} s: the worker hung or died "
                               "(e.g. a crash inside the decoder)")
        # The hung workers are still busy: start afresh and resend the other in-flight
        # items (results that raced in from the old pool are dropped with it).
        pool.terminate()
        pool.join()
        pending.extend(sorted(deadlines, reverse=True))
        deadlines.clear()
        results = queue.SimpleQueue()
        pool = _start_pool(num_workers)
        continue
      if index in deadlines:
        del deadlines[index]
        yield index, result
  finally:
    pool.terminate()
    pool.join()


def build_summary(what: str, num_jobs: int, skipped: list[dict], start: float,
                  num_workers: int) -> dict:
  """The `info.metadata` entries every builder records about its decode pass.

  Args:
    what: what was decoded, for the error, e.g. "clips in /data/CREMA-D".
    num_jobs: items sent to the workers.
    skipped: `{"clip_name", "error"}` of each item that failed.
    start: `time.monotonic()` when decoding began.
    num_workers: worker processes used.

  Raises:
    RuntimeError: when every item failed (nothing to pack), naming the first failure.
  """
  if num_jobs and len(skipped) == num_jobs:
    raise RuntimeError(f"all {num_jobs} {what} failed to decode, e.g. "
                       f"{skipped[0]['clip_name']}: {skipped[0]['error']}")
  return {"num_examples": num_jobs - len(skipped), "num_skipped": len(skipped),
          "skipped_clips": sorted(skipped, key=lambda s: s["clip_name"]),
          "decode_seconds": round(time.monotonic() - start, 1), "num_workers": num_workers}
