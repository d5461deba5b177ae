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

Beyond the diagonal comparison: every ``[m/n]`` at equal cost (:func:`compute_pade_table`,
:func:`compute_pade_choice`: error and pole location; ``max(m, n) - 1`` matmuls and one solve,
:func:`mpa_cost`), the float64 solve of the Padé system (:func:`compute_float_pade_solve`), and the
degrees of the paper's Table 5 on a random covariance (:func:`compute_degree_ablation`).

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
.. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008.
"""

from __future__ import annotations

import contextlib
import math
from fractions import Fraction
from functools import lru_cache
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

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
from ..data import PADE_MINIMA, PADE_Q, TABLE5_DEGREES
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
    "compute_float_pade_solve",
    "pade_mn_relative_error",
    "mpa_cost",
    "compute_pade_table",
    "compute_pade_choice",
    "compute_degree_ablation",
    "plot_approximations",
    "plot_relative_errors",
    "plot_error_vs_degree",
    "plot_series_terms",
    "plot_poles_zeros",
    "plot_denominator",
    "plot_pade_table",
    "plot_pade_choice",
    "plot_pade_poles",
    "plot_degree_ablation",
    "interactive_approximation",
    "interactive_error_vs_degree",
    "interactive_poles",
    "interactive_pade_choice",
    "interactive_degree_ablation",
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


def compute_float_pade_solve(degrees: Iterable[int] = (5, 10, 15, 20)) -> Dict[str, np.ndarray]:
    r"""The ``[K/K]`` denominator from the Padé linear system solved in float64 (``numpy.linalg.solve``).

    The system :math:`\sum_{j=1}^{K} Q_j c_{k-j} = -c_k`, ``k = K+1..2K``, is a Toeplitz system in
    the Taylor coefficients; solved in floating point its conditioning destroys the coefficients
    as ``K`` grows, which is why :func:`mathsqrt.coefficients.pade_coefficients` solves it exactly.

    Returns
    -------
    dict
        ``K``; ``cond`` (2-norm condition number of the system matrix); ``error`` (largest relative
        error of the float64 coefficients against the exact ones).
    """
    Ks = [check_int("K", int(K), 1) for K in degrees]
    conds, errors = [], []
    for K in Ks:
        c = np.array([float(x) for x in taylor_coefficients(2 * K)])
        M = np.array([[c[K + i - j] if K + i - j >= 0 else 0.0 for j in range(K)] for i in range(K)])
        q = np.linalg.solve(M, -c[K + 1 : 2 * K + 1])
        exact = np.array([float(x) for x in pade_coefficients(K)[1][1:]])
        conds.append(np.linalg.cond(M))
        errors.append(np.max(np.abs(q - exact) / np.abs(exact)))
    return {"K": np.array(Ks), "cond": np.array(conds), "error": np.array(errors)}


# ------------------------------------------------------------------ the [m/n] choice (off-diagonal)


@lru_cache(maxsize=4096)
def _mp_pade_mn(m: int, n: int, a_values: Tuple[float, ...]) -> Tuple[float, ...]:
    import mpmath

    with mpmath.workdps(_DPS):
        P, Q = pade_coefficients(m, n)
        num = [mpmath.mpf(c.numerator) / c.denominator for c in reversed(P)]
        den = [mpmath.mpf(c.numerator) / c.denominator for c in reversed(Q)]
        out = []
        for a in a_values:
            a = mpmath.mpf(a)
            out.append(float(mpmath.polyval(num, 1 - a) / mpmath.polyval(den, 1 - a) / mpmath.sqrt(a) - 1))
    return tuple(out)


def pade_mn_relative_error(a, m: int, n: int) -> np.ndarray:
    r"""Signed relative error :math:`P_m(1-a)/(Q_n(1-a)\sqrt a) - 1` of the ``[m/n]`` Padé approximant (60 digits).

    ``[m/0]`` is the Taylor polynomial of degree ``m``; ``[K/K]`` agrees with
    :func:`mathsqrt.coefficients.pade_relative_error`.

    Parameters
    ----------
    a : array_like
        Normalised eigenvalues in ``(0, 1]``.
    m, n : int
        Degrees of the numerator and the denominator, ``>= 0``.

    Returns
    -------
    ndarray, float64, shaped like ``a``
    """
    m, n = check_int("m", m, 0), check_int("n", n, 0)
    a = np.asarray(a, dtype=float)
    if np.any(a <= 0) or np.any(a > 1):
        raise ValueError("a must lie in (0, 1]")
    return np.array(_mp_pade_mn(m, n, tuple(float(x) for x in a.ravel()))).reshape(a.shape)


@lru_cache(maxsize=None)
def _poles_on_cut(m: int, n: int) -> bool:
    """Whether every root of ``Q`` of ``[m/n]`` is real and > 1 (numpy roots of the exact coefficients)."""
    _, Q = pade_coefficients(m, n)
    if n == 0:
        return True
    roots = np.roots([float(c) for c in reversed(Q)])
    return bool(np.all(np.abs(roots.imag) <= 1e-9 * np.abs(roots)) and np.all(roots.real > 1))


def mpa_cost(m: int, n: int) -> Tuple[int, int]:
    r"""``(matmuls, solves)`` of MPA ``[m/n]`` evaluated as polynomials: the powers :math:`W^2..W^d`
    (``d = max(m, n)``, shared by ``P`` and ``Q``) and one solve with ``Q`` (none when ``n = 0``).

    The count :mod:`mathsqrt.forward` performs for its polynomial evaluation (checked with
    :func:`mathsqrt.count_ops` in the tests).
    """
    m, n = check_int("m", m, 0), check_int("n", n, 0)
    return max(m, n, 1) - 1, int(n > 0)


def compute_pade_table(a: float, max_degree: int = 10) -> Dict[str, object]:
    r"""Every ``[m/n]`` Padé approximant of :math:`\sqrt{1-z}`, ``0 <= m, n <= max_degree``, at one eigenvalue.

    Parameters
    ----------
    a : float
        Normalised eigenvalue :math:`a = 1 - z \in (0, 1]`.
    max_degree : int
        Largest ``m`` and ``n``.

    Returns
    -------
    dict
        ``degrees`` (``0..max_degree``); 2-D arrays indexed ``[m, n]``: ``error`` (signed relative
        error at ``a``, 60 digits), ``on_cut`` (every pole real and beyond 1, on the branch cut of
        :math:`\sqrt{1-z}`), ``matmuls`` (:func:`mpa_cost`); ``best_same_cost`` (``d ->`` the
        ``(m, n)`` of smallest ``|error|`` among ``max(m, n) = d``) and ``best_same_order``
        (``T ->`` that among ``m + n = T``, for ``T <= max_degree``); ``a``.
    """
    max_degree = check_int("max_degree", max_degree, 1)
    if not 0 < a <= 1:
        raise ValueError(f"a must lie in (0, 1], got {a}")
    d = np.arange(max_degree + 1)
    error = np.array([[pade_mn_relative_error(np.array([a]), m, n)[0] for n in d] for m in d])
    on_cut = np.array([[_poles_on_cut(int(m), int(n)) for n in d] for m in d])
    matmuls = np.array([[mpa_cost(int(m), int(n))[0] for n in d] for m in d])
    mag = np.abs(error)
    same_cost, same_order = {}, {}
    for k in range(1, max_degree + 1):
        cells = [(m, n) for m in d for n in d if max(m, n) == k]
        same_cost[k] = tuple(int(x) for x in min(cells, key=lambda c: mag[c]))
        cells = [(m, k - m) for m in range(k + 1)]
        same_order[k] = tuple(int(x) for x in min(cells, key=lambda c: mag[c]))
    return {
        "a": float(a),
        "degrees": d,
        "error": error,
        "on_cut": on_cut,
        "matmuls": matmuls,
        "best_same_cost": same_cost,
        "best_same_order": same_order,
    }


@lru_cache(maxsize=None)
def _zeros_mn(m: int, n: int) -> Tuple[complex, ...]:
    P, _ = pade_coefficients(m, n)
    if m == 0:
        return ()
    roots = np.roots([float(c) for c in reversed(P)])
    return tuple(sorted((complex(r) for r in roots), key=lambda r: (r.real, r.imag)))


def compute_pade_choice(m: int, n: int, *, a_min: float = 1e-6, num: int = 49) -> Dict[str, object]:
    r"""One ``[m/n]`` approximant against the diagonal ones of the same cost and of the same order.

    Same cost: ``[d/d]`` with ``d = max(m, n)`` (the same matmuls, :func:`mpa_cost`, and one more
    matched coefficient per missing degree). Same order: ``[⌈T/2⌉/⌊T/2⌋]`` with ``T = m + n`` (the
    same ``T + 1`` Taylor coefficients, arranged differently).

    Returns
    -------
    dict
        ``a`` (grid); ``m``, ``n``, ``same_cost`` and ``same_order`` (degree pairs); ``errors``
        (``(m, n) -> signed relative error on the grid``, 60 digits); ``poles`` (roots of
        :math:`Q`, :func:`mathsqrt.coefficients.pade_poles`), ``zeros`` (roots of :math:`P`),
        ``on_cut``; ``q_min`` (:func:`mathsqrt.coefficients.pade_denominator_minimum` of
        :math:`Q` on ``[0, 1]``); ``cost`` (``(matmuls, solves)``).
    """
    m, n = check_int("m", m, 0), check_int("n", n, 0)
    if m + n == 0:
        raise ValueError("[0/0] is the constant 1: choose m + n >= 1")
    a = np.logspace(math.log10(a_min), 0, num)
    d, T = max(m, n), m + n
    same_cost, same_order = (d, d), ((T + 1) // 2, T // 2)
    errors = {pair: pade_mn_relative_error(a, *pair) for pair in dict.fromkeys([(m, n), same_cost, same_order])}
    return {
        "a": a,
        "m": m,
        "n": n,
        "same_cost": same_cost,
        "same_order": same_order,
        "errors": errors,
        "poles": np.array(pade_poles(m, n), dtype=complex),
        "zeros": np.array(_zeros_mn(m, n), dtype=complex),
        "on_cut": _poles_on_cut(m, n),
        "q_min": pade_denominator_minimum(m, n).value,
        "cost": mpa_cost(m, n),
    }


# ------------------------------------------------------------------------- Table 5: the degree ablation


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """torch on one thread inside the block: no oversubscription on a shared, loaded machine."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@lru_cache(maxsize=32)
def _covariance(n: int, samples: int, seed: int):
    import torch

    from mathsqrt.testing import random_covariance, sqrtm_reference

    with _one_thread():
        C = random_covariance(n, samples=samples, seed=seed)
        lam = torch.linalg.eigvalsh(C).numpy()
        return C, lam, sqrtm_reference(C)


