"""Batches read and copied ahead in a thread; the iterator state follows what was consumed."""
import time

import grain
import numpy as np
import pytest

from emo_jax import device_prefetch


def host_iterator(num=20):
  return iter(grain.MapDataset.range(num).map(lambda i: {"x": np.full(2, i)})
              .to_iter_dataset())


def slow_copy(batch, seconds=0.05):
  time.sleep(seconds)  # Stands in for a host-to-device copy.
  return batch


def test_state_is_that_of_the_last_batch_handed_out():
  iterator = device_prefetch.DevicePrefetchIterator(host_iterator(), lambda b: b, size=2)
  assert [int(next(iterator)["x"][0]) for _ in range(3)] == [0, 1, 2]
  time.sleep(0.2)  # The thread has read ahead by now; the state must not move.
  state = iterator.get_state()
  expected = [int(next(iterator)["x"][0]) for _ in range(3)]
  iterator.close()
  resumed = device_prefetch.DevicePrefetchIterator(host_iterator(), lambda b: b)
  resumed.set_state(state)
  assert [int(next(resumed)["x"][0]) for _ in range(3)] == expected == [3, 4, 5]
  resumed.close()


def test_the_consumer_does_not_wait_for_the_copy():
  iterator = device_prefetch.DevicePrefetchIterator(host_iterator(), slow_copy, size=2)
  next(iterator)
  time.sleep(0.3)  # "Compute" of a step, during which the next batches are copied.
  start = time.perf_counter()
  next(iterator)
  assert time.perf_counter() - start < 0.02  # A queue read, not a 50 ms copy.
  iterator.close()


def test_errors_and_the_end_reach_the_consumer():
  def failing(batch):
    if int(batch["x"][0]) == 2:
      raise ValueError("bad record 2")
    return batch

  iterator = device_prefetch.DevicePrefetchIterator(host_iterator(), failing)
  next(iterator), next(iterator)
  with pytest.raises(ValueError, match="bad record 2"):
    next(iterator)
  iterator.close()
  finite = device_prefetch.DevicePrefetchIterator(host_iterator(3), lambda b: b)
  assert len(list(finite)) == 3
  finite.close()


def test_set_state_after_reading_ahead_is_refused():
  iterator = device_prefetch.DevicePrefetchIterator(host_iterator(), lambda b: b)
  state = iterator.get_state()
  next(iterator)
  with pytest.raises(RuntimeError, match="restore before iterating"):
    iterator.set_state(state)
  iterator.close()
