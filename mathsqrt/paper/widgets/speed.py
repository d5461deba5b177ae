r"""Widgets of notebook 05: how fast is each method *on your machine*, and why.

The paper's speed claims (Song, Sebe & Wang, ICLR 2022 [1]_, Sec. 4.1, Figs. 1d and 2, Tables 1–4, 8)
were measured on a Tesla K40 GPU. Here the same timings run live on the reader's device (CPU, or a
GPU when torch sees one), beside the K40 numbers, and the operation counts of Tables 1–2 are
*measured* by instrumentation (:mod:`mathsqrt.counting`), not typed in.

- FP+BP time of every configuration at one shape (:func:`compute_timing`, :func:`interactive_speed`);
- the paper's Fig. 1(d), backward time against iterations (:func:`compute_backward_vs_iterations`,
  :func:`interactive_backward`);
- the paper's Fig. 2(b) and 2(c), time and error against the dimension (:func:`compute_dimension`,
  :func:`interactive_dimension`), with the K40 Table 8 beside;
- the counts of Tables 1–2 (:func:`compute_counts`, :func:`interactive_counts`).

Split as everywhere: ``compute_*`` (pure, cached), ``plot_*(ax, ...)`` and ``interactive_*()``
builders on :class:`~mathsqrt.paper.widgets._common.InteractivePlot`. Methods are the
configurations of the method table (:mod:`mathsqrt.methods`), keyed by name and shown by label; the
paper's numbers come from :mod:`mathsqrt.paper.data`.

Every live time goes through :func:`time_live`, i.e. the package's one routine
:func:`mathsqrt.paper.timing.time_functions`: :data:`LIVE_WARMUP` warm-up rounds timed and discarded,
at least :data:`LIVE_MIN_REPEATS` round-robin repeats whatever the warm-up cost, the median with its
inter-quartile range (drawn as bars), on :data:`LIVE_THREADS` torch thread(s) on a CPU, CUDA events
on a GPU; and every result comes with :func:`mathsqrt.paper.timing.busy_note`, shown on the figure
when the machine is busy or the timings are noisy.

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
"""

from __future__ import annotations

import textwrap
from functools import lru_cache
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from mathsqrt import methods
from mathsqrt.counting import count_forward_backward
from mathsqrt.testing import gradient_reference, random_covariance, random_gradient, sqrtm_reference

from .. import data
from ..bench.methods import BenchMethod, configurations
from ..bench.sweeps import forward_errors, gradient_error
from ..plotting import REFERENCE_COLORS, backward_style, configuration_label, configuration_style, forward_style
from ..timing import TimingResult, busy_note, resolve_device, time_functions
from ._common import InteractivePlot, pick

__all__ = [
    "SPEED_METHODS",
    "BACKWARD_METHODS",
    "FIXED_BACKWARD_METHODS",
    "DIMENSION_METHODS",
    "METHOD_GROUPS",
    "ERROR_KINDS",
    "ERROR_BATCH",
    "TIME_BUDGET_S",
    "LIVE_WARMUP",
    "LIVE_MIN_REPEATS",
    "LIVE_MAX_REPEATS",
    "LIVE_THREADS",
    "available_devices",
    "paper_reference",
    "time_live",
    "verdict",
    "format_timings",
    "clear_cache",
    "compute_timing",
    "visited",
    "default_iterations",
    "compute_backward_vs_iterations",
    "default_sizes",
    "compute_dimension",
    "compute_dimension_errors",
    "compute_counts",
    "format_counts_table",
    "format_paper_tables",
    "draw_note",
    "plot_timing",
    "plot_visited",
    "plot_backward_times",
    "plot_backward_counts",
    "plot_time_vs_dimension",
    "plot_error_vs_dimension",
    "plot_counts",
    "interactive_speed",
    "interactive_backward",
    "interactive_dimension",
    "interactive_counts",
]

#: The configurations timed live: every one of the table but the paper's baselines
#: (:func:`mathsqrt.paper.bench.methods.is_baseline`): MPA-Lya, MTP-Lya, NS, SVD (eigh
#: differentiated by autograd, Eq. 2), eigh with the exact eigenbasis backward, and the package's
#: MPA-Lya (scaled), MPA-adjoint and NS (scaled).
SPEED_METHODS: Tuple[str, ...] = tuple(m.name for m in configurations(baselines=False))

#: Fig. 1(d): configurations whose backward has an iteration count ``T`` (the paper's Lyapunov solver,
#: the optimally scaled one, and NS differentiated through its ``T`` iterations).
BACKWARD_METHODS: Tuple[str, ...] = ("mpa-lya", "mpa-lya-opt", "ns")

#: Fig. 1(d): configurations whose backward has no iteration count, drawn as a level (the exact adjoint).
FIXED_BACKWARD_METHODS: Tuple[str, ...] = ("mpa-adjoint",)

#: Fig. 2(b, c): the paper's four configurations, the exact eigenbasis backward, and the two new MPA ones.
DIMENSION_METHODS: Tuple[str, ...] = ("mpa-lya", "mtp-lya", "ns", "svd", "eigh", "mpa-lya-opt", "mpa-adjoint")

#: Selections of :data:`DIMENSION_METHODS` offered by :func:`interactive_dimension`.
METHOD_GROUPS: Mapping[str, Tuple[str, ...]] = {
    "all": DIMENSION_METHODS,
    "the paper's": ("mpa-lya", "mtp-lya", "ns", "svd"),
    "MPA variants": ("mpa-lya", "mpa-lya-opt", "mpa-adjoint"),
}

#: The error measures of :func:`plot_error_vs_dimension`: key -> (label, key of :func:`compute_dimension`'s errors).
ERROR_KINDS: Mapping[str, Tuple[str, str]] = {
    "forward, relative": ("relative forward error  ||S - A^1/2||_F / ||A^1/2||_F", "rel_err"),
    "forward, MAE (paper)": ("forward mean absolute error (the paper's Fig. 2c)", "mae"),
    "gradient, relative": ("relative gradient error vs the exact gradient", "grad_rel_err"),
}

_CONFIGURATIONS = methods.CONFIGURATIONS

#: Seconds of timed repeats one measurement aims at: it only *adds* repeats above :data:`LIVE_MIN_REPEATS`.
TIME_BUDGET_S = 0.5

#: Untimed warm-up rounds: the first (lazy initialisation, exact coefficients, allocator) and one more
#: that prices a round. Both are timed and kept in :attr:`~mathsqrt.paper.timing.TimingResult.warmup_ms`.
LIVE_WARMUP = 2

#: The fewest timed repeats of every live measurement, however slow the warm-up: enough for quartiles.
LIVE_MIN_REPEATS = 5

