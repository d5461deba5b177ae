"""Backward methods against the exact Lyapunov solution (scipy's Bartels–Stewart) and gradcheck.

Convention tested here: the gradient returned for an incoming gradient ``G`` is the solution ``X`` of
``S X + X S = G`` (square root) or ``S X + X S = -R G R`` (inverse square root), **not symmetrised**.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
import torch
from scipy.linalg import solve_continuous_lyapunov

import mathsqrt
from mathsqrt import backward as bw
from mathsqrt.testing import random_spd

EXACT_BACKWARDS = [("lyapunov", {"backward_tol": 1e-13}), ("eigh", {}), ("bartels-stewart", {})]

#: Forward methods that compute a square root (every backward can follow them).
ROOT_METHODS = tuple(name for name, entry in mathsqrt.methods.FORWARDS.items() if entry.root)


def _grad(fn, A, G, **kw):
    A = A.clone().requires_grad_(True)
    fn(A, **kw).backward(G)
    return A.grad


def _exact_sqrt_gradient(A: np.ndarray, G: np.ndarray, inverse: bool) -> np.ndarray:
    S = scipy.linalg.sqrtm(A).real
    if inverse:
        R = np.linalg.inv(S)
        return solve_continuous_lyapunov(S, -R @ G @ R)
    return solve_continuous_lyapunov(S, G)


@pytest.mark.parametrize("backward, kw", EXACT_BACKWARDS, ids=[b for b, _ in EXACT_BACKWARDS])
@pytest.mark.parametrize("method", ROOT_METHODS)
def test_backward_solves_lyapunov_at_the_computed_value(method, backward, kw):
    """For any forward, the gradient solves S X + X S = G with S the computed square root."""
    A = random_spd(12, 10.0, seed=1)
    G = torch.randn(12, 12, dtype=torch.float64)
    A_ = A.clone().requires_grad_(True)
    S = mathsqrt.sqrtm(A_, method=method, backward=backward, **kw)
    S.backward(G)
    S_np = S.detach().numpy()
    expected = solve_continuous_lyapunov(0.5 * (S_np + S_np.T), G.numpy())
    np.testing.assert_allclose(A_.grad.numpy(), expected, rtol=0, atol=1e-9 * np.abs(expected).max())


@pytest.mark.parametrize(
    "backward, kw", EXACT_BACKWARDS + [("autograd", {})], ids=[b for b, _ in EXACT_BACKWARDS] + ["autograd"]
)
@pytest.mark.parametrize("inverse", [False, True], ids=["sqrt", "invsqrt"])
def test_exact_forward_and_backward_give_the_exact_gradient(backward, kw, inverse):
    A = random_spd(10, 100.0, batch=2, seed=2)
    G = torch.randn(2, 10, 10, dtype=torch.float64)
    fn = mathsqrt.invsqrtm if inverse else mathsqrt.sqrtm
    grad = _grad(fn, A, G, method="eigh", backward=backward, **kw).numpy()
    for i in range(2):
        expected = _exact_sqrt_gradient(A[i].numpy(), G[i].numpy(), inverse)
        if backward == "autograd":  # torch's eigh gradient is only meaningful on symmetric directions
            grad_i, expected = 0.5 * (grad[i] + grad[i].T), 0.5 * (expected + expected.T)
        else:
            grad_i = grad[i]
        np.testing.assert_allclose(grad_i, expected, rtol=0, atol=1e-9 * np.abs(expected).max())


@pytest.mark.parametrize("backward, tol", [("lyapunov-ns", 1e-6), ("lyapunov", 1e-5)])
def test_default_lyapunov_iterations_on_a_well_conditioned_input(backward, tol):
    """8 iterations (the paper's default) are enough at condition 10: Table 6 of the paper. The
    scaled default, designed for condition up to 1e4 in the same 8 steps, is within float32 accuracy."""
    A = random_spd(32, 10.0, seed=3)
    G = torch.randn(32, 32, dtype=torch.float64)
    grad = _grad(mathsqrt.sqrtm, A, G, method="eigh", backward=backward).numpy()
    expected = _exact_sqrt_gradient(A.numpy(), G.numpy(), False)
    assert np.linalg.norm(grad - expected) / np.linalg.norm(expected) < tol


@pytest.mark.timeout(60)
def test_backward_tol_fixes_ill_conditioned_inputs():
    """At condition 1e4, 8 iterations leave an O(1) gradient error; a tolerance reaches the exact one."""
    A = random_spd(64, 1e4, seed=4)
    G = torch.randn(64, 64, dtype=torch.float64)
    expected = _exact_sqrt_gradient(A.numpy(), G.numpy(), False)

    def rel(grad):
        return np.linalg.norm(grad.numpy() - expected) / np.linalg.norm(expected)

    assert rel(_grad(mathsqrt.sqrtm, A, G, method="eigh", backward="lyapunov-ns")) > 0.1  # the paper's
    assert rel(_grad(mathsqrt.sqrtm, A, G, method="eigh", backward="lyapunov-ns", backward_tol=1e-10)) < 1e-8
    # the optimally scaled default is accurate in the paper's 8 steps, and exact with a tolerance
    assert rel(_grad(mathsqrt.sqrtm, A, G, method="eigh")) < 1e-5
    assert rel(_grad(mathsqrt.sqrtm, A, G, method="eigh", backward_tol=1e-10)) < 1e-8


def test_lyapunov_info_and_warning():
    A = random_spd(8, 1e3, seed=5)
    S = mathsqrt.sqrtm(A, method="eigh")
    G = torch.randn(8, 8, dtype=torch.float64)
    X, info = bw.lyapunov_sign(
        S, G, scale=torch.linalg.matrix_norm(A, keepdim=True).sqrt(), tol=1e-12, return_info=True
    )
    assert info.converged and info.iterations < bw.DEFAULT_MAX_ITERS and float(info.residual) <= 1e-12
    np.testing.assert_allclose(X.numpy(), solve_continuous_lyapunov(S.numpy(), G.numpy()), atol=1e-10)
    with pytest.warns(RuntimeWarning, match="backward_iters"):
        _grad(mathsqrt.sqrtm, A, G, method="eigh", backward="lyapunov-ns", backward_iters=3, backward_tol=1e-12)
    with pytest.warns(RuntimeWarning, match="iters"):
        _grad(mathsqrt.sqrtm, A, G, method="eigh", backward_iters=2, backward_tol=1e-12)


def test_lyapunov_residuals_decrease_like_table_6():
    """||B_k - I|| falls monotonically and ends quadratically (cf. Table 6 of the paper)."""
    A = random_spd(64, 30.0, seed=6)
    S = mathsqrt.sqrtm(A, method="eigh")
    G = torch.randn(64, 64, dtype=torch.float64)
    scale = torch.linalg.matrix_norm(A, keepdim=True).sqrt()
    residuals = [
        float(bw.lyapunov_sign(S, G, scale=scale, iters=k, return_info=True)[1].residual) for k in range(1, 12)
    ]
    assert all(b < a for a, b in zip(residuals, residuals[1:]) if a > 1e-13)
    assert residuals[-1] < 1e-12


@pytest.mark.parametrize("inverse", [False, True], ids=["sqrt", "invsqrt"])
@pytest.mark.parametrize("method", ROOT_METHODS)
def test_batch_regression(method, inverse):
    """One matrix's result and gradient do not depend on the other matrices of the batch."""
    fn = mathsqrt.invsqrtm if inverse else mathsqrt.sqrtm
    A = random_spd(6, 20.0, batch=3, seed=7)
    A[2] *= 1e4  # the authors' code normalised the inverse's gradient by the whole batch's norm
    G = torch.randn(3, 6, 6, dtype=torch.float64)
    batched = _grad(fn, A, G, method=method)
    alone = _grad(fn, A[:1], G[:1], method=method)
    torch.testing.assert_close(batched[:1], alone, rtol=1e-10, atol=1e-12)
    with torch.no_grad():
        torch.testing.assert_close(fn(A, method=method)[:1], fn(A[:1], method=method), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("inverse", [False, True], ids=["sqrt", "invsqrt"])
@pytest.mark.parametrize("method", ROOT_METHODS)
def test_gradcheck_autograd_backward(method, inverse):
    """backward='autograd' differentiates what was computed: gradcheck passes for every method."""
    fn = mathsqrt.invsqrtm if inverse else mathsqrt.sqrtm
    A = random_spd(4, 5.0, seed=8)

    def f(M):
        return fn(0.5 * (M + M.transpose(-2, -1)), method=method, backward="autograd")

    assert torch.autograd.gradcheck(f, (A.clone().requires_grad_(True),), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("inverse", [False, True], ids=["sqrt", "invsqrt"])
@pytest.mark.parametrize(
    "method, backward, kw",
    [
        ("eigh", "eigh", {}),
        ("eigh", "bartels-stewart", {}),
        ("eigh", "lyapunov", {"backward_tol": 1e-14}),
        ("mpa", "lyapunov", {"degree": 12, "backward_tol": 1e-14}),
        ("ns", "eigh", {"iters": 25}),
    ],
)
def test_gradcheck_exact_pairs(method, backward, kw, inverse):
    """Where forward and backward are both converged, the custom gradient is the true derivative."""
    fn = mathsqrt.invsqrtm if inverse else mathsqrt.sqrtm
    A = random_spd(4, 5.0, seed=9)

    def f(M):
        return fn(M, method=method, backward=backward, check_finite=False, **kw)

    # eigh reads one triangle and the Cholesky solve of MPA reads one triangle of Q(W): perturb
    # symmetrically; Newton-Schulz is a polynomial in A and is checked on general perturbations.
    g = f if method == "ns" else (lambda M: f(0.5 * (M + M.transpose(-2, -1))))  # noqa: E731
    assert torch.autograd.gradcheck(g, (A.clone().requires_grad_(True),), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("backward, bound", [("lyapunov-ns", 0), ("lyapunov", 2)])
def test_lyapunov_backward_counts_six_matmuls_per_iteration(backward, bound):
    """Six per step (paper Eq. 20–22); the scaled solver adds two for its bound on lambda_max."""
    A = random_spd(8, 10.0, batch=2, seed=10).requires_grad_(True)
    S = mathsqrt.sqrtm(A, backward=backward, backward_iters=5)
    with mathsqrt.count_ops() as ops:
        S.backward(torch.ones_like(S))
    assert ops["matmul"] == 6 * 5 + bound
    R = mathsqrt.invsqrtm(A, backward=backward, backward_iters=5)
    with mathsqrt.count_ops() as ops:
        R.backward(torch.ones_like(R))
    assert ops["matmul"] == 6 * 5 + bound + 3


def test_zero_matrix_has_a_finite_gradient_by_default():
    A = torch.zeros(2, 5, 5, requires_grad=True)
    S = mathsqrt.sqrtm(A)
    S.sum().backward()
    assert torch.equal(S, torch.zeros_like(S)) and torch.isfinite(A.grad).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("backward", ["lyapunov", "eigh", "autograd"])
def test_gradient_dtype_and_input_untouched(dtype, backward):
    A = random_spd(6, 10.0, batch=2, seed=11, dtype=torch.float32).to(dtype)
    before = A.clone()
    A.requires_grad_(True)
    S = mathsqrt.sqrtm(A, method="eigh" if backward == "autograd" else "mpa", backward=backward)
    S.float().square().sum().backward()
    assert A.grad.dtype == dtype and A.grad.shape == A.shape and torch.isfinite(A.grad.float()).all()
    assert torch.equal(A.detach(), before)


def test_eigenbasis_helper_against_scipy():
    A = random_spd(7, 50.0, seed=12)
    lam, U = torch.linalg.eigh(A)
    G = torch.randn(7, 7, dtype=torch.float64)
    X = bw.lyapunov_eigenbasis(U, lam.sqrt(), G)
    S = scipy.linalg.sqrtm(A.numpy()).real
    np.testing.assert_allclose(X.numpy(), solve_continuous_lyapunov(S, G.numpy()), atol=1e-11)


def test_no_warning_on_default_path():
    A = random_spd(6, 10.0, seed=13).requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mathsqrt.sqrtm(A).sum().backward()


@pytest.mark.parametrize("inverse", [False, True], ids=["sqrt", "invsqrt"])
@pytest.mark.parametrize("backward", ["lyapunov", "eigh", "autograd"])
def test_gradient_at_extreme_scales_in_float32(backward, inverse):
    """The gradient at s A is s^{-1/2} (sqrt) or s^{-3/2} (inverse) times the gradient at A
    (differentiate S(sA) = s^{±1/2} S(A)); s = 2^{±70} makes float32 squared entries over/underflow."""
    A = random_spd(4, 5.0, seed=14, dtype=torch.float32)
    G = torch.randn(4, 4, dtype=torch.float64)
    G = (G + G.T).float()
    fn = mathsqrt.invsqrtm if inverse else mathsqrt.sqrtm

    def grad(M):
        M = M.clone().requires_grad_(True)
        (fn(M, backward=backward) * G.to(M.dtype)).sum().backward()
        return M.grad

    reference = grad(A.double()).float()
    for k in (70, -70):
        g = grad(A * 2.0**k)
        assert torch.isfinite(g).all()
        torch.testing.assert_close(
            g * 2.0 ** (1.5 * k if inverse else 0.5 * k), reference, rtol=1e-3, atol=1e-4 * float(reference.abs().max())
        )


@pytest.mark.parametrize("backward", ["lyapunov", "eigh", "bartels-stewart", "svd-taylor"])
def test_double_backward_raises_a_clear_error(backward):
    """The custom backward passes are differentiable once. A second derivative must raise an error
    naming the fix, whichever way it is requested: not "unused tensor", not a silent zero (the
    incoming gradient of a linear loss does not require grad, yet X still depends on A)."""
    A = random_spd(3, 5.0, seed=15).requires_grad_(True)
    method = "eigh" if backward.startswith("svd") else "mpa"
    for loss_of in (lambda S: S.square().sum(), lambda S: S.sum()):
        (g,) = torch.autograd.grad(loss_of(mathsqrt.sqrtm(A, method=method, backward=backward)), A, create_graph=True)
        with pytest.raises(RuntimeError, match="backward='autograd'"):
            torch.autograd.grad(g.square().sum(), A)
    (g,) = torch.autograd.grad(
        mathsqrt.invsqrtm(A, method=method, backward=backward).square().sum(), A, create_graph=True
    )
    with pytest.raises(RuntimeError, match="second derivative"):
        g.square().sum().backward()


def test_double_backward_through_autograd_backward():
    """The suggested alternative: second derivatives by backward='autograd' (finite differences)."""
    A = random_spd(3, 5.0, seed=15).requires_grad_(True)
    fn = lambda M: mathsqrt.sqrtm((M + M.T) / 2, method="eigh", backward="autograd")  # noqa: E731
    assert torch.autograd.gradgradcheck(fn, (A,))
