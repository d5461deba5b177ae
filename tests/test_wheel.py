"""The package as users get it: a wheel and an sdist, installed outside the repository.

``python -m build`` makes the source distribution and then the wheel *from* it (so a file missing from
the sdist breaks the wheel), from a copy of the working tree (tracked and new files, nothing
git-ignored), so the repository gets no ``build/`` or ``dist/``. It runs ``--no-isolation``: the
build backend (setuptools, pinned in ``[build-system]``) is taken from this environment, so the test
needs no network.

The wheel is then installed with pip into a fresh virtual environment in a temporary folder. Its
dependencies are not downloaded again (torch alone is hundreds of MB): the new environment sees exactly
the distributions that the wheel's ``Requires-Dist`` needs, recursively, linked from this environment
(nothing else: not matplotlib, not the editable ``mathsqrt`` of this checkout), and ``pip check`` confirms
that they satisfy the wheel's requirements. ``import mathsqrt`` then runs in isolated mode (``-I``)
from a working directory outside the repository, and the README's quickstart must print what its
comments say.
"""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Dict, List, Set

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What the wheel may contain besides the package: its metadata folder.
NOT_IN_WHEEL = ("notebooks/", "figures/", "tests/", "docs/", "results/", ".ci/", "environment.yml", "Makefile")


def _pyproject():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _source_files() -> List[Path]:
    """Files of the working tree a fresh clone would have, plus new ones: tracked or untracked, not ignored."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: cannot tell which files a clone would have")
    return [Path(p) for p in out.decode().split("\0") if p and (ROOT / p).is_file()]


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> Dict[str, Path]:
    """``{"sdist": ..., "wheel": ...}`` built by ``python -m build --no-isolation`` from a copy of the tree."""
    pytest.importorskip("build")
    work = tmp_path_factory.mktemp("build")
    src = work / "src"
    for rel in _source_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    out = work / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"python -m build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    sdists, wheels = sorted(out.glob("*.tar.gz")), sorted(out.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(p.name for p in out.iterdir())
    return {"sdist": sdists[0], "wheel": wheels[0], "src": src}


@pytest.mark.slow
def test_wheel_and_sdist_are_named_after_the_project(dists):
    project = _pyproject()["project"]
    stem = f"{project['name']}-{project['version']}"
    assert dists["sdist"].name == f"{stem}.tar.gz"
    assert dists["wheel"].name == f"{stem}-py3-none-any.whl"
    print(
        f"wheel {dists['wheel'].name}: {dists['wheel'].stat().st_size / 1024:.0f} KiB; "
        f"sdist {dists['sdist'].name}: {dists['sdist'].stat().st_size / 1024:.0f} KiB"
    )


@pytest.mark.slow
def test_wheel_contains_the_package_only(dists):
    names = zipfile.ZipFile(dists["wheel"]).namelist()
    project = _pyproject()["project"]
    info = f"{project['name']}-{project['version']}.dist-info/"
    outside = [n for n in names if not (n.startswith("mathsqrt/") or n.startswith(info))]
    assert not outside, f"the wheel holds more than the package: {outside}"
    assert not [n for n in names if n.startswith(NOT_IN_WHEEL) or "/tests/" in n or n.endswith(".ipynb")]
    # Every module of the source tree, the harness included (the notebooks import it).
    modules = {p.relative_to(dists["src"]).as_posix() for p in (dists["src"] / "mathsqrt").rglob("*.py")}
    assert modules, "no modules in the source copy"
    assert modules <= set(names), f"modules missing from the wheel: {sorted(modules - set(names))}"
    assert {"mathsqrt/__init__.py", "mathsqrt/paper/figures.py", "mathsqrt/paper/widgets/__init__.py"} <= set(names)
    packaged = {n for n in names if n.startswith("mathsqrt/")}
    assert packaged == modules, f"files in the wheel that are not modules: {sorted(packaged - modules)}"
    meta = email.message_from_bytes(zipfile.ZipFile(dists["wheel"]).read(info + "METADATA"))
    base = {r for r in meta.get_all("Requires-Dist") if "extra ==" not in r}
    assert {re.split(r"[<>=!~ ;]", r, maxsplit=1)[0] for r in base} == {
        re.split(r"[<>=!~ ;]", r, maxsplit=1)[0] for r in project["dependencies"]
    }
    assert set(meta.get_all("Provides-Extra")) == set(project["optional-dependencies"])


@pytest.mark.slow
def test_sdist_holds_what_the_wheel_is_built_from(dists):
    import tarfile

    with tarfile.open(dists["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", "LICENSE", "mathsqrt/__init__.py", "mathsqrt/paper/__init__.py"} <= names


# ------------------------------------------------------------------------------------------ install


def _requirement_closure(requirements: List[str]) -> Set[str]:
    """Names of the installed distributions that ``requirements`` need, recursively (markers evaluated)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: Set[str] = set()
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(req.name)
        key = name + "[" + ",".join(sorted(req.extras)) + "]"
        if key in seen:
            continue
        seen.add(key)
        dist = metadata.distribution(req.name)
        for sub in dist.requires or []:
            sub_req = Requirement(sub)
            if sub_req.marker is None or "extra" not in str(sub_req.marker):
                todo.append((sub_req, ""))
            else:
                for wanted in req.extras:
                    if sub_req.marker.evaluate({"extra": wanted}):
                        todo.append((sub_req, wanted))
    return {key.split("[", 1)[0] for key in seen}


