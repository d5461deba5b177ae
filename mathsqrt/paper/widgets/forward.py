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
them with the formulas, and measures error against time as in the paper's Fig. 1(c).

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

    A = compute_test_matrix(n, cond, seed=seed, batch=batch)
    with _one_thread():
        lam, U = torch.linalg.eigh(A)
    return A, lam.numpy(), U.numpy()


@lru_cache(maxsize=512)
def _timed(
    n: int, cond: float, batch: int, repeats: int, method: str, setting: Optional[int], seed: int
) -> Tuple[float, float]:
    import torch

    from mathsqrt.testing import sqrtm_reference

    A, _, _ = _matrices(n, cond, (batch,), seed)
    exact = sqrtm_reference(A)
    with _one_thread():
        res = time_functions(
            {"sqrtm": lambda: _sqrtm(A, method, setting)}, max_repeats=repeats, min_repeats=1, budget_s=float("inf")
        )["sqrtm"]
        S = _sqrtm(A, method, setting)
    err = torch.linalg.matrix_norm(S - exact) / torch.linalg.matrix_norm(exact)
    return res.median / 1e3, float(err.mean())


def default_batch(n: int) -> int:
    """Batch size used for timing: about ``8 * 64**2 / n**2`` matrices (constant work), between 2 and 32."""
    return int(min(32, max(2, round(8 * 64**2 / n**2))))


def compute_error_vs_time(
    n: int,
    cond: float,
    *,
    settings: Optional[Dict[str, Sequence[int]]] = None,
    batch: Optional[int] = None,
    repeats: int = 3,
    seed: int = 0,
) -> List[Dict[str, object]]:
    r"""Forward error and wall time of each method and setting on a batch of random SPD matrices.

    The paper's Fig. 1(c), measured live on this machine: for every setting the median wall time of
    ``repeats`` calls (:func:`mathsqrt.paper.timing.time_functions`, the statistic of the benchmark and
    of ``figures/``) of :func:`mathsqrt.sqrtm` on one thread (after one warm-up, ``torch.no_grad``) on
    a batch of ``batch`` matrices ``n×n`` (float64), and the mean relative Frobenius error
    :math:`\|S - A^{1/2}\|_F/\|A^{1/2}\|_F` against :func:`mathsqrt.testing.sqrtm_reference`. (The paper reports
    the mean absolute error; the relative error does not depend on the scale of ``A``.) Results are
    cached per setting, so moving another slider does not re-time.

    Parameters
    ----------
    n, cond
        Size and condition number (:func:`compute_test_matrix`).
    settings : dict, optional
        ``method -> settings`` (default :data:`FIG1C_SETTINGS`); ``"eigh"`` is always added once.
    batch : int, optional
        Default :func:`default_batch`.
    repeats : int
        Timed calls per setting.

    Returns
    -------
    list of dict
        ``method``, ``setting`` (``None`` for eigh), ``seconds``, ``error``.
    """
    settings = FIG1C_SETTINGS if settings is None else settings
    batch = default_batch(n) if batch is None else int(batch)
    rows = []
    for method, values in list(settings.items()) + [("eigh", (None,))]:
        for s in values:
            seconds, err = _timed(
                int(n), float(cond), batch, int(repeats), method, None if s is None else int(s), int(seed)
            )
            rows.append({"method": method, "setting": s, "seconds": seconds, "error": err})
    return rows


