"""The documentation site: ``make docs`` builds it strictly, it has every page, and it renders in a browser.

The fast tests check the set-up (the ``docs`` extra, the Makefile's strict flags, an API page for
every public module). The slow ones build the site once per session, exactly as ``make docs`` does
(``sphinx -W --keep-going -n``), into a temporary folder, and inspect it: every notebook executed with
its figures, every public name in the API reference, every figure in the gallery, the errata computed,
no resource from the network. The browser test (``browser`` and ``slow``) serves that build on
localhost, opens it in headless Chromium (Debian's, as in ``test_browser.py``) with every request
outside localhost blocked, follows the navigation to a notebook page and an API page, checks that
MathJax typeset every formula and that every image loaded, and saves screenshots to ``results/docs/``
(``$MATHSQRT_DOCS_RESULTS``). Without Chromium it skips, unless ``MATHSQRT_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import concurrent.futures
import functools
import http.server
import importlib
import json
import os
import pkgutil
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

try:
    import browser_support as bs
except ImportError:  # tests/ imported as a package
    from . import browser_support as bs

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
RESULTS = Path(os.environ.get("MATHSQRT_DOCS_RESULTS", ROOT / "results" / "docs"))
STRICT = ["-W", "--keep-going", "-n"]
BUILD_TIMEOUT = 1200
# Whichever test first asks for the built site waits for the build (a few minutes on two cores).
pytestmark = pytest.mark.timeout(BUILD_TIMEOUT + 300)


def _pyproject():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def public_modules():
    """Every importable module of the package whose dotted name has no private (``_``) part."""
    import mathsqrt

    names = ["mathsqrt"]
    for info in pkgutil.walk_packages(mathsqrt.__path__, "mathsqrt."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def documented_modules():
    """Modules named by an ``automodule`` directive in ``docs/api/*.rst``."""
    found = set()
    for page in (DOCS / "api").glob("*.rst"):
        found |= set(re.findall(r"^\.\. automodule:: ([\w.]+)", page.read_text(), re.M))
    return found


def _ext(name: str):
    """A module of the documentation's own Sphinx extensions (``docs/_ext/``)."""
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(DOCS / "_ext"))


# ------------------------------------------------------------------------------------------ fast


def test_docs_extra_and_make_docs_are_set_up():
    extras = _pyproject()["project"]["optional-dependencies"]
    names = {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in extras["docs"]}
    assert {"sphinx", "myst-nb", "numpydoc", "furo", "sphinx-mathjax-offline"} <= names
    assert "build" in {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in extras["test"]}
    makefile = (ROOT / "Makefile").read_text()
    assert '-e ".[notebooks,test,docs]"' in makefile, "make setup must install the docs extra"
    recipe = re.search(r"^docs: setup\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "no `docs: setup` target in the Makefile"
    assert "-m sphinx -b html $(SPHINXOPTS)" in recipe.group(1)
    assert re.search(r"^SPHINXOPTS \?= " + re.escape(" ".join(STRICT)) + "$", makefile, re.M), (
        "make docs must be strict"
    )
    gitignore = (ROOT / ".gitignore").read_text().split()
    assert {"docs/_build/", "docs/notebooks/", "results/"} <= set(gitignore)


def test_every_public_module_has_an_api_page():
    missing = sorted(set(public_modules()) - documented_modules())
    assert not missing, f"add an automodule directive for {missing} to a page of docs/api/"


def test_mathjax_is_served_from_an_installed_package():
    folder = _ext("offline_mathjax").mathjax_folder()
    assert (folder / "tex-chtml.js").stat().st_size > 100_000
    assert list((folder / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff")), "MathJax fonts missing"


def test_widget_outputs_become_a_caption_and_the_initial_image():
    """The conversion of ``_ext/executed_notebooks.py`` on a hand-made widget state (no kernel needed)."""
    import base64

    nbformat = pytest.importorskip("nbformat")
    executed = _ext("executed_notebooks")
    png = b"\x89PNG\r\n\x1a\nnot really a picture"
    controls = "@jupyter-widgets/controls"
    state = {
        "box": {
            "model_name": "VBoxModel",
            "model_module": controls,
            "state": {"children": ["IPY_MODEL_title", "IPY_MODEL_slider", "IPY_MODEL_image", "IPY_MODEL_status"]},
        },
        "title": {
            "model_name": "HTMLModel",
            "model_module": controls,
            "state": {"value": "<b>a &amp; b</b>", "description": ""},
        },
        "slider": {
            "model_name": "IntSliderModel",
            "model_module": controls,
            "state": {"description": "degree K", "value": 5, "readout_format": "d"},
        },
        "image": {
            "model_name": "ImageModel",
            "model_module": controls,
            "state": {"format": "png"},
            "buffers": [{"path": ["value"], "encoding": "base64", "data": base64.b64encode(png).decode()}],
        },
        "status": {
            "model_name": "HTMLModel",
            "model_module": controls,
            "state": {"value": "<small>updated in 3 ms</small>"},
        },
    }
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("plot")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={
                executed.WIDGET_VIEW: {"model_id": "box", "version_major": 2, "version_minor": 0},
                "text/plain": "VBox(...)",
            },
        )
    ]
    nb.cells.append(cell)
    nb.metadata["widgets"] = {executed.WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    assert executed.staticise_widgets(nb) == 1
    outputs = nb.cells[0].outputs
    assert "widgets" not in nb.metadata
    assert all(executed.WIDGET_VIEW not in o.get("data", {}) for o in outputs)
    caption = outputs[0]["data"]["text/html"]
    assert "<strong>a &amp; b</strong>" in caption and "degree K = 5" in caption and "updated in" not in caption
    assert base64.b64decode(outputs[1]["data"]["image/png"]) == png
    # A widget whose state was not recorded cannot be shown: that is an error, not a silent gap.
    nb.metadata["widgets"] = {executed.WIDGET_STATE: {"state": {}}}
    nb.cells[0].outputs = cell.outputs = [
        nbformat.v4.new_output("display_data", data={executed.WIDGET_VIEW: {"model_id": "x"}})
    ]
    with pytest.raises(ValueError, match="no recorded state"):
        executed.staticise_widgets(nb)


def test_citations_are_scoped_to_their_module_or_docstring():
    """``[1]_`` cites its module's References, unless the docstring defines its own ``[1]``."""
    scoped = _ext("scoped_citations")
    module_doc = ["Text [1]_ and [2]_.", "", "References", "----------", ".. [1] Song.", ".. [2] Higham."]
    scoped.scope_lines(module_doc, "pkg.mod", "pkg.mod")
    function_doc = ["Eq. (5) in [1]_, see also [3]_.", "", ".. [3] Own reference."]
    scoped.scope_lines(function_doc, "pkg.mod.f", "pkg.mod")
    assert f"[{scoped.mangle('pkg.mod', '1')}]_" in function_doc[0]  # the module's [1]
    assert f"[{scoped.mangle('pkg.mod.f', '3')}]_" in function_doc[0]  # its own [3]
    assert function_doc[2].startswith(f".. [{scoped.mangle('pkg.mod.f', '3')}]")
    assert module_doc[4].startswith(f".. [{scoped.mangle('pkg.mod', '1')}]")
    assert scoped.mangle("pkg.mod", "1") != scoped.mangle("pkg.other", "1")
    assert re.fullmatch(r"R[0-9a-f]{12}-1", scoped.mangle("pkg.mod", "1"))  # numpydoc relabels this form


def test_absolute_values_in_docstrings_are_not_substitutions():
    absolute_values = _ext("absolute_values")
    lines = ["per-eigenvalue |relative error| of :math:`\\|A\\|_F`, ``|x|``::", "", "    |literal|", "", ">>> a |b| c"]
    absolute_values.escape_lines(lines)
    assert lines[0] == "per-eigenvalue \\|relative error\\| of :math:`\\|A\\|_F`, ``|x|``::"
    assert lines[2:] == ["    |literal|", "", ">>> a |b| c"]


# ------------------------------------------------------------------------------------------ the build


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The site built as ``make docs`` builds it (strict), into a temporary folder; its log in results/docs/."""
    out = tmp_path_factory.mktemp("docs")
    html = out / "html"
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", *STRICT, "-d", str(out / "doctrees"), str(DOCS), str(html)]
    env = dict(os.environ, MPLBACKEND="Agg")
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    seconds = time.perf_counter() - start
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = proc.stdout + "\n--- stderr ---\n" + proc.stderr
    (RESULTS / "build.log").write_text(log)
    executed = re.search(r"executed (\d+) notebook\(s\).*?\(([\d.]+) s\)", log)
    (RESULTS / "build.json").write_text(
        json.dumps(
            {
                "seconds": round(seconds, 1),
                "returncode": proc.returncode,
                "command": " ".join(cmd[1:]),
                "notebooks_executed": int(executed.group(1)) if executed else None,
                "notebook_seconds": float(executed.group(2)) if executed else None,
            },
            indent=2,
        )
    )
    print(f"docs built in {seconds:.1f} s ({executed.group(0) if executed else 'notebook cache unknown'})")
    assert proc.returncode == 0, f"the strict docs build failed:\n{proc.stderr[-8000:]}"
    return html


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.mark.slow
def test_site_builds_without_warnings(site):
    log = (RESULTS / "build.log").read_text()
    assert "build succeeded" in log
    assert "WARNING" not in log.split("--- stderr ---")[1].replace("[IPKernelApp] WARNING", "")


@pytest.mark.slow
def test_site_has_every_page(site):
    pages = [
        "index.html",
        "notebooks.html",
        "gallery.html",
        "errata.html",
        "paper-comparison.html",
        "api/index.html",
        "genindex.html",
        "py-modindex.html",
        "search.html",
    ]
    pages += [f"notebooks/{p.stem}.html" for p in NOTEBOOKS]
    missing = [p for p in pages if not (site / p).is_file()]
    assert not missing, missing
    index = _text(site / "index.html")
    for target in ("notebooks.html", "api/index.html", "gallery.html", "errata.html", "paper-comparison.html"):
        assert f'href="{target}' in index, f"the landing page does not link to {target}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_pages_show_their_outputs_and_figures(site, path):
    page = _text(site / "notebooks" / f"{path.stem}.html")
    assert "cell_output" in page, f"{path.name}: no outputs on the page"
    for bad in ("application/vnd.jupyter.widget", "Traceback (most recent call last)", "Error displaying widget"):
        assert bad not in page, f"{path.name}: {bad!r} on the page"
    assert re.search(r"\bVBox\(children=", page) is None, f"{path.name}: a widget is shown as its text repr"
    captions = page.count('class="mathsqrt-widget-caption"')
    assert captions >= 1, f"{path.name}: no interactive figure shown in its initial state"
    images = re.findall(r'<img[^>]+src="(\.\./_images/[^"]+)"', page)
    assert len(images) >= captions, f"{path.name}: {captions} widget captions but {len(images)} images"
    for src in images:
        assert (site / "notebooks" / src).resolve().stat().st_size > 1000, src
    assert f"notebooks/{path.name}" in page, "the page does not say which notebook it is"


@pytest.mark.slow
def test_api_reference_documents_every_public_name(site):
    """Every function and class in the ``__all__`` of a public module has an entry (under some name).

    (Constants get one when they carry a ``#:`` doc comment in the module that exports them; autodoc
    cannot document a bare value.)
    """
    ids = set()
    for page in (site / "api").glob("*.html"):
        ids |= set(re.findall(r'<dt class="sig sig-object py" id="([\w.]+)"', _text(page)))
    documented = set()
    for full in ids:
        module, _, attr = full.rpartition(".")
        try:
            documented.add(id(getattr(importlib.import_module(module), attr)))
        except (ImportError, AttributeError):
            pass  # methods and attributes of classes: not needed here
    missing = []
    for name in public_modules():
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if callable(obj) and not attr.startswith("_") and id(obj) not in documented:
                missing.append(f"{name}.{attr}")
    assert not missing, f"public functions/classes without an entry in the API reference: {missing}"
    sqrtm = _text(site / "api" / "api.html")
    assert "References" in sqrtm and 'class="math' in sqrtm, "the API pages lost their equations or references"


@pytest.mark.slow
def test_gallery_shows_every_figure_with_its_command(site):
    from mathsqrt.paper.figures import GENERATORS

    page = _text(site / "gallery.html")
    text = re.sub(r"<[^>]+>", "", page)
    for name in GENERATORS:
        assert f"python -m mathsqrt.paper.figures --only {name}" in text, name
        assert re.search(rf'<img[^>]+src="_images/{name}\.png"', page), f"{name}.png is not shown"
        assert (site / "_images" / f"{name}.png").is_file()


@pytest.mark.slow
def test_errata_page_computes_both_errata(site):
    page = _text(site / "errata.html")
    for needle in ("35/64", "0.546875", "0.54675", "11/1024", "0.0107421875", "0.0108672", "misprint"):
        assert needle in page, needle


@pytest.mark.slow
def test_comparison_page_quotes_the_paper_and_measures(site):
    from mathsqrt.paper.data import K40_MS, TABLE6

    page = _text(site / "paper-comparison.html")
    assert f"{K40_MS[(64, 48)]['mpa-lya']:.2f}" in page and f"{K40_MS[(1, 64)]['ns']:.2f}" in page
    assert page.count("<table") >= 5
    assert len(TABLE6) and "Table 6" in page


@pytest.mark.slow
def test_site_needs_no_network(site):
    external = re.compile(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="(?:https?:)?//', re.I)
    offenders = []
    for page in site.rglob("*.html"):
        offenders += [f"{page.relative_to(site)}: {m.group(0)}" for m in external.finditer(_text(page))]
    assert not offenders, offenders[:10]
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert 'src="_static/mathjax/tex-chtml.js' in _text(site / "index.html")


@pytest.mark.slow
def test_readme_links_to_pages_of_the_site(site):
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(docs/_build/html/([^)#]+)(?:#[^)]*)?\)", readme)
    assert "index.html" in links and len(links) >= 5, links
    missing = [link for link in links if not (site / link).is_file()]
    assert not missing, f"README links to pages the build does not make: {missing}"
    assert "make docs" in readme


# ------------------------------------------------------------------------------------------ browser


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def served_site(site):
    """The built site on http://127.0.0.1:<free port>/ (a static server, like any web host)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


#: JavaScript: what of the page's maths is not typeset, and which images did not load.
_CHECK_PAGE = r"""() => {
  const main = document.querySelector('article[role=main]') || document.body;
  const clone = main.cloneNode(true);
  const skip = 'pre, code, script, style, mjx-container, .highlight, mjx-assistive-mml';
  clone.querySelectorAll(skip).forEach(e => e.remove());
  const text = clone.textContent;
  const rawDollar = text.match(/\$[^$\s][^$]{0,200}?\$/g) || [];
  const rawDelims = text.match(/\\\(|\\\)|\\\[|\\\]|\\begin\{/g) || [];
  const untypeset = [...main.querySelectorAll('.math')]
    .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80));
  const imgs = [...main.querySelectorAll('img')];
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));
  return {rawDollar, rawDelims, untypeset, broken, images: imgs.length,
          typeset: main.querySelectorAll('mjx-container').length, title: document.title};
}"""


def _wait_for_mathjax(page) -> None:
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=60_000)
    page.evaluate("() => MathJax.startup.promise")
    page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=60_000)


def _scroll_to(page, locator, margin: int = 60) -> None:
    """Scroll the window so that ``locator`` is ``margin`` pixels below the top (for the screenshots)."""
    locator.evaluate(f"e => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - {margin})")
    page.wait_for_timeout(300)


def _check_rendered(page, what: str, *, min_typeset: int = 1, min_images: int = 0) -> dict:
    _wait_for_mathjax(page)
    report = page.evaluate(_CHECK_PAGE)
    assert report["typeset"] >= min_typeset, f"{what}: MathJax typeset {report['typeset']} formulas"
    assert not report["untypeset"], f"{what}: maths left untypeset: {report['untypeset'][:5]}"
    assert not report["rawDollar"], f"{what}: raw $...$ left in the text: {report['rawDollar'][:5]}"
    assert not report["rawDelims"], f"{what}: raw TeX delimiters left in the text: {report['rawDelims'][:5]}"
    assert not report["broken"], f"{what}: images that did not load: {report['broken']}"
    assert report["images"] >= min_images, f"{what}: {report['images']} images, expected at least {min_images}"
    return report


@pytest.mark.browser
@pytest.mark.slow
def test_site_in_the_browser(served_site):
    bs.check_browser_available()
    # Playwright's sync API refuses a thread whose asyncio loop is running, which another test's
    # session-wide Playwright (tests/test_browser.py) leaves behind: browse from a fresh thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_browse_site, served_site).result()


def _browse_site(served_site):
    from playwright.sync_api import sync_playwright

    RESULTS.mkdir(parents=True, exist_ok=True)
    blocked, errors = [], []
    summary = {"url": served_site, "pages": {}}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(bs.CHROMIUM), args=bs.CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})

        def route(request_route):
            url = request_route.request.url
            if url.startswith(served_site) or url.startswith("data:"):
                request_route.continue_()
            else:
                blocked.append(url)
                request_route.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            # 1. The landing page: maths, the headline figures, the navigation.
            page.goto(f"{served_site}/index.html")
            summary["pages"]["landing"] = _check_rendered(page, "landing page", min_images=2)
            page.screenshot(path=str(RESULTS / "landing.png"))
            page.screenshot(path=str(RESULTS / "landing-full.png"), full_page=True)

            # 2. Follow the navigation to a notebook page.
            page.locator(".sidebar-tree a", has_text="Notebooks").first.click()
            page.wait_for_url("**/notebooks.html")
            page.locator("article a[href*='02-taylor-vs-pade']").first.click()
            page.wait_for_url("**/notebooks/02-taylor-vs-pade.html")
            summary["pages"]["notebook"] = _check_rendered(page, "notebook 02", min_typeset=10, min_images=3)
            # The first interactive figure, at the top of the screenshot.
            _scroll_to(page, page.locator("p.mathsqrt-widget-caption").first)
            page.screenshot(path=str(RESULTS / "notebook.png"))
            page.screenshot(path=str(RESULTS / "notebook-full.png"), full_page=True)

            # 3. Follow the navigation to an API page.
            page.locator(".sidebar-tree a", has_text="API reference").first.click()
            page.wait_for_url("**/api/index.html")
            summary["pages"]["api index"] = _check_rendered(page, "API index")
            page.locator("article a[href='coefficients.html']").first.click()
            page.wait_for_url("**/api/coefficients.html")
            summary["pages"]["api"] = _check_rendered(page, "API page mathsqrt.coefficients", min_typeset=20)
            entry = page.locator("dt[id='mathsqrt.coefficients.pade_coefficients']")
            assert entry.count() == 1, "pade_coefficients has no entry on its API page"
            _scroll_to(page, entry)
            page.screenshot(path=str(RESULTS / "api.png"))

            # 4. The other pages render too (no navigation needed).
            for name in ("gallery", "errata", "paper-comparison"):
                page.goto(f"{served_site}/{name}.html")
                summary["pages"][name] = _check_rendered(page, name, min_typeset=0 if name == "gallery" else 5)
            page.goto(f"{served_site}/errata.html")
            page.screenshot(path=str(RESULTS / "errata.png"))
        except BaseException:
            page.screenshot(path=str(RESULTS / "failure.png"))
            raise
        finally:
            summary.update(blocked=blocked, page_errors=errors)
            (RESULTS / "browser-summary.json").write_text(json.dumps(summary, indent=2))
            context.close()
            browser.close()
    assert not blocked, f"the site asked the network for {blocked[:5]}"
    assert not errors, f"JavaScript errors: {errors[:5]}"
