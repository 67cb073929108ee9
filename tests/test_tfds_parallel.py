"""tfds_cremad.parallel.map_unordered: every item comes back once, failures included."""
import os
import time

from tfds_cremad import parallel


def _work(item):
  """Module-level so spawned workers can import it."""
  if item == "crash":
    os._exit(3)  # pylint: disable=protected-access  # A decoder segfault, in effect.
  if item == "hang":
    time.sleep(60)
  if item == "raise":
    raise ValueError("bad clip")
  return item * 2


def test_in_process_keeps_order_and_turns_exceptions_into_failures():
  results = list(parallel.map_unordered(_work, [1, "raise", 3], num_workers=0))
  assert results == [(0, 2), (1, parallel.Failure("ValueError: bad clip")), (2, 6)]


def test_workers_survive_crashes_hangs_and_exceptions():
  # The crash and the hang go out first, together, so they share one timeout; the pool
  # is then replaced and the rest must still be done.
  items = ["crash", "hang", 1, "raise", 2, 3]
  start = time.monotonic()
  results = dict(parallel.map_unordered(_work, items, num_workers=2, timeout_s=4))
  assert time.monotonic() - start < 30  # Nothing waits for the 60 s sleep.
  assert sorted(results) == list(range(len(items)))
  assert [results[i] for i in (2, 4, 5)] == [2, 4, 6]
  assert results[3] == parallel.Failure("ValueError: bad clip")
  for index in (0, 1):
    assert isinstance(results[index], parallel.Failure)
    assert "hung or died" in results[index].message
