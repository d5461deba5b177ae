r"""Widgets of notebook 05: how fast is each method *on your machine*, and why.

The paper's speed claims (Song, Sebe & Wang, ICLR 2022 [1]_, Sec. 4.1, Fig. 2, Tables 1–4, 8) were
measured on a Tesla K40 GPU. Here the same FP+BP timing runs live on the reader's device (CPU, or
a GPU when torch sees one), beside the K40 numbers, and the operation counts of Tables 1–2 are
*measured* by instrumentation (:mod:`mathsqrt.counting`), not typed in.

Split as everywhere: ``compute_*`` (pure, cached), ``plot_*(ax, ...)`` and ``interactive_*()``
builders on :class:`~mathsqrt.paper.widgets._common.InteractivePlot`. Methods are the
configurations of the method table (:mod:`mathsqrt.methods`), keyed by name and shown by label;
time is measured as everywhere in the package (:func:`mathsqrt.paper.timing.time_functions`:
round-robin repeats, the median, CUDA events on a GPU); the paper's numbers come from
:mod:`mathsqrt.paper.data`.

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from mathsqrt import methods
from mathsqrt.counting import count_forward_backward
from mathsqrt.testing import random_covariance, random_gradient

from .. import data
from ..bench.methods import BenchMethod, configurations
from ..plotting import REFERENCE_COLORS, configuration_label, configuration_style
from ..timing import resolve_device, time_functions
from ._common import InteractivePlot, pick

__all__ = [
    "SPEED_METHODS",
    "TIME_BUDGET_S",
    "available_devices",
    "paper_reference",
    "compute_timing",
    "compute_counts",
    "format_counts_table",
    "format_paper_tables",
    "plot_timing",
    "plot_visited",
    "plot_counts",
    "interactive_speed",
    "interactive_counts",
]

#: The configurations timed live: every one of the table but the paper's baselines
#: (:func:`mathsqrt.paper.bench.methods.is_baseline`): MPA-Lya, MTP-Lya, NS, SVD (eigh
#: differentiated by autograd, Eq. 2) and eigh with the exact eigenbasis backward.
SPEED_METHODS: Tuple[str, ...] = tuple(m.name for m in configurations(baselines=False))

_CONFIGURATIONS = methods.CONFIGURATIONS

#: Seconds of timed repeats one slider update may spend (after one warm-up round); fewer repeats when slow.
TIME_BUDGET_S = 0.5


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


@lru_cache(maxsize=256)
def _timing_cached(
    names: Tuple[str, ...], n: int, batch: int, device: str, repeats: int, seed: int
) -> Tuple[Tuple[str, float], ...]:
    dev = resolve_device(device)
    A, G = _inputs(n, batch, seed=seed, device=dev)
    fns = {name: BenchMethod.configuration(name).fpbp(A, G) for name in names}
    res = time_functions(fns, device=dev, budget_s=TIME_BUDGET_S, min_repeats=1, max_repeats=max(1, repeats))
    return tuple((name, res[name].median) for name in names)


def compute_timing(
    n: int, batch: int, *, device: str = "cpu", methods: Sequence[str] = SPEED_METHODS, repeats: int = 5, seed: int = 0
) -> Dict[str, float]:
    r"""FP+BP time (median ms) of each configuration on ``batch`` random ``n×n`` covariances (float32).

    One call of :func:`mathsqrt.sqrtm` plus ``torch.autograd.grad`` per timed repeat, configurations
    interleaved round-robin after one warm-up round (:func:`mathsqrt.paper.timing.time_functions`), at
    most ``repeats`` and fewer when one round is slow (about :data:`TIME_BUDGET_S` seconds of repeats);
    CUDA events on a GPU. Results are cached per ``(methods, n, batch, device, repeats, seed)``: moving a
    slider back to a visited value costs nothing (and shows the first measurement again).

    Parameters
    ----------
    n, batch : int
        Shape of the input.
    device : str
        ``"cpu"`` or ``"cuda"``.
    methods : sequence of str
        Configuration names (:data:`mathsqrt.methods.CONFIGURATIONS`).
    repeats : int
        Most timed repeats.
    seed : int
        Of the input.

    Returns
    -------
    dict of str to float
        Configuration name -> median ms.
    """
    if int(n) < 2 or int(batch) < 1:
        raise ValueError(f"need n >= 2 and batch >= 1, got n={n}, batch={batch}")
    for name in methods:
        if name not in _CONFIGURATIONS:
            raise ValueError(f"unknown method {name!r}; choose from {', '.join(_CONFIGURATIONS)}")
    return dict(_timing_cached(tuple(methods), int(n), int(batch), str(device), int(repeats), int(seed)))


def visited(n: int, device: str = "cpu", methods: Sequence[str] = SPEED_METHODS) -> Dict[int, Dict[str, float]]:
    """Timings already measured (in the cache) at size ``n`` on ``device``, by batch size."""
    out: Dict[int, Dict[str, float]] = {}
    for key in list(_CACHE_KEYS):
        m, nn, batch, dev, repeats, seed = key
        if nn == n and dev == device and m == tuple(methods):
            out[batch] = dict(_timing_cached(*key))
    return dict(sorted(out.items()))


_CACHE_KEYS: List[tuple] = []


def _remember(methods, n, batch, device, repeats, seed) -> None:
    key = (tuple(methods), int(n), int(batch), str(device), int(repeats), int(seed))
    if key not in _CACHE_KEYS:
        _CACHE_KEYS.append(key)


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
        methods refuse these settings (:func:`mathsqrt.sqrtm` raises ``ValueError``, e.g. the adjoint
        backward above MPA ``[5/5]``) is left out.
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
        except ValueError:  # a method that refuses these settings (e.g. the adjoint backward above MPA [5/5])
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
        "| backward matmuls (measured / paper) |",
        "|---|---|---|---|---|",
    ]
    for name, r in counts.items():
        paper_fw = "–" if r["paper_fw_matmul"] == "" else r["paper_fw_matmul"]
        paper_bw = "–" if r["paper_bw_matmul"] == "" else r["paper_bw_matmul"]
        other = f"{r['fw_solve']}, {r['fw_cholesky']}, {r['fw_eigh']}"
        lines.append(
            f"| {configuration_label(name)} | {r['setting']} | {r['fw_matmul']} / {paper_fw} | {other} "
            f"| {r['bw_matmul']} / {paper_bw} |"
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


def plot_timing(ax, times: Dict[str, float], *, batch: int, n: int, device: str = "cpu") -> Dict[str, float]:
    """Bars: your FP+BP ms per method; hollow bars: the K40 value of the paper at the same shape, if any.

    ``times`` is keyed by configuration name (bars are labelled and coloured by the method table).
    Returns the speed ratios ``{"ns/mpa-lya": ..., "svd/mpa-lya": ...}`` of the measured times to the
    paper's method (:data:`mathsqrt.paper.data.PROPOSED`).
    """
    names = list(times)
    paper = paper_reference(batch, n)
    x = range(len(names))
    ax.bar(
        [i - 0.2 for i in x],
        [times[k] for k in names],
        width=0.4,
        color=[configuration_style(k)["color"] for k in names],
        label=f"this {device}",
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
        ax.annotate(f"{times[k]:.2f}", (i - 0.2, times[k]), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(list(x))
    ax.set_xticklabels([configuration_label(k) for k in names], rotation=20, fontsize=8)
    ax.set_ylabel("FP+BP time (ms)")
    ax.set_title(f"{batch}×{n}×{n}, float32, {device}")
    ax.legend(loc="upper left")
    ref = times.get(data.PROPOSED)
    return {f"{k}/{data.PROPOSED}": times[k] / ref for k in names if ref and k != data.PROPOSED}


def plot_visited(ax, points: Dict[int, Dict[str, float]], *, n: int) -> None:
    """FP+BP time against batch size through every batch size measured so far at this ``n`` (paper Fig. 2a)."""
    batches = list(points)
    names: List[str] = []
    for values in points.values():
        names += [k for k in values if k not in names]
    for name in names:
        xs = [b for b in batches if name in points[b]]
        ax.plot(xs, [points[b][name] for b in xs], **configuration_style(name))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size (points you have visited)")
    ax.set_ylabel("FP+BP time (ms)")
    ax.set_title(f"Fig. 2a on this machine, n = {n}")
    if names:
        ax.legend(fontsize=7)


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
    *, n: Optional[int] = None, batch: Optional[int] = None, repeats: Optional[int] = None
) -> InteractivePlot:
    """Sliders for ``n`` and the batch size, a device dropdown (GPU only when available): live FP+BP timing.

    Left: this machine beside the paper's K40 (where the paper has a number for that shape); right:
    every batch size visited so far at this ``n`` (Fig. 2a, drawn as you explore). ``plot.data``:
    ``times`` (method -> ms), ``paper`` (method -> ms), ``ratios``, ``n``, ``batch``, ``device``.
    """
    import ipywidgets as widgets

    sizes = pick((16, 32, 48, 64, 96, 128), (8, 16))
    batches = pick((1, 2, 4, 8, 16, 32, 64), (1, 2, 4))
    n = pick(64, 16) if n is None else n
    batch = pick(16, 2) if batch is None else batch
    repeats = pick(5, 3) if repeats is None else repeats
    controls = {
        "n": widgets.SelectionSlider(options=sizes, value=n, description="n", continuous_update=False),
        "batch": widgets.SelectionSlider(options=batches, value=batch, description="batch", continuous_update=False),
        "device": widgets.Dropdown(options=available_devices(), value="cpu", description="device"),
    }

    def draw(fig, n, batch, device):
        times = compute_timing(n, batch, device=device, repeats=repeats)
        _remember(SPEED_METHODS, n, batch, device, repeats, 0)
        ax1, ax2 = fig.subplots(1, 2)
        ratios = plot_timing(ax1, times, batch=batch, n=n, device=device)
        plot_visited(ax2, {b: v for b, v in visited(n, device).items()}, n=n)
        return {
            "times": times,
            "paper": paper_reference(batch, n),
            "ratios": ratios,
            "n": n,
            "batch": batch,
            "device": device,
        }

    return InteractivePlot(
        controls, draw, figsize=(10.0, 4.0), title="FP+BP time on this machine vs the paper's Tesla K40"
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
