"""Exact coefficients against the table of ALGORITHMS §1 and independent oracles."""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from mathsqrt import coefficients as co

# ALGORITHMS.md §1, the paper's sign convention (P = 1 - sum p_k z^k).
TABLE = {
    3: ("7/4 -7/8 7/64", "5/4 -3/8 1/64"),
    4: ("9/4 -27/16 15/32 -9/256", "7/4 -15/16 5/32 -1/256"),
    5: ("11/4 -11/4 77/64 -55/256 11/1024", "9/4 -7/4 35/64 -15/256 1/1024"),
    6: ("13/4 -65/16 39/16 -91/128 91/1024 -13/4096", "11/4 -45/16 21/16 -35/128 21/1024 -1/4096"),
}


@pytest.mark.parametrize("K", sorted(TABLE))
def test_diagonal_table(K):
    P, Q = co.pade_coefficients(K)
    p, q = TABLE[K]
    assert co.paper_convention(P) == tuple(F(x) for x in p.split())
    assert co.paper_convention(Q) == tuple(F(x) for x in q.split())


def test_taylor_closed_forms():
    c = co.taylor_coefficients(40)
    d = co.taylor_coefficients(40, F(-1, 2))
    assert c[0] == d[0] == 1
    for k in range(1, 41):
        assert c[k] == -F(math.comb(2 * k, k), (2 * k - 1) * 4**k)
        assert d[k] == F(math.comb(2 * k, k), 4**k)
    assert c[:7] == (1, F(-1, 2), F(-1, 8), F(-1, 16), F(-5, 128), F(-7, 256), F(-21, 1024))


@given(num=st.integers(-11, 11), den=st.integers(2, 12))
def test_taylor_matches_sympy_series(num, den):
    if abs(num) >= den:
        num = num % den
    p = F(num, den)
    z = sympy.Symbol("z")
    series = sympy.series((1 - z) ** sympy.Rational(p.numerator, p.denominator), z, 0, 8).removeO()
    expected = tuple(F(str(series.coeff(z, k))) for k in range(8))
    assert co.taylor_coefficients(7, p) == expected


def _series_product_residual(P, Q, power, order):
    c = co.taylor_coefficients(order, power)
    prod = [sum((Q[j] * c[k - j] for j in range(len(Q)) if k - j >= 0), F(0)) for k in range(order + 1)]
    return [prod[k] - (P[k] if k < len(P) else 0) for k in range(order + 1)]


@given(m=st.integers(0, 12), n=st.integers(0, 12), num=st.integers(-9, 9), den=st.sampled_from([2, 3, 4, 5, 7, 10]))
def test_pade_defining_identity(m, n, num, den):
    """Q(z) (1-z)^p - P(z) = O(z^{m+n+1}), P[0] = Q[0] = 1, exact degrees."""
    p = F(num, den)
    if not -1 < p < 1:
        p = F(1, 3)
    P, Q = co.pade_coefficients(m, n, p)
    assert len(P) == m + 1 and len(Q) == n + 1 and P[0] == Q[0] == 1
    assert all(isinstance(x, F) for x in P + Q)
    assert all(r == 0 for r in _series_product_residual(P, Q, p, m + n))


def test_high_degree_and_cache():
    P, Q = co.pade_coefficients(30, 30)
    assert all(r == 0 for r in _series_product_residual(P, Q, F(1, 2), 60))
    assert co.pade_coefficients(30, 30) is co.pade_coefficients(30)


