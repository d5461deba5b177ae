"""Execute the teaching notebooks when the site is built, and hand myst-nb the executed copies.

At ``builder-inited`` every ``notebooks/NN-topic.ipynb`` of the repository is executed from top to
bottom (nbclient, a fresh ``python3`` kernel, working directory ``notebooks/``) in fast mode
(``MATHSQRT_FAST=1`` unless the environment sets it) and written to ``docs/notebooks/`` (generated,
git-ignored), where myst-nb renders it with its outputs; myst-nb itself is told not to execute these
copies. A copy is reused while its key -- the notebook, every source file of the package, fast mode
and this file -- is unchanged; ``MATHSQRT_DOCS_EXECUTE=always`` forces a new run. A cell that raises
is reported as a warning (an error in the strict build) with the notebook's name and the traceback,
and that notebook's page is left out.

The notebooks' figures are :class:`mathsqrt.paper.widgets.InteractivePlot` widgets: a box of controls
above an ``ipywidgets.Image`` holding a PNG. A static page has no widget manager (and loading one
from a CDN is not an option), so each widget output is replaced by what it showed when the build
drew it: a caption (its title and the initial value of every control) and the PNG itself, taken from
the widget state that nbclient records. The result is the notebook's initial state, as a reader who
runs it first sees it.

Run as a script, the module executes one notebook: ``python executed_notebooks.py SRC DST KEY`` (the
build runs up to two at once, one per process).
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

#: Notebook-level metadata key under which the executed copy records where it comes from.
META_KEY = "mathsqrt_docs"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
FAST_ENV = "MATHSQRT_FAST"
FORCE_ENV = "MATHSQRT_DOCS_EXECUTE"
#: Seconds a single cell may run.
CELL_TIMEOUT = 600
#: The repository this module documents (docs/_ext/ -> the root).
ROOT = Path(__file__).resolve().parents[2]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TAGS = re.compile(r"<[^>]+>")


# --------------------------------------------------------------------------------------------------
# Which notebooks, and whether a copy is up to date
# --------------------------------------------------------------------------------------------------


def fast_value() -> str:
    """The ``MATHSQRT_FAST`` value the kernels get: the environment's, else ``"1"``."""
    return os.environ.get(FAST_ENV, "1")


def build_key(notebook: Path, package: Path) -> str:
    """SHA-256 of everything an executed copy depends on: the notebook, the package, fast mode, this file."""
    digest = hashlib.sha256()
    digest.update(notebook.read_bytes())
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    digest.update(f"{FAST_ENV}={fast_value()}".encode())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def recorded_key(path: Path) -> Optional[str]:
    """The key stored in an executed copy, or ``None`` (missing or unreadable)."""
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))["metadata"][META_KEY]["key"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


# --------------------------------------------------------------------------------------------------
# Widgets -> what they showed
# --------------------------------------------------------------------------------------------------


def _children(model: dict) -> List[str]:
    return [str(c).replace("IPY_MODEL_", "", 1) for c in model["state"].get("children", [])]


def _walk(state: Dict[str, dict], model_id: str) -> Iterable[dict]:
    """The model and its descendants, depth first, in display order."""
    model = state.get(model_id)
    if model is None:
        raise KeyError(model_id)
    yield model
    for child in _children(model):
        yield from _walk(state, child)


def _control_value(s: dict) -> str:
    if "_options_labels" in s and s.get("index") is not None:
        return str(s["_options_labels"][s["index"]])
    value = s.get("value")
    fmt = s.get("readout_format")
    if fmt and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return format(value, fmt)
        except ValueError:
            pass
    return str(value)


def describe_widget(state: Dict[str, dict], model_id: str) -> Tuple[str, List[str], List[bytes], List[dict]]:
    """``(title, ["name = value", ...], [png, ...], [nested outputs])`` of the widget tree at ``model_id``."""
    title, controls, images, outputs = "", [], [], []
    for model in _walk(state, model_id):
        name, s = model["model_name"], model["state"]
        if name == "HTMLModel":
            text = html.unescape(_TAGS.sub("", str(s.get("value", "")))).strip()
            if text and not text.startswith("updated in") and not title:
                title = text
        elif name == "ImageModel":
            for buf in model.get("buffers", []):
                if buf.get("path") == ["value"]:
                    images.append(base64.b64decode(buf["data"]))
        elif name == "OutputModel":
            outputs.extend(s.get("outputs", []))
        elif "description" in s and "value" in s and model.get("model_module") == "@jupyter-widgets/controls":
            label = str(s.get("description") or "").strip() or name.replace("Model", "")
            controls.append(f"{label} = {_control_value(s)}")
    return title, controls, images, outputs


def static_widget_outputs(view: dict, state: Dict[str, dict]) -> List[dict]:
    """The outputs that replace one widget output: a caption, then each image the widget held."""
    import nbformat

    title, controls, images, nested = describe_widget(state, view["model_id"])
    if not images and not nested:
        raise ValueError(f"widget {view['model_id']} ({title or 'untitled'}) holds no image to show")
    parts = [f"<strong>{html.escape(title)}</strong>. " if title else ""]
    parts.append("Interactive figure, shown in its initial state")
    if controls:
        parts.append(" (" + html.escape("; ".join(controls)) + ")")
    parts.append(": run the notebook to move its controls.")
    caption = f'<p class="mathsqrt-widget-caption">{"".join(parts)}</p>'
    outputs = [nbformat.v4.new_output("display_data", data={"text/html": caption})]
    outputs += [nbformat.from_dict(o) for o in nested]
    for png in images:
        outputs.append(
            nbformat.v4.new_output(
                "display_data",
                data={"image/png": base64.b64encode(png).decode("ascii"), "text/plain": f"<{title or 'figure'}>"},
            )
        )
    return outputs


def staticise_widgets(nb) -> int:
    """Replace every widget output of ``nb`` by :func:`static_widget_outputs`; drop the widget state.

    Returns the number of widget outputs replaced. Raises ``ValueError`` when a widget output has no
    recorded state (nothing to show).
    """
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    replaced = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        new_outputs = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                new_outputs.append(output)
                continue
            try:
                new_outputs += static_widget_outputs(view, state)
            except KeyError as missing:
                raise ValueError(f"cell {index}: no recorded state for widget model {missing}") from None
            replaced += 1
        cell.outputs = new_outputs
    nb.metadata.pop("widgets", None)
    return replaced


def banner_cell(name: str):
    """A note at the top of each page: what was executed, and where to run it interactively."""
    import nbformat

    from mathsqrt.paper.widgets._common import REPOSITORY

    colab = REPOSITORY.replace("https://github.com/", "https://colab.research.google.com/github/", 1)
    colab += f"/blob/main/notebooks/{name}"
    text = (
        ":::{note}\n"
        f"This page is the notebook `notebooks/{name}`, executed when this site was built, in fast mode "
        f"(`{FAST_ENV}=1`: small sizes, so numbers and timings are rough). Its interactive figures are shown "
        f"in their initial state. To move the sliders, run it with `make lab` or [open it in Colab]({colab}).\n"
        ":::"
    )
    return nbformat.v4.new_markdown_cell(text)


def execute(src: Path, dst: Path, key: str, timeout: int = CELL_TIMEOUT) -> None:
    """Execute ``src`` (cwd: its folder), make its widgets static, record ``key``, write ``dst`` atomically."""
    import nbclient
    import nbformat

    nb = nbformat.read(src, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(src.parent)}},
    )
    client.execute()
    staticise_widgets(nb)
    nb.cells.insert(1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0, banner_cell(src.name))
    nb.metadata[META_KEY] = {"key": key, "source": f"notebooks/{src.name}", FAST_ENV: fast_value()}
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, dst)


