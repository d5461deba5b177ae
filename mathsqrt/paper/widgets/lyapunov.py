r"""Widgets of notebook 04: the backward pass as a Lyapunov equation, and the SVD gradient near ties.

The gradient of :math:`S = A^{1/2}` solves :math:`S X + X S = G` (Song, Sebe & Wang, ICLR 2022 [1]_,
Sec. 3.2, Eq. (17)). The paper solves it with the matrix sign function of the block matrix
:math:`H = \begin{pmatrix} S & G \\ 0 & -S \end{pmatrix}`, whose sign is
:math:`\begin{pmatrix} I & 2X \\ 0 & -I \end{pmatrix}`: the Newton–Schulz sign iteration on the blocks
(Eq. (20)–(22)) drives :math:`B_k \to I` and :math:`\tfrac12 C_k \to X`
(:func:`mathsqrt.backward.lyapunov_sign`). In the eigenbasis of :math:`S` every eigenvalue
:math:`b` of :math:`B_0 = S/c` follows the scalar map :math:`b \leftarrow b(3 - b^2)/2`, which
multiplies a small :math:`b` by only :math:`3/2` per step: the slow start for small eigenvalues.

The second widget uses :mod:`mathsqrt.paper.studies.degenerate` to show what happens to the SVD gradient of Eq. (2)
as two eigenvalues meet: the size of :math:`K`, the gradient error in float32/float64, NaN at an exact
tie, and the stabilised baselines of :mod:`mathsqrt.baselines`.

Split as every widget module: ``compute_*`` (pure), ``plot_*(ax, ...)``, ``interactive_*()``.

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
.. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Ch. 5.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from mathsqrt.backward import lyapunov_sign
from mathsqrt.testing import gradient_reference, random_gradient, random_spd, sqrtm_reference

from ..data import LYAPUNOV, TABLE6
from ..plotting import REFERENCE_COLORS, backward_style, configuration_style, forward_style
from ..studies import degenerate as dg
from ._common import InteractivePlot, pick

__all__ = [
    "SCALES",
    "GAP_METHODS",
    "compute_sign_convergence",
    "scalar_sign_map",
    "compute_scalar_trajectories",
    "slow_start_iterations",
    "compute_gap_sweep",
    "compute_gap_case",
    "plot_sign_convergence",
    "plot_scalar_trajectories",
    "plot_factor_vs_gap",
    "plot_error_vs_gap",
    "plot_gap_case",
    "interactive_sign_iteration",
    "interactive_gap",
]

#: Scale choices for :math:`B_0 = S/c`: the package's :math:`c = \sqrt{\|A\|_F}` and the paper's :math:`c = \|S\|_F`.
SCALES = {"sqrt ||A||_F (mathsqrt)": "sqrt-norm", "||S||_F (paper)": "paper"}

#: Pairings compared in the gap widget (the ``eigh`` forward with every backward that can follow it).
GAP_METHODS = dg.DEFAULT_METHODS


# --------------------------------------------------------------------------------------------------
# The matrix-sign iteration
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _problem(n: int, cond: float, seed: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(A, S, G, X)``: SPD test matrix, its square root, a symmetric G of unit norm, the exact X."""
    A = random_spd(n, cond, seed=seed)
    G = random_gradient(n, symmetric=True, seed=seed + 1)
    return A, sqrtm_reference(A), G, gradient_reference(A, G)


def _scale(A: torch.Tensor, S: torch.Tensor, scale: str) -> torch.Tensor:
    if scale == "sqrt-norm":
        return torch.linalg.matrix_norm(A, keepdim=True).sqrt()
    if scale == "paper":
        return torch.linalg.matrix_norm(S, keepdim=True)
    raise ValueError(f"scale must be 'sqrt-norm' or 'paper', got {scale!r}")


