"""`python -m emo_jax.demo` without its extra says how to install it; its flags' defaults."""
import sys

from emo_jax.demo import cli


def test_missing_extra_says_how_to_install_it(monkeypatch, capsys):
  monkeypatch.setitem(sys.modules, "fastapi", None)  # import fastapi -> ImportError
  assert cli.main([]) == 2
  error = capsys.readouterr().err
  assert 'pip install -e ".[demo]"' in error and "fastapi" in error.lower()


def test_the_server_listens_on_localhost_unless_told_otherwise():
  args = cli.parse_args([])
  assert args.host == "127.0.0.1" and args.port == 7860 and args.workdir is None
  assert cli.parse_args(["--host", "0.0.0.0"]).host == "0.0.0.0"
