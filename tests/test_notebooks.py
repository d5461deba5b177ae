"""Every notebook in notebooks/ is committed clean and executes headless from top to bottom."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mathsqrt.paper.widgets import COLAB_CELL

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


def test_colab_cell_is_a_no_op_outside_colab(monkeypatch):
    assert "google.colab" not in sys.modules
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(COLAB_CELL, "<colab cell>", "exec"), {})
    assert calls == []


def test_colab_cell_installs_on_colab(monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a[0]))
    monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    exec(compile(COLAB_CELL, "<colab cell>", "exec"), {})
    assert len(calls) == 1 and "pip" in calls[0] and any("mathsqrt" in str(arg) for arg in calls[0])


@pytest.mark.slow
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
