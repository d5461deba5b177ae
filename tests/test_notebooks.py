"""Every notebook in notebooks/ is committed clean and executes headless from top to bottom."""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mathsqrt.paper.widgets import COLAB_CELL, REPOSITORY, REPOSITORY_ENV, colab_pip_command

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _load(path):
    return json.loads(path.read_text())


def _ids(paths):
    return [p.stem for p in paths]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_without_outputs(path):
    nb = _load(path)
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs", []) == [], f"{path.name}: cell {i} has outputs"
            assert cell.get("execution_count") is None, f"{path.name}: cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_structure(path):
    """goal -> maths -> code -> Try it -> summary -> exercises with hidden answers; Colab cell first."""
    nb = _load(path)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "".join(code[0]["source"]).strip() == COLAB_CELL.strip(), (
        f"{path.name}: first code cell is not the Colab cell"
    )
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for needle in ("Try it", "Summary", "Exercises", "<details>", "$"):
        assert needle in text, f"{path.name}: no {needle!r} in the narrative"
    assert "Song" in text or "paper" in text.lower(), f"{path.name}: does not cite the paper"


class _Shell:
    """A stand-in for IPython's shell that records line-magic calls instead of running them."""

    def __init__(self):
        self.calls = []

    def run_line_magic(self, name, line):
        self.calls.append((name, line))


def _run_colab_cell(monkeypatch, *, colab: bool):
    """Execute COLAB_CELL as a notebook would, with ``get_ipython`` a recording stub; return the shell and stdout."""
    shell = _Shell()
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(COLAB_CELL, "<colab cell>", "exec"), {"get_ipython": lambda: shell})
    return shell, out.getvalue()


def test_colab_cell_is_a_no_op_outside_colab(monkeypatch):
    """JupyterLab, `make lab`, nbclient: nothing is installed, nothing printed, nothing run."""
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    shell, printed = _run_colab_cell(monkeypatch, colab=False)
    assert shell.calls == [] and calls == [] and printed == ""


def test_colab_cell_installs_the_package_alone_with_pip_magic(monkeypatch):
    """On Colab: one visible `%pip install` of mathsqrt from REPOSITORY, with no extra (no JupyterLab, no
    ipywidgets upgrade: Colab has every dependency of the notebooks), and no silent subprocess."""
    from packaging.requirements import Requirement

    monkeypatch.delenv(REPOSITORY_ENV, raising=False)
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    shell, printed = _run_colab_cell(monkeypatch, colab=True)
    assert calls == []
    assert shell.calls == [("pip", colab_pip_command(REPOSITORY))]
    args = shlex.split(shell.calls[0][1])
    assert args[:2] == ["install", "-q"] and len(args) == 3
    req = Requirement(args[2])
    assert req.name == "mathsqrt" and not req.extras and req.url == f"git+{REPOSITORY}"
    assert REPOSITORY in printed and "installed" in printed


def test_colab_cell_repository_is_one_overridable_setting(monkeypatch):
    fork = "https://example.org/someone/mathsqrt-fork"
    monkeypatch.setenv(REPOSITORY_ENV, fork)
    shell, _ = _run_colab_cell(monkeypatch, colab=True)
    assert shell.calls == [("pip", colab_pip_command(fork))] and f"git+{fork}" in shell.calls[0][1]
    # the default address is written once, in mathsqrt.paper.widgets._common, and appears once in the cell
    assert COLAB_CELL.count(REPOSITORY) == 1 and REPOSITORY_ENV == "MATHSQRT_REPOSITORY"


def test_colab_cell_explains_a_failed_install(monkeypatch):
    """If pip could not install the package (network, moved repository), the cell stops with a message that
    names the repository and the setting, instead of a ModuleNotFoundError two cells later."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mathsqrt" else real(name, *a))
    monkeypatch.setenv(REPOSITORY_ENV, "https://example.org/gone")
    with pytest.raises(RuntimeError, match=r"https://example.org/gone.*MATHSQRT_REPOSITORY"):
        _run_colab_cell(monkeypatch, colab=True)


def test_colab_pip_command_runs_through_ipython_pip_magic(monkeypatch):
    """IPython's own `%pip` turns the cell's arguments into `python -m pip install -q 'mathsqrt @ git+...'`."""
    interactiveshell = pytest.importorskip("IPython.core.interactiveshell")
    shell = interactiveshell.InteractiveShell.instance()
    commands = []
    monkeypatch.setattr(shell, "system", commands.append)
    with contextlib.redirect_stdout(io.StringIO()):
        shell.run_line_magic("pip", colab_pip_command())
    (command,) = commands
    assert shlex.split(command)[1:] == ["-m", "pip", "install", "-q", f"mathsqrt @ git+{REPOSITORY}"]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_executes_headless(path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("MATHSQRT_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first failing cell
    elapsed = time.perf_counter() - start
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors
    print(f"{path.name}: executed in {elapsed:.1f} s (fast mode)")