def compute_sign_convergence(
    n: int = 32, cond: float = 1e2, iters: int = 12, *, scale: str = "sqrt-norm", seed: int = 0
) -> Dict[str, object]:
    r"""Run the block sign iteration for ``k = 1..iters`` and record the paper's Table 6 quantities.

    On :func:`mathsqrt.testing.random_spd` ``(n, cond)`` (float64) with a random symmetric
    :math:`G` (:math:`\|G\|_F = 1`), for each ``k``: :math:`\|B_k - I\|_F` and
    :math:`\|\tfrac12 C_k - X\|_F` (absolute, as in Table 6, and relative to :math:`\|X\|_F`), where
    :math:`X` is the exact solution in the eigenbasis.

    Parameters
    ----------
    n : int
    cond : float
        Condition number of :math:`A` (that of :math:`S` is its square root).
    iters : int
        Largest ``k``.
    scale : {"sqrt-norm", "paper"}
        :math:`c = \sqrt{\|A\|_F}` (what :func:`mathsqrt.sqrtm` uses) or :math:`c = \|S\|_F` (the paper's).
    seed : int

    Returns
    -------
    dict
        ``k`` (array), ``b_residual``, ``x_error``, ``x_error_rel`` (arrays over ``k``), ``b0``
        (eigenvalues of :math:`B_0`, ascending), ``x_norm``, ``n``, ``cond``, ``scale``.
    """
    if iters < 1:
        raise ValueError(f"iters must be >= 1, got {iters}")
    A, S, G, X = _problem(int(n), float(cond), int(seed))
    c = _scale(A, S, scale)
    xn = float(torch.linalg.matrix_norm(X))
    b_res, x_err = [], []
    for k in range(1, int(iters) + 1):
        Xk, info = lyapunov_sign(S, G, scale=c, iters=k, return_info=True)
        b_res.append(float(info.residual))
        x_err.append(float(torch.linalg.matrix_norm(Xk - X)))
    b0 = torch.linalg.eigvalsh(S / c).numpy()
    x_err = np.array(x_err)
    return {
        "k": np.arange(1, int(iters) + 1),
        "b_residual": np.array(b_res),
        "x_error": x_err,
        "x_error_rel": x_err / xn,
        "b0": b0,
        "x_norm": xn,
        "n": int(n),
        "cond": float(cond),
        "scale": scale,
    }


def scalar_sign_map(b: np.ndarray, iters: int) -> np.ndarray:
    r"""Trajectories of the scalar Newton–Schulz sign map :math:`b \leftarrow b(3 - b^2)/2`.

    Parameters
    ----------
    b : array, shape ``(m,)``
        Starting values in :math:`(0, \sqrt3)`.
    iters : int

    Returns
    -------
    array, shape ``(iters + 1, m)``
        Row ``k`` is :math:`b_k` (row 0 the start).
    """
    b = np.asarray(b, dtype=float)
    out = [b]
    for _ in range(int(iters)):
        b = b * (3 - b * b) / 2
        out.append(b)
    return np.stack(out)


def slow_start_iterations(b0: np.ndarray) -> np.ndarray:
    r"""Rough iteration count before quadratic convergence starts: :math:`\lceil\log(1/2b_0)/\log(3/2)\rceil`.

    While :math:`b \ll 1`, :math:`b_{k+1} \approx \tfrac32 b_k`; once :math:`b` reaches about
    :math:`1/2`, a handful of quadratically convergent steps finish. So a start :math:`b_0` costs about
    :math:`\log_{3/2}(1/(2b_0))` extra iterations (0 for :math:`b_0 \ge 1/2`).

    Parameters
    ----------
    b0 : array
        Start values in :math:`(0, 1]`.

    Returns
    -------
    array of int
    """
    b0 = np.asarray(b0, dtype=float)
    return np.maximum(0, np.ceil(np.log(0.5 / b0) / math.log(1.5))).astype(int)


def compute_scalar_trajectories(
    result: Dict[str, object], iters: Optional[int] = None, *, count: int = 4
) -> Dict[str, np.ndarray]:
    """Trajectories :math:`|b_k - 1|` of ``count`` eigenvalues of :math:`B_0`, from the smallest to the largest.

    The eigenvalues are picked closest to log-spaced values between the extremes. The trajectories run
    for ``iters`` (default: enough for the slowest start plus 8 quadratic steps, at most 60).
    """
    b0 = np.sort(np.asarray(result["b0"], dtype=float))
    b0 = b0[b0 > 0]
    targets = np.geomspace(b0[0], b0[-1], count)
    idx = np.unique([int(np.argmin(np.abs(np.log(b0) - np.log(t)))) for t in targets])
    starts = b0[idx]
    slow = slow_start_iterations(starts)
    if iters is None:
        iters = int(min(60, max(int(result["k"][-1]), int(slow.max()) + 8)))
    traj = scalar_sign_map(starts, iters)
    return {"b0": starts, "distance": np.abs(traj - 1), "k": np.arange(iters + 1), "slow_start": slow}


