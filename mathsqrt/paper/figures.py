r"""Regenerate every figure in ``figures/``: ``python -m mathsqrt.paper.figures``.

Each figure has one generator in :data:`GENERATORS` (``name -> function(ctx) -> Figure``) and is
written as ``figures/<name>.png`` and ``figures/<name>.svg``. All figures share the style of
:mod:`mathsqrt.paper.plotting` and are drawn pyplot-free with the Agg canvas.

Two kinds of figures:

- **Exact/deterministic** (Fig. 1a, Fig. 4, Padé poles, the :math:`\det Q` minima with the
  paper's erratum, the SVD gradient explosion): fixed seeds, no timing, byte-identical on rerun
  (PNG without ``Software`` metadata, SVG without ``Date`` and with a fixed ``svg.hashsalt``).
  Where a notebook widget module draws the same picture, its ``plot_*`` function is called, so the
  notebooks and ``figures/`` share one source of truth.
- **From the benchmark** (Fig. 1c, 1d, 2a–c, Table 6, the headline figure, ...): read the CSV files
  of ``python -m mathsqrt.paper.bench`` in ``--bench-dir`` (default ``results/bench``). A missing
  CSV is an error naming the command that writes it; ``--run-missing`` runs those sweeps instead, in
  ``--quick`` mode. Each such figure's subtitle names the machine, the date and whether the run was
  ``--quick``. They change when the benchmark is rerun, by design.

Methods are named, coloured and labelled by the method table (:mod:`mathsqrt.methods`, through
:mod:`mathsqrt.paper.plotting`); the paper's numbers come from :mod:`mathsqrt.paper.data`.

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import data
from .plotting import REFERENCE_COLORS, backward_style, configuration_style, forward_style, new_figure, style

__all__ = ["GENERATORS", "BENCH_FIGURES", "FigureContext", "save_figure", "figure_to_svg", "generate", "main"]

DEFAULT_OUT = Path("figures")
DEFAULT_BENCH = Path("results") / "bench"


class FigureContext:
    """What generators need: the benchmark folder, read on demand.

    Parameters
    ----------
    bench_dir : Path
        Folder of the benchmark's CSV files and ``metadata.json``.
    run_missing : bool
        Run a sweep whose CSV is missing (``--quick``) instead of raising. Off by default: a figure
        never starts a benchmark unless asked to.
    progress : bool
        Progress bars for such runs.
    """

    def __init__(self, bench_dir: Path = DEFAULT_BENCH, *, run_missing: bool = False, progress: bool = False) -> None:
        self.bench_dir = Path(bench_dir)
        self.run_missing = run_missing
        self.progress = progress
        self._cache: Dict[str, List[dict]] = {}

    def bench(self, sweep: str) -> List[dict]:
        """Rows of ``<bench_dir>/<sweep>.csv``, numbers parsed.

        Raises
        ------
        FileNotFoundError
            The CSV is missing (and ``run_missing`` is false); the message names the command that writes it.
        """
        if sweep in self._cache:
            return self._cache[sweep]
        path = self.bench_dir / f"{sweep}.csv"
        if not path.exists():
            if not self.run_missing:
                raise FileNotFoundError(
                    f"{path} is missing: run `python -m mathsqrt.paper.bench --sweeps {sweep} --out {self.bench_dir}` "
                    "first (or pass --run-missing to python -m mathsqrt.paper.figures to run it --quick)"
                )
            from .bench import BenchConfig, run

            run(
                BenchConfig(quick=True, repeats=5, min_repeats=2, warmup=1, budget_s=0.2),
                [sweep],
                self.bench_dir,
                progress=self.progress,
                argv=["--quick", "--sweeps", sweep],
            )
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [{k: _parse(v) for k, v in row.items()} for row in csv.DictReader(fh)]
        self._cache[sweep] = rows
        return rows

    def source(self, sweep: str) -> str:
        """One line naming where the numbers of ``sweep`` come from (machine, date, quick or default)."""
        self.bench(sweep)
        try:
            meta = json.loads((self.bench_dir / "metadata.json").read_text())
        except (OSError, ValueError):
            meta = {}
        run = meta.get("runs", {}).get(sweep, {})
        kind = "quick run" if run.get("quick", meta.get("quick")) else "default run"
        date = str(run.get("date_utc", meta.get("date_utc", "?")))[:10]
        threads = meta.get("torch_threads", "?")
        machine = f"{meta.get('device_name', '?')}, {threads} threads, torch {meta.get('torch_version', '?')}"
        return f"{machine}; python -m mathsqrt.paper.bench ({kind}, {date})"


def _parse(value: str):
    if value == "":
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    if value in ("True", "False"):
        return value == "True"
    return value


def _series(rows) -> List[Tuple[str, str]]:
    """``(label, method)`` of every series of benchmark rows, in order of first appearance."""
    out: List[Tuple[str, str]] = []
    for r in rows:
        key = (r["label"], r["method"])
        if key not in out:
            out.append(key)
    return out


def _line_style(method: str, label: str) -> Dict[str, str]:
    """The table's style of ``method`` under ``label``; a variant (another label) is dotted."""
    st = configuration_style(method)
    if label != st["label"]:
        st["linestyle"] = ":"
    st["label"] = label
    return st


