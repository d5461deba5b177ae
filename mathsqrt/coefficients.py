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
    "pade_shifted_fractions",
    "pade_relative_error",
    "pade_polynomial_rounding",
    "pade_rounding_floor",
    "taylor_error_at_one",
    "pade_degree_for_tolerance",
    "PAPER_Q5",
    "MPA_MAX_DEGREE",
    "MPA_POLYNOMIAL_REFERENCE",
    "MPA_ROUNDING_FACTOR",
]

PowerLike = Union[Fraction, int, str, Rational]
Coeffs = Tuple[Fraction, ...]

#: The paper's printed denominator coefficients ``q`` for the [5/5] approximant (appendix A.11),
#: in its sign convention :math:`Q = 1 - \sum q_k z^k`. The fourth entry carries the typo
#: ``0.54675``; the exact value is ``35/64 = 0.546875``. Kept only to show the erratum.
PAPER_Q5 = (2.25, -1.75, 0.54675, -0.05859375, 0.0009765625)

#: Largest degree ``max(m, n)`` that :func:`mathsqrt.forward.mpa` accepts (any dtype). The diagonal
#: ``[K/K]`` is evaluated stably at every degree (:func:`pade_shifted_fractions`), but each degree
#: above the polynomial range costs one more Cholesky factorisation and solve, and the smallest shift
#: :math:`\sin^2(\pi/(2K+1))` (1.5e-4 at ``K = 128``) must stay above the rounding of a normalised
#: singular input (about ``n eps``, 1.2e-4 for ``n = 1000`` in float32).
MPA_MAX_DEGREE = 128

#: The Padé degree whose polynomial evaluation sets the accepted rounding: the paper's default
#: ``[5/5]``. Approximants whose :func:`pade_polynomial_rounding` is no larger are evaluated as
#: polynomials (bit for bit as before); the others are evaluated by partial fractions if diagonal,
#: and refused if not.
MPA_POLYNOMIAL_REFERENCE = (5, 5)

#: Measured bound on the rounding of :func:`mathsqrt.forward.mpa`, in units of the problem's own
#: conditioning (:func:`pade_rounding_floor`). The worst cases found over log-spaced spectra,
#: ``n = 2 .. 12``, float32 and float64, against a 40-digit oracle: 7.1 for the polynomial ``[5/5]``,
#: 1.5 for the partial fractions at every ``K`` up to 128; the factor keeps a margin of two.
MPA_ROUNDING_FACTOR = 16


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

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 3.1.1, Eq. (7)–(10).

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

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 3.1.2, Eq. (11)–(12).
    .. [2] G. A. Baker, P. Graves-Morris, "Padé Approximants", 2nd ed., Cambridge University Press, 1996, Ch. 1.

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

    Parameters
    ----------
    coeffs : tuple of Fraction
        Coefficients in ascending powers with constant term 1, as returned by
        :func:`taylor_coefficients` or :func:`pade_coefficients`.

    Returns
    -------
    tuple of Fraction
        ``len(coeffs) - 1`` coefficients ``(c1, c2, ...)`` with ``c_k = -coeffs[k]``.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 3.1.2, Eq. (11)–(12).
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
        sum((Fraction(coeffs[k]) * math.comb(k, j) * (-1) ** j for k in range(j, n + 1)), Fraction(0))
        for j in range(n + 1)
    )


