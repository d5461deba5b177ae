"""The method table: one parametrised test over every compatible forward x backward pair.

A new entry of :mod:`mathsqrt.methods` is tested here without writing a new test: shape, dtype and
device of the result and the gradient, and the gradient against an independent oracle chosen by what
the backward claims to compute:

- a backward that solves the Lyapunov equation at the computed output (``lyapunov``, ``eigh``,
  ``bartels-stewart``, and any future one that is neither symmetrised nor autograd): scipy's
  Bartels–Stewart solution of ``S X + X S = G`` at that output, in float64;
- ``autograd``: finite differences of the computed forward (``torch.autograd.gradcheck``); a backward
  that differentiates the computation by hand (``of_computation``, e.g. ``adjoint``): the autograd
  gradient of the same forward, along symmetric directions (the only ones a symmetric input has);
- a symmetrised backward of the eigendecomposition (the SVD baselines): the symmetric part of the
  exact eigenbasis gradient, on a spectrum whose eigenvalue ratios (<= 1/2) make the baselines'
  truncations negligible (0.5^20 ~ 1e-6).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

import mathsqrt
from mathsqrt import methods
from mathsqrt.testing import spd_from_spectrum

COMBINATIONS = methods.combinations()
IDS = [f"{f}-{b}" for f, b in COMBINATIONS]
SPECTRUM = torch.tensor([1.0, 0.5, 0.25, 0.125], dtype=torch.float64)  # ratios 1/2, condition 8


def _input(batch=(), dtype=torch.float64, seed=0):
    A = spd_from_spectrum(SPECTRUM.expand(*batch, 4), seed=seed)
    return A.to(dtype)


def _sym_direction(shape, seed=1):
    g = torch.Generator().manual_seed(seed)
    G = torch.randn(shape, dtype=torch.float64, generator=g)
    return G


def _call(fn, A, method, backward):
    return fn(A, method=method, backward=backward)


@pytest.mark.parametrize("inverse", [False, True], ids=["sqrtm", "invsqrtm"])
@pytest.mark.parametrize("method, backward", COMBINATIONS, ids=IDS)
@pytest.mark.parametrize("batch", [(), (2, 3)], ids=["single", "batch"])
def test_shape_dtype_and_gradient_of_every_pair(method, backward, inverse, batch):
    fn = mathsqrt.invsqrtm if inverse else mathsqrt.sqrtm
    A = _input(batch).requires_grad_(True)
    out = _call(fn, A, method, backward)
    assert out.shape == A.shape and out.dtype == A.dtype and out.device == A.device
    G = _sym_direction(A.shape)
    (X,) = torch.autograd.grad(out, A, G)
    assert X.shape == A.shape and X.dtype == A.dtype and torch.isfinite(X).all()

    entry = methods.backward_method(backward)
    if entry.function is None:
        return  # autograd: checked by gradcheck below
    if entry.of_computation:
        (expected,) = torch.autograd.grad(_call(fn, A, method, "autograd"), A, G)
        err = float(((X - expected) + (X - expected).mT).norm() / (expected + expected.mT).norm())
        assert err < 1e-10, (method, backward, err)
        return
    S = out.detach()
    if inverse:  # the gradient of R = S^{-1}: S X + X S = -R G R
        S_sqrt = torch.linalg.inv(S)
        rhs = -(S @ G @ S)
    else:
        S_sqrt, rhs = S, G
    if entry.symmetrised:
        # exact eigenbasis gradient at the exact root, symmetrised (forward is eigh: S is exact)
        lam, U = torch.linalg.eigh(A.detach())
        s = lam.sqrt()
        f = 1 / s if inverse else s
        Gt = U.mT @ G @ U
        if inverse:
            Gt = -Gt * (f.unsqueeze(-1) * f.unsqueeze(-2))
        expected = U @ (Gt / (s.unsqueeze(-1) + s.unsqueeze(-2))) @ U.mT
        expected = 0.5 * (expected + expected.mT)
        tol = 1e-5
    else:
        flat_S = S_sqrt.reshape(-1, 4, 4).numpy()
        flat_rhs = rhs.reshape(-1, 4, 4).numpy()
        expected = torch.from_numpy(
            np.stack([scipy.linalg.solve_continuous_lyapunov(s, r) for s, r in zip(flat_S, flat_rhs)])
        ).reshape(A.shape)
        tol = 1e-5 if entry.exact else 1e-4  # the 8-step Lyapunov iteration converges to ~1e-6 here
        if inverse:
            # Backwards may take the square root behind an approximate R as R^{-1} or as A R; the two
            # differ by the forward's own residual, which bounds the difference of the gradients.
            residual = float((A.detach() @ S - S_sqrt).norm() / S_sqrt.norm())
            tol += 10 * residual
    err = float((X - expected).norm() / expected.norm())
    assert err < tol, (method, backward, err)


@pytest.mark.parametrize("inverse", [False, True], ids=["sqrtm", "invsqrtm"])
@pytest.mark.parametrize("method", [f for f, b in COMBINATIONS if b == "autograd"])
def test_autograd_backward_is_the_derivative_of_the_computation(method, inverse):
    fn = mathsqrt.invsqrtm if inverse else mathsqrt.sqrtm
    A = _input().requires_grad_(True)

    def f(M):
        return fn(0.5 * (M + M.mT), method=method, backward="autograd", check_finite=False)

    assert torch.autograd.gradcheck(f, (A,), eps=1e-7, atol=1e-6)


@pytest.mark.parametrize("method, backward", COMBINATIONS, ids=IDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_low_precision_follows_float64(method, backward, dtype):
    """float32 agrees with float64 to float32 accuracy; half precisions are computed in float32."""
    if backward == "bartels-stewart" and dtype != torch.float32:
        pytest.skip("the scipy reference solves in float64; half precision adds nothing")
    A64 = _input((2,))
    A = A64.to(dtype).requires_grad_(True)
    out = mathsqrt.sqrtm(A, method=method, backward=backward)
    assert out.dtype == dtype and out.shape == A.shape
    (X,) = torch.autograd.grad(out, A, torch.ones_like(out))
    assert X.dtype == dtype and torch.isfinite(X.float()).all()
    ref = mathsqrt.sqrtm(A.detach().to(torch.float64), method=method, backward=backward)
    tol = {torch.float32: 1e-4, torch.float16: 2e-2, torch.bfloat16: 5e-2}[dtype]
    assert float((out.detach().double() - ref).abs().max() / ref.abs().max()) < tol


def test_every_entry_is_complete_and_distinguishable():
    for table in (methods.FORWARDS, methods.BACKWARDS, methods.CONFIGURATIONS):
        for name, entry in table.items():
            assert entry.name == name and entry.label and entry.summary
            assert entry.color.startswith("#") and len(entry.color) == 7
    configs = list(methods.CONFIGURATIONS.values())
    # no two configurations look the same on a plot, in colour or in black and white
    assert len({c.color for c in configs}) == len(configs)
    assert len({(c.marker, c.linestyle) for c in configs}) == len(configs)
    assert len({c.label for c in configs}) == len(configs)
    for c in configs:
        assert methods.compatible(c.method, c.backward), c.name
        methods.resolve(**c.kwargs())  # its options are valid
    for entry in list(methods.FORWARDS.values()) + list(methods.BACKWARDS.values()):
        for option in entry.options:
            assert option.keyword in methods.API_KEYWORDS and option.kind in ("int", "degree", "tol")


def test_every_backward_follows_some_forward_and_pairs_are_consistent():
    pairs = set(COMBINATIONS)
    for backward in methods.BACKWARDS:
        assert any(b == backward for _, b in pairs), backward
    for method, backward in pairs:
        assert methods.compatible(method, backward)
    assert ("mpa", "svd-taylor") not in pairs and ("pi", "lyapunov") not in pairs and ("eigh", "adjoint") not in pairs


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(method="svd"), ValueError, "unknown method 'svd'"),
        (dict(method="mpa", backward="magic"), ValueError, "unknown backward 'magic'"),
        (dict(method="mpa", iters=3), ValueError, "iters does not apply to method='mpa'"),
        (dict(method="mpa", backward="eigh", backward_tol=1e-3), ValueError, "option of backward='lyapunov'"),
        (dict(method="mpa", backward="svd-pade"), ValueError, "needs method='eigh'"),
        (dict(method="pi", backward="lyapunov"), ValueError, "backward='autograd' only"),
        (dict(method="mpa", degree=(2, "3")), TypeError, r"degree\[1\]"),
        (dict(method="mpa", backward_tol=float("inf")), ValueError, "backward_tol must be finite"),
        (dict(method="mpa", backward_tol=float("nan")), ValueError, "backward_tol must be a number"),
    ],
)
def test_resolve_names_the_problem(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        methods.resolve(**kwargs)


def test_resolve_fills_defaults_and_normalises_degrees():
    plan = methods.resolve("mpa")
    assert plan.backward.name == "lyapunov" and dict(plan.forward_params) == {"degree": (5, 5)}
    assert dict(methods.resolve("mpa", degree=7).forward_params) == {"degree": (7, 7)}
    assert methods.resolve("pi").backward.name == "autograd"  # not a square root: autograd by default
    assert dict(methods.resolve("eigh", "svd-taylor", backward_degree=3).backward_params) == {"degree": 3}