def _subtitle(fig, text: str) -> None:
    fig.text(0.5, -0.01, text, ha="center", va="top", fontsize=7, color="#555555")


# ----------------------------------------------------------------------------------- exact figures


def fig1a_sqrt_and_whitening(ctx: FigureContext):
    """Paper Fig. 1a: 2-D data, its square-root normalisation and its whitening."""
    from .widgets.intro import plot_figure_1a

    fig, axes = new_figure(10.5, 3.6, 1, 3)
    plot_figure_1a(list(axes), seed=0)
    fig.suptitle("Fig. 1a — the matrix square root and inverse square root acting on 2-D data")
    return fig


def fig4_taylor_pade(ctx: FigureContext):
    """Paper Fig. 4: :math:`\\sqrt{1-z}` on :math:`|z| < 1`, its Taylor polynomial and Padé approximant."""
    from .widgets.approximation import plot_approximations, plot_relative_errors

    fig, axes = new_figure(10.5, 4.0, 1, 2)
    plot_approximations(axes[0], 5)
    plot_relative_errors(axes[1], 5)
    fig.suptitle(r"Fig. 4 — $(1-z)^{1/2}$, Taylor degree 10 and Padé [5/5] (same 11 coefficients)")
    return fig


def pade_poles(ctx: FigureContext):
    """Poles of the diagonal Padé approximants [K/K], K = 3..6: all real, beyond z = 1."""
    from .widgets.approximation import plot_poles_zeros

    fig, axes = new_figure(10.5, 6.0, 2, 2)
    for ax, K in zip(np.ravel(axes), (3, 4, 5, 6)):
        plot_poles_zeros(ax, K)
    fig.suptitle(
        r"Poles $z_j = \sec^2(j\pi/(2K+1)) > 1$ of Padé [K/K] of $\sqrt{1-z}$: none meets the spectrum $[0,1)$ of $Z$"
    )
    return fig


def pade_denominator_minima(ctx: FigureContext):
    """The minimum of :math:`Q_K` on [0, 1] (det Q(Z) > 0), exact vs the paper's appendix A.12 (erratum)."""
    from .widgets.approximation import compute_denominator_table, plot_denominator

    fig, axes = new_figure(11.0, 4.4, 1, 2)
    plot_denominator(axes[0], 5)
    rows = compute_denominator_table((3, 4, 5, 6))
    ax = axes[1]
    ax.axis("off")
    cells = []
    for r in rows:
        quoted = "–" if r["min_quoted"] is None else f"{r['min_quoted']:g}"
        wrong = "; ".join(f"q{k}: {p:g} → {e}" for k, p, e in r["mismatches"]) or "none"
        cells.append([str(r["K"]), f"{r['min_exact']}", f"{float(r['min_exact']):.10g}", quoted, wrong])
    table = ax.table(
        cellText=cells,
        colLabels=["K", "exact min Q_K(1)", "decimal", "paper A.12", "misprinted q"],
        loc="center",
        cellLoc="center",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1.0, 1.6)
    for (_, col), cell in table.get_celld().items():
        cell.set_width([0.07, 0.2, 0.2, 0.15, 0.38][col])
    K, k, printed, exact = data.PADE_ERRATUM
    ax.set_title(
        "minimum of $Q_K$ on $[0,1]$ = $(2K+1)/4^K$ (exact, mathsqrt.coefficients)\n"
        f"erratum: the paper's {data.PADE_MINIMA[K]:g} (K = {K}) comes from the misprint "
        f"q{K}[{k}] = {printed:g} (exact {exact})",
        fontsize=9,
    )
    fig.suptitle(r"$\det Q(Z) = \prod_i Q(z_i) > 0$: the MPA denominator is never singular")
    return fig


