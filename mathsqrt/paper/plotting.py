"""One plotting style for figures/ and the notebook widgets, and the palette of the method table.

Every colour, marker, line style and label of a method comes from :mod:`mathsqrt.methods`:
:func:`configuration_style` for a configuration (``"mpa-lya"``, ``"svd"``, ...) or any other
forward + backward pair (``"eigh/lyapunov"``, see :func:`pair_name`), :func:`forward_style` and
:func:`backward_style` for a forward or backward method alone. Colours of things that are not
methods (the exact solution, the paper's printed values) are in :data:`REFERENCE_COLORS`.

Everything here is pyplot-free: figures are :class:`matplotlib.figure.Figure` objects rendered with
the Agg canvas, so they work headless, in JupyterLab, in Colab and in tests alike.
"""

from __future__ import annotations

import contextlib
import io
from typing import Dict, Iterator, Tuple

from mathsqrt import methods

__all__ = [
    "RC",
    "REFERENCE_COLORS",
    "pair_name",
    "configuration_style",
    "configuration_label",
    "forward_style",
    "backward_style",
    "style",
    "new_figure",
    "figure_to_png",
]

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

#: Colours of what is not a method: the exact solution, values printed in the paper, a reference kernel.
REFERENCE_COLORS: Dict[str, str] = {"exact": "#000000", "paper": "#CC79A7", "reference": "#555555"}

#: Separator of :func:`pair_name` for a forward + backward pair that is not a named configuration.
PAIR_SEPARATOR = "/"


def pair_name(forward: str, backward: str) -> str:
    """The one name of a forward + backward pair: its configuration's, else ``"forward/backward"``.

    Parameters
    ----------
    forward, backward : str
        Keys of :data:`mathsqrt.methods.FORWARDS` and :data:`mathsqrt.methods.BACKWARDS`.

    Returns
    -------
    str
        The name of the configuration of :data:`mathsqrt.methods.CONFIGURATIONS` that pairs them
        with no extra options (``("eigh", "autograd") -> "svd"``), or ``"eigh/lyapunov"``.

    Raises
    ------
    ValueError
        An unknown forward or backward name.
    """
    methods.forward_method(forward), methods.backward_method(backward)
    for config in methods.CONFIGURATIONS.values():
        if (config.method, config.backward) == (forward, backward) and not config.options:
            return config.name
    return f"{forward}{PAIR_SEPARATOR}{backward}"


def _first_configuration(forward: str):
    return next((c for c in methods.CONFIGURATIONS.values() if c.method == forward), None)


def configuration_style(name: str) -> Dict[str, str]:
    """Matplotlib keywords (``color``, ``marker``, ``linestyle``, ``label``) of a configuration or a pair.

    Parameters
    ----------
    name : str
        A key of :data:`mathsqrt.methods.CONFIGURATIONS` (its :attr:`~mathsqrt.methods.Configuration.style`),
        or ``"forward/backward"`` (:func:`pair_name`): the backward's colour, the forward's marker,
        a dotted line and the label ``"MPA + eigh"``.

    Returns
    -------
    dict of str to str

    Raises
    ------
    ValueError
        A name that is neither.
    """
    if name in methods.CONFIGURATIONS:
        return dict(methods.CONFIGURATIONS[name].style)
    forward, sep, backward = name.partition(PAIR_SEPARATOR)
    if not sep:
        methods.configuration(name)  # raises, listing the configurations
    fwd, bwd = methods.forward_method(forward), methods.backward_method(backward)
    return dict(
        color=bwd.color, marker=forward_style(forward)["marker"], linestyle=":", label=f"{fwd.label} + {bwd.label}"
    )


def configuration_label(name: str) -> str:
    """The display label of a configuration or pair (``"mpa-lya" -> "MPA-Lya"``); see :func:`configuration_style`."""
    return configuration_style(name)["label"]


def forward_style(name: str) -> Dict[str, str]:
    """``color``, ``marker``, ``linestyle``, ``label`` of a forward method (``"mpa"``): its colour and label,
    the marker and line of the first configuration built on it."""
    fwd = methods.forward_method(name)
    config = _first_configuration(name)
    marker, linestyle = (config.marker, config.linestyle) if config is not None else ("o", "-")
    return dict(color=fwd.color, marker=marker, linestyle=linestyle, label=fwd.label)


def backward_style(name: str) -> Dict[str, str]:
    """``color``, ``marker``, ``linestyle``, ``label`` of a backward method (``"lyapunov"``)."""
    bwd = methods.backward_method(name)
    return dict(color=bwd.color, marker="o", linestyle="-", label=bwd.label)


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context manager applying :data:`RC`."""
    import matplotlib

    with matplotlib.rc_context(RC):
        yield


def new_figure(
    width: float = 6.4, height: float = 4.0, nrows: int = 1, ncols: int = 1, **subplot_kw
) -> Tuple["object", "object"]:
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
