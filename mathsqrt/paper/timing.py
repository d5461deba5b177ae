r"""How :mod:`mathsqrt.paper` measures time: one routine, one statistic, for the benchmark, the figures and the widgets.

Two timers share one interface, ``timer.time(fn) -> milliseconds``:

- :class:`WallTimer` (CPU): ``time.perf_counter`` around the call, with an optional
  ``synchronize`` before and after (a no-op on the CPU).
- :class:`EventTimer` (CUDA): a pair of events recorded on the current stream around the call, then
  the end event is synchronised and ``start.elapsed_time(end)`` read. Kernel launches are
  asynchronous on a GPU, so wall-clock time around an un-synchronised call measures only the launch;
  events measure the device time between the two records. The event type is injected, so the logic is
  exercised on machines without a GPU (tests pass a fake event class).

:func:`time_round_robin` times several callables **interleaved**: after a warm-up, each repeat runs
every callable once, in an order rotated by one at every repeat, so slow drifts of the machine
(other processes, turbo, thermal) hit all methods alike instead of whichever happened to run last.
:func:`time_functions` adds a warm-up round that also prices one round, and fits the number of
repeats to a time budget: every timing of the package goes through it.

The statistic is the **median** of the repeats, reported with its spread (the inter-quartile range,
:class:`TimingResult`): the median is not moved by a repeat that another process slowed down, and
unlike the minimum it is what a user of the method sees.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Union

import torch

__all__ = [
    "WallTimer",
    "EventTimer",
    "make_timer",
    "resolve_device",
    "TimingResult",
    "time_round_robin",
    "time_functions",
]


class WallTimer:
    """Wall-clock timer (``time.perf_counter``) for the CPU.

    Parameters
    ----------
    synchronize : callable, optional
        Called before starting and before stopping the clock (e.g. ``torch.cuda.synchronize``
        for a wall-clock measurement of GPU work). ``None`` on the CPU.
    """

    def __init__(self, synchronize: Optional[Callable[[], None]] = None) -> None:
        self.synchronize = synchronize

    def time(self, fn: Callable[[], object]) -> float:
        """Run ``fn()`` once; return the elapsed time in milliseconds."""
        if self.synchronize is not None:
            self.synchronize()
        start = time.perf_counter()
        fn()
        if self.synchronize is not None:
            self.synchronize()
        return (time.perf_counter() - start) * 1e3


class EventTimer:
    """Device-event timer (CUDA events): the time between two events recorded around the call.

    Parameters
    ----------
    event_factory : callable
        Returns a new event with ``record()``, ``synchronize()`` and ``elapsed_time(other) -> ms``,
        e.g. ``lambda: torch.cuda.Event(enable_timing=True)``.
    synchronize : callable, optional
        Device-wide synchronisation run once before the start event is recorded, so that work queued
        by earlier calls is not billed to this one (e.g. ``torch.cuda.synchronize``).
    """

    def __init__(self, event_factory: Callable[[], object], synchronize: Optional[Callable[[], None]] = None) -> None:
        self.event_factory = event_factory
        self.synchronize = synchronize

    def time(self, fn: Callable[[], object]) -> float:
        """Run ``fn()`` once between two recorded events; return the device time in milliseconds."""
        if self.synchronize is not None:
            self.synchronize()
        start, end = self.event_factory(), self.event_factory()
        start.record()
        fn()
        end.record()
        end.synchronize()
        return float(start.elapsed_time(end))


def resolve_device(device: str) -> torch.device:
    """``"cpu"`` or ``"cuda"``/``"cuda:k"`` as a :class:`torch.device`, checking that it exists.

    Raises
    ------
    ValueError
        For another device type, or CUDA when ``torch.cuda.is_available()`` is false.
    """
    dev = torch.device(device)
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch.cuda.is_available() is False on this machine")
    return dev


def make_timer(device: torch.device):
    """:class:`EventTimer` with CUDA events on a GPU, :class:`WallTimer` on the CPU."""
    if torch.device(device).type == "cuda":
        return EventTimer(lambda: torch.cuda.Event(enable_timing=True), torch.cuda.synchronize)
    return WallTimer()


@dataclass
class TimingResult:
    """Repeated timings of one callable, in milliseconds, and their one statistic: the median.

    Attributes
    ----------
    times_ms : list of float
        Every timed repeat.
    """

    times_ms: List[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        """The statistic reported everywhere (ms)."""
        return statistics.median(self.times_ms)

    @property
    def iqr(self) -> float:
        """Its spread: the inter-quartile range (ms; 0 with fewer than 4 repeats)."""
        if len(self.times_ms) < 4:
            return 0.0
        q = statistics.quantiles(self.times_ms, n=4)
        return q[2] - q[0]

    def row(self, prefix: str = "time") -> Dict[str, object]:
        """``{prefix}_ms`` (median), ``{prefix}_iqr_ms`` and ``repeats``, rounded, for a CSV row."""
        return {
            f"{prefix}_ms": round(self.median, 5),
            f"{prefix}_iqr_ms": round(self.iqr, 5),
            "repeats": len(self.times_ms),
        }


def time_round_robin(
    fns: Mapping[str, Callable[[], object]],
    *,
    timer,
    repeats: int,
    warmup: int = 2,
    on_step: Optional[Callable[[], None]] = None,
) -> Dict[str, TimingResult]:
    """Time several callables interleaved (round robin) and return their timings.

    Parameters
    ----------
    fns : mapping of str to callable
        What to time; each is called with no argument.
    timer : WallTimer or EventTimer
        See :func:`make_timer`.
    repeats : int
        Timed calls per callable (``>= 1``); the reported statistic is the median.
    warmup : int
        Untimed calls per callable first (allocator, caches, lazy initialisation, cuBLAS handles).
    on_step : callable, optional
        Called after every timed call (e.g. to advance a progress bar).

    Returns
    -------
    dict of str to TimingResult
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    names: Sequence[str] = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    results = {name: TimingResult() for name in names}
    for r in range(repeats):
        shift = r % max(len(names), 1)
        for name in list(names[shift:]) + list(names[:shift]):
            results[name].times_ms.append(timer.time(fns[name]))
            if on_step is not None:
                on_step()
    return results


