"""Forward methods against scipy and against the spectral mapping theorem.

For a polynomial or rational ``f``, ``f(A) = U f(Λ) U^T``: each method applied to a matrix equals the
same scalar function applied to each eigenvalue. The scalar functions are evaluated independently
here (numpy, closed forms), so these tests pin down the exact error of every method, not just a
blanket tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given
from hypothesis import strategies as st

import mathsqrt
from mathsqrt import coefficients as co
from mathsqrt import forward as fw
from mathsqrt.testing import random_covariance, random_spd


def _spectral(A: np.ndarray, f) -> np.ndarray:
    lam, U = np.linalg.eigh(A)
    return (U * f(lam)) @ U.T


def _scalar_ns(a, iters, inverse):
    y, z = a.copy(), np.ones_like(a)
    for _ in range(iters):
        t = 0.5 * (3 - z * y)
        y, z = y * t, t * z
    return z if inverse else y


def _scalar_reference(method, lam, norm, inverse, degree=None, iters=None):
    """The scalar function each method applies to an eigenvalue (computed independently)."""
    a = lam / norm
    z = 1 - a
    if method == "eigh":
        return lam**-0.5 if inverse else np.sqrt(lam)
    if method == "mtp":
        c = co.taylor_coefficients(degree, "-1/2" if inverse else "1/2")
        value = np.polynomial.polynomial.polyval(z, [float(x) for x in c])
    elif method == "mpa":
        m, n = degree
        P, Q = co.pade_coefficients(m, n)
        p = np.polynomial.polynomial.polyval(z, [float(x) for x in P])
        q = np.polynomial.polynomial.polyval(z, [float(x) for x in Q])
        value = q / p if inverse else p / q
    else:
        value = _scalar_ns(a, iters, inverse)
    return value / np.sqrt(norm) if inverse else value * np.sqrt(norm)


CASES = [
    ("mpa", {"degree": (5, 5)}),
    ("mpa", {"degree": (3, 7)}),
    ("mpa", {"degree": (8, 2)}),
    ("mtp", {"degree": 11}),
    ("mtp", {"degree": 3}),
    ("ns", {"iters": 5}),
    ("ns", {"iters": 1}),
    ("eigh", {}),
]


@pytest.mark.parametrize("method, kw", CASES, ids=[f"{m}-{kw}" for m, kw in CASES])
@pytest.mark.parametrize("inverse", [False, True], ids=["sqrt", "invsqrt"])
@given(n=st.integers(2, 10), log_cond=st.floats(0, 3), seed=st.integers(0, 2**16))
def test_spectral_mapping(method, kw, inverse, n, log_cond, seed):
    A = random_spd(n, 10**log_cond, seed=seed, scale=3.0)
    out = (mathsqrt.invsqrtm if inverse else mathsqrt.sqrtm)(A, method=method, **kw).numpy()
    An = A.numpy()
    norm = np.linalg.norm(An)
    degree = kw.get("degree")
    if method == "mpa" and isinstance(degree, int):
        degree = (degree, degree)
    expected = _spectral(An, lambda lam: _scalar_reference(method, lam, norm, inverse, degree, kw.get("iters")))
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-11 * np.abs(expected).max())


@pytest.mark.parametrize("inverse", [False, True])
def test_mpa_error_matches_exact_formula(inverse):
    """Per eigenvalue, the [5/5] MPA is off by exactly pade_relative_error(λ/||A||_F, 5)."""
    A = random_covariance(32, seed=1)
    exact = scipy.linalg.sqrtm(A.numpy()).real
    if inverse:
        exact = np.linalg.inv(exact)
    out = (mathsqrt.invsqrtm if inverse else mathsqrt.sqrtm)(A).numpy()
    lam, U = np.linalg.eigh(A.numpy())
    rel = np.diag(U.T @ out @ U) / np.diag(U.T @ exact @ U) - 1
    predicted = co.pade_relative_error(lam / np.linalg.norm(A.numpy()), 5, inverse=inverse)
    np.testing.assert_allclose(rel, predicted, rtol=1e-6, atol=1e-12)
    assert (rel > 0).all() if not inverse else (rel < 0).all()


@pytest.mark.parametrize(
    "method, kw, tol",
    [("eigh", {}, 1e-12), ("mpa", {"degree": 25}, 1e-10), ("ns", {"iters": 30}, 1e-10), ("mtp", {"degree": 300}, 1e-6)],
)
def test_against_scipy_sqrtm(method, kw, tol):
    """Converged settings agree with scipy.linalg.sqrtm (well-conditioned input, float64)."""
    A = random_spd(16, 5.0, seed=3)
    exact = scipy.linalg.sqrtm(A.numpy()).real
    np.testing.assert_allclose(mathsqrt.sqrtm(A, method=method, **kw).numpy(), exact, atol=tol)
    np.testing.assert_allclose(mathsqrt.invsqrtm(A, method=method, **kw).numpy(), np.linalg.inv(exact), atol=10 * tol)


@pytest.mark.parametrize("method", mathsqrt.METHODS)
def test_batch_independence_and_shapes(method):
    A = random_spd(6, 50.0, batch=(2, 3), seed=4)
    A[1, 2] *= 1e3  # a matrix of a very different scale must not affect the others
    out = mathsqrt.sqrtm(A, method=method)
    assert out.shape == A.shape
    for i in range(2):
        for j in range(3):
            single = mathsqrt.sqrtm(A[i, j], method=method)
            torch.testing.assert_close(out[i, j], single, rtol=1e-12, atol=1e-12 * float(single.abs().max()))


@pytest.mark.parametrize("method", mathsqrt.METHODS)
def test_float32_agrees_with_float64(method):
    A = random_spd(12, 20.0, batch=3, seed=5)
    out64 = mathsqrt.sqrtm(A, method=method)
    out32 = mathsqrt.sqrtm(A.float(), method=method)
    assert out32.dtype == torch.float32
    torch.testing.assert_close(out32.double(), out64, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("method", mathsqrt.METHODS)
def test_low_precision_computed_in_float32(method, dtype):
    A = random_spd(8, 10.0, batch=2, seed=6, dtype=torch.float32).to(dtype)
    out = mathsqrt.sqrtm(A, method=method)
    assert out.dtype == dtype and out.shape == A.shape
    ref = mathsqrt.sqrtm(A.float(), method=method).to(dtype)
    assert torch.equal(out, ref)


def test_no_batch_sized_identity_and_counts():
    """Measured operation counts: MTP K-1, MPA max(m,n)-1 + one Cholesky solve, NS 3T-3."""
    A = random_spd(8, 10.0, batch=4, seed=7)
    for K in (3, 6, 11, 18):
        with mathsqrt.count_ops() as ops:
            mathsqrt.sqrtm(A, method="mtp", degree=K)
        assert ops["matmul"] == K - 1 and ops["solve"] == 0
    for m, n in [(5, 5), (3, 6), (8, 2)]:
        for inverse in (False, True):
            with mathsqrt.count_ops() as ops:
                (mathsqrt.invsqrtm if inverse else mathsqrt.sqrtm)(A, method="mpa", degree=(m, n))
            assert (ops["matmul"], ops["cholesky"], ops["solve"]) == (max(m, n) - 1, 1, 1)
    for T in (2, 5, 8):
        with mathsqrt.count_ops() as ops:
            mathsqrt.sqrtm(A, method="ns", iters=T)
        assert ops["matmul"] == 3 * T - 3 == fw.ns_matmul_count(T)


def test_zero_matrix_square_root_is_zero():
    for method in mathsqrt.METHODS:
        out = mathsqrt.sqrtm(torch.zeros(2, 4, 4), method=method)
        assert torch.equal(out, torch.zeros_like(out)), method


@pytest.mark.timeout(120)
def test_large_batched_mpa_does_not_hang():
    """Batched n >= 152 with several threads hangs in torch's LU on the CPU build; MPA uses Cholesky."""
    A = random_spd(160, 10.0, batch=3, seed=8, dtype=torch.float32)
    with torch.no_grad():
        S = mathsqrt.sqrtm(A)
        R = mathsqrt.invsqrtm(A)
    assert torch.isfinite(S).all() and torch.isfinite(R).all()