def compute_degree_ablation(
    n: int = 64, *, samples: Optional[int] = None, seed: int = 0, degrees: Sequence[int] = TABLE5_DEGREES
) -> Dict[str, object]:
    r"""The MPA degrees of the paper's Table 5 on one random covariance matrix: error per eigenvalue and overall.

    The matrix is :func:`mathsqrt.testing.random_covariance` (``samples`` Gaussian vectors in
    dimension ``n``, default ``2n``: the paper's numerical tests use random covariances, Sec. 4.1).
    For each ``[K/K]``: the exact relative error on every eigenvalue
    (:func:`mathsqrt.coefficients.pade_relative_error` at :math:`a_i = \lambda_i/\|C\|_F`), the
    relative Frobenius error it implies, :math:`\sqrt{\sum_i e_i^2\lambda_i / \sum_i\lambda_i}`, the
    same error measured on :func:`mathsqrt.sqrtm` (float64, against
    :func:`mathsqrt.testing.sqrtm_reference`), and the operations counted by
    :func:`mathsqrt.count_ops`.

    Returns
    -------
    dict
        ``a`` (ascending), ``cond``, ``n``, ``samples``, ``degrees``; per degree (lists in the order
        of ``degrees``): ``per_eigenvalue`` (arrays), ``worst`` (the error at the smallest
        eigenvalue), ``frobenius`` (from the formula), ``measured``, ``ops`` (dicts of counts);
        ``ratio`` (``worst[k+1]/worst[k]``; about :math:`r_{\min}^2`,
        :math:`r_{\min} = (1-\sqrt{a_{\min}})/(1+\sqrt{a_{\min}})`) and ``r_min``.
    """
    import torch

    import mathsqrt

    n = check_int("n", n, 2)
    samples = 2 * n if samples is None else check_int("samples", samples, 1)
    degrees = [check_int("K", K, 1) for K in degrees]
    C, lam, exact = _covariance(n, samples, int(seed))
    a = lam / float(np.sqrt(np.sum(lam**2)))
    per, worst, frob, measured, counts = [], [], [], [], []
    for K in degrees:
        e = np.asarray(pade_relative_error(a, K), dtype=float)
        per.append(e)
        worst.append(float(e[0]))
        frob.append(float(np.sqrt(np.sum(e**2 * lam) / np.sum(lam))))
        with _one_thread(), torch.no_grad(), mathsqrt.count_ops() as ops:
            S = mathsqrt.sqrtm(C, method="mpa", degree=K)
        counts.append({k: int(v) for k, v in ops.items() if k in ("matmul", "cholesky", "solve")})
        measured.append(float(torch.linalg.matrix_norm(S - exact) / torch.linalg.matrix_norm(exact)))
    s = math.sqrt(a[0])
    return {
        "n": n,
        "samples": samples,
        "a": a,
        "cond": float(lam[-1] / lam[0]),
        "degrees": degrees,
        "per_eigenvalue": per,
        "worst": worst,
        "frobenius": frob,
        "measured": measured,
        "ops": counts,
        "ratio": [worst[i + 1] / worst[i] for i in range(len(worst) - 1)],
        "r_min": (1 - s) / (1 + s),
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


def _pair(pair) -> str:
    return f"[{pair[0]}/{pair[1]}]"


def plot_pade_table(ax, table: Dict[str, object], *, highlight: Optional[Tuple[int, int]] = None):
    r"""Heat map of :math:`\log_{10}|\text{relative error}|` of every ``[m/n]`` at one ``a`` (with a colour bar).

    Rows: numerator degree ``m``; columns: denominator degree ``n``. Cells whose poles leave the
    branch cut (some pole complex or below 1) carry a small open circle; ``highlight`` outlines one cell.
    Returns the colour bar.
    """
    d = table["degrees"]
    mag = np.log10(np.clip(np.abs(table["error"]), 1e-17, None))
    im = ax.imshow(mag, origin="lower", cmap="viridis_r", aspect="equal", extent=(-0.5, d[-1] + 0.5, -0.5, d[-1] + 0.5))
    cbar = ax.figure.colorbar(im, ax=ax, shrink=0.9)
    cbar.set_label(rf"$\log_{{10}}$ |relative error| at $a = {table['a']:.2g}$")
    mm, nn = np.nonzero(~table["on_cut"])
    ax.plot(nn, mm, "o", ms=4, mfc="white", mec="black", mew=0.6, ls="none", label="some pole off the cut")
    if highlight is not None:
        m, n = highlight
        from matplotlib.patches import Rectangle

        ax.add_patch(
            Rectangle((n - 0.5, m - 0.5), 1, 1, fill=False, ec="#E69F00", lw=2.2, label=f"selected {_pair(highlight)}")
        )
    ax.set_xticks(d[::2])
    ax.set_yticks(d[::2])
    ax.grid(False)
    ax.set_xlabel("denominator degree $n$")
    ax.set_ylabel("numerator degree $m$")
    ax.set_title(r"every $[m/n]$: error at one eigenvalue")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8)
    return cbar