def evaluate(coeffs, z):
    """Evaluate a polynomial given in ascending coefficients at ``z`` (Horner's rule).

    ``z`` may be a ``Fraction`` (exact result), a float, a complex number or a numpy array.

    Parameters
    ----------
    coeffs : sequence of Fraction or float
        Coefficients in ascending powers.
    z : Fraction, float, complex or numpy.ndarray
        Point(s) of evaluation.

    Returns
    -------
    Fraction, float, complex or numpy.ndarray
        The value of the polynomial at ``z`` (of the type that the arithmetic of ``coeffs`` and
        ``z`` produces).

    Notes
    -----
    Horner's rule takes one multiplication and one addition per coefficient ([1]_).

    References
    ----------
    .. [1] D. E. Knuth, "The Art of Computer Programming", Vol. 2: Seminumerical Algorithms, 3rd ed.,
       Addison-Wesley, 1998, Sec. 4.6.4 (evaluation of polynomials).
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

    Parameters
    ----------
    m, n : int
        Degrees of the approximant ``[m/n]`` (``n`` defaults to ``m``).
    power : Fraction, int or str, optional
        The exponent :math:`p \in (-1, 1)` (default ``1/2``).

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

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, appendix A.11 (the defect of Padé approximants).
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

    Notes
    -----
    Returned by :func:`pade_denominator_minimum`; the paper checks the stability of its Padé
    coefficients by this minimum ([1]_, appendix A.12).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, appendix A.12 (the minimum of the denominator on ``[0, 1]``).
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

    Parameters
    ----------
    m, n : int
        Degrees of the approximant ``[m/n]`` (``n`` defaults to ``m``).
    power : Fraction, int or str, optional
        The exponent :math:`p \in (-1, 1)` (default ``1/2``).

    Returns
    -------
    PadeMinimum
        Where the minimum is attained and its value, exact when possible.

    Notes
    -----
    Candidates are the end points and the real roots of :math:`Q'` in ``(0, 1)`` (found exactly by
    sympy's real-root isolation). For the diagonal square-root approximant :math:`Q` decreases on
    ``[0, 1]`` and the minimum is :math:`Q_K(1) = (2K+1)/4^K`: ``11/1024 = 0.0107421875`` for
    ``K = 5``. The paper ([1]_, appendix A.12) quotes ``0.0108672``, a value that comes from its
    misprinted coefficient ``q5[3] = 0.54675`` (exactly ``35/64 = 0.546875``; see :data:`PAPER_Q5`).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, appendix A.11–A.12.
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
    Each term is one shifted SPD solve, which is robust in low precision. The same expansion in
    :math:`a = 1 - z`, in closed form and for the inverse too, is :func:`pade_shifted_fractions`.

    Partial-fraction forms of Padé approximants of this family go back to Kenney and Laub; see
    [1]_, Sec. 5.4 (the Padé iterations for the matrix sign function, whose
    square-root form is :math:`\sqrt{1-z}` at :math:`z = 1 - x^2`) and [2]_, Ch. 1.

    References
    ----------
    .. [1] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Sec. 5.4.
    .. [2] G. A. Baker, P. Graves-Morris, "Padé Approximants", 2nd ed., Cambridge University Press, 1996, Ch. 1.
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


@lru_cache(maxsize=None)
def _shifted(K: int, inverse: bool) -> Tuple[float, Tuple[float, ...], Tuple[float, ...], Tuple[float, ...]]:
    N = 2 * K + 1
    angles = [(2 * j - 1) * math.pi / (2 * N) if inverse else j * math.pi / N for j in range(1, K + 1)]
    return (1.0 / N, (2.0 / N,) * K, tuple(math.sin(t) ** 2 for t in angles), tuple(math.cos(t) ** 2 for t in angles))


def pade_shifted_fractions(K: int, *, inverse: bool = False):
    r"""Partial fractions of the diagonal ``[K/K]`` approximant in :math:`a = 1 - z`, in closed form.

    With :math:`N = 2K + 1` and :math:`a` an eigenvalue of :math:`W = A/\|A\|_F`,

    .. math::
        \frac{P}{Q}(a) = \frac1N + \sum_{j=1}^{K} \frac{2}{N}\,
            \frac{a}{\sin^2\theta_j + a\cos^2\theta_j}, \quad \theta_j = \frac{j\pi}{N};
        \qquad
        \frac{Q}{P}(a) = \frac1N + \sum_{j=1}^{K} \frac{2}{N}\,
            \frac{1}{\sin^2\phi_j + a\cos^2\phi_j}, \quad \phi_j = \frac{(2j-1)\pi}{2N}.

    Parameters
    ----------
    K : int
        Degree, ``K >= 1``.
    inverse : bool
        ``False``: the square root :math:`P/Q \approx \sqrt a`; ``True``: the inverse square root
        :math:`Q/P \approx 1/\sqrt a`.

    Returns
    -------
    constant : float
        :math:`1/N`.
    weights : tuple of float
        :math:`2/N` each (``K`` of them).
    shifts, scales : tuple of float
        :math:`\sin^2` and :math:`\cos^2` of :math:`\theta_j` (or :math:`\phi_j`), ``j = 1..K``:
        the ``j``-th term needs the matrix :math:`\sin^2 I + \cos^2 W`, which is symmetric positive
        definite for every positive semi-definite :math:`W` (its smallest eigenvalue is at least the
        shift).

    Notes
    -----
    With :math:`s = \sqrt a`, :math:`4^K P = ((1+s)^N + (1-s)^N)/2` and
    :math:`4^K Q = ((1+s)^N - (1-s)^N)/(2s)`, so :math:`P/Q = s\coth(N\,\mathrm{artanh}\,s)`.
    :math:`Q` vanishes where :math:`((1+s)/(1-s))^N = 1`, i.e. :math:`s = i\tan\theta_j`,
    :math:`a = -\tan^2\theta_j` (:math:`z = \sec^2\theta_j`, the poles of :func:`pade_poles`);
    :math:`P` where :math:`s = i\tan\phi_j`. The residues follow from
    :math:`\mathrm{d}a/\mathrm{d}s = 2s` and the unit residues of :math:`\coth` and
    :math:`\tanh`: :math:`(2/N)\sec^2`; the constant is the value :math:`1/N` at :math:`a = 0`
    (square root, after dividing by :math:`a`) or at :math:`a \to \infty` (inverse). Every term is
    positive for :math:`a \ge 0`, so a sum of the terms has no cancellation, and each term's matrix
    is better conditioned than :math:`Q(W)` or :math:`P(W)` as a whole: this is the evaluation that
    :func:`mathsqrt.forward.mpa` uses above the polynomial range ([1]_, Ch. 1; [2]_, Sec. 5.4).
    The values are closed forms evaluated in float64 (checked against the exact rational
    :func:`pade_coefficients` in the tests).

    References
    ----------
    .. [1] G. A. Baker, P. Graves-Morris, "Padé Approximants", 2nd ed., Cambridge University Press, 1996, Ch. 1.
    .. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Sec. 5.4.
    """
    K = _check_degree("K", K)
    if K < 1:
        raise ValueError("K must be at least 1")
    return _shifted(K, bool(inverse))


@lru_cache(maxsize=None)
def _polynomial_rounding(m: int, n: int, inverse: bool) -> float:
    import numpy as np

    P, Q = (compose_one_minus(c) for c in _pade(m, n, Fraction(1, 2)))
    a = np.logspace(-12.0, 0.0, 2401)
    Pa, Qa = (evaluate([float(c) for c in coeffs], a) for coeffs in (P, Q))
    p_abs, q_abs = (float(sum(abs(c) for c in coeffs)) for coeffs in (P, Q))
    with np.errstate(divide="ignore", invalid="ignore"):
        if inverse:  # component error eps (|Q| + |P| |Q/P|)/|P|, relative to 1/sqrt(a), in units eps/a
            g = a * (q_abs + p_abs * np.abs(Qa / Pa)) / np.abs(Qa)
        else:  # component error eps (|P| + |Q| |P/Q|)/|Q|, in units eps/sqrt(a)
            g = np.sqrt(a) * (p_abs + q_abs * np.abs(Pa / Qa)) / np.abs(Qa)
    g = np.where(np.isfinite(g), g, np.inf)
    return float(g.max())


def pade_polynomial_rounding(m: int, n=None, *, inverse: bool = False) -> float:
    r"""A-priori bound on the rounding of MPA's polynomial evaluation, in units of the conditioning.

    :func:`mathsqrt.forward.mpa` evaluates :math:`P` and :math:`Q` as polynomials in
    :math:`W = A/\|A\|_F` (coefficients :math:`\tilde p_k, \tilde q_k` from
    :func:`compose_one_minus`) and solves :math:`Q(W) X = P(W)`. Forming a polynomial of a matrix
    with :math:`\|W\|_2 \le 1` commits an absolute error of about :math:`\epsilon\sum_k|\tilde p_k|`
    in every eigen-component, and the solve divides the component at eigenvalue :math:`a` by
    :math:`Q(a)`. Relative to the rounding that the problem itself cannot avoid,
    :math:`\epsilon/\sqrt{a}` (:func:`pade_rounding_floor`), this is

    .. math:: g = \max_{a \in (0, 1]} \sqrt a\,
              \frac{\sum_k|\tilde p_k| + \sum_k|\tilde q_k|\,|P(a)/Q(a)|}{|Q(a)|}

    (for the inverse, :math:`P` and :math:`Q` swap roles and the unit is :math:`\epsilon/a`).

    Parameters
    ----------
    m, n : int
        Degrees of the approximant ``[m/n]`` (``n`` defaults to ``m``).
    inverse : bool
        For the inverse square root :math:`P(W)^{-1} Q(W)`.

    Returns
    -------
    float
        The bound :math:`g` (maximised over 2401 log-spaced :math:`a \in [10^{-12}, 1]`);
        ``inf`` when the denominator vanishes on that grid.

    Notes
    -----
    For the diagonal ``[K/K]`` it grows like :math:`(2/(1+\sqrt a))^{2K+1}` — the dynamic range of
    :math:`Q(W)` — which is why the polynomial evaluation fails at high degree whatever the order of
    the operations: 13.8 for ``[5/5]``, 37 for ``[6/6]``, 3.2e3 for ``[10/10]``. It is a bound,
    about twice the worst rounding measured (7.1 for ``[5/5]``); it ranks the approximants that the
    forward may evaluate as polynomials (:data:`MPA_POLYNOMIAL_REFERENCE`).

    The per-coefficient rounding is that of Horner's rule ([1]_, Sec. 5.1); the quotient is the
    solve of Eq. (13) of [2]_.

    References
    ----------
    .. [1] N. J. Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., SIAM, 2002, Sec. 5.1.
    .. [2] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 3.1.2, Eq. (13).
    """
    m = _check_degree("m", m)
    n = m if n is None else _check_degree("n", n)
    return _polynomial_rounding(m, n, bool(inverse))


def _eps(dtype) -> float:
    import numpy as np

    try:
        import torch

        if isinstance(dtype, torch.dtype):
            return float(torch.finfo(dtype).eps)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return float(np.finfo(dtype).eps)


def pade_rounding_floor(a_min, dtype, *, inverse: bool = False):
    r"""Relative error that MPA in ``dtype`` may add to the Padé error: the floor of its accuracy.

    .. math:: \text{floor} = c\,\epsilon / \sqrt{a_{\min}} \ \text{(square root)}, \qquad
              c\,\epsilon / a_{\min} \ \text{(inverse square root)},

    with :math:`c` = :data:`MPA_ROUNDING_FACTOR` and :math:`\epsilon` the dtype's machine epsilon.

    Parameters
    ----------
    a_min : float or numpy array
        Smallest normalised eigenvalue :math:`\lambda_{\min}/\|A\|_F`, in ``(0, 1]``.
    dtype : torch.dtype, numpy dtype or str
        The dtype the forward computes in (``torch.float32``, ``"float64"``, ...).
    inverse : bool
        For the inverse square root.

    Returns
    -------
    float or numpy.ndarray
        The floor, as a relative error (same shape as ``a_min``).

    Notes
    -----
    A relative perturbation :math:`\epsilon` of the normalised matrix moves an eigenvalue
    :math:`a` by up to :math:`\epsilon`, hence :math:`\sqrt a` by :math:`\epsilon/(2\sqrt a)` and
    :math:`1/\sqrt a` by :math:`\epsilon/(2a^{3/2})`; relative to :math:`\|W^{1/2}\|_F \ge 1`
    and :math:`\|W^{-1/2}\|_F \ge a_{\min}^{-1/2}` these are the units above — the conditioning of
    the problem, independent of the degree. With the partial-fraction evaluation the measured
    rounding stays below 1.5 units at every degree up to ``K = 128``, with the polynomial ``[5/5]``
    below 7.1 (see :data:`MPA_ROUNDING_FACTOR`). So the forward's relative error (Frobenius norm) is at most
    ``abs(pade_relative_error(a_min, K)) + pade_rounding_floor(a_min, dtype)``.

    The units are the condition numbers of :math:`A^{1/2}` and :math:`A^{-1/2}` at :math:`a_{\min}`
    ([1]_, Sec. 6.1).

    References
    ----------
    .. [1] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Sec. 6.1.
    """
    import numpy as np

    a = np.asarray(a_min, dtype=float)
    out = MPA_ROUNDING_FACTOR * _eps(dtype) / (a if inverse else np.sqrt(a))
    return out.item() if out.ndim == 0 else out


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
    whose closed form is given in [1]_, Sec. 5.4 and 6.7). Only for ``power = 1/2`` and ``-1/2``.

    References
    ----------
    .. [1] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Sec. 5.4 and 6.7.
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

    Parameters
    ----------
    K : int
        Degree of the Taylor polynomial, ``K >= 0``.

    Returns
    -------
    float
        :math:`|c_0 + \dots + c_K|`, the absolute error of the truncated series at ``z = 1``.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 3.1.2.
    """
    return float(abs(sum(_taylor(_check_degree("K", K), Fraction(1, 2)))))