#: The most timed repeats of a live measurement (when a round is fast).
LIVE_MAX_REPEATS = 15

#: Torch threads of a live CPU measurement. One thread measures the algorithm: on a shared or busy
#: CPU, several threads per operation mostly wait for one another (see
#: :func:`mathsqrt.paper.timing.torch_threads`), which swamps the differences between methods.
LIVE_THREADS: Optional[int] = 1

#: Matrices of the error measurements of :func:`compute_dimension` (errors are averaged over them).
ERROR_BATCH = 4

#: Colour of the busy-machine note drawn on a figure.
NOTE_COLOR = "#9E2A2B"

Timings = Mapping[str, Union[TimingResult, float]]


def available_devices() -> List[str]:
    """``["cpu"]``, plus ``"cuda"`` when torch sees a GPU."""
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def paper_reference(batch: int, n: int) -> Dict[str, float]:
    """The K40 FP+BP times (ms, by configuration) the paper reports for ``batch × n × n`` (:func:`~.data.k40`)."""
    return data.k40(batch, n)


def _inputs(n: int, batch: int, *, seed: int, dtype=torch.float32, device="cpu"):
    """Random covariances ``(batch, n, n)`` and an incoming gradient of unit norm per matrix (``mathsqrt.testing``)."""
    A = random_covariance(n, batch, seed=seed, dtype=dtype, device=device)
    return A, random_gradient(n, batch, seed=seed + 1, dtype=dtype, device=device)


def _label(name: str) -> str:
    """A configuration's label; any other key (``"from scratch"``) as it is."""
    return configuration_label(name) if name in _CONFIGURATIONS else name


def _result(value: Union[TimingResult, float]) -> TimingResult:
    """A :class:`TimingResult` as is; a bare number (ms) as a result of one repeat."""
    return value if isinstance(value, TimingResult) else TimingResult([float(value)])


# ------------------------------------------------------------------------------------------ timing


def time_live(
    fns: Mapping[str, Callable[[], object]],
    *,
    device: Union[str, torch.device] = "cpu",
    threads: Optional[int] = LIVE_THREADS,
    min_repeats: int = LIVE_MIN_REPEATS,
) -> Dict[str, TimingResult]:
    """Time callables the way every live measurement of notebook 05 does.

    :func:`mathsqrt.paper.timing.time_functions` with :data:`LIVE_WARMUP` discarded warm-up rounds, at
    least ``min_repeats`` and at most ``max(min_repeats, LIVE_MAX_REPEATS)`` round-robin repeats (about
    :data:`TIME_BUDGET_S` seconds of them), on ``threads`` torch threads on a CPU.

    Parameters
    ----------
    fns : mapping of str to callable
        What to time, each called with no argument.
    device : str or torch.device
        ``"cpu"`` or ``"cuda"``.
    threads : int, optional
        Torch threads on a CPU (ignored on a GPU); ``None`` keeps torch's setting.
    min_repeats : int
        The fewest timed repeats (``>= 4`` for a spread).

    Returns
    -------
    dict of str to TimingResult
    """
    dev = resolve_device(str(device))
    return time_functions(
        fns,
        device=dev,
        budget_s=TIME_BUDGET_S,
        min_repeats=int(min_repeats),
        max_repeats=max(int(min_repeats), LIVE_MAX_REPEATS),
        warmup=LIVE_WARMUP,
        threads=threads if dev.type == "cpu" else None,
    )


def verdict(a: Union[TimingResult, float], b: Union[TimingResult, float]) -> str:
    """``"faster"``, ``"slower"`` or ``"not resolved"``: ``a`` against ``b``, beyond their inter-quartile ranges."""
    a, b = _result(a), _result(b)
    if a.faster_than(b):
        return "faster"
    if b.faster_than(a):
        return "slower"
    return "not resolved"


def format_timings(results: Timings, *, reference: Optional[str] = None, note: Optional[str] = None) -> str:
    """A plain-text table: median, quartiles, repeats, the discarded first call, and each method against ``reference``.

    Parameters
    ----------
    results : mapping of str to TimingResult
        Configuration names (shown by label) or any other keys.
    reference : str, optional
        Key to compare with (default: :data:`mathsqrt.paper.data.PROPOSED` when present, else the first).
    note : str, optional
        Busy-machine note to append; default :func:`mathsqrt.paper.timing.busy_note` of ``results`` now.
    """
    res = {k: _result(v) for k, v in results.items()}
    if reference is None:
        reference = data.PROPOSED if data.PROPOSED in res else next(iter(res))
    ref = res[reference]
    width = max(len(_label(k)) for k in res)
    lines = [
        f"{'method':{width}s}  {'median':>8s}  {'IQR (ms)':>17s}  {'repeats':>7s}  {'1st call':>8s}  "
        f"vs {_label(reference)}",
    ]
    for name, r in res.items():
        q1, q3 = r.quartiles
        first = f"{r.warmup_ms[0]:8.2f}" if r.warmup_ms else f"{'':8s}"
        relation = "(reference)" if name == reference else verdict(r, ref)
        lines.append(
            f"{_label(name):{width}s}  {r.median:8.2f}  [{q1:7.2f}, {q3:7.2f}]  {r.repeats:7d}  {first}  "
            f"{r.median / ref.median:5.2f}x  {relation}"
        )
    note = busy_note({_label(k): r for k, r in res.items()}) if note is None else note
    lines.append("(ms; median of the repeats; '1st call': the first warm-up call, discarded)")
    if note:
        lines.append(note)
    return "\n".join(lines)


_CACHE: Dict[tuple, object] = {}


def clear_cache() -> None:
    """Forget every cached measurement (the next call of each ``compute_*`` measures again)."""
    _CACHE.clear()
    _bw_count.cache_clear()
    _counts_cached.cache_clear()


def _cached(key: tuple, compute: Callable[[], object]):
    if key not in _CACHE:
        _CACHE[key] = compute()
    return _CACHE[key]


def _check_methods(names: Sequence[str]) -> None:
    for name in names:
        if name not in _CONFIGURATIONS:
            raise ValueError(f"unknown method {name!r}; choose from {', '.join(_CONFIGURATIONS)}")


