r"""Widgets of notebook 03: the forward pass — MTP, MPA, Newton–Schulz and eigh on SPD matrices.

Every approximate method of Song, Sebe & Wang (ICLR 2022) [1]_ is a polynomial or rational
function of :math:`A/\|A\|_F` (Sec. 3.1 and Eq. (3)–(4)): the MTP a polynomial, the MPA a rational
function, and each Newton–Schulz iterate a polynomial. Such a matrix function shares the
eigenvectors of :math:`A` and acts on each eigenvalue separately, so in the eigenbasis
:math:`A = U \Lambda U^T` the computed square root is diagonal and its ``i``-th entry is the
*scalar* method applied to :math:`\lambda_i`. Hence the per-eigenvalue relative error is known in
closed form:

- MPA ``[K/K]``: :func:`mathsqrt.coefficients.pade_relative_error` at :math:`a_i = \lambda_i/\|A\|_F`;
- MTP of degree ``K``: the Taylor remainder :math:`T_K(1 - a_i)/\sqrt{a_i} - 1`;
- NS with ``T`` iterations: the scalar coupled iteration :math:`y_{k+1} = y_k(3 - z_k y_k)/2`,
  :math:`z_{k+1} = (3 - z_k y_k) z_k/2`, :math:`y_0 = a_i`, :math:`z_0 = 1`, giving
  :math:`y_T/\sqrt{a_i} - 1`.

This module measures those errors on random SPD matrices (:mod:`mathsqrt.testing`) and compares
them with the formulas; compares the methods per matmul (:func:`compute_error_vs_matmuls`, exact)
and in wall time (:func:`compute_error_vs_time`, the paper's Fig. 1(c) measured live); measures the
effect of the precision (:func:`compute_precision_table`) and of evaluating MPA's polynomials in
:math:`Z` or :math:`W = I - Z` (:func:`compute_z_vs_w`); and compares Frobenius with
:math:`\lambda_{\max}` normalisation (:func:`compute_normalisation`).

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
.. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Sec. 6.7.
"""

from __future__ import annotations

import contextlib
import math
from functools import lru_cache
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from mathsqrt import methods
from mathsqrt.coefficients import pade_relative_error

from ..checks import check_int
from ..data import FIG1C_SETTINGS as PAPER_FIG1C_SETTINGS
from ..plotting import REFERENCE_COLORS, forward_style
from ..timing import time_functions
from ._common import InteractivePlot, pick
from .approximation import taylor_relative_error

__all__ = [
    "FIG1C_SETTINGS",
    "mtp_degree_for",
    "compute_test_matrix",
    "ns_relative_error",
    "method_relative_error",
    "compute_eigen_errors",
    "default_batch",
    "compute_error_vs_time",
    "plot_eigen_errors",
    "plot_error_vs_time",
    "interactive_forward",
    "matmul_count",
    "frobenius_error",
    "compute_error_vs_matmuls",
    "best_within",
    "mpa_polynomial_form",
    "forward_normalised",
    "PRECISION_SETTINGS",
    "compute_precision_table",
    "format_precision_table",
    "compute_z_vs_w",
    "compute_normalisation",
    "plot_error_vs_matmuls",
    "plot_z_vs_w",
    "plot_normalisation",
    "interactive_z_vs_w",
    "interactive_normalisation",
]

#: Settings swept for the error-versus-time plot: every other setting of the paper's Fig. 1(c)
#: (:data:`mathsqrt.paper.data.FIG1C_SETTINGS`: MTP degrees 6–18, MPA ``[m/m]`` with ``m = 3..9``,
#: NS 3–7 iterations), to keep a live sweep short.
FIG1C_SETTINGS = {forward: values[::2] for forward, values in PAPER_FIG1C_SETTINGS.items()}

_DPS = 60


def mtp_degree_for(K: int) -> int:
    r"""The MTP degree ``2K + 1`` the paper pairs with MPA ``[K/K]``.

    [1]_, Sec. 3.1.2: :math:`M = N = (K_{\mathrm{MTP}} - 1)/2`.
    """
    return 2 * int(K) + 1


def compute_test_matrix(n: int, cond: float, *, seed: int = 0, batch: Sequence[int] = ()):
    r"""Random SPD matrix (or batch) with log-spaced spectrum from 1 down to :math:`1/\mathrm{cond}`.

    Wraps :func:`mathsqrt.testing.random_spd` (float64, fixed seed).

    Returns
    -------
    torch.Tensor, shape ``(*batch, n, n)``, float64
    """
    from mathsqrt.testing import random_spd

    return random_spd(int(n), float(cond), tuple(batch), seed=seed)


@lru_cache(maxsize=256)
def _ns_scalar(iters: int, a_values: Tuple[float, ...]) -> Tuple[float, ...]:
    import mpmath

    out = []
    with mpmath.workdps(_DPS):
        for a in a_values:
            y, z = mpmath.mpf(a), mpmath.mpf(1)
            for _ in range(iters):
                t = (3 - z * y) / 2
                y, z = y * t, t * z
            out.append(float(y / mpmath.sqrt(mpmath.mpf(a)) - 1))
    return tuple(out)


def ns_relative_error(a, iters: int) -> np.ndarray:
    r"""Relative error of ``iters`` coupled Newton–Schulz iterations for :math:`\sqrt a` (scalar, 60 digits).

    .. math:: y_0 = a,\ z_0 = 1,\quad t_k = (3 - z_k y_k)/2,\quad y_{k+1} = y_k t_k,\ z_{k+1} = t_k z_k;
              \qquad \mathrm{error} = y_T/\sqrt a - 1.

    This is [1]_, Eq. (3) for a 1×1 matrix; because every iterate is a polynomial in :math:`A`, it is
    also the exact error of the matrix iteration on the eigenvalue :math:`a` of :math:`A/\|A\|_F`.

    Parameters
    ----------
    a : array_like
        Normalised eigenvalues in ``(0, 1]``.
    iters : int
        ``T >= 1``.

    Returns
    -------
    ndarray, float64, shaped like ``a``
    """
    iters = check_int("iters", iters, 1)
    a = np.asarray(a, dtype=float)
    if np.any(a <= 0) or np.any(a > 1):
        raise ValueError("a must lie in (0, 1]")
    return np.array(_ns_scalar(int(iters), tuple(float(x) for x in a.ravel()))).reshape(a.shape)