@pytest.mark.parametrize("K", range(1, 10))
def test_diagonal_closed_form(K):
    """4^K P = ((1+s)^N + (1-s)^N)/2 and 4^K Q = ((1+s)^N - (1-s)^N)/(2s), s^2 = 1 - z."""
    z, s = sympy.symbols("z s")
    N = 2 * K + 1
    P_ref = sympy.expand(((1 + s) ** N + (1 - s) ** N) / 2)
    Q_ref = sympy.expand(sympy.cancel(((1 + s) ** N - (1 - s) ** N) / (2 * s)))
    P_ref = sympy.Poly(sympy.expand(P_ref.subs(s**2, 1 - z)).subs(s, sympy.sqrt(1 - z)), z)
    Q_ref = sympy.Poly(sympy.expand(Q_ref.subs(s**2, 1 - z)).subs(s, sympy.sqrt(1 - z)), z)
    P, Q = co.pade_coefficients(K)
    scale = 4**K
    assert [F(str(c)) for c in reversed(P_ref.all_coeffs())] == [x * scale for x in P]
    assert [F(str(c)) for c in reversed(Q_ref.all_coeffs())] == [x * scale for x in Q]


@pytest.mark.parametrize("K", range(1, 9))
def test_poles_are_secant_squared(K):
    N = 2 * K + 1
    expected = sorted(1 / math.cos(j * math.pi / N) ** 2 for j in range(1, K + 1))
    poles = co.pade_poles(K)
    assert all(abs(p.imag) < 1e-12 for p in poles)
    np.testing.assert_allclose([p.real for p in poles], expected, rtol=1e-12)
    assert min(p.real for p in poles) > 1


def test_k5_poles_quoted():
    np.testing.assert_allclose([p.real for p in co.pade_poles(5)], [1.0862, 1.4130, 2.3319, 5.7948, 49.374], rtol=1e-4)


@pytest.mark.parametrize("K", range(1, 9))
def test_denominator_minimum_is_q_at_one(K):
    minimum = co.pade_denominator_minimum(K)
    assert minimum.exact and minimum.z == 1
    assert minimum.value == F(2 * K + 1, 4**K)
    P, _ = co.pade_coefficients(K)
    assert minimum.value == abs(P[-1])  # Q_K(1) = |p_K|


def test_paper_erratum_q5():
    _, Q = co.pade_coefficients(5)
    exact = co.paper_convention(Q)
    assert exact[2] == F(35, 64) and float(exact[2]) == 0.546875
    assert co.PAPER_Q5[2] == 0.54675 != float(exact[2])
    assert all(a == float(b) for i, (a, b) in enumerate(zip(co.PAPER_Q5, exact)) if i != 2)
    # the paper's quoted minimum comes from the misprint; the true one is 11/1024
    paper_q = np.polynomial.Polynomial([1.0] + [-x for x in co.PAPER_Q5])
    zs = np.linspace(0, 1, 100001)
    assert abs(paper_q(zs).min() - 0.0108672) < 1e-7
    assert co.pade_denominator_minimum(5).value == F(11, 1024)


def test_denominator_minimum_interior():
    """A non-diagonal approximant whose Q has an interior minimum on [0, 1] (checked by brute force)."""
    for m, n in [(0, 2), (1, 3), (0, 4), (2, 5)]:
        _, Q = co.pade_coefficients(m, n, F(-1, 2))
        zs = np.linspace(0, 1, 200001)
        brute = co.evaluate([float(c) for c in Q], zs)
        minimum = co.pade_denominator_minimum(m, n, F(-1, 2))
        assert float(minimum.value) == pytest.approx(brute.min(), abs=1e-9)


@pytest.mark.parametrize("K", [1, 3, 5, 8])
def test_partial_fractions(K):
    N = 2 * K + 1
    c0, w, b = co.pade_partial_fractions(K)
    alpha = np.array([2 / N * math.sin(j * math.pi / N) ** 2 for j in range(1, K + 1)])
    beta = np.array([math.cos(j * math.pi / N) ** 2 for j in range(1, K + 1)])
    np.testing.assert_allclose(b, beta, rtol=1e-12)
    np.testing.assert_allclose(w, -alpha / beta, rtol=1e-10)
    assert c0 == pytest.approx(1 + (alpha / beta).sum(), rel=1e-12)
    P, Q = co.pade_coefficients(K)
    zs = np.linspace(0, 0.999, 50)
    rational = co.evaluate([float(c) for c in P], zs) / co.evaluate([float(c) for c in Q], zs)
    pf = c0 + sum(wj / (1 - bj * zs) for wj, bj in zip(w, b))
    np.testing.assert_allclose(pf, rational, rtol=1e-10)


