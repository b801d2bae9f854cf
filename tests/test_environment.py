"""The conda environment, the pip constraints and the package's own requirements agree."""

from __future__ import annotations

import re
import tomllib

import yaml
from packaging.requirements import Requirement

from synlib import paths

# conda-forge names that differ from the PyPI names
CONDA_TO_PIP = {"pytorch": "torch"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (paths.ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_norm(name)] = version.strip()
    return pins


def _conda() -> tuple[dict[str, str], list[str]]:
    env = yaml.safe_load((paths.ROOT / "environment.yml").read_text())
    conda, pip = {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip += dep["pip"]
        elif "=" in dep:
            name, version = dep.split("=", 1)
            conda[_norm(CONDA_TO_PIP.get(name, name))] = version
    return conda, pip


def _project_requirements() -> list[Requirement]:
    project = tomllib.loads((paths.ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        reqs += [Requirement(r) for r in extra if not r.startswith("synlib")]
    return reqs


def test_conda_versions_equal_the_pip_constraints():
    pins = _constraints()
    conda, pip = _conda()
    conda.pop("python")
    mismatched = {n: (v, pins.get(n)) for n, v in conda.items() if pins.get(n) != v}
    assert not mismatched, f"environment.yml and constraints.txt disagree: {mismatched}"
    for line in pip:
        if "==" in line:
            name, version = line.split("==")
            assert pins[_norm(name)] == version


def test_every_requirement_is_pinned_and_the_pin_satisfies_it():
    pins = _constraints()
    conda, pip = _conda()
    pip_names = {_norm(line.split("==")[0]) for line in pip if "==" in line}
    for req in _project_requirements():
        name = _norm(req.name)
        assert name in pins, f"{req.name} is not pinned in requirements/constraints.txt"
        assert req.specifier.contains(pins[name].split("+")[0], prereleases=True), (req, pins[name])
        assert name in conda or name in pip_names, f"{req.name} is missing from environment.yml"


def test_tested_torch_is_the_local_cpu_release():
    # a newer pin would make pip fetch a multi-GB CUDA build on the test machines
    assert _constraints()["torch"].startswith("2.13.")


def test_jupyter_book_is_version_1():
    pins = _constraints()
    assert pins["jupyter-book"].startswith("1.")
    spec = next(r for r in _project_requirements() if _norm(r.name) == "jupyter-book").specifier
    assert spec.contains("1.0.4") and not spec.contains("2.0.0") and not spec.contains("0.6.5")
