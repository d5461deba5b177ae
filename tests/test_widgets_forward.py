"""Notebook 03 widgets: per-eigenvalue errors of MPA/MTP/NS against closed forms, error against time."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
from scipy.special import binom

from mathsqrt.paper.plotting import new_figure
from mathsqrt.paper.widgets import forward as fw


def _ns_float(a, iters):
    """The scalar coupled iteration in plain float64 (an independent, lower-precision oracle)."""
    y, z = np.array(a, dtype=float), np.ones_like(np.asarray(a, dtype=float))
    for _ in range(iters):
        t = (3 - z * y) / 2
        y, z = y * t, t * z
    return y / np.sqrt(a) - 1


def test_scalar_error_formulas():
    a = np.array([0.02, 0.1, 0.4, 0.9])
    np.testing.assert_allclose(fw.ns_relative_error(a, 4), _ns_float(a, 4), rtol=1e-9, atol=1e-15)
    taylor = sum(binom(0.5, k) * (-(1 - a)) ** k for k in range(8)) / np.sqrt(a) - 1
    np.testing.assert_allclose(fw.method_relative_error("mtp", a, 7), taylor, rtol=1e-9, atol=1e-15)
    s = np.sqrt(a)
    r = (1 - s) / (1 + s)
    np.testing.assert_allclose(fw.method_relative_error("mpa", a, 3), 2 * r**7 / (1 - r**7), rtol=1e-12)
    assert np.all(fw.ns_relative_error(a, 3) < 0)  # NS approaches sqrt(a) from below
    assert abs(fw.ns_relative_error(0.5, 12)) < 1e-30
    with pytest.raises(ValueError):
        fw.method_relative_error("eigh", a, 1)
    with pytest.raises(ValueError):
        fw.ns_relative_error(a, 0)
    assert fw.mtp_degree_for(5) == 11


def test_test_matrix_has_the_requested_condition_number():
    A = fw.compute_test_matrix(10, 1e4, seed=2).numpy()
    lam = np.linalg.eigvalsh(A)
    assert math.isclose(lam[-1] / lam[0], 1e4, rel_tol=1e-8) and np.allclose(A, A.T)


@pytest.mark.parametrize("n,cond,degree,iters", [(16, 1e3, 5, 5), (24, 1e5, 3, 9), (8, 1.0, 2, 2)])
def test_measured_eigen_errors_match_the_formulas(n, cond, degree, iters):
    r = fw.compute_eigen_errors(n, cond, degree, iters)
    A = fw.compute_test_matrix(n, cond).numpy()
    # two eigensolvers agree to about n eps ||A|| in absolute terms (and a <= 1)
    np.testing.assert_allclose(r["a"], np.linalg.eigvalsh(A) / np.linalg.norm(A), rtol=1e-12, atol=n * 1e-15)
    for method in ("mpa", "mtp", "ns"):
        diff = np.abs(r["measured"][method] - r["predicted"][method])
        # rounding of a float64 matrix computation, relative to sqrt(lambda_i): n eps sqrt(||A||/lambda_i)
        assert np.all(diff <= 1e-9 * np.abs(r["predicted"][method]) + r["rounding"]), method
        assert r["offdiag"][method] < 1e3 * np.finfo(float).eps * n
    assert np.all(np.abs(r["measured"]["eigh"]) <= r["rounding"])
    assert r["settings"] == {"mpa": degree, "mtp": 2 * degree + 1, "ns": iters, "eigh": None}


def test_eigen_errors_against_scipy_sqrtm():
    """The measured MPA error is that of the matrix itself: compare S with scipy's sqrtm directly."""
    import mathsqrt

    r = fw.compute_eigen_errors(12, 100.0, 4, 5)
    A = fw.compute_test_matrix(12, 100.0)
    S = mathsqrt.sqrtm(A, method="mpa", degree=4).numpy()
    exact = np.real(scipy.linalg.sqrtm(A.numpy()))
    lam, U = np.linalg.eigh(A.numpy())
    per_eig = np.diag(U.T @ (S - exact) @ U) / np.sqrt(lam)
    np.testing.assert_allclose(per_eig, r["predicted"]["mpa"], rtol=1e-6, atol=1e-12)