def compute_timing(
    n: int,
    batch: int,
    *,
    device: str = "cpu",
    methods: Sequence[str] = SPEED_METHODS,
    threads: Optional[int] = LIVE_THREADS,
    min_repeats: int = LIVE_MIN_REPEATS,
    seed: int = 0,
) -> Dict[str, TimingResult]:
    r"""FP+BP time of each configuration on ``batch`` random ``n×n`` covariances (float32).

    One call of :func:`mathsqrt.sqrtm` plus ``torch.autograd.grad`` per timed repeat, configurations
    interleaved round-robin, measured by :func:`time_live` (warm-up discarded, at least ``min_repeats``
    repeats, ``threads`` torch threads on a CPU, CUDA events on a GPU). Results are cached per
    arguments: moving a slider back to a visited value costs nothing (and shows the first measurement
    again).

    Parameters
    ----------
    n, batch : int
        Shape of the input.
    device : str
        ``"cpu"`` or ``"cuda"``.
    methods : sequence of str
        Configuration names (:data:`mathsqrt.methods.CONFIGURATIONS`).
    threads : int, optional
        Torch threads on a CPU (``None``: torch's setting).
    min_repeats : int
        The fewest timed repeats.
    seed : int
        Of the input.

    Returns
    -------
    dict of str to TimingResult
        Configuration name -> repeats; report :attr:`~TimingResult.median` and :attr:`~TimingResult.quartiles`.
    """
    if int(n) < 2 or int(batch) < 1:
        raise ValueError(f"need n >= 2 and batch >= 1, got n={n}, batch={batch}")
    _check_methods(methods)
    key = ("timing", tuple(methods), int(n), int(batch), str(device), threads, int(min_repeats), int(seed))

    def measure():
        dev = resolve_device(device)
        A, G = _inputs(int(n), int(batch), seed=int(seed), device=dev)
        fns = {name: BenchMethod.configuration(name).fpbp(A, G) for name in methods}
        return time_live(fns, device=dev, threads=threads, min_repeats=min_repeats)

    return dict(_cached(key, measure))


def visited(
    n: int, device: str = "cpu", methods: Sequence[str] = SPEED_METHODS, threads: Optional[int] = LIVE_THREADS
) -> Dict[int, Dict[str, TimingResult]]:
    """Timings already measured (in the cache) at size ``n`` on ``device``, by batch size."""
    out: Dict[int, Dict[str, TimingResult]] = {}
    for key, value in list(_CACHE.items()):
        if key[0] == "timing" and key[1] == tuple(methods) and key[2] == n and key[4] == device and key[5] == threads:
            out[key[3]] = dict(value)
    return dict(sorted(out.items()))


# ------------------------------------------------------------------------------------ Fig. 1(d)


def _iterated(name: str, iters: Optional[int]) -> BenchMethod:
    """Configuration ``name`` with its backward iteration count set to ``iters`` (``None``: as it is).

    An iterative Lyapunov backward takes ``backward_iters``; a forward differentiated by autograd
    (NS) takes its own ``iters``, which its backward replays.
    """
    config = _CONFIGURATIONS[name]
    if iters is None:
        return BenchMethod.configuration(name)
    if _iterative_lyapunov(config.backward):
        return BenchMethod.configuration(name, backward_iters=int(iters))
    forward_keywords = {o.keyword for o in methods.forward_method(config.method).options}
    if config.backward == "autograd" and "iters" in forward_keywords:
        return BenchMethod.configuration(name, iters=int(iters))
    raise ValueError(f"configuration {name!r} has no backward iteration count")


@lru_cache(maxsize=256)
def _bw_count(name: str, iters: Optional[int]) -> Tuple[int, int]:
    """(matmuls, solves) of the backward pass of ``name`` at ``iters`` iterations, counted by ATen (6×6, float64)."""
    A, G = _inputs(6, 2, seed=0, dtype=torch.float64)
    _, bw = count_forward_backward(_iterated(name, iters).apply, A, G)
    return bw["matmul"], bw["solve"]


def _paper_bw(name: str, iters: int):
    """The paper's backward matmuls of ``name`` at ``iters`` (Table 2), ``""`` where it has none."""
    config = _CONFIGURATIONS[name]
    return data.paper_counts(config.method, iters=iters, backward=config.backward, backward_iters=iters)[
        "paper_bw_matmul"
    ]


def default_iterations() -> Tuple[int, ...]:
    """The ``T`` of Fig. 1(d) measured by default: 2, 5 (the paper's NS), 8 (its Lyapunov), 11 (fast: 2, 5, 8)."""
    return pick((2, 5, 8, 11), (2, 5, 8))


def compute_backward_vs_iterations(
    n: int,
    batch: int,
    *,
    iterations: Optional[Sequence[int]] = None,
    iterated: Sequence[str] = BACKWARD_METHODS,
    fixed: Sequence[str] = FIXED_BACKWARD_METHODS,
    device: str = "cpu",
    threads: Optional[int] = LIVE_THREADS,
    min_repeats: int = LIVE_MIN_REPEATS,
    seed: int = 0,
) -> Dict[str, object]:
    r"""The paper's Fig. 1(d), live: backward (BP) time against the iterations ``T``, and the products counted.

    For every configuration of ``iterated`` and every ``T``: the graph of :func:`mathsqrt.sqrtm` is
    built once (untimed) and its backward replayed (:meth:`~mathsqrt.paper.bench.methods.BenchMethod.bp`),
    all interleaved in one :func:`time_live` measurement together with the configurations of
    ``fixed``, whose backward has no ``T`` (the exact adjoint). Beside each time, the matmuls of that
    backward counted at torch's dispatcher, and the paper's formula (Table 2: Lyapunov ``6T``, NS
    ``4 + 10T``). Cached per arguments.

    Parameters
    ----------
    n, batch : int
        Shape of the input (float32 random covariances).
    iterations : sequence of int, optional
        The ``T`` values (default :func:`default_iterations`).
    iterated, fixed : sequence of str
        Configuration names (default :data:`BACKWARD_METHODS`, :data:`FIXED_BACKWARD_METHODS`).
    device, threads, min_repeats, seed
        As :func:`compute_timing`.

    Returns
    -------
    dict
        ``iterations`` (list), ``times`` (name -> T -> TimingResult), ``fixed`` (name -> TimingResult),
        ``counts`` (name -> T -> backward matmuls), ``fixed_counts`` (name -> (matmuls, solves)),
        ``paper_counts`` (name -> T -> the paper's formula or ``""``), ``note`` (busy-machine note,
        ``""`` when quiet), ``n``, ``batch``, ``device``.
    """
    if int(n) < 2 or int(batch) < 1:
        raise ValueError(f"need n >= 2 and batch >= 1, got n={n}, batch={batch}")
    iterations = tuple(int(t) for t in (default_iterations() if iterations is None else iterations))
    if not iterations or min(iterations) < 1:
        raise ValueError(f"iterations must be positive integers, got {iterations}")
    _check_methods(tuple(iterated) + tuple(fixed))
    key = (
        "backward",
        tuple(iterated),
        tuple(fixed),
        iterations,
        int(n),
        int(batch),
        str(device),
        threads,
        int(min_repeats),
        int(seed),
    )

    def measure():
        dev = resolve_device(device)
        A, G = _inputs(int(n), int(batch), seed=int(seed), device=dev)
        fns = {(name, T): _iterated(name, T).bp(A, G) for name in iterated for T in iterations}
        fns.update({(name, None): _iterated(name, None).bp(A, G) for name in fixed})
        res = time_live(
            {f"{k[0]}|{k[1]}": fn for k, fn in fns.items()}, device=dev, threads=threads, min_repeats=min_repeats
        )
        labelled = {f"{_label(k[0])} T={k[1]}" if k[1] else _label(k[0]): res[f"{k[0]}|{k[1]}"] for k in fns}
        return {
            "iterations": list(iterations),
            "times": {name: {T: res[f"{name}|{T}"] for T in iterations} for name in iterated},
            "fixed": {name: res[f"{name}|None"] for name in fixed},
            "counts": {name: {T: _bw_count(name, T)[0] for T in iterations} for name in iterated},
            "fixed_counts": {name: _bw_count(name, None) for name in fixed},
            "paper_counts": {name: {T: _paper_bw(name, T) for T in iterations} for name in iterated},
            "note": busy_note(labelled, device=dev),
            "n": int(n),
            "batch": int(batch),
            "device": dev.type,
        }

    return dict(_cached(key, measure))