def method_relative_error(method: str, a, setting: int) -> np.ndarray:
    """Exact per-eigenvalue relative error of ``method``.

    ``setting`` is ``K`` of ``[K/K]`` for ``"mpa"``, the degree for ``"mtp"``, the iterations for ``"ns"``.
    """
    if method == "mpa":
        return np.asarray(pade_relative_error(np.asarray(a, dtype=float), int(setting)), dtype=float)
    if method == "mtp":
        return taylor_relative_error(a, int(setting))
    if method == "ns":
        return ns_relative_error(a, int(setting))
    raise ValueError(f"no error formula for method {method!r}; choose 'mpa', 'mtp' or 'ns'")


def _sqrtm(A, method: str, setting: Optional[int]):
    """``sqrtm(A, method=method)`` with ``setting`` as the forward's one option (its degree or iterations)."""
    import torch

    import mathsqrt

    kwargs = {} if setting is None else {o.keyword: int(setting) for o in methods.forward_method(method).options}
    with torch.no_grad():
        return mathsqrt.sqrtm(A, method=method, **kwargs)


def compute_eigen_errors(
    n: int, cond: float, degree: int = 5, iters: int = 5, *, seed: int = 0, num: int = 200
) -> Dict[str, object]:
    r"""Measured per-eigenvalue relative errors of the four methods, and the exact formulas.

    For one random SPD matrix :math:`A = U \Lambda U^T` (float64), each method's square root
    :math:`S` is rotated into the eigenbasis, and :math:`d_i = u_i^T S u_i / \sqrt{\lambda_i} - 1`
    is its relative error on the ``i``-th eigenvalue. MPA is ``[degree/degree]``, MTP has degree
    ``2 * degree + 1`` (:func:`mtp_degree_for`), NS ``iters`` iterations.

    Returns
    -------
    dict
        ``a`` (normalised eigenvalues :math:`\lambda_i/\|A\|_F`, ascending), ``measured`` and
        ``predicted`` (dicts ``method -> array`` at ``a``; ``eigh`` has no prediction: it is exact up
        to rounding), ``offdiag`` (dict: largest :math:`|u_i^T S u_j|/\|S\|_2`, ``i != j``: zero up
        to rounding, since :math:`S` is a function of :math:`A`), ``grid`` and ``curves`` (formulas
        on a fine grid of ``a``), ``settings`` (dict ``method -> setting``), ``rounding`` (the
        rounding level :math:`n\,\epsilon\,\sqrt{\|A\|_F/\lambda_i}` of the measurement).
    """
    A, lam, U = _matrices(int(n), float(cond), (), int(seed))
    norm = float(np.sqrt(np.sum(lam**2)))
    a = lam / norm
    settings = {"mpa": int(degree), "mtp": mtp_degree_for(degree), "ns": int(iters), "eigh": None}
    measured, predicted, offdiag = {}, {}, {}
    with _one_thread():
        outputs = {method: _sqrtm(A, method, setting).numpy() for method, setting in settings.items()}
    for method, setting in settings.items():
        D = U.T @ outputs[method] @ U
        measured[method] = np.diag(D) / np.sqrt(lam) - 1
        off = D - np.diag(np.diag(D))
        offdiag[method] = float(np.max(np.abs(off)) / np.sqrt(lam[-1]))  # ||A^{1/2}||_2 = sqrt(lambda_max)
        if setting is not None:
            predicted[method] = method_relative_error(method, a, setting)
    grid = np.logspace(math.log10(max(a.min() / 3, 1e-12)), 0, num)
    curves = {m: method_relative_error(m, grid, s) for m, s in settings.items() if s is not None}
    eps = np.finfo(np.float64).eps
    return {
        "a": a,
        "measured": measured,
        "predicted": predicted,
        "offdiag": offdiag,
        "grid": grid,
        "curves": curves,
        "settings": settings,
        "rounding": n * eps * np.sqrt(1 / a),
    }


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread inside the block (restored after): timings comparable between runs and
    not distorted by thread oversubscription on a shared, loaded machine."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@lru_cache(maxsize=16)
def _matrices(n: int, cond: float, batch: tuple, seed: int):
    """Cached test matrices (torch, float64) with their eigenvalues and eigenvectors (numpy, ascending)."""
    import torch

    with _one_thread():
        A = compute_test_matrix(n, cond, seed=seed, batch=batch)
        lam, U = torch.linalg.eigh(A)
    return A, lam.numpy(), U.numpy()


@lru_cache(maxsize=64)
def _timed_all(
    n: int, cond: float, batch: int, repeats: int, pairs: Tuple[Tuple[str, Optional[int]], ...], seed: int
) -> Tuple[Tuple[float, float, float], ...]:
    """``(median s, IQR s, error)`` of every ``(method, setting)``, timed round robin (one warm-up round)."""
    import torch

    from mathsqrt.testing import sqrtm_reference

    A, _, _ = _matrices(n, cond, (batch,), seed)
    exact = sqrtm_reference(A)
    fns = {i: (lambda m=m, s=s: _sqrtm(A, m, s)) for i, (m, s) in enumerate(pairs)}
    with _one_thread():
        res = time_functions(fns, min_repeats=repeats, max_repeats=repeats, budget_s=float("inf"))
        outputs = [_sqrtm(A, m, s) for m, s in pairs]
    out = []
    for i, S in enumerate(outputs):
        err = torch.linalg.matrix_norm(S - exact) / torch.linalg.matrix_norm(exact)
        out.append((res[i].median / 1e3, res[i].iqr / 1e3, float(err.mean())))
    return tuple(out)


def default_batch(n: int) -> int:
    """Batch size used for timing: about ``8 * 64**2 / n**2`` matrices (constant work), between 2 and 32."""
    return int(min(32, max(2, round(8 * 64**2 / n**2))))


def compute_error_vs_time(
    n: int,
    cond: float,
    *,
    settings: Optional[Dict[str, Sequence[int]]] = None,
    batch: Optional[int] = None,
    repeats: int = 5,
    seed: int = 0,
) -> List[Dict[str, object]]:
    r"""Forward error and wall time of each method and setting on a batch of random SPD matrices.

    The paper's Fig. 1(c), measured live on this machine: for every setting the median and the
    inter-quartile range of ``repeats`` calls of :func:`mathsqrt.sqrtm` on one thread
    (``torch.no_grad``; :func:`mathsqrt.paper.timing.time_functions`, the routine of the benchmark and
    of ``figures/``: one untimed warm-up round, then all settings timed round robin, so that a change
    of load on a shared machine affects all of them alike) on a batch of ``batch`` matrices ``n×n``
    (float64), and the mean relative Frobenius error :math:`\|S - A^{1/2}\|_F/\|A^{1/2}\|_F` against
    :func:`mathsqrt.testing.sqrtm_reference`. (The paper reports the mean absolute error; the relative
    error does not depend on the scale of ``A``.) Cached per ``(n, cond, settings)``.

    Parameters
    ----------
    n, cond
        Size and condition number (:func:`compute_test_matrix`).
    settings : dict, optional
        ``method -> settings`` (default :data:`FIG1C_SETTINGS`); ``"eigh"`` is always added once.
    batch : int, optional
        Default :func:`default_batch`.
    repeats : int
        Timed calls per setting (the IQR needs at least 4).

    Returns
    -------
    list of dict
        ``method``, ``setting`` (``None`` for eigh), ``seconds`` (median), ``iqr_seconds``, ``error``.
    """
    settings = FIG1C_SETTINGS if settings is None else settings
    batch = default_batch(n) if batch is None else int(batch)
    pairs = tuple(
        (method, None if v is None else int(v))
        for method, values in list(settings.items()) + [("eigh", (None,))]
        for v in values
    )
    timed = _timed_all(int(n), float(cond), batch, check_int("repeats", repeats, 1), pairs, int(seed))
    return [
        {"method": m, "setting": s, "seconds": t, "iqr_seconds": q, "error": e}
        for (m, s), (t, q, e) in zip(pairs, timed)
    ]