# --------------------------------------------------------------------------------------------------
# Gradient near a tie
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _gap_rows(n: int, gap: float, dtype_name: str, cond: float, seed: int) -> Tuple[Tuple, ...]:
    rows = dg.gradient_vs_gap((gap,), n=n, dtype=getattr(torch, dtype_name), methods=GAP_METHODS, seed=seed, cond=cond)
    return tuple(tuple(sorted(r.items())) for r in rows)


def compute_gap_case(
    n: int, gap: float, *, cond: float = 10.0, seed: int = 0, dtypes: Sequence[str] = ("float32", "float64")
) -> List[dict]:
    """Rows of :func:`mathsqrt.paper.studies.degenerate.gradient_vs_gap` for one gap (``0``: exact tie), cached."""
    out = []
    for d in dtypes:
        out.extend(dict(r) for r in _gap_rows(int(n), float(gap), d, float(cond), int(seed)))
    return out


def compute_gap_sweep(
    n: int, gaps: Sequence[float], *, cond: float = 10.0, seed: int = 0, dtypes: Sequence[str] = ("float32", "float64")
) -> Dict[str, Dict[str, Dict[str, np.ndarray]]]:
    """``{dtype: {method: {"gap", "max_K", "max_factor", "error", "nan"}}}`` arrays over ``gaps`` (cached per gap)."""
    result: Dict[str, Dict[str, Dict[str, np.ndarray]]] = {}
    for d in dtypes:
        per: Dict[str, Dict[str, list]] = {
            m: {"gap": [], "max_K": [], "max_factor": [], "error": [], "nan": []} for m in GAP_METHODS
        }
        for gap in gaps:
            for r in compute_gap_case(n, gap, cond=cond, seed=seed, dtypes=(d,)):
                for key in per[r["method"]]:
                    per[r["method"]][key].append(r[key])
        result[d] = {m: {k: np.array(v) for k, v in cols.items()} for m, cols in per.items()}
    return result


# --------------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------------


def plot_sign_convergence(ax, result: Dict[str, object], *, show_paper: bool = True) -> None:
    """:math:`\\|B_k - I\\|_F` and :math:`\\|\\tfrac12 C_k - X\\|_F / \\|X\\|_F` against ``k`` (log scale).

    The paper's Table 6 as markers.
    """
    k = result["k"]
    floor = 1e-17
    ax.semilogy(
        k,
        np.clip(result["b_residual"], floor, None),
        "o-",
        color=backward_style(LYAPUNOV)["color"],
        label=r"$\|B_k - I\|_F$",
    )
    ax.semilogy(
        k,
        np.clip(result["x_error_rel"], floor, None),
        "s--",
        color=forward_style("mpa")["color"],
        mfc="none",
        label=r"$\|\frac{1}{2} C_k - X\|_F / \|X\|_F$",
    )
    if show_paper:
        pk = np.array(sorted(TABLE6))
        ax.semilogy(
            pk,
            [TABLE6[i][0] for i in pk],
            "x",
            color=REFERENCE_COLORS["paper"],
            ms=7,
            label=r"paper Table 6: $\|B_k - I\|$",
        )
        ax.semilogy(
            pk,
            [TABLE6[i][1] for i in pk],
            "+",
            color=REFERENCE_COLORS["paper"],
            ms=8,
            label=r"paper Table 6: $\|\frac{1}{2} C_k - X\|$",
        )
    ax.axvline(8, color="#999999", lw=0.8, ls=":")
    ax.text(8.1, 1e-15, "default 8", fontsize=7, color="#666666")
    ax.set_ylim(1e-17, 1e2)
    ax.set_xlabel("iteration k")
    ax.set_title(f"sign iteration, n={result['n']}, cond(A)={result['cond']:.0e}")
    _log_ticks(ax)
    ax.legend(loc="lower left", fontsize=7)


