r"""Widgets of notebook 05: how fast is each method *on your machine*, and why.

The paper's speed claims (Song, Sebe & Wang, ICLR 2022 [1]_, Sec. 4.1, Fig. 2, Tables 1–4, 8) were
measured on a Tesla K40 GPU. Here the same FP+BP timing runs live on the reader's device (CPU, or
a GPU when torch sees one), beside the K40 numbers, and the operation counts of Tables 1–2 are
*measured* by instrumentation (:mod:`mathsqrt.counting`), not typed in.

Split as everywhere: ``compute_*`` (pure, cached), ``plot_*(ax, ...)`` and ``interactive_*()``
builders on :class:`~mathsqrt.paper.widgets._common.InteractivePlot`. Timing reuses the benchmark's
machinery (:mod:`mathsqrt.paper.bench`): round-robin repeats, medians, CUDA events on a GPU.

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from ..bench.methods import BenchMethod, method_color
from ..bench.sweeps import BenchConfig, fpbp_callable, make_inputs, paper_counts
from ..bench.timing import make_timer, resolve_device, time_round_robin
from mathsqrt.counting import count_forward_backward
from ._common import InteractivePlot, pick

__all__ = [
    "SPEED_METHODS",
    "PAPER_K40",
    "PAPER_BATCH64_SPEEDUP",
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

#: The methods timed live: the paper's four (with "SVD" = eigh differentiated by autograd, Eq. 2)
#: and the exact eigenbasis backward of mathsqrt.
SPEED_METHODS: Tuple[str, ...] = ("MPA-Lya", "MTP-Lya", "NS", "eigh-autograd", "eigh-exact")

_SPECS = {
    "MPA-Lya": ("mpa", "lyapunov"),
    "MTP-Lya": ("mtp", "lyapunov"),
    "NS": ("ns", "autograd"),
    "eigh-autograd": ("eigh", "autograd"),
    "eigh-exact": ("eigh", "eigh"),
}

#: FP+BP milliseconds on a Tesla K40 ([1]_, Table 3 at 1×64×64, Table 4 at 64×48×48, Table 8 at
#: 1×n×n), keyed by ``(batch, n)``; "SVD" rows of the paper are listed under ``eigh-autograd``'s
#: closest relatives (SVD-Taylor/-Padé/-PI are the paper's stabilised SVD backwards).
PAPER_K40: Dict[Tuple[int, int], Dict[str, float]] = {
    (1, 64): {"SVD-PI": 3.49, "SVD-Taylor": 3.41, "SVD-Pade": 3.39, "NS": 2.96, "MPA-Lya": 2.52, "MTP-Lya": 2.36},
    (64, 48): {"PI": 1.84, "SVD-PI": 83.43, "SVD-Taylor": 83.29, "SVD-Pade": 83.25, "NS": 10.38, "MPA-Lya": 3.25, "MTP-Lya": 2.39},
    (1, 256): {"MTP-Lya": 4.88, "MPA-Lya": 5.56, "NS": 6.28},
    (1, 512): {"MTP-Lya": 5.43, "MPA-Lya": 7.47, "NS": 9.86},
    (1, 1024): {"MTP-Lya": 7.32, "MPA-Lya": 11.28, "NS": 12.69},
    (256, 256): {"MPA-Lya": 110.61, "NS": 164.43},
}

#: [1]_ Sec. 4.1.3, batch 64 of 64×64: how many times faster MPA-Lya / MTP-Lya are than NS and SVD.
PAPER_BATCH64_SPEEDUP = {"MPA-Lya": {"NS": 2.58, "SVD": 27.25}, "MTP-Lya": {"NS": 5.82, "SVD": 61.32}}


def available_devices() -> List[str]:
    """``["cpu"]``, plus ``"cuda"`` when torch sees a GPU."""
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def paper_reference(batch: int, n: int) -> Dict[str, float]:
    """The K40 FP+BP times (ms) the paper reports for ``batch × n × n``, or ``{}`` when it reports none."""
    return dict(PAPER_K40.get((int(batch), int(n)), {}))


def _method(name: str) -> BenchMethod:
    if name not in _SPECS:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(_SPECS)}")
    method, backward = _SPECS[name]
    return BenchMethod(name, method, backward)


#: Seconds of timed repeats one slider update may spend (after one warm-up round); fewer repeats when slow.
TIME_BUDGET_S = 0.5


@lru_cache(maxsize=256)
def _timing_cached(methods: Tuple[str, ...], n: int, batch: int, device: str, repeats: int, seed: int) -> Tuple[Tuple[str, float], ...]:
    import time

    cfg = BenchConfig(device=resolve_device(device), seed=seed)
    A, _, G, _ = make_inputs(cfg, n, batch)
    fns = {name: fpbp_callable(_method(name), A, G) for name in methods}
    start = time.perf_counter()
    for fn in fns.values():  # warm-up round, which also prices one round
        fn()
    per_round = max(time.perf_counter() - start, 1e-6)
    repeats = max(1, min(repeats, int(TIME_BUDGET_S / per_round)))
    res = time_round_robin(fns, timer=make_timer(cfg.device), repeats=repeats, warmup=0)
    return tuple((name, res[name].median) for name in methods)


def compute_timing(
    n: int, batch: int, *, device: str = "cpu", methods: Sequence[str] = SPEED_METHODS, repeats: int = 5, seed: int = 0
) -> Dict[str, float]:
    r"""FP+BP time (median ms) of each method on ``batch`` random ``n×n`` covariances (float32).

    One call of :func:`mathsqrt.sqrtm` plus ``torch.autograd.grad`` per timed repeat, methods
    interleaved round-robin after one warm-up call each (:func:`mathsqrt.paper.bench.time_round_robin`), at most
    ``repeats`` and fewer when one round is slow (about :data:`TIME_BUDGET_S` seconds of repeats);
    CUDA events on a GPU. Results are cached per ``(methods, n, batch, device, repeats, seed)``: moving a
    slider back to a visited value costs nothing (and shows the first measurement again).

    Returns
    -------
    dict of str to float
    """
    if int(n) < 2 or int(batch) < 1:
        raise ValueError(f"need n >= 2 and batch >= 1, got n={n}, batch={batch}")
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


@lru_cache(maxsize=64)
def _counts_cached(name: str, degree, iters, backward_iters) -> Tuple[Tuple[str, int], ...]:
    method, backward = _SPECS[name]
    options = {}
    if degree is not None:
        options["degree"] = degree
    if iters is not None:
        options["iters"] = iters
    if backward_iters is not None and backward == "lyapunov":
        options["backward_iters"] = backward_iters
    from mathsqrt import api

    cfg = BenchConfig()
    A, _, G, _ = make_inputs(cfg, 6, 2, dtype=torch.float64)
    fw, bw = count_forward_backward(lambda X: api.sqrtm(X, method=method, backward=backward, check_finite=False, **options), A, G)
    keys = ("matmul", "cholesky", "solve", "triangular_solve", "eigh")
    return tuple([(f"fw_{k}", fw[k]) for k in keys] + [(f"bw_{k}", bw[k]) for k in keys])


def compute_counts(*, mtp_degree: int = 11, mpa_degree: int = 5, ns_iters: int = 5, lyapunov_iters: int = 8) -> Dict[str, Dict[str, object]]:
    r"""Matrix operations of each method's forward and backward pass, counted at the ATen dispatcher.

    The paper's Tables 1–2 by measurement: every ``mm``/``bmm``/``baddbmm`` counts as one (batched)
    matmul, whoever calls it (mathsqrt or autograd). Beside each count, the paper's formula
    (:func:`mathsqrt.paper.bench.paper_counts`): MTP ``K - 1``, MPA ``(K-1)/2`` + 1 inverse with
    ``K = 2k + 1``, NS ``3T`` forward and ``4 + 10T`` backward, Lyapunov ``6T``.

    Returns
    -------
    dict
        ``method -> {"fw_matmul", "fw_solve", "fw_cholesky", "fw_eigh", "bw_matmul", ..., "paper_fw_matmul",
        "paper_fw_inverse", "paper_bw_matmul", "setting"}``.
    """
    settings = {
        "MPA-Lya": dict(degree=(mpa_degree, mpa_degree), iters=None, backward_iters=lyapunov_iters),
        "MTP-Lya": dict(degree=mtp_degree, iters=None, backward_iters=lyapunov_iters),
        "NS": dict(degree=None, iters=ns_iters, backward_iters=None),
        "eigh-autograd": dict(degree=None, iters=None, backward_iters=None),
        "eigh-exact": dict(degree=None, iters=None, backward_iters=None),
    }
    out: Dict[str, Dict[str, object]] = {}
    for name, s in settings.items():
        row: Dict[str, object] = dict(_counts_cached(name, s["degree"], s["iters"], s["backward_iters"]))
        method, backward = _SPECS[name]
        row.update(paper_counts(method, degree=s["degree"], iters=s["iters"], backward=backward, backward_iters=lyapunov_iters))
        row["setting"] = {"MPA-Lya": f"[{mpa_degree}/{mpa_degree}], T={lyapunov_iters}", "MTP-Lya": f"K={mtp_degree}, T={lyapunov_iters}",
                          "NS": f"T={ns_iters}"}.get(name, "")
        out[name] = row
    return out


def format_counts_table(counts: Dict[str, Dict[str, object]]) -> str:
    """Markdown table of :func:`compute_counts`: measured vs the paper, forward and backward."""
    lines = [
        "| method | setting | forward matmuls (measured / paper) | forward solves, Cholesky, eigh | backward matmuls (measured / paper) |",
        "|---|---|---|---|---|",
    ]
    for name, r in counts.items():
        paper_fw = "–" if r["paper_fw_matmul"] == "" else r["paper_fw_matmul"]
        paper_bw = "–" if r["paper_bw_matmul"] == "" else r["paper_bw_matmul"]
        other = f"{r['fw_solve']}, {r['fw_cholesky']}, {r['fw_eigh']}"
        lines.append(f"| {name} | {r['setting']} | {r['fw_matmul']} / {paper_fw} | {other} | {r['bw_matmul']} / {paper_bw} |")
    return "\n".join(lines)


def format_paper_tables() -> str:
    """Markdown of the paper's K40 timings (ms, FP+BP) for side-by-side reading."""
    lines = ["| input | " + " | ".join(("MTP-Lya", "MPA-Lya", "NS", "SVD-Taylor", "SVD-Pade", "SVD-PI", "PI")) + " | source |", "|---|" + "---:|" * 7 + "---|"]
    sources = {(1, 64): "Table 3", (64, 48): "Table 4", (1, 256): "Table 8", (1, 512): "Table 8", (1, 1024): "Table 8", (256, 256): "Table 9"}
    for (b, n), values in PAPER_K40.items():
        cells = [f"{values[k]:.2f}" if k in values else "" for k in ("MTP-Lya", "MPA-Lya", "NS", "SVD-Taylor", "SVD-Pade", "SVD-PI", "PI")]
        lines.append(f"| {b}×{n}×{n} | " + " | ".join(cells) + f" | {sources[(b, n)]} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ plots


def plot_timing(ax, times: Dict[str, float], *, batch: int, n: int, device: str = "cpu") -> Dict[str, float]:
    """Bars: your FP+BP ms per method; hollow bars: the K40 value of the paper at the same shape, if any.

    Returns the speed ratios ``{"NS/MPA-Lya", "eigh-autograd/MPA-Lya", ...}`` of the measured times.
    """
    names = list(times)
    paper = paper_reference(batch, n)
    x = range(len(names))
    ax.bar([i - 0.2 for i in x], [times[k] for k in names], width=0.4, color=[method_color(k) for k in names], label=f"this {device}")
    px = [(i + 0.2, paper[k]) for i, k in enumerate(names) if k in paper]
    if px:
        ax.bar([p[0] for p in px], [p[1] for p in px], width=0.4, fill=False, edgecolor="#555555", hatch="//", label="paper, Tesla K40")
    for i, k in enumerate(names):
        ax.annotate(f"{times[k]:.2f}", (i - 0.2, times[k]), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(list(x))
    ax.set_xticklabels(names, rotation=20, fontsize=8)
    ax.set_ylabel("FP+BP time (ms)")
    ax.set_title(f"{batch}×{n}×{n}, float32, {device}")
    ax.legend(loc="upper left")
    ref = times.get("MPA-Lya")
    return {f"{k}/MPA-Lya": times[k] / ref for k in names if ref and k != "MPA-Lya"}


def plot_visited(ax, points: Dict[int, Dict[str, float]], *, n: int) -> None:
    """FP+BP time against batch size through every batch size measured so far at this ``n`` (paper Fig. 2a)."""
    batches = list(points)
    names: List[str] = []
    for values in points.values():
        names += [k for k in values if k not in names]
    for name in names:
        xs = [b for b in batches if name in points[b]]
        ax.plot(xs, [points[b][name] for b in xs], marker="o", color=method_color(name), ls="--" if name == "eigh-exact" else "-", label=name)
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
    ax.bar(x, fw, color=[method_color(k) for k in names], alpha=0.55, label="forward (measured)")
    ax.bar(x, bw, bottom=fw, color=[method_color(k) for k in names], label="backward (measured)")
    for i, k in enumerate(names):
        pf, pb = counts[k]["paper_fw_matmul"], counts[k]["paper_bw_matmul"]
        if pf != "" and pb != "":
            ax.plot([i - 0.4, i + 0.4], [pf + pb] * 2, "k-", lw=2)
        extra = []
        if counts[k]["fw_solve"]:
            extra.append(f"+{counts[k]['fw_solve']} solve")
        if counts[k]["fw_eigh"]:
            extra.append(f"+{counts[k]['fw_eigh']} eigh")
        ax.annotate(f"{fw[i]}+{bw[i]}" + ("\n" + ", ".join(extra) if extra else ""), (i, fw[i] + bw[i]), ha="center", va="bottom", fontsize=7)
    ax.plot([], [], "k-", lw=2, label="paper's total (Tables 1–2)")
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=20, fontsize=8)
    ax.set_ylabel("matmuls (one batched product = 1)")
    ax.set_title("matrix products of FP+BP, counted")
    ax.legend(loc="upper right", fontsize=7)
    ax.set_ylim(0, max(f + b for f, b in zip(fw, bw)) * 1.3 + 1)


# ---------------------------------------------------------------------------------------- widgets


def interactive_speed(*, n: Optional[int] = None, batch: Optional[int] = None, repeats: Optional[int] = None) -> InteractivePlot:
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
        return {"times": times, "paper": paper_reference(batch, n), "ratios": ratios, "n": n, "batch": batch, "device": device}

    return InteractivePlot(controls, draw, figsize=(10.0, 4.0), title="FP+BP time on this machine vs the paper's Tesla K40")


def interactive_counts(*, mtp_degree: int = 11, mpa_degree: int = 5, ns_iters: int = 5, lyapunov_iters: int = 8) -> InteractivePlot:
    """Sliders for the MTP degree, MPA degree, NS and Lyapunov iterations: matmuls counted vs the paper's Tables 1–2.

    ``plot.data``: ``counts`` (as :func:`compute_counts`) and the slider values.
    """
    import ipywidgets as widgets

    controls = {
        "mtp_degree": widgets.IntSlider(value=mtp_degree, min=2, max=20, description="MTP K", continuous_update=False),
        "mpa_degree": widgets.IntSlider(value=mpa_degree, min=1, max=10, description="MPA [k/k]", continuous_update=False),
        "ns_iters": widgets.IntSlider(value=ns_iters, min=2, max=10, description="NS T", continuous_update=False),
        "lyapunov_iters": widgets.IntSlider(value=lyapunov_iters, min=1, max=15, description="Lyap. T", continuous_update=False),
    }

    def draw(fig, mtp_degree, mpa_degree, ns_iters, lyapunov_iters):
        counts = compute_counts(mtp_degree=mtp_degree, mpa_degree=mpa_degree, ns_iters=ns_iters, lyapunov_iters=lyapunov_iters)
        ax = fig.subplots()
        plot_counts(ax, counts)
        return {"counts": counts, "mtp_degree": mtp_degree, "mpa_degree": mpa_degree, "ns_iters": ns_iters, "lyapunov_iters": lyapunov_iters}

    return InteractivePlot(controls, draw, figsize=(7.5, 4.0), title="Tables 1–2, measured: matmuls of forward + backward")
