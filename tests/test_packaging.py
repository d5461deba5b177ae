"""The project's own files agree with each other: pyproject, environment.yml, Makefile, README, CI."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PYPI = {"pytorch": "torch"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;@]", requirement.strip(), maxsplit=1)[0].lower()


def _pyproject():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_lists_the_pyproject_packages():
    yaml = pytest.importorskip("yaml")
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = set()
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name = _name(dep)
            if name not in {"python", "pip"}:
                conda.add(CONDA_TO_PYPI.get(name, name))
    project = _pyproject()["project"]
    pypi = {_name(r) for r in project["dependencies"]} | {
        _name(r) for r in project["optional-dependencies"]["notebooks"]
    }
    assert conda == pypi
    pip_section = [d for d in env["dependencies"] if isinstance(d, dict)][0]["pip"]
    assert "-e ." in pip_section


def test_torch_requirement_is_a_range_and_overridable(tmp_path):
    deps = _pyproject()["project"]["dependencies"]
    torch_req = [d for d in deps if _name(d) == "torch"][0]
    assert ">=" in torch_req and "==" not in torch_req
    # `make test TORCH=...` installs the given build: ask make what it would run in a fresh venv
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "setup", f"VENV={tmp_path / 'venv'}", "TORCH=torch==9.9.9"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert 'pip install --quiet "torch==9.9.9"' in dry
    assert '-e ".[notebooks,test,docs]"' in dry


def test_ci_runs_make_test_with_the_cpu_torch_and_required_browser_tests(tmp_path):
    """Run .ci/run with stand-ins for make and chromium on PATH, and record what it calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    (bin_dir / "make").write_text(f'#!/bin/sh\necho "make $* BROWSER=$MATHSQRT_REQUIRE_BROWSER" >> {log}\n')
    (bin_dir / "chromium").write_text("#!/bin/sh\nexit 0\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    subprocess.run(["bash", str(ROOT / ".ci" / "run")], cwd=tmp_path, env=env, check=True, capture_output=True)
    assert log.read_text().splitlines() == ["make test TORCH=torch==2.13.0 BROWSER=1"]


def test_readme_shows_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme


def test_readme_links_every_notebook_with_a_colab_badge():
    from mathsqrt.paper.widgets._common import REPOSITORY

    readme = (ROOT / "README.md").read_text()
    owner_repo = REPOSITORY.split("github.com/", 1)[1]
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    for name in notebooks:
        assert f"(notebooks/{name})" in readme, name
        assert f"colab.research.google.com/github/{owner_repo}/blob/main/notebooks/{name}" in readme, name