def svd_gradient_explosion(ctx: FigureContext):
    """Gradient of the eigh/SVD backwards as two eigenvalues merge.

    From :func:`mathsqrt.paper.studies.degenerate.gradient_vs_gap`.
    """
    from .studies.degenerate import gradient_vs_gap

    gaps = tuple(10.0**-k for k in range(1, 9))
    rows = gradient_vs_gap(gaps + (0.0,), n=64, seed=0)
    fig, axes = new_figure(11.0, 4.3, 1, 2)
    names = list(dict.fromkeys(r["method"] for r in rows))
    labels = {name: configuration_style(name)["label"] for name in names}
    for name in names:
        st = configuration_style(name)
        sel = [r for r in rows if r["method"] == name and r["dtype"] == "float64" and r["gap"] > 0]
        axes[0].loglog(
            [r["gap"] for r in sel],
            [r["max_factor"] for r in sel],
            marker=st["marker"],
            ls="-",
            color=st["color"],
            label=labels[name],
        )
        for dtype, ls in (("float32", "-"), ("float64", ":")):
            sel = [r for r in rows if r["method"] == name and r["dtype"] == dtype and r["gap"] > 0]
            ok = [r for r in sel if not r["nan"]]
            axes[1].loglog(
                [r["gap"] for r in ok],
                [max(r["error"], 1e-17) for r in ok],
                marker=st["marker"],
                ls=ls,
                ms=3,
                color=st["color"],
                label=labels[name] if dtype == "float32" else None,
            )
    axes[0].set_xlabel("relative gap between two eigenvalues")
    axes[0].set_ylabel(r"largest factor multiplying $U^T\,\partial l/\partial U$")
    axes[0].set_title(r"$K_{ij} = 1/(\lambda_i - \lambda_j)$ explodes; the remedies cap it")
    axes[0].invert_xaxis()
    axes[0].legend(fontsize=7)
    axes[1].plot([], [], "k-", label="float32")
    axes[1].plot([], [], "k:", label="float64")
    axes[1].set_xlabel("relative gap between two eigenvalues")
    axes[1].set_ylabel("relative error of the gradient")
    axes[1].set_title("gradient error vs the exact (float64 eigenbasis)")
    axes[1].invert_xaxis()
    axes[1].legend(fontsize=7, ncol=2)
    tie = sorted({labels[r["method"]] + f" ({r['dtype']})" for r in rows if r["gap"] == 0 and r["nan"]})
    _subtitle(
        fig,
        "64×64, rest of the spectrum of condition 10, loss <G, A^(1/2)> with random symmetric G "
        "(mathsqrt.paper.studies.degenerate). "
        + ("NaN at an exact tie: " + ", ".join(tie) if tie else "No NaN at an exact tie."),
    )
    fig.suptitle("The SVD gradient explosion (paper Sec. 1, Eq. 2) and the baselines that tame it")
    return fig


# ------------------------------------------------------------------------------- benchmark figures


def fig1c_forward_error_vs_time(ctx: FigureContext):
    """Paper Fig. 1c: forward error against forward time (MTP/MPA degree 6–18, NS 3–7 iterations)."""
    rows = ctx.bench("forward")
    from .widgets.forward import plot_error_vs_time

    fig, ax = new_figure(6.8, 4.4)
    converted = []
    for r in rows:
        setting = None
        if r["forward"] == "mtp":
            setting = r["degree"]
        elif r["forward"] == "mpa":
            setting = int(str(r["degree"]).split("/")[0])
        elif r["forward"] == "ns":
            setting = r["iters"]
        converted.append(
            {"method": r["forward"], "setting": setting, "seconds": r["time_ms"] / 1e3, "error": r["rel_err"]}
        )
    plot_error_vs_time(ax, converted)
    ax.set_xlabel("forward time per batch (ms)")
    r0 = rows[0]
    ax.set_title(f"Fig. 1c — forward error vs time ({r0['batch']}×{r0['n']}×{r0['n']} covariances, {r0['dtype']})")
    _subtitle(fig, ctx.source("forward"))
    return fig