def plot_eigen_errors(ax, result: Dict[str, object], *, legend: bool = True) -> None:
    """Measured per-eigenvalue ``|relative error|`` (markers) and the exact formulas (lines) against ``a``, log–log."""
    s = result["settings"]
    labels = {
        "mpa": f"MPA [{s['mpa']}/{s['mpa']}]",
        "mtp": f"MTP degree {s['mtp']}",
        "ns": f"NS {s['ns']} iterations",
    }
    values = [result["rounding"]]
    floor = 1e-18  # exact zeros (eigh at an exactly representable root) drawn at the bottom
    for method in ("mtp", "ns", "mpa"):
        st = forward_style(method)
        curve = np.abs(result["curves"][method])
        ax.loglog(result["grid"], np.clip(curve, floor, None), "-", lw=1.2, color=st["color"])
        y = np.abs(result["measured"][method])
        values.append(y)
        ax.loglog(result["a"], np.clip(y, floor, None), st["marker"], ms=3.5, color=st["color"], label=labels[method])
    y = np.abs(result["measured"]["eigh"])
    values.append(y)
    st = forward_style("eigh")
    ax.loglog(result["a"], np.clip(y, floor, None), st["marker"], ms=2.5, color=st["color"], label="eigh")
    ax.loglog(
        result["a"],
        result["rounding"],
        ":",
        color=REFERENCE_COLORS["reference"],
        lw=1.0,
        label=r"rounding $n\epsilon\sqrt{1/a}$",
    )
    v = np.concatenate(values)
    v = v[v > 0]
    ax.set_ylim(max(v.min(), floor) / 3, max(v.max(), 1.0) * 3)
    ax.set_xlim(result["grid"][0], 1.0)
    ax.set_xlabel(r"normalised eigenvalue $a = \lambda/\|A\|_F$")
    ax.set_ylabel("|relative error| on the eigenvalue")
    ax.set_title("per eigenvalue: measured (dots) vs formula (lines)")
    if legend:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3)


def plot_error_vs_time(
    ax, rows: List[Dict[str, object]], *, highlight: Optional[Dict[str, int]] = None, legend: bool = True
) -> None:
    """Error against wall time per method, one line per method through its settings (the paper's Fig. 1(c)).

    Horizontal bars: the inter-quartile range of the timings, where the rows carry ``iqr_seconds``.
    ``highlight`` (``method -> setting``) circles the points of the current settings when present.
    """
    values, times = [], []
    for method in ("ns", "mtp", "mpa"):
        pts = sorted((r for r in rows if r["method"] == method), key=lambda r: r["setting"])
        if not pts:
            continue
        st = forward_style(method)
        t = np.array([r["seconds"] for r in pts]) * 1e3
        e = np.array([r["error"] for r in pts])
        values.append(e)
        times.append(t)
        name = {"ns": "NS (iterations)", "mtp": "MTP (degree)", "mpa": "MPA (K of [K/K])"}[method]
        ax.loglog(t, e, marker=st["marker"], ls="-", color=st["color"], label=name)
        iqr = np.array([r.get("iqr_seconds", 0.0) for r in pts]) * 1e3
        if np.any(iqr > 0):
            ax.errorbar(t, e, xerr=iqr / 2, fmt="none", ecolor=st["color"], elinewidth=0.8, capsize=2)
        for r, ti, ei in zip(pts, t, e):
            ax.annotate(
                str(r["setting"]), (ti, ei), textcoords="offset points", xytext=(3, 3), fontsize=7, color=st["color"]
            )
        if highlight and highlight.get(method) is not None:
            for r, ti, ei in zip(pts, t, e):
                if r["setting"] == highlight[method]:
                    ax.loglog([ti], [ei], "o", ms=12, mfc="none", mec=st["color"], mew=1.5)
    approx = np.concatenate(values) if values else np.array([1.0])
    approx = approx[approx > 0]
    bottom = approx.min() / 3 if len(approx) else 1e-3
    for r in rows:
        if r["method"] == "eigh":
            st = forward_style("eigh")
            times.append(np.array([r["seconds"] * 1e3]))
            # eigh is exact to rounding: drawn at the bottom edge, its error given in the label
            ax.loglog(
                [r["seconds"] * 1e3],
                [bottom * 1.5],
                "*",
                ms=12,
                color=st["color"],
                clip_on=False,
                label=f"eigh (error {r['error']:.0e}, drawn at the bottom)",
            )
    t = np.concatenate(times)
    ax.set_xlim(t.min() / 1.5, t.max() * 1.5)
    ax.set_ylim(bottom, approx.max() * 3 if len(approx) else 1.0)
    ax.set_xlabel("wall time per batch (ms, this CPU, median)")
    ax.set_ylabel(r"mean $\|S - A^{1/2}\|_F / \|A^{1/2}\|_F$")
    ax.set_title("error against time (paper Fig. 1c, measured live)")
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))