# ------------------------------------------------------------------------------------ Fig. 2(b, c)


def default_sizes() -> Tuple[int, ...]:
    """The dimensions of Fig. 2(b, c) measured by default: 16..256 (fast: 8, 16, 32)."""
    return pick((16, 32, 64, 128, 256), (8, 16, 32))


def compute_dimension_errors(
    n: int, *, methods: Sequence[str] = DIMENSION_METHODS, device: str = "cpu", seed: int = 0
) -> Dict[str, Dict[str, float]]:
    r"""Errors of each configuration on :data:`ERROR_BATCH` random ``n×n`` covariances (float32): Fig. 2(c).

    ``mae`` (the paper's mean absolute error) and ``rel_err`` (mean relative Frobenius error) of the
    forward pass against the float64 eigendecomposition (:func:`mathsqrt.testing.sqrtm_reference`), and
    ``grad_rel_err``, the mean relative error of the gradient (symmetric parts) for a random incoming
    gradient against the exact one (:func:`mathsqrt.testing.gradient_reference`). Deterministic for a
    given ``seed``; no timing. Cached per arguments.
    """
    _check_methods(methods)
    key = ("errors", tuple(methods), int(n), str(device), int(seed))

    def measure():
        dev = resolve_device(device)
        A64 = random_covariance(int(n), ERROR_BATCH, seed=seed + 2)
        G64 = random_gradient(int(n), ERROR_BATCH, seed=seed + 3)
        S64, X64 = sqrtm_reference(A64), gradient_reference(A64, G64)
        A, G = A64.to(dev, torch.float32), G64.to(dev, torch.float32)
        errors = {}
        for name in methods:
            m = BenchMethod.configuration(name)
            with torch.no_grad():
                errs = forward_errors(m.apply(A), S64)
            errs["grad_rel_err"] = gradient_error(m, A, G, X64)
            errors[name] = errs
        return errors

    return {name: dict(v) for name, v in _cached(key, measure).items()}


def _dimension_point(
    n: int, names: Tuple[str, ...], device: str, threads: Optional[int], min_repeats: int, seed: int
) -> Dict[str, object]:
    """One ``n`` of :func:`compute_dimension`: times at batch 1 (cached) and :func:`compute_dimension_errors`."""
    key = ("dimension", names, int(n), str(device), threads, int(min_repeats), int(seed))

    def measure():
        dev = resolve_device(device)
        A, G = _inputs(n, 1, seed=seed, device=dev)
        fns = {name: BenchMethod.configuration(name).fpbp(A, G) for name in names}
        times = time_live(fns, device=dev, threads=threads, min_repeats=min_repeats)
        return {"times": times, "note": busy_note({_label(k): v for k, v in times.items()}, device=dev)}

    point = dict(_cached(key, measure))
    point["errors"] = compute_dimension_errors(n, methods=names, device=device, seed=seed)
    return point


def compute_dimension(
    sizes: Optional[Sequence[int]] = None,
    *,
    methods: Sequence[str] = DIMENSION_METHODS,
    device: str = "cpu",
    threads: Optional[int] = LIVE_THREADS,
    min_repeats: int = LIVE_MIN_REPEATS,
    seed: int = 0,
) -> Dict[str, object]:
    r"""The paper's Fig. 2(b) and 2(c), live: FP+BP time and errors against the dimension ``n``.

    For each ``n``: the FP+BP time of one ``n×n`` random covariance (batch 1, float32, as the paper's
    Table 8), every configuration interleaved in one :func:`time_live` measurement; and, on
    :data:`ERROR_BATCH` other random covariances (float32), the forward error against the float64
    eigendecomposition (:func:`mathsqrt.testing.sqrtm_reference`: the paper's mean absolute error
    ``mae`` and the relative Frobenius error ``rel_err``) and the relative error of the gradient
    against the exact one (:func:`mathsqrt.testing.gradient_reference`; symmetric parts,
    ``grad_rel_err``). Each ``n`` is cached on its own.

    Parameters
    ----------
    sizes : sequence of int, optional
        Dimensions (default :func:`default_sizes`).
    methods : sequence of str
        Configuration names (default :data:`DIMENSION_METHODS`).
    device, threads, min_repeats, seed
        As :func:`compute_timing`.

    Returns
    -------
    dict
        ``sizes`` (list), ``times`` (name -> n -> TimingResult), ``errors`` (name -> n ->
        ``{"mae", "rel_err", "grad_rel_err"}``), ``notes`` (n -> busy-machine note, ``""`` when quiet),
        ``device``.
    """
    sizes = tuple(int(n) for n in (default_sizes() if sizes is None else sizes))
    if not sizes or min(sizes) < 2:
        raise ValueError(f"sizes must be integers >= 2, got {sizes}")
    _check_methods(methods)
    names = tuple(methods)
    points = {n: _dimension_point(n, names, device, threads, min_repeats, seed) for n in sizes}
    return {
        "sizes": list(sizes),
        "times": {name: {n: points[n]["times"][name] for n in sizes} for name in names},
        "errors": {name: {n: points[n]["errors"][name] for n in sizes} for name in names},
        "notes": {n: points[n]["note"] for n in sizes},
        "device": resolve_device(device).type,
    }


