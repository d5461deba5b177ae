"""MPA at high degree: right or refused (issue 11, item 1).

The polynomial evaluation of MPA loses accuracy with the degree (the dynamic range of Q(W) grows
like (2/(1 + sqrt a))^(2K+1)); above [5/5] the diagonal approximant is evaluated by partial
fractions, whose rounding does not grow with K. Oracles: a float64 eigendecomposition of the input
(a 40-digit mpmath one where float64 itself is measured), the exact rational Padé coefficients, and
the exact error formula e_K(a) = 2 r^N / (1 -+ r^N) of ``pade_relative_error``.

Tolerances are the documented promise of ``mathsqrt.forward.mpa``:

    ||X - A^(±1/2)||_F / ||A^(±1/2)||_F  <=  |e_K(a_min)|  +  16 eps u,   u = a_min^(-1/2) or a_min^(-1),

the Padé error plus the conditioning of the problem to a rounding of A/||A||_F (independent of K;
``pade_rounding_floor``). The partial fractions are also held to a tighter 4 eps u against the exact
Padé matrix (measured worst case 1.5 up to K = 128).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch

import mathsqrt
from mathsqrt import coefficients as co
from mathsqrt import forward as fw
from mathsqrt._kernels import frobenius_norm
from mathsqrt.testing import spd_from_spectrum

#: Degrees up to the largest that ``pade_degree_for_tolerance`` recommends by default (64).
DEGREES = (1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 25, 40, 64)
DTYPES = (torch.float32, torch.float64)
SPECTRA = {"logspace(0,-1)": -1.0, "logspace(0,-4)": -4.0}


def _matrix(n, lo, dtype, seed=0, batch=()):
    lam = torch.logspace(0.0, lo, n, dtype=torch.float64).expand(*batch, n)
    return spd_from_spectrum(lam, seed=seed).to(dtype)


def _exact(A, inverse, K=None):
    """A^(±1/2) from a float64 eigendecomposition of A as given, and the exact [K/K] matrix."""
    lam, U = torch.linalg.eigh(A.double())
    power = lam.rsqrt() if inverse else lam.sqrt()
    a = lam / lam.norm(dim=-1, keepdim=True)
    out = [(U * power.unsqueeze(-2)) @ U.mT]
    if K is not None:
        e = torch.from_numpy(np.asarray(co.pade_relative_error(a.numpy(), K, inverse=inverse)))
        out.append((U * (power * (1 + e)).unsqueeze(-2)) @ U.mT)
    return out, float(a[..., 0].min())


def _relative(X, Y):
    return float(((X.double() - Y).flatten(-2).norm(dim=-1) / Y.flatten(-2).norm(dim=-1)).max())


# --------------------------------------------------------------------------------------------------
# Accuracy: the promise, at every degree up to the recommended maximum
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("inverse", [False, True], ids=["sqrtm", "invsqrtm"])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("spectrum", SPECTRA, ids=str)
@pytest.mark.parametrize("n", [4, 16])
def test_error_within_pade_error_plus_rounding_floor(n, spectrum, dtype, inverse):
    A = _matrix(n, SPECTRA[spectrum], dtype, seed=n, batch=(2,))
    (exact,), a_min = _exact(A, inverse)
    floor = co.pade_rounding_floor(a_min, dtype, inverse=inverse)
    for K in DEGREES:
        err = _relative(fw.mpa(A, K, inverse=inverse), exact)
        bound = abs(co.pade_relative_error(a_min, K, inverse=inverse)) + floor
        assert err <= bound, (K, err, bound)


@pytest.mark.parametrize("inverse", [False, True], ids=["sqrtm", "invsqrtm"])
def test_partial_fractions_rounding_is_independent_of_the_degree_float32(inverse):
    """Against the exact [K/K] matrix (float64 eigenbasis): rounding <= 4 eps u for K = 6 .. 128."""
    for lo in (-0.5, -1.0, -2.0, -4.0):
        A = _matrix(8, lo, torch.float32, seed=3, batch=(3,))
        for K in (6, 9, 16, 32, 64, 128):
            (exact, pade), a_min = _exact(A, inverse, K)
            unit = torch.finfo(torch.float32).eps / (a_min if inverse else math.sqrt(a_min))
            rounding = float(
                (
                    (fw.mpa(A, K, inverse=inverse).double() - pade).flatten(-2).norm(dim=-1)
                    / exact.flatten(-2).norm(dim=-1)
                ).max()
            )
            assert rounding <= 4 * unit, (lo, K, rounding / unit)


@pytest.mark.parametrize("inverse", [False, True], ids=["sqrtm", "invsqrtm"])
def test_partial_fractions_rounding_is_independent_of_the_degree_float64(inverse):
    """The same in float64, against a 40-digit mpmath eigendecomposition of the float64 input."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    eps = torch.finfo(torch.float64).eps
    for lo in (-0.5, -3.0):
        A = _matrix(5, lo, torch.float64, seed=4)
        E, V = mp.eigsy(mp.matrix(A.tolist()))
        norm = mp.sqrt(sum(e**2 for e in E))
        a_min = float(min(E) / norm)
        p = mp.mpf(-0.5) if inverse else mp.mpf(0.5)
        exact = np.array((V * mp.diag([e**p for e in E]) * V.T).tolist(), dtype=float)
        unit = eps / (a_min if inverse else math.sqrt(a_min))
        for K in (6, 16, 64, 128):
            N = 2 * K + 1

            def pade(a, N=N):  # the closed forms of P and Q in s = sqrt(a), to 40 digits
                s = mp.sqrt(a)
                P, Q = ((1 + s) ** N + (1 - s) ** N) / 2, ((1 + s) ** N - (1 - s) ** N) / (2 * s)
                return Q / P if inverse else P / Q

            R = V * mp.diag([pade(e / norm) * norm**p for e in E]) * V.T
            X = fw.mpa(A, K, inverse=inverse).numpy()
            rounding = np.linalg.norm(X - np.array(R.tolist(), dtype=float)) / np.linalg.norm(exact)
            assert rounding <= 4 * unit, (lo, K, rounding / unit)


