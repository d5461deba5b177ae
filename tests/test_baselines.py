"""The paper's baselines: SVD-Taylor, SVD-Padé, SVD-PI backward passes and the PI forward.

Oracles: scipy's Bartels–Stewart solution of S X + X S = G (the exact gradient), transformed to the
eigenbasis and multiplied by the truncation factors derived by hand (docstrings of
mathsqrt.baselines); exact rational arithmetic for the Padé pair; numpy's eigh for PI.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import scipy.linalg
import torch

import mathsqrt
from mathsqrt import baselines
from mathsqrt.testing import spd_from_spectrum

SVD = ("svd-taylor", "svd-pade", "svd-pi")
EPS = {torch.float32: torch.finfo(torch.float32).eps, torch.float64: torch.finfo(torch.float64).eps}


def _separated(n=6, dtype=torch.float64, seed=1):
    """Eigenvalues 2^-k: every ratio min/max <= 1/2 (well separated in ratio)."""
    lam = torch.tensor([2.0 ** (-k) for k in range(n)], dtype=torch.float64).flip(0)
    return spd_from_spectrum(lam, seed=seed).to(dtype)


def _sym_G(n, dtype=torch.float64, seed=2):
    g = torch.Generator().manual_seed(seed)
    G = torch.randn(n, n, dtype=torch.float64, generator=g)
    return (G + G.T).to(dtype)


def _grad(A, G, backward, inverse=False, **kw):
    A = A.clone().requires_grad_(True)
    fn = mathsqrt.invsqrtm if inverse else mathsqrt.sqrtm
    out = fn(A, method="eigh", backward=backward, **kw)
    (out * G).sum().backward()
    return A.grad


def _exact_eigenbasis(A, G, inverse=False):
    """(lam, U, X_hat): the exact gradient in the eigenbasis, from scipy's Lyapunov solver."""
    A64 = A.detach().double().numpy()
    lam, U = np.linalg.eigh(A64)
    S = U @ np.diag(np.sqrt(lam)) @ U.T
    G64 = G.detach().double().numpy()
    if inverse:
        R = U @ np.diag(1 / np.sqrt(lam)) @ U.T
        G64 = -R @ G64 @ R
    X = scipy.linalg.solve_continuous_lyapunov(S, G64)
    return lam, U, U.T @ X @ U


def _ratio(lam):
    lo = np.minimum.outer(lam, lam)
    hi = np.maximum.outer(lam, lam)
    r = lo / hi
    np.fill_diagonal(r, 0.0)
    return r


# ------------------------------------------------------------------------------------------------
# SVD-Taylor
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("degree", [0, 3, 20])
def test_taylor_is_exact_gradient_times_one_minus_r_power(degree, inverse):
    """Off-diagonal eigenbasis entries are scaled by 1 - r^(K+1); the diagonal is exact."""
    A, G = _separated(), _sym_G(6)
    X = _grad(A, G, "svd-taylor", inverse=inverse, backward_degree=degree).numpy()
    lam, U, Xh = _exact_eigenbasis(A, G, inverse)
    factor = 1 - _ratio(lam) ** (degree + 1)
    np.fill_diagonal(factor, 1.0)
    expected = U @ (Xh * factor) @ U.T
    np.testing.assert_allclose(X, expected, rtol=0, atol=1e-12 * np.abs(expected).max())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("degree", [5, 20])
def test_taylor_error_within_derived_bound(dtype, degree):
    """Relative Frobenius error <= max_{i != j} r_ij^(K+1) (per-entry factor, orthogonal invariance)."""
    A, G = _separated(dtype=dtype), _sym_G(6, dtype)
    X = _grad(A, G, "svd-taylor", backward_degree=degree).double().numpy()
    lam, U, Xh = _exact_eigenbasis(A, G)
    exact = U @ Xh @ U.T
    bound = _ratio(lam).max() ** (degree + 1)
    # float32: rounding ~ n eps max(lam_i/|lam_i - lam_j|) = 6 * 1.2e-7 * 2 ~ 1e-6; allow 100x.
    rounding = 100 * 6 * EPS[dtype] * 2
    err = np.linalg.norm(X - exact) / np.linalg.norm(exact)
    assert err <= bound + rounding
    assert err >= 0.01 * bound  # the truncation is really there (not an exact gradient in disguise)


