"""SIGTERM (preemption) as a stop that every host agrees on, at the same step."""
import logging
import signal

import jax
from jax.experimental import multihost_utils
import numpy as np


class Preemption:
  """Turns SIGTERM into a flag; `should_stop()` says when every host should save and stop.

  A scheduler may signal one host of a multi-host job, or all of them at slightly
  different steps. A host that stopped alone would leave the others waiting in the
  step's collectives forever, so with several hosts `should_stop` is itself a
  collective: call it at the same steps on every host (the loop's log and checkpoint
  steps) and all stop there if any was signalled.
  """

  def __init__(self):
    self.requested = False
    self._previous = None

  def __enter__(self):
    try:
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    except ValueError:  # Not the main thread: no handler, no preemption support.
      self._previous = None
    return self

  def _handle(self, signum, frame):
    del signum, frame
    logging.warning("SIGTERM received: saving a checkpoint and stopping at the next step "
                    "all hosts agree on.")
    self.requested = True

  def __exit__(self, *exc):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)

  @property
  def needs_agreement(self) -> bool:
    """Whether `should_stop` is a collective (several hosts) rather than a flag read."""
    return jax.process_count() > 1

  def should_stop(self) -> bool:
    """Whether any host was signalled; with several hosts, call it at the same steps on all."""
    if not self.needs_agreement:
      return self.requested
    votes = multihost_utils.process_allgather(np.asarray(self.requested, np.int32))
    return bool(np.max(votes))
