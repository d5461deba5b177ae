"""The README's `make lab`, as a new user meets it: it starts JupyterLab on notebooks/ and prints the URL.

The test runs the real ``make lab`` from the repository root in the background (on a free port, with
``LAB_ARGS=--no-browser``), waits for the URL that Jupyter prints, asks the server for its notebook
listing, and stops the whole process group. The venv is already set up (``make test`` runs ``setup``
first), so ``make lab``'s set-up step must be a no-op: the same ``TORCH`` spec that the set-up stamp
records is passed through, and the test checks that nothing is reinstalled.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts JupyterLab: `make test-fast` skips it

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
STAMP = VENV / ".mathsqrt-installed"
NOTEBOOKS = ROOT / "notebooks"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _make_env(home: Path) -> dict:
    """The user's environment, minus the outer make's flags, with private Jupyter folders."""
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_WORKSPACES_DIR"):
        path = home / name.lower()
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    return env


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the process group of ``make lab`` (make and jupyter), SIGKILL after a timeout."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=STOP_TIMEOUT)
            if sig == signal.SIGTERM:
                # make has exited; make sure its children have too.
                time.sleep(0.5)
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def torch_spec() -> str:
    """The TORCH requirement the venv was set up with (what ``make setup`` recorded in its stamp)."""
    if shutil.which("make") is None:
        pytest.skip("`make` is not installed")
    if not STAMP.exists():
        pytest.skip(f"the venv was not set up by `make` ({STAMP.relative_to(ROOT)} missing): run `make setup` first")
    newer = [p.name for p in (ROOT / "pyproject.toml", ROOT / "Makefile") if p.stat().st_mtime > STAMP.stat().st_mtime]
    if newer:
        pytest.skip(f"{', '.join(newer)} changed since the last set-up: run `make setup` first")
    return STAMP.read_text().strip()


@pytest.mark.timeout(60)
def test_make_lab_does_not_reinstall_when_set_up(torch_spec, tmp_path):
    """With the venv set up, `make lab`'s set-up step installs nothing (dry run)."""
    out = subprocess.run(
        ["make", "-n", "lab", f"TORCH={torch_spec}", "PORT=1", "LAB_ARGS=--no-browser"],
        cwd=ROOT,
        env=_make_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "pip install" not in out.stdout, f"`make lab` would reinstall:\n{out.stdout}"
    assert "jupyter lab" in out.stdout and "--ServerApp.root_dir=notebooks" in out.stdout, out.stdout


@pytest.mark.timeout(180)
def test_make_lab_serves_the_notebooks(torch_spec, tmp_path):
    port = _free_port()
    stamp_mtime = STAMP.stat().st_mtime
    log_path = tmp_path / "make-lab.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            ["make", "lab", f"PORT={port}", f"TORCH={torch_spec}", "LAB_ARGS=--no-browser"],
            cwd=ROOT,
            env=_make_env(tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        # The URL Jupyter prints, with its token.
        pattern = re.compile(rf"http://127\.0\.0\.1:{port}/lab\?token=(\w+)")
        deadline = time.monotonic() + START_TIMEOUT
        match = None
        while match is None:
            text = log_path.read_text(errors="replace")
            match = pattern.search(text)
            assert proc.poll() is None or match, f"`make lab` exited with {proc.returncode}:\n{text[-3000:]}"
            assert time.monotonic() < deadline, f"no URL printed within {START_TIMEOUT:.0f} s:\n{text[-3000:]}"
            time.sleep(0.25)
        token = match.group(1)
        text = log_path.read_text(errors="replace")
        assert f"Starting JupyterLab on notebooks/ at http://127.0.0.1:{port}/lab" in text
        assert "pip install" not in text, "`make lab` reinstalled the venv"

        def get(path: str) -> bytes:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"token {token}"}
            )
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        return response.read()
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.25)

        # Served from notebooks/: the root listing holds exactly the notebooks there.
        listing = json.loads(get("/api/contents/"))
        served = sorted(item["name"] for item in listing["content"] if item["type"] == "notebook")
        assert served == sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")), served

        # The ipywidgets frontend is a prebuilt extension of this JupyterLab: no manual step.
        page = get("/lab").decode()
        assert "@jupyter-widgets/jupyterlab-manager" in page, "the ipywidgets JupyterLab extension is not loaded"

        # The project's settings (Makefile `lab`): no news toast over the notebooks.
        plugin = json.loads(get("/lab/api/settings/@jupyterlab/apputils-extension:notification"))
        defaults = plugin["schema"]["properties"]
        assert defaults["fetchNews"]["default"] == "false" and defaults["checkForUpdates"]["default"] is False

        # Notebooks run on the venv's Python, which imports this checkout's mathsqrt.
        kernelspecs = json.loads(get("/api/kernelspecs"))
        argv = kernelspecs["kernelspecs"][kernelspecs["default"]]["spec"]["argv"]
        # A bare "python" is replaced by the server's own interpreter (the venv's) when the kernel starts.
        bare = argv[0] in {"python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"}
        assert bare or Path(argv[0]).resolve().parent == (VENV / "bin").resolve(), argv
        assert proc.poll() is None
    finally:
        _stop_group(proc)
    assert STAMP.stat().st_mtime == stamp_mtime, "`make lab` rewrote the set-up stamp"


@pytest.mark.timeout(60)
def test_venv_kernel_imports_mathsqrt_from_the_notebooks_folder(torch_spec):
    """What a notebook's first import meets under `make lab`: the venv's Python, cwd notebooks/, no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    NOTEBOOKS.mkdir(exist_ok=True)
    out = subprocess.run(
        [str(VENV / "bin" / "python"), "-c", "import mathsqrt, ipywidgets, matplotlib; print(mathsqrt.__file__)"],
        cwd=NOTEBOOKS,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()).resolve().is_relative_to(ROOT.resolve()), out.stdout
