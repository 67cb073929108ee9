"""Orbax checkpoints while training: the latest N (with the data iterator) and the best by a validation metric."""
import os

import grain
import jax
import ml_collections
import orbax.checkpoint as ocp


class Checkpointer:
  """Two Orbax managers in `workdir/checkpoints/`: `latest/` and `best/`.

  `latest/` keeps the newest `keep_latest` steps, each with the train state and the
  grain iterator's state, so a resume continues the same data order. `best/` keeps the
  `keep_best` states with the highest `best_metric` (a separate manager because
  `best_fn` + `max_to_keep` in one manager would delete the latest ones). Saves are
  asynchronous; Orbax commits atomically, so a killed run leaves only whole checkpoints.
  """

  def __init__(self, workdir: str, config: ml_collections.ConfigDict):
    root = os.path.join(os.path.abspath(workdir), "checkpoints")
    self.best_metric = config.best_metric
    self.latest = ocp.CheckpointManager(
        os.path.join(root, "latest"), item_names=("state", "data"),
        options=ocp.CheckpointManagerOptions(max_to_keep=config.keep_latest, create=True))
    self.best = ocp.CheckpointManager(
        os.path.join(root, "best"), item_names=("state",),
        options=ocp.CheckpointManagerOptions(
            max_to_keep=config.keep_best, create=True, best_mode="max",
            best_fn=lambda metrics: metrics[self.best_metric]))

  def latest_step(self) -> int | None:
    return self.latest.latest_step()

  def best_step(self) -> int | None:
    return self.best.best_step()

  def save_latest(self, step: int, state, data_iterator: grain.DatasetIterator | None, force=False):
    items = {"state": ocp.args.StandardSave(state)}
    if data_iterator is not None:
      items["data"] = grain.checkpoint.CheckpointSave(data_iterator)
    self.latest.save(step, args=ocp.args.Composite(**items), force=force)

  def save_best(self, step: int, state, metrics: dict):
    if self.best_metric not in metrics:
      raise KeyError(f"best_metric {self.best_metric!r} is not among the evaluation metrics "
                     f"{sorted(metrics)}; set config.checkpoint.best_metric to one of them")
    self.best.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state)),
                   metrics={k: float(v) for k, v in metrics.items()})

  def restore_latest(self, abstract_state, data_iterator=None, step: int | None = None):
    """Restores the state (and, in place, the iterator) saved at `step` (default: latest)."""
    step = self.latest.latest_step() if step is None else step
    items = {"state": ocp.args.StandardRestore(abstract_state)}
    if data_iterator is not None:
      items["data"] = grain.checkpoint.CheckpointRestore(data_iterator)
    restored = self.latest.restore(step, args=ocp.args.Composite(**items))
    return restored["state"]

  def restore_best(self, abstract_state, step: int | None = None):
    step = self.best.best_step() if step is None else step
    restored = self.best.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract_state)))
    return restored["state"]

  def wait(self):
    self.latest.wait_until_finished()
    self.best.wait_until_finished()

  def close(self):
    self.latest.close()
    self.best.close()


def abstract_like(tree):
  """`jax.ShapeDtypeStruct`s (with shardings) of a pytree of arrays, for restoring into it."""
  return jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=getattr(x, "sharding", None)), tree)