def fig1d_backward_time_vs_iterations(ctx: FigureContext):
    """Paper Fig. 1d: backward time vs iterations, Lyapunov solver vs NS iteration."""
    rows = ctx.bench("backward")
    fig, ax = new_figure(6.4, 4.2)
    for name in dict.fromkeys(r["method"] for r in rows):
        st = configuration_style(name)
        sel = [r for r in rows if r["method"] == name]
        what = backward_style(sel[0]["backward"])["label"]
        ax.plot(
            [r["iterations"] for r in sel],
            [r["time_ms"] for r in sel],
            marker=st["marker"],
            ls=st["linestyle"],
            color=st["color"],
            label=f"{st['label']}: backward {what}, T iterations",
        )
    ax.set_xlabel("iterations")
    ax.set_ylabel("backward time (ms)")
    r0 = rows[0]
    ax.set_title(f"Fig. 1d — backward time vs iterations ({r0['batch']}×{r0['n']}×{r0['n']})")
    ax.legend()
    _subtitle(fig, ctx.source("backward"))
    return fig


def _plot_time_vs(ax, rows: List[dict], x: str, *, logx: bool = True) -> None:
    for label, name in _series(rows):
        sel = [r for r in rows if r["label"] == label and r.get("time_ms") is not None]
        ax.plot([r[x] for r in sel], [r["time_ms"] for r in sel], **_line_style(name, label))
    if logx:
        ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_ylabel("FP+BP time (ms)")
    ax.legend(ncol=2)


def fig2a_time_vs_batch(ctx: FigureContext):
    """Paper Fig. 2a: FP+BP time vs batch size at 64×64, and one batched matmul for scale."""
    rows = ctx.bench("batch")
    fig, ax = new_figure(6.8, 4.4)
    _plot_time_vs(ax, rows, "batch")
    mm = {}
    for r in rows:
        mm[r["batch"]] = r["matmul_ms"]
    ax.plot(list(mm), list(mm.values()), "k:", lw=1.0, label="one batched matmul")
    ax.legend(ncol=2)
    ax.set_xlabel("batch size")
    ax.set_title("Fig. 2a — FP+BP time vs batch size (64×64)")
    _subtitle(fig, ctx.source("batch"))
    return fig


def fig2b_time_vs_dimension(ctx: FigureContext):
    """Paper Fig. 2b and Table 8: FP+BP time vs dimension (batch 1); the paper's K40 Table 8 as open markers."""
    rows = ctx.bench("dimension")
    fig, ax = new_figure(6.8, 4.4)
    _plot_time_vs(ax, rows, "n")
    for name, values in data.k40_by_dimension().items():
        ax.plot(list(values), list(values.values()), "s", mfc="none", color=configuration_style(name)["color"], ms=6)
    ax.plot([], [], "s", mfc="none", color=REFERENCE_COLORS["reference"], label="paper, Tesla K40 (Table 8)")
    ax.legend(ncol=2)
    ax.set_xlabel("matrix dimension n")
    ax.set_title("Fig. 2b — FP+BP time vs dimension (1×n×n)")
    _subtitle(fig, ctx.source("dimension"))
    return fig


def fig2c_error_vs_dimension(ctx: FigureContext):
    """Paper Fig. 2c: forward error vs dimension (random covariances, batch 1)."""
    rows = ctx.bench("dimension")
    fig, ax = new_figure(6.8, 4.4)
    for label, name in _series(rows):
        sel = [r for r in rows if r["label"] == label and r.get("mae") is not None]
        ax.plot([r["n"] for r in sel], [max(r["mae"], 1e-12) for r in sel], **_line_style(name, label))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("matrix dimension n")
    ax.set_ylabel("mean absolute error vs eigh (float64)")
    ax.set_title(f"Fig. 2c — forward error vs dimension ({rows[0]['dtype']})")
    ax.legend(ncol=2)
    _subtitle(fig, ctx.source("dimension"))
    return fig


