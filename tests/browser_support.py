"""Machinery for the browser tests: a private JupyterLab server and headless Chromium driven by Playwright.

The tests meet the notebooks the way a user does (``make lab``, a browser, Run All, drag a slider), but
without touching anything of the user's or of the repository:

- the server serves a *copy* of ``notebooks/`` from a temporary folder, so running cells never writes
  outputs or checkpoints into the repository;
- ``JUPYTER_CONFIG_DIR``, ``JUPYTER_DATA_DIR``, ``JUPYTER_RUNTIME_DIR``, ``JUPYTERLAB_SETTINGS_DIR``,
  ``JUPYTERLAB_WORKSPACES_DIR`` and ``IPYTHONDIR`` point into that temporary folder, so neither the
  user's Jupyter configuration nor their kernels or workspaces are read or written;
- kernels inherit ``MATHSQRT_FAST=1`` (small sizes) and import ``mathsqrt`` from this checkout.

The browser is Debian's Chromium (``/usr/bin/chromium``, or ``$MATHSQRT_CHROMIUM``); Playwright's own
browser download is never used. Without Chromium the tests skip, unless ``MATHSQRT_REQUIRE_BROWSER=1``
(set by ``.ci/run``), where they fail.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: The browser: Debian's Chromium package (``apt-get install chromium``).
CHROMIUM = Path(os.environ.get("MATHSQRT_CHROMIUM", "/usr/bin/chromium"))

#: Flags that keep Chromium quiet, offline and working as root in a container.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

#: Where screenshots go (``$MATHSQRT_BROWSER_RESULTS`` overrides).
RESULTS = Path(os.environ.get("MATHSQRT_BROWSER_RESULTS", ROOT / "results" / "browser"))

#: JupyterLab settings the tests run with: the project's (no news/update toasts, see the Makefile's
#: ``lab`` target), plus no autosave (the served copy is thrown away anyway).
LAB_SETTINGS: Dict[str, Dict[str, object]] = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
}

REQUIRE_ENV = "MATHSQRT_REQUIRE_BROWSER"

# Time bounds (seconds).
SERVER_START_TIMEOUT = 90.0
SERVER_STOP_TIMEOUT = 15.0
NOTEBOOK_OPEN_TIMEOUT = 60.0
RUN_ALL_TIMEOUT = 180.0
REDRAW_TIMEOUT = 60.0


def browser_required() -> bool:
    """Whether the environment demands that the browser tests run (CI)."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason``, or fail when ``MATHSQRT_REQUIRE_BROWSER=1`` requires the browser tests."""
    if browser_required():
        pytest.fail(f"{reason} (and {REQUIRE_ENV}=1 requires the browser tests)", pytrace=False)
    pytest.skip(reason)