def test_error_vs_time_errors_follow_from_the_formulas():
    settings = {"mpa": (2, 4), "mtp": (6,), "ns": (3,)}
    rows = fw.compute_error_vs_time(8, 50.0, settings=settings, batch=3, repeats=1, seed=5)
    assert [(r["method"], r["setting"]) for r in rows] == [
        ("mpa", 2),
        ("mpa", 4),
        ("mtp", 6),
        ("ns", 3),
        ("eigh", None),
    ]
    A = fw.compute_test_matrix(8, 50.0, seed=5, batch=(3,)).numpy()
    lam = np.linalg.eigvalsh(A)
    a = lam / np.linalg.norm(A, axis=(-2, -1))[:, None]
    for r in rows:
        assert r["seconds"] > 0
        if r["method"] == "eigh":
            assert r["error"] < 1e-13
            continue
        e = fw.method_relative_error(r["method"], a, r["setting"])
        # ||S - S*||_F / ||S*||_F with S - S* = U diag(e_i sqrt(lam_i)) U^T
        expected = np.mean(np.sqrt(np.sum(e**2 * lam, axis=-1) / np.sum(lam, axis=-1)))
        np.testing.assert_allclose(r["error"], expected, rtol=1e-8)
    assert fw.default_batch(64) == 8 and fw.default_batch(8) == 32 and fw.default_batch(512) == 2


def test_fig1c_settings_are_every_other_of_the_papers():
    from mathsqrt.paper import data

    assert fw.FIG1C_SETTINGS == {"mtp": (6, 10, 14, 18), "mpa": (3, 5, 7, 9), "ns": (3, 5, 7)}
    assert all(set(v) <= set(data.FIG1C_SETTINGS[k]) for k, v in fw.FIG1C_SETTINGS.items())


def test_plots_draw_the_data():
    r = fw.compute_eigen_errors(10, 1e2, 3, 4)
    fig, (ax1, ax2) = new_figure(10, 4, 1, 2)
    fw.plot_eigen_errors(ax1, r)
    mpa = next(l for l in ax1.get_lines() if l.get_label() == "MPA [3/3]")
    np.testing.assert_allclose(mpa.get_xdata(), r["a"])
    np.testing.assert_allclose(mpa.get_ydata(), np.abs(r["measured"]["mpa"]).clip(1e-24))
    rows = fw.compute_error_vs_time(8, 10.0, settings={"mpa": (2, 3), "ns": (2,)}, batch=2, repeats=1)
    fw.plot_error_vs_time(ax2, rows, highlight={"mpa": 3})
    line = next(l for l in ax2.get_lines() if l.get_label().startswith("MPA"))
    np.testing.assert_allclose(line.get_xdata(), [rows[0]["seconds"] * 1e3, rows[1]["seconds"] * 1e3])
    assert any(l.get_label() == "eigh" for l in ax2.get_lines())


def test_interactive_forward_updates():
    plot = fw.interactive_forward(n=8, repeats=1)
    before = bytes(plot.image.value)
    plot.controls["degree"].value = 2
    assert bytes(plot.image.value) != before
    assert plot.data["settings"]["mpa"] == 2 and plot.data["settings"]["mtp"] == 5
    expected = fw.compute_eigen_errors(8, plot.controls["cond"].value, 2, plot.controls["iters"].value)
    np.testing.assert_allclose(plot.data["predicted"]["mpa"], expected["predicted"]["mpa"])
    assert any(r["method"] == "mpa" and r["setting"] == 2 for r in plot.data["timing"])
    plot.controls["cond"].value = 1e4
    assert plot.data["cond"] == pytest.approx(1e4)
    lam = np.linalg.eigvalsh(fw.compute_test_matrix(8, 1e4).numpy())
    np.testing.assert_allclose(plot.data["a"], lam / np.sqrt(np.sum(lam**2)), rtol=1e-12, atol=1e-14)
    plot.controls["n"].value = 16
    assert len(plot.data["a"]) == 16