def table6_lyapunov_residuals(ctx: FigureContext):
    r"""Paper Table 6: :math:`\|B_k - I\|_F` and :math:`\|\tfrac12 C_k - X\|_F` vs iterations.

    Both scalings, and the paper's values.
    """
    rows = [r for r in ctx.bench("lyapunov") if r.get("iterations") is not None]
    fig, axes = new_figure(10.5, 4.0, 1, 2)
    for ax, key, title, col in (
        (axes[0], "residual_B", r"$\|B_k - I\|_F$", 0),
        (axes[1], "residual_X", r"$\|\frac{1}{2} C_k - X\|_F$", 1),
    ):
        for scale, ls in (("paper ||S||_F", "--"), ("package sqrt||A||_F", "-")):
            sel = [r for r in rows if r["scale"] == scale]
            label = (
                r"scale $c = \|S\|_F$ (paper)"
                if scale.startswith("paper")
                else r"scale $c = \sqrt{\|A\|_F}$ (mathsqrt)"
            )
            ax.semilogy(
                [r["iterations"] for r in sel],
                [max(r[key], 1e-16) for r in sel],
                "o" + ls,
                color=backward_style(data.LYAPUNOV)["color"],
                label=label,
            )
        ax.semilogy(
            list(data.TABLE6),
            [v[col] for v in data.TABLE6.values()],
            "s",
            mfc="none",
            color=REFERENCE_COLORS["paper"],
            ms=7,
            label="paper Table 6 (values as printed)",
        )
        ax.set_xlabel("iterations k")
        ax.set_title(title)
        ax.legend()
    r0 = rows[0]
    fig.suptitle(
        f"Table 6 — Lyapunov solver residuals (MPA [5/5] forward, {r0['batch']} random "
        f"{r0['n']}×{r0['n']} covariances, {r0['dtype']}, "
        r"$\|G\|_F = 1$)",
        fontsize=10,
    )
    _subtitle(fig, ctx.source("lyapunov"))
    return fig


def accuracy_vs_condition(ctx: FigureContext):
    """Forward and gradient relative error vs condition number (random_spd 64×64), float32 and float64."""
    rows = ctx.bench("condition")
    fig, axes = new_figure(11.0, 4.4, 1, 2)
    for ax, key, title in (
        (axes[0], "rel_err", "forward: relative error of $A^{1/2}$"),
        (axes[1], "grad_rel_err", r"backward: relative error of $\partial l/\partial A$"),
    ):
        for label, name in _series(rows):
            st = _line_style(name, label)
            for dtype, ls in (("float32", "-"), ("float64", ":")):
                sel = [r for r in rows if r["label"] == label and r["dtype"] == dtype and r.get(key) is not None]
                if sel:
                    ax.loglog(
                        [r["cond"] for r in sel],
                        [max(r[key], 1e-17) for r in sel],
                        marker=st["marker"],
                        ls=ls,
                        ms=3,
                        color=st["color"],
                        label=label if dtype == "float32" else None,
                    )
        ax.set_xlabel("condition number of A")
        ax.set_title(title)
    axes[0].plot([], [], "k-", label="float32")
    axes[0].plot([], [], "k:", label="float64")
    axes[0].legend(ncol=2, fontsize=7)
    fig.suptitle("Accuracy depends on the conditioning (random SPD, log-spaced spectrum, 64×64)")
    _subtitle(fig, ctx.source("condition"))
    return fig