def interactive_forward(
    *, degree: int = 5, iters: int = 5, n: Optional[int] = None, cond: float = 1e2
) -> InteractivePlot:
    """Sliders: MPA degree ``K`` (MTP ``2K + 1``), NS iterations, dimension, condition number.

    Left: :func:`plot_eigen_errors`; right: :func:`plot_error_vs_matmuls` (the paper's Fig. 1(c)
    sweep plus the current settings, circled). No timing: every number is exact, so the widget
    answers at once. ``plot.data``: ``a``, ``measured``, ``predicted``, ``settings``, ``offdiag``,
    ``matmuls`` (the rows), ``n``, ``cond``.
    """
    import ipywidgets as widgets

    n = pick(64, 16) if n is None else n
    sizes = [8, 16, 32, 64, 128]
    if n not in sizes:
        sizes = sorted(set(sizes) | {n})
    style = {"description_width": "120px"}
    controls = {
        "degree": widgets.IntSlider(
            value=degree, min=1, max=10, description="MPA K (MTP 2K+1)", continuous_update=False, style=style
        ),
        "iters": widgets.IntSlider(
            value=iters, min=1, max=15, description="NS iterations", continuous_update=False, style=style
        ),
        "n": widgets.SelectionSlider(
            options=sizes, value=n, description="dimension n", continuous_update=False, style=style
        ),
        "cond": widgets.FloatLogSlider(
            value=cond,
            base=10,
            min=0,
            max=6,
            step=0.25,
            description="condition number",
            continuous_update=False,
            style=style,
        ),
    }

    def draw(fig, degree, iters, n, cond):
        result = compute_eigen_errors(n, cond, degree, iters)
        settings = {m: tuple(sorted(set(v) | {result["settings"][m]})) for m, v in PAPER_FIG1C_SETTINGS.items()}
        rows = compute_error_vs_matmuls(n, cond, settings=settings)
        ax1, ax2 = fig.subplots(1, 2)
        plot_eigen_errors(ax1, result)
        plot_error_vs_matmuls(ax2, rows, highlight=result["settings"])
        out = {k: result[k] for k in ("a", "measured", "predicted", "settings", "offdiag")}
        out.update({"matmuls": rows, "n": n, "cond": cond})
        return out

    return InteractivePlot(
        controls, draw, figsize=(12.5, 5.0), title="forward pass: per-eigenvalue error and error against matmuls"
    )


# ------------------------------------------------------------------------------- cost in matmuls


def matmul_count(method: str, setting: int) -> Tuple[int, int]:
    r"""``(matmuls, solves)`` of one forward, independent of the hardware.

    MTP of degree ``K``: ``K - 1`` matmuls (Horner). MPA ``[K/K]`` as the paper evaluates it
    (polynomials, Eq. (12)–(13)): ``K - 1`` matmuls for the powers shared by :math:`P` and
    :math:`Q` and one solve (:mod:`mathsqrt.forward` does exactly this up to ``[5/5]``; above, it
    trades the matmuls for ``K`` shifted solves, see :func:`mathsqrt.forward.mpa`). NS with ``T``
    iterations: :func:`mathsqrt.forward.ns_matmul_count` (``3T - 3``). Checked against
    :func:`mathsqrt.count_ops` in the tests.
    """
    from mathsqrt.forward import ns_matmul_count

    setting = check_int("setting", setting, 1)
    if method == "mtp":
        return max(setting - 1, 0), 0
    if method == "mpa":
        return setting - 1, 1
    if method == "ns":
        return ns_matmul_count(setting), 0
    raise ValueError(f"no matmul count for method {method!r}; choose 'mpa', 'mtp' or 'ns'")


def frobenius_error(lam: np.ndarray, e: np.ndarray) -> float:
    r"""Relative Frobenius error :math:`\|S - A^{1/2}\|_F/\|A^{1/2}\|_F = \sqrt{\sum_i e_i^2\lambda_i/\sum_i\lambda_i}`
    of a matrix function with relative error ``e_i`` on the eigenvalue :math:`\lambda_i`."""
    lam, e = np.asarray(lam, dtype=float), np.asarray(e, dtype=float)
    return float(np.sqrt(np.sum(e**2 * lam) / np.sum(lam)))


def compute_error_vs_matmuls(
    n: int, cond: float, *, settings: Optional[Dict[str, Sequence[int]]] = None, seed: int = 0
) -> List[Dict[str, object]]:
    r"""Forward error against cost in matmuls: the hardware-independent version of the paper's Fig. 1(c).

    For the random SPD matrix of :func:`compute_test_matrix` and every setting, the relative
    Frobenius error follows exactly from the per-eigenvalue formulas (:func:`method_relative_error`,
    :func:`frobenius_error`) — no timing, no noise — and the cost from :func:`matmul_count`.

    Parameters
    ----------
    n, cond, seed
        The matrix.
    settings : dict, optional
        ``method -> settings``; default the paper's full Fig. 1(c) sweep
        (:data:`mathsqrt.paper.data.FIG1C_SETTINGS`: MTP 6–18, MPA ``[3/3]``–``[9/9]``, NS 3–7).

    Returns
    -------
    list of dict
        ``method``, ``setting``, ``matmuls``, ``solves``, ``error`` (relative Frobenius) and
        ``worst`` (``|error|`` on the smallest eigenvalue).
    """
    settings = PAPER_FIG1C_SETTINGS if settings is None else settings
    _, lam, _ = _matrices(int(n), float(cond), (), int(seed))
    a = lam / float(np.sqrt(np.sum(lam**2)))
    rows = []
    for method, values in settings.items():
        for s in values:
            e = method_relative_error(method, a, int(s))
            mm, solves = matmul_count(method, int(s))
            rows.append(
                {
                    "method": method,
                    "setting": int(s),
                    "matmuls": mm,
                    "solves": solves,
                    "error": frobenius_error(lam, e),
                    "worst": float(abs(e[0])),
                }
            )
    return rows


def best_within(rows: List[Dict[str, object]], method: str, matmuls: int) -> Optional[float]:
    """Smallest ``error`` of ``method`` among the rows with at most ``matmuls`` matmuls (``None`` if none)."""
    errors = [r["error"] for r in rows if r["method"] == method and r["matmuls"] <= matmuls]
    return min(errors) if errors else None


# ------------------------------------------------------------------- own evaluations (Z, W, scale)

_DTYPES = ("float64", "float32", "bfloat16")


def _dtype(name: str):
    import torch

    if name not in _DTYPES:
        raise ValueError(f"dtype must be one of {_DTYPES}, got {name!r}")
    return getattr(torch, name)


def _horner(coeffs: Sequence, X):
    """``sum_k coeffs[k] X^k`` by Horner's rule (``len(coeffs) - 1`` matmuls), in the dtype of ``X``."""
    import torch

    eye = torch.eye(X.shape[-1], dtype=X.dtype, device=X.device)
    acc = eye * float(coeffs[-1])
    for c in reversed(coeffs[:-1]):
        acc = acc @ X + eye * float(c)
    return acc


