r"""Speed and accuracy benchmark of the differentiable matrix square root: ``python -m mathsqrt.paper.bench``.

Reproduces the numerical tests of Song, Sebe & Wang, "Fast Differentiable Matrix Square Root"
(ICLR 2022), Sec. 4.1 and appendix A.7–A.9 (Fig. 1c, 1d, 2a–c; Tables 1, 2, 5, 6, 8), on the
machine at hand, and writes one CSV per sweep plus ``metadata.json`` (see :mod:`.sweeps` for the
sweeps, :mod:`mathsqrt.paper.timing` for how time is measured, :mod:`mathsqrt.counting` for how
operations are counted, :mod:`.methods` for how the method table is read).

Examples
--------
``python -m mathsqrt.paper.bench --quick`` (seconds), ``python -m mathsqrt.paper.bench --sweeps headline,batch``,
``python -m mathsqrt.paper.bench --device cuda --out results/bench-gpu``.
"""

from ..timing import EventTimer, WallTimer, make_timer, resolve_device, time_functions, time_round_robin
from .cli import machine_metadata, main, run, write_csv
from .methods import BenchMethod, combinations, configurations, is_baseline
from .sweeps import SWEEPS, BenchConfig, run_sweep

__all__ = [
    "main",
    "run",
    "run_sweep",
    "SWEEPS",
    "BenchConfig",
    "BenchMethod",
    "configurations",
    "combinations",
    "is_baseline",
    "machine_metadata",
    "write_csv",
    "WallTimer",
    "EventTimer",
    "make_timer",
    "resolve_device",
    "time_round_robin",
    "time_functions",
]
