"""Console and log file of a training run: the console shows progress, evaluations and warnings.

Libraries (Orbax, TFDS, grain, JAX) log many INFO lines per checkpoint; they go to
`workdir/train.log` (with everything else) but not to the console, unless absl's
`--verbosity` is given on the command line, which then sets the console's level for all
of them (`--verbosity=0`: INFO, `1`: DEBUG, `-1`: warnings only).
"""
import logging
import os

from absl import logging as absl_logging
import jax

# Code whose INFO lines belong on the console: this repository's packages.
_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_OWN_DIRS = tuple(os.path.join(_REPO_ROOT, name) + os.sep
                  for name in ("emo_jax", "tfds_cremad", "configs", "experiments", "benchmarks"))
LOG_FILE = "train.log"
_attached = []  # The absl handler, when `configure` put it on the root logger.


class _ConsoleFilter(logging.Filter):
  """Passes warnings and errors, and INFO lines logged by this repository's code."""

  def __init__(self, min_level: int | None):
    super().__init__()
    self._min_level = min_level

  def filter(self, record: logging.LogRecord) -> bool:
    if self._min_level is not None:
      return record.levelno >= self._min_level
    return (record.levelno >= logging.WARNING
            or os.path.abspath(record.pathname).startswith(_OWN_DIRS))


def log_file_path(workdir: str) -> str:
  """`workdir/train.log` (process 0) or `workdir/train.process<i>.log` (other hosts)."""
  index = jax.process_index()
  return os.path.join(workdir, LOG_FILE if index == 0 else f"train.process{index}.log")


def configure(workdir: str, verbosity: int | None = None) -> str:
  """Routes logs: all INFO and above to the log file, the console as the module says.

  Args:
    workdir: the run's directory (created if missing); the log file goes there.
    verbosity: absl's `--verbosity` when it was given on the command line, else None.

  Returns:
    The log file's path.
  """
  os.makedirs(workdir, exist_ok=True)
  remove()
  root = logging.getLogger()
  console_level = None if verbosity is None else absl_logging.converter.absl_to_standard(verbosity)
  root.setLevel(min(logging.INFO, console_level or logging.INFO))
  console = absl_logging.get_absl_handler()
  if console not in root.handlers:  # Outside `app.run` (tests, notebooks).
    absl_logging.use_absl_handler()
    _attached.append(console)
  console.addFilter(_ConsoleFilter(console_level))
  path = log_file_path(workdir)
  file_handler = logging.FileHandler(path)
  file_handler._emo_jax_log_file = True  # pylint: disable=protected-access
  file_handler.setFormatter(absl_logging.PythonFormatter())
  root.addHandler(file_handler)
  return path


def remove():
  """Undoes `configure`: no console filter, no log file."""
  console = absl_logging.get_absl_handler()
  for existing in [f for f in console.filters if isinstance(f, _ConsoleFilter)]:
    console.removeFilter(existing)
  root = logging.getLogger()
  for handler in [h for h in root.handlers if getattr(h, "_emo_jax_log_file", False)]:
    root.removeHandler(handler)
    handler.close()
  while _attached:
    root.removeHandler(_attached.pop())
