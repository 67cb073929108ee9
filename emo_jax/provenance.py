"""Where a run's code came from: the git commit, stored with its metrics."""
import os
import subprocess


def git_commit() -> str:
  """The commit of the code that is running ("unknown" outside a git checkout)."""
  try:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=os.path.dirname(__file__),
                          capture_output=True, text=True, check=True, timeout=10).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return "unknown"