def pade_degree_for_tolerance(
    tol: float, a_min: float, *, inverse: bool = False, max_degree: int = 64, dtype=None
) -> int:
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
        Give up (``ValueError``) beyond this degree; at most :data:`MPA_MAX_DEGREE`.
    dtype : torch.dtype, numpy dtype or str, optional
        The dtype the forward will compute in. ``None`` (default): exact arithmetic, the Padé error
        alone. Given: the rounding floor :func:`pade_rounding_floor` is set aside first, so that the
        returned degree meets ``tol`` in that dtype, and a ``tol`` at or below the floor is refused.

    Returns
    -------
    int
        The smallest ``K`` with :math:`|e_K(a_{\min})| \le` ``tol`` (``dtype=None``) or
        :math:`|e_K(a_{\min})| \le` ``tol - pade_rounding_floor(a_min, dtype)``, where
        :math:`e_K` is :func:`pade_relative_error`.

    Raises
    ------
    ValueError
        If ``tol`` is out of reach: below the dtype's floor (the message names the dtype and the
        floor), or beyond ``max_degree``.

    Notes
    -----
    The Padé error is largest at the smallest eigenvalue (:func:`pade_relative_error` is decreasing
    in ``a``), so the bound is exact, not a heuristic. The forward's rounding does not grow with the
    degree (:func:`mathsqrt.forward.mpa` switches to partial fractions above ``[5/5]``), so in a given
    dtype a tolerance is reachable exactly when it exceeds the floor.

    The paper fixes the degree by hand and studies its effect ([1]_, appendix A.7.1); this
    function chooses it from the exact error instead.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (13) and appendix A.7.1.

    Examples
    --------
    >>> pade_degree_for_tolerance(1e-6, 1e-2)
    36
    >>> pade_degree_for_tolerance(1e-6, 1e-2, dtype="float64")
    36
    >>> pade_degree_for_tolerance(1e-4, 1e-2, dtype="float32")
    25
    >>> pade_degree_for_tolerance(1e-5, 1e-2, dtype="float32")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: tol=1e-05 is out of reach in float32 at a_min=0.01: ... 16 eps/sqrt(a_min) = 1.91e-05 ...
    """
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
    if not 0 < a_min <= 1:
        raise ValueError(f"a_min must lie in (0, 1], got {a_min}")
    max_degree = _check_degree("max_degree", max_degree)
    if max_degree > MPA_MAX_DEGREE:
        raise ValueError(f"max_degree must be at most MPA_MAX_DEGREE = {MPA_MAX_DEGREE}, got {max_degree}")
    budget = tol
    if dtype is not None:
        floor = pade_rounding_floor(a_min, dtype, inverse=inverse)
        if not tol > floor:
            name = str(dtype).replace("torch.", "")
            unit = "a_min" if inverse else "sqrt(a_min)"
            raise ValueError(
                f"tol={tol:.3g} is out of reach in {name} at a_min={a_min:.3g}: rounding alone may reach "
                f"{MPA_ROUNDING_FACTOR} eps/{unit} = {floor:.3g} at every degree (use a wider dtype or a larger tol)"
            )
        budget = tol - floor
    for K in range(1, max_degree + 1):
        if abs(pade_relative_error(a_min, K, inverse=inverse)) <= budget:
            return K
    raise ValueError(f"no degree up to {max_degree} reaches tol={tol} at a_min={a_min}")
