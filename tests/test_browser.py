"""Every notebook, in a real browser: JupyterLab opens it, Run All succeeds, and its sliders redraw the figures.

One JupyterLab server (on a free port, private settings, ``MATHSQRT_FAST=1``) and one headless Chromium
serve the whole session; each notebook gets a new page. For each notebook the test

1. opens ``/lab/tree/NB.ipynb?reset``, accepting the "Select Kernel" dialog if it appears;
2. runs Run → Run All Cells and waits (bounded) until every code cell has run and the kernel is idle;
3. asserts that no cell produced an error and that every widget rendered (not its text repr);
4. for every ``InteractivePlot`` (a widget box holding an ``ipywidgets.Image``) moves each slider one
   step with the keyboard (and picks another entry of each dropdown), asserts that the displayed
   figure changed (a new image ``src`` *and* different pixels) within a time bound, then moves it back
   (another redraw), so that every control is tried from the notebook's initial state; an exception
   in a widget callback (shown only in JupyterLab's Log Console) fails the test with its traceback;
5. saves screenshots before and after under ``results/browser/`` (``$MATHSQRT_BROWSER_RESULTS``):
   ``NB--before.png``/``NB--after.png`` (the page at the first widget), ``NB--plotK-before/after.png``
   (each widget) and ``NB--summary.json`` (timings, the controls moved, JavaScript errors).

Without Chromium the tests skip; with ``MATHSQRT_REQUIRE_BROWSER=1`` (CI) they fail instead.
``$MATHSQRT_BROWSER_NOTEBOOKS`` points the tests at another folder of notebooks.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

try:
    import browser_support as bs
except ImportError:  # tests/ imported as a package
    from . import browser_support as bs

NOTEBOOK_DIR = Path(os.environ.get("MATHSQRT_BROWSER_NOTEBOOKS", bs.ROOT / "notebooks"))
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
VIEWPORT = {"width": 1400, "height": 1000}

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="session")
def results_dir() -> Path:
    bs.RESULTS.mkdir(parents=True, exist_ok=True)
    return bs.RESULTS


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    """A JupyterLab server serving a throw-away copy of the notebooks (the repository stays clean)."""
    bs.check_browser_available()
    home = tmp_path_factory.mktemp("jupyterlab")
    root = home / "notebooks"
    shutil.copytree(NOTEBOOK_DIR, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    server = bs.LabServer(root_dir=root, home=home)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser_context(lab_server):
    """One headless Chromium (Debian's, never a downloaded one) for the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(bs.CHROMIUM), args=bs.CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport=VIEWPORT)
        try:
            yield context
        finally:
            context.close()
            browser.close()


def _code_cells(path: Path) -> list:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def _shot(target, path: Path) -> bytes:
    data = target.screenshot()
    path.write_bytes(data)
    return data


def _wait_for_new_pixels(page, img, before: bytes, timeout: float = bs.REDRAW_TIMEOUT) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        img.scroll_into_view_if_needed()
        now = img.screenshot()
        if now != before or time.monotonic() > deadline:
            return now
        page.wait_for_timeout(100)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_sliders_redraw(path, lab_server, browser_context, results_dir):
    name = path.name
    stem = path.stem
    for old in results_dir.glob(f"{stem}--*"):
        old.unlink()
    page = browser_context.new_page()
    page_errors: list = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    summary = {"notebook": name, "moves": []}
    start = time.monotonic()
    try:
        bs.open_notebook(page, lab_server.url, name)
        bs.hide_left_sidebar(page)
        summary["open_seconds"] = round(time.monotonic() - start, 2)

        # Run -> Run All Cells, bounded.
        bs.run_all_cells(page)
        summary["run_all_seconds"] = round(bs.wait_for_run_all(page, bs.RUN_ALL_TIMEOUT), 2)

        errors = bs.error_outputs(page)
        assert not errors, f"{name}: cells raised errors in JupyterLab:\n{bs.cell_error_report(page)}"
        prompts = bs.prompts(page)
        code = _code_cells(path)
        assert len(prompts) == len(code), f"{name}: {len(code)} code cells in the file, {len(prompts)} on the page"
        not_run = [
            i + 1
            for i, (p, c) in enumerate(zip(prompts, code))
            if "".join(c["source"]).strip() and not p.strip("[]:").isdigit()
        ]
        assert not not_run, f"{name}: code cells {not_run} did not run (prompts {prompts})"
        failures = bs.widget_render_failures(page)
        assert not failures, f"{name}: widgets did not render:\n" + "\n".join(failures)

        plots = bs.plot_containers(page)
        n_plots = plots.count()
        assert n_plots >= 1, f"{name}: no InteractivePlot (controls + ipywidgets Image) on the page"
        summary["plots"] = n_plots

        plots.first.scroll_into_view_if_needed()
        page.screenshot(path=str(results_dir / f"{stem}--before.png"))

        for k in range(n_plots):
            plot = plots.nth(k)
            img = plot.locator(f"> {bs.IMAGE}").first
            img.wait_for(state="visible", timeout=bs.REDRAW_TIMEOUT * 1000)
            plot.scroll_into_view_if_needed()
            _shot(plot, results_dir / f"{stem}--plot{k + 1}-before.png")
            controls = [c for c in bs.plot_controls(plot) if c.movable()]
            assert controls, f"{name}: plot {k + 1} has no slider or dropdown"
            moved = 0
            for control in controls:
                # Move one step from the initial state, check the redraw, move back (also a redraw).
                for step in ("move", "restore"):
                    src_before = bs.image_src(img)
                    logged = bs.log_entries(page)
                    if step == "move":
                        img.scroll_into_view_if_needed()
                        pixels_before = img.screenshot()
                        change = control.move(page)
                    else:
                        control.restore(page)
                    what = f"{control.kind} {control.label!r} ({change}{', back' if step == 'restore' else ''})"
                    try:
                        seconds = bs.wait_for_src_change(page, img, src_before, logged=logged)
                    except bs.RedrawError as error:
                        raise AssertionError(f"{name}: plot {k + 1}: moving {what}: {error}") from None
                    if step == "move":
                        # What the user sees changed, not only the image data.
                        pixels_after = _wait_for_new_pixels(page, img, pixels_before)
                        assert pixels_after != pixels_before, (
                            f"{name}: plot {k + 1}: moving {what} changed the image data but not what is displayed"
                        )
                        summary["moves"].append(
                            {
                                "plot": k + 1,
                                "kind": control.kind,
                                "label": control.label,
                                "change": change,
                                "redraw_seconds": round(seconds, 2),
                            }
                        )
                moved += 1
            assert moved, f"{name}: plot {k + 1}: no control could be moved"
            # Leave the first control moved, for the "after" screenshot.
            src_before = bs.image_src(img)
            controls[0].move(page)
            bs.wait_for_src_change(page, img, src_before)
            plot.scroll_into_view_if_needed()
            _shot(plot, results_dir / f"{stem}--plot{k + 1}-after.png")

        assert not bs.error_outputs(page), f"{name}: errors after moving the sliders:\n{bs.cell_error_report(page)}"
        plots.first.scroll_into_view_if_needed()
        page.screenshot(path=str(results_dir / f"{stem}--after.png"))
        if bs.log_entries(page):
            # Kernel messages outside cells (e.g. warnings from widget callbacks): kept for review.
            summary["log_console"] = bs.log_console_text(page, lines=40)
    except BaseException:
        try:
            page.screenshot(path=str(results_dir / f"{stem}--failure.png"))
        except Exception:
            pass
        if page_errors:
            print(f"{name}: JavaScript errors on the page:\n" + "\n".join(page_errors[:10]))
        raise
    finally:
        summary["seconds"] = round(time.monotonic() - start, 2)
        summary["page_errors"] = page_errors[:10]
        (results_dir / f"{stem}--summary.json").write_text(json.dumps(summary, indent=2))
        page.close()
        lab_server.shutdown_kernels(name)
    moves = ", ".join(f"plot{m['plot']}:{m['label']} {m['change']} ({m['redraw_seconds']} s)" for m in summary["moves"])
    print(f"{name}: ran in {summary['run_all_seconds']} s; {summary['plots']} plot(s); moved {moves}")
