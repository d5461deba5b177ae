"""Tests of mathsqrt.scaled: optimal polynomial schedules, spectral bounds, the scaled Lyapunov
solver and the scaled coupled Newton–Schulz forward, against independent oracles (dense sampling,
closed forms, float64 eigendecompositions, scipy's Bartels–Stewart solver)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from scipy.linalg import solve_continuous_lyapunov

from mathsqrt.counting import count_ops
from mathsqrt.scaled import (
    lyapunov_scaled,
    lyapunov_scaled_matmul_count,
    newton_schulz_scaled,
    newton_schulz_scaled_matmul_count,
    optimal_odd_polynomial,
    polynomial_schedule,
    spectral_bounds,
)
from mathsqrt.testing import random_orthogonal, spd_from_spectrum

# ------------------------------------------------------------------------------------------------
# helpers: matrices of controlled spectrum and float64 oracles
# ------------------------------------------------------------------------------------------------


def log_spectrum(n: int, cond: float, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.logspace(0.0, -math.log10(cond), n, dtype=torch.float64)


def spd(n: int, conds, seed: int = 0, scales=None) -> torch.Tensor:
    scales = scales or [1.0] * len(conds)
    lam = torch.stack([log_spectrum(n, c, s) for c, s in zip(conds, scales)])
    return spd_from_spectrum(lam, seed=seed)


def eig_functions(A: torch.Tensor):
    """float64 eigenbasis of (the float64 copy of) A: S = A^{1/2}, R = A^{-1/2}, U, s = sqrt(lambda)."""
    lam, U = torch.linalg.eigh(A.double())
    s = lam.clamp_min(0).sqrt()
    S = (U * s.unsqueeze(-2)) @ U.mT
    R = (U * lam.rsqrt().unsqueeze(-2)) @ U.mT
    return S, R, U, s


def lyapunov_oracle(U, s, G):
    """Exact X with S X + X S = G in the eigenbasis of S (float64)."""
    Gt = U.mT @ G.double() @ U
    return U @ (Gt / (s.unsqueeze(-1) + s.unsqueeze(-2))) @ U.mT


def rel(X, Y) -> torch.Tensor:
    return torch.linalg.matrix_norm(X.double() - Y) / torch.linalg.matrix_norm(Y)


def peval(c, x):
    return sum(cj * x ** (2 * j + 1) for j, cj in enumerate(c))


# ------------------------------------------------------------------------------------------------
# scalar polynomials and schedules
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ell", [1e-4, 1e-2, 0.1, 0.5, 0.9])
def test_cubic_is_chen_chow_closed_form_and_equioscillates(ell):
    c, err = optimal_odd_polynomial(ell, 1.0, degree=3)
    alpha = math.sqrt(3 / (1 + ell + ell**2))
    beta = 4 / (2 + ell * (1 + ell) * alpha**3)
    np.testing.assert_allclose(c, [1.5 * beta * alpha, -0.5 * beta * alpha**3], rtol=1e-14)
    # equioscillation at ell, 1/alpha, 1 with error +E, -E, +E
    np.testing.assert_allclose(1 - peval(c, np.array([ell, 1 / alpha, 1.0])), [err, -err, err], rtol=1e-12, atol=1e-15)
    x = np.linspace(ell, 1, 100001)
    assert abs(np.abs(1 - peval(c, x)).max() - err) <= 1e-12


@pytest.mark.parametrize("ell", [1e-3, 0.024, 0.1, 0.5, 0.9, 0.99])
def test_quintic_is_minimax(ell):
    """Error equals the dense maximum, alternates at 4 points, and no perturbation beats it."""
    c, err = optimal_odd_polynomial(ell, 1.0, degree=5)
    x = np.linspace(ell, 1, 200001)
    e = 1 - peval(c, x)
    assert abs(np.abs(e).max() - err) <= 1e-12 * max(1, err) + 1e-15
    # four alternation points: ell, the two interior critical points and 1
    t = np.roots([5 * c[2], 3 * c[1], c[0]]).real
    pts = np.concatenate([[ell], np.sort(np.sqrt(t)), [1.0]])
    np.testing.assert_allclose(1 - peval(c, pts), [err, -err, err, -err], rtol=1e-9, atol=1e-14)
    rng = np.random.default_rng(0)
    for _ in range(20):
        d = c * (1 + 1e-3 * rng.standard_normal(3))
        assert np.abs(1 - peval(d, x)).max() >= err * (1 - 1e-9)


def test_scale_invariance():
    c1, e1 = optimal_odd_polynomial(0.02, 1.0, degree=5)
    c2, e2 = optimal_odd_polynomial(0.2, 10.0, degree=5)
    np.testing.assert_allclose(c2 * np.array([10.0, 1e3, 1e5]), c1, rtol=1e-10)
    assert e1 == pytest.approx(e2, rel=1e-10)


def test_polar_express_first_polynomial():
    """Independent oracle: the first Polar Express polynomial for ell = 1e-3 with their cushion and no
    safety factor, as listed in Amsel et al. (2025), appendix code output."""
    s = polynomial_schedule(1e-3, kind="quintic", cushion=0.02407327424182761, safety=1.0, steps=1)
    np.testing.assert_allclose(
        s.coefficients[0], [8.28721201814563, -23.595886519098837, 17.300387312530933], rtol=1e-9
    )


@pytest.mark.parametrize("kind", ["cubic", "quintic"])
@pytest.mark.parametrize("ell, safety, cushion", [(1e-3, 1.01, 0.1), (1e-2, 1.0, 0.0), (0.3, 1.01, 0.1)])
def test_schedule_recursion_matches_dense_sampling(kind, ell, safety, cushion):
    s = polynomial_schedule(ell, kind=kind, tol=1e-12, safety=safety, cushion=cushion)
    x = np.concatenate([np.geomspace(ell, 1, 100001), np.linspace(ell, 1, 100001)])
    y = x.copy()
    for k in range(s.steps + 1):
        sampled = np.abs(1 - y).max()
        predicted = s.error[k]
        assert sampled <= predicted + 1e-13
        assert sampled >= predicted - 1e-6 * max(predicted, 1e-9) - 1e-13, (k, sampled, predicted)
        # the interval holds every image
        assert y.min() >= s.lower[k] - 1e-13 and y.max() <= s.upper[k] + 1e-13
        if k < s.steps:
            y = peval(s.coefficients[k], y)
    np.testing.assert_allclose(s(x), y)


@pytest.mark.parametrize("kind", ["cubic", "quintic"])
def test_schedule_length_is_the_fewest_steps(kind):
    for ell in (1e-6, 1e-3, 0.1):
        s = polynomial_schedule(ell, kind=kind, tol=1e-7)
        assert s.error[-1] <= 1e-7 < s.error[-2]
        # greedy optimality: at every step no worse than the classical iteration after lambda_max scaling
        ns = polynomial_schedule(1.0, kind=kind, steps=1).coefficients[0]
        y = np.array([ell])
        for k in range(s.steps):
            y = peval(ns, y)
            assert 1 - s.lower[k + 1] <= 1 - y[0] + 1e-12


def test_quintic_faster_than_cubic_and_both_faster_than_newton_schulz():
    # steps to reach 1e-7 from ell = 1e-3 (sign variable; kappa(A) = 1e6)
    cubic = polynomial_schedule(1e-3, kind="cubic", tol=1e-7).steps
    quintic = polynomial_schedule(1e-3, kind="quintic", tol=1e-7).steps
    y, classical = 1e-3, 0
    while 1 - y > 1e-7:
        y, classical = 1.5 * y - 0.5 * y**3, classical + 1
    assert quintic < cubic < classical
    assert (quintic, cubic, classical) == (8, 11, 21)


def test_schedule_validation_and_cache():
    assert polynomial_schedule(0.1, kind="quintic") is polynomial_schedule(0.1, kind="quintic")
    with pytest.raises(ValueError):
        polynomial_schedule(0.0)
    with pytest.raises(ValueError):
        polynomial_schedule(0.1, kind="septic")
    with pytest.raises(ValueError):
        optimal_odd_polynomial(0.5, 0.1)
    with pytest.raises(ValueError):
        polynomial_schedule(0.1, safety=0.9)


# ------------------------------------------------------------------------------------------------
# spectral bounds
# ------------------------------------------------------------------------------------------------


def _hard_cases(n: int) -> torch.Tensor:
    Q = random_orthogonal(n, seed=5)
    v = torch.randn(n, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    mats = [
        spd_from_spectrum(log_spectrum(n, 1e6), Q),
        spd_from_spectrum(torch.ones(n, dtype=torch.float64), Q),  # flat: Frobenius is sqrt(n) too big
        v @ v.T,  # rank one: Frobenius is exact, rounding decides
        torch.eye(n, dtype=torch.float64) * 3.0,  # diagonal: infinity norm is exact
        spd_from_spectrum(log_spectrum(n, 10.0, 1e-30), Q),
        spd_from_spectrum(log_spectrum(n, 10.0, 1e30), Q),
        torch.full((n, n), 2.0, dtype=torch.float64),  # all-equal entries: every norm is exact
    ]
    return torch.stack(mats)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("squarings", [0, 1, 3])
def test_upper_bound_never_below_lambda_max(dtype, squarings):
    A = _hard_cases(24).to(dtype)
    upper, ell = spectral_bounds(A, squarings=squarings)
    lam = torch.linalg.eigvalsh(A.double())
    assert (upper.double() >= lam[:, -1]).all(), (upper, lam[:, -1])
    # per matrix, and never more than the Frobenius norm (plus the rounding allowance)
    assert (upper.double() <= torch.linalg.matrix_norm(A.double()) * (1 + 1e-3)).all()
    assert ((ell > 0) & (ell <= 1)).all()


@pytest.mark.parametrize("squarings, factor", [(0, 24**0.5), (1, 24**0.25), (2, 24**0.125)])
def test_bounds_tighten_with_squarings_and_lower_is_valid(squarings, factor):
    A = spd(24, [1e2, 1e4, 1e6], seed=2, scales=[1.0, 1e-8, 1e8])
    lam = torch.linalg.eigvalsh(A)
    kappa = lam[:, -1] / lam[:, 0]
    upper, ell = spectral_bounds(A, lower=1 / kappa, squarings=squarings)
    assert (upper >= lam[:, -1]).all() and (upper <= factor * lam[:, -1] * 1.001).all()
    assert (ell <= lam[:, 0] / upper * (1 + 1e-12)).all()  # a true lower bound, per matrix
    assert (ell >= lam[:, 0] / upper / factor**2 / 1.001).all()  # and not a silly one


def test_bounds_count_and_zero_matrix():
    A = torch.zeros(2, 5, 5)
    A[1] = torch.eye(5)
    with count_ops() as c:
        upper, ell = spectral_bounds(A, squarings=2)
    assert c["matmul"] == 2
    assert upper[0] == 0 and upper[1] >= 1
    assert torch.isfinite(ell).all()


# ------------------------------------------------------------------------------------------------
# the Lyapunov solver
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["cubic", "quintic"])
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 5e-5)])
def test_lyapunov_against_eigenbasis_oracle(kind, dtype, tol):
    n = 32
    A = spd(n, [1e2, 1e4, 1e6], seed=3)
    S, _, U, s = eig_functions(A)
    G = torch.randn(3, n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(4))  # not symmetric
    X, info = lyapunov_scaled(S.to(dtype), G.to(dtype), kind=kind, return_info=True)
    assert X.dtype == dtype and X.shape == G.shape
    err = rel(X, lyapunov_oracle(U, s, G))
    assert (err <= tol).all(), err
    assert (info.bound <= torch.finfo(dtype).eps).all()


def test_lyapunov_against_scipy_with_given_lower():
    n = 16
    A = spd(n, [1e3, 1e5], seed=6)
    S, _, _, _ = eig_functions(A)
    G = torch.randn(2, n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    lam = torch.linalg.eigvalsh(S)
    X, info = lyapunov_scaled(S, G, lower=lam[:, 0] / lam[:, -1], kind="quintic", return_info=True)
    for i in range(2):
        ref = solve_continuous_lyapunov(S[i].numpy(), G[i].numpy())
        np.testing.assert_allclose(X[i].numpy(), ref, rtol=0, atol=1e-11 * np.abs(ref).max())
    # a known lower bound needs far fewer steps than the safe default
    _, default = lyapunov_scaled(S, G, kind="quintic", return_info=True)
    assert (info.iterations < default.iterations).all()


def test_lyapunov_beats_the_papers_iteration_at_condition_1e4():
    """The paper's 8 steps with c = sqrt(||A||_F) give ~60 % error at kappa(A) = 1e4; the scaled cubic
    with a known lower bound, at the same 6 matmuls per step and 8 steps, is at float32 level."""
    from mathsqrt.backward import lyapunov_sign

    n = 32
    A = spd(n, [1e4], seed=8)
    S, _, U, s = eig_functions(A)
    G = torch.randn(1, n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    ref = lyapunov_oracle(U, s, G)
    paper = lyapunov_sign(S, G, scale=torch.linalg.matrix_norm(A, keepdim=True).sqrt(), iters=8)
    ours = lyapunov_scaled(S, G, lower=1e-2, iters=8, kind="cubic")
    assert rel(paper, ref).item() > 0.3
    assert rel(ours, ref).item() < 1e-6


def test_lyapunov_same_convention_as_lyapunov_sign():
    from mathsqrt.backward import lyapunov_sign

    A = spd(12, [10.0], seed=10)
    S = eig_functions(A)[0]
    G = torch.randn(1, 12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(11))
    torch.testing.assert_close(lyapunov_scaled(S, G), lyapunov_sign(S, G, iters=40), rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------------------------
# the forward
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["cubic", "quintic"])
def test_forward_float64(kind):
    A = spd(32, [1e2, 1e4, 1e6], seed=12)
    S, R, _, _ = eig_functions(A)
    Y, info = newton_schulz_scaled(A, kind=kind, return_info=True)
    Z = newton_schulz_scaled(A, kind=kind, inverse=True)
    assert (rel(Y, S) <= 1e-12).all() and (rel(Z, R) <= 1e-10).all()
    assert (info.residual <= 1e-10).all() and (info.bound <= 2.0**-52).all()


@pytest.mark.parametrize("kind", ["cubic", "quintic"])
def test_forward_float32_accuracy(kind):
    """Target: ~1e-5 relative error up to condition 1e6 (float32 eigh itself gives ~1e-4 there)."""
    A = spd(64, [1e2, 1e4, 1e6], seed=13).float()
    S, R, _, _ = eig_functions(A)
    Y = newton_schulz_scaled(A, kind=kind)
    Z = newton_schulz_scaled(A, kind=kind, inverse=True)
    assert Y.dtype == torch.float32
    np.testing.assert_array_less(rel(Y, S).numpy(), [3e-6, 1e-5, 5e-5])
    np.testing.assert_array_less(rel(Z, R).numpy(), [3e-6, 1e-4, 1e-2])  # A^{-1/2} is ill-conditioned
    lam32, U32 = torch.linalg.eigh(A)
    R32 = (U32 * lam32.clamp_min(1e-30).rsqrt().unsqueeze(-2)) @ U32.mT
    assert rel(Z, R)[2] < rel(R32, R)[2] / 5  # far better than float32 eigh at kappa = 1e6


def test_forward_with_known_lower_is_cheaper_and_as_accurate():
    A = spd(32, [1e2, 1e5], seed=14)
    S = eig_functions(A)[0]
    Y0, default = newton_schulz_scaled(A, return_info=True)
    Y1, known = newton_schulz_scaled(A, lower=torch.tensor([1e-2, 1e-5]), return_info=True)
    assert (known.iterations < default.iterations).all()
    assert known.iterations[0] < known.iterations[1]  # per-matrix schedules
    assert (rel(Y1, S) <= 1e-12).all()


# ------------------------------------------------------------------------------------------------
# per-matrix behaviour, dtypes and edge cases
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["forward", "inverse", "lyapunov"])
def test_batch_independence(which):
    """A badly conditioned (or zero, or huge) neighbour changes nothing in a well-conditioned matrix."""
    n = 16
    good = spd(n, [1e2], seed=15).float()
    bad = spd(n, [1e7], seed=16, scales=[1e20]).float()
    batch = torch.cat([good, bad, torch.zeros(1, n, n)])
    G = torch.randn(3, n, n, generator=torch.Generator().manual_seed(17))
    if which == "lyapunov":
        alone, together = lyapunov_scaled(good, G[:1]), lyapunov_scaled(batch, G)
    else:
        f = lambda X: newton_schulz_scaled(X, inverse=which == "inverse")  # noqa: E731
        alone, together = f(good), f(batch)
    torch.testing.assert_close(together[:1], alone, rtol=1e-6, atol=0)


def test_per_matrix_lower_gives_per_matrix_steps_and_tol_stops_each():
    n = 12
    A = torch.cat([spd(n, [1e1, 1e6], seed=18), 4.0 * torch.eye(n, dtype=torch.float64)[None]])
    S = eig_functions(A)[0]
    G = torch.randn(3, n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(19))
    X, info = lyapunov_scaled(S, G, lower=torch.tensor([10**-0.5, 1e-3, 1.0]), tol=1e-10, return_info=True)
    it = info.iterations.tolist()
    assert it[2] == 0 and 0 < it[0] < it[1]  # the multiple of I is exact at once
    assert info.converged.all()
    torch.testing.assert_close(X[2], G[2] / 4.0, rtol=1e-12, atol=0)  # X = G / (2 * 2)
    # a stopped matrix is no longer updated: same result as running exactly its own number of steps
    X0 = lyapunov_scaled(S[:1], G[:1], lower=10**-0.5, iters=it[0])
    torch.testing.assert_close(X[:1], X0, rtol=0, atol=0)
    Y, finfo = newton_schulz_scaled(A, lower=torch.tensor([0.1, 1e-6, 1.0]), tol=1e-9, return_info=True)
    assert finfo.iterations[2] == 0 and finfo.iterations[0] < finfo.iterations[1]
    torch.testing.assert_close(Y[2], 2.0 * torch.eye(n, dtype=torch.float64), rtol=1e-12, atol=0)


def test_tol_recovers_from_a_wrong_lower_and_warns_when_it_cannot():
    """With a tolerance, a matrix whose ``lower`` was too optimistic keeps stepping past its schedule
    (classical polynomial) until its residual is at rounding level; only a cap on the steps warns."""
    n = 12
    A = spd(n, [1e8], seed=20)
    S, R, U, s = eig_functions(A)
    G = torch.randn(1, n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(21))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, info = lyapunov_scaled(S, G, lower=0.5, tol=1e-12, return_info=True)
        Y, finfo = newton_schulz_scaled(A, lower=0.5, tol=1e-12, inverse=True, return_info=True)
    assert rel(X, lyapunov_oracle(U, s, G)) < 1e-10 and rel(Y, R) < 1e-8
    assert info.iterations > polynomial_schedule(0.5, tol=1e-12).steps
    _, right = lyapunov_scaled(S, G, lower=1e-4, tol=1e-12, return_info=True)
    assert right.iterations < info.iterations
    with pytest.warns(RuntimeWarning, match="lower"):
        lyapunov_scaled(S, G, lower=0.5, iters=4, tol=1e-10)
    with pytest.warns(RuntimeWarning, match="lower"):
        newton_schulz_scaled(A, lower=0.5, iters=4, tol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs_are_computed_in_float32(dtype):
    A = spd(8, [1e2], seed=21).to(dtype)
    G = torch.randn(1, 8, 8).to(dtype)
    Y = newton_schulz_scaled(A)
    assert Y.dtype == dtype
    torch.testing.assert_close(Y, newton_schulz_scaled(A.float()).to(dtype), rtol=0, atol=0)
    X = lyapunov_scaled(A, G)
    assert X.dtype == dtype
    torch.testing.assert_close(X, lyapunov_scaled(A.float(), G.float()).to(dtype), rtol=0, atol=0)


def test_zero_matrix_and_small_shapes():
    n = 4
    A = torch.stack([torch.zeros(n, n), torch.eye(n) * 9.0])
    Y = newton_schulz_scaled(A)
    assert (Y[0] == 0).all()
    torch.testing.assert_close(Y[1], 3.0 * torch.eye(n))
    Z = newton_schulz_scaled(A, inverse=True)
    off = ~torch.eye(n, dtype=torch.bool)
    assert torch.isinf(Z[0].diagonal()).all() and (Z[0][off] == 0).all()
    G = torch.ones(2, n, n)
    G[0, 0, 1] = 0
    X = lyapunov_scaled(torch.stack([torch.zeros(n, n), torch.eye(n)]), G)
    assert torch.isinf(X[0, 0, 0]) and X[0, 0, 1] == 0
    torch.testing.assert_close(X[1], G[1] / 2)
    # a single (unbatched) matrix, 1 x 1 matrices, an empty batch
    B = spd(6, [1e3], seed=22)[0]
    torch.testing.assert_close(newton_schulz_scaled(B), eig_functions(B)[0], rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(
        newton_schulz_scaled(torch.tensor([[[4.0]], [[0.25]]])), torch.tensor([[[2.0]], [[0.5]]])
    )
    assert newton_schulz_scaled(torch.zeros(0, 3, 3)).shape == (0, 3, 3)
    assert lyapunov_scaled(torch.zeros(0, 3, 3), torch.zeros(0, 3, 3)).shape == (0, 3, 3)
    with pytest.raises(ValueError):
        newton_schulz_scaled(torch.zeros(3, 4))
    with pytest.raises(ValueError):
        newton_schulz_scaled(B, lower=2.0)
    with pytest.raises(ValueError):
        lyapunov_scaled(B, B, kind="septic")


@pytest.mark.parametrize("kind", ["cubic", "quintic"])
@pytest.mark.parametrize("iters", [0, 1, 2, 5])
def test_matmul_counts(kind, iters):
    A = spd(8, [10.0, 100.0], seed=23)
    for inverse in (False, True):
        with count_ops() as c:
            newton_schulz_scaled(A, kind=kind, iters=iters, inverse=inverse)
        assert c["matmul"] == newton_schulz_scaled_matmul_count(iters, kind=kind, inverse=inverse)
    with count_ops() as c:
        lyapunov_scaled(A, A, kind=kind, iters=iters, squarings=0)
    assert c["matmul"] == lyapunov_scaled_matmul_count(iters, kind=kind, squarings=0)
    assert lyapunov_scaled_matmul_count(1, kind=kind, squarings=0) == {"cubic": 6, "quintic": 9}[kind]
    assert newton_schulz_scaled_matmul_count(10, kind=kind, squarings=0) == {"cubic": 27, "quintic": 37}[kind]


def test_autograd_through_the_forward_matches_the_lyapunov_solution():
    """Two independent routes to the gradient of the square root: autograd through the converged
    scaled iteration, and the scaled Lyapunov solver at the exact S (both float64)."""
    A = spd(10, [1e3], seed=24)
    S = eig_functions(A)[0]
    W = torch.randn(1, 10, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(25))
    A = A.clone().requires_grad_(True)
    (newton_schulz_scaled(A, lower=1e-3) * W).sum().backward()
    torch.testing.assert_close(A.grad, lyapunov_scaled(S, W, lower=1e-3**0.5), rtol=0, atol=1e-9 * W.abs().max())
