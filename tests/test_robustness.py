"""Hostile but legal input (issue 11): residual certificate, autocast, overflow, torch.func, compile, meta.

Every test here failed on the code before the issue was fixed (the docstrings say how), except the
ones that guard against false alarms of the new checks.
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import pytest
import torch

import mathsqrt
import mathsqrt.nn as mnn
from mathsqrt.testing import random_spd
from mathsqrt.transfer import transfer_colour, wct

ROOT_METHODS = tuple(name for name, entry in mathsqrt.methods.FORWARDS.items() if entry.root)
FUNCTIONS = [mathsqrt.sqrtm, mathsqrt.invsqrtm]


def _spd(eigenvalues, *, seed=0, dtype=torch.float64):
    """``Q diag(eigenvalues) Q^T`` with a random orthogonal ``Q`` (float64, then cast)."""
    lam = torch.as_tensor(eigenvalues, dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(len(lam), len(lam), dtype=torch.float64, generator=g))
    A = (Q * lam) @ Q.T
    return (0.5 * (A + A.T)).to(dtype)


def _reference(A, inverse):
    """``A^{±1/2}`` by a float64 eigendecomposition (the oracle)."""
    lam, U = torch.linalg.eigh(A.double())
    f = lam.clamp_min(0).rsqrt() if inverse else lam.clamp_min(0).sqrt()
    return (U * f.unsqueeze(-2)) @ U.mT


# ----------------------------------------------------------------------------------------------
# (3) residual certificate
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_residual_is_the_documented_formula(dtype):
    A = random_spd(5, 100.0, batch=3, seed=1, dtype=torch.float64)
    S, R = _reference(A, False), _reference(A, True)
    E = 1e-3 * random_spd(5, 10.0, batch=3, seed=2)
    eye = torch.eye(5, dtype=torch.float64)
    expected = torch.linalg.matrix_norm((S + E) @ (S + E) - A) / torch.linalg.matrix_norm(A)
    got = mathsqrt.residual(A.to(dtype), (S + E).to(dtype))
    assert got.shape == (3,) and got.dtype == dtype
    torch.testing.assert_close(got.double(), expected, rtol=1e-3 if dtype == torch.float32 else 1e-10, atol=1e-6)
    expected = torch.linalg.matrix_norm((R + E) @ A @ (R + E) - eye) / math.sqrt(5)
    got = mathsqrt.residual(A.to(dtype), (R + E).to(dtype), inverse=True)
    torch.testing.assert_close(got.double(), expected, rtol=1e-3 if dtype == torch.float32 else 1e-10, atol=1e-6)
    assert float(mathsqrt.residual(A, S).max()) < 1e-14 and float(mathsqrt.residual(A, R, inverse=True).max()) < 1e-13


def test_residual_neither_overflows_nor_underflows():
    """Entries near the largest float64: the squared norm overflows, the residual must not."""
    A = _spd([4.0, 1.0, 0.25]) * 2.0**1020
    S = _reference(_spd([4.0, 1.0, 0.25]), False) * 2.0**510
    assert float(mathsqrt.residual(A, S)) < 1e-14
    assert float(mathsqrt.residual(A * 2.0**-2040, S * 2.0**-1020)) < 1e-14
    assert float(mathsqrt.residual(torch.zeros(3, 3), torch.zeros(3, 3))) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        mathsqrt.residual(torch.eye(3), torch.eye(4))


def test_residual_bound_matches_the_exact_error_formulas():
    # MPA [K/K] overestimates most at a = 0: g(0) = 1/(2K+1), so e(0) = (2K+1)^-2 (ALGORITHMS §1)
    for K in (3, 5, 8):
        assert mathsqrt.residual_bound("mpa", 16, degree=K) == pytest.approx(4 / (2 * K + 1) ** 2, rel=1e-6)
    # NS: |e(a)| <= a, so the residual is at most 1 for every n
    assert mathsqrt.residual_bound("ns", 10**6, iters=1) <= 1.0
    # every inverse underestimates: a h(a)^2 in [0, 1]
    for method, opts in [("mpa", {}), ("mtp", {}), ("ns", {}), ("mpa", {"degree": 2}), ("mtp", {"degree": 0})]:
        assert mathsqrt.residual_bound(method, 8, inverse=True, **opts) == pytest.approx(1.0)
    assert mathsqrt.residual_bound("eigh", 8) == 0.0


@pytest.mark.parametrize("fn", FUNCTIONS, ids=["sqrtm", "invsqrtm"])
@pytest.mark.parametrize("method", ["mpa", "mtp", "ns"])
def test_indefinite_input_is_refused_with_index_and_residual(method, fn):
    """Before: sqrtm(-4 I, method="ns") returned -2.1e11 on the diagonal, "mtp" -12.7, "mpa" 1.71."""
    A = torch.stack([torch.eye(3, dtype=torch.float64), -4 * torch.eye(3, dtype=torch.float64)])
    with pytest.raises(ValueError, match=r"batch index \(1,\).*relative residual .* = [0-9.e+]+, far beyond"):
        fn(A, method=method)
    with pytest.raises(ValueError, match="not positive semi-definite"):
        fn(A[1], method=method)


def test_certificate_can_be_switched_off():
    A = -4 * torch.eye(3, dtype=torch.float64)
    for kwargs in ({"check_residual": False}, {"check_finite": False}):
        out = mathsqrt.sqrtm(A, method="ns", **kwargs)
        assert float(out[0, 0]) < -1e10  # the unchecked garbage: no square root of -4 I
    with mathsqrt.count_ops() as on:
        mathsqrt.sqrtm(torch.eye(4), method="mtp", degree=11)
    with mathsqrt.count_ops() as off:
        mathsqrt.sqrtm(torch.eye(4), method="mtp", degree=11, check_residual=False)
    assert on["matmul"] == off["matmul"] == 10 and (on["residual"], off["residual"]) == (1, 0)
    with mathsqrt.count_ops() as on:
        mathsqrt.invsqrtm(torch.eye(4))
    assert on["residual"] == 2


def test_non_finite_result_of_finite_input_is_refused():
    """Newton–Schulz run far too long on a singular float32 matrix: rounding makes a null eigenvalue
    slightly negative and the iteration diverges to NaN/Inf (before: returned without a word)."""
    A = _spd([1.0] + [0.0] * 15, dtype=torch.float32)
    with pytest.raises(ValueError, match="NaN/Inf entries although the input is finite"):
        mathsqrt.sqrtm(A, method="ns", iters=30)


def _no_false_alarm_cases():
    spectra = {
        "cond1e12": np.logspace(0, -12, 16),
        "cluster1e-8": [1.0] + [1e-8] * 15,
        "rank1": [1.0] + [0.0] * 15,
        "halfzero": [1.0] * 8 + [0.0] * 8,
        "flat": [1.0] * 16,
    }
    configs = [
        ("eigh", {}),
        ("mpa", {"degree": 1}),
        ("mpa", {}),
        ("mpa", {"degree": 12}),
        ("mpa", {"degree": 40}),
        ("mpa", {"degree": (8, 2)}),
        ("mtp", {"degree": 0}),
        ("mtp", {}),
        ("mtp", {"degree": 40}),
        ("ns", {"iters": 1}),
        ("ns", {}),
        ("ns", {"iters": 12}),
        ("ns-scaled", {"iters": 1}),
        ("ns-scaled", {"iters": 3}),
    ]
    return [(name, lam, m, o) for name, lam in spectra.items() for m, o in configs]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_no_false_alarms_on_positive_semi_definite_input(dtype):
    """Condition numbers up to 1e12, singular PSD matrices, every degree and iteration count: the
    certificate never refuses a result that is as accurate as the method allows."""
    for name, lam, method, opts in _no_false_alarm_cases():
        A = _spd(lam, dtype=dtype)
        for fn in FUNCTIONS:
            if fn is mathsqrt.invsqrtm and (
                method == "eigh" or min(lam) == 0 or (dtype == torch.float32 and min(lam) < 1e-7)
            ):
                continue  # no inverse square root (eigh refuses singular input by itself)
            if fn is mathsqrt.invsqrtm and method == "ns-scaled":
                continue
            try:
                fn(A, method=method, **opts)
            except ValueError as e:
                if "MPA degree" in str(e):  # an off-diagonal degree that the forward refuses (not the certificate)
                    continue
                raise AssertionError(f"{fn.__name__}({name}, {dtype}, method={method}, {opts}): {e}") from e


def test_certificate_tolerates_a_slightly_indefinite_rounding_error():
    """A PSD matrix that rounding made indefinite by 1e-12 relative is certified (misses beat false alarms)."""
    A = _spd([1.0, 0.5, -1e-12])
    for method in ("mpa", "mtp", "ns"):
        mathsqrt.sqrtm(A, method=method)


# ----------------------------------------------------------------------------------------------
# (4) autocast
# ----------------------------------------------------------------------------------------------

COMBINATIONS = [c for c in mathsqrt.methods.combinations() if c[1] != "bartels-stewart"] + [("mpa", "bartels-stewart")]


@pytest.mark.parametrize("method", mathsqrt.METHODS)
def test_autocast_keeps_the_dtype_and_the_value(method):
    """Before: method="eigh" turned float32 input into bfloat16 output under CPU autocast."""
    A = random_spd(6, 10.0, batch=2, seed=3, dtype=torch.float32)
    for fn in FUNCTIONS:
        expected = fn(A, method=method)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = fn(A, method=method)
        assert got.dtype == torch.float32
        torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("method, backward", COMBINATIONS)
def test_autocast_backward_inside_and_outside(method, backward):
    """Before: eigh and svd-* crashed ("expected m1 and m2 to have the same dtype") with a backward
    outside the region, and Lyapunov with a backward inside it."""
    A = random_spd(5, 10.0, batch=2, seed=4, dtype=torch.float32)
    G = torch.randn(2, 5, 5, generator=torch.Generator().manual_seed(0))
    for fn in FUNCTIONS:
        X = A.clone().requires_grad_(True)
        (fn(X, method=method, backward=backward) * G).sum().backward()
        expected = X.grad
        for inside in (False, True):
            X = A.clone().requires_grad_(True)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = fn(X, method=method, backward=backward)
                if inside:
                    (out * G).sum().backward()
            if not inside:
                (out * G).sum().backward()
            assert out.dtype == X.grad.dtype == torch.float32 and torch.isfinite(X.grad).all()
            if inside and backward == "autograd":
                continue  # torch's own backward kernels follow the region's bfloat16 (documented)
            torch.testing.assert_close(X.grad, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs", [{}, {"method": "eigh", "backward": "eigh"}, {"method": "eigh", "backward": "svd-taylor"}]
)
def test_autocast_through_the_layers(kwargs):
    """Before: a backward pass through the layers crashed under CPU autocast for eigh and svd-*.

    Outside the region the gradient is the float32 one exactly. Inside, the layers' own torch
    operations (centring, covariance product, Cholesky solve) are differentiated by torch's kernels,
    which follow the region's bfloat16 like any torch operation: agreement to bfloat16 accuracy."""
    x = torch.randn(32, 4, 3, 3, generator=torch.Generator().manual_seed(1))
    for make in (lambda: mnn.ZCAWhitening(4, **kwargs), lambda: mnn.CovariancePooling(4, **kwargs)):
        torch.manual_seed(0)
        layer = make()
        X = x.clone().requires_grad_(True)
        y = layer(X)
        W = torch.randn(y.shape, generator=torch.Generator().manual_seed(2))
        (y * W).sum().backward()
        expected = X.grad
        for inside in (False, True):
            torch.manual_seed(0)
            layer = make()
            X = x.clone().requires_grad_(True)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                y = layer(X)
                if inside:
                    (y * W).sum().backward()
            if not inside:
                (y * W).sum().backward()
            assert y.dtype == torch.float32 and X.grad.dtype == torch.float32
            if inside:
                assert float((X.grad - expected).abs().max()) <= 2e-2 * float(expected.abs().max())
            else:
                torch.testing.assert_close(X.grad, expected)


