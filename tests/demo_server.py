"""Runs `python -m emo_jax.demo` on a free local port for the demo's tests."""
import contextlib
import pathlib
import socket
import subprocess
import sys
import time

import httpx

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
# Loading JAX and compiling the model takes ~40 s on one busy core.
STARTUP_TIMEOUT_S = 300


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@contextlib.contextmanager
def running_server(log_dir: pathlib.Path, upload_dir: pathlib.Path, *flags: str):
  """Yields the base URL of a demo server (bundled model) that keeps uploads in `upload_dir`."""
  port = free_port()
  log_path = log_dir / f"demo_server_{port}.log"
  with open(log_path, "w") as log:
    process = subprocess.Popen(
        [sys.executable, "-m", "emo_jax.demo", "--port", str(port), "--upload_dir",
         str(upload_dir), *flags], cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
  url = f"http://127.0.0.1:{port}"
  try:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
      if process.poll() is not None:
        raise RuntimeError(f"the demo server exited ({process.returncode}):\n"
                           f"{log_path.read_text()}")
      try:
        httpx.get(f"{url}/api/info", timeout=5).raise_for_status()
        break
      except httpx.HTTPError:
        if time.monotonic() > deadline:
          raise RuntimeError(f"the demo server did not answer in {STARTUP_TIMEOUT_S} s:\n"
                             f"{log_path.read_text()}")
        time.sleep(1)
    yield url
  finally:
    process.terminate()
    try:
      process.wait(timeout=20)
    except subprocess.TimeoutExpired:
      process.kill()
      process.wait()
