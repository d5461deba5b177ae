"""backward="adjoint": the exact derivative of the computed MPA, MTP and NS forwards, by hand.

Oracles: central finite differences of the forward along symmetric directions (float64), and the
forward's own exact error formula for the distance to the true gradient.
"""

from __future__ import annotations

import pytest
import torch

import mathsqrt
from mathsqrt import forward as fw
from mathsqrt.coefficients import pade_relative_error
from mathsqrt.testing import random_spd, spd_from_spectrum

CASES = [
    ("mpa", dict(degree=5)),
    ("mpa", dict(degree=(3, 6))),
    ("mpa", dict(degree=9)),
    ("mtp", dict(degree=11)),
    ("mtp", dict(degree=1)),
    ("ns", dict(iters=5)),
    ("ns", dict(iters=1)),
    ("ns", dict(iters=2)),
]
IDS = [f"{m}-{list(o.values())[0]}" for m, o in CASES]


def _sym(g, shape, seed):
    E = torch.randn(shape, dtype=torch.float64, generator=g.manual_seed(seed))
    return E + E.mT


@pytest.mark.parametrize("inverse", [False, True], ids=["sqrtm", "invsqrtm"])
@pytest.mark.parametrize("method, options", CASES, ids=IDS)
def test_matches_finite_differences_along_symmetric_directions(method, options, inverse):
    fn = mathsqrt.invsqrtm if inverse else mathsqrt.sqrtm
    A = random_spd(6, 30.0, batch=(2,), seed=3)
    g = torch.Generator()
    G = torch.randn(A.shape, dtype=torch.float64, generator=g.manual_seed(1))  # not symmetric
    Ar = A.clone().requires_grad_(True)
    (X,) = torch.autograd.grad(fn(Ar, method=method, backward="adjoint", **options), Ar, G)
    h = 1e-6
    for seed in range(3):
        E = _sym(g, A.shape, 10 + seed)
        plus = fn(A + h * E, method=method, backward="adjoint", **options)
        minus = fn(A - h * E, method=method, backward="adjoint", **options)
        fd = ((plus - minus) / (2 * h) * G).sum(dim=(-2, -1))
        an = (X * E).sum(dim=(-2, -1))
        assert torch.allclose(an, fd, rtol=1e-6, atol=1e-9), (an, fd)


@pytest.mark.parametrize("method, options", CASES, ids=IDS)
def test_gradcheck(method, options):
    A = random_spd(4, 10.0, seed=4).requires_grad_(True)
    f = lambda M: mathsqrt.sqrtm(0.5 * (M + M.mT), method=method, backward="adjoint", check_finite=False, **options)  # noqa: E731
    assert torch.autograd.gradcheck(f, (A,), eps=1e-7, atol=1e-7)


@pytest.mark.parametrize("method, options", [("mpa", dict(degree=5)), ("mtp", dict(degree=11)), ("ns", dict(iters=5))])
def test_costs_at_most_twice_the_forward(method, options):
    A = random_spd(8, 10.0, batch=(3,), seed=5).requires_grad_(True)
    with mathsqrt.counting.count_aten_ops() as forward:
        S = mathsqrt.sqrtm(A, method=method, backward="adjoint", check_finite=False, **options)
    with mathsqrt.counting.count_aten_ops() as backward:
        torch.autograd.grad(S.sum(), A)
    assert backward["matmul"] <= 2 * forward["matmul"] + 1
    assert backward["solve"] <= forward["solve"] and backward["cholesky"] == backward["eigh"] == 0
    if method == "mpa":  # ALGORITHMS §8.3: 2(K - 1) + 1 matmuls and one solve for [K/K], vs 48 for Lyapunov
        assert backward["matmul"] == 9 and backward["solve"] == 1


