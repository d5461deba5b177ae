"""Interactive widgets for the teaching notebooks.

One module per notebook topic, each split three ways (see ``_common``):

- ``compute_*``: pure functions returning numbers/arrays (unit-tested);
- ``plot_*(ax, ...)``: draw on a given matplotlib axes (tested under Agg);
- ``interactive_*()``: thin builders that wire sliders to ``compute_*``/``plot_*`` and return an
  :class:`~mathsqrt.paper.widgets._common.InteractivePlot`.

Set the environment variable ``MATHSQRT_FAST=1`` to shrink default sizes (used when the notebooks
are executed headless in the test suite).

:data:`COLAB_CELL` is the first code cell of every notebook (a test checks it): on Google Colab it
installs the package from :data:`REPOSITORY` — the one place that names the repository, overridden at
run time by the environment variable :data:`REPOSITORY_ENV` (``MATHSQRT_REPOSITORY``) — with
``%pip install`` (:func:`colab_pip_command`), and does nothing anywhere else.
"""

from ._common import COLAB_CELL, REPOSITORY, REPOSITORY_ENV, InteractivePlot, colab_pip_command, fast_mode, pick

__all__ = ["COLAB_CELL", "REPOSITORY", "REPOSITORY_ENV", "colab_pip_command", "InteractivePlot", "fast_mode", "pick"]