def plot_pade_choice(ax, choice: Dict[str, object]) -> None:
    """|relative error| against ``a`` of ``[m/n]``, the diagonal of the same cost and that of the same order."""
    pair = (choice["m"], choice["n"])
    T = choice["m"] + choice["n"]
    roles = {pair: ("selected", dict(color=_PADE, ls="-", marker="o", ms=3, lw=1.8))}
    roles.setdefault(choice["same_cost"], ("same matmuls", dict(color=_EXACT, ls="--", lw=1.3)))
    roles.setdefault(choice["same_order"], (f"same {T + 1} coefficients", dict(color=_PAPER, ls=":", lw=2.0)))
    values = []
    for key, err in choice["errors"].items():
        role, style = roles[key]
        y = np.abs(err)
        values.append(y[y > 0])
        ax.loglog(choice["a"], np.clip(y, 1e-300, None), label=f"{_pair(key)}: {role}", **style)
    v = np.concatenate(values)
    ax.set_ylim(max(v.min(), 1e-18) / 3, v.max() * 3)
    ax.set_xlim(choice["a"][0], 1.0)
    ax.set_xlabel(r"$a = 1 - z = \lambda/\|A\|_F$")
    ax.set_ylabel("|relative error|")
    mm, solves = choice["cost"]
    ax.set_title(f"{_pair(pair)}: {mm} matmuls + {solves} solve")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)


