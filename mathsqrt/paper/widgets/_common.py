"""Shared machinery of the notebook widgets: fast mode, the Colab cell, and :class:`InteractivePlot`."""

from __future__ import annotations

import contextlib
import os
import time
from typing import Callable, Dict, Iterator, Optional

from ..plotting import figure_to_png, style

__all__ = [
    "FAST_ENV",
    "fast_mode",
    "pick",
    "COLAB_CELL",
    "REPOSITORY",
    "REPOSITORY_ENV",
    "colab_pip_command",
    "torch_threads",
    "InteractivePlot",
]

#: Environment variable that shrinks sizes so that every notebook executes in seconds.
FAST_ENV = "MATHSQRT_FAST"

#: Where the project lives (it is not on PyPI): the notebooks' Colab cell installs the package from here.
#: The one place to change when the repository moves; on Colab the environment variable
#: :data:`REPOSITORY_ENV` overrides it at run time (a fork, a mirror), without editing any notebook.
REPOSITORY = "https://github.com/mathsqrt/mathsqrt"

#: Environment variable that overrides :data:`REPOSITORY` in the Colab cell.
REPOSITORY_ENV = "MATHSQRT_REPOSITORY"

#: The ``%pip`` arguments of the Colab cell, with ``{repository}`` to fill in (see :func:`colab_pip_command`).
_PIP_TEMPLATE = "install -q 'mathsqrt @ git+{repository}'"


def colab_pip_command(repository: str = REPOSITORY) -> str:
    """The arguments of the ``%pip`` line magic that :data:`COLAB_CELL` runs on Colab.

    Parameters
    ----------
    repository : str
        Address of the repository (default :data:`REPOSITORY`; the cell reads :data:`REPOSITORY_ENV`).

    Returns
    -------
    str
        ``"install -q 'mathsqrt @ git+<repository>'"``: the package alone, no extra.
    """
    return _PIP_TEMPLATE.format(repository=repository)


#: The first code cell of every notebook. On Google Colab it installs the package alone — Colab already
#: has torch, numpy, scipy, sympy, tqdm, matplotlib, scikit-learn and ipywidgets, so no extra is asked
#: for (the ``notebooks`` extra would pull in JupyterLab and could upgrade ipywidgets mid-session) —
#: with ``%pip`` (through ``run_line_magic``, so that the cell stays plain Python), whose messages the
#: student sees, and stops with a clear error naming the repository and the setting if the install
#: failed. Anywhere else (JupyterLab, ``make lab``, headless execution) it does nothing.
COLAB_CELL = f"""# On Google Colab, install mathsqrt (not on PyPI) from its repository; elsewhere (JupyterLab, `make lab`) this does nothing.
# Colab already has torch, numpy, scipy, sympy, matplotlib, scikit-learn and ipywidgets: only mathsqrt is installed.
# Installing from a fork or a mirror? Run `%env {REPOSITORY_ENV}=https://github.com/<you>/mathsqrt` first.
import sys

if "google.colab" in sys.modules:
    import importlib
    import importlib.util
    import os

    repository = os.environ.get("{REPOSITORY_ENV}", "{REPOSITORY}")
    print(f"Installing mathsqrt from {{repository}} (about half a minute) ...")
    get_ipython().run_line_magic("pip", f"{_PIP_TEMPLATE}")
    importlib.invalidate_caches()
    if importlib.util.find_spec("mathsqrt") is None:
        raise RuntimeError(
            f"mathsqrt could not be installed from {{repository}} (pip's message is above). "
            "Check the network and the address; if the repository has moved, set {REPOSITORY_ENV} "
            "to its new address (`%env {REPOSITORY_ENV}=https://...`) and run this cell again."
        )
    print("mathsqrt is installed.")"""  # noqa: E501


def fast_mode() -> bool:
    """Whether ``MATHSQRT_FAST`` is set to a true value (``1``, ``true``, ``yes``)."""
    return os.environ.get(FAST_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def pick(default, fast):
    """``fast`` in fast mode, ``default`` otherwise."""
    return fast if fast_mode() else default


@contextlib.contextmanager
def torch_threads(threads: Optional[int]) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)`` and restore the previous count (``None``: no change).

    The notebooks' matrices are small (at most 64×64): one thread runs them as fast as two, and on a
    shared machine a second thread makes every small kernel wait for a busy core.
    """
    import torch

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class InteractivePlot:
    """Controls wired to a figure that is redrawn (as a PNG image) whenever a control changes.

    Parameters
    ----------
    controls : dict of str to ipywidgets.ValueWidget
        Named controls; their ``value`` s are passed to ``draw`` as keyword arguments.
    draw : callable
        ``draw(fig, **values)`` draws on a fresh :class:`matplotlib.figure.Figure` (create axes with
        ``fig.subplots``); it may return a dict of numbers, kept as :attr:`data` for tests.
    figsize : (float, float)
        Figure size in inches.
    title : str, optional
        Shown above the controls.

    Attributes
    ----------
    widget : ipywidgets.VBox
        What to display (a notebook cell can also end with the ``InteractivePlot`` itself).
    image : ipywidgets.Image
        The rendered figure; its ``value`` (PNG bytes) changes when the figure changes.
    figure : matplotlib.figure.Figure
        The last figure drawn.
    data : dict
        What ``draw`` returned last.
    last_update_seconds : float
        Wall time of the last redraw (compute + plot + PNG encoding).
    updates : int
        Number of redraws so far.

    Notes
    -----
    The figure is shown through ``ipywidgets.Image`` rather than an interactive backend: this
    works unchanged in JupyterLab, Colab, Voilà and headless execution, needs no frontend
    extension beyond core ipywidgets, and lets tests compare the image bytes.
    """

    def __init__(
        self, controls: Dict[str, "object"], draw: Callable, *, figsize=(7.0, 4.0), title: Optional[str] = None
    ):
        import ipywidgets as widgets

        self.controls = dict(controls)
        self._draw = draw
        self.figsize = figsize
        self.figure = None
        self.data: dict = {}
        self.updates = 0
        self.last_update_seconds = 0.0
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.status = widgets.HTML()
        header = [widgets.HTML(f"<b>{title}</b>")] if title else []
        box = widgets.VBox(list(self.controls.values()), layout=widgets.Layout(min_width="260px"))
        self.widget = widgets.VBox(header + [box, self.image, self.status])
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.update()

    @property
    def values(self) -> dict:
        """Current control values."""
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, _change) -> None:
        self.update()

    def update(self) -> None:
        """Redraw with the current control values."""
        from matplotlib.figure import Figure

        start = time.perf_counter()
        with style():
            fig = Figure(figsize=self.figsize, layout="constrained")
            data = self._draw(fig, **self.values)
        self.figure = fig
        self.data = dict(data or {})
        self.image.value = figure_to_png(fig)
        self.updates += 1
        self.last_update_seconds = time.perf_counter() - start
        self.status.value = f"<small>updated in {self.last_update_seconds * 1000:.0f} ms</small>"

    def _ipython_display_(self):  # pragma: no cover - exercised in notebooks
        from IPython.display import display

        display(self.widget)
