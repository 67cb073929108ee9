"""A description of the machine and software a benchmark ran on, for its results file."""
import datetime
import importlib.metadata
import os
import platform
import sys

# Distribution names of the libraries whose versions matter to the figures.
LIBRARIES = {"jax": "jax", "jaxlib": "jaxlib", "flax": "flax", "optax": "optax",
             "grain": "grain", "tfds": "tensorflow-datasets", "array_record": "array_record",
             "numpy": "numpy", "torch": "torch", "decord": "decord", "av": "av",
             "cv2": "opencv-python-headless"}


def cpu_model(cpuinfo_path: str = "/proc/cpuinfo") -> str:
  """The first "model name" in /proc/cpuinfo, or `platform.processor()` elsewhere."""
  try:
    with open(cpuinfo_path) as f:
      for line in f:
        key, _, value = line.partition(":")
        if key.strip() == "model name":
          return value.strip()
  except OSError:
    pass
  return platform.processor() or "unknown"


def memory_gb(meminfo_path: str = "/proc/meminfo") -> float | None:
  """Total memory in GB from /proc/meminfo (None where there is none)."""
  try:
    with open(meminfo_path) as f:
      for line in f:
        if line.startswith("MemTotal:"):
          return round(int(line.split()[1]) * 1024 / 1e9, 1)
  except (OSError, ValueError, IndexError):
    pass
  return None


def library_versions() -> dict[str, str | None]:
  """Installed version of each of `LIBRARIES` (None: not installed); imports nothing."""
  versions = {}
  for name, distribution in LIBRARIES.items():
    try:
      versions[name] = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
      versions[name] = None
  return versions


def load_average() -> list[float]:
  """1, 5 and 15 minute load averages (runnable processes; compare with the cores)."""
  return [round(value, 2) for value in os.getloadavg()]


def jax_devices() -> dict:
  """Backend and devices JAX sees in this process (imports jax)."""
  import jax  # pylint: disable=g-import-not-at-top
  return {"backend": jax.default_backend(), "device_count": jax.device_count(),
          "devices": sorted({str(device.device_kind) for device in jax.devices()})}


def describe() -> dict:
  """Everything a reader needs to judge the figures: CPU, cores, load, memory, versions."""
  return {
      "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
      "cpu_model": cpu_model(),
      "cpu_count": os.cpu_count(),
      "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
      "memory_gb": memory_gb(),
      "load_average_1_5_15min": load_average(),
      "platform": platform.platform(),
      "python": sys.version.split()[0],
      "jax": jax_devices(),
      "libraries": library_versions(),
  }