def test_issue_examples():
    """4x4 SPD, spectrum logspace(0, -1): float32 [25/25] had error 2.5, float64 [50/50] 10.6 (or 2.0),
    [80/80] blamed the input, (300, 0) returned 7e61."""
    A = _matrix(4, -1.0, torch.float64, seed=0)
    for dtype, K in (
        (torch.float32, 25),
        (torch.float64, 50),
        (torch.float64, 80),
        (torch.float32, 40),
        (torch.float64, 60),
    ):
        B = A.to(dtype)
        (exact,), a_min = _exact(B, False)
        err = _relative(mathsqrt.sqrtm(B, method="mpa", degree=K), exact)
        assert err <= abs(co.pade_relative_error(a_min, K)) + co.pade_rounding_floor(a_min, dtype), (dtype, K, err)
        assert err < (2e-6 if dtype == torch.float32 else 4e-15)
    with pytest.raises(ValueError, match=r"\[300/0\].*float64"):
        mathsqrt.sqrtm(A, method="mpa", degree=(300, 0))


# --------------------------------------------------------------------------------------------------
# Which evaluation, and the paper's default bit for bit
# --------------------------------------------------------------------------------------------------


def _head_mpa(A, m, n, inverse):
    """MPA exactly as the package computed it before high degrees were fixed (commit 80e1ea0)."""
    norm = frobenius_norm(A, keepdim=True)
    W = A / torch.where(norm > 0, norm, torch.ones_like(norm))
    shape, size = W.shape, W.shape[-1]
    X = W.reshape(-1, size, size)
    polys = [co.compose_one_minus(c) for c in co.pade_coefficients(m, n, Fraction(1, 2))]
    accs = []
    for p in polys:
        acc = X * float(p[1]) if len(p) > 1 else torch.zeros_like(X)
        acc.diagonal(dim1=-2, dim2=-1).add_(float(p[0]))
        accs.append(acc)
    power = X
    for k in range(2, max(len(p) for p in polys)):
        power = torch.bmm(power, X)
        for p, acc in zip(polys, accs):
            if k < len(p) and p[k] != 0:
                acc.add_(power, alpha=float(p[k]))
    P, Q = (acc.reshape(shape) for acc in accs)
    S, B = (P, Q) if inverse else (Q, P)
    L, info = torch.linalg.cholesky_ex(S)
    assert not bool(info.any())
    out = torch.cholesky_solve(B, L)
    return out / norm.sqrt() if inverse else out * norm.sqrt()