def plot_scalar_trajectories(ax, traj: Dict[str, np.ndarray]) -> None:
    """:math:`|b_k - 1|` per eigenvalue of :math:`B_0`: a slow ×1.5 climb, then quadratic convergence."""
    for j, b0 in enumerate(traj["b0"]):
        line = ax.semilogy(
            traj["k"],
            np.clip(traj["distance"][:, j], 1e-17, None),
            "o-",
            ms=3,
            label=f"$b_0$ = {b0:.2g} (slow start ≈ {traj['slow_start'][j]})",
        )
        ax.axvline(traj["slow_start"][j], color=line[0].get_color(), lw=0.6, ls=":")
    ax.set_ylim(1e-17, 2)
    ax.set_xlabel("iteration k")
    ax.set_ylabel(r"$|b_k - 1|$")
    ax.set_title(r"scalar map $b \leftarrow b(3-b^2)/2$ per eigenvalue")
    _log_ticks(ax)
    ax.legend(loc="lower left", fontsize=7)


def _log_ticks(ax) -> None:
    """At most a handful of labelled decades per log axis (keeps rendering fast)."""
    from matplotlib.ticker import LogLocator, NullLocator

    for axis in (ax.xaxis, ax.yaxis):
        if axis.get_scale() == "log":
            axis.set_major_locator(LogLocator(base=10, numticks=6))
            axis.set_minor_locator(NullLocator())


def _finite(values) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return np.where(np.isfinite(v), v, np.nan)


def _method_style(method: str) -> dict:
    st = configuration_style(method)
    return {"color": st["color"], "label": st["label"]}


def plot_factor_vs_gap(ax, sweep, *, dtype: str = "float64", gap: Optional[float] = None) -> None:
    """Size of :math:`K` (and each method's factor) against the relative gap, log–log."""
    for m, cols in sweep[dtype].items():
        ax.loglog(cols["gap"], _finite(cols["max_factor"]), "-", lw=1.4, **_method_style(m))
    if gap:
        ax.axvline(gap, color="#333333", lw=0.8, ls=":")
    ax.set_xlabel("relative gap of the pair")
    ax.set_ylabel(r"largest factor ($\max|K_{ij}|$ for autograd)")
    ax.set_title("the factor each backward multiplies by")
    ax.invert_xaxis()
    _log_ticks(ax)
    ax.legend(loc="upper left", fontsize=7)


def plot_error_vs_gap(ax, sweep, *, gap: Optional[float] = None) -> None:
    """Gradient error against the gap: float32 solid, float64 dashed, one colour per method."""
    for d, ls in (("float32", "-"), ("float64", "--")):
        if d not in sweep:
            continue
        for m, cols in sweep[d].items():
            style = _method_style(m)
            if d != "float32":
                style.pop("label")
            ax.loglog(cols["gap"], np.clip(_finite(cols["error"]), 1e-17, None), ls, lw=1.3, **style)
    if gap:
        ax.axvline(gap, color="#333333", lw=0.8, ls=":")
    ax.set_xlabel("relative gap of the pair")
    ax.set_ylabel("relative gradient error")
    ax.set_title("error vs exact (float32 solid, float64 dashed)")
    ax.set_ylim(1e-17, 10)
    ax.invert_xaxis()
    _log_ticks(ax)
    ax.legend(loc="upper left", fontsize=7)