def test_autocast_reduction_layer_still_runs_in_low_precision():
    """Only the covariance and its square root leave autocast: a channel reduction stays in it."""
    pool = mnn.CovariancePooling(8, reduced_channels=4, layout="tokens")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert pool.reduce(torch.randn(2, 5, 8)).dtype == torch.bfloat16
        assert pool(torch.randn(2, 5, 8)).dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (float16 autocast)")
@pytest.mark.parametrize(
    "method, backward", [("mpa", "lyapunov"), ("eigh", "eigh"), ("eigh", "svd-taylor"), ("ns", "autograd")]
)
def test_cuda_float16_autocast(method, backward):
    A = random_spd(6, 10.0, batch=2, seed=5, dtype=torch.float32, device="cuda")
    X = A.clone().requires_grad_(True)
    mathsqrt.sqrtm(X, method=method, backward=backward).sum().backward()
    expected = X.grad
    X = A.clone().requires_grad_(True)
    with torch.autocast("cuda", dtype=torch.float16):
        out = mathsqrt.sqrtm(X, method=method, backward=backward)
        out.sum().backward()
    assert out.dtype == torch.float32
    torch.testing.assert_close(X.grad, expected, rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------------------------
# (5) overflow and underflow
# ----------------------------------------------------------------------------------------------

EXTREMES = [
    (torch.float64, 1e308),  # the Frobenius norm overflows (before: inf/NaN, and exact zeros for invsqrtm)
    (torch.float32, 3e38),
    (torch.float64, 1e-300),
    (torch.float32, 1e-38),  # subnormal entries
    (torch.float64, 1e-310),  # subnormal entries
]


@pytest.mark.parametrize("dtype, big", EXTREMES)
@pytest.mark.parametrize("method", ROOT_METHODS)
def test_extreme_entries_are_computed_correctly(method, dtype, big):
    B = _spd([1.0, 0.9, 0.8, 0.7], seed=6)
    B = B / B.abs().max()  # largest entry 1: entries of A reach `big`
    A = (B * big).to(dtype)
    for fn in FUNCTIONS:
        out = fn(A, method=method)
        assert torch.isfinite(out).all() and bool((out != 0).any())
        expected = _reference(A, fn is mathsqrt.invsqrtm)  # float64 eigh of the (exactly representable) input
        scale = float(expected.abs().max())
        tol = 5e-4 if method in ("mtp", "ns") else 1e-5
        if dtype == torch.float32 or big < 1e-307:
            tol = max(tol, 1e-4)  # float32, and subnormal inputs that carry fewer digits
        assert float((out.double() - expected).abs().max()) <= tol * scale, (fn.__name__, method)


@pytest.mark.parametrize("backward", ["lyapunov", "eigh", "autograd"])
def test_gradient_is_exact_under_the_power_of_four_scaling(backward):
    """(sA)^{1/2} = s^{1/2} A^{1/2}: the gradient at sA is s^{-1/2} (s^{-3/2} for the inverse) times
    the gradient at A. With s a power of 4 the internal scaling is exact, so the two agree to
    rounding, also where ||sA||_F overflows float64."""
    B = 0.95 * torch.ones(5, 5, dtype=torch.float64) + 0.05 * torch.eye(5, dtype=torch.float64)  # cond 96
    assert not torch.isfinite(torch.linalg.matrix_norm(B * 2.0**1022))  # ||sB||_F overflows
    G = torch.randn(5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    for fn, powers in ((mathsqrt.sqrtm, (2.0**1022, 2.0**-1000)), (mathsqrt.invsqrtm, (2.0**600, 2.0**-600))):
        X = B.clone().requires_grad_(True)
        (fn(X, backward=backward) * G).sum().backward()
        base = X.grad
        for s in powers:
            X = (B * s).requires_grad_(True)
            (fn(X, backward=backward) * G).sum().backward()
            factor = s ** (-1.5 if fn is mathsqrt.invsqrtm else -0.5)
            torch.testing.assert_close(X.grad / factor, base, rtol=1e-10, atol=0)


def test_gradcheck_at_a_scaled_input():
    """Finite differences at an input scaled by 2^40 (relative steps): the scaled path is differentiable."""
    B = _spd([1.0, 0.6, 0.3], seed=8)
    s = 2.0**40

    for kwargs in ({"method": "eigh", "backward": "eigh"}, {"method": "mpa", "backward": "adjoint"}):

        def f(M, kwargs=kwargs):
            return mathsqrt.sqrtm(0.5 * (M + M.mT) * s, **kwargs) / s**0.5

        assert torch.autograd.gradcheck(f, (B.clone().requires_grad_(True),), eps=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------------------------
# (6) torch.func, meta, compile
# ----------------------------------------------------------------------------------------------

FUNC_CONFIGS = [
    {},
    {"method": "eigh", "backward": "eigh"},
    {"backward": "adjoint"},
    {"method": "eigh", "backward": "svd-pi"},
    {"backward_tol": 1e-8},
    {"method": "ns", "backward": "autograd"},
    {"method": "eigh", "backward": "autograd"},
]


@pytest.mark.parametrize("fn", FUNCTIONS, ids=["sqrtm", "invsqrtm"])
@pytest.mark.parametrize("kwargs", FUNC_CONFIGS, ids=lambda k: "-".join(map(str, k.values())) or "default")
def test_vmap_grad_jacrev(kwargs, fn):
    """Before: vmap failed on data-dependent control flow, grad/jacrev on the missing setup_context."""
    A = random_spd(4, 10.0, batch=(3, 2), seed=9)

    def loss(M):
        return fn(M, **kwargs).square().sum()

    torch.testing.assert_close(torch.func.vmap(lambda M: fn(M, **kwargs))(A), fn(A, **kwargs))
    X = A.clone().requires_grad_(True)
    loss(X).backward()
    torch.testing.assert_close(torch.func.grad(loss)(A), X.grad)
    X = A[0, 0].clone().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(X, **kwargs).sum(), X)
    torch.testing.assert_close(torch.func.jacrev(lambda M: fn(M, **kwargs))(A[0, 0]).sum((0, 1)), g)
    if kwargs.get("backward") == "autograd":
        with pytest.raises(
            RuntimeError, match="backward='autograd'.*nested inside torch.func.vmap.*pass the batch directly"
        ):
            torch.func.vmap(torch.func.grad(loss))(A)
    else:
        # each matrix's loss depends on that matrix only: per-sample gradients are the batch gradient
        X = A.clone().requires_grad_(True)
        loss(X).backward()
        torch.testing.assert_close(torch.func.vmap(torch.func.grad(loss))(A), X.grad)


def test_vmap_keeps_the_data_checks():
    A = torch.stack([torch.eye(3, dtype=torch.float64), -4 * torch.eye(3, dtype=torch.float64)])
    with pytest.raises(ValueError, match=r"batch index \(1,\).*relative residual"):
        torch.func.vmap(lambda M: mathsqrt.sqrtm(M, method="ns"))(A)
    A[0, 0, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        torch.func.vmap(mathsqrt.sqrtm)(A)


def test_layers_under_vmap_of_grad():
    """Per-sample gradients through a covariance-pooling layer (vmap of grad, the usual pattern)."""
    pool = mnn.CovariancePooling(4).double()
    x = torch.randn(3, 4, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    per_sample = torch.func.vmap(torch.func.grad(lambda xi: pool(xi.unsqueeze(0)).sum()))(x)
    X = x.clone().requires_grad_(True)
    pool(X).sum().backward()
    torch.testing.assert_close(per_sample, X.grad)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=["sqrtm", "invsqrtm"])
def test_meta_tensors_propagate_shape_and_dtype(fn):
    """Before: "Tensor.item() cannot be called on meta tensors"."""
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        out = fn(torch.empty(7, 5, 5, device="meta", dtype=dtype), method="mpa")
        assert out.device.type == "meta" and out.shape == (7, 5, 5) and out.dtype == dtype
    with pytest.raises(ValueError, match="square"):
        fn(torch.empty(2, 5, 4, device="meta"))


def test_pow2_helpers_are_exact():
    from mathsqrt._kernels import exact_pow2, exponent, pow2_scale, pow4_scaling

    for dtype in (torch.float32, torch.float64):
        fi = torch.finfo(dtype)
        x = torch.tensor([fi.tiny / 2**10, fi.tiny, 0.75, 1.0, 3.0, fi.max], dtype=dtype)
        expected = torch.tensor([math.frexp(v)[1] - 1 for v in x.tolist()])
        assert torch.equal(exponent(x).long(), expected.long())
        e = torch.arange(-100, 100)
        assert torch.equal(exact_pow2(e, dtype), torch.tensor([2.0**k for k in e.tolist()], dtype=dtype))
        A = x[:, None, None] * torch.ones(1, 2, 2, dtype=dtype)
        c, root = pow4_scaling(A)
        scaled = (A * c).abs().amax(dim=(-2, -1)).flatten()
        assert bool(((scaled >= 2.0**-24) & (scaled < 4)).all())
        assert torch.equal(root * root * c, torch.ones_like(c))  # c = root^-2 exactly
        assert bool(((A / pow2_scale(A)).abs().amax(dim=(-2, -1)) < 2).all())


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_torch_compile_float32_and_float64():
    """Before: a batched float64 call failed inside Inductor with a C++ compile error (frexp/ldexp in
    the Frobenius norm). Graph breaks are allowed (the data checks are some); failures are not.
    Small inputs, two compiles, forward and backward: Newton–Schulz with the default Lyapunov backward
    in float64, eigh in float32. (The default MPA forward compiles too, but tracing its Python-side
    Padé coefficients makes it several times slower to compile.)"""
    import torch._dynamo

    cases = [
        (mathsqrt.sqrtm, torch.float64, {"method": "ns"}),
        (mathsqrt.invsqrtm, torch.float32, {"method": "eigh", "backward": "eigh"}),
    ]
    for fn, dtype, kwargs in cases:
        torch._dynamo.reset()
        A = random_spd(3, 10.0, batch=2, seed=10, dtype=dtype)
        compiled = torch.compile(functools.partial(fn, **kwargs))
        X = A.clone().requires_grad_(True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = compiled(X)
            out.sum().backward()
        X0 = A.clone().requires_grad_(True)
        expected = fn(X0, **kwargs)
        expected.sum().backward()
        torch.testing.assert_close(out, expected)
        torch.testing.assert_close(X.grad, X0.grad)
    torch._dynamo.reset()


# ----------------------------------------------------------------------------------------------
# (7) the smaller ones: every message names the real problem
# ----------------------------------------------------------------------------------------------


def test_wct_rejects_nan_alpha_and_infinite_eps():
    """Before: alpha=nan gave an all-NaN output; eps=inf an error blaming the features' size."""
    c, s = torch.randn(3, 50, dtype=torch.float64), torch.randn(3, 40, dtype=torch.float64)
    for alpha in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="wct: alpha must be a finite number"):
            wct(c, s, alpha=alpha)
    with pytest.raises(ValueError, match="wct: eps must be finite"):
        wct(c, s, eps=float("inf"))
    with pytest.raises(ValueError, match="wct: eps must be a non-negative number"):
        wct(c, s, eps=float("nan"))


def test_transfer_colour_refuses_float_images_on_the_0_255_scale():
    """Before: a float image in 0-255 was accepted and every output value clipped to 1."""
    rng = np.random.default_rng(0)
    img, other = rng.random((8, 8, 3)), rng.random((6, 6, 3))
    with pytest.raises(ValueError, match=r"content_image .* values in \[.*\].*0-255 scale"):
        transfer_colour(img * 255, other)
    with pytest.raises(ValueError, match="style_image"):
        transfer_colour(img, torch.from_numpy(other * 255))
    with pytest.raises(ValueError, match="content_image contains NaN/Inf"):
        transfer_colour(np.where(img > 0.5, np.nan, img), other)
    out = transfer_colour(np.clip(img * 1.02 - 0.01, None, None), other)  # slight overshoot is fine
    assert out.shape == (8, 8, 3) and 0 <= out.min() and out.max() <= 1
    out8 = transfer_colour((img * 255).astype(np.uint8), (other * 255).astype(np.uint8))
    assert 0 < float(np.std(out8)) and out8.max() <= 1


@pytest.mark.parametrize(
    "eps, match",
    [(float("nan"), "eps must be a number, got NaN"), (float("inf"), "eps must be finite"), (-1.0, "eps must be >= 0")],
)
def test_layers_reject_nan_and_infinite_eps(eps, match):
    """Before: accepted, then the forward blamed the input ("is the input finite?")."""
    with pytest.raises(ValueError, match=match):
        mnn.ZCAWhitening(4, eps=eps)
    with pytest.raises(ValueError, match=match):
        mnn.CovariancePooling(4, eps=eps)


def test_single_sample_in_eval_without_running_stats_names_the_real_problem():
    """Before: "expected more than one value per channel when training" in evaluation mode."""
    layer = mnn.ZCAWhitening(4, track_running_stats=False).eval()
    with pytest.raises(ValueError, match="track_running_stats=False") as info:
        layer(torch.randn(1, 4))
    assert "when training" not in str(info.value)
    with pytest.raises(ValueError, match="when training"):
        mnn.ZCAWhitening(4).train()(torch.randn(1, 4))


@pytest.mark.parametrize("value", [None, 0, 1, "yes", np.bool_(True)])
def test_check_flags_must_be_bools(value):
    """Before: check_finite=None silently skipped the checks."""
    for fn in FUNCTIONS:
        with pytest.raises(TypeError, match="check_finite must be True or False"):
            fn(torch.eye(3), check_finite=value)
        with pytest.raises(TypeError, match="check_residual must be True or False"):
            fn(torch.eye(3), check_residual=value)


def test_infinite_backward_tol_is_refused():
    for fn in FUNCTIONS:
        with pytest.raises(ValueError, match="backward_tol must be finite, got inf"):
            fn(torch.eye(3), backward_tol=float("inf"))
    with pytest.raises(ValueError, match="backward_tol must be finite"):
        mnn.ZCAWhitening(4, backward_tol=float("inf"))