@pytest.mark.parametrize("inverse", [False, True], ids=["sqrtm", "invsqrtm"])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_default_and_low_degrees_are_bitwise_unchanged(dtype, inverse):
    for shape in ((), (3,), (2, 2)):
        A = _matrix(6, -2.0, dtype, seed=5, batch=shape)
        for degree in ((5, 5), (1, 1), (3, 3), (4, 4), (3, 7), (8, 2), (3, 6), (3, 4), (4, 3)):
            assert torch.equal(fw.mpa(A, degree, inverse=inverse), _head_mpa(A, *degree, inverse)), degree
        fn = mathsqrt.invsqrtm if inverse else mathsqrt.sqrtm
        assert torch.equal(fn(A, method="mpa"), _head_mpa(A, 5, 5, inverse))


def test_evaluation_switches_above_the_default_degree():
    """Measured by the operation counts: polynomial (1 Cholesky) up to [5/5], K shifted solves above."""
    A = _matrix(6, -2.0, torch.float64, seed=6, batch=(2,))
    for inverse in (False, True):
        for K in (1, 5, 6, 9, 30):
            with mathsqrt.count_ops() as ops:
                fw.mpa(A, K, inverse=inverse)
            expected = (max(K - 1, 0), 1, 1) if K <= 5 else (0, K, K)
            assert (ops["matmul"], ops["cholesky"], ops["solve"]) == expected, (K, dict(ops))


def test_polynomial_rounding_bound_sets_the_crossover():
    reference = co.pade_polynomial_rounding(*co.MPA_POLYNOMIAL_REFERENCE)
    for inverse in (False, True):
        bounds = [co.pade_polynomial_rounding(K, inverse=inverse) for K in range(1, 12)]
        assert all(x <= y for x, y in zip(bounds, bounds[1:])), bounds  # it grows with the degree
        assert [K for K in range(1, 12) if bounds[K - 1] <= reference] == [1, 2, 3, 4, 5]
    # The pairs the test suite and the adjoint use stay polynomial; [6/5], [5/6] and (10, 0) do not.
    for m, n in ((3, 7), (8, 2), (3, 6), (3, 4), (4, 3), (2, 8)):
        assert co.pade_polynomial_rounding(m, n) <= reference, (m, n)
    for m, n in ((6, 5), (5, 6), (10, 0), (0, 10)):
        assert co.pade_polynomial_rounding(m, n) > reference, (m, n)


def test_no_off_diagonal_pair_of_total_order_20_or_more_passes():
    """Justifies the shortcut in ``forward._mpa_evaluation`` (refuse m + n >= 20 unevaluated)."""
    reference = co.pade_polynomial_rounding(*co.MPA_POLYNOMIAL_REFERENCE)
    for total in (20, 21, 22):
        for m in range(total + 1):
            if m != total - m:
                assert co.pade_polynomial_rounding(m, total - m) > reference, (m, total - m)


# --------------------------------------------------------------------------------------------------
# Refusals name the degree and the dtype, never the input
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(
    "degree, match",
    [
        ((300, 0), r"\[300/0\] is above the supported maximum 128"),
        (129, r"\[129/129\] is above the supported maximum 128"),
        ((6, 5), r"\[6/5\] cannot be evaluated accurately"),
        ((5, 6), r"\[5/6\] cannot be evaluated accurately"),
        ((20, 0), r"\[20/0\] cannot be evaluated accurately"),
        ((0, 30), r"\[0/30\] cannot be evaluated accurately"),
    ],
)
def test_refusals_name_degree_and_dtype(degree, match, dtype):
    A = _matrix(4, -1.0, dtype, seed=7)
    name = str(dtype).replace("torch.", "")
    for inverse in (False, True):
        with pytest.raises(ValueError, match=match) as info:
            fw.mpa(A, degree, inverse=inverse)
        assert name in str(info.value) and "semi-definite" not in str(info.value)
    # through the public API too (one case: the API's residual bound derives [m/n] coefficients first)
    if degree == (6, 5):
        with pytest.raises(ValueError, match=match + f".* in {name}|{name}.*" + match):
            mathsqrt.sqrtm(A, method="mpa", degree=degree)


def test_both_evaluations_keep_what_the_adjoint_needs():
    A = _matrix(4, -1.0, torch.float64, seed=8)
    out, aux = fw.mpa(A, 9, return_aux=True)  # partial fractions: one Cholesky factor per term
    assert {f"F{j}" for j in range(9)} | {"norm"} == set(aux) and torch.equal(out, fw.mpa(A, 9))
    out, aux = fw.mpa(A, 5, return_aux=True)  # the polynomial range keeps its powers and factor
    assert "L" in aux and torch.equal(out, fw.mpa(A, 5))