def plot_gap_case(ax, rows: Sequence[dict], *, title: str = "") -> None:
    """Bars: error per method at one gap, float32 and float64; NaN gradients marked "NaN"."""
    methods = [m for m in GAP_METHODS]
    x = np.arange(len(methods))
    for offset, d, hatch in ((-0.2, "float32", None), (0.2, "float64", "//")):
        vals = []
        for m in methods:
            (r,) = [r for r in rows if r["method"] == m and r["dtype"] == d] or [None]
            vals.append(r)
        heights = [max(r["error"], 1e-17) if r and not r["nan"] else 1.0 for r in vals]
        colors = [configuration_style(m)["color"] for m in methods]
        bars = ax.bar(x + offset, heights, width=0.38, color=colors, hatch=hatch, edgecolor="white", log=True, label=d)
        for b, r in zip(bars, vals):
            if r and r["nan"]:
                b.set_color("#FFFFFF")
                b.set_edgecolor("#D55E00")
                ax.text(
                    b.get_x() + b.get_width() / 2, 1.5, "NaN", ha="center", fontsize=8, color="#D55E00", rotation=90
                )
    ax.set_xticks(x, [configuration_style(m)["label"] for m in methods], rotation=30, ha="right", fontsize=8)
    ax.set_ylim(1e-17, 1e2)
    _log_ticks(ax)
    ax.set_ylabel("relative gradient error")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=7)


# --------------------------------------------------------------------------------------------------
# Interactive builders
# --------------------------------------------------------------------------------------------------


def interactive_sign_iteration(*, n: Optional[int] = None, cond: float = 1e2, iters: int = 12) -> InteractivePlot:
    """Sliders: condition number, iterations, scale. Left: convergence vs Table 6; right: per-eigenvalue slow start.

    ``plot.data``: the :func:`compute_sign_convergence` dict plus ``trajectories``.
    """
    import ipywidgets as widgets

    n = pick(32, 12) if n is None else n
    style = {"description_width": "120px"}
    controls = {
        "cond": widgets.FloatLogSlider(
            value=cond, base=10, min=0, max=8, step=0.5, description="cond(A)", continuous_update=False, style=style
        ),
        "iters": widgets.IntSlider(
            value=iters, min=4, max=30, description="iterations", continuous_update=False, style=style
        ),
        "scale": widgets.Dropdown(options=list(SCALES.items()), value="sqrt-norm", description="scale c", style=style),
    }

    def draw(fig, cond, iters, scale):
        result = compute_sign_convergence(n, cond, iters, scale=scale)
        traj = compute_scalar_trajectories(result)
        ax1, ax2 = fig.subplots(1, 2)
        plot_sign_convergence(ax1, result)
        plot_scalar_trajectories(ax2, traj)
        return dict(result, trajectories=traj)

    return InteractivePlot(controls, draw, figsize=(11.0, 4.4), title="Lyapunov backward: the block sign iteration")


def interactive_gap(*, n: Optional[int] = None, log_gap: float = -3.0, exact_tie: bool = False) -> InteractivePlot:
    """Slider: log10 of the relative gap; checkbox: exact tie. Three panels: factor, error sweep, bars at the gap.

    The sweep over gaps is computed once per ``n`` (cached); moving the slider only computes the new gap.
    ``plot.data``: ``gap`` (0 for a tie), ``rows`` (this gap, both dtypes), ``sweep``.
    """
    import ipywidgets as widgets

    n = pick(32, 10) if n is None else n
    sweep_gaps = tuple(10.0**e for e in pick(np.arange(-1, -8.5, -0.5), np.array([-1, -3, -6])))
    style = {"description_width": "120px"}
    controls = {
        "log_gap": widgets.FloatSlider(
            value=log_gap, min=-8, max=-1, step=0.5, description="log10 gap", continuous_update=False, style=style
        ),
        "exact_tie": widgets.Checkbox(value=exact_tie, description="exact tie (diagonal matrix)"),
    }

    def draw(fig, log_gap, exact_tie):
        gap = 0.0 if exact_tie else 10.0**log_gap
        sweep = compute_gap_sweep(n, sweep_gaps)
        rows = compute_gap_case(n, gap)
        ax1, ax2, ax3 = fig.subplots(1, 3)
        plot_factor_vs_gap(ax1, sweep, gap=gap or None)
        plot_error_vs_gap(ax2, sweep, gap=gap or None)
        title = "exact tie: K = 1/0" if exact_tie else f"gap 1e{log_gap:+.1f}: max|K| = {rows[0]['max_K']:.1e}"
        plot_gap_case(ax3, rows, title=title)
        return {"gap": gap, "rows": rows, "sweep": sweep, "n": n}

    return InteractivePlot(controls, draw, figsize=(13.0, 4.4), title="the SVD gradient as two eigenvalues meet")