@pytest.mark.parametrize("inverse", [False, True], ids=["sqrtm", "invsqrtm"])
def test_is_the_derivative_of_the_scalar_approximant_not_of_the_true_root(inverse):
    """On a diagonal input, MPA acts on each eigenvalue through the scalar Padé approximant: the
    adjoint's diagonal is the derivative of that scalar function of the spectrum (finite differences
    of an independent scalar evaluation with the exact coefficients), and it differs from the true
    gradient where the approximant is inaccurate (the exact error formula says where)."""
    from fractions import Fraction

    from mathsqrt.coefficients import evaluate, pade_coefficients

    p, q = pade_coefficients(5, 5, Fraction(1, 2))
    sign = -0.5 if inverse else 0.5

    def scalar(lam):  # sum_i nu^{±1/2} (P/Q)^{±1}(1 - lam_i/nu), nu = ||lam||
        nu = lam.norm()
        z = (1 - lam / nu).numpy()
        r = torch.from_numpy(evaluate([float(c) for c in p], z) / evaluate([float(c) for c in q], z))
        return (nu**sign * (1 / r if inverse else r)).sum()

    lam = torch.tensor([1.0, 0.3, 0.05, 0.01], dtype=torch.float64)
    A = torch.diag(lam).requires_grad_(True)
    fn = mathsqrt.invsqrtm if inverse else mathsqrt.sqrtm
    (X,) = torch.autograd.grad(fn(A, method="mpa", backward="adjoint", degree=5).diagonal().sum(), A)
    h = 1e-7
    fd = torch.stack([(scalar(lam + h * e) - scalar(lam - h * e)) / (2 * h) for e in torch.eye(4, dtype=torch.float64)])
    torch.testing.assert_close(X.diagonal(), fd, rtol=1e-5, atol=1e-8)  # central differences: ~h^2 + eps/h
    (exact,) = torch.autograd.grad(fn(A, method="eigh", backward="eigh").diagonal().sum(), A)
    a_min = float(lam[-1] / lam.norm())
    assert abs(pade_relative_error(a_min, 5, inverse=inverse)) > 0.1  # the forward is 10-30 % off there...
    assert (
        float((X.diagonal()[-1] - exact.diagonal()[-1]).abs() / exact.diagonal()[-1].abs()) > 0.1
    )  # ...and so is its derivative


def test_batch_independence_and_zero_matrix():
    A = random_spd(5, 100.0, batch=(3,), seed=6)
    A[1] = 0
    Ar = A.clone().requires_grad_(True)
    (X,) = torch.autograd.grad(mathsqrt.sqrtm(Ar, backward="adjoint").sum(), Ar)
    assert torch.equal(X[1], torch.zeros_like(X[1]))
    for i in (0, 2):
        Ai = A[i].clone().requires_grad_(True)
        (Xi,) = torch.autograd.grad(mathsqrt.sqrtm(Ai, backward="adjoint").sum(), Ai)
        torch.testing.assert_close(X[i], Xi, rtol=1e-12, atol=1e-14)


def test_float32_and_half_inputs():
    A = spd_from_spectrum(torch.linspace(1.0, 0.2, 6, dtype=torch.float64), seed=7)
    A64 = A.clone().requires_grad_(True)
    (X64,) = torch.autograd.grad(mathsqrt.sqrtm(A64, backward="adjoint").sum(), A64)
    for dtype, tol in ((torch.float32, 1e-5), (torch.bfloat16, 3e-2)):
        Ad = A.to(dtype).requires_grad_(True)
        (X,) = torch.autograd.grad(mathsqrt.sqrtm(Ad, backward="adjoint").sum(), Ad)
        assert X.dtype == dtype
        assert float((X.double() - X64).norm() / X64.norm()) < tol


def test_needs_a_forward_with_an_adjoint():
    with pytest.raises(ValueError, match="differentiates the forward's own computation"):
        mathsqrt.sqrtm(torch.eye(3), method="eigh", backward="adjoint")


def test_the_forward_keeps_what_the_adjoint_reads():
    A = random_spd(4, 10.0, seed=8)
    out, aux = fw.mpa(A, 5, return_aux=True)
    torch.testing.assert_close(out, fw.mpa(A, 5), rtol=0, atol=0)
    assert {"norm", "L", "W0", "W1", "W2", "W3"} == set(aux)