def mpa_polynomial_form(A, K: int, *, form: str = "W", dtype: str = "float64"):
    r"""MPA ``[K/K]`` by polynomials in :math:`Z` (the paper's Eq. (12)) or in :math:`W = I - Z`, in ``dtype``.

    .. math:: S = \sqrt{\|A\|_F}\; Q(X)^{-1} P(X),

    with :math:`X = Z = I - A/\|A\|_F` and the coefficients of
    :func:`mathsqrt.coefficients.pade_coefficients` (``form="Z"``: they alternate in sign and grow
    like :math:`4^K`, while :math:`P` and :math:`Q` are tiny near :math:`z = 1` — cancellation), or
    :math:`X = W = A/\|A\|_F` with the re-expanded, all-positive coefficients of
    :func:`mathsqrt.coefficients.compose_one_minus` (``form="W"``, what :func:`mathsqrt.forward.mpa`
    does up to ``[5/5]``). Both by Horner's rule, one matrix and one solve
    (``torch.linalg.solve``, in float32 for bfloat16, which has no solver).

    Parameters
    ----------
    A : Tensor, shape ``(n, n)``
        SPD, any dtype (cast to ``dtype`` first).
    K : int
    form : ``"Z"`` or ``"W"``
    dtype : ``"float64"``, ``"float32"`` or ``"bfloat16"``

    Returns
    -------
    Tensor, shape ``(n, n)``, float64 (the result, cast up for comparison); all ``inf`` when
    :math:`Q(X)` was rounded to an exactly singular matrix (possible in bfloat16 at high degree).
    """
    import torch

    from mathsqrt.coefficients import compose_one_minus, pade_coefficients

    K = check_int("K", K, 1)
    if form not in ("Z", "W"):
        raise ValueError(f"form must be 'Z' or 'W', got {form!r}")
    d = _dtype(dtype)
    X = A.to(d)
    norm = torch.linalg.matrix_norm(X.float() if d == torch.bfloat16 else X).to(d)
    W = X / norm
    P, Q = pade_coefficients(K)
    if form == "W":
        P, Q = compose_one_minus(P), compose_one_minus(Q)
        X = W
    else:
        X = torch.eye(A.shape[-1], dtype=d) - W
    solve_dtype = torch.float32 if d == torch.bfloat16 else d
    try:
        S = torch.linalg.solve(_horner(Q, X).to(solve_dtype), _horner(P, X).to(solve_dtype))
    except torch.linalg.LinAlgError:  # Q(X) rounded to an exactly singular matrix: no digit left
        return torch.full(A.shape, float("inf"), dtype=torch.float64)
    return (S * norm.to(solve_dtype).sqrt()).to(torch.float64)


def forward_normalised(A, method: str, setting: int, scale: float):
    r"""MTP, MPA or NS of ``A`` (float64) with the normalisation :math:`A/c` for a given scale :math:`c`.

    :math:`S = \sqrt c\, f(A/c)`: ``"mtp"`` the Taylor polynomial of degree ``setting`` in
    :math:`I - A/c`, ``"mpa"`` the ``[setting/setting]`` approximant in :math:`W = A/c`
    (:func:`mpa_polynomial_form`'s W-form), ``"ns"`` ``setting`` coupled Newton–Schulz iterations
    from :math:`Y_0 = A/c`. With :math:`c = \|A\|_F` these are the methods of
    :mod:`mathsqrt.forward`; with :math:`c = \lambda_{\max}` (or a bound :math:`u \ge \lambda_{\max}`,
    :func:`mathsqrt.scaled.spectral_bounds`) every normalised eigenvalue grows by :math:`\|A\|_F/c`.

    Returns
    -------
    Tensor, shape ``(n, n)``, float64
    """
    import torch

    from mathsqrt.coefficients import compose_one_minus, pade_coefficients, taylor_coefficients

    setting = check_int("setting", setting, 1)
    A = A.to(torch.float64)
    c = float(scale)
    if not c > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    eye = torch.eye(A.shape[-1], dtype=A.dtype)
    W = A / c
    if method == "mtp":
        S = _horner(taylor_coefficients(setting), eye - W)
    elif method == "mpa":
        P, Q = (compose_one_minus(p) for p in pade_coefficients(setting))
        S = torch.linalg.solve(_horner(Q, W), _horner(P, W))
    elif method == "ns":
        Y, Zk = W, eye
        for _ in range(setting):
            T = 0.5 * (3 * eye - Zk @ Y)
            Y, Zk = Y @ T, T @ Zk
        S = Y
    else:
        raise ValueError(f"method must be 'mpa', 'mtp' or 'ns', got {method!r}")
    return S * math.sqrt(c)


