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
:func:`time_functions` runs the warm-up rounds (timed, then **discarded**: lazy initialisation, the
exact Padé coefficients, the allocator), prices one round from the *last* warm-up round (the first
is the slow one), and fits the number of repeats to a time budget **between a minimum and a maximum**,
so a slow warm-up can never leave fewer than ``min_repeats``; optionally on a fixed number of torch
threads (:func:`torch_threads`). Every timing of the package goes through it.

The statistic is the **median** of the repeats, reported with its spread (the inter-quartile range,
:class:`TimingResult`): the median is not moved by a repeat that another process slowed down, and
unlike the minimum it is what a user of the method sees. Two results are *resolved* (one is faster)
only when their inter-quartile ranges do not overlap (:meth:`TimingResult.faster_than`).

A busy machine makes every number above unreliable; :func:`machine_load` reads the load average and
the usable cores, and :func:`busy_note` turns it, and the spread of the results, into a one-line
warning to show beside the timings (empty on a quiet machine).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import torch

__all__ = [
    "WallTimer",
    "EventTimer",
    "make_timer",
    "resolve_device",
    "TimingResult",
    "time_round_robin",
    "time_functions",
    "torch_threads",
    "MachineLoad",
    "machine_load",
    "BUSY_SPREAD",
    "busy_note",
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
    warmup_ms : list of float
        The untimed-for-the-statistic warm-up calls, kept only to show what was discarded (the first
        call of a method is often many times slower than the others).
    """

    times_ms: List[float] = field(default_factory=list)
    warmup_ms: List[float] = field(default_factory=list)

    @property
    def repeats(self) -> int:
        """Number of timed repeats."""
        return len(self.times_ms)

    @property
    def median(self) -> float:
        """The statistic reported everywhere (ms)."""
        return statistics.median(self.times_ms)

    @property
    def quartiles(self) -> Tuple[float, float]:
        """The first and third quartiles (ms); both equal to the median with fewer than 4 repeats."""
        if len(self.times_ms) < 4:
            m = self.median
            return m, m
        q = statistics.quantiles(self.times_ms, n=4)
        return q[0], q[2]

    @property
    def iqr(self) -> float:
        """Its spread: the inter-quartile range (ms; 0 with fewer than 4 repeats)."""
        q1, q3 = self.quartiles
        return q3 - q1

    @property
    def relative_spread(self) -> float:
        """``iqr / median``: 0.1 means the middle half of the repeats lies within 10 % of the median."""
        m = self.median
        return self.iqr / m if m > 0 else 0.0

    def faster_than(self, other: "TimingResult") -> bool:
        """Whether this one is faster *beyond the spread*: its third quartile below ``other``'s first.

        Neither ``a.faster_than(b)`` nor ``b.faster_than(a)``: the two are not resolved by these repeats.
        """
        return self.quartiles[1] < other.quartiles[0]

    def row(self, prefix: str = "time") -> Dict[str, object]:
        """``{prefix}_ms`` (median), ``{prefix}_iqr_ms`` and ``repeats``, rounded, for a CSV row."""
        return {
            f"{prefix}_ms": round(self.median, 5),
            f"{prefix}_iqr_ms": round(self.iqr, 5),
            "repeats": len(self.times_ms),
        }


@contextlib.contextmanager
def torch_threads(threads: Optional[int]) -> Iterator[None]:
    """Run torch on ``threads`` intra-op threads inside the block (restored after); ``None``: unchanged.

    On a shared or loaded CPU, several threads per operation spend much of their time waiting for one
    another (each operation ends at a barrier that the slowest, descheduled thread sets): small
    problems then run many times slower and far less reproducibly than on one thread.
    """
    if threads is None:
        yield
        return
    if int(threads) < 1:
        raise ValueError(f"threads must be >= 1 or None, got {threads}")
    previous = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


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
    threads: Optional[int] = None,
) -> Dict[str, TimingResult]:
    """Time callables the one way of the package: warm up (discarded), fit the repeats to a budget, round robin.

    ``warmup`` untimed rounds come first (allocator, caches, lazy initialisation, the exact Padé
    coefficients); each call is timed all the same and kept in :attr:`TimingResult.warmup_ms`, never in
    the statistic. The **last** warm-up round prices a round (the first one is the slow one); the number
    of timed repeats is ``budget_s / round``, clipped to ``[min_repeats, max_repeats]``; then
    :func:`time_round_robin` with :func:`make_timer` for ``device``. So ``min_repeats`` is a floor
    that no slow warm-up or busy machine can lower: pass ``min_repeats >= 4`` for a spread.

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
        Untimed rounds, at least 1 (the last one prices a round).
    threads : int, optional
        Torch intra-op threads for the whole measurement, warm-up included (:func:`torch_threads`);
        ``None`` (default) leaves torch's setting alone.

    Returns
    -------
    dict of str to TimingResult
        Report :attr:`TimingResult.median` with :attr:`TimingResult.iqr`.
    """
    if not 1 <= min_repeats <= max_repeats:
        raise ValueError(f"need 1 <= min_repeats <= max_repeats, got {min_repeats} and {max_repeats}")
    device = torch.device(device)
    timer = make_timer(device)
    warm: Dict[str, List[float]] = {name: [] for name in fns}
    with torch_threads(threads):
        per_round = 1e-6
        for _ in range(max(int(warmup), 1)):
            start = time.perf_counter()
            for name, fn in fns.items():
                warm[name].append(timer.time(fn))
            per_round = max(time.perf_counter() - start, 1e-6)
        repeats = int(max(min_repeats, min(max_repeats, budget_s / per_round)))
        results = time_round_robin(fns, timer=timer, repeats=repeats, warmup=0)
    for name, result in results.items():
        result.warmup_ms = warm[name]
    return results


# ------------------------------------------------------------------------------------- machine load

#: Relative spread (:attr:`TimingResult.relative_spread`) above which :func:`busy_note` warns.
BUSY_SPREAD = 0.25


@dataclass(frozen=True)
class MachineLoad:
    """How busy the machine is: the 1-minute load average against the CPUs this process may use.

    Attributes
    ----------
    loadavg : float or None
        Runnable processes averaged over the last minute (``os.getloadavg``; ``None`` where the OS
        has none). It counts this process too.
    cores : int
        CPUs available to this process.
    threads : int
        Torch's intra-op threads.
    """

    loadavg: Optional[float]
    cores: int
    threads: int

    @property
    def busy(self) -> bool:
        """More runnable processes than cores: others compete for the CPUs being timed."""
        return self.loadavg is not None and self.loadavg > self.cores


def machine_load() -> MachineLoad:
    """The current :class:`MachineLoad` (load average, usable cores, torch threads)."""
    try:
        load: Optional[float] = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        load = None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    return MachineLoad(load, cores, torch.get_num_threads())


def busy_note(
    results: Mapping[str, TimingResult],
    *,
    load: Optional[MachineLoad] = None,
    spread: float = BUSY_SPREAD,
    device: Union[str, torch.device] = "cpu",
) -> str:
    """A one-line warning when the timings should not be trusted; ``""`` when the machine looks quiet.

    Warns when the largest :attr:`TimingResult.relative_spread` of ``results`` exceeds ``spread``
    ("Noisy timings: ...") and, for CPU timings, when the load average exceeds the usable cores
    (:attr:`MachineLoad.busy`; then "Busy machine: ...", with both reasons).

    Parameters
    ----------
    results : mapping of str to TimingResult
        Labels (shown in the note) to results.
    load : MachineLoad, optional
        Default :func:`machine_load` now.
    spread : float
        Threshold on the relative spread.
    device : str or torch.device
        Where the timings ran: the load average says nothing about a GPU's own queue.
    """
    reasons = []
    if results:
        label, worst = max(results.items(), key=lambda item: item[1].relative_spread)
        if worst.relative_spread > spread:
            reasons.append(f"spread (IQR) up to {100 * worst.relative_spread:.0f} % of the median ({label})")
    if torch.device(device).type == "cpu":
        load = machine_load() if load is None else load
        if load.busy:
            reasons.append(f"load average {load.loadavg:.1f} on {load.cores} core{'s' * (load.cores != 1)}")
    if not reasons:
        return ""
    busy = any(reason.startswith("load") for reason in reasons)
    return (
        ("Busy machine: " if busy else "Noisy timings: ")
        + "; ".join(reasons)
        + ". Rank two methods only where their IQR bars do not overlap"
        + ("; rerun when the machine is quieter." if busy else "; rerun for more repeats.")
    )
