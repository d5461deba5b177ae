r"""Widgets of notebook 04: the backward pass as a Lyapunov equation, why the sign iteration works,
which gradient it gives, the SVD gradient near ties, and the inverse square root.

The gradient of :math:`S = A^{1/2}` solves :math:`S X + X S = G` (Song, Sebe & Wang, ICLR 2022 [1]_,
Sec. 3.2, Eq. (14)–(15); Eq. (17) is its generic form). The paper solves it with the matrix sign function
of the block matrix :math:`H = \begin{pmatrix} S & G \\ 0 & -S \end{pmatrix}
= T \begin{pmatrix} S & 0 \\ 0 & -S \end{pmatrix} T^{-1}`, :math:`T = \begin{pmatrix} I & -X \\ 0 & I \end{pmatrix}`,
whose sign is :math:`\begin{pmatrix} I & 2X \\ 0 & -I \end{pmatrix}` (Eq. (18)–(22)): the Newton–Schulz
sign iteration on the blocks drives :math:`B_k \to I` and :math:`\tfrac12 C_k \to X`
(:func:`mathsqrt.backward.lyapunov_sign`). Every eigenvalue :math:`b` of :math:`B_0 = S/c` follows the
scalar map :math:`b \leftarrow b(3 - b^2)/2`, which converges to 1 from every start in :math:`(0, \sqrt3)`,
quadratically near 1, but multiplies a small :math:`b` by only :math:`3/2` per step: the slow start.
The optimally scaled cubic of Chen & Chow [3]_ (:func:`mathsqrt.scaled.polynomial_schedule`, the
package's default backward) is shown beside it.

Sections of this module:

* the block sign iteration against the paper's Table 6 (:func:`compute_sign_convergence`);
* the scalar map: cobweb, basin and steps against the start (:func:`compute_scalar_map`,
  :func:`compute_basin`, :func:`compute_cubic_steps`);
* which gradient: the Lyapunov gradient at the computed MPA output, the exact derivative of the
  computed forward (``backward="adjoint"``) and the true gradient, and the end-to-end gradient error
  against the condition number (:func:`compute_gradient_case`, :func:`compute_gradient_sweep`,
  :func:`compute_consistency`);
* the SVD gradient as two eigenvalues meet (:mod:`mathsqrt.paper.studies.degenerate`;
  :func:`compute_gap_sweep`);
* the inverse square root: the exact error :math:`-2r^N/(1 + r^N)` of the MPA inverse (appendix A.6)
  checked live against :func:`mathsqrt.invsqrtm` (:func:`compute_inverse_error`).

Split as every widget module: ``compute_*`` (pure), ``plot_*(ax, ...)``, ``interactive_*()``.

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
.. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Ch. 5.
.. [3] J. Chen, E. Chow, "A stable scaling of Newton–Schulz for improving the sign function
   computation of a Hermitian matrix", preprint ANL/MCS-P5059-0114, Argonne National Laboratory, 2014.
"""

from __future__ import annotations

import contextlib
import functools
import math
import warnings
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from mathsqrt.api import invsqrtm, sqrtm
from mathsqrt.backward import lyapunov_sign
from mathsqrt.coefficients import pade_relative_error
from mathsqrt.methods import configuration
from mathsqrt.scaled import polynomial_schedule
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
    # the scalar map
    "BASIN",
    "ns_sign_polynomial",
    "compute_scalar_map",
    "compute_basin",
    "compute_cubic_steps",
    "plot_cobweb",
    "plot_scalar_error",
    "plot_basin",
    "interactive_scalar_map",
    # which gradient
    "GRADIENT_CONFIGURATIONS",
    "compute_gradient_case",
    "compute_gradient_sweep",
    "compute_consistency",
    "plot_gradient_error_vs_condition",
    "plot_gradient_comparison",
    "interactive_gradient_error",
    # the inverse square root
    "compute_inverse_error",
    "plot_inverse_error",
    "interactive_inverse_error",
]

#: Scale choices for :math:`B_0 = S/c`: the package's :math:`c = \sqrt{\|A\|_F}` and the paper's :math:`c = \|S\|_F`.
SCALES = {"sqrt ||A||_F (mathsqrt)": "sqrt-norm", "||S||_F (paper)": "paper"}

#: Pairings compared in the gap widget (the ``eigh`` forward with every backward that can follow it).
GAP_METHODS = dg.DEFAULT_METHODS


@contextlib.contextmanager
def _one_thread():
    """Run torch on one intra-op thread, then restore the setting.

    The widgets' matrices are small (n <= 32): threads only add start-up and contention, which on a busy
    2-core machine makes a 32×32 forward + backward 10–20 times slower than on one thread.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _single_threaded(fn):
    """Decorator: :func:`_one_thread` around ``fn``."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _one_thread():
            return fn(*args, **kwargs)

    return wrapper


# --------------------------------------------------------------------------------------------------
# The matrix-sign iteration
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=32)
@_single_threaded
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