def _per_eigenvalue(S, U: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """``u_i^T S u_i / sqrt(lambda_i) - 1``: the relative error of ``S`` on each eigenvalue (float64)."""
    S = np.asarray(S, dtype=float)
    return np.einsum("ji,jk,ki->i", U, S, U) / np.sqrt(lam) - 1


# ------------------------------------------------------------------------------------ precision


def _rel(S, exact) -> float:
    import torch

    S = S.to(torch.float64)
    return float(torch.linalg.matrix_norm(S - exact) / torch.linalg.matrix_norm(exact))


#: Settings of the precision table: the paper's defaults and converged ones.
PRECISION_SETTINGS: Tuple[Tuple[str, Optional[int]], ...] = (
    ("mtp", 11),
    ("mpa", 5),
    ("ns", 5),
    ("mpa", 30),
    ("ns", 20),
    ("eigh", None),
)


def compute_precision_table(
    n: int = 32,
    cond: float = 1e2,
    *,
    settings: Sequence[Tuple[str, Optional[int]]] = PRECISION_SETTINGS,
    dtypes: Sequence[str] = _DTYPES,
    seed: int = 0,
) -> List[Dict[str, object]]:
    r"""Relative Frobenius error of :func:`mathsqrt.sqrtm` with inputs in float64, float32 and bfloat16.

    The input is the float64 matrix of :func:`compute_test_matrix` cast to each dtype; the error is
    measured against the float64 :func:`mathsqrt.testing.sqrtm_reference` of the float64 matrix.
    :mod:`mathsqrt` computes bfloat16 in float32 and rounds the result back to bfloat16. The last row,
    ``"rounding"``, is the exact square root of the rounded input, rounded to the dtype: no method
    can do better in that dtype.

    Returns
    -------
    list of dict
        ``method``, ``setting``, ``truncation`` (the error in exact arithmetic, from the formulas;
        0 for eigh) and one key per dtype.
    """
    import torch

    from mathsqrt.testing import sqrtm_reference

    A, lam, _ = _matrices(int(n), float(cond), (), int(seed))
    exact = sqrtm_reference(A)
    a = lam / float(np.sqrt(np.sum(lam**2)))
    rows = []
    with _one_thread():
        for method, setting in settings:
            row: Dict[str, object] = {"method": method, "setting": setting}
            row["truncation"] = (
                0.0 if setting is None else frobenius_error(lam, method_relative_error(method, a, setting))
            )
            for name in dtypes:
                row[name] = _rel(_sqrtm(A.to(_dtype(name)), method, setting), exact)
            rows.append(row)
        row = {"method": "rounding", "setting": None, "truncation": 0.0}
        for name in dtypes:
            d = _dtype(name)
            row[name] = _rel(sqrtm_reference(A.to(d).to(torch.float64)).to(d), exact)
        rows.append(row)
    return rows


def _setting_label(method: str, setting: Optional[int]) -> str:
    if method == "mpa":
        return f"MPA [{setting}/{setting}]"
    if method == "mtp":
        return f"MTP degree {setting}"
    if method == "ns":
        return f"NS {setting} iterations"
    if method == "eigh":
        return "eigh"
    return "exact root of the rounded input, rounded"


def format_precision_table(rows: Sequence[Dict[str, object]], dtypes: Sequence[str] = _DTYPES) -> str:
    """A Markdown table of :func:`compute_precision_table` (display with ``IPython.display.Markdown``)."""
    lines = [
        "| method | exact arithmetic | " + " | ".join(dtypes) + " |",
        "|---|" + "---|" * (len(dtypes) + 1),
    ]
    for r in rows:
        trunc = "–" if r["method"] in ("eigh", "rounding") else f"{r['truncation']:.1e}"
        cells = " | ".join(f"{r[d]:.1e}" for d in dtypes)
        lines.append(f"| {_setting_label(r['method'], r['setting'])} | {trunc} | {cells} |")
    return "\n".join(lines)


@lru_cache(maxsize=32)
def _z_vs_w(n: int, cond: float, dtype: str, degrees: Tuple[int, ...], seed: int) -> Dict[str, object]:
    import torch

    from mathsqrt.coefficients import pade_relative_error as formula
    from mathsqrt.testing import sqrtm_reference

    A, lam, U = _matrices(n, cond, (), seed)
    exact = sqrtm_reference(A)
    a = lam / float(np.sqrt(np.sum(lam**2)))
    d = _dtype(dtype)
    out: Dict[str, object] = {"K": np.array(degrees), "a": a, "n": n, "cond": cond, "dtype": dtype}
    with _one_thread(), torch.no_grad():
        results = {"Z": [], "W": [], "library": []}
        for K in degrees:
            results["Z"].append(mpa_polynomial_form(A, K, form="Z", dtype=dtype))
            results["W"].append(mpa_polynomial_form(A, K, form="W", dtype=dtype))
            results["library"].append(_sqrtm(A.to(d), "mpa", K).to(torch.float64))
        for key, mats in results.items():
            out[key] = np.nan_to_num(np.array([_rel(S, exact) for S in mats]), nan=np.inf)
            per = np.array([_per_eigenvalue(S.numpy(), U, lam) for S in mats])
            out[f"{key}_per_eigenvalue"] = np.nan_to_num(per, nan=np.inf)
        out["rounding"] = _rel(sqrtm_reference(A.to(d).to(torch.float64)).to(d), exact)
    out["truncation"] = np.array([frobenius_error(lam, formula(a, K)) for K in degrees])
    out["truncation_per_eigenvalue"] = np.array([formula(a, K) for K in degrees])
    return out


def compute_z_vs_w(
    n: int = 32, cond: float = 1e2, dtype: str = "float32", *, degrees: Sequence[int] = range(1, 41), seed: int = 0
) -> Dict[str, object]:
    r"""MPA ``[K/K]`` evaluated in :math:`Z` (paper), in :math:`W` (polynomial) and by :mod:`mathsqrt`, in one dtype.

    For every ``K`` in ``degrees``: the relative Frobenius error (against the float64 reference)
    of :func:`mpa_polynomial_form` with ``form="Z"`` and ``form="W"``, and of
    :func:`mathsqrt.sqrtm` (``method="mpa"``: the W-form up to ``[5/5]``, partial fractions above;
    bfloat16 computed in float32), next to the error in exact arithmetic (``truncation``, the
    formula) and the rounding of input and output alone (``rounding``). Cached.

    Returns
    -------
    dict
        ``K``, ``a``, ``Z``, ``W``, ``library``, ``truncation`` (arrays over ``K``),
        ``*_per_eigenvalue`` (arrays ``len(K) × n``), ``rounding``, ``n``, ``cond``, ``dtype``.
    """
    degrees = tuple(check_int("K", int(K), 1) for K in degrees)
    _dtype(dtype)
    return _z_vs_w(int(n), float(cond), dtype, degrees, int(seed))


# --------------------------------------------------------------------------------- normalisation


def compute_normalisation(
    n: int, cond: float, method: str = "mpa", setting: int = 5, *, seed: int = 0, sweep: Sequence[int] = range(1, 13)
) -> Dict[str, object]:
    r"""Frobenius versus :math:`\lambda_{\max}` normalisation of one forward method on one matrix.

    :math:`\|A\|_F = \sqrt{\sum_i\lambda_i^2}` lies between :math:`\lambda_{\max}` and
    :math:`\sqrt n\,\lambda_{\max}`, so dividing by it pushes every eigenvalue toward 0, where every
    method is weakest. :func:`mathsqrt.scaled.spectral_bounds` gives a guaranteed
    :math:`u \ge \lambda_{\max}` (two squarings: :math:`u \le n^{1/8}\lambda_{\max}`). This computes,
    for ``method`` with ``setting`` (MPA ``[K/K]``, MTP degree, NS iterations), the per-eigenvalue
    error under both normalisations — measured with :func:`forward_normalised` and from the formula
    (:func:`method_relative_error` at :math:`a_i = \lambda_i/c`) — and the Frobenius errors.

    Returns
    -------
    dict
        ``lam``, ``fro`` (:math:`\|A\|_F`), ``lam_max``, ``upper`` (:math:`u`), ``a`` (dict
        ``"frobenius"``/``"spectral"`` -> normalised eigenvalues), ``measured``, ``predicted``
        (same keys: per-eigenvalue errors), ``error`` (same keys: measured relative Frobenius
        errors), ``sweep`` (settings) and ``sweep_error`` (same keys: Frobenius errors from the
        formula for every setting of ``sweep``), ``method``, ``setting``, ``n``, ``cond``.
    """
    import torch

    from mathsqrt.scaled import spectral_bounds
    from mathsqrt.testing import sqrtm_reference

    setting = check_int("setting", setting, 1)
    A, lam, U = _matrices(int(n), float(cond), (), int(seed))
    exact = sqrtm_reference(A)
    fro = float(np.sqrt(np.sum(lam**2)))
    with _one_thread():
        upper = float(spectral_bounds(A)[0])
    scales = {"frobenius": fro, "spectral": upper}
    a, measured, predicted, error, sweep_error = {}, {}, {}, {}, {}
    with _one_thread(), torch.no_grad():
        for key, c in scales.items():
            a[key] = lam / c
            S = forward_normalised(A, method, setting, c)
            measured[key] = _per_eigenvalue(S.numpy(), U, lam)
            predicted[key] = method_relative_error(method, a[key], setting)
            error[key] = _rel(S, exact)
            sweep_error[key] = np.array([frobenius_error(lam, method_relative_error(method, a[key], s)) for s in sweep])
    return {
        "lam": lam,
        "fro": fro,
        "lam_max": float(lam[-1]),
        "upper": upper,
        "a": a,
        "measured": measured,
        "predicted": predicted,
        "error": error,
        "sweep": np.array(list(sweep)),
        "sweep_error": sweep_error,
        "method": method,
        "setting": setting,
        "n": int(n),
        "cond": float(cond),
    }


_NAMES = {"ns": "NS (iterations)", "mtp": "MTP (degree)", "mpa": "MPA (K of [K/K]) + 1 solve"}


def plot_error_vs_matmuls(
    ax, rows: List[Dict[str, object]], *, highlight: Optional[Dict[str, int]] = None, legend: bool = True
) -> None:
    """Relative Frobenius error against matmuls, one line per method through its settings.

    ``rows``: :func:`compute_error_vs_matmuls`; ``highlight`` (``method -> setting``) circles points.
    """
    values = []
    for method in ("ns", "mtp", "mpa"):
        pts = sorted((r for r in rows if r["method"] == method), key=lambda r: r["setting"])
        if not pts:
            continue
        st = forward_style(method)
        x = np.array([r["matmuls"] for r in pts])
        y = np.array([r["error"] for r in pts])
        values.append(y)
        ax.semilogy(x, y, marker=st["marker"], ls="-", color=st["color"], label=_NAMES[method])
        for r, xi, yi in zip(pts, x, y):
            ax.annotate(
                str(r["setting"]), (xi, yi), textcoords="offset points", xytext=(3, 3), fontsize=7, color=st["color"]
            )
        if highlight and highlight.get(method) is not None:
            for r, xi, yi in zip(pts, x, y):
                if r["setting"] == highlight[method]:
                    ax.semilogy([xi], [yi], "o", ms=12, mfc="none", mec=st["color"], mew=1.5)
    v = np.concatenate(values)
    v = v[v > 0]
    ax.set_ylim(v.min() / 2, v.max() * 2)
    xs = [r["matmuls"] for r in rows]
    ax.set_xlim(min(xs) - 0.5, max(xs) + 1.0)
    ax.set_xlabel("matrix products (MPA: + one solve)")
    ax.set_ylabel(r"$\|S - A^{1/2}\|_F / \|A^{1/2}\|_F$")
    ax.set_title("error against matmuls (exact, any hardware)")
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))