def test_taylor_factor_bounded_at_tie_and_antisymmetric():
    lam = torch.tensor([1.0, 2.0, 2.0, 3.0], dtype=torch.float64)
    K = baselines.taylor_factor(lam, 20)
    assert torch.isfinite(K).all()
    torch.testing.assert_close(K, -K.T)
    assert K[2, 1] == pytest.approx(21 / 2.0)  # (K + 1) / lambda at an exact tie


# ------------------------------------------------------------------------------------------------
# SVD-Padé
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("degree", [1, 10, 50])
def test_pade_pair_is_one_over_one_minus_r_exactly(degree):
    """P(r)/Q(r) = 1/(1 - r) in exact rational arithmetic; the float evaluation agrees to rounding."""
    for r in (Fraction(0), Fraction(1, 3), Fraction(9, 10), Fraction(999, 1000)):
        P = sum(r**k for k in range(degree))
        Q = 1 - r**degree
        assert P / Q == 1 / (1 - r)
        Pt, Qt = baselines.pade_pair(torch.tensor(float(r), dtype=torch.float64), degree)
        # relative rounding of 1 - r^n is about n eps / (1 - r^n)
        tol = 4 * degree * EPS[torch.float64] / float(1 - r**degree) + 1e-15
        assert float(Pt / Qt) == pytest.approx(float(1 / (1 - r)), rel=tol)


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("degree", [1, 10, 50])
def test_pade_equals_exact_gradient_on_separated_spectrum(degree, inverse):
    A, G = _separated(), _sym_G(6)
    X = _grad(A, G, "svd-pade", inverse=inverse, backward_degree=degree).numpy()
    lam, U, Xh = _exact_eigenbasis(A, G, inverse)
    exact = U @ Xh @ U.T
    assert np.linalg.norm(X - exact) / np.linalg.norm(exact) < 1e-12


def test_pade_guard_at_tie_is_per_matrix():
    lam = torch.tensor([[1.0, 2.0, 2.0, 3.0], [1.0, 1.5, 2.0, 4.0]], dtype=torch.float64)
    K = baselines.pade_factor(lam, 10)
    assert torch.isfinite(K).all()
    # the tied pair of matrix 0 gets +/- the largest finite |K| of matrix 0 (1/(2-1) = 1), not of the batch (2)
    assert K[0, 2, 1] == 1.0 and K[0, 1, 2] == -1.0
    exact = 1 / (lam[1].unsqueeze(-1) - lam[1].unsqueeze(-2))
    exact.fill_diagonal_(0)
    torch.testing.assert_close(K[1], exact)


# ------------------------------------------------------------------------------------------------
# SVD-PI
# ------------------------------------------------------------------------------------------------


def _pi_closed_form(A, G, T):
    """Exact-arithmetic result of backprop through T deflated power iterations (derived in the docstring)."""
    lam, U = np.linalg.eigh(A.detach().double().numpy())
    n = len(lam)
    Gh = U.T @ G.detach().double().numpy() @ U
    f = np.sqrt(lam)

    def geo(x, d):
        return sum(x**k for k in range(d + 1)) if d >= 0 else 0.0

    F = np.zeros((n, n))  # F[i, j]: component along u_i of dv_j per unit (U^T dA U)_ij
    for i in range(n):
        for j in range(n):
            if j > i:
                F[i, j] = geo(lam[i] / lam[j], T - 1) / lam[j]
            elif j < i:
                F[i, j] = -geo(lam[j] / lam[i], T - 2) / lam[i]
    C = F * (Gh + Gh.T) * f[None, :] + np.diag(0.5 / f * np.diag(Gh))
    return U @ (0.5 * (C + C.T)) @ U.T


@pytest.mark.parametrize("iters", [1, 2, 7, 20])
def test_pi_matches_closed_form(iters):
    A, G = _separated(), _sym_G(6)
    X = _grad(A, G, "svd-pi", backward_iters=iters).numpy()
    expected = _pi_closed_form(A, G, iters)
    np.testing.assert_allclose(X, expected, rtol=0, atol=1e-11 * np.abs(expected).max())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("iters", [10, 20])
def test_pi_error_within_derived_bound(dtype, iters):
    """Factors 1 - rho^T and 1 - rho^(T-1): relative error <= max rho^(T-1)."""
    A, G = _separated(dtype=dtype), _sym_G(6, dtype)
    X = _grad(A, G, "svd-pi", backward_iters=iters).double().numpy()
    lam, U, Xh = _exact_eigenbasis(A, G)
    exact = U @ Xh @ U.T
    bound = _ratio(lam).max() ** (iters - 1)
    rounding = 100 * 6 * EPS[dtype] * 2 * iters
    assert np.linalg.norm(X - exact) / np.linalg.norm(exact) <= bound + rounding


