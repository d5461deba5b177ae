"""One plotting style for figures/ and the notebook widgets.

Everything here is pyplot-free: figures are :class:`matplotlib.figure.Figure` objects rendered with
the Agg canvas, so they work headless, in JupyterLab, in Colab and in tests alike.
"""

from __future__ import annotations

import contextlib
import io
from typing import Iterator, Tuple

__all__ = ["RC", "METHOD_COLORS", "method_color", "style", "new_figure", "figure_to_png"]

#: rcParams shared by every figure (fixed so that regenerated figures are byte-identical).
RC = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "lines.markersize": 4,
    "svg.hashsalt": "mathsqrt",
    "svg.fonttype": "path",
    "path.simplify": False,
}

#: One colour per method, used everywhere (colour-blind friendly Okabe–Ito palette).
METHOD_COLORS = {
    "mpa": "#0072B2",
    "mpa-lya": "#0072B2",
    "mtp": "#009E73",
    "mtp-lya": "#009E73",
    "ns": "#D55E00",
    "eigh": "#000000",
    "svd": "#000000",
    "svd-taylor": "#CC79A7",
    "svd-pade": "#E69F00",
    "svd-pi": "#56B4E9",
    "pi": "#999999",
    "autograd": "#7F7F7F",
    "lyapunov": "#0072B2",
    "exact": "#000000",
}


def method_color(name: str) -> str:
    """Colour of a method (case-insensitive); grey for an unknown name."""
    return METHOD_COLORS.get(name.lower(), "#555555")


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context manager applying :data:`RC`."""
    import matplotlib

    with matplotlib.rc_context(RC):
        yield


def new_figure(width: float = 6.4, height: float = 4.0, nrows: int = 1, ncols: int = 1, **subplot_kw) -> Tuple["object", "object"]:
    """A pyplot-free constrained-layout figure and its axes (an array when ``nrows * ncols > 1``)."""
    from matplotlib.figure import Figure

    with style():
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=True, subplot_kw=subplot_kw or None)
    return fig, axes


def figure_to_png(fig, dpi: int = 100) -> bytes:
    """Render a figure to PNG bytes, with no timestamp metadata (deterministic)."""
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