@pytest.mark.parametrize("inverse", [False, True], ids=["sqrtm", "invsqrtm"])
def test_indefinite_input_at_high_degree_is_blamed_with_the_shift(inverse):
    lam = torch.tensor([1.0, 0.5, 0.2, -0.05], dtype=torch.float64)  # -0.05/||lam|| is below -tan^2(pi/N)
    A = spd_from_spectrum(lam, seed=9)
    with pytest.raises(ValueError, match=r"\[40/40\].*term 1.*not positive semi-definite.*float64"):
        fw.mpa(A, 40, inverse=inverse)


def test_singular_psd_input_at_high_degree():
    """A zero eigenvalue is fine for the square root (the smallest shift keeps every solve SPD)."""
    lam = torch.tensor([1.0, 0.3, 0.1, 0.0], dtype=torch.float64)
    for dtype in DTYPES:
        A = spd_from_spectrum(lam, seed=10).to(dtype)
        mu, U = torch.linalg.eigh(A.double())
        exact = (U * mu.clamp_min(0).sqrt()) @ U.mT
        a2 = float(mu[1] / mu.norm())  # the smallest nonzero normalised eigenvalue
        for K in (16, 64, 128):
            X = fw.mpa(A, K)
            # at a = 0 the approximant gives 1/N (times sqrt ||A||_F <= ||A^(1/2)||_F) instead of 0
            bound = 1.0 / (2 * K + 1) + co.pade_relative_error(a2, K) + co.pade_rounding_floor(a2, dtype)
            assert torch.isfinite(X).all()
            assert _relative(X, exact) <= bound, (dtype, K)


# --------------------------------------------------------------------------------------------------
# Batches and gradients
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("inverse", [False, True], ids=["sqrtm", "invsqrtm"])
def test_batch_independence(inverse):
    """Each matrix of a batch gets the result it gets alone, whatever its neighbours."""
    spectra = torch.stack([torch.logspace(0.0, lo, 5, dtype=torch.float64) for lo in (-0.5, -2.0, -6.0)])
    A = spd_from_spectrum(spectra, seed=11) * torch.tensor([1e-3, 1.0, 1e4], dtype=torch.float64).view(3, 1, 1)
    for dtype in DTYPES:
        B = A.to(dtype)
        for K in (9, 40):
            together = fw.mpa(B, K, inverse=inverse)
            for i in range(3):
                alone = fw.mpa(B[i], K, inverse=inverse)
                torch.testing.assert_close(together[i], alone, rtol=4 * torch.finfo(dtype).eps, atol=0)