def plot_eigen_errors(ax, result: Dict[str, object]) -> None:
    """Measured per-eigenvalue ``|relative error|`` (markers) and the exact formulas (lines) against ``a``, log–log."""
    floor = 1e-24  # room below the rounding level for the legend
    s = result["settings"]
    labels = {
        "mpa": f"MPA [{s['mpa']}/{s['mpa']}]",
        "mtp": f"MTP degree {s['mtp']}",
        "ns": f"NS {s['ns']} iterations",
        "eigh": "eigh",
    }
    for method in ("mtp", "ns", "mpa"):
        color = forward_style(method)["color"]
        ax.loglog(result["grid"], np.clip(np.abs(result["curves"][method]), floor, None), "-", lw=1.2, color=color)
        ax.loglog(
            result["a"],
            np.clip(np.abs(result["measured"][method]), floor, None),
            "o",
            ms=3.5,
            color=color,
            label=labels[method],
        )
    ax.loglog(
        result["a"],
        np.clip(np.abs(result["measured"]["eigh"]), floor, None),
        "s",
        ms=2.5,
        color=forward_style("eigh")["color"],
        label="eigh",
    )
    ax.loglog(
        result["a"],
        result["rounding"],
        ":",
        color=REFERENCE_COLORS["reference"],
        lw=1.0,
        label=r"rounding $n\epsilon\sqrt{1/a}$",
    )
    ax.set_ylim(floor, 10)
    ax.set_xlabel(r"normalised eigenvalue $a = \lambda/\|A\|_F$")
    ax.set_ylabel("|relative error| on the eigenvalue")
    ax.set_title("per eigenvalue: measured (dots) vs formula (lines)")
    ax.legend(loc="lower left")


def plot_error_vs_time(ax, rows: List[Dict[str, object]], *, highlight: Optional[Dict[str, int]] = None) -> None:
    """Error against wall time per method, one line per method through its settings (the paper's Fig. 1(c)).

    ``highlight`` (``method -> setting``) circles the points of the current settings when present.
    """
    for method in ("ns", "mtp", "mpa"):
        pts = sorted((r for r in rows if r["method"] == method), key=lambda r: r["setting"])
        if not pts:
            continue
        t = np.array([r["seconds"] for r in pts]) * 1e3
        e = np.clip([r["error"] for r in pts], 1e-17, None)
        name = {"ns": "NS (iterations)", "mtp": "MTP (degree)", "mpa": "MPA (m of [m/m])"}[method]
        color = forward_style(method)["color"]
        ax.loglog(t, e, "o-", color=color, label=name)
        for r, ti, ei in zip(pts, t, e):
            ax.annotate(str(r["setting"]), (ti, ei), textcoords="offset points", xytext=(3, 3), fontsize=7, color=color)
        if highlight and highlight.get(method) is not None:
            for r, ti, ei in zip(pts, t, e):
                if r["setting"] == highlight[method]:
                    ax.loglog([ti], [ei], "o", ms=12, mfc="none", mec=color, mew=1.5)
    for r in rows:
        if r["method"] == "eigh":
            ax.loglog(
                [r["seconds"] * 1e3],
                [max(r["error"], 1e-17)],
                "*",
                ms=12,
                color=forward_style("eigh")["color"],
                label="eigh",
            )
    ax.set_xlabel("wall time per batch (ms, this CPU)")
    ax.set_ylabel(r"mean $\|S - A^{1/2}\|_F / \|A^{1/2}\|_F$")
    ax.set_title("error against time (paper Fig. 1c, measured live)")
    ax.legend(loc="best")


def interactive_forward(
    *, degree: int = 5, iters: int = 5, n: Optional[int] = None, cond: float = 1e2, repeats: Optional[int] = None
) -> InteractivePlot:
    """Sliders: MPA degree ``K`` (MTP ``2K + 1``), NS iterations, dimension, condition number.

    Left: :func:`plot_eigen_errors`; right: :func:`plot_error_vs_time` (cached per ``n``, ``cond``;
    the current settings circled). ``plot.data``: ``a``, ``measured``, ``predicted``, ``settings``,
    ``timing`` (the rows), ``n``, ``cond``.
    """
    import ipywidgets as widgets

    n = pick(64, 16) if n is None else n
    repeats = pick(3, 1) if repeats is None else repeats
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
        settings = {m: tuple(sorted(set(v) | {result["settings"][m]})) for m, v in FIG1C_SETTINGS.items()}
        rows = compute_error_vs_time(n, cond, settings=settings, repeats=repeats)
        ax1, ax2 = fig.subplots(1, 2)
        plot_eigen_errors(ax1, result)
        plot_error_vs_time(ax2, rows, highlight=result["settings"])
        out = {k: result[k] for k in ("a", "measured", "predicted", "settings", "offdiag")}
        out.update({"timing": rows, "n": n, "cond": cond})
        return out

    return InteractivePlot(
        controls, draw, figsize=(11.0, 4.6), title="forward pass: per-eigenvalue error and error against time"
    )