def table12_matmul_counts(ctx: FigureContext):
    """Paper Tables 1–2, measured: matmuls of each forward and backward against the paper's formulas."""
    rows = ctx.bench("counts")
    fig, axes = new_figure(11.0, 4.2, 1, 2)
    for fam in dict.fromkeys(r["forward"] for r in rows if r["vary"] in ("degree", "iters")):
        sel = [r for r in rows if r["forward"] == fam and r["vary"] in ("degree", "iters")]
        vary = sel[0]["vary"]
        st = forward_style(fam)
        if vary == "iters":
            x, label = [r["iters"] for r in sel], f"{st['label']} T"
        elif isinstance(sel[0]["degree"], str):  # a Padé [k/k]: matching degree K = 2k + 1
            x, label = [2 * int(r["degree"].split("/")[0]) + 1 for r in sel], f"{st['label']} [k/k], K = 2k+1"
        else:
            x, label = [r["degree"] for r in sel], f"{st['label']} K"
        axes[0].plot(
            x, [r["fw_matmul"] for r in sel], marker=st["marker"], ls="-", color=st["color"], label=f"{label}: measured"
        )
        axes[0].plot(
            x,
            [r["paper_fw_matmul"] for r in sel],
            "s",
            mfc="none",
            color=st["color"],
            ms=7,
            label=f"{label}: paper Table 1",
        )
    axes[0].set_xlabel("degree K (MTP, MPA) or iterations T (NS)")
    axes[0].set_ylabel("forward matmuls")
    axes[0].set_title("forward (MPA adds 1 Cholesky solve)")
    axes[0].legend(fontsize=7)
    lya = [r for r in rows if r["vary"] == "backward_iters"]
    ns = [r for r in rows if r["vary"] == "iters" and r["backward"] == "autograd"]
    c_lya, c_ns = backward_style(data.LYAPUNOV)["color"], forward_style("ns")["color"]
    axes[1].plot(
        [r["backward_iters"] for r in lya], [r["bw_matmul"] for r in lya], "o-", color=c_lya, label="Lyapunov: measured"
    )
    axes[1].plot(
        [r["backward_iters"] for r in lya],
        [r["paper_bw_matmul"] for r in lya],
        "s",
        mfc="none",
        ms=7,
        color=c_lya,
        label="Lyapunov: paper 6T",
    )
    axes[1].plot(
        [r["iters"] for r in ns], [r["bw_matmul"] for r in ns], "o-", color=c_ns, label="NS via autograd: measured"
    )
    axes[1].plot(
        [r["iters"] for r in ns],
        [r["paper_bw_matmul"] for r in ns],
        "s",
        mfc="none",
        ms=7,
        color=c_ns,
        label="NS: paper 4 + 10T",
    )
    axes[1].set_xlabel("iterations T")
    axes[1].set_ylabel("backward matmuls")
    axes[1].set_title("backward (counted at the ATen dispatcher)")
    axes[1].legend(fontsize=7)
    fig.suptitle("Tables 1–2 by instrumentation: matmuls counted (mathsqrt.counting) vs the paper's formulas")
    _subtitle(fig, ctx.source("counts"))
    return fig


def headline_speed_accuracy(ctx: FigureContext):
    """README figure: FP+BP time vs batch (64×64) and gradient error vs condition (float32)."""
    batch = ctx.bench("batch")
    cond = ctx.bench("condition")
    fig, axes = new_figure(11.0, 4.3, 1, 2)
    from .bench.methods import configurations

    keep = {m.name for m in configurations(baselines=False)}
    _plot_time_vs(axes[0], [r for r in batch if r["method"] in keep], "batch")
    mm = {r["batch"]: r["matmul_ms"] for r in batch}
    axes[0].plot(list(mm), list(mm.values()), "k:", lw=1.0, label="one batched matmul")
    axes[0].legend(ncol=2)
    axes[0].set_xlabel("batch size (64×64 matrices)")
    axes[0].set_title("speed: FP+BP time")
    for label, name in [s for s in _series(cond) if s[1] in keep]:
        sel = [r for r in cond if r["label"] == label and r["dtype"] == "float32" and r.get("grad_rel_err") is not None]
        axes[1].loglog(
            [r["cond"] for r in sel], [max(r["grad_rel_err"], 1e-9) for r in sel], **_line_style(name, label)
        )
    axes[1].set_xlabel("condition number of A (64×64, float32)")
    axes[1].set_ylabel("relative error of the gradient")
    axes[1].set_title("accuracy: gradient error vs conditioning")
    axes[1].legend(ncol=2, fontsize=7)
    fig.suptitle("mathsqrt on this machine: speed (left) and gradient accuracy (right)")
    _subtitle(fig, ctx.source("batch"))
    return fig


