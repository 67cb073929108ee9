"""Device mesh helpers: one `"data"` axis, batches sharded over it, parameters replicated."""
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"


def create_mesh(num_devices: int | None = None) -> Mesh:
  """A 1-D mesh over the first `num_devices` devices (all of them by default).

  The axis type is `Auto` so that plain data parallelism needs no explicit
  sharding annotations inside the jitted step (`jax.make_mesh` defaults to
  explicit axes).

  Raises:
    ValueError: when more devices are asked for than there are.
  """
  devices = jax.devices()
  if num_devices is None:
    num_devices = len(devices)
  if not 1 <= num_devices <= len(devices):
    raise ValueError(
        f"create_mesh(num_devices={num_devices}): there are {len(devices)} "
        f"{devices[0].platform} devices; ask for 1 to {len(devices)} or None for all")
  return jax.make_mesh((num_devices,), (DATA_AXIS,),
                       axis_types=(jax.sharding.AxisType.Auto,),
                       devices=devices[:num_devices])


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (batch) dimension split over the `"data"` axis, the rest whole."""
  return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
  """The same full copy on every device of the mesh (parameters, optimiser state)."""
  return NamedSharding(mesh, PartitionSpec())


def host_local_batch_to_global(batch: Any, mesh: Mesh) -> Any:
  """Turns this host's numpy batch (a pytree) into global `jax.Array`s.

  Every host passes its own `B / process_count` rows; the result has the global
  batch size `B` on its leading axis, sharded over `"data"`. On one host this is
  a plain sharded `device_put`.

  Args:
    batch: pytree of numpy arrays, each `[B_host, ...]`.
    mesh: the mesh from `create_mesh`.

  Returns:
    The same pytree of `jax.Array`s, each `[B_host * process_count, ...]`.
  """
  sharding = batch_sharding(mesh)

  def to_global(array):
    array = np.asarray(array)
    if array.dtype.kind in "OUS":
      raise TypeError(
          f"host_local_batch_to_global: array of dtype {array.dtype} cannot go to the "
          "device; keep strings and variable-length data out of device batches")
    return jax.make_array_from_process_local_data(sharding, array)

  return jax.tree.map(to_global, batch)


def sync_hosts(name: str, timeout_s: int = 1200):
  """Waits until every host has reached the barrier `name` (unique per run); no-op on one.

  A barrier of the coordination service, with a long timeout, not a device collective:
  CPU (gloo) collectives connect the hosts at their first use with a short timeout, so
  hosts meet here before one waits long (building a dataset, compiling) ahead of it.
  """
  if jax.process_count() > 1:
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
    ocp.multihost.sync_global_processes(name, timeout=timeout_s)