def plot_pade_poles(ax, choice: Dict[str, object]) -> None:
    r"""Poles (×) and zeros (○) of the selected ``[m/n]`` in the complex plane (symmetric-log real axis)."""
    poles, zeros = choice["poles"], choice["zeros"]
    pts = np.concatenate([poles, zeros, [0.0, 1.0]])
    right = max(10.0, 2 * float(np.max(pts.real)))
    left = min(-1.0, 2 * float(np.min(pts.real)))
    top = max(1.0, 1.3 * float(np.max(np.abs(pts.imag))))
    ax.axvspan(0.0, 1.0, color="#DDDDDD", alpha=0.6, lw=0, label="spectrum of $Z$: $[0, 1)$")
    ax.plot([1.0, right], [0, 0], color="#999999", lw=5, alpha=0.5, solid_capstyle="butt", label="branch cut")
    if len(poles):
        ax.plot(poles.real, poles.imag, "x", color=_PADE, ms=9, mew=2, ls="none", label="poles (roots of $Q$)")
    if len(zeros):
        ax.plot(
            zeros.real,
            zeros.imag,
            "o",
            mfc="none",
            color=_TAYLOR,
            ms=8,
            mew=1.5,
            ls="none",
            label="zeros (roots of $P$)",
        )
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(left, right)
    ax.set_ylim(-top, top)
    ax.set_xlabel("Re $z$ (symmetric log scale)")
    ax.set_ylabel("Im $z$")
    where = "all on the cut" if choice["on_cut"] else "some off the cut"
    ax.set_title(f"poles of {_pair((choice['m'], choice['n']))}: {where}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)


def plot_degree_ablation(ax_eig, ax_deg, result: Dict[str, object]) -> None:
    """Left: |error| per eigenvalue of each Table 5 degree; right: worst and Frobenius error against the degree."""
    from matplotlib import colormaps

    ramp = colormaps["viridis"]
    markers = ["v", "s", "o", "D", "^", "P"]
    a = result["a"]
    count = len(result["degrees"])
    for i, (K, e) in enumerate(zip(result["degrees"], result["per_eigenvalue"])):
        color = ramp(0.85 * i / max(count - 1, 1))
        ax_eig.loglog(a, np.abs(e), marker=markers[i % 6], ms=3, lw=1.0, color=color, label=f"[{K}/{K}]")
    ax_eig.set_xlim(a[0] / 1.2, a[-1] * 1.2)
    ax_eig.set_xlabel(r"normalised eigenvalue $a_i = \lambda_i/\|C\|_F$ of the covariance")
    ax_eig.set_ylabel("|relative error| on the eigenvalue")
    ax_eig.set_title(
        f"per eigenvalue ({result['n']}×{result['n']}, {result['samples']} samples, cond {result['cond']:.0f})"
    )
    ax_eig.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title="Table 5")
    K = np.array(result["degrees"])
    ax_deg.semilogy(K, np.abs(result["worst"]), "o-", color=_PADE, label="smallest eigenvalue (formula)")
    ax_deg.semilogy(K, result["frobenius"], "s--", color=_EXACT, label="whole matrix, Frobenius (formula)")
    ax_deg.semilogy(K, result["measured"], "x", ms=9, mew=2, color=_PAPER, label="whole matrix, measured")
    ax_deg.set_xticks(K)
    labels = []
    for k, ops in zip(K, result["ops"]):
        parts = [f"{ops.get('matmul', 0)} mm"]
        if ops.get("cholesky"):
            parts.append(f"{ops['cholesky']} chol")
        labels.append(f"[{k}/{k}]\n" + " + ".join(parts))
    ax_deg.set_xticklabels(labels, fontsize=8)
    values = np.concatenate([np.abs(result["worst"]), result["frobenius"], result["measured"]])
    ax_deg.set_ylim(values.min() / 2, values.max() * 2)
    ax_deg.set_xlim(K[0] - 0.4, K[-1] + 0.4)
    ax_deg.set_ylabel("relative error")
    ax_deg.set_title("error against degree (operations counted)")
    ax_deg.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))


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