#: Figure name -> generator. Benchmark-based generators are listed in :data:`BENCH_FIGURES`.
GENERATORS: Dict[str, Callable[[FigureContext], object]] = {
    "fig1a_sqrt_and_whitening": fig1a_sqrt_and_whitening,
    "fig1c_forward_error_vs_time": fig1c_forward_error_vs_time,
    "fig1d_backward_time_vs_iterations": fig1d_backward_time_vs_iterations,
    "fig2a_time_vs_batch": fig2a_time_vs_batch,
    "fig2b_time_vs_dimension": fig2b_time_vs_dimension,
    "fig2c_error_vs_dimension": fig2c_error_vs_dimension,
    "fig4_taylor_pade": fig4_taylor_pade,
    "svd_gradient_explosion": svd_gradient_explosion,
    "pade_poles": pade_poles,
    "pade_denominator_minima": pade_denominator_minima,
    "table6_lyapunov_residuals": table6_lyapunov_residuals,
    "table12_matmul_counts": table12_matmul_counts,
    "accuracy_vs_condition": accuracy_vs_condition,
    "headline_speed_accuracy": headline_speed_accuracy,
}

#: Generators whose figure is drawn from benchmark CSV files (not byte-stable across benchmark runs).
BENCH_FIGURES = (
    "fig1c_forward_error_vs_time",
    "fig1d_backward_time_vs_iterations",
    "fig2a_time_vs_batch",
    "fig2b_time_vs_dimension",
    "fig2c_error_vs_dimension",
    "table6_lyapunov_residuals",
    "table12_matmul_counts",
    "accuracy_vs_condition",
    "headline_speed_accuracy",
)


def figure_to_svg(fig) -> bytes:
    """Render to SVG bytes without a date (``svg.hashsalt`` is fixed in :data:`mathsqrt.paper.plotting.RC`)."""
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return buf.getvalue()


def _figure_to_png(fig) -> bytes:
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, format="png", dpi=100, metadata={"Software": None}, bbox_inches="tight")
    return buf.getvalue()


def save_figure(fig, name: str, out: Path) -> List[Path]:
    """Write ``<out>/<name>.png`` and ``.svg``; returns the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.png", out / f"{name}.svg"]
    paths[0].write_bytes(_figure_to_png(fig))
    paths[1].write_bytes(figure_to_svg(fig))
    return paths


def generate(
    names: Optional[Sequence[str]] = None,
    *,
    out: Path = DEFAULT_OUT,
    ctx: Optional[FigureContext] = None,
    progress: bool = False,
) -> List[Path]:
    """Run the named generators (default all) and write their files; returns every path written."""
    ctx = ctx or FigureContext()
    names = list(GENERATORS) if names is None else list(names)
    unknown = [n for n in names if n not in GENERATORS]
    if unknown:
        raise ValueError(f"unknown figure(s) {unknown}; choose from {', '.join(GENERATORS)}")
    from tqdm.auto import tqdm

    written: List[Path] = []
    for name in tqdm(names, desc="figures", disable=not progress, file=sys.stderr):
        with style():
            fig = GENERATORS[name](ctx)
        written += save_figure(fig, name, out)
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``python -m mathsqrt.paper.figures``."""
    import matplotlib

    matplotlib.use("Agg")
    p = argparse.ArgumentParser(prog="python -m mathsqrt.paper.figures", description="Regenerate figures/ (PNG + SVG).")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default figures)")
    p.add_argument("--bench-dir", type=Path, default=DEFAULT_BENCH, help="benchmark CSV folder (default results/bench)")
    p.add_argument(
        "--run-missing",
        action="store_true",
        help="run the benchmark sweeps whose CSV is missing (--quick) instead of failing",
    )
    p.add_argument("--only", default=None, help="comma-separated figure names")
    p.add_argument("--list", action="store_true", help="list the figures and exit")
    args = p.parse_args(argv)
    if args.list:
        for name, fn in GENERATORS.items():
            print(f"{name:38s} {(fn.__doc__ or '').strip().splitlines()[0]}")
        return 0
    names = None if args.only is None else [s.strip() for s in args.only.split(",") if s.strip()]
    try:
        paths = generate(
            names,
            out=args.out,
            ctx=FigureContext(args.bench_dir, run_missing=args.run_missing, progress=True),
            progress=True,
        )
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(paths)} files to {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
