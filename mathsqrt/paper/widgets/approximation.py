r"""Widgets of notebook 02: Taylor polynomials versus Padé approximants of :math:`\sqrt{1 - z}`.

The scalar picture behind the matrix methods of Song, Sebe & Wang (ICLR 2022) [1]_, Sec. 3.1 and
appendices A.11–A.12: for an SPD matrix :math:`A` and :math:`Z = I - A/\|A\|_F`, every eigenvalue
:math:`z = 1 - a` of :math:`Z` lies in :math:`[0, 1)` (:math:`a = \lambda/\|A\|_F`), and a matrix
polynomial or rational function of :math:`Z` acts on each eigenvalue separately. So the error of MTP
and MPA *is* the error of the scalar approximations drawn here, at the points :math:`z_i`.

Conventions: the Taylor polynomial of degree ``2K`` and the diagonal Padé approximant ``[K/K]`` are
compared side by side, because the latter is built from exactly the same ``2K + 1`` Taylor
coefficients (:func:`mathsqrt.coefficients.pade_coefficients`). Errors are *relative*,
:math:`\mathrm{approx}(z)/\sqrt{1-z} - 1`, "measured" by evaluating the exact rational coefficients
in 60-digit arithmetic (mpmath) so that errors far below float64 rounding remain visible; the exact
closed form :func:`mathsqrt.coefficients.pade_relative_error` is drawn next to them.

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
.. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from mathsqrt.coefficients import (
    evaluate,
    pade_coefficients,
    pade_denominator_minimum,
    pade_poles,
    pade_relative_error,
    paper_convention,
    taylor_coefficients,
    taylor_error_at_one,
)

from ..checks import check_int
from ..data import PADE_MINIMA, PADE_Q
from ..plotting import REFERENCE_COLORS, forward_style
from ._common import InteractivePlot, pick

__all__ = [
    "compute_approximations",
    "compute_relative_errors",
    "taylor_relative_error",
    "compute_error_vs_degree",
    "compute_series_terms",
    "compute_poles_zeros",
    "compute_denominator",
    "compute_denominator_table",
    "format_denominator_table",
    "compute_det_q",
    "plot_approximations",
    "plot_relative_errors",
    "plot_error_vs_degree",
    "plot_series_terms",
    "plot_poles_zeros",
    "plot_denominator",
    "interactive_approximation",
    "interactive_error_vs_degree",
    "interactive_poles",
]

_TAYLOR = forward_style("mtp")["color"]
_PADE = forward_style("mpa")["color"]
_EXACT = REFERENCE_COLORS["exact"]
_PAPER = REFERENCE_COLORS["paper"]
_DPS = 60


def compute_approximations(K: int, z: np.ndarray) -> Dict[str, np.ndarray]:
    r"""Values of :math:`\sqrt{1-z}`, its Taylor polynomial of degree ``2K`` and its ``[K/K]`` Padé approximant.

    Parameters
    ----------
    K : int
        Padé degree, ``K >= 1``; the Taylor polynomial has degree ``2K`` (the same ``2K + 1``
        matched series coefficients).
    z : array_like, real, :math:`z \le 1`

    Returns
    -------
    dict
        ``z``, ``exact``, ``taylor``, ``pade`` (float64 arrays shaped like ``z``) and
        ``taylor_degree``.
    """
    K = check_int("K", K, 1)
    z = np.asarray(z, dtype=float)
    if np.any(z > 1):
        raise ValueError("z must be <= 1 (the square root is real there)")
    P, Q = pade_coefficients(K)
    T = taylor_coefficients(2 * K)
    return {
        "z": z,
        "exact": np.sqrt(1 - z),
        "taylor": evaluate([float(c) for c in T], z),
        "pade": evaluate([float(c) for c in P], z) / evaluate([float(c) for c in Q], z),
        "taylor_degree": 2 * K,
    }


@lru_cache(maxsize=256)
def _mp_relative_errors(kind: str, K: int, a_values: Tuple[float, ...]) -> Tuple[float, ...]:
    import mpmath

    with mpmath.workdps(_DPS):
        if kind == "pade":
            P, Q = pade_coefficients(K)
            num = [mpmath.mpf(c.numerator) / c.denominator for c in P]
            den = [mpmath.mpf(c.numerator) / c.denominator for c in Q]
        else:
            num = [mpmath.mpf(c.numerator) / c.denominator for c in taylor_coefficients(K)]
            den = [mpmath.mpf(1)]
        out = []
        for a in a_values:
            a = mpmath.mpf(a)
            z = 1 - a
            value = mpmath.polyval(num[::-1], z) / mpmath.polyval(den[::-1], z)
            out.append(float(value / mpmath.sqrt(a) - 1))
    return tuple(out)


def taylor_relative_error(a, K: int) -> np.ndarray:
    r"""Signed relative error :math:`T_K(1-a)/\sqrt a - 1` of the degree-``K`` Taylor polynomial (60 digits).

    This is the exact per-eigenvalue error of the MTP of degree ``K`` ([1]_, Eq. (10)).

    Parameters
    ----------
    a : array_like
        Normalised eigenvalues in ``(0, 1]``.
    K : int
        Taylor degree, ``K >= 0``.

    Returns
    -------
    ndarray, float64, shaped like ``a``
    """
    K = check_int("K", K, 0)
    a = np.asarray(a, dtype=float)
    if np.any(a <= 0) or np.any(a > 1):
        raise ValueError("a must lie in (0, 1]")
    return np.array(_mp_relative_errors("taylor", K, tuple(float(x) for x in a.ravel()))).reshape(a.shape)


def compute_relative_errors(K: int, a: np.ndarray) -> Dict[str, np.ndarray]:
    r"""Relative errors of the degree-``2K`` Taylor polynomial and the ``[K/K]`` Padé approximant at :math:`z = 1 - a`.

    Parameters
    ----------
    K : int
        Padé degree.
    a : array_like
        Normalised eigenvalues :math:`a = 1 - z \in (0, 1]`.

    Returns
    -------
    dict
        ``a``; ``taylor`` and ``pade``: measured signed relative errors
        :math:`\mathrm{approx}/\sqrt a - 1` (exact coefficients evaluated with 60 digits);
        ``pade_formula``: :func:`~mathsqrt.coefficients.pade_relative_error` (closed form);
        ``taylor_at_one``: the Taylor error at :math:`a = 0`.
    """
    K = check_int("K", K, 1)
    a = np.asarray(a, dtype=float)
    if np.any(a <= 0) or np.any(a > 1):
        raise ValueError("a must lie in (0, 1]")
    flat = tuple(float(x) for x in a.ravel())
    return {
        "a": a,
        "taylor": np.array(_mp_relative_errors("taylor", 2 * K, flat)).reshape(a.shape),
        "pade": np.array(_mp_relative_errors("pade", K, flat)).reshape(a.shape),
        "pade_formula": np.asarray(pade_relative_error(a, K), dtype=float),
        "taylor_at_one": taylor_error_at_one(2 * K),
    }


def compute_error_vs_degree(a: float, degrees: Iterable[int] = range(1, 21)) -> Dict[str, np.ndarray]:
    r"""Relative error at one normalised eigenvalue ``a`` as a function of the degree.

    Returns
    -------
    dict
        ``K`` (Padé degrees), ``taylor`` (degree ``2K``), ``pade``, ``pade_formula`` (all relative
        errors at ``a``, signed) and ``taylor_at_one`` (the degree-``2K`` Taylor error at
        :math:`a = 0`, the worst case over :math:`[0, 1)`).
    """
    if not 0 < a <= 1:
        raise ValueError(f"a must lie in (0, 1], got {a}")
    Ks = np.array([check_int("K", int(K), 1) for K in degrees])
    taylor = [_mp_relative_errors("taylor", 2 * int(K), (float(a),))[0] for K in Ks]
    pade = [_mp_relative_errors("pade", int(K), (float(a),))[0] for K in Ks]
    return {
        "K": Ks,
        "taylor": np.array(taylor),
        "pade": np.array(pade),
        "pade_formula": np.array([pade_relative_error(a, int(K)) for K in Ks]),
        "taylor_at_one": np.array([taylor_error_at_one(2 * int(K)) for K in Ks]),
    }


def compute_series_terms(z: float, K: int = 40) -> Dict[str, np.ndarray]:
    r"""Terms :math:`c_k z^k` of the series of :math:`\sqrt{1-z}` and the error of the partial sums.

    Returns
    -------
    dict
        ``k`` (``0..K``), ``terms`` (:math:`c_k z^k`), ``partial`` (partial sums) and ``error``
        (partial sum minus :math:`\sqrt{1-z}`).

    Notes
    -----
    For :math:`z \in [0, 1)`, every term beyond the first is negative and shrinks monotonically:
    there is no intermediate growth and no cancellation — for a symmetric :math:`Z` no "hump"
    (the paper's Sec. 3.1.2 wording) can occur. The partial sums decrease monotonically to
    :math:`\sqrt{1-z}`; what hurts is the *slow*, algebraic decay :math:`|c_k| \sim k^{-3/2}/(2\sqrt\pi)`
    as :math:`z \to 1`.
    """
    K = check_int("K", K, 0)
    if not -1 <= z <= 1:
        raise ValueError(f"z must lie in [-1, 1], got {z}")
    c = np.array([float(x) for x in taylor_coefficients(K)])
    k = np.arange(K + 1)
    terms = c * float(z) ** k
    partial = np.cumsum(terms)
    return {"k": k, "terms": terms, "partial": partial, "error": partial - math.sqrt(1 - z)}


@lru_cache(maxsize=None)
def _zeros(K: int) -> Tuple[complex, ...]:
    import sympy

    P, _ = pade_coefficients(K)
    x = sympy.Symbol("z")
    poly = sympy.Poly([sympy.Rational(c.numerator, c.denominator) for c in reversed(P)], x)
    roots = [complex(r) for r in poly.nroots(n=30, maxsteps=200)]
    return tuple(sorted(roots, key=lambda r: (r.real, r.imag)))


def compute_poles_zeros(K: int) -> Dict[str, np.ndarray]:
    r"""Poles and zeros of the ``[K/K]`` Padé approximant of :math:`\sqrt{1-z}`, with their closed forms.

    Returns
    -------
    dict
        ``poles``, ``zeros`` (complex arrays, sorted by real part, from sympy's 30-digit root
        finder on the exact polynomials) and ``poles_formula`` :math:`= \sec^2(j\pi/N)`,
        ``zeros_formula`` :math:`= \sec^2((2j-1)\pi/(2N))`, ``j = 1..K``, ``N = 2K + 1``
        (ascending).

    Notes
    -----
    With :math:`s = \sqrt{1-z}`, :math:`4^K P = ((1+s)^N + (1-s)^N)/2` and
    :math:`4^K Q = ((1+s)^N - (1-s)^N)/(2s)`, so both vanish where :math:`((1+s)/(1-s))^N = \mp 1`:
    at :math:`s = i\tan(\cdot)` and :math:`z = 1 + \tan^2 = \sec^2`. All are real, greater than 1
    and interlaced along the branch cut :math:`[1, \infty)` of :math:`\sqrt{1-z}` — never in the
    spectrum :math:`[0, 1)` of :math:`Z` ([1]_, appendix A.11).
    """
    K = check_int("K", K, 1)
    N = 2 * K + 1
    j = np.arange(1, K + 1)
    return {
        "poles": np.array(pade_poles(K), dtype=complex),
        "zeros": np.array(_zeros(K), dtype=complex),
        "poles_formula": np.sort(1 / np.cos(j * np.pi / N) ** 2),
        "zeros_formula": np.sort(1 / np.cos((2 * j - 1) * np.pi / (2 * N)) ** 2),
    }


def compute_denominator(K: int, x: Optional[np.ndarray] = None, *, paper: bool = False) -> Dict[str, object]:
    r"""The Padé denominator :math:`Q_K(x)` on ``[0, 1]`` and its minimum there.

    Parameters
    ----------
    K : int
        Degree.
    x : array_like, optional
        Where to evaluate (default 401 points on ``[0, 1]``).
    paper : bool
        Use the coefficients printed in the paper (:data:`mathsqrt.paper.data.PADE_Q`, ``K`` in 3..6) instead of the
        exact ones.

    Returns
    -------
    dict
        ``x``, ``Q`` (values), ``coefficients`` (ascending, ``Fraction``; the printed decimals are
        converted exactly), ``min_x`` and ``min_value`` (exact ``Fraction`` when the minimum is at
        an end point or a rational critical point, else float).
    """
    K = check_int("K", K, 1)
    x = np.linspace(0.0, 1.0, 401) if x is None else np.asarray(x, dtype=float)
    if paper:
        if K not in PADE_Q:
            raise ValueError(f"the paper prints Q only for K in {sorted(PADE_Q)}, got {K}")
        coeffs = (Fraction(1),) + tuple(-Fraction(str(q)) for q in PADE_Q[K])
        z_min, v_min = _minimum_on_unit_interval(coeffs)
    else:
        coeffs = pade_coefficients(K)[1]
        m = pade_denominator_minimum(K)
        z_min, v_min = m.z, m.value
    return {
        "x": x,
        "Q": evaluate([float(c) for c in coeffs], x),
        "coefficients": coeffs,
        "min_x": z_min,
        "min_value": v_min,
    }


@lru_cache(maxsize=None)
def _minimum_on_unit_interval(coeffs: Tuple[Fraction, ...]):
    import sympy

    x = sympy.Symbol("x")
    poly = sympy.Poly([sympy.Rational(c.numerator, c.denominator) for c in reversed(coeffs)], x)
    candidates = [(evaluate(coeffs, Fraction(0)), Fraction(0)), (evaluate(coeffs, Fraction(1)), Fraction(1))]
    for root in sympy.Poly(poly.diff(), x).real_roots():
        if 0 < root < 1:
            if root.is_Rational:
                r = Fraction(int(root.p), int(root.q))
                candidates.append((evaluate(coeffs, r), r))
            else:
                r = float(root.evalf(30))
                candidates.append((float(evaluate(coeffs, r)), r))
    value, where = min(candidates, key=lambda t: float(t[0]))
    return where, value


def compute_denominator_table(degrees: Sequence[int] = (3, 4, 5, 6)) -> List[Dict[str, object]]:
    r"""For each ``K``: the exact ``q`` coefficients, the printed ones, their disagreements, and both minima.

    Returns
    -------
    list of dict
        Keys ``K``; ``q_exact`` (paper convention, ``Fraction``); ``q_paper`` (floats as printed, or
        ``None`` when the paper prints none); ``mismatches`` (list of ``(index, printed, exact)``,
        1-based index ``k`` of :math:`q_k`); ``min_x`` and ``min_exact`` (exact minimum of
        :math:`Q_K` on ``[0, 1]``, a ``Fraction``); ``closed_form`` :math:`(2K+1)/4^K`;
        ``min_quoted`` (the paper's Eq. 33, or ``None``); ``min_of_printed`` (minimum of the
        polynomial with the printed coefficients, exact).
    """
    rows = []
    for K in degrees:
        K = check_int("K", K, 1)
        q_exact = paper_convention(pade_coefficients(K)[1])
        q_paper = PADE_Q.get(K)
        mismatches = []
        if q_paper is not None:
            for k, (printed, exact) in enumerate(zip(q_paper, q_exact), start=1):
                if Fraction(str(printed)) != exact:
                    mismatches.append((k, printed, exact))
        m = pade_denominator_minimum(K)
        rows.append(
            {
                "K": K,
                "q_exact": q_exact,
                "q_paper": q_paper,
                "mismatches": mismatches,
                "min_x": m.z,
                "min_exact": m.value,
                "closed_form": Fraction(2 * K + 1, 4**K),
                "min_quoted": PADE_MINIMA.get(K),
                "min_of_printed": compute_denominator(K, np.array([1.0]), paper=True)["min_value"]
                if q_paper is not None
                else None,
            }
        )
    return rows


def format_denominator_table(rows: Sequence[Dict[str, object]]) -> str:
    """A Markdown table of :func:`compute_denominator_table` (display with ``IPython.display.Markdown``)."""
    lines = [
        "| K | exact min of $Q_K$ on [0,1] | at $x$ | $(2K+1)/4^K$ | quoted in paper (A.12) "
        "| min with printed $q$ | printed $q$ that differ from exact |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        quoted = "–" if r["min_quoted"] is None else repr(r["min_quoted"])
        printed = "–" if r["min_of_printed"] is None else f"{float(r['min_of_printed']):.10g}"
        if r["q_paper"] is None:
            diff = "(not printed)"
        elif r["mismatches"]:
            diff = "; ".join(f"$q_{{{k}}}$: printed {p:g}, exact {e} = {float(e):g}" for k, p, e in r["mismatches"])
        else:
            diff = "none"
        lines.append(
            f"| {r['K']} | {r['min_exact']} = {float(r['min_exact']):.10g} | {r['min_x']} | {r['closed_form']} "
            f"| {quoted} | {printed} | {diff} |"
        )
    return "\n".join(lines)


def compute_det_q(A: np.ndarray, K: int = 5) -> Dict[str, float]:
    r"""Check :math:`\det Q_K(Z) = \prod_i Q_K(z_i)` for an SPD matrix ``A``, :math:`Z = I - A/\|A\|_F`.

    Parameters
    ----------
    A : ndarray, shape ``(n, n)``
        Symmetric positive definite.
    K : int
        Padé degree.

    Returns
    -------
    dict
        ``logdet`` (:math:`\log\det Q(Z)` from a float64 LU), ``logprod``
        (:math:`\sum_i \log Q(z_i)` from the eigenvalues), ``sign`` of the determinant,
        ``min_eig`` (smallest eigenvalue of :math:`Q(Z)`), ``lower_bound`` :math:`Q_K(1)` and
        ``cond`` (2-norm condition number of :math:`Q(Z)`, at most :math:`1/Q_K(1) = 4^K/(2K+1)`).
    """
    K = check_int("K", K, 1)
    A = np.asarray(A, dtype=float)
    n = A.shape[-1]
    Z = np.eye(n) - A / np.linalg.norm(A)
    _, Q = pade_coefficients(K)
    QZ = np.zeros_like(Z)
    for c in reversed(Q):  # Horner on matrices
        QZ = QZ @ Z + float(c) * np.eye(n)
    sign, logdet = np.linalg.slogdet(QZ)
    z = np.linalg.eigvalsh(Z)
    qz = evaluate([float(c) for c in Q], z)
    eig = np.linalg.eigvalsh(0.5 * (QZ + QZ.T))
    return {
        "logdet": float(logdet),
        "logprod": float(np.sum(np.log(qz))),
        "sign": float(sign),
        "min_eig": float(eig[0]),
        "lower_bound": float(evaluate(Q, Fraction(1))),
        "cond": float(eig[-1] / eig[0]),
    }


# ----------------------------------------------------------------------------------------- plots


def plot_approximations(
    ax, K: int, *, zmin: float = -1.0, zmax: float = 1.0, num: int = 401, inset: bool = True
) -> Dict[str, float]:
    r"""Draw :math:`\sqrt{1-z}`, its Taylor polynomial of degree ``2K`` and its ``[K/K]`` Padé approximant.

    The paper's Fig. 4 (appendix A.11) uses :math:`|z| < 1`, the default range. With ``inset`` a
    zoom on :math:`z \in [0.9, 1]`, where the approximations part, is drawn inside the axes.

    Returns
    -------
    dict
        ``taylor_max_error``, ``pade_max_error``: largest absolute errors on the grid.
    """
    d = compute_approximations(K, np.linspace(zmin, zmax, num))
    ax.plot(d["z"], d["exact"], color=_EXACT, lw=2.6, alpha=0.35, label=r"$\sqrt{1-z}$")
    ax.plot(d["z"], d["taylor"], color=_TAYLOR, ls="--", label=f"Taylor, degree {2 * K}")
    ax.plot(d["z"], d["pade"], color=_PADE, label=f"Padé [{K}/{K}]")
    ax.axvspan(0, min(zmax, 1.0), color="#DDDDDD", alpha=0.4, lw=0, label="spectrum of $Z$")
    ax.set_xlabel("$z$")
    ax.set_ylabel("value")
    ax.set_title(rf"$\sqrt{{1-z}}$ and its approximations, $K = {K}$")
    ax.legend(loc="lower left")
    if inset:
        zoom = compute_approximations(K, np.linspace(0.9, 1.0, 201))
        ins = ax.inset_axes([0.56, 0.56, 0.4, 0.38])
        ins.plot(zoom["z"], zoom["exact"], color=_EXACT, lw=2.6, alpha=0.35)
        ins.plot(zoom["z"], zoom["taylor"], color=_TAYLOR, ls="--")
        ins.plot(zoom["z"], zoom["pade"], color=_PADE)
        ins.set_xlim(0.9, 1.0)
        ins.set_ylim(0.0, 0.35)
        ins.set_title(r"zoom: $0.9 \leq z \leq 1$", fontsize=8)
        ins.tick_params(labelsize=7)
    return {
        "taylor_max_error": float(np.max(np.abs(d["taylor"] - d["exact"]))),
        "pade_max_error": float(np.max(np.abs(d["pade"] - d["exact"]))),
    }


def plot_relative_errors(ax, K: int, *, a_min: float = 1e-6, num: int = 61) -> Dict[str, np.ndarray]:
    r"""Relative error against :math:`a = 1 - z` (log–log): Taylor ``2K`` and Padé ``[K/K]`` measured, Padé formula.

    Returns
    -------
    dict
        The arrays of :func:`compute_relative_errors`.
    """
    a = np.logspace(math.log10(a_min), 0, num)
    d = compute_relative_errors(K, a)
    floor = 1e-40
    ax.loglog(
        a, np.clip(np.abs(d["taylor"]), floor, None), "o", ms=3, color=_TAYLOR, label=f"Taylor {2 * K} (measured)"
    )
    ax.loglog(a, np.clip(np.abs(d["pade"]), floor, None), "o", ms=3, color=_PADE, label=f"Padé [{K}/{K}] (measured)")
    ax.loglog(
        a, np.clip(np.abs(d["pade_formula"]), floor, None), "-", color=_PADE, lw=1.0, label=r"Padé: $2r^N/(1-r^N)$"
    )
    ax.axhline(np.finfo(np.float64).eps, color="#999999", lw=0.8, ls=":", label="float64 rounding")
    ax.set_ylim(1e-20, 1e4)
    ax.set_xlabel(r"$a = 1 - z = \lambda/\|A\|_F$")
    ax.set_ylabel("|relative error|")
    ax.set_title("relative error (60-digit evaluation)")
    ax.legend(loc="lower left")
    return d


def plot_error_vs_degree(ax, a: float, degrees: Iterable[int] = range(1, 21)) -> Dict[str, np.ndarray]:
    r"""Relative error at ``a`` against the degree ``K``.

    Taylor ``2K`` and Padé ``[K/K]`` measured, the Padé formula, and Taylor at ``a = 0``.
    """
    d = compute_error_vs_degree(a, degrees)
    floor = 1e-60
    ax.semilogy(
        d["K"], np.clip(np.abs(d["taylor"]), floor, None), "o-", color=_TAYLOR, label=f"Taylor $2K$ at $a = {a:.3g}$"
    )
    ax.semilogy(
        d["K"],
        np.clip(np.abs(d["pade"]), floor, None),
        "o",
        color=_PADE,
        label=f"Padé $[K/K]$ at $a = {a:.3g}$ (measured)",
    )
    ax.semilogy(d["K"], np.clip(np.abs(d["pade_formula"]), floor, None), "-", color=_PADE, lw=1.0, label="Padé formula")
    ax.semilogy(d["K"], d["taylor_at_one"], "--", color=_TAYLOR, lw=1.0, label="Taylor $2K$: absolute error at $a = 0$")
    ax.axhline(np.finfo(np.float64).eps, color="#999999", lw=0.8, ls=":", label="float64 rounding")
    values = np.abs(np.concatenate([d["taylor"], d["pade"], d["taylor_at_one"]]))
    values = values[values > 0]
    ax.set_ylim(max(1e-40, values.min() / 10), max(10.0, values.max() * 10))
    ax.set_xlabel("Padé degree $K$ (Taylor degree $2K$)")
    ax.set_ylabel("|relative error|")
    ax.set_title("error against degree")
    ax.legend(loc="best")
    return d


def plot_series_terms(ax, z: float, K: int = 40) -> Dict[str, np.ndarray]:
    r"""Magnitudes :math:`|c_k z^k|` of the Taylor terms and the error of the partial sums against ``k``."""
    d = compute_series_terms(z, K)
    ax.semilogy(
        d["k"][1:], np.clip(np.abs(d["terms"][1:]), 1e-300, None), "o", ms=3, color=_TAYLOR, label=r"$|c_k z^k|$"
    )
    ax.semilogy(d["k"], np.clip(np.abs(d["error"]), 1e-300, None), "-", color=_EXACT, label="error of partial sum")
    ax.set_xlabel("$k$")
    ax.set_title(f"Taylor terms at $z = {z:.6g}$")
    ax.set_ylim(max(1e-18, ax.get_ylim()[0]), 2)
    ax.legend(loc="lower left")
    return d


def plot_poles_zeros(ax, K: int) -> Dict[str, np.ndarray]:
    r"""Poles (×) and zeros (○) of the ``[K/K]`` approximant in the complex plane (log real axis), with closed forms.

    The spectrum :math:`[0, 1)` of :math:`Z` is shaded; the branch cut :math:`[1, \infty)` of
    :math:`\sqrt{1-z}` is the thick grey line on which the poles and zeros interlace.
    """
    d = compute_poles_zeros(K)
    right = max(10.0, 2 * float(np.max(d["poles"].real)))
    ax.axvspan(0.05, 1.0, color="#DDDDDD", alpha=0.5, lw=0, label="spectrum of $Z$: $[0, 1)$")
    ax.plot(
        [1.0, right],
        [0, 0],
        color="#999999",
        lw=5,
        alpha=0.5,
        solid_capstyle="butt",
        label=r"branch cut of $\sqrt{1-z}$",
    )
    for x in d["poles_formula"]:
        ax.axvline(x, color=_PADE, lw=0.6, alpha=0.5)
    ax.plot(d["poles"].real, d["poles"].imag, "x", color=_PADE, ms=9, mew=2, label=r"poles: roots of $Q$")
    ax.plot(
        d["zeros"].real, d["zeros"].imag, "o", mfc="none", color=_TAYLOR, ms=8, mew=1.5, label=r"zeros: roots of $P$"
    )
    ax.set_xscale("log")
    ax.set_xlim(0.05, right)
    ax.set_ylim(-1, 1)
    ax.set_xlabel(r"Re $z$ (log scale); thin lines: $\sec^2(j\pi/(2K+1))$")
    ax.set_ylabel("Im $z$")
    ax.set_title(f"poles and zeros of Padé [{K}/{K}]")
    ax.legend(loc="upper left")
    return d


def plot_denominator(ax, K: int, *, show_paper: bool = True) -> Dict[str, object]:
    r"""The denominator :math:`Q_K(x)` on ``[0, 1]`` (log scale) with its minimum.

    For ``K`` in 3..6 also the polynomial printed in the paper.
    """
    d = compute_denominator(K)
    ax.semilogy(d["x"], d["Q"], color=_PADE, label=rf"$Q_{{{K}}}(x)$, exact")
    ax.semilogy(
        [float(d["min_x"])],
        [float(d["min_value"])],
        "o",
        color=_PADE,
        label=f"min = {d['min_value']} = {float(d['min_value']):.7g}",
    )
    out = {"exact": d}
    if show_paper and K in PADE_Q:
        pd_ = compute_denominator(K, paper=True)
        ax.semilogy(pd_["x"], pd_["Q"], ls="--", color=_PAPER, label="printed $q$ (A.12)")
        quoted = PADE_MINIMA[K]
        ax.semilogy([1.0], [quoted], "+", color=_PAPER, ms=12, mew=2, label=f"quoted min = {quoted:g}")
        out["paper"] = pd_
    ax.set_xlabel("$x$ (an eigenvalue of $Z$)")
    ax.set_ylabel(r"$Q_K(x)$")
    ax.set_title(r"denominator: $\det Q(Z) = \prod_i Q(z_i) > 0$")
    ax.legend(loc="lower left")
    return out


# ------------------------------------------------------------------------------------ widgets


def interactive_approximation(*, K: int = 3) -> InteractivePlot:
    """Slider ``K``: the approximations on ``[-1, 1]`` (paper Fig. 4) and their relative errors against ``a``.

    ``plot.data``: ``taylor_max_error``, ``pade_max_error`` (on ``[-1, 1]``), ``a``, ``pade``, ``taylor``,
    ``pade_formula`` (the error arrays), ``K``.
    """
    import ipywidgets as widgets

    num = pick(61, 31)
    controls = {"K": widgets.IntSlider(value=K, min=1, max=10, description="degree K", continuous_update=False)}

    def draw(fig, K):
        ax1, ax2 = fig.subplots(1, 2)
        out = plot_approximations(ax1, K)
        d = plot_relative_errors(ax2, K, num=num)
        out.update({k: d[k] for k in ("a", "taylor", "pade", "pade_formula")})
        out["K"] = K
        return out

    return InteractivePlot(controls, draw, figsize=(10.0, 4.2), title="Taylor (degree 2K) versus Padé [K/K] for √(1−z)")


def interactive_error_vs_degree(*, a: float = 1e-2) -> InteractivePlot:
    """Slider ``a`` (normalised eigenvalue): error against degree, and the Taylor terms at :math:`z = 1 - a`.

    ``plot.data``: ``K``, ``taylor``, ``pade``, ``pade_formula``, ``taylor_at_one``, ``terms``, ``a``.
    """
    import ipywidgets as widgets

    controls = {
        "a": widgets.FloatLogSlider(
            value=a, base=10, min=-6, max=0, step=0.25, description="a = λ/‖A‖", continuous_update=False
        )
    }
    degrees = range(1, pick(21, 13))

    def draw(fig, a):
        ax1, ax2 = fig.subplots(1, 2)
        d = plot_error_vs_degree(ax1, a, degrees)
        t = plot_series_terms(ax2, 1.0 - a)
        out = {k: d[k] for k in ("K", "taylor", "pade", "pade_formula", "taylor_at_one")}
        out.update({"terms": t["terms"], "a": a})
        return out

    return InteractivePlot(controls, draw, figsize=(10.0, 4.2), title="error against degree at one eigenvalue")


def interactive_poles(*, K: int = 5) -> InteractivePlot:
    """Slider ``K``: poles and zeros of ``[K/K]`` and the denominator :math:`Q_K` on ``[0, 1]``.

    ``plot.data``: ``poles``, ``zeros``, ``poles_formula``, ``zeros_formula``, ``min_value`` (exact),
    ``min_x``, ``K``.
    """
    import ipywidgets as widgets

    controls = {"K": widgets.IntSlider(value=K, min=1, max=10, description="degree K", continuous_update=False)}

    def draw(fig, K):
        ax1, ax2 = fig.subplots(1, 2)
        d = plot_poles_zeros(ax1, K)
        q = plot_denominator(ax2, K)["exact"]
        out = {k: d[k] for k in ("poles", "zeros", "poles_formula", "zeros_formula")}
        out.update({"min_value": q["min_value"], "min_x": q["min_x"], "K": K})
        return out

    return InteractivePlot(
        controls, draw, figsize=(10.0, 4.2), title="where the Padé approximant could break: poles and det Q"
    )