@pytest.mark.parametrize("K", [2, 5, 9])
@pytest.mark.parametrize("inverse", [False, True])
def test_exact_relative_error_formula(K, inverse):
    P, Q = co.pade_coefficients(K)
    a = np.logspace(-4, 0, 40)
    z = 1 - a
    p = co.evaluate([float(c) for c in P], z)
    q = co.evaluate([float(c) for c in Q], z)
    approx = q / p if inverse else p / q
    exact = a**-0.5 if inverse else np.sqrt(a)
    measured = approx / exact - 1
    np.testing.assert_allclose(co.pade_relative_error(a, K, inverse=inverse), measured, rtol=1e-8, atol=1e-11)


def test_quoted_error_values():
    got = [co.pade_relative_error(a, 5) for a in (0.5, 0.1, 0.01, 0.001)]
    np.testing.assert_allclose(got, [7.6e-9, 1.5e-3, 0.25, 1.99], rtol=0.02)


def test_taylor_error_at_one():
    assert co.taylor_error_at_one(10) == pytest.approx(0.18, abs=0.005)
    for K in (20, 100, 400):
        assert co.taylor_error_at_one(K) == pytest.approx(1 / math.sqrt(math.pi * K), rel=0.05)


def test_degree_for_tolerance_is_minimal():
    for tol, a_min in [(1e-3, 0.1), (1e-8, 0.01), (1e-12, 0.5)]:
        K = co.pade_degree_for_tolerance(tol, a_min)
        assert co.pade_relative_error(a_min, K) <= tol < co.pade_relative_error(a_min, K - 1)
    with pytest.raises(ValueError, match="no degree"):
        co.pade_degree_for_tolerance(1e-30, 1e-9, max_degree=5)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: co.taylor_coefficients(-1), ValueError, "non-negative"),
        (lambda: co.taylor_coefficients(2.0), TypeError, "int"),
        (lambda: co.pade_coefficients(3, power=0.5), TypeError, "exact"),
        (lambda: co.pade_coefficients(3, power=F(3, 2)), ValueError, r"\(-1, 1\)"),
        (lambda: co.pade_coefficients(3, -2), ValueError, "non-negative"),
        (lambda: co.pade_coefficients(True), TypeError, "int"),
        (lambda: co.pade_degree_for_tolerance(0, 0.1), ValueError, "positive"),
    ],
)
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_string_power_and_zero_power():
    assert co.pade_coefficients(2, 2, "1/2") == co.pade_coefficients(2)
    P, Q = co.pade_coefficients(2, 3, 0)
    assert P == (1, 0, 0) and Q == (1, 0, 0, 0)


@pytest.mark.parametrize("K", [1, 5, 12, 25])
def test_compose_one_minus_diagonal_is_binomial(K):
    """4^K P(1-a) = sum_j C(N, 2j) a^j and 4^K Q(1-a) = sum_j C(N, 2j+1) a^j: all positive."""
    N = 2 * K + 1
    P, Q = co.pade_coefficients(K)
    assert co.compose_one_minus(P) == tuple(F(math.comb(N, 2 * j), 4**K) for j in range(K + 1))
    assert co.compose_one_minus(Q) == tuple(F(math.comb(N, 2 * j + 1), 4**K) for j in range(K + 1))


def test_compose_one_minus_is_a_substitution():
    z = sympy.Symbol("z")
    for coeffs in [(F(1), F(-3, 4)), co.taylor_coefficients(6), co.pade_coefficients(3, 5)[1]]:
        poly = sum(sympy.Rational(c.numerator, c.denominator) * (1 - z) ** k for k, c in enumerate(coeffs))
        expected = sympy.Poly(sympy.expand(poly), z).all_coeffs()[::-1]
        got = co.compose_one_minus(coeffs)
        assert [F(str(c)) for c in expected] == list(got[: len(expected)]) and all(c == 0 for c in got[len(expected) :])