def _link_distributions(names: Set[str], into: Path) -> List[str]:
    """Symlink every top-level file and folder of the distributions ``names`` into ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    linked = []
    for name in sorted(names):
        dist = metadata.distribution(name)
        base = Path(dist.locate_file(""))
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        tops.discard("__pycache__")
        for top in sorted(tops):
            target = into / top
            if (base / top).exists() and not target.exists():
                target.symlink_to(base / top)
                linked.append(top)
    return linked


def _readme_quickstart():
    readme = (ROOT / "README.md").read_text()
    block = re.findall(r"```python\n(.*?)```", readme, re.S)[0]
    lines = block.splitlines()
    expected = [line.split("# ", 1)[1] for line in lines if line.startswith("# ")]
    code = "\n".join(line for line in lines if not line.startswith("# "))
    return code, expected


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_wheel_installs_and_runs_outside_the_repository(dists, tmp_path):
    pytest.importorskip("packaging")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # The dependencies: exactly the closure of the wheel's requirements, from this environment.
    deps = _requirement_closure(_pyproject()["project"]["dependencies"])
    assert "mathsqrt" not in deps and "matplotlib" not in deps
    linked = _link_distributions(deps, tmp_path / "deps")
    assert "torch" in linked and "numpy" in linked
    (purelib / "_mathsqrt_test_dependencies.pth").write_text(str(tmp_path / "deps") + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    install = subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", str(dists["wheel"])],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    check = subprocess.run([*pip, "check"], capture_output=True, text=True, env=env, timeout=120)
    assert check.returncode == 0, (
        f"the wheel's requirements are not met by its dependency closure:\n{check.stdout}{check.stderr}"
    )

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code, expected = _readme_quickstart()
    probe = (
        "import sys, mathsqrt\n"
        "print(mathsqrt.__file__)\n"
        "print(mathsqrt.__version__)\n"
        "print(sorted(m for m in ('matplotlib', 'ipywidgets', 'sklearn', 'mathsqrt.paper') if m in sys.modules))\n"
    )
    run = subprocess.run(
        [str(python), "-I", "-c", probe + code], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout.splitlines()
    location, version, heavy, printed = Path(out[0]), out[1], out[2], out[3:]
    assert location.is_relative_to(venv), f"imported {location}, not the installed wheel"
    assert not location.is_relative_to(ROOT)
    assert version == _pyproject()["project"]["version"]
    assert heavy == "[]", f"import mathsqrt pulled in the harness's dependencies: {heavy}"
    assert printed[: len(expected)] == expected, "the README's quickstart printed something else"
    # The harness ships in the wheel (the notebooks import it); its plotting needs the notebooks extra.
    harness = subprocess.run(
        [str(python), "-I", "-c", "import mathsqrt.paper.figures as f; print(len(f.GENERATORS))"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert harness.returncode == 0 and int(harness.stdout) > 0, harness.stderr


# ------------------------------------------------------------------------------------------ instructions


def _pip_requirements(text: str) -> List[str]:
    """The ``"mathsqrt... @ git+..."`` requirements that ``pip install`` commands in ``text`` name."""
    return re.findall(r"""pip["',\s-]+install[^\n]*?["']((?:mathsqrt)[^"']*@\s*git\+[^"']+)["']""", text)


def test_install_instructions_match_the_package():
    """The Colab cell, the README and the site's landing page install the project that pyproject defines."""
    from packaging.requirements import Requirement

    from mathsqrt.paper.widgets import _common

    project = _pyproject()["project"]
    # The Colab cell builds its pip command from a template (the address can be overridden there).
    colab = "pip " + _common.colab_pip_command() if hasattr(_common, "colab_pip_command") else _common.COLAB_CELL
    sources = {
        "Colab cell": colab,
        "README": (ROOT / "README.md").read_text(),
        "docs/index.md": (ROOT / "docs" / "index.md").read_text(),
    }
    for where, text in sources.items():
        requirements = [Requirement(r) for r in _pip_requirements(text)]
        assert requirements, f'{where}: no `pip install "mathsqrt... @ git+..."` command'
        for req in requirements:
            assert req.name == project["name"], f"{where}: installs {req.name!r}"
            assert req.extras <= set(project["optional-dependencies"]), f"{where}: unknown extras {req.extras}"
            assert req.url == f"git+{_common.REPOSITORY}", f"{where}: installs from {req.url}"