_FORMS = {
    "Z": dict(color=REFERENCE_COLORS["paper"], marker="v", ls="-", label="polynomials in $Z$ (paper Eq. 12)"),
    "W": dict(color=forward_style("mpa")["color"], marker="s", ls="--", label="polynomials in $W = I - Z$"),
    "library": dict(
        color=forward_style("eigh")["color"],
        marker="o",
        mfc="none",
        ls=":",
        label="mathsqrt.sqrtm (partial fractions above [5/5])",
    ),
}


def plot_z_vs_w(ax_deg, ax_eig, result: Dict[str, object], K: int) -> None:
    """Left: error against ``K`` of the three evaluations, exact arithmetic and the rounding floor.

    Right: the error on each eigenvalue at degree ``K``. ``result``: :func:`compute_z_vs_w`.
    """
    Ks = result["K"]
    values = [result["truncation"], np.array([result["rounding"]])]
    for key, st in _FORMS.items():
        y = np.clip(result[key], 1e-18, 1e6)  # an exactly singular Q(X) (error inf) drawn at the top
        values.append(y)
        ax_deg.semilogy(Ks, y, ms=3.5, lw=1.2, **st)
    ax_deg.semilogy(Ks, result["truncation"], "-", color="#999999", lw=3, alpha=0.6, label="exact arithmetic (formula)")
    ax_deg.axhline(
        result["rounding"], color="#555555", lw=0.9, ls="-.", label=f"rounding of input and output ({result['dtype']})"
    )
    if K in set(int(k) for k in Ks):
        i = int(np.nonzero(Ks == K)[0][0])
        ax_deg.axvline(K, color="#E69F00", lw=1.0)
        ax_deg.semilogy([K], [np.clip(result["Z"][i], 1e-18, 1e6)], "o", ms=11, mfc="none", mec="#E69F00", mew=1.5)
    v = np.concatenate(values)
    v = v[v > 0]
    ax_deg.set_ylim(max(v.min(), 1e-18) / 3, min(v.max(), 1e6) * 3)
    ax_deg.set_xlim(Ks[0] - 0.5, Ks[-1] + 0.5)
    ax_deg.set_xlabel("Padé degree $K$")
    ax_deg.set_ylabel("relative Frobenius error")
    ax_deg.set_title(f"MPA [K/K] in {result['dtype']} (n = {result['n']}, cond {result['cond']:.0e})")
    ax_deg.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8)
    i = int(np.nonzero(Ks == K)[0][0]) if K in set(int(k) for k in Ks) else len(Ks) - 1
    a = result["a"]
    vals = [np.abs(result["truncation_per_eigenvalue"][i])]
    for key, st in _FORMS.items():
        y = np.clip(np.abs(result[f"{key}_per_eigenvalue"][i]), 1e-18, 1e6)
        vals.append(y)
        ax_eig.loglog(
            a, y, marker=st["marker"], ls="none", ms=4, mfc="none" if key == "library" else st["color"], mec=st["color"]
        )
    ax_eig.loglog(a, np.clip(vals[0], 1e-18, None), "-", color="#999999", lw=3, alpha=0.6)
    v = np.concatenate(vals)
    v = v[v > 0]
    ax_eig.set_ylim(max(v.min(), 1e-18) / 3, min(v.max(), 1e6) * 3)
    ax_eig.set_xlim(a[0] / 1.3, a[-1] * 1.3)
    ax_eig.set_xlabel(r"normalised eigenvalue $a = \lambda/\|A\|_F$ ($z = 1 - a$)")
    ax_eig.set_ylabel("|relative error| on the eigenvalue")
    ax_eig.set_title(f"per eigenvalue at K = {int(Ks[i])}")