# ------------------------------------------------------------------------------------------ counts


_COUNTED = ("matmul", "cholesky", "solve", "triangular_solve", "eigh")


@lru_cache(maxsize=64)
def _counts_cached(name: str, options: Tuple[Tuple[str, object], ...]) -> Tuple[Tuple[str, int], ...]:
    A, G = _inputs(6, 2, seed=0, dtype=torch.float64)
    fw, bw = count_forward_backward(BenchMethod.configuration(name, **dict(options)).apply, A, G)
    return tuple([(f"fw_{k}", fw[k]) for k in _COUNTED] + [(f"bw_{k}", bw[k]) for k in _COUNTED])


def _iterative_lyapunov(backward: str) -> bool:
    """Whether a backward of the table is an iterative Lyapunov solver (takes backward_iters and backward_tol)."""
    return {"backward_iters", "backward_tol"} <= {o.keyword for o in methods.backward_method(backward).options}


def _setting(options: Dict[str, object]) -> str:
    """``"[5/5], T=8"``: a Padé degree, a Taylor degree ``K``, iterations ``T``."""
    parts = []
    for key, value in options.items():
        if key == "degree":
            parts.append(f"[{value[0]}/{value[1]}]" if isinstance(value, tuple) else f"K={value}")
        else:
            parts.append(f"T={value}")
    return ", ".join(parts)


def compute_counts(
    *, mtp_degree: int = 11, mpa_degree: int = 5, ns_iters: int = 5, lyapunov_iters: int = 8
) -> Dict[str, Dict[str, object]]:
    r"""Matrix operations of the forward and backward pass of each of :data:`SPEED_METHODS`, counted by ATen.

    The paper's Tables 1–2 by measurement: every ``mm``/``bmm``/``baddbmm`` counts as one (batched)
    matmul, whoever calls it (mathsqrt or autograd). Beside each count, the paper's formula
    (:func:`mathsqrt.paper.data.paper_counts`): MTP ``K - 1``, MPA ``(K-1)/2`` + 1 inverse with
    ``K = 2k + 1``, NS ``3T`` forward and ``4 + 10T`` backward, Lyapunov ``6T``.

    Parameters
    ----------
    mtp_degree, mpa_degree, ns_iters : int
        The option of the ``mtp``, ``mpa`` (``[k/k]``) and ``ns`` forwards.
    lyapunov_iters : int
        The iterations of the iterative Lyapunov backwards (those taking ``backward_iters`` and ``backward_tol``).

    Returns
    -------
    dict
        Configuration name -> ``{"fw_matmul", "fw_solve", "fw_cholesky", "fw_eigh", "bw_matmul", ...,
        "paper_fw_matmul", "paper_fw_inverse", "paper_bw_matmul", "setting"}``. A configuration whose
        methods refuse these settings (:func:`mathsqrt.sqrtm` raises ``ValueError``) is left out.
    """
    forward_options = {
        "mtp": {"degree": mtp_degree},
        "mpa": {"degree": (mpa_degree, mpa_degree)},
        "ns": {"iters": ns_iters},
    }
    out: Dict[str, Dict[str, object]] = {}
    for name in SPEED_METHODS:
        config = _CONFIGURATIONS[name]
        options = dict(forward_options.get(config.method, {}))
        if _iterative_lyapunov(config.backward):
            options["backward_iters"] = lyapunov_iters
        try:
            row: Dict[str, object] = dict(_counts_cached(name, tuple(options.items())))
        except ValueError:  # a method that refuses these settings
            continue
        row.update(
            data.paper_counts(
                config.method,
                degree=options.get("degree"),
                iters=options.get("iters"),
                backward=config.backward,
                backward_iters=lyapunov_iters,
            )
        )
        row["setting"] = _setting(options)
        out[name] = row
    return out


