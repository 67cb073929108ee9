"""The console shows this project's progress and warnings; library INFO goes to the log file."""
import io
import logging
import os

from absl import logging as absl_logging
import pytest

from emo_jax import console_logging

OWN_FILE = os.path.join(os.path.dirname(console_logging.__file__), "trainer.py")
LIBRARY_FILE = "/venv/site-packages/orbax/checkpoint/checkpoint_manager.py"


def emit(pathname, level, message):
  record = logging.makeLogRecord({"name": "test", "levelno": level,
                                  "levelname": logging.getLevelName(level),
                                  "pathname": pathname, "msg": message})
  logging.getLogger().handle(record)


@pytest.fixture
def logs(tmp_path):
  yield tmp_path
  console_logging.remove()


@pytest.fixture
def console(capfd):
  """Reads what the console handler (absl's, as under `app.run`) writes.

  absl writes to its handler's stream once flags are parsed, to `sys.stderr` before.
  """
  buffer = io.StringIO()
  handler = absl_logging.get_absl_handler().python_handler
  previous = handler.setStream(buffer)
  yield lambda: buffer.getvalue() + capfd.readouterr().err
  handler.setStream(previous)


@pytest.mark.parametrize("verbosity, library_info_on_console", [(None, False), (0, True)])
def test_library_info_goes_to_the_file_unless_verbosity_is_given(logs, console, verbosity,
                                                                 library_info_on_console):
  path = console_logging.configure(str(logs), verbosity)
  emit(OWN_FILE, logging.INFO, "step 1/2 | loss 1.5")
  emit(LIBRARY_FILE, logging.INFO, "Saving checkpoint at step 1")
  emit(LIBRARY_FILE, logging.WARNING, "disk almost full")
  console = console()
  assert "step 1/2 | loss 1.5" in console and "disk almost full" in console
  assert ("Saving checkpoint at step 1" in console) == library_info_on_console
  log_file = open(path).read()
  for message in ("step 1/2", "Saving checkpoint at step 1", "disk almost full"):
    assert message in log_file
  assert path == str(logs / "train.log")


def test_verbosity_minus_one_keeps_only_warnings(logs, console):
  console_logging.configure(str(logs), -1)
  emit(OWN_FILE, logging.INFO, "step 1/2 | loss 1.5")
  emit(LIBRARY_FILE, logging.WARNING, "disk almost full")
  console = console()
  assert "step 1/2" not in console and "disk almost full" in console