@pytest.mark.parametrize("inverse", [False, True], ids=["sqrtm", "invsqrtm"])
def test_autograd_gradient_at_high_degree(inverse):
    """backward='autograd' through the K shifted solves: finite, and at K = 40 on a well-conditioned
    input (Padé error < 1e-15) equal to the exact gradient (eigenbasis formula) to rounding."""
    A = _matrix(5, -1.0, torch.float64, seed=12, batch=(2,))
    G = torch.randn(A.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    fn = mathsqrt.invsqrtm if inverse else mathsqrt.sqrtm
    grads = {}
    for backward in ("autograd", "eigh"):
        Ar = A.clone().requires_grad_(True)
        method = "mpa" if backward == "autograd" else "eigh"
        kw = {"degree": 40} if method == "mpa" else {}
        (grads[backward],) = torch.autograd.grad(fn(Ar, method=method, backward=backward, **kw), Ar, G)
    assert torch.isfinite(grads["autograd"]).all()
    sym = lambda X: 0.5 * (X + X.mT)  # noqa: E731 - the gradient on the symmetric subspace
    torch.testing.assert_close(sym(grads["autograd"]), sym(grads["eigh"]), rtol=1e-9, atol=1e-9)
    Ar = A.float().clone().requires_grad_(True)
    (g32,) = torch.autograd.grad(fn(Ar, method="mpa", backward="autograd", degree=64), Ar, G.float())
    assert torch.isfinite(g32).all()


# --------------------------------------------------------------------------------------------------
# Coefficients: the closed-form partial fractions and the degree a dtype can deliver
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("inverse", [False, True], ids=["sqrt", "invsqrt"])
def test_shifted_fractions_match_the_exact_pade_coefficients(inverse):
    points = [Fraction(1, 10**6), Fraction(1, 1000), Fraction(1, 7), Fraction(1, 2), Fraction(9, 10), Fraction(1)]
    for K in (1, 2, 3, 5, 8, 13, 30):
        P, Q = (co.compose_one_minus(c) for c in co.pade_coefficients(K))
        constant, weights, shifts, scales = co.pade_shifted_fractions(K, inverse=inverse)
        assert len(weights) == len(shifts) == len(scales) == K and constant == 1.0 / (2 * K + 1)
        for a in points:
            exact = co.evaluate(Q, a) / co.evaluate(P, a) if inverse else co.evaluate(P, a) / co.evaluate(Q, a)
            x = float(a)
            value = constant + sum(
                w * (1.0 if inverse else x) / (s + c * x) for w, s, c in zip(weights, shifts, scales)
            )
            assert abs(value / float(exact) - 1) <= 4 * K * 2.0**-52, (K, a)
        # the shifts are the poles: Q(a) (or P(a)) vanishes at a = -tan^2 = -shift/scale
        zeros = co.evaluate(
            [float(c) for c in (P if inverse else Q)], np.array([-s / c for s, c in zip(shifts, scales)])
        )
        assert np.all(
            np.abs(zeros)
            <= 1e-9
            * co.evaluate(
                [abs(float(c)) for c in (P if inverse else Q)], np.array([s / c for s, c in zip(shifts, scales)])
            )
        )


def test_shifted_fractions_agree_with_the_poles():
    """z = 1 - a: the square root's shifts give the poles sec^2(j pi / N) of ``pade_poles``."""
    for K in (3, 5, 9):
        _, _, shifts, scales = co.pade_shifted_fractions(K)
        poles = sorted(1 + s / c for s, c in zip(shifts, scales))
        np.testing.assert_allclose(poles, [p.real for p in co.pade_poles(K)], rtol=1e-12)


def test_degree_for_tolerance_in_a_dtype_is_delivered():
    """The degree recommended for (tol, a_min, dtype) meets tol on a matrix with that a_min."""
    for dtype, tol, lo in (
        (torch.float32, 1e-4, -2.0),
        (torch.float32, 1e-3, -3.0),
        (torch.float64, 1e-10, -2.0),
        (torch.float64, 1e-12, -1.0),
    ):
        A = _matrix(6, lo, dtype, seed=13)
        (exact,), a_min = _exact(A, False)
        K = co.pade_degree_for_tolerance(tol, a_min, dtype=dtype)
        assert K > 5  # these need the partial fractions
        assert _relative(mathsqrt.sqrtm(A, method="mpa", degree=K), exact) <= tol, (dtype, tol, K)


def test_degree_for_tolerance_refuses_what_the_dtype_cannot_deliver():
    a_min = 1e-2
    floor32 = co.pade_rounding_floor(a_min, torch.float32)
    assert floor32 == pytest.approx(16 * 2.0**-23 / 0.1)
    with pytest.raises(ValueError, match=r"tol=1e-05 is out of reach in float32 at a_min=0.01"):
        co.pade_degree_for_tolerance(1e-5, a_min, dtype=torch.float32)
    with pytest.raises(ValueError, match="float32"):
        co.pade_degree_for_tolerance(1e-9, a_min, dtype="float32")
    with pytest.raises(ValueError, match=r"float64 .* a_min\^?"):
        co.pade_degree_for_tolerance(1e-14, 1e-4, inverse=True, dtype=torch.float64)
    # exact arithmetic (dtype=None) is unchanged, and a float64 budget that clears the floor agrees
    assert (
        co.pade_degree_for_tolerance(1e-6, a_min)
        == co.pade_degree_for_tolerance(1e-6, a_min, dtype=torch.float64)
        == 36
    )
    with pytest.raises(ValueError, match="MPA_MAX_DEGREE"):
        co.pade_degree_for_tolerance(1e-3, 0.1, max_degree=co.MPA_MAX_DEGREE + 1)


def test_every_recommended_degree_is_accepted():
    A = _matrix(3, -1.0, torch.float32, seed=14)
    for K in sorted(
        {
            co.pade_degree_for_tolerance(tol, a, dtype=torch.float32)
            for tol in (1e-2, 1e-3, 1e-4)
            for a in (1e-2, 0.05, 0.3)
        }
    ):
        assert torch.isfinite(fw.mpa(A, K)).all()
    with pytest.raises(ValueError, match="no degree up to 128"):
        co.pade_degree_for_tolerance(1e-5, 1e-6, dtype=torch.float64, max_degree=co.MPA_MAX_DEGREE)