def format_counts_table(counts: Dict[str, Dict[str, object]]) -> str:
    """Markdown table of :func:`compute_counts`: measured vs the paper, forward and backward."""
    lines = [
        "| method | setting | forward matmuls (measured / paper) | forward solves, Cholesky, eigh "
        "| backward matmuls (measured / paper) | backward solves | FP+BP matmuls (measured) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in counts.items():
        paper_fw = "–" if r["paper_fw_matmul"] == "" else r["paper_fw_matmul"]
        paper_bw = "–" if r["paper_bw_matmul"] == "" else r["paper_bw_matmul"]
        other = f"{r['fw_solve']}, {r['fw_cholesky']}, {r['fw_eigh']}"
        lines.append(
            f"| {configuration_label(name)} | {r['setting']} | {r['fw_matmul']} / {paper_fw} | {other} "
            f"| {r['bw_matmul']} / {paper_bw} | {r['bw_solve']} | {r['fw_matmul'] + r['bw_matmul']} |"
        )
    return "\n".join(lines)


def format_paper_tables() -> str:
    """Markdown of the paper's K40 timings (ms, FP+BP; :data:`mathsqrt.paper.data.K40_MS`) for side-by-side reading."""
    reported = {name for times in data.K40_MS.values() for name in times}
    names = [name for name in _CONFIGURATIONS if name in reported]
    lines = [
        "| input | " + " | ".join(configuration_label(k) for k in names) + " | source |",
        "|---|" + "---:|" * len(names) + "---|",
    ]
    for (b, n), values in data.K40_MS.items():
        cells = [f"{values[k]:.2f}" if k in values else "" for k in names]
        lines.append(f"| {b}×{n}×{n} | " + " | ".join(cells) + f" | {data.K40_SOURCES[(b, n)]} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ plots


def _errorbar_kwargs(results: Sequence[TimingResult]) -> Dict[str, object]:
    """``y`` (medians) and ``yerr`` (distances to the quartiles) of :meth:`matplotlib.axes.Axes.errorbar`."""
    med = [r.median for r in results]
    q = [r.quartiles for r in results]
    return {"y": med, "yerr": [[m - q1 for m, (q1, _) in zip(med, q)], [q3 - m for m, (_, q3) in zip(med, q)]]}


def _plain_log2_ticks(ax) -> None:
    """Base-2 log x-axis ticked at the plotted values, labelled as plain integers (8, 16, ..., not 2^3)."""
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

    xs = sorted({float(x) for line in ax.get_lines() for x in line.get_xdata()})
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(xs))
    ax.xaxis.set_major_formatter(FixedFormatter([f"{x:g}" for x in xs]))
    ax.xaxis.set_minor_locator(NullLocator())


def _plain_log_y(ax) -> None:
    """Log y-axis with plain labels (``2``, ``0.06``, ``1e-06``; minor ones where a decade is wide), no mathtext."""
    from matplotlib.ticker import LogFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
    ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def draw_note(fig, note: str) -> None:
    """Show a busy-machine note (:func:`mathsqrt.paper.timing.busy_note`) above the figure; nothing if empty."""
    if note:
        fig.suptitle(textwrap.fill(note, 150), fontsize=8, color=NOTE_COLOR)


def plot_timing(
    ax, times: Timings, *, batch: int, n: int, device: str = "cpu", threads: Optional[int] = None
) -> Dict[str, float]:
    """Bars: your FP+BP median per method with its inter-quartile range; hollow bars: the K40 value of the paper.

    ``times`` is keyed by configuration name (bars are labelled and coloured by the method table); a
    bare number counts as one repeat (no bar of spread). The paper's bars appear where it reports this
    exact shape. Returns the ratios of the medians to the paper's method
    (:data:`mathsqrt.paper.data.PROPOSED`): ``{"ns/mpa-lya": ..., ...}``.
    """
    res = {k: _result(v) for k, v in times.items()}
    names = list(res)
    paper = paper_reference(batch, n)
    x = range(len(names))
    ax.bar(
        [i - 0.2 for i in x],
        [res[k].median for k in names],
        width=0.4,
        color=[configuration_style(k)["color"] for k in names],
        label=f"this {device}: median",
    )
    ax.errorbar(
        [i - 0.2 for i in x],
        **_errorbar_kwargs([res[k] for k in names]),
        fmt="none",
        ecolor="black",
        elinewidth=1.2,
        capsize=3,
        label="inter-quartile range",
    )
    px = [(i + 0.2, paper[k]) for i, k in enumerate(names) if k in paper]
    if px:
        ax.bar(
            [p[0] for p in px],
            [p[1] for p in px],
            width=0.4,
            fill=False,
            edgecolor=REFERENCE_COLORS["reference"],
            hatch="//",
            label="paper, Tesla K40",
        )
    for i, k in enumerate(names):
        ax.annotate(f"{res[k].median:.2f}", (i - 0.2, res[k].quartiles[1]), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(list(x))
    ax.set_xticklabels([configuration_label(k) for k in names], rotation=25, ha="right", fontsize=8)
    ax.set_ylabel("FP+BP time (ms)")
    reps = sorted({res[k].repeats for k in names})
    thread_text = "" if threads is None or device != "cpu" else f", {threads} thread{'s' * (threads != 1)}"
    ax.set_title(f"{batch}×{n}×{n}, float32, {device}{thread_text}, {reps[0]}+ repeats", fontsize=9)
    ax.legend(loc="upper left", fontsize=7)
    ref = res.get(data.PROPOSED)
    return {f"{k}/{data.PROPOSED}": res[k].median / ref.median for k in names if ref and k != data.PROPOSED}


def plot_visited(ax, points: Mapping[int, Timings], *, n: int) -> None:
    """FP+BP time (median, IQR bars) against batch size through every batch size measured so far at ``n`` (Fig. 2a)."""
    batches = list(points)
    names: List[str] = []
    for values in points.values():
        names += [k for k in values if k not in names]
    for name in names:
        xs = [b for b in batches if name in points[b]]
        st = configuration_style(name)
        ax.errorbar(
            xs,
            **_errorbar_kwargs([_result(points[b][name]) for b in xs]),
            color=st["color"],
            marker=st["marker"],
            linestyle=st["linestyle"],
            label=st["label"],
            capsize=2,
        )
    _plain_log2_ticks(ax)
    _plain_log_y(ax)
    ax.set_xlabel("batch size (points you have visited)")
    ax.set_ylabel("FP+BP time (ms)")
    ax.set_title(f"Fig. 2a on this machine, n = {n}", fontsize=9)
    if names:
        ax.legend(fontsize=6, ncol=2, loc="upper left")


def _backward_label(name: str) -> str:
    config = _CONFIGURATIONS[name]
    bwd = backward_style(config.backward)["label"]
    if config.backward == "autograd":
        return f"{config.label}: autograd through its T iterations"
    return f"{config.label}: {bwd} backward" + (", T steps" if _iterative_lyapunov(config.backward) else "")


def plot_backward_times(ax, result: Mapping[str, object]) -> None:
    """Fig. 1(d): BP time (median, IQR bars) against ``T``; a backward without ``T`` as a level with its IQR band.

    ``result`` is :func:`compute_backward_vs_iterations`'s.
    """
    Ts = result["iterations"]
    for name, by_T in result["times"].items():
        st = configuration_style(name)
        ax.errorbar(
            Ts,
            **_errorbar_kwargs([by_T[T] for T in Ts]),
            color=st["color"],
            marker=st["marker"],
            linestyle=st["linestyle"],
            capsize=2,
            label=_backward_label(name),
        )
    for name, r in result["fixed"].items():
        st = configuration_style(name)
        q1, q3 = r.quartiles
        ax.axhline(r.median, color=st["color"], linestyle=st["linestyle"], label=_backward_label(name) + " (no T)")
        ax.axhspan(q1, q3, color=st["color"], alpha=0.1, lw=0)
    ax.set_xticks(Ts)
    ax.set_xlabel("iterations T")
    ax.set_ylabel("BP time (ms): median, IQR bars")
    ax.set_ylim(bottom=0)
    ax.set_title(
        f"Fig. 1d live: backward time vs T ({result['batch']}×{result['n']}×{result['n']}, {result['device']})",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1)


def plot_backward_counts(ax, result: Mapping[str, object]) -> None:
    """Fig. 1(d)'s cost model: backward matmuls against ``T``, counted (markers) and the paper's formula (dashed)."""
    Ts = result["iterations"]
    for name, by_T in result["counts"].items():
        st = configuration_style(name)
        ax.plot(
            Ts,
            [by_T[T] for T in Ts],
            color=st["color"],
            marker=st["marker"],
            linestyle=st["linestyle"],
            label=f"{st['label']}, counted",
        )
        paper = [result["paper_counts"][name][T] for T in Ts]
        if all(p != "" for p in paper):
            ax.plot(
                Ts,
                paper,
                color=st["color"],
                marker="o",
                mfc="none",
                ms=10,
                linestyle=(0, (2, 2)),
                lw=1.0,
                label=f"{st['label']}, paper's formula (Table 2)",
            )
    for name, (mm, solves) in result["fixed_counts"].items():
        st = configuration_style(name)
        ax.axhline(
            mm,
            color=st["color"],
            linestyle=st["linestyle"],
            label=f"{st['label']}: {mm} matmuls" + (f" + {solves} solve" if solves else ""),
        )
    ax.set_xticks(Ts)
    ax.set_xlabel("iterations T")
    ax.set_ylabel("matmuls in the backward (batched product = 1)")
    ax.set_ylim(bottom=0)
    ax.set_title("the same backward, counted (deterministic)", fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)


def plot_time_vs_dimension(
    ax, result: Mapping[str, object], *, methods: Optional[Sequence[str]] = None, max_n: Optional[int] = None
) -> None:
    """Fig. 2(b): FP+BP time (median, IQR bars) against ``n`` (batch 1), and the paper's K40 Table 8 (open squares).

    ``result`` is :func:`compute_dimension`'s; ``methods`` selects configurations, ``max_n`` the largest size.
    """
    names = [k for k in result["times"] if methods is None or k in methods]
    sizes = [n for n in result["sizes"] if max_n is None or n <= max_n]
    for name in names:
        st = configuration_style(name)
        ax.errorbar(
            sizes,
            **_errorbar_kwargs([result["times"][name][n] for n in sizes]),
            color=st["color"],
            marker=st["marker"],
            linestyle=st["linestyle"],
            capsize=2,
            label=st["label"],
        )
    k40 = data.k40_by_dimension()
    shown = [name for name in names if name in k40]
    for name in shown:
        ax.plot(
            list(k40[name]),
            list(k40[name].values()),
            "s",
            mfc="none",
            ms=7,
            linestyle=":",
            lw=0.8,
            color=configuration_style(name)["color"],
        )
    if shown:
        ax.plot(
            [],
            [],
            "s",
            mfc="none",
            linestyle=":",
            color=REFERENCE_COLORS["reference"],
            label="paper, Tesla K40 (Table 8)",
        )
    _plain_log2_ticks(ax)
    _plain_log_y(ax)
    ax.set_xlabel("matrix dimension n (batch 1)")
    ax.set_ylabel("FP+BP time (ms)")
    ax.set_title(f"Fig. 2b live: FP+BP time vs n ({result['device']})", fontsize=9)
    ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.16))


