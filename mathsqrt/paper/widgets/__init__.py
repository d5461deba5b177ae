"""Interactive widgets for the teaching notebooks.

One module per notebook topic, each split three ways (see ``_common``):

- ``compute_*``: pure functions returning numbers/arrays (unit-tested);
- ``plot_*(ax, ...)``: draw on a given matplotlib axes (tested under Agg);
- ``interactive_*()``: thin builders that wire sliders to ``compute_*``/``plot_*`` and return an
  :class:`~mathsqrt.paper.widgets._common.InteractivePlot`.

Set the environment variable ``MATHSQRT_FAST=1`` to shrink default sizes (used when the notebooks
are executed headless in the test suite).
"""

from ._common import COLAB_CELL, InteractivePlot, fast_mode, pick

__all__ = ["COLAB_CELL", "InteractivePlot", "fast_mode", "pick"]