def test_pi_factor_reproduces_pi_gradient():
    A, G = _separated(), _sym_G(6)
    lam, U = torch.linalg.eigh(A)
    f = lam.sqrt()
    X = baselines.svd_gradient(G, U, f, 0.5 / f, baselines.pi_factor(lam, 9).transpose(-2, -1))
    torch.testing.assert_close(X, _grad(A, G, "svd-pi", backward_iters=9), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------------------------
# All variants: ties, batches, dtypes, API
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_exact_tie_autograd_nan_others_finite(dtype):
    A = torch.diag(torch.tensor([1.0, 2.0, 2.0, 3.0, 5.0], dtype=dtype))
    G = _sym_G(5, dtype)
    assert not torch.isfinite(_grad(A, G, "autograd")).all()
    for backward in SVD + ("lyapunov", "eigh"):
        X = _grad(A, G, backward)
        assert torch.isfinite(X).all(), backward
        assert X.dtype == dtype and X.shape == A.shape


@pytest.mark.parametrize("backward", SVD)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_batch_independence(backward, dtype):
    A0 = _separated(5, dtype=dtype, seed=3)
    others = [_separated(5, dtype=dtype, seed=4) * 3, torch.diag(torch.tensor([1.0, 2.0, 2.0, 9.0, 30.0], dtype=dtype))]
    G = _sym_G(5, dtype)
    alone = _grad(A0.unsqueeze(0), G, backward)[0]
    batch = torch.stack([A0] + others)
    together = _grad(batch, G.expand(3, 5, 5), backward)[0]
    torch.testing.assert_close(together, alone, rtol=50 * EPS[dtype], atol=50 * EPS[dtype] * float(alone.abs().max()))


@pytest.mark.parametrize("backward", SVD)
def test_gradient_is_symmetrised_and_batched(backward):
    A = torch.stack([_separated(4, seed=s) for s in (5, 6)]).reshape(2, 1, 4, 4)
    G = torch.randn(2, 1, 4, 4, dtype=torch.float64)  # not symmetric
    X = _grad(A, G, backward)
    assert X.shape == A.shape
    torch.testing.assert_close(X, X.transpose(-2, -1))


@pytest.mark.parametrize("backward", SVD)
def test_needs_eigh_forward(backward):
    A = _separated(4).requires_grad_(True)
    with pytest.raises(ValueError, match="method='eigh'"):  # at call time, not at .backward()
        mathsqrt.sqrtm(A, method="mpa", backward=backward)


@pytest.mark.parametrize("backward", SVD)
def test_option_validation(backward):
    A = _separated(4)
    with pytest.raises(ValueError, match="backward_tol"):
        mathsqrt.sqrtm(A, method="eigh", backward=backward, backward_tol=1e-6)
    keyword = "backward_iters" if backward == "svd-pi" else "backward_degree"  # a degree is not an iteration count
    with pytest.raises(ValueError, match=keyword):
        mathsqrt.sqrtm(A, method="eigh", backward=backward, **{keyword: -1})
    with pytest.raises(TypeError, match=keyword):
        mathsqrt.sqrtm(A, method="eigh", backward=backward, **{keyword: 2.5})
    assert backward in mathsqrt.BACKWARDS


@pytest.mark.parametrize("backward", ["svd-taylor", "svd-pade"])
def test_backward_iters_is_a_deprecated_alias_of_the_degree(backward):
    A, G = _separated(5), _sym_G(5)
    with pytest.warns(DeprecationWarning, match="backward_degree"):
        old = _grad(A, G, backward, backward_iters=3)
    torch.testing.assert_close(old, _grad(A, G, backward, backward_degree=3), rtol=0, atol=0)
    assert not torch.equal(old, _grad(A, G, backward, backward_degree=4))


def test_default_degrees_are_the_papers():
    assert (baselines.DEFAULT_TAYLOR_DEGREE, baselines.DEFAULT_PADE_DEGREE, baselines.DEFAULT_PI_ITERS) == (20, 10, 20)


def test_half_precision_is_computed_in_float32():
    A = _separated(4).to(torch.bfloat16)
    X = _grad(A, _sym_G(4, torch.bfloat16), "svd-taylor")
    assert X.dtype == torch.bfloat16 and torch.isfinite(X.float()).all()


# ------------------------------------------------------------------------------------------------
# PI forward (So-ViT)
# ------------------------------------------------------------------------------------------------


def _pi_oracle(A, pairs, inverse):
    lam, U = np.linalg.eigh(A)
    lam, U = lam[::-1], U[:, ::-1]
    a = -0.5 if inverse else 0.5
    top = sum(lam[k] ** a * np.outer(U[:, k], U[:, k]) for k in range(pairs))
    rest = A - sum(lam[k] * np.outer(U[:, k], U[:, k]) for k in range(pairs))
    return top + rest / lam[pairs - 1] ** (1 - a)


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("pairs", [1, 2, 3])
def test_power_iteration_sqrtm_against_eigh(pairs, inverse):
    A = _separated(6)  # ratios 1/2: 80 iterations converge to 2^-80
    out = baselines.power_iteration_sqrtm(A, iters=80, pairs=pairs, inverse=inverse)
    np.testing.assert_allclose(out.numpy(), _pi_oracle(A.numpy(), pairs, inverse), rtol=0, atol=1e-10)


def test_power_iteration_sqrtm_full_pairs_is_the_square_root():
    A = _separated(4)
    out = baselines.power_iteration_sqrtm(A, iters=100, pairs=4)
    np.testing.assert_allclose(out.numpy(), scipy.linalg.sqrtm(A.numpy()).real, atol=1e-10)


def test_power_iteration_sqrtm_converges_geometrically():
    A = _separated(6)
    errs = [
        float(
            torch.linalg.matrix_norm(
                baselines.power_iteration_sqrtm(A, iters=t) - torch.from_numpy(_pi_oracle(A.numpy(), 1, False))
            )
        )
        for t in (5, 10)
    ]
    # v error ~ (1/2)^T; the output error is first order in it
    assert errs[1] < errs[0] * 2.0**-4


def test_power_iteration_sqrtm_differentiable_and_batched():
    A = torch.stack([_separated(4, seed=s) for s in (7, 8)]).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda X: baselines.power_iteration_sqrtm(0.5 * (X + X.mT), iters=5, pairs=2), (A,))
    single = baselines.power_iteration_sqrtm(A[1:2].detach(), iters=5)
    torch.testing.assert_close(baselines.power_iteration_sqrtm(A.detach(), iters=5)[1:2], single)