def _kernel_environment() -> Dict[str, str]:
    env = dict(os.environ)
    env[FAST_ENV] = fast_value()
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def _run_one(src: Path, dst: Path, key: str) -> Tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), str(src), str(dst), key],
        env=_kernel_environment(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    lines = [line for line in _ANSI.sub("", proc.stderr).splitlines() if not line.startswith("[IPKernelApp] WARNING")]
    return proc.returncode, "\n".join(lines)


def update(
    sources: Sequence[Path], target: Path, package: Path, *, workers: int = 2, force: bool = False
) -> Tuple[List[str], Dict[str, str]]:
    """Bring ``target/<name>.ipynb`` up to date for every source notebook.

    Returns the names executed and ``{name: error}`` for those that failed; a failed notebook has
    no copy (an older one is removed), so its page is missing rather than stale. Copies of notebooks
    that no longer exist are removed too.
    """
    target.mkdir(parents=True, exist_ok=True)
    names = {src.name for src in sources}
    for stale in target.glob("*.ipynb"):
        if stale.name not in names:
            stale.unlink()
    todo = []
    for src in sources:
        key = build_key(src, package)
        dst = target / src.name
        if force or recorded_key(dst) != key:
            todo.append((src, dst, key))
    failures: Dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for (src, dst, _), (code, err) in zip(todo, pool.map(lambda job: _run_one(*job), todo)):
            if code != 0:
                failures[src.name] = err
                dst.unlink(missing_ok=True)
    return [src.name for src, _, _ in todo], failures


# --------------------------------------------------------------------------------------------------
# Sphinx
# --------------------------------------------------------------------------------------------------


def _builder_inited(app) -> None:
    from sphinx.errors import ExtensionError
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    source = Path(app.config.mathsqrt_notebooks_source)
    sources = sorted(source.glob("*.ipynb"))
    if not sources:
        raise ExtensionError(f"no notebooks found in {source}")
    target = Path(app.srcdir) / app.config.mathsqrt_notebooks_target
    force = os.environ.get(FORCE_ENV, "").strip().lower() in {"1", "always", "true", "yes"}
    logger.info(f"executing notebooks ({FAST_ENV}={fast_value()}) into {target} ...")
    start = time.perf_counter()
    ran, failures = update(
        sources, target, ROOT / "mathsqrt", workers=app.config.mathsqrt_notebooks_workers, force=force
    )
    done = [name for name in ran if name not in failures]
    logger.info(
        f"executed {len(done)} notebook(s){': ' + ', '.join(done) if done else ''}; "
        f"{len(sources) - len(ran)} up to date ({time.perf_counter() - start:.1f} s)"
    )
    for name, error in failures.items():
        # A warning (an error under -W), so that the rest of the site still builds and reports.
        logger.warning(
            f"notebook {name} failed to execute; its page is left out:\n{error[-6000:]}",
            type="mathsqrt",
            subtype="notebook",
            location=str(source / name),
        )


def setup(app) -> dict:
    app.add_config_value("mathsqrt_notebooks_source", str(ROOT / "notebooks"), "env")
    app.add_config_value("mathsqrt_notebooks_target", "notebooks", "env")
    app.add_config_value("mathsqrt_notebooks_workers", min(2, os.cpu_count() or 1), "env")
    app.connect("builder-inited", _builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    import traceback

    try:
        execute(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
    except Exception as exc:  # reported by the build with the notebook's name
        text = str(exc) if type(exc).__name__ == "CellExecutionError" else traceback.format_exc()
        print(text, file=sys.stderr)
        raise SystemExit(1) from None
