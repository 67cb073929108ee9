"""Host batches copied to the devices a few steps ahead, in a background thread.

The train loop then dispatches step N while batch N + 1 is read, augmented and copied:
the main thread never waits on the host-to-device copy. The iterator's `get_state()` is
the state after the last batch handed out (not after the ones read ahead), so a
checkpoint saved beside step N resumes at batch N + 1.
"""
import queue
import threading
from typing import Any, Callable, Iterator

import grain

# Batches read ahead: one is enough to hide the copy, two also hides an uneven read.
DEFAULT_SIZE = 2


class DevicePrefetchIterator(grain.DatasetIterator):
  """Wraps a checkpointable host iterator (grain's) and a `to_device` function.

  A `grain.DatasetIterator`, so it works with `grain.checkpoint.CheckpointSave` and
  `CheckpointRestore` in Orbax (restore calls `set_state`, then `start_prefetch`).
  """

  def __init__(self, host_iterator: Iterator[Any], to_device: Callable[[Any], Any],
               size: int = DEFAULT_SIZE):
    super().__init__()
    if size < 1:
      raise ValueError(f"size={size}: prefetch at least one batch")
    self._host = host_iterator
    self._to_device = to_device
    self._size = size
    self._queue = None
    self._thread = None
    self._stop = threading.Event()
    self._state = host_iterator.get_state()

  def __iter__(self):
    return self

  def start_prefetch(self):
    if self._thread is None:
      self._queue = queue.Queue(maxsize=self._size)
      self._thread = threading.Thread(target=self._fill, name="device_prefetch", daemon=True)
      self._thread.start()

  def _put(self, item) -> bool:
    while not self._stop.is_set():
      try:
        self._queue.put(item, timeout=0.1)
        return True
      except queue.Full:
        continue
    return False

  def _fill(self):
    try:
      while not self._stop.is_set():
        host_batch = next(self._host)
        state = self._host.get_state()
        if not self._put((self._to_device(host_batch), state, None)):
          return
    except BaseException as error:  # pylint: disable=broad-except  # Re-raised in __next__.
      self._put((None, None, error))

  def __next__(self):
    self.start_prefetch()
    batch, state, error = self._queue.get()
    if error is not None:
      self._put((None, None, error))  # Every later call fails the same way.
      raise error
    self._state = state
    return batch

  def get_state(self) -> dict:
    """The host iterator's state after the last batch returned by `__next__`."""
    return self._state

  def set_state(self, state: dict):
    if self._thread is not None:
      raise RuntimeError("set_state after batches were read ahead; restore before iterating")
    self._host.set_state(state)
    self._state = self._host.get_state()

  def close(self):
    """Stops the thread (it finishes the batch in hand)."""
    self._stop.set()
    if self._thread is not None:
      while self._thread.is_alive():
        try:
          self._queue.get_nowait()
        except queue.Empty:
          pass
        self._thread.join(timeout=0.1)