def plot_normalisation(ax_a, ax_sweep, result: Dict[str, object], *, label: str = "") -> None:
    r"""Left: the scalar error curve and where the eigenvalues land under each normalisation (measured dots);
    right: Frobenius error against the setting under each normalisation."""
    method, setting = result["method"], result["setting"]
    st = forward_style(method)
    lo = min(result["a"]["frobenius"].min(), result["a"]["spectral"].min()) / 1.5
    grid = np.logspace(math.log10(lo), 0, 200)
    curve = np.abs(method_relative_error(method, grid, setting))
    ax_a.loglog(grid, np.clip(curve, 1e-18, None), "-", color=st["color"], lw=1.2, label=f"{label}: formula")
    ratio = result["fro"] / result["lam_max"]
    keys = {
        "frobenius": dict(mfc="none", label=rf"$a_i = \lambda_i/\|A\|_F$ ($\|A\|_F = {ratio:.2f}\,\lambda_{{\max}}$)"),
        "spectral": dict(
            mfc=st["color"],
            label=rf"$a_i = \lambda_i/u$ ($u = {result['upper'] / result['lam_max']:.3f}\,\lambda_{{\max}}$)",
        ),
    }
    values = [curve]
    for key, kw in keys.items():
        y = np.clip(np.abs(result["measured"][key]), 1e-18, None)
        values.append(y)
        ax_a.loglog(result["a"][key], y, "o", ms=4, mec=st["color"], ls="none", **kw)
    ax_a.axvline(1 / math.sqrt(result["n"]), color="#999999", lw=0.8, ls=":", label=r"$1/\sqrt{n}$")
    v = np.concatenate(values)
    v = v[v > 1e-18]
    ax_a.set_ylim(max(v.min(), 1e-17) / 3, v.max() * 3)
    ax_a.set_xlim(lo, 1.1)
    ax_a.set_xlabel("normalised eigenvalue $a$")
    ax_a.set_ylabel("|relative error| on the eigenvalue")
    ax_a.set_title(f"where the eigenvalues land (n = {result['n']}, cond {result['cond']:.0e})")
    ax_a.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8)
    x = result["sweep"]
    for key, ls, name in (("frobenius", "--", r"$\|A\|_F$"), ("spectral", "-", r"$u \geq \lambda_{\max}$")):
        ax_sweep.semilogy(
            x,
            np.clip(result["sweep_error"][key], 1e-18, None),
            marker=st["marker"],
            ls=ls,
            color=st["color"],
            mfc="none" if key == "frobenius" else st["color"],
            label=f"divide by {name}",
        )
        hit = np.nonzero(x == setting)[0]
        if len(hit):
            y0 = result["sweep_error"][key][hit[0]]
            ax_sweep.semilogy([setting], [max(y0, 1e-18)], "o", ms=12, mfc="none", mec="#E69F00", mew=1.5)
    sw = np.concatenate([result["sweep_error"][k] for k in ("frobenius", "spectral")])
    sw = sw[sw > 0]
    ax_sweep.set_ylim(max(sw.min(), 1e-17) / 3, sw.max() * 3)
    ax_sweep.set_xlim(x[0] - 0.5, x[-1] + 0.5)
    ax_sweep.set_xlabel({"mpa": "K of [K/K]", "ns": "iterations", "mtp": "degree"}[method])
    ax_sweep.set_ylabel("relative Frobenius error (formula)")
    ax_sweep.set_title("error against the setting")
    ax_sweep.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))


def interactive_z_vs_w(
    *, K: int = 10, dtype: str = "float32", cond: float = 1e2, n: Optional[int] = None
) -> InteractivePlot:
    """Sliders ``K`` and condition number, dropdown dtype: MPA in Z, in W and by mathsqrt (:func:`compute_z_vs_w`).

    ``plot.data``: the dict of :func:`compute_z_vs_w` plus ``K``.
    """
    import ipywidgets as widgets

    n = pick(32, 16) if n is None else n
    top = pick(40, 24)
    style = {"description_width": "140px"}
    controls = {
        "K": widgets.IntSlider(
            value=K, min=1, max=top, description="Padé degree K", continuous_update=False, style=style
        ),
        "dtype": widgets.Dropdown(options=list(_DTYPES), value=dtype, description="precision", style=style),
        "cond": widgets.FloatLogSlider(
            value=cond,
            base=10,
            min=0,
            max=6,
            step=0.5,
            description="condition number",
            continuous_update=False,
            style=style,
        ),
    }

    def draw(fig, K, dtype, cond):
        result = compute_z_vs_w(n, cond, dtype, degrees=range(1, top + 1))
        ax1, ax2 = fig.subplots(1, 2)
        plot_z_vs_w(ax1, ax2, result, K)
        return dict(result, K=K)

    return InteractivePlot(
        controls, draw, figsize=(12.0, 5.0), title="where the digits go: MPA in Z, in W, by mathsqrt"
    )


_NORMALISATION_METHODS = {"MPA [K/K]": "mpa", "NS, K iterations": "ns", "MTP, degree 2K+1": "mtp"}


def _setting(method: str, K: int) -> int:
    return mtp_degree_for(K) if method == "mtp" else int(K)


def interactive_normalisation(
    *, method: str = "MPA [K/K]", K: int = 5, n: Optional[int] = None, cond: float = 1e2
) -> InteractivePlot:
    """Dropdown method, sliders ``K``, dimension and condition number: Frobenius versus λ_max normalisation.

    ``plot.data``: the dict of :func:`compute_normalisation` plus ``label``.
    """
    import ipywidgets as widgets

    n = pick(64, 16) if n is None else n
    sizes = sorted({8, 16, 32, 64, 128} | {n})
    style = {"description_width": "140px"}
    controls = {
        "method": widgets.Dropdown(
            options=list(_NORMALISATION_METHODS), value=method, description="method", style=style
        ),
        "K": widgets.IntSlider(value=K, min=1, max=12, description="K", continuous_update=False, style=style),
        "n": widgets.SelectionSlider(
            options=sizes, value=n, description="dimension n", continuous_update=False, style=style
        ),
        "cond": widgets.FloatLogSlider(
            value=cond,
            base=10,
            min=0,
            max=6,
            step=0.5,
            description="condition number",
            continuous_update=False,
            style=style,
        ),
    }

    def draw(fig, method, K, n, cond):
        name = _NORMALISATION_METHODS[method]
        sweep = [_setting(name, k) for k in range(1, 13)]
        result = compute_normalisation(n, cond, name, _setting(name, K), sweep=sweep)
        ax1, ax2 = fig.subplots(1, 2)
        plot_normalisation(
            ax1, ax2, result, label=method.replace("K", str(K)) if name != "mtp" else f"MTP, degree {_setting(name, K)}"
        )
        return dict(result, label=method)

    return InteractivePlot(controls, draw, figsize=(12.0, 5.0), title="normalise by ‖A‖_F or by λ_max?")
