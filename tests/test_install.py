"""The install reproduces: bounds in setup.cfg, exact versions in constraints.txt, used by CI."""
import configparser
import re

from packaging.requirements import Requirement

from tests import helpers


def _requirements(section_text: str) -> list[Requirement]:
  lines = [line.split("#")[0].strip() for line in section_text.splitlines()]
  return [Requirement(line) for line in lines if line]


def _pins() -> dict[str, str]:
  pins = {}
  for line in (helpers.REPO_ROOT / "constraints.txt").read_text().splitlines():
    if line and not line.startswith("#"):
      name, _, version = line.partition("==")
      pins[re.sub(r"[-_.]+", "-", name).lower()] = version
  return pins


def test_every_dependency_has_a_lower_bound_that_the_pinned_version_meets():
  config = configparser.ConfigParser()
  config.read(helpers.REPO_ROOT / "setup.cfg")
  pins = _pins()
  for requirement in _requirements(config["options"]["install_requires"]):
    assert any(spec.operator == ">=" for spec in requirement.specifier), requirement
    name = re.sub(r"[-_.]+", "-", requirement.name).lower()
    assert name in pins, f"{requirement.name} is not pinned in constraints.txt"
    assert requirement.specifier.contains(pins[name]), (requirement, pins[name])
  for extra in ("dev", "export", "demo"):
    for requirement in _requirements(config["options.extras_require"][extra]):
      name = re.sub(r"[-_.]+", "-", requirement.name).lower()
      assert name in pins, f"[{extra}] {requirement.name} is not pinned in constraints.txt"


def test_ci_and_the_readme_install_with_the_constraints():
  ci = (helpers.REPO_ROOT / ".ci" / "run").read_text()
  readme = (helpers.REPO_ROOT / "README.md").read_text()
  assert "-c constraints.txt" in ci
  commands = re.findall(r"```bash\n(python3 -m venv[^\n]*)\n```", readme)
  assert len(commands) >= 2 and all("-c constraints.txt" in c for c in commands[:2])
