r"""Exact Taylor and Padé coefficients of :math:`(1 - z)^p`, and what follows from them.

Everything here is exact until the last moment: coefficients are :class:`fractions.Fraction`
derived with sympy's rational linear algebra, cached, and converted to the tensor's dtype only
where a matrix polynomial is evaluated.

The conventions follow Song, Sebe & Wang (2022) [1]_, Sec. 3.1: with :math:`Z = I - A/\|A\|_F`
the eigenvalues :math:`z` of :math:`Z` lie in :math:`[0, 1)` for a symmetric positive definite
:math:`A`, and :math:`A^{1/2} = \sqrt{\|A\|_F}\,(I - Z)^{1/2}`.

Polynomials are returned in ascending powers with a leading ``1``: ``P = (1, P1, P2, ...)`` means
:math:`P(z) = 1 + P_1 z + P_2 z^2 + \dots`. The paper writes :math:`P = 1 - \sum p_k z^k`, so its
:math:`p_k` is ``-P[k]``; :func:`paper_convention` converts.

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
.. [2] G. A. Baker, P. Graves-Morris, "Padé Approximants", 2nd ed., Cambridge University Press, 1996.
.. [3] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Sec. 5.4 and 6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from numbers import Rational
from typing import Tuple, Union

import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

__all__ = [
    "taylor_coefficients",
    "pade_coefficients",
    "paper_convention",
    "compose_one_minus",
    "evaluate",
    "pade_poles",
    "PadeMinimum",
    "pade_denominator_minimum",
    "pade_partial_fractions",
    "pade_relative_error",
    "taylor_error_at_one",
    "pade_degree_for_tolerance",
    "PAPER_Q5",
]

PowerLike = Union[Fraction, int, str, Rational]
Coeffs = Tuple[Fraction, ...]

#: The paper's printed denominator coefficients ``q`` for the [5/5] approximant (appendix A.11),
#: in its sign convention :math:`Q = 1 - \sum q_k z^k`. The fourth entry carries the typo
#: ``0.54675``; the exact value is ``35/64 = 0.546875``. Kept only to show the erratum.
PAPER_Q5 = (2.25, -1.75, 0.54675, -0.05859375, 0.0009765625)


def _as_power(power: PowerLike) -> Fraction:
    try:
        p = Fraction(power)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"power must be a rational number (int, Fraction or 'a/b'), got {power!r}") from exc
    if isinstance(power, float):
        raise TypeError(f"power must be exact (Fraction or 'a/b'), not the float {power!r}")
    if not -1 < p < 1:
        raise ValueError(f"power must lie in the open interval (-1, 1), got {p}")
    return p


def _check_degree(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be non-negative, got {value}")
    return value


@lru_cache(maxsize=None)
def _taylor(K: int, p: Fraction) -> Coeffs:
    coeffs = [Fraction(1)]
    for k in range(1, K + 1):
        # binom(p, k) (-1)^k = prod_{j<k} (j - p) / (j + 1)
        coeffs.append(coeffs[-1] * (k - 1 - p) / k)
    return tuple(coeffs)


def taylor_coefficients(K: int, power: PowerLike = Fraction(1, 2)) -> Coeffs:
    r"""Coefficients of the Taylor series of :math:`(1 - z)^{p}` up to degree ``K``.

    Parameters
    ----------
    K : int
        Degree of truncation, ``K >= 0``.
    power : Fraction, int or str, optional
        The exponent :math:`p \in (-1, 1)`, exactly (default ``1/2``; ``-1/2`` for the inverse
        square root).

    Returns
    -------
    tuple of Fraction
        ``K + 1`` coefficients ``c`` in ascending powers: :math:`(1-z)^p = \sum_k c_k z^k + O(z^{K+1})`,
        with :math:`c_k = \binom{p}{k}(-1)^k`.

    Notes
    -----
    The matrix Taylor polynomial (MTP) of [1]_, Eq. (8)–(10), evaluates this series at
    :math:`Z = I - A/\|A\|_F`. For :math:`p = 1/2`: ``1, -1/2, -1/8, -1/16, -5/128, ...``.

    Examples
    --------
    >>> taylor_coefficients(3)
    (Fraction(1, 1), Fraction(-1, 2), Fraction(-1, 8), Fraction(-1, 16))
    """
    return _taylor(_check_degree("K", K), _as_power(power))


@lru_cache(maxsize=None)
def _pade(m: int, n: int, p: Fraction) -> Tuple[Coeffs, Coeffs]:
    c = _taylor(m + n, p)
    if n == 0:
        return c[: m + 1], (Fraction(1),)
    if p == 0:  # f = 1: the approximant is 1/1, padded to the requested degrees
        return (Fraction(1),) + (Fraction(0),) * m, (Fraction(1),) + (Fraction(0),) * n
    # Denominator: sum_{j=0..n} Q_j c_{k-j} = 0 for k = m+1..m+n, with Q_0 = 1 (c_i = 0 for i < 0).
    cc = lambda i: c[i] if i >= 0 else Fraction(0)  # noqa: E731
    rows = [[QQ(cc(k - j).numerator, cc(k - j).denominator) for j in range(1, n + 1)] for k in range(m + 1, m + n + 1)]
    rhs = [[QQ(-c[k].numerator, c[k].denominator)] for k in range(m + 1, m + n + 1)]
    M = DomainMatrix(rows, (n, n), QQ)
    b = DomainMatrix(rhs, (n, 1), QQ)
    sol = M.lu_solve(b).to_Matrix()
    Q = (Fraction(1),) + tuple(Fraction(int(sympy.numer(v)), int(sympy.denom(v))) for v in sol)
    # Numerator: P_k = sum_{j=0..min(k,n)} Q_j c_{k-j} for k = 0..m.
    P = tuple(sum((Q[j] * c[k - j] for j in range(0, min(k, n) + 1)), Fraction(0)) for k in range(m + 1))
    return P, Q


def pade_coefficients(m: int, n=None, power: PowerLike = Fraction(1, 2)) -> Tuple[Coeffs, Coeffs]:
    r"""Exact coefficients of the ``[m/n]`` Padé approximant of :math:`(1 - z)^{p}`.

    Parameters
    ----------
    m : int
        Degree of the numerator :math:`P`, ``m >= 0``.
    n : int, optional
        Degree of the denominator :math:`Q`, ``n >= 0`` (default ``m``: the diagonal approximant).
    power : Fraction, int or str, optional
        The exponent :math:`p \in (-1, 1)` (default ``1/2``).

    Returns
    -------
    P, Q : tuple of Fraction
        Coefficients in ascending powers, ``len(P) == m + 1``, ``len(Q) == n + 1``,
        ``P[0] == Q[0] == 1``, such that :math:`Q(z)(1-z)^p - P(z) = O(z^{m+n+1})`.

    Notes
    -----
    The ``n`` denominator coefficients solve the linear system that cancels the powers
    :math:`z^{m+1}, \dots, z^{m+n}` of :math:`Q(z)\,(1-z)^p` ([1]_, Eq. (11); [2]_, Ch. 1); the
    system is solved exactly over the rationals with sympy's ``DomainMatrix``. The numerator is then
    the truncated product :math:`[Q(z)(1-z)^p]_{\le m}`. Results are cached, so repeated calls
    (e.g. from a slider) are free.

    The paper's sign convention is :math:`P = 1 - \sum p_k z^k`; see :func:`paper_convention`.

    Examples
    --------
    >>> P, Q = pade_coefficients(1)
    >>> P, Q
    ((Fraction(1, 1), Fraction(-3, 4)), (Fraction(1, 1), Fraction(-1, 4)))
    """
    m = _check_degree("m", m)
    n = m if n is None else _check_degree("n", n)
    return _pade(m, n, _as_power(power))


def paper_convention(coeffs: Coeffs) -> Coeffs:
    r"""Convert ascending coefficients ``(1, C1, C2, ...)`` to the paper's ``(c1, c2, ...)``.

    The paper writes :math:`1 - \sum_k c_k z^k`, so ``c_k = -C[k]`` ([1]_, Eq. (11)).
    """
    if coeffs[0] != 1:
        raise ValueError("expected a polynomial with constant term 1")
    return tuple(-c for c in coeffs[1:])


@lru_cache(maxsize=None)
def compose_one_minus(coeffs: Coeffs) -> Coeffs:
    r"""Coefficients of :math:`c(1 - a)` in powers of :math:`a`, exactly.

    The forward pass evaluates the Padé polynomials at :math:`W = A/\|A\|_F = I - Z` instead of
    :math:`Z`: the same rational function, the same number of matmuls, but for the diagonal
    square-root approximants every coefficient in :math:`a` is **positive** (:math:`4^K P(1-a) =
    \sum_j \binom{2K+1}{2j} a^j`, :math:`4^K Q(1-a) = \sum_j \binom{2K+1}{2j+1} a^j`), so there is no
    cancellation. In :math:`z` the coefficients alternate and grow (up to ~2700 for ``K = 25``) while
    :math:`P` and :math:`Q` become tiny near :math:`z = 1`, which destroys high-degree MPA in floating
    point (relative error ~1e-4 in float64 for ``K = 25`` on a matrix of condition 5).
    """
    n = len(coeffs) - 1
    return tuple(
        sum((Fraction(coeffs[k]) * math.comb(k, j) * (-1) ** j for k in range(j, n + 1)), Fraction(0)) for j in range(n + 1)
    )


def evaluate(coeffs, z):
    """Evaluate a polynomial given in ascending coefficients at ``z`` (Horner's rule).

    ``z`` may be a ``Fraction`` (exact result), a float, a complex number or a numpy array.
    """
    result = 0 * z + coeffs[-1] if not isinstance(z, Fraction) else Fraction(coeffs[-1])
    for c in reversed(coeffs[:-1]):
        result = result * z + c
    return result


def _poly(coeffs: Coeffs) -> sympy.Poly:
    z = sympy.Symbol("z")
    return sympy.Poly([sympy.Rational(c.numerator, c.denominator) for c in reversed(coeffs)], z, domain="QQ")


@lru_cache(maxsize=None)
def _poles(m: int, n: int, p: Fraction) -> Tuple[complex, ...]:
    _, Q = _pade(m, n, p)
    poly = _poly(Q)
    if poly.degree() <= 0:
        return ()
    roots = [complex(r) for r in poly.nroots(n=30, maxsteps=200)]
    return tuple(sorted(roots, key=lambda r: (abs(r.imag) > 1e-12, r.real, r.imag)))


def pade_poles(m: int, n=None, power: PowerLike = Fraction(1, 2)) -> Tuple[complex, ...]:
    r"""Poles of the ``[m/n]`` Padé approximant: the roots of its denominator :math:`Q`.

    Returns
    -------
    tuple of complex
        Real poles first, in increasing order (complex ones after), computed to 30 digits.

    Notes
    -----
    For the diagonal square-root approximant ``[K/K]`` all poles are real and equal
    :math:`\sec^2(j\pi/(2K+1))`, ``j = 1..K``, all beyond ``z = 1``: no pole can meet the
    spectrum of :math:`Z \subset [0, 1)`, which is the stability argument of [1]_, appendix A.11.
    For ``K = 5``: 1.0862, 1.4130, 2.3319, 5.7948, 49.374.
    """
    m = _check_degree("m", m)
    n = m if n is None else _check_degree("n", n)
    return _poles(m, n, _as_power(power))


@dataclass(frozen=True)
class PadeMinimum:
    """Minimum of a Padé denominator :math:`Q` on ``[0, 1]``.

    Attributes
    ----------
    z : Fraction or float
        Where the minimum is attained (exact when it is an end point of the interval).
    value : Fraction or float
        :math:`Q(z)` there (exact when ``z`` is exact).
    exact : bool
        Whether ``z`` and ``value`` are exact rationals.
    """

    z: Union[Fraction, float]
    value: Union[Fraction, float]
    exact: bool


@lru_cache(maxsize=None)
def _q_minimum(m: int, n: int, p: Fraction) -> PadeMinimum:
    _, Q = _pade(m, n, p)
    candidates = [(evaluate(Q, Fraction(0)), Fraction(0), True), (evaluate(Q, Fraction(1)), Fraction(1), True)]
    poly = _poly(Q)
    if poly.degree() >= 2:
        for root in sympy.Poly(poly.diff(), poly.gens[0]).real_roots():
            if 0 < root < 1:
                if root.is_Rational:
                    zr = Fraction(int(root.p), int(root.q))
                    candidates.append((evaluate(Q, zr), zr, True))
                else:
                    zf = float(root.evalf(30))
                    candidates.append((float(evaluate(Q, zf)), zf, False))
    value, z, exact = min(candidates, key=lambda t: float(t[0]))
    return PadeMinimum(z=z, value=value, exact=exact)


def pade_denominator_minimum(m: int, n=None, power: PowerLike = Fraction(1, 2)) -> PadeMinimum:
    r"""Minimum of the Padé denominator :math:`Q(z)` over :math:`z \in [0, 1]`.

    A positive minimum means :math:`Q(Z)` is symmetric positive definite for every SPD input, so the
    MPA solve :math:`Q(Z) X = P(Z)` is well posed and a Cholesky factorisation applies.

    Notes
    -----
    Candidates are the end points and the real roots of :math:`Q'` in ``(0, 1)`` (found exactly by
    sympy's real-root isolation). For the diagonal square-root approximant :math:`Q` decreases on
    ``[0, 1]`` and the minimum is :math:`Q_K(1) = (2K+1)/4^K`: ``11/1024 = 0.0107421875`` for
    ``K = 5``. The paper ([1]_, appendix A.12) quotes ``0.0108672``, a value that comes from its
    misprinted coefficient ``q5[3] = 0.54675`` (exactly ``35/64 = 0.546875``; see :data:`PAPER_Q5`).
    """
    m = _check_degree("m", m)
    n = m if n is None else _check_degree("n", n)
    return _q_minimum(m, n, _as_power(power))


def pade_partial_fractions(K: int, power: PowerLike = Fraction(1, 2)):
    r"""Partial-fraction form of the diagonal ``[K/K]`` Padé approximant.

    .. math:: \frac{P(z)}{Q(z)} = c_0 + \sum_{j=1}^{K} \frac{w_j}{1 - \beta_j z}

    Parameters
    ----------
    K : int
        Degree, ``K >= 1``.
    power : optional
        Exponent :math:`p \in (-1, 1)`.

    Returns
    -------
    c0 : float
    weights, betas : tuple of float
        ``betas`` are the reciprocals of the poles, in decreasing order.

    Notes
    -----
    For :math:`p = 1/2` and ``N = 2K + 1`` the closed form is
    :math:`\sqrt{1-z} \approx 1 - \sum_j \alpha_j\, z/(1 - \beta_j z)` with
    :math:`\alpha_j = (2/N)\sin^2(j\pi/N)`, :math:`\beta_j = \cos^2(j\pi/N)`, that is
    :math:`w_j = -\alpha_j/\beta_j` and :math:`c_0 = 1 + \sum_j \alpha_j/\beta_j`.
    Each term is one shifted SPD solve, which is robust in low precision.
    """
    K = _check_degree("K", K)
    if K < 1:
        raise ValueError("K must be at least 1")
    p = _as_power(power)
    P, Q = _pade(K, K, p)
    poles = _poles(K, K, p)
    if any(abs(r.imag) > 1e-12 for r in poles):
        raise ValueError(f"the [{K}/{K}] approximant of (1-z)^{p} has complex poles")
    Pp, Qp = _poly(P), _poly(Q)
    dQ = Qp.diff()
    c0 = float(P[-1] / Q[-1])
    weights, betas = [], []
    for r in sorted((r.real for r in poles)):
        # residue of P/Q at z = r is P(r)/Q'(r); w/(1 - z/r) has residue -w r.
        res = float(Pp.eval(sympy.Float(r, 30)) / dQ.eval(sympy.Float(r, 30)))
        weights.append(-res / r)
        betas.append(1.0 / r)
    return c0, tuple(weights), tuple(betas)


def pade_relative_error(a, K: int, *, inverse: bool = False):
    r"""Exact relative error of the diagonal ``[K/K]`` MPA at a normalised eigenvalue.

    Parameters
    ----------
    a : float or numpy array
        Normalised eigenvalue(s) :math:`a = \lambda/\|A\|_F \in (0, 1]`.
    K : int
        Degree of the diagonal approximant.
    inverse : bool
        ``False`` for the square root (:math:`P/Q`), ``True`` for the inverse square root (:math:`Q/P`).

    Returns
    -------
    float or array
        With :math:`r = (1 - \sqrt a)/(1 + \sqrt a)` and ``N = 2K + 1``: :math:`+2r^N/(1 - r^N)` for the
        square root (it overestimates) and :math:`-2r^N/(1 + r^N)` for the inverse (it underestimates).

    Notes
    -----
    Follows from :math:`P/Q = s \coth(N\,\mathrm{artanh}\, s)`, :math:`s = \sqrt{1 - z} = \sqrt a`
    (the diagonal approximants of :math:`\sqrt{1-z}` are the truncations of a continued fraction
    whose closed form is given in [3]_, Sec. 5.4 and 6.7). Only for ``power = 1/2`` and ``-1/2``.
    """
    import numpy as np

    K = _check_degree("K", K)
    a = np.asarray(a, dtype=float)
    s = np.sqrt(a)
    r = (1 - s) / (1 + s)
    rN = r ** (2 * K + 1)
    out = -2 * rN / (1 + rN) if inverse else 2 * rN / (1 - rN)
    return out.item() if out.ndim == 0 else out


def taylor_error_at_one(K: int) -> float:
    r"""Error of the degree-``K`` Taylor polynomial of :math:`\sqrt{1-z}` at ``z = 1``.

    The remainder there is :math:`\sum_{k>K} |c_k| = |c_0 + \dots + c_K|` (the series sums to 0),
    which behaves like :math:`1/\sqrt{\pi K}`: 0.18 at ``K = 10``. This slow decay is why the MTP
    needs high degrees for ill-conditioned matrices ([1]_, Sec. 3.1.2).
    """
    return float(abs(sum(_taylor(_check_degree("K", K), Fraction(1, 2)))))


def pade_degree_for_tolerance(tol: float, a_min: float, *, inverse: bool = False, max_degree: int = 64) -> int:
    r"""Smallest diagonal degree ``K`` whose MPA meets a relative tolerance down to ``a_min``.

    Parameters
    ----------
    tol : float
        Target relative error, ``tol > 0``.
    a_min : float
        Lower bound on the normalised eigenvalues :math:`\lambda_{\min}/\|A\|_F`, in ``(0, 1]``.
    inverse : bool
        Whether the inverse square root is wanted.
    max_degree : int
        Give up (``ValueError``) beyond this degree.

    Notes
    -----
    The error is largest at the smallest eigenvalue (:func:`pade_relative_error` is decreasing in
    ``a``), so the bound is exact, not a heuristic.
    """
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
    if not 0 < a_min <= 1:
        raise ValueError(f"a_min must lie in (0, 1], got {a_min}")
    for K in range(1, max_degree + 1):
        if abs(pade_relative_error(a_min, K, inverse=inverse)) <= tol:
            return K
    raise ValueError(f"no degree up to {max_degree} reaches tol={tol} at a_min={a_min}")
