"""The public API: every method x backward combination, bad input, documented behaviour."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
import torch

import mathsqrt
from mathsqrt.testing import random_spd

#: Forward methods that compute a square root (every backward can follow them).
ROOT_METHODS = tuple(name for name, entry in mathsqrt.methods.FORWARDS.items() if entry.root)


def test_public_surface():
    for name in ("sqrtm", "invsqrtm", "count_ops", "METHODS", "BACKWARDS", "methods"):
        assert name in mathsqrt.__all__ and hasattr(mathsqrt, name)
    # the paper's defaults ([1] Sec. 4): MPA [5/5], MTP degree 11, NS 5 iterations, Lyapunov 8 iterations
    defaults = {name: entry.options[0].default for name, entry in mathsqrt.methods.FORWARDS.items() if entry.options}
    assert (defaults["mpa"], defaults["mtp"], defaults["ns"]) == ((5, 5), 11, 5)
    assert mathsqrt.backward.DEFAULT_ITERS == 8
    for fn in (mathsqrt.sqrtm, mathsqrt.invsqrtm):
        doc = fn.__doc__
        for section in ("Parameters", "Returns", "Raises", "References", "Examples"):
            assert section in doc, (fn.__name__, section)


def test_degree_and_iters_are_honoured():
    A = random_spd(8, 100.0, seed=2)
    S = mathsqrt.sqrtm(A, method="eigh")
    errors = [float((mathsqrt.sqrtm(A, method="mpa", degree=K) - S).abs().max()) for K in (2, 4, 8)]
    assert errors[0] > errors[1] > errors[2]
    assert (
        float(
            (mathsqrt.sqrtm(A, method="mpa", degree=(3, 4)) - mathsqrt.sqrtm(A, method="mpa", degree=(4, 3)))
            .abs()
            .max()
        )
        > 0
    )
    errors = [float((mathsqrt.sqrtm(A, method="ns", iters=T) - S).abs().max()) for T in (2, 5, 9)]
    assert errors[0] > errors[1] > errors[2]


@pytest.mark.parametrize(
    "A, kwargs, exc, match",
    [
        (np.eye(3), {}, TypeError, "torch.Tensor"),
        (torch.ones(3), {}, ValueError, r"\(\.\.\., n, n\)"),
        (torch.ones(3, 4), {}, ValueError, "square"),
        (torch.ones(0, 3, 3), {}, ValueError, "empty"),
        (torch.ones(0, 0), {}, ValueError, "empty"),
        (torch.eye(3, dtype=torch.int64), {}, TypeError, "floating"),
        (torch.eye(3, dtype=torch.bool), {}, TypeError, "floating"),
        (torch.eye(3, dtype=torch.complex64), {}, TypeError, "complex"),
        (torch.tensor([[1.0, float("nan")], [float("nan"), 1.0]]), {}, ValueError, "NaN"),
        (torch.tensor([[1.0, float("inf")], [float("inf"), 1.0]]), {}, ValueError, "Inf"),
        (torch.tensor([[2.0, 1.0], [0.0, 2.0]]), {}, ValueError, "not symmetric"),
        (torch.eye(3), {"method": "svd"}, ValueError, "unknown method 'svd'"),
        (torch.eye(3), {"method": 3}, TypeError, "method must be a string"),
        (torch.eye(3), {"backward": "magic"}, ValueError, "unknown backward 'magic'"),
        (torch.eye(3), {"degree": -1}, ValueError, "degree must be >= 0"),
        (torch.eye(3), {"degree": 2.5}, TypeError, "degree must be an int"),
        (torch.eye(3), {"degree": True}, TypeError, "degree must be an int"),
        (torch.eye(3), {"degree": (1, 2, 3)}, ValueError, "pair"),
        (torch.eye(3), {"method": "mtp", "degree": (2, 2)}, TypeError, "degree must be an int"),
        (torch.eye(3), {"method": "ns", "iters": 0}, ValueError, "iters must be >= 1"),
        (torch.eye(3), {"method": "ns", "iters": 2.0}, TypeError, "iters must be an int"),
        (torch.eye(3), {"method": "ns", "degree": 3}, ValueError, "degree does not apply to method='ns'"),
        (torch.eye(3), {"method": "mpa", "iters": 3}, ValueError, "iters does not apply to method='mpa'"),
        (torch.eye(3), {"method": "eigh", "degree": 3}, ValueError, "degree does not apply to method='eigh'"),
        (torch.eye(3), {"backward_iters": 0}, ValueError, "backward_iters must be >= 1"),
        (torch.eye(3), {"backward_iters": -3}, ValueError, "backward_iters must be >= 1"),
        (torch.eye(3), {"backward_tol": -1.0}, ValueError, "backward_tol must be positive"),
        (torch.eye(3), {"backward_tol": "small"}, TypeError, "backward_tol must be a real"),
    ],
)
@pytest.mark.parametrize("fn", [mathsqrt.sqrtm, mathsqrt.invsqrtm], ids=["sqrtm", "invsqrtm"])
def test_bad_input(fn, A, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fn(A, **kwargs)


def test_check_finite_false_skips_the_checks():
    A = torch.tensor([[2.0, 1e-3], [0.0, 2.0]], dtype=torch.float64)
    with pytest.raises(ValueError, match="not symmetric"):
        mathsqrt.sqrtm(A)
    assert torch.isfinite(mathsqrt.sqrtm(A, check_finite=False)).all()


def test_asymmetry_tolerance_is_relative():
    A = random_spd(6, 10.0, seed=3) * 1e6
    A[0, 1] += 1e-3  # relative asymmetry ~1e-10 in float64: accepted (rounding-level for float32 data)
    mathsqrt.sqrtm(A)
    A[0, 1] += 1e-1 * 1e6
    with pytest.raises(ValueError, match="relative asymmetry"):
        mathsqrt.sqrtm(A)


def test_zero_matrix():
    Z = torch.zeros(2, 3, 3, requires_grad=True)
    S = mathsqrt.sqrtm(Z)
    assert torch.equal(S, torch.zeros_like(S))
    S.sum().backward()
    assert torch.isfinite(Z.grad).all()
    for method in mathsqrt.METHODS:
        with pytest.raises(ValueError, match="zero"):
            mathsqrt.invsqrtm(torch.zeros(3, 3), method=method)
    with pytest.raises(ValueError, match="zero"):  # one zero matrix in a batch
        mathsqrt.invsqrtm(torch.stack([torch.eye(3), torch.zeros(3, 3)]))


def test_indefinite_and_singular_inputs():
    A = torch.diag(torch.tensor([2.0, 1.0, -0.5], dtype=torch.float64))
    with pytest.raises(ValueError, match="not positive semi-definite"):
        mathsqrt.sqrtm(A, method="eigh")
    with pytest.raises(ValueError, match="not positive definite"):
        # Q(W) of the [5/5] approximant is negative at a = -0.33: the Cholesky factorisation fails
        mathsqrt.sqrtm(torch.diag(torch.tensor([1.0, -0.35], dtype=torch.float64)), method="mpa")
    singular = torch.diag(torch.tensor([4.0, 1.0, 0.0], dtype=torch.float64))
    torch.testing.assert_close(
        mathsqrt.sqrtm(singular, method="eigh"), torch.diag(torch.tensor([2.0, 1.0, 0.0], dtype=torch.float64))
    )
    with pytest.raises(ValueError, match="singular"):
        mathsqrt.invsqrtm(singular, method="eigh")


def test_input_never_modified():
    A = random_spd(5, 10.0, batch=2, seed=4)
    before = A.clone()
    for method in mathsqrt.METHODS:
        for fn in (mathsqrt.sqrtm, mathsqrt.invsqrtm):
            X = A.clone().requires_grad_(True)
            fn(X, method=method).sum().backward()
            assert torch.equal(X.detach(), before)


def test_options_not_applicable_to_backward():
    with pytest.raises(ValueError, match="backward_tol does not apply to backward='eigh'"):
        mathsqrt.sqrtm(torch.eye(3), backward="eigh", backward_tol=1e-6)


@pytest.mark.parametrize("module", ["mathsqrt", "mathsqrt.api", "mathsqrt.coefficients", "mathsqrt.counting"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def _readme_python_blocks():
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", readme, re.S)


@pytest.mark.parametrize("index", range(len(_readme_python_blocks())))
def test_readme_examples_print_what_they_say(index):
    """Every Python block of the README runs and prints what its trailing comments say."""
    import contextlib
    import io

    example = _readme_python_blocks()[index]
    lines = example.splitlines()
    expected = [line.split("# ", 1)[1] for line in lines if line.startswith("# ")]
    code = "\n".join(line for line in lines if not line.startswith("# "))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(code, "README", "exec"), {})
    assert buf.getvalue().split("\n")[: len(expected)] == expected


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("backward", ["lyapunov", "eigh", "autograd", "bartels-stewart"])
@pytest.mark.parametrize("method", ROOT_METHODS)
def test_device_preserved(method, backward, device):
    """Results and gradients stay on the input's device (CUDA is exercised where a GPU exists)."""
    A = random_spd(6, 10.0, batch=2, seed=5, dtype=torch.float32, device=device).requires_grad_(True)
    for fn in (mathsqrt.sqrtm, mathsqrt.invsqrtm):
        out = fn(A, method=method, backward=backward)
        out.sum().backward()
        assert out.device == A.device and A.grad.device == A.device
        A.grad = None


@pytest.mark.parametrize("scale", [2.0**100, 2.0**-100], ids=["huge", "tiny"])
def test_checks_hold_at_extreme_float32_scales(scale):
    """Squared entries overflow/underflow float32 here: the asymmetry check must still fire, and a
    tiny nonzero matrix is not 'zero' for invsqrtm."""
    A = torch.tensor([[2.0, 1.0], [0.0, 2.0]]) * scale
    with pytest.raises(ValueError, match="relative asymmetry"):
        mathsqrt.sqrtm(A)
    R = mathsqrt.invsqrtm(torch.eye(2) * scale, method="eigh")
    torch.testing.assert_close(R, torch.eye(2) / scale**0.5)


def test_names_come_from_the_method_table():
    assert mathsqrt.METHODS == tuple(mathsqrt.methods.FORWARDS)
    assert mathsqrt.BACKWARDS == tuple(mathsqrt.methods.BACKWARDS)
    for name in mathsqrt.METHODS + mathsqrt.BACKWARDS:  # every name is documented where IDEs look
        assert f'"{name}"' in mathsqrt.sqrtm.__doc__, name
    assert ":func:`sqrtm`" in mathsqrt.invsqrtm.__doc__  # which points to sqrtm for the options