def _forward_groups(names: Sequence[str]) -> Dict[str, List[str]]:
    """Configurations by forward method: their forward errors are the same numbers."""
    groups: Dict[str, List[str]] = {}
    for name in names:
        groups.setdefault(_CONFIGURATIONS[name].method, []).append(name)
    return groups


def plot_error_vs_dimension(
    ax,
    result: Mapping[str, object],
    *,
    error: str = "forward, relative",
    methods: Optional[Sequence[str]] = None,
    max_n: Optional[int] = None,
) -> None:
    """Fig. 2(c): error against ``n``; ``error`` is a key of :data:`ERROR_KINDS`.

    A forward error depends on the forward method only, so configurations sharing a forward are one
    curve (labelled with all of them); a gradient error is one curve per configuration.
    """
    if error not in ERROR_KINDS:
        raise ValueError(f"unknown error {error!r}; choose from {', '.join(ERROR_KINDS)}")
    ylabel, key = ERROR_KINDS[error]
    names = [k for k in result["errors"] if methods is None or k in methods]
    sizes = [n for n in result["sizes"] if max_n is None or n <= max_n]
    if key == "grad_rel_err":
        series = {name: (configuration_style(name), [name]) for name in names}
    else:
        series = {}
        for forward, group in _forward_groups(names).items():
            st = dict(forward_style(forward))
            labels = [configuration_label(k) for k in group]
            if labels != [st["label"]]:  # "MPA (MPA-Lya, MPA-adjoint)", but "NS" alone
                st["label"] = f"{st['label']} ({', '.join(labels)})"
            series[forward] = (st, group)
    tiny = 1e-12
    for st, group in series.values():
        ys = [max(result["errors"][group[0]][n][key], tiny) for n in sizes]
        ax.plot(sizes, ys, color=st["color"], marker=st["marker"], linestyle=st["linestyle"], label=st["label"])
    _plain_log2_ticks(ax)
    _plain_log_y(ax)
    ax.set_xlabel("matrix dimension n")
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_title(f"Fig. 2c live: {error} error vs n (float32, {ERROR_BATCH} matrices)", fontsize=9)
    ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.16))


def plot_counts(ax, counts: Dict[str, Dict[str, object]]) -> None:
    """Measured forward and backward matmuls per method (stacked), the paper's formula as black ticks."""
    names = list(counts)
    fw = [counts[k]["fw_matmul"] for k in names]
    bw = [counts[k]["bw_matmul"] for k in names]
    x = list(range(len(names)))
    colors = [configuration_style(k)["color"] for k in names]
    ax.bar(x, fw, color=colors, alpha=0.55, label="forward (measured)")
    ax.bar(x, bw, bottom=fw, color=colors, label="backward (measured)")
    for i, k in enumerate(names):
        pf, pb = counts[k]["paper_fw_matmul"], counts[k]["paper_bw_matmul"]
        if pf != "" and pb != "":
            ax.plot([i - 0.4, i + 0.4], [pf + pb] * 2, "k-", lw=2)
        extra = []
        if counts[k]["fw_solve"]:
            extra.append(f"+{counts[k]['fw_solve']} solve")
        if counts[k]["fw_eigh"]:
            extra.append(f"+{counts[k]['fw_eigh']} eigh")
        ax.annotate(
            f"{fw[i]}+{bw[i]}" + ("\n" + ", ".join(extra) if extra else ""),
            (i, fw[i] + bw[i]),
            ha="center",
            va="bottom",
            fontsize=7,
        )
    ax.plot([], [], "k-", lw=2, label="paper's total (Tables 1–2)")
    ax.set_xticks(x)
    ax.set_xticklabels([configuration_label(k) for k in names], rotation=20, fontsize=8)
    ax.set_ylabel("matmuls (one batched product = 1)")
    ax.set_title("matrix products of FP+BP, counted")
    ax.legend(loc="upper right", fontsize=7)
    ax.set_ylim(0, max(f + b for f, b in zip(fw, bw)) * 1.3 + 1)


# ---------------------------------------------------------------------------------------- widgets