def test_power_iteration_sqrtm_validation():
    with pytest.raises(TypeError):
        baselines.power_iteration_sqrtm(torch.eye(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="square"):
        baselines.power_iteration_sqrtm(torch.ones(2, 3))
    with pytest.raises(ValueError, match="pairs"):
        baselines.power_iteration_sqrtm(torch.eye(3), pairs=4)
    with pytest.raises(ValueError, match="iters"):
        baselines.power_iteration_sqrtm(torch.eye(3), iters=0)


@pytest.mark.parametrize("inverse", [False, True])
def test_power_iteration_sqrtm_at_extreme_float32_scales(inverse):
    """PI is homogeneous of degree ±1/2 (mu_k and R scale with A): with s = 2^{±100} the squared
    entries of the iterates over/underflow float32, which must not give NaN or unnormalised vectors."""
    A = _separated(4, dtype=torch.float32)
    reference = baselines.power_iteration_sqrtm(A.double(), iters=30, pairs=2, inverse=inverse).float()
    for k in (100, -100):
        out = baselines.power_iteration_sqrtm(A * 2.0**k, iters=30, pairs=2, inverse=inverse)
        assert torch.isfinite(out).all()
        torch.testing.assert_close(out * 2.0 ** (k / 2 if inverse else -k / 2), reference, rtol=1e-4, atol=1e-5)


def test_power_iteration_sqrtm_more_validation():
    with pytest.raises(ValueError, match="empty"):
        baselines.power_iteration_sqrtm(torch.zeros(0, 4, 4))
    with pytest.raises(ValueError, match="empty"):
        baselines.power_iteration_sqrtm(torch.zeros(0, 0))
    with pytest.raises(ValueError, match="zero"):  # A^{-1/2} of a zero matrix does not exist (was NaN)
        baselines.power_iteration_sqrtm(torch.stack([torch.eye(3), torch.zeros(3, 3)]), inverse=True)
    assert torch.equal(baselines.power_iteration_sqrtm(torch.zeros(3, 3)), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="v0"):
        baselines.power_iteration_sqrtm(torch.eye(4), v0=torch.ones(3))
    # numpy integers are integers, as in mathsqrt.sqrtm
    out = baselines.power_iteration_sqrtm(torch.eye(3, dtype=torch.float64), iters=np.int64(2), pairs=np.int64(1))
    torch.testing.assert_close(out, torch.eye(3, dtype=torch.float64))