def check_browser_available() -> None:
    """Skip (or fail, in CI) when Chromium or Playwright's Python package is missing."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        skip_or_fail(
            f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` "
            "(or set MATHSQRT_CHROMIUM) to run the browser tests"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_or_fail(
            "Playwright's Python package is not installed (`pip install playwright`; no browser download needed)"
        )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> bytes:
    """Body of a GET request (raises :class:`urllib.error.URLError` when nothing answers)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def wait_for_http(url: str, timeout: float, alive: Callable[[], bool] = lambda: True, what: str = "server") -> None:
    """Poll ``url`` until it answers 200, ``alive()`` turns false or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"the {what} exited before answering at {url}")
        try:
            http_get(url, timeout=2.0)
            return
        except (urllib.error.URLError, ConnectionError, OSError) as error:
            last = error
            time.sleep(0.25)
    raise TimeoutError(f"the {what} did not answer at {url} within {timeout:.0f} s (last error: {last})")


def stop_process(proc: subprocess.Popen, timeout: float = SERVER_STOP_TIMEOUT) -> None:
    """Terminate ``proc``, kill it after ``timeout`` seconds, then kill what is left of its process group.

    ``proc`` must have been started with ``start_new_session=True``: its group id is its pid, so the
    last step reaches only its own children (kernels, ``make``'s child), nothing else.
    """
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class LabServer:
    """A JupyterLab server started by the tests on a free port, serving ``root_dir``."""

    root_dir: Path
    home: Path
    port: int = field(default_factory=free_port)
    proc: Optional[subprocess.Popen] = None
    log_path: Optional[Path] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> Dict[str, str]:
        """The server's environment: private Jupyter folders, fast mode, this checkout importable."""
        env = dict(os.environ)
        dirs = {
            "JUPYTER_CONFIG_DIR": "config",
            "JUPYTER_DATA_DIR": "data",
            "JUPYTER_RUNTIME_DIR": "runtime",
            "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
            "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
            "IPYTHONDIR": "ipython",
        }
        for name, sub in dirs.items():
            path = self.home / sub
            path.mkdir(parents=True, exist_ok=True)
            env[name] = str(path)
        env["MATHSQRT_FAST"] = "1"
        # The kernels draw for a browser: do not inherit the test session's headless backend.
        env.pop("MPLBACKEND", None)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        return env

    def write_settings(self, settings_dir: Path) -> None:
        """User settings (one ``.jupyterlab-settings`` file per plugin) in the private settings folder."""
        for plugin, values in LAB_SETTINGS.items():
            package, name = plugin.split(":")
            path = settings_dir / package / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values, indent=2))

    def command(self) -> List[str]:
        jupyter = Path(sys.executable).with_name("jupyter")
        cmd = [str(jupyter) if jupyter.exists() else sys.executable, *([] if jupyter.exists() else ["-m", "jupyter"])]
        cmd += [
            "lab",
            "--no-browser",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            # A private server on 127.0.0.1 without a token; lets the tests delete sessions over REST.
            "--ServerApp.disable_check_xsrf=True",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root_dir}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        return cmd

    def start(self) -> None:
        env = self.environment()
        self.write_settings(Path(env["JUPYTERLAB_SETTINGS_DIR"]))
        self.log_path = self.home / "jupyterlab.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=self.root_dir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            wait_for_http(
                f"{self.url}/api/status",
                SERVER_START_TIMEOUT,
                alive=lambda: self.proc.poll() is None,
                what="JupyterLab server",
            )
            wait_for_http(
                f"{self.url}/lab",
                SERVER_START_TIMEOUT,
                alive=lambda: self.proc.poll() is None,
                what="JupyterLab server",
            )
        except Exception as error:
            self.stop()
            raise RuntimeError(f"{error}\n--- server log ---\n{self.log_tail()}") from error

    def log_tail(self, chars: int = 4000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def api(self, path: str, method: str = "GET") -> object:
        """A call to the server's REST API (no token: the server runs with an empty one)."""
        request = urllib.request.Request(f"{self.url}{path}", method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self, notebook: str) -> None:
        """Delete the sessions (and so the kernels) of ``notebook``, freeing memory between tests."""
        try:
            sessions = self.api("/api/sessions")
            for session in sessions:
                if session.get("path") == notebook:
                    self.api(f"/api/sessions/{session['id']}", method="DELETE")
        except (urllib.error.URLError, OSError, ValueError):
            pass


# --------------------------------------------------------------------------------------------------
# Driving JupyterLab's notebook page.
# --------------------------------------------------------------------------------------------------

#: An error output (``output_type: "error"``): JupyterLab renders its traceback as stderr text.
STDERR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
TRACEBACK_RE = re.compile(
    r"Traceback \(most recent call last\)|^\s*[A-Za-z_][\w.]*(Error|Exception|Interrupt)\b(:|$)", re.M
)


def is_traceback(text: str) -> bool:
    """Whether stderr output text is a Python error (as opposed to a warning or progress text)."""
    return bool(TRACEBACK_RE.search(text))


def accept_kernel_dialog(page) -> bool:
    """Accept a "Select Kernel" (or any other) dialog if one is open; whether one was."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and dialog.first.is_visible():
        button = dialog.locator(".jp-mod-accept")
        if button.count():
            button.first.click()
        else:
            page.keyboard.press("Enter")
        return True
    return False


def kernel_status(page) -> str:
    """The notebook toolbar's kernel status (``idle``, ``busy``, ``starting``, ...); '' without a kernel."""
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    name = panel.locator(".jp-KernelName")
    if not name.count() or (name.first.text_content() or "").strip() in {"", "No Kernel"}:
        return ""
    indicator = panel.locator(".jp-Notebook-ExecutionIndicator")
    if indicator.count():
        return indicator.first.get_attribute("data-status") or ""
    return ""


def wait_for_idle_kernel(page, timeout: float) -> None:
    """Wait until the notebook's kernel is idle, accepting a kernel-selection dialog on the way."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        accept_kernel_dialog(page)
        if kernel_status(page) == "idle":
            return
        page.wait_for_timeout(250)
    raise TimeoutError(f"the kernel was not idle within {timeout:.0f} s (status: {kernel_status(page)!r})")


def open_notebook(page, base_url: str, name: str) -> None:
    """Open ``name`` in a fresh workspace and wait for its kernel."""
    page.goto(f"{base_url}/lab/tree/{name}?reset", wait_until="domcontentloaded")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(
        state="attached", timeout=NOTEBOOK_OPEN_TIMEOUT * 1000
    )
    wait_for_idle_kernel(page, NOTEBOOK_OPEN_TIMEOUT)


def run_all_cells(page) -> None:
    """Menu Run -> Run All Cells."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).first.click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').first.click()


def prompts(page) -> List[str]:
    """Input prompts of the code cells, in order (``[3]:``, ``[*]:``, ``[ ]:``)."""
    return [t.strip() for t in page.locator(".jp-Notebook .jp-CodeCell .jp-InputArea-prompt").all_text_contents()]


def wait_for_run_all(page, timeout: float) -> float:
    """Wait until Run All finished (nothing queued, kernel idle); the seconds it took."""
    start = time.monotonic()
    deadline = start + timeout
    seen_busy = False
    while time.monotonic() < deadline:
        accept_kernel_dialog(page)
        current = prompts(page)
        status = kernel_status(page)
        seen_busy = seen_busy or status == "busy" or any("*" in p for p in current)
        done = current and not any("*" in p for p in current) and status == "idle"
        if done and (seen_busy or all(re.fullmatch(r"\[\d+\]:", p) for p in current)):
            return time.monotonic() - start
        page.wait_for_timeout(250)
    raise TimeoutError(f"Run All did not finish within {timeout:.0f} s; prompts: {prompts(page)}")


def error_outputs(page) -> List[str]:
    """Texts of the outputs that are Python errors (tracebacks)."""
    return [t for t in page.locator(STDERR_OUTPUT).all_text_contents() if is_traceback(t)]


def cell_error_report(page) -> str:
    """Which cells failed, with the end of each traceback."""
    report = []
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    for i in range(cells.count()):
        cell = cells.nth(i)
        texts = [t for t in cell.locator(STDERR_OUTPUT).all_text_contents() if is_traceback(t)]
        if texts:
            prompt = (cell.locator(".jp-InputArea-prompt").text_content() or "").strip()
            report.append(f"code cell {i + 1} {prompt}\n" + "\n".join(texts[-1].strip().splitlines()[-12:]))
    return "\n\n".join(report)


# --------------------------------------------------------------------------------------------------
# Widgets: every InteractivePlot is a VBox holding its controls and an ipywidgets Image.
# --------------------------------------------------------------------------------------------------

IMAGE = "img.widget-image"


def image_src(img) -> str:
    return img.get_attribute("src") or ""


LOG_STATUS = ".jp-LogConsoleStatusItem:not(.lm-mod-hidden)"


def log_entries(page) -> int:
    """How many entries the notebook's Log Console holds (errors raised in widget callbacks land there)."""
    item = page.locator(f"{LOG_STATUS} [title*='log entries']")
    if not item.count():
        return 0
    match = re.search(r"(\d+) log entries", item.first.get_attribute("title") or "")
    return int(match.group(1)) if match else 0


def log_console_text(page, lines: int = 20) -> str:
    """The end of the Log Console's text (opens the console by clicking its status-bar item)."""
    item = page.locator(LOG_STATUS)
    if not item.count():
        return ""
    item.first.click()
    panel = page.locator(".jp-LogConsolePanel")
    try:
        panel.first.wait_for(state="attached", timeout=5000)
        page.wait_for_timeout(300)
    except Exception:
        return ""
    text = "\n".join(panel.all_text_contents())
    return "\n".join(text.strip().splitlines()[-lines:])


def wait_for_src_change(page, img, before: str, timeout: float = REDRAW_TIMEOUT, logged: int = 0) -> float:
    """Wait until the image's ``src`` differs from ``before``; the seconds it took.

    Fails early, with the message, when the kernel is idle and the Log Console received an entry
    beyond the ``logged`` ones (an exception in a widget callback) while the image stayed the same.
    """
    start = time.monotonic()
    deadline = start + timeout
    idle_since = None
    while time.monotonic() < deadline:
        current = image_src(img)
        if current and current != before:
            return time.monotonic() - start
        if log_entries(page) > logged and kernel_status(page) == "idle":
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > 2.0 and image_src(img) == before:
                raise RedrawError("the kernel logged an error instead of redrawing:\n" + log_console_text(page))
        page.wait_for_timeout(100)
    raise RedrawError(f"the figure did not change within {timeout:.0f} s")


class RedrawError(AssertionError):
    """A control was moved but the figure was not redrawn."""


def slider_value(handle) -> str:
    """What a slider shows: its readout text (``5``, ``1.0e-02``), else its ARIA value."""
    readout = handle.locator(
        "xpath=ancestor::*[contains(@class, 'widget-slider')][1]//*[contains(@class, 'widget-readout')]"
    )
    text = (readout.first.text_content() or "").strip() if readout.count() else ""
    return text or handle.get_attribute("aria-valuetext") or handle.get_attribute("aria-valuenow") or ""


def _aria(handle) -> str:
    return f"{handle.get_attribute('aria-valuenow')}"


class Control:
    """A slider handle (``.noUi-handle``) or a dropdown (``<select>``) of an InteractivePlot.

    :meth:`move` changes it by one step (keyboard for sliders, the next entry for dropdowns) and
    :meth:`restore` undoes that, so that every control is tried from the notebook's initial state.
    """

    def __init__(self, element, kind: str) -> None:
        self.element = element
        self.kind = kind
        self.label = control_label(element)
        self._undo: Optional[Callable[[], None]] = None

    def value(self) -> str:
        if self.kind == "slider":
            return slider_value(self.element)
        return (
            self.element.evaluate("el => el.options[el.selectedIndex] ? el.options[el.selectedIndex].text : ''") or ""
        ).strip()

    def movable(self) -> bool:
        return self.kind == "slider" or self.element.locator("option").count() >= 2

    def move(self, page) -> str:
        """Change the control by one step; ``'old -> new'``."""
        self.element.scroll_into_view_if_needed()
        before = self.value()
        if self.kind == "slider":
            handle = self.element
            start = _aria(handle)
            for key, back in (("ArrowRight", "ArrowLeft"), ("ArrowLeft", "ArrowRight")):
                handle.focus()
                page.keyboard.press(key)
                page.wait_for_timeout(50)
                if _aria(handle) != start:
                    self._undo = lambda back=back: (handle.focus(), page.keyboard.press(back))
                    break
            else:
                raise AssertionError(f"slider {self.label!r} did not move with the keyboard (value {before!r})")
        else:
            select = self.element
            current = select.evaluate("el => el.selectedIndex")
            n = select.locator("option").count()
            select.select_option(index=(current + 1) % n)
            self._undo = lambda: select.select_option(index=current)
        return f"{before} -> {self.value()}"

    def restore(self, page) -> None:
        if self._undo is not None:
            self.element.scroll_into_view_if_needed()
            self._undo()
            self._undo = None


def plot_controls(plot) -> List[Control]:
    """The sliders and dropdowns of one InteractivePlot, in display order of kind."""
    controls = [Control(h, "slider") for h in plot.locator(".noUi-handle").all()]
    controls += [Control(s, "dropdown") for s in plot.locator(".widget-dropdown select").all()]
    return controls


def plot_containers(page):
    """The VBoxes of the InteractivePlots on the page: each is the parent of an ipywidgets Image."""
    return page.locator(f".jp-OutputArea-output .widget-vbox:has(> {IMAGE})")


#: Widgets shown as their text repr: the ipywidgets frontend extension is missing.
WIDGET_REPR_RE = re.compile(r"^(VBox|HBox|Box|GridBox|Image|Output|\w*Slider|Dropdown)\(")


def widget_render_failures(page) -> List[str]:
    """Outputs where a widget did not render: a text repr instead of the widget, or a rendering error."""
    failures = []
    for text in page.locator('.jp-OutputArea-output[data-mime-type="text/plain"]').all_text_contents():
        if WIDGET_REPR_RE.match(text.strip()):
            failures.append(f"widget shown as text (is the ipywidgets extension missing?): {text.strip()[:120]}")
    for text in page.locator(".jp-OutputArea-output").all_text_contents():
        if "Error displaying widget" in text or "Error rendering" in text:
            failures.append(text.strip()[:300])
    return failures


def control_label(control) -> str:
    """The description label of the slider/dropdown that ``control`` (a handle or select) belongs to."""
    label = control.locator(
        "xpath=ancestor::*[contains(@class, 'widget-inline-hbox')][1]//label[contains(@class, 'widget-label')]"
    )
    text = (label.first.text_content() or "").strip() if label.count() else ""
    return text or "(unlabelled)"


def hide_left_sidebar(page) -> None:
    """Collapse the file browser so that screenshots show the notebook wide."""
    tab = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if tab.count():
        tab.first.click()