def interactive_speed(
    *, n: Optional[int] = None, batch: Optional[int] = None, threads: Optional[int] = LIVE_THREADS
) -> InteractivePlot:
    """Sliders for ``n`` and the batch size, a device dropdown (GPU only when available): live FP+BP timing.

    Left: this machine (medians with IQR bars) beside the paper's K40 (where the paper has a number
    for that shape); right: every batch size visited so far at this ``n`` (Fig. 2a, drawn as you
    explore). A busy-machine note appears above the figure when the spread or the load is high.
    ``plot.data``: ``times`` (method -> TimingResult), ``paper`` (method -> ms), ``ratios``, ``note``,
    ``n``, ``batch``, ``device``.
    """
    import ipywidgets as widgets

    sizes = pick((16, 32, 48, 64, 96), (8, 16))
    batches = pick((1, 2, 4, 8, 16, 32, 64), (1, 2, 4))
    n = pick(64, 16) if n is None else n
    batch = pick(8, 2) if batch is None else batch
    controls = {
        "n": widgets.SelectionSlider(options=sizes, value=n, description="n", continuous_update=False),
        "batch": widgets.SelectionSlider(options=batches, value=batch, description="batch", continuous_update=False),
        "device": widgets.Dropdown(options=available_devices(), value="cpu", description="device"),
    }

    def draw(fig, n, batch, device):
        times = compute_timing(n, batch, device=device, threads=threads)
        note = busy_note({_label(k): v for k, v in times.items()}, device=device)
        ax1, ax2 = fig.subplots(1, 2)
        ratios = plot_timing(ax1, times, batch=batch, n=n, device=device, threads=threads)
        plot_visited(ax2, visited(n, device, threads=threads), n=n)
        draw_note(fig, note)
        return {
            "times": times,
            "paper": paper_reference(batch, n),
            "ratios": ratios,
            "note": note,
            "n": n,
            "batch": batch,
            "device": device,
        }

    return InteractivePlot(
        controls, draw, figsize=(10.0, 4.4), title="FP+BP time on this machine vs the paper's Tesla K40"
    )


def interactive_backward(
    *, n: Optional[int] = None, batch: Optional[int] = None, threads: Optional[int] = LIVE_THREADS
) -> InteractivePlot:
    """The paper's Fig. 1(d), live: sliders for ``n`` and the batch; BP time against ``T`` and the counted matmuls.

    Left: the backward time of the paper's Lyapunov solver (MPA-Lya), the optimally scaled one
    (MPA-Lya (scaled)) and NS differentiated through ``T`` iterations, against ``T``, with the exact
    adjoint (MPA-adjoint, no ``T``) as a level; right: the matmuls of the same backward passes,
    counted, with the paper's Table 2 formulas. ``plot.data``: :func:`compute_backward_vs_iterations`'s
    result.
    """
    import ipywidgets as widgets

    sizes = pick((16, 32, 48, 64), (8, 16))
    batches = pick((1, 4, 16), (1, 2, 4))
    n = pick(64, 16) if n is None else n
    batch = pick(4, 2) if batch is None else batch
    controls = {
        "n": widgets.SelectionSlider(options=sizes, value=n, description="n", continuous_update=False),
        "batch": widgets.SelectionSlider(options=batches, value=batch, description="batch", continuous_update=False),
    }

    def draw(fig, n, batch):
        result = compute_backward_vs_iterations(n, batch, threads=threads)
        ax1, ax2 = fig.subplots(1, 2)
        plot_backward_times(ax1, result)
        plot_backward_counts(ax2, result)
        draw_note(fig, result["note"])
        return result

    return InteractivePlot(
        controls, draw, figsize=(10.5, 5.6), title="Fig. 1(d) on this machine: backward time against iterations"
    )


def interactive_dimension(
    *, sizes: Optional[Sequence[int]] = None, threads: Optional[int] = LIVE_THREADS
) -> InteractivePlot:
    """The paper's Fig. 2(b) and 2(c), live: every size is measured once when the widget is built.

    Controls (all instant, they only redraw the measurement): the largest ``n`` shown, which
    configurations (:data:`METHOD_GROUPS`), and which error (:data:`ERROR_KINDS`). Left: FP+BP time
    (median, IQR bars) with the K40 Table 8 beside; right: the error. ``plot.data``:
    :func:`compute_dimension`'s result and the control values, ``note`` (the notes of the sizes shown).
    """
    import ipywidgets as widgets

    sizes = tuple(default_sizes() if sizes is None else sizes)
    result = compute_dimension(sizes, threads=threads)
    controls = {
        "max_n": widgets.SelectionSlider(
            options=sizes, value=sizes[-1], description="largest n", continuous_update=False
        ),
        "group": widgets.Dropdown(options=list(METHOD_GROUPS), value="all", description="methods"),
        "error": widgets.Dropdown(options=list(ERROR_KINDS), value="forward, relative", description="error"),
    }

    def draw(fig, max_n, group, error):
        chosen = METHOD_GROUPS[group]
        ax1, ax2 = fig.subplots(1, 2)
        plot_time_vs_dimension(ax1, result, methods=chosen, max_n=max_n)
        plot_error_vs_dimension(ax2, result, error=error, methods=chosen, max_n=max_n)
        notes = [result["notes"][n] for n in result["sizes"] if n <= max_n and result["notes"][n]]
        note = notes[-1] if notes else ""
        draw_note(fig, note)
        return dict(result, max_n=max_n, group=group, error=error, methods=chosen, note=note)

    return InteractivePlot(
        controls, draw, figsize=(10.5, 5.6), title="Fig. 2(b, c) on this machine: time and error against dimension"
    )


def interactive_counts(
    *, mtp_degree: int = 11, mpa_degree: int = 5, ns_iters: int = 5, lyapunov_iters: int = 8
) -> InteractivePlot:
    """Sliders for the MTP degree, MPA degree, NS and Lyapunov iterations: matmuls counted vs the paper's Tables 1–2.

    ``plot.data``: ``counts`` (as :func:`compute_counts`) and the slider values.
    """
    import ipywidgets as widgets

    controls = {
        "mtp_degree": widgets.IntSlider(value=mtp_degree, min=2, max=20, description="MTP K", continuous_update=False),
        "mpa_degree": widgets.IntSlider(
            value=mpa_degree, min=1, max=10, description="MPA [k/k]", continuous_update=False
        ),
        "ns_iters": widgets.IntSlider(value=ns_iters, min=2, max=10, description="NS T", continuous_update=False),
        "lyapunov_iters": widgets.IntSlider(
            value=lyapunov_iters, min=1, max=15, description="Lyap. T", continuous_update=False
        ),
    }

    def draw(fig, mtp_degree, mpa_degree, ns_iters, lyapunov_iters):
        counts = compute_counts(
            mtp_degree=mtp_degree, mpa_degree=mpa_degree, ns_iters=ns_iters, lyapunov_iters=lyapunov_iters
        )
        ax = fig.subplots()
        plot_counts(ax, counts)
        return {
            "counts": counts,
            "mtp_degree": mtp_degree,
            "mpa_degree": mpa_degree,
            "ns_iters": ns_iters,
            "lyapunov_iters": lyapunov_iters,
        }

    return InteractivePlot(
        controls, draw, figsize=(7.5, 4.0), title="Tables 1–2, measured: matmuls of forward + backward"
    )
