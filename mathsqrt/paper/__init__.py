"""The teaching and benchmark harness: reproduces and teaches the paper on top of the core.

Nothing in the core (:mod:`mathsqrt`) imports this subpackage; it imports the core only through its
public functions and the method table :mod:`mathsqrt.methods`. It needs the ``notebooks`` extra
(matplotlib, ipywidgets, scikit-learn).

- :mod:`mathsqrt.paper.data` — every number transcribed from the paper, in one place;
- :mod:`mathsqrt.paper.plotting` — the slide-ready figure style; colours, markers and labels from the
  method table, and :func:`~mathsqrt.paper.plotting.pair_name`, the one name of a forward + backward pair;
- :mod:`mathsqrt.paper.timing` — the one timing routine and statistic (median, with its spread);
- :mod:`mathsqrt.paper.checks` — argument checks shared by studies and widgets;
- :mod:`mathsqrt.paper.bench` — ``python -m mathsqrt.paper.bench``: timing, sweeps, op counts;
- :mod:`mathsqrt.paper.studies` — accuracy, degenerate spectra, the whitening experiment
  (``python -m mathsqrt.paper.studies.accuracy`` etc.);
- :mod:`mathsqrt.paper.figures` — ``python -m mathsqrt.paper.figures``: regenerates ``figures/``;
- :mod:`mathsqrt.paper.widgets` — the notebooks' interactive figures.
"""