def test_high_degree_mpa_is_accurate_in_float32():
    """P, Q in W = A/||A|| up to [5/5], partial fractions above: high degrees stay accurate
    (tests/test_mpa_degree.py holds every degree to the exact error formula plus the rounding floor)."""
    A = random_spd(24, 10.0, seed=9)
    exact = scipy.linalg.sqrtm(A.numpy()).real
    for K in (5, 8, 12, 25, 40):
        out = mathsqrt.sqrtm(A.float(), method="mpa", degree=K).double().numpy()
        predicted = co.pade_relative_error(np.linalg.eigvalsh(A.numpy()).min() / np.linalg.norm(A.numpy()), K)
        assert np.abs(out - exact).max() <= predicted * np.abs(exact).max() + 2e-5


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_frobenius_norm_neither_overflows_nor_underflows(dtype):
    """||A||_F of matrices whose squared entries overflow or underflow the dtype (numpy float64 oracle)."""
    big = 1e30 if dtype == torch.float32 else 1e200
    for s in (big, 1.0 / big):
        A = torch.tensor([[3.0, 4.0], [4.0, 12.0]], dtype=torch.float64)
        expected = s * np.linalg.norm(A.numpy())  # 13.6 s
        got = fw.frobenius_norm((A * s).to(dtype))
        assert got.dtype == dtype and got.shape == ()
        np.testing.assert_allclose(float(got), expected, rtol=4 * torch.finfo(dtype).eps)
    assert float(fw.frobenius_norm(torch.zeros(3, 3, dtype=dtype))) == 0.0
    assert fw.frobenius_norm(torch.ones(2, 3, 4, 4, dtype=dtype), keepdim=True).shape == (2, 3, 1, 1)


@pytest.mark.parametrize("inverse", [False, True], ids=["sqrt", "invsqrt"])
@pytest.mark.parametrize("method", mathsqrt.METHODS)
def test_extreme_scales_in_float32(method, inverse):
    """(s A)^{±1/2} = s^{±1/2} A^{±1/2}: with s = 2^{±100} (~1e±30) the squared entries over/underflow
    float32, which must not turn the per-matrix normalisation into NaN, zero or a 'zero matrix' error."""
    A = random_spd(5, 10.0, batch=2, seed=6, dtype=torch.float32)
    fn = mathsqrt.invsqrtm if inverse else mathsqrt.sqrtm
    reference = fn(A.double(), method=method).float()
    for k in (100, -100):
        out = fn(A * 2.0**k, method=method)
        assert torch.isfinite(out).all()
        torch.testing.assert_close(out * 2.0 ** (k / 2 if inverse else -k / 2), reference, rtol=1e-4, atol=1e-5)