@_single_threaded
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
@_single_threaded
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
    """:math:`|b_k - 1|` per eigenvalue of :math:`B_0`: a slow ×1.5 climb, then quadratic convergence.

    One colour per start, ordered from dark (smallest) to light (largest) on the viridis scale, so
    that no red sits next to a green.
    """
    from matplotlib import colormaps

    colours = colormaps["viridis"](np.linspace(0.0, 0.8, max(len(traj["b0"]), 2)))
    for j, b0 in enumerate(traj["b0"]):
        line = ax.semilogy(
            traj["k"],
            np.clip(traj["distance"][:, j], 1e-17, None),
            "o-",
            ms=3,
            color=colours[j],
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


# --------------------------------------------------------------------------------------------------
# The scalar map x -> (3x - x^3)/2: basin, slow start, quadratic convergence; the scaled cubic beside it
# --------------------------------------------------------------------------------------------------

#: Ends of the interval of starts from which Newton–Schulz converges to +1 monotonically after one
#: step, :math:`(0, \sqrt3)`, and the start beyond which it diverges, :math:`\sqrt5`.
BASIN = (0.0, math.sqrt(3.0), math.sqrt(5.0))

#: Size at which an iterate counts as diverged.
_DIVERGED = 1e6


def ns_sign_polynomial(x):
    r"""One Newton–Schulz sign step :math:`p(x) = (3x - x^3)/2` (elementwise, numpy)."""
    x = np.asarray(x, dtype=float)
    return x * (3.0 - x * x) / 2.0


def _iterate_to_limit(x0: np.ndarray, tol: float, max_steps: int) -> Tuple[np.ndarray, np.ndarray]:
    """``(steps, limit)`` of the NS map from each start.

    ``steps``: first ``k`` with ``|x_k ∓ 1| <= tol`` (or at which it diverged); ``limit``: ±1, or 0 (diverged).
    """
    x = np.array(x0, dtype=float)
    steps = np.full(x.shape, -1, dtype=int)
    limit = np.zeros(x.shape)
    active = np.ones(x.shape, dtype=bool)
    for k in range(max_steps + 1):
        for target in (1.0, -1.0):
            hit = active & (np.abs(x - target) <= tol)
            steps[hit], limit[hit] = k, target
            active &= ~hit
        gone = active & ~(np.abs(x) < _DIVERGED)
        steps[gone], active[gone] = k, False
        if not active.any():
            break
        x = np.where(active, ns_sign_polynomial(np.where(active, x, 0.0)), x)
    return steps, limit


def _chen_chow(lower: float, tol: float):
    """The plain greedy cubic schedule on ``[lower, 1]``: Chen & Chow's scaled cubic at every step.

    ``safety=1`` and ``cushion=0`` switch off the rounding guards that :func:`mathsqrt.scaled.lyapunov_scaled`
    adds, so every step is exactly the closed form of :func:`mathsqrt.scaled.optimal_odd_polynomial`.
    """
    return polynomial_schedule(lower, kind="cubic", tol=tol, safety=1.0, cushion=0.0)


def compute_scalar_map(x0: float, steps: int = 30, *, tol: float = 1e-12) -> Dict[str, object]:
    r"""The Newton–Schulz sign map from one start, and the optimally scaled cubic beside it.

    Parameters
    ----------
    x0 : float
        Start, :math:`x_0 > 0` (an eigenvalue of :math:`B_0 = S/c`).
    steps : int
        Iterations recorded (the cobweb and the error curve).
    tol : float
        Convergence threshold on :math:`|x_k - 1|` for the step counts.

    Returns
    -------
    dict
        ``x0``, ``k`` (``0..steps``), ``ns`` (iterates :math:`x_k`, NaN after divergence),
        ``ns_error`` (:math:`|x_k - \mathrm{limit}|`), ``ns_steps`` (steps to ``tol``, ``-1`` if never),
        ``ns_limit`` (+1, −1, or 0 for diverged), ``slow_start`` (:func:`slow_start_iterations`, for
        ``x0 < 1``), ``in_basin`` (:math:`0 < x_0 < \sqrt3`), and for :math:`x_0 \le 1` the scaled
        cubic designed for :math:`[\ell, 1] = [x_0, 1]`: ``cubic`` (iterates), ``cubic_error``,
        ``cubic_steps`` (its schedule's length to ``tol``), ``cubic_first`` (the first step's
        coefficients of :math:`x` and :math:`x^3`); ``None`` for :math:`x_0 > 1`. ``tol``.
    """
    x0 = float(x0)
    if not x0 > 0:
        raise ValueError(f"x0 must be positive, got {x0!r}")
    steps = int(steps)
    ns_steps, ns_limit = _iterate_to_limit(np.array([x0]), tol, 400)
    traj = [x0]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            x = traj[-1]
            traj.append(float(ns_sign_polynomial(x)) if abs(x) < _DIVERGED else float("nan"))
    ns = np.array(traj)
    limit = float(ns_limit[0])
    out: Dict[str, object] = {
        "x0": x0,
        "k": np.arange(steps + 1),
        "ns": ns,
        "ns_error": np.abs(ns - (limit if limit else 1.0)),
        "ns_steps": int(ns_steps[0]),
        "ns_limit": limit,
        "slow_start": int(slow_start_iterations(min(x0, 1.0))),
        "in_basin": bool(BASIN[0] < x0 < BASIN[1]),
        "tol": float(tol),
        "cubic": None,
        "cubic_error": None,
        "cubic_steps": None,
        "cubic_first": None,
    }
    if x0 <= 1.0:
        schedule = _chen_chow(x0, tol)
        cubic = np.array([schedule(x0, steps=min(k, schedule.steps)) for k in range(steps + 1)], dtype=float)
        out.update(
            cubic=cubic,
            cubic_error=np.abs(cubic - 1.0),
            cubic_steps=int(schedule.steps),
            cubic_first=np.array(schedule.coefficients[0]) if schedule.steps else None,
        )
    return out


def compute_basin(x0s: Sequence[float], *, tol: float = 1e-12, max_steps: int = 400) -> Dict[str, np.ndarray]:
    r"""Steps of the Newton–Schulz sign map to reach ``tol`` from each start, and where it ends.

    Returns
    -------
    dict
        ``x0`` (array), ``steps`` (int array: first ``k`` with :math:`|x_k \mp 1| \le` ``tol``, or the
        step at which it diverged; ``-1`` if neither within ``max_steps``), ``limit`` (+1, −1, or 0 for
        diverged), ``slow_start`` (:func:`slow_start_iterations` of :math:`\min(x_0, 1)`).
    """
    x0 = np.asarray(x0s, dtype=float)
    steps, limit = _iterate_to_limit(x0, tol, max_steps)
    return {"x0": x0, "steps": steps, "limit": limit, "slow_start": slow_start_iterations(np.minimum(x0, 1.0))}


def compute_cubic_steps(lowers: Sequence[float], *, tol: float = 1e-12) -> np.ndarray:
    r"""Steps of the optimally scaled cubic (Chen & Chow) that bring all of :math:`[\ell, 1]` within ``tol`` of 1.

    :func:`mathsqrt.scaled.polynomial_schedule` with ``kind="cubic"`` (without its rounding guards,
    ``safety=1, cushion=0``: Chen & Chow's closed form at every step): the worst case over the whole
    interval, so it compares with the Newton–Schulz count from :math:`x_0 = \ell` (the slowest start of
    :math:`[\ell, 1]` for the monotone map).
    """
    return np.array([_chen_chow(float(ell), tol).steps for ell in lowers], dtype=int)


@lru_cache(maxsize=8)
def _basin_grid(tol: float) -> Tuple[Dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Starts on a log grid from 1e-6 to 2.5 plus a fine linear grid over [1.4, 2.5] (for the zoom)."""
    x0 = np.union1d(np.geomspace(1e-6, 2.5, 300), np.linspace(1.4, 2.5, 441))
    lowers = np.geomspace(1e-6, 1.0, 49)
    return compute_basin(x0, tol=tol), lowers, compute_cubic_steps(lowers, tol=tol)


_NS_COLOUR = "#56B4E9"  # sky blue: the paper's Newton–Schulz solver ("lyapunov-ns") in the method table
_CUBIC_COLOUR = "#0072B2"  # blue: the scaled solver ("lyapunov") in the method table
_MINUS_COLOUR = "#D55E00"  # vermillion: converged to the wrong sign
_BASIN_COLOUR = "#F0E442"  # yellow band: the basin (0, sqrt 3)


def plot_cobweb(ax, result: Dict[str, object], *, lim: float = 2.4) -> None:
    r"""Cobweb of :math:`x \mapsto (3x - x^3)/2` from ``result["x0"]``, the basin :math:`(0, \sqrt3)` shaded."""
    x = np.linspace(-lim, lim, 481)
    ax.axvspan(BASIN[0], BASIN[1], color=_BASIN_COLOUR, alpha=0.35, lw=0, label=r"basin $(0, \sqrt{3})$")
    ax.plot(x, x, color="#999999", lw=0.8, ls="--")
    ax.plot(x, ns_sign_polynomial(x), color=_NS_COLOUR, lw=1.8, label=r"$p(x) = (3x - x^3)/2$")
    ns = np.asarray(result["ns"], dtype=float)
    ns = ns[np.isfinite(ns) & (np.abs(ns) <= 10 * lim)]
    if len(ns):
        px, py = [ns[0]], [0.0]
        for a, b in zip(ns[:-1], ns[1:]):
            px += [a, b]
            py += [b, b]
        ax.plot(px, py, color="#000000", lw=0.9, alpha=0.8, label=f"cobweb from $x_0$ = {result['x0']:.3g}")
        ax.plot([ns[0]], [0.0], "o", color="#000000", ms=5)
    for v, name in ((BASIN[1], r"$\sqrt{3}$"), (BASIN[2], r"$\sqrt{5}$")):
        ax.axvline(v, color="#666666", lw=0.6, ls=":")
        ax.text(v, -lim * 0.97, name, fontsize=8, ha="center", va="bottom", color="#444444")
    ax.plot([1, -1], [1, -1], "s", color="#000000", ms=4, mfc="white")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_xlabel(r"$x_k$")
    ax.set_ylabel(r"$x_{k+1}$")
    ax.set_title("cobweb of the Newton–Schulz sign step")
    ax.legend(loc="upper left", fontsize=7)


def plot_scalar_error(ax, result: Dict[str, object]) -> None:
    r""":math:`|x_k - 1|` against ``k`` for Newton–Schulz and (for :math:`x_0 \le 1`) the scaled cubic."""
    k = result["k"]
    floor = 1e-17
    ax.semilogy(
        k,
        np.clip(np.nan_to_num(result["ns_error"], nan=1e17), floor, 1e17),
        "o-",
        ms=3,
        color=_NS_COLOUR,
        label=f"Newton–Schulz: {_steps_text(result['ns_steps'], result['ns_limit'])}",
    )
    if result["cubic"] is not None:
        ax.semilogy(
            k,
            np.clip(result["cubic_error"], floor, None),
            "s--",
            ms=3,
            mfc="none",
            color=_CUBIC_COLOUR,
            label=f"scaled cubic, $\\ell = x_0$: {result['cubic_steps']} steps",
        )
    if result["x0"] < 0.5:
        ax.axvline(result["slow_start"], color="#666666", lw=0.7, ls=":")
        ax.text(result["slow_start"], 3e-1, f" slow start ≈ {result['slow_start']}", fontsize=7, color="#444444")
    ax.axhline(result["tol"], color="#999999", lw=0.6, ls="--")
    ax.set_ylim(1e-17, 1e2)
    ax.set_xlim(0, k[-1])
    ax.set_xlabel("step k")
    ax.set_ylabel(r"$|x_k - x_\infty|$, limit $x_\infty = \pm 1$")
    ax.set_title(r"$\times 3/2$ per step while small, then quadratic")
    _log_ticks(ax)
    ax.legend(loc="lower left", fontsize=7, frameon=True, framealpha=0.9, edgecolor="none")


def _steps_text(steps: int, limit: float) -> str:
    unit = "step" if steps == 1 else "steps"
    if limit == 1.0:
        return f"{steps} {unit}"
    if limit == -1.0:
        return f"→ −1 (wrong sign) in {steps} {unit}"
    return "diverges"


def plot_basin(
    ax,
    basin: Dict[str, np.ndarray],
    *,
    cubic: Optional[Tuple[np.ndarray, np.ndarray]] = None,
    x0: Optional[float] = None,
    zoom: Tuple[float, float] = (1.4, 2.5),
) -> None:
    r"""Steps to converge against the start :math:`x_0` (log axis): +1, −1 (wrong sign) or divergence, per start.

    ``cubic``: ``(lowers, steps)`` of :func:`compute_cubic_steps`, drawn for :math:`x_0 \le 1`. An inset
    zooms on ``zoom`` (linear axis), where the start leaves the basin :math:`(0, \sqrt3)`.
    """
    from matplotlib.ticker import LogLocator, NullLocator

    x, steps, limit = basin["x0"], basin["steps"], basin["limit"]
    top = max(int(steps.max()), 1) + 2

    def draw(a, log: bool):
        plot = a.semilogx if log else a.plot
        plus, minus, div = limit == 1.0, limit == -1.0, limit == 0.0
        plot(x[plus], steps[plus], ".", ms=3, color=_NS_COLOUR, label="Newton–Schulz → +1")
        if minus.any():
            plot(x[minus], steps[minus], "x", ms=3, color=_MINUS_COLOUR, label="Newton–Schulz → −1 (wrong sign)")
        if div.any():
            plot(
                x[div],
                np.full(div.sum(), top),
                "|",
                ms=4,
                alpha=0.6,
                color="#666666",
                label="diverges (drawn at the top)",
            )
        a.axvspan(x.min() if log else zoom[0], BASIN[1], color=_BASIN_COLOUR, alpha=0.25, lw=0)
        a.axvline(BASIN[1], color="#666666", lw=0.6, ls=":")
        if x0 is not None and (log or zoom[0] <= x0 <= zoom[1]):
            a.axvline(x0, color="#000000", lw=0.9, ls="-")

    draw(ax, True)
    if cubic is not None:
        ax.semilogx(
            cubic[0], cubic[1], "s--", ms=3, mfc="none", color=_CUBIC_COLOUR, label=r"scaled cubic for $[x_0, 1]$"
        )
    ax.set_xlim(x.min(), x.max())
    ax.set_ylim(0, top + 2)
    ax.set_xlabel(r"start $x_0$")
    ax.set_ylabel(r"steps to $|x_k - 1| \leq 10^{-12}$")
    ax.set_title("steps against the start")
    ax.xaxis.set_major_locator(LogLocator(base=10, numticks=8))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.legend(loc="lower left", fontsize=7)
    inset = ax.inset_axes((0.5, 0.55, 0.47, 0.42))
    draw(inset, False)
    inset.set_xlim(*zoom)
    inset.set_ylim(0, top + 2)
    inset.set_xticks([1.5, BASIN[1], 2.0, BASIN[2]], ["1.5", "√3", "2", "√5"], fontsize=7)
    inset.tick_params(labelsize=7)
    inset.set_title("zoom: leaving the basin", fontsize=7)


def interactive_scalar_map(*, x0: float = 0.01, steps: int = 30) -> InteractivePlot:
    """Sliders: the start :math:`x_0` (log), the steps shown; dropdown: Newton–Schulz alone or with the scaled cubic.

    Three panels: the cobweb (basin shaded), :math:`|x_k - 1|` against ``k``, steps against the start.
    ``plot.data``: the :func:`compute_scalar_map` dict plus ``basin`` and ``compare``.
    """
    import ipywidgets as widgets

    style = {"description_width": "120px"}
    controls = {
        "x0": widgets.FloatLogSlider(
            value=x0,
            base=10,
            min=-6,
            max=0.4,
            step=0.1,
            description="start x0",
            continuous_update=False,
            readout_format=".3g",
            style=style,
        ),
        "steps": widgets.IntSlider(
            value=steps, min=2, max=60, description="steps shown", continuous_update=False, style=style
        ),
        "compare": widgets.Dropdown(
            options=[("Newton–Schulz and the scaled cubic", True), ("Newton–Schulz only", False)],
            value=True,
            description="show",
            style=style,
            layout=widgets.Layout(width="420px"),
        ),
    }
    tol = 1e-12

    def draw(fig, x0, steps, compare):
        result = compute_scalar_map(x0, steps, tol=tol)
        if not compare:
            result = dict(result, cubic=None, cubic_error=None)
        basin, lowers, cubic_steps = _basin_grid(tol)
        ax1, ax2, ax3 = fig.subplots(1, 3)
        plot_cobweb(ax1, result)
        plot_scalar_error(ax2, result)
        plot_basin(ax3, basin, cubic=(lowers, cubic_steps) if compare else None, x0=x0)
        return dict(result, basin=basin, compare=compare)

    return InteractivePlot(controls, draw, figsize=(14.0, 4.4), title=r"the scalar sign map x ↦ (3x − x³)/2")


# --------------------------------------------------------------------------------------------------
# Which gradient? Lyapunov at the computed output, the adjoint of the computation, the true gradient
# --------------------------------------------------------------------------------------------------

#: Configurations of the end-to-end gradient figure: the paper's MPA-Lya (8 Newton–Schulz steps), the
#: package's default backward after MPA (8 optimally scaled steps), MPA with its exact adjoint, and eigh
#: with the exact eigenbasis gradient.
GRADIENT_CONFIGURATIONS = ("mpa-lya", "mpa-lya-opt", "mpa-adjoint", "eigh")


@lru_cache(maxsize=64)
@_single_threaded
def _gradient_problem(n: int, cond: float, seed: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(A, G, S, X)`` in float64: ``random_spd(n, cond)``, a symmetric unit-norm G, the exact root and gradient."""
    A = random_spd(n, cond, seed=seed)
    G = random_gradient(n, symmetric=True, seed=seed + 1)
    return A, G, sqrtm_reference(A), gradient_reference(A, G)


def _forward_and_gradient(A: torch.Tensor, G: torch.Tensor, **kwargs) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(out, dl/dA)`` of ``l = <G, sqrtm(A, **kwargs)>``, both float64, for a fresh leaf copy of ``A``."""
    Ar = A.detach().clone().requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = sqrtm(Ar, **kwargs)
        (out * G.to(out.dtype)).sum().backward()
    return out.detach().to(torch.float64), Ar.grad.to(torch.float64)


def _rel(X: torch.Tensor, Y: torch.Tensor) -> float:
    return float(torch.linalg.matrix_norm(X - Y) / torch.linalg.matrix_norm(Y))


@lru_cache(maxsize=256)
@_single_threaded
def _gradient_case(cond: float, n: int, dtype: str, seed: int) -> Tuple[Tuple[str, object], ...]:
    A64, G64, S64, X64 = _gradient_problem(n, cond, seed)
    A, G = A64.to(getattr(torch, dtype)), G64.to(getattr(torch, dtype))
    errors, grads = {}, {}
    for name in GRADIENT_CONFIGURATIONS:
        _, grads[name] = _forward_and_gradient(A, G, **configuration(name).kwargs())
        errors[name] = _rel(grads[name], X64)
    # (a): the exact Lyapunov solution at the computed MPA output (backward "eigh" diagonalises it)
    S_mpa, X_a = _forward_and_gradient(A, G, method="mpa", backward="eigh")
    X_b = grads["mpa-adjoint"]
    s_mpa = torch.linalg.eigvalsh(0.5 * (S_mpa + S_mpa.transpose(-2, -1)))
    return tuple(
        {
            "cond": float(cond),
            "n": int(n),
            "dtype": dtype,
            "errors": errors,
            "forward_error": _rel(S_mpa, S64),
            "lyapunov_at_output": _rel(X_a, X64),
            "adjoint": _rel(X_b, X64),
            "a_vs_b": float(torch.linalg.matrix_norm(X_a - X_b) / torch.linalg.matrix_norm(X64)),
            "paper_vs_a": _rel(grads["mpa-lya"], X_a),
            "output_min_eigenvalue": float(s_mpa.min()),
            "true_min_eigenvalue": float(torch.linalg.eigvalsh(S64).min()),
        }.items()
    )


def compute_gradient_case(cond: float, *, n: int = 32, dtype: str = "float32", seed: int = 0) -> Dict[str, object]:
    r"""Three gradients of :math:`l = \langle G, A^{1/2}\rangle` for MPA [5/5], and the end-to-end errors.

    On ``random_spd(n, cond)`` with a random symmetric :math:`G` (:math:`\|G\|_F = 1`), computed in
    ``dtype`` and compared in float64 with the true gradient :math:`X` (float64 eigh forward + eigh
    backward, :func:`mathsqrt.testing.gradient_reference`). Cached.

    Returns
    -------
    dict
        ``errors``: ``{configuration: relative error of its gradient}`` for :data:`GRADIENT_CONFIGURATIONS`;
        ``forward_error``: relative Frobenius error of the MPA [5/5] output; ``lyapunov_at_output``:
        error of (a), the exact Lyapunov solution at the computed output (``method="mpa",
        backward="eigh"``); ``adjoint``: error of (b), the exact derivative of the computed forward
        (``backward="adjoint"``); ``a_vs_b``: :math:`\|X_a - X_b\|_F/\|X\|_F`; ``paper_vs_a``: the
        paper's 8 Newton–Schulz steps against (a); ``output_min_eigenvalue`` and
        ``true_min_eigenvalue``: smallest eigenvalue of the computed and of the exact :math:`A^{1/2}`;
        ``cond``, ``n``, ``dtype``.
    """
    out = dict(_gradient_case(float(cond), int(n), str(dtype), int(seed)))
    out["errors"] = dict(out["errors"])
    return out


def compute_gradient_sweep(
    conds: Sequence[float], *, n: int = 32, dtype: str = "float32", seed: int = 0
) -> Dict[str, object]:
    """:func:`compute_gradient_case` over ``conds``: ``cond`` (array), ``errors`` ``{configuration: array}``,
    and arrays ``forward_error``, ``lyapunov_at_output``, ``adjoint``, ``a_vs_b``."""
    cases = [compute_gradient_case(c, n=n, dtype=dtype, seed=seed) for c in conds]
    keys = ("forward_error", "lyapunov_at_output", "adjoint", "a_vs_b")
    out: Dict[str, object] = {"cond": np.array([float(c) for c in conds]), "n": int(n), "dtype": dtype}
    out["errors"] = {m: np.array([c["errors"][m] for c in cases]) for m in GRADIENT_CONFIGURATIONS}
    out.update({k: np.array([c[k] for c in cases]) for k in keys})
    return out


@_single_threaded
def compute_consistency(
    cond: float, *, n: int = 32, seed: int = 0, h: float = 1e-6, direction_seed: int = 7
) -> Dict[str, float]:
    r"""Which gradient is the derivative of what MPA computed? Central differences, float64.

    For a random symmetric direction :math:`E` (:math:`\|E\|_F = 1`), the slope
    :math:`(l(A + hE) - l(A - hE))/2h` of the **computed** loss :math:`l(A) = \langle G,
    \mathrm{MPA}(A)\rangle` against :math:`\langle X, E\rangle` for (a) the Lyapunov gradient at the
    computed output, (b) the adjoint, (c) the true gradient.

    Returns
    -------
    dict
        ``slope`` (finite differences) and, for ``"a"``, ``"b"``, ``"c"``, the relative difference
        :math:`|\langle X, E\rangle - \mathrm{slope}|/|\mathrm{slope}|`.
    """
    A, G, _, X_c = _gradient_problem(int(n), float(cond), int(seed))
    E = random_gradient(int(n), symmetric=True, seed=direction_seed)
    _, X_a = _forward_and_gradient(A, G, method="mpa", backward="eigh")
    _, X_b = _forward_and_gradient(A, G, method="mpa", backward="adjoint")

    def loss(M):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float((sqrtm(M, method="mpa") * G).sum())

    slope = (loss(A + h * E) - loss(A - h * E)) / (2 * h)
    out = {"slope": slope}
    for name, X in (("a", X_a), ("b", X_b), ("c", X_c)):
        out[name] = abs(float((X * E).sum()) - slope) / abs(slope)
    return out


def plot_gradient_error_vs_condition(ax, sweep: Dict[str, object], *, cond: Optional[float] = None) -> None:
    """End-to-end relative gradient error against cond(A) per configuration, with the MPA forward error dotted."""
    c = sweep["cond"]
    floor = 1e-16  # float64 eigh is the reference's own computation: its error is exactly 0, drawn here
    for name in GRADIENT_CONFIGURATIONS:
        st = configuration_style(name)
        ax.loglog(
            c, np.clip(sweep["errors"][name], floor, None), ms=5, mfc="none" if name == "mpa-lya-opt" else None, **st
        )
    ax.loglog(
        c,
        np.clip(sweep["forward_error"], floor, None),
        ":",
        color=REFERENCE_COLORS["reference"],
        lw=1.4,
        label="MPA [5/5] forward error",
    )
    if cond:
        ax.axvline(cond, color="#333333", lw=0.8, ls=":")
    ax.set_xlabel("cond(A)")
    ax.set_ylabel(r"relative error of $\partial l/\partial A$")
    ax.set_title(f"end-to-end gradient error, n={sweep['n']}, {sweep['dtype']}")
    ax.set_ylim(1e-16 if sweep["dtype"] == "float64" else 1e-8, 10)
    _log_ticks(ax)
    ax.legend(loc="lower right", fontsize=7)


#: Bars of :func:`plot_gradient_comparison`: key of :func:`compute_gradient_case`, label.
_COMPARISON = (
    ("lyapunov_at_output", "(a) Lyapunov at the\ncomputed S vs true"),
    ("adjoint", "(b) adjoint of the\ncomputation vs true"),
    ("a_vs_b", "(a) vs (b)"),
    ("forward_error", "MPA forward\nerror"),
)


def plot_gradient_comparison(ax, case: Dict[str, object]) -> None:
    """Bars at one condition number: (a) and (b) against the true gradient, (a) against (b), the forward error."""
    colours = [
        configuration_style("mpa-lya")["color"],
        configuration_style("mpa-adjoint")["color"],
        "#999999",
        REFERENCE_COLORS["reference"],
    ]
    values = [max(case[k], 1e-17) for k, _ in _COMPARISON]
    x = np.arange(len(values))
    bars = ax.bar(x, values, color=colours, log=True, width=0.6)
    for b, v in zip(bars, values):
        ax.text(b.get_x() + b.get_width() / 2, v * 1.3, f"{v:.1e}", ha="center", fontsize=7)
    ax.set_xticks(x, [label for _, label in _COMPARISON], fontsize=7)
    ax.set_ylim(1e-4, 30)
    ax.set_ylabel("relative difference (to the true gradient's norm)")
    ax.set_title(f"MPA [5/5] at cond(A) = {case['cond']:.0e}")
    _log_ticks(ax)


def interactive_gradient_error(
    *, n: Optional[int] = None, cond: float = 1e4, dtype: str = "float32"
) -> InteractivePlot:
    """Slider: cond(A) (half decades 1e1–1e6); dropdown: dtype. Left: error vs condition; right: bars at the slider.

    The sweeps of both dtypes, over the slider's own half-decade grid, are computed when the widget is built
    (cached), so that moving a control only redraws. ``plot.data``: ``sweep`` and ``case`` (the
    :func:`compute_gradient_case` dict).
    """
    import ipywidgets as widgets

    n = pick(32, 8) if n is None else n
    grid = tuple(10.0**e for e in np.arange(1.0, 6.01, 0.5))
    for d in ("float32", "float64"):
        compute_gradient_sweep(grid, n=n, dtype=d)
    style = {"description_width": "120px"}
    controls = {
        "cond": widgets.FloatLogSlider(
            value=cond, base=10, min=1, max=6, step=0.5, description="cond(A)", continuous_update=False, style=style
        ),
        "dtype": widgets.Dropdown(options=["float32", "float64"], value=dtype, description="dtype", style=style),
    }

    def draw(fig, cond, dtype):
        sweep = compute_gradient_sweep(grid, n=n, dtype=dtype)
        case = compute_gradient_case(cond, n=n, dtype=dtype)
        ax1, ax2 = fig.subplots(1, 2, width_ratios=(1.25, 1))
        plot_gradient_error_vs_condition(ax1, sweep, cond=cond)
        plot_gradient_comparison(ax2, case)
        return {"sweep": sweep, "case": case, "cond": cond, "dtype": dtype, "n": n}

    return InteractivePlot(controls, draw, figsize=(12.5, 4.6), title="which gradient? MPA [5/5] against the truth")


# --------------------------------------------------------------------------------------------------
# The inverse square root: the exact error of the MPA inverse, live
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=128)
@_single_threaded
def _inverse_case(degree: int, cond: float, n: int, dtype: str, seed: int):
    A64 = random_spd(n, cond, seed=seed)
    lam, U = torch.linalg.eigh(A64)
    A = A64.to(getattr(torch, dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        R = invsqrtm(A, method="mpa", degree=degree).to(torch.float64)
        S = sqrtm(A, method="mpa", degree=degree).to(torch.float64)
    s = lam.sqrt()
    # eigenvalues of the computed matrices along the exact eigenvectors (Rayleigh quotients)
    r_inv = torch.einsum("ji,jk,ki->i", U, R, U) * s - 1
    r_sqrt = torch.einsum("ji,jk,ki->i", U, S, U) / s - 1
    a = (lam / torch.linalg.matrix_norm(A64)).numpy()
    return a, r_inv.numpy(), r_sqrt.numpy()


def compute_inverse_error(
    degree: int = 5, cond: float = 1e4, *, n: int = 32, dtype: str = "float64", seed: int = 0
) -> Dict[str, object]:
    r"""Per-eigenvalue relative error of the MPA inverse square root, measured and predicted.

    :func:`mathsqrt.invsqrtm` (``method="mpa"``, ``degree``) on ``random_spd(n, cond)`` in ``dtype``;
    at each eigenvector :math:`u_i` of :math:`A` the computed eigenvalue :math:`u_i^T R u_i` against
    :math:`\lambda_i^{-1/2}`, beside the exact Padé error at :math:`a_i = \lambda_i/\|A\|_F`,
    :math:`-2r^N/(1 + r^N)` with :math:`r = (1 - \sqrt a)/(1 + \sqrt a)`, :math:`N = 2K + 1`
    (:func:`mathsqrt.coefficients.pade_relative_error` with ``inverse=True``), and the same for the square
    root (:math:`+2r^N/(1 - r^N)`). Cached.

    Returns
    -------
    dict
        ``a`` (normalised eigenvalues), ``measured`` and ``predicted`` (signed relative errors of the inverse),
        ``measured_sqrt`` and ``predicted_sqrt`` (of the square root), ``max_deviation``
        (:math:`\max_i |\mathrm{measured} - \mathrm{predicted}|` for the inverse), ``all_underestimate``
        (every measured inverse error :math:`\le` rounding), ``degree``, ``cond``, ``n``, ``dtype``, ``eps``.
    """
    a, m_inv, m_sqrt = _inverse_case(int(degree), float(cond), int(n), str(dtype), int(seed))
    p_inv = np.asarray(pade_relative_error(a, int(degree), inverse=True))
    p_sqrt = np.asarray(pade_relative_error(a, int(degree)))
    eps = float(torch.finfo(getattr(torch, dtype)).eps)
    return {
        "a": a,
        "measured": m_inv,
        "predicted": p_inv,
        "measured_sqrt": m_sqrt,
        "predicted_sqrt": p_sqrt,
        "max_deviation": float(np.max(np.abs(m_inv - p_inv))),
        "all_underestimate": bool(np.all(m_inv <= 100 * eps)),
        "degree": int(degree),
        "cond": float(cond),
        "n": int(n),
        "dtype": dtype,
        "eps": eps,
    }


def plot_inverse_error(ax, result: Dict[str, object]) -> None:
    r"""|relative error| against :math:`a = \lambda/\|A\|_F`: exact curves, measured markers.

    Inverse square root solid with circles, square root dashed with crosses.
    """
    K = result["degree"]
    grid = np.geomspace(min(1e-8, float(np.min(result["a"]))), 1.0, 300)
    floor = 1e-18
    inv_colour, sqrt_colour = forward_style("mpa")["color"], "#E69F00"
    ax.loglog(
        grid,
        np.clip(np.abs(pade_relative_error(grid, K, inverse=True)), floor, None),
        "-",
        color=inv_colour,
        label=r"inverse $P^{-1}Q$: $-2r^N/(1+r^N)$",
    )
    ax.loglog(
        result["a"],
        np.clip(np.abs(result["measured"]), floor, None),
        "o",
        ms=5,
        mfc="none",
        color=inv_colour,
        label="measured: mathsqrt.invsqrtm",
    )
    ax.loglog(
        grid,
        np.clip(np.abs(pade_relative_error(grid, K)), floor, None),
        "--",
        color=sqrt_colour,
        label=r"square root $Q^{-1}P$: $+2r^N/(1-r^N)$",
    )
    ax.loglog(
        result["a"],
        np.clip(np.abs(result["measured_sqrt"]), floor, None),
        "x",
        ms=4,
        color=sqrt_colour,
        label="measured: mathsqrt.sqrtm",
    )
    ax.axhline(result["eps"], color="#999999", lw=0.7, ls=":")
    ax.text(
        math.sqrt(grid[0]), result["eps"] * 1.6, f"ε of {result['dtype']}", fontsize=7, color="#666666", ha="center"
    )
    ax.set_ylim(1e-18, 1e2)
    ax.set_xlabel(r"normalised eigenvalue $a = \lambda / \|A\|_F$")
    ax.set_ylabel("|relative error| per eigenvalue")
    sign = "all ≤ 0 up to rounding: it underestimates" if result["all_underestimate"] else "some > 0"
    ax.set_title(f"MPA [{K}/{K}], cond(A) = {result['cond']:.0e}: inverse errors {sign}", fontsize=9)
    _log_ticks(ax)
    ax.legend(loc="lower left", fontsize=7)


def interactive_inverse_error(*, n: Optional[int] = None, degree: int = 5, cond: float = 1e4) -> InteractivePlot:
    """Sliders: degree K, cond(A); dropdown: dtype. The exact error curves of the MPA inverse and square root,
    with the eigenvalue errors of :func:`mathsqrt.invsqrtm` / :func:`mathsqrt.sqrtm` as markers.

    ``plot.data``: the :func:`compute_inverse_error` dict.
    """
    import ipywidgets as widgets

    n = pick(32, 8) if n is None else n
    style = {"description_width": "120px"}
    controls = {
        "degree": widgets.IntSlider(
            value=degree, min=1, max=10, description="degree K", continuous_update=False, style=style
        ),
        "cond": widgets.FloatLogSlider(
            value=cond, base=10, min=1, max=8, step=0.5, description="cond(A)", continuous_update=False, style=style
        ),
        "dtype": widgets.Dropdown(options=["float64", "float32"], value="float64", description="dtype", style=style),
    }

    def draw(fig, degree, cond, dtype):
        result = compute_inverse_error(degree, cond, n=n, dtype=dtype)
        ax = fig.subplots(1, 1)
        plot_inverse_error(ax, result)
        return result

    return InteractivePlot(controls, draw, figsize=(8.0, 4.6), title="the MPA inverse square root: exact error, live")