def time_functions(
    fns: Mapping[str, Callable[[], object]],
    *,
    device: Union[str, torch.device] = "cpu",
    budget_s: float = 0.5,
    min_repeats: int = 1,
    max_repeats: int = 25,
    warmup: int = 1,
) -> Dict[str, TimingResult]:
    """Time callables the one way of the package: warm up, fit the repeats to a budget, round robin.

    One untimed round first (allocator, caches, lazy initialisation, the exact Padé coefficients)
    also measures the wall time of a round; the number of timed repeats is then
    ``budget_s / round``, clipped to ``[min_repeats, max_repeats]``; ``warmup - 1`` further untimed
    rounds follow, then :func:`time_round_robin` with :func:`make_timer` for ``device``.

    Parameters
    ----------
    fns : mapping of str to callable
        What to time; each is called with no argument.
    device : str or torch.device
        Where the callables run (CUDA events on a GPU, wall clock on the CPU).
    budget_s : float
        Target wall time of the timed repeats, in seconds.
    min_repeats, max_repeats : int
        Bounds on the timed repeats per callable (``1 <= min_repeats <= max_repeats``).
    warmup : int
        Untimed rounds, at least 1 (the pricing round).

    Returns
    -------
    dict of str to TimingResult
        Report :attr:`TimingResult.median` with :attr:`TimingResult.iqr`.
    """
    if not 1 <= min_repeats <= max_repeats:
        raise ValueError(f"need 1 <= min_repeats <= max_repeats, got {min_repeats} and {max_repeats}")
    device = torch.device(device)
    start = time.perf_counter()
    for fn in fns.values():
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    per_round = max(time.perf_counter() - start, 1e-6)
    repeats = int(max(min_repeats, min(max_repeats, budget_s / per_round)))
    return time_round_robin(fns, timer=make_timer(device), repeats=repeats, warmup=max(warmup - 1, 0))