def interactive_pade_choice(*, m: int = 5, n: int = 3, a: float = 1e-2) -> InteractivePlot:
    """Sliders ``m``, ``n`` and ``a``: the table of every ``[m/n]`` at ``a`` (heat map), the selected
    approximant's error against ``a`` next to the diagonal ones of the same cost and order, and its poles.

    ``plot.data``: ``m``, ``n``, ``a``, ``table`` (:func:`compute_pade_table`), ``choice``
    (:func:`compute_pade_choice`).
    """
    import ipywidgets as widgets

    top = pick(10, 8)
    style = {"description_width": "150px"}
    controls = {
        "m": widgets.IntSlider(
            value=m, min=0, max=top, description="numerator degree m", continuous_update=False, style=style
        ),
        "n": widgets.IntSlider(
            value=n, min=0, max=top, description="denominator degree n", continuous_update=False, style=style
        ),
        "a": widgets.FloatLogSlider(
            value=a,
            base=10,
            min=-5,
            max=0,
            step=0.25,
            description="eigenvalue a (heat map)",
            continuous_update=False,
            style=style,
        ),
    }
    num = pick(49, 25)

    def draw(fig, m, n, a):
        if m + n == 0:
            m = 1  # [0/0] is the constant 1; show [1/0] instead
        table = compute_pade_table(a, top)
        choice = compute_pade_choice(m, n, num=num)
        ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1.0, 1.15, 1.15])
        plot_pade_table(ax1, table, highlight=(m, n))
        plot_pade_choice(ax2, choice)
        ax2.axvline(a, color="#E69F00", lw=1.0, ls="-.")
        plot_pade_poles(ax3, choice)
        return {"m": m, "n": n, "a": a, "table": table, "choice": choice}

    return InteractivePlot(controls, draw, figsize=(15.0, 4.6), title="the [m/n] choice: error and poles at equal cost")


def interactive_degree_ablation(*, n: Optional[int] = None, ratio: float = 2.0) -> InteractivePlot:
    """Sliders: dimension ``n`` and samples per dimension ``m/n`` of a random covariance: the Table 5 degrees on it.

    ``plot.data``: the dict of :func:`compute_degree_ablation`.
    """
    import ipywidgets as widgets

    n = pick(64, 32) if n is None else n
    sizes = sorted({16, 32, 64, 128, 256} | {n})
    ratios = [1.25, 1.5, 2.0, 4.0, 8.0, 16.0]
    style = {"description_width": "150px"}
    controls = {
        "n": widgets.SelectionSlider(
            options=sizes, value=n, description="dimension n", continuous_update=False, style=style
        ),
        "ratio": widgets.SelectionSlider(
            options=ratios, value=ratio, description="samples per dimension", continuous_update=False, style=style
        ),
    }

    def draw(fig, n, ratio):
        result = compute_degree_ablation(n, samples=int(round(ratio * n)))
        ax1, ax2 = fig.subplots(1, 2)
        plot_degree_ablation(ax1, ax2, result)
        return result

    return InteractivePlot(
        controls, draw, figsize=(13.0, 4.6), title="the paper's Table 5 degrees on a random covariance"
    )
