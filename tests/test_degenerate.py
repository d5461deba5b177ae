"""The near-degenerate-spectrum demonstrator: matrices as specified, measurements against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from mathsqrt import methods
from mathsqrt.paper.studies import degenerate as dg
from mathsqrt.testing import gradient_reference, sqrtm_reference


def test_spectrum_has_the_requested_pair():
    lam = dg.near_degenerate_spectrum(16, 1e-4, cond=10.0)
    assert lam.shape == (16,) and lam.dtype == torch.float64
    assert bool((lam[1:] >= lam[:-1]).all())
    rel = (lam[1:] - lam[:-1]) / lam[:-1]
    assert float(rel.min()) == pytest.approx(1e-4, rel=1e-9)
    # every other neighbour ratio is cond^(1/(n-2))
    others = torch.sort(rel).values[1:]
    assert float(others.min()) == pytest.approx(10 ** (1 / 14) / (1 + 1e-4) - 1, rel=1e-9)
    assert float(lam.max()) == pytest.approx(1.0) and float(lam.min()) == pytest.approx(0.1)


@pytest.mark.parametrize("bad", [dict(n=2), dict(gap=-1.0), dict(gap=float("nan")), dict(cond=0.5)])
def test_spectrum_validation(bad):
    kw = dict(n=8, gap=1e-3, cond=10.0) | bad
    with pytest.raises(ValueError):
        dg.near_degenerate_spectrum(kw.pop("n"), kw.pop("gap"), **kw)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matrix_has_that_spectrum(dtype):
    A = dg.near_degenerate_spd(12, 1e-3, dtype=dtype, seed=3)
    assert A.dtype == dtype and torch.equal(A, A.T)
    lam = np.linalg.eigvalsh(A.double().numpy())
    np.testing.assert_allclose(
        lam, dg.near_degenerate_spectrum(12, 1e-3).numpy(), rtol=0, atol=20 * torch.finfo(dtype).eps
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_exact_tie_is_computed_exactly(dtype):
    lam = torch.linalg.eigh(dg.exact_tie_matrix(10, dtype=dtype)).eigenvalues
    assert int((lam[1:] == lam[:-1]).sum()) == 1


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_reference_gradient_against_scipy(dtype):
    """The study's oracle (mathsqrt.testing.gradient_reference) is Bartels–Stewart's solution of the rounded matrix."""
    A = dg.near_degenerate_spd(8, 1e-2, seed=1, dtype=dtype)
    G = torch.randn(8, 8, dtype=torch.float64)
    S = scipy.linalg.sqrtm(A.double().numpy()).real
    expected = scipy.linalg.solve_continuous_lyapunov(S, G.numpy())
    np.testing.assert_allclose(gradient_reference(A, G).numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(sqrtm_reference(A).numpy(), S, atol=1e-12)


def test_methods_come_from_the_table():
    """Every backward that can follow eigh, under its one name (the paper's SVD is "svd", not "autograd")."""
    expected = {b for f, b in methods.combinations() if f == "eigh"}
    assert len(dg.DEFAULT_METHODS) == len(expected)
    assert {"svd", "eigh", "svd-taylor", "svd-pade", "svd-pi", "eigh/lyapunov"} <= set(dg.DEFAULT_METHODS)
    assert "autograd" not in dg.DEFAULT_METHODS


def test_method_factor():
    lam = torch.tensor([1.0, 4.0], dtype=torch.float64)
    assert float(dg.method_factor("autograd", lam)[1, 0]) == pytest.approx(1 / 3)
    assert float(dg.method_factor("lyapunov", lam)[1, 0]) == pytest.approx(1 / 3)  # 1/(1 + 2)
    assert float(dg.method_factor("eigh", lam, inverse=True)[1, 0]) == pytest.approx(1 / 6)
    assert float(dg.method_factor("svd-taylor", lam, degree=1)[1, 0]) == pytest.approx((1 + 0.25) / 4)
    with pytest.raises(ValueError, match="no pairwise factor"):
        dg.method_factor("mpa", lam)
    with pytest.raises(ValueError, match="unknown method"):
        dg.gradient_vs_gap((0.1,), n=4, methods=("autograd",))


@pytest.fixture(scope="module")
def rows():
    return dg.gradient_vs_gap((1e-1, 1e-6, 0.0), n=12, dtype=(torch.float64, torch.float32), seed=0)


def _row(rows, method, dtype, gap):
    (r,) = [r for r in rows if r["method"] == method and r["dtype"] == dtype and r["gap"] == gap]
    return r


def test_rows_are_complete(rows):
    assert len(rows) == 2 * 3 * len(dg.DEFAULT_METHODS)
    assert set(rows[0]) == {
        "method",
        "backward",
        "dtype",
        "gap",
        "computed_gap",
        "max_K",
        "max_factor",
        "grad_norm",
        "error",
        "nan",
    }
    assert all(r["method"] == "svd" for r in rows if r["backward"] == "autograd")


def test_size_of_K_follows_the_gap(rows):
    c = float(dg.near_degenerate_spectrum(12, 0.0)[6])
    assert _row(rows, "svd", "float64", 1e-6)["max_K"] == pytest.approx(1 / (1e-6 * c), rel=1e-3)
    assert math.isinf(_row(rows, "svd", "float64", 0.0)["max_K"])
    # the Lyapunov factor 1/(s_i + s_j) does not care
    assert _row(rows, "eigh/lyapunov", "float32", 1e-6)["max_factor"] < 1 / (2 * math.sqrt(0.1)) + 1e-6


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_only_for_autograd_at_exact_tie(rows, dtype):
    for method in dg.DEFAULT_METHODS:
        assert _row(rows, method, dtype, 0.0)["nan"] == (method == "svd")
        for gap in (1e-1, 1e-6):
            assert not _row(rows, method, dtype, gap)["nan"]


def test_autograd_error_grows_as_the_gap_shrinks(rows):
    """float32: about eps * lam / gap; the float64 exact baselines stay at rounding level."""
    wide, narrow = _row(rows, "svd", "float32", 1e-1)["error"], _row(rows, "svd", "float32", 1e-6)["error"]
    assert wide < 1e-4
    assert narrow > 100 * wide
    assert _row(rows, "svd", "float64", 1e-1)["error"] < 1e-12


@pytest.mark.parametrize("dtype,tol", [("float32", 1e-5), ("float64", 1e-6)])
def test_lyapunov_and_eigh_do_not_care_about_the_gap(rows, dtype, tol):
    for gap in (1e-1, 1e-6, 0.0):
        assert _row(rows, "eigh/lyapunov", dtype, gap)["error"] < tol  # 8 iterations at cond 10: ~1e-7
        assert (
            _row(rows, "eigh/bartels-stewart", dtype, gap)["error"] < 10 * torch.finfo(getattr(torch, dtype)).eps * 12
        )
        assert _row(rows, "eigh", dtype, gap)["error"] < 10 * torch.finfo(getattr(torch, dtype)).eps * 12


def test_taylor_error_is_truncation_not_gap(rows):
    errs = [_row(rows, "svd-taylor", "float64", g)["error"] for g in (1e-1, 1e-6, 0.0)]
    assert max(errs) < 0.5 and min(errs) > 1e-3


def test_main_prints_a_table(capsys):
    table = dg.main(["--n", "6", "--gaps", "1e-2", "0"])
    out = capsys.readouterr().out
    assert "svd" in out and "svd-pi" in out and "eigh/lyapunov" in out and table in out
    assert len(table.splitlines()) == 2 + 2 * 2 * len(dg.DEFAULT_METHODS)
