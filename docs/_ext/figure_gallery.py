"""The ``figure-gallery`` directive: every figure of ``figures/``, with the command that regenerates it.

The list is read from :data:`mathsqrt.paper.figures.GENERATORS` when the page is built, so a new
figure appears here without editing the page, and a figure whose file is missing fails the build
(warnings are errors). Each entry is a section (label ``figure-<name>``) with the generator's own
description (the first paragraph of its docstring), the PNG, a link to the SVG, and the command.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import List

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

ROOT = Path(__file__).resolve().parents[2]
COMMAND = "python -m mathsqrt.paper.figures"


def gallery_rst(figures_dir: Path) -> List[str]:
    """reStructuredText of the gallery: one section per generator, in the order of ``GENERATORS``."""
    from mathsqrt.paper import figures

    lines: List[str] = []
    for name, generator in figures.GENERATORS.items():
        doc = inspect.getdoc(generator) or ""
        summary = doc.split("\n\n", 1)[0].strip()
        png = figures_dir / f"{name}.png"
        svg = figures_dir / f"{name}.svg"
        # Image paths are relative to the source folder, which is docs/: reach figures/ beside it.
        rel = Path("/..") / figures_dir.relative_to(ROOT)
        lines += [f".. _figure-{name}:", "", name, "-" * len(name), "", summary, ""]
        lines += [f".. figure:: {(rel / png.name).as_posix()}", f"   :alt: {name}", "   :width: 100%", ""]
        if svg.exists():
            lines += [f"   Vector version: :download:`{svg.name} <{(rel / svg.name).as_posix()}>`.", ""]
        lines += ["Regenerate it with", "", ".. code-block:: bash", "", f"   {COMMAND} --only {name}", ""]
        if name in figures.BENCH_FIGURES:
            lines += [
                "This figure is drawn from the benchmark's CSV files in ``results/bench/`` (``make bench``); "
                "where they are missing, the command runs a quick benchmark first. It changes with the machine "
                "and the run, by design; its subtitle names both.",
                "",
            ]
        else:
            lines += ["Deterministic: rerunning the command reproduces the file byte for byte.", ""]
    return lines


class FigureGallery(SphinxDirective):
    """``.. figure-gallery::`` -- no arguments, no content."""

    has_content = False

    def run(self) -> List[nodes.Node]:
        figures_dir = ROOT / "figures"
        for name in self._names():
            self.env.note_dependency(str(figures_dir / f"{name}.png"))
        container = nodes.container(classes=["mathsqrt-gallery"])
        nested_parse_with_titles(self.state, StringList(gallery_rst(figures_dir), source="figure-gallery"), container)
        return container.children

    @staticmethod
    def _names() -> List[str]:
        from mathsqrt.paper import figures

        return list(figures.GENERATORS)


def setup(app) -> dict:
    app.add_directive("figure-gallery", FigureGallery)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
