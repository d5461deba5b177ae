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
    np.testing.assert_allclose(mpa.get_ydata(), np.abs(r["measured"]["mpa"]).clip(1e-18))
    lo, hi = ax1.get_ylim()
    assert lo >= 1e-19 and hi <= 100  # limited to the data (the old floor was 1e-24)
    rows = fw.compute_error_vs_time(8, 10.0, settings={"mpa": (2, 3), "ns": (2,)}, batch=2, repeats=1)
    fw.plot_error_vs_time(ax2, rows, highlight={"mpa": 3})
    line = next(l for l in ax2.get_lines() if l.get_label().startswith("MPA"))
    np.testing.assert_allclose(line.get_xdata(), [rows[0]["seconds"] * 1e3, rows[1]["seconds"] * 1e3])
    assert any(l.get_label().startswith("eigh") for l in ax2.get_lines())
    assert all("iqr_seconds" in r for r in rows)


def test_interactive_forward_updates():
    plot = fw.interactive_forward(n=8)
    before = bytes(plot.image.value)
    plot.controls["degree"].value = 2
    assert bytes(plot.image.value) != before
    assert plot.data["settings"]["mpa"] == 2 and plot.data["settings"]["mtp"] == 5
    expected = fw.compute_eigen_errors(8, plot.controls["cond"].value, 2, plot.controls["iters"].value)
    np.testing.assert_allclose(plot.data["predicted"]["mpa"], expected["predicted"]["mpa"])
    assert any(r["method"] == "mpa" and r["setting"] == 2 for r in plot.data["matmuls"])
    assert "timing" not in plot.data  # no timing in the widget: it answers at once
    plot.controls["cond"].value = 1e4
    assert plot.data["cond"] == pytest.approx(1e4)
    lam = np.linalg.eigvalsh(fw.compute_test_matrix(8, 1e4).numpy())
    np.testing.assert_allclose(plot.data["a"], lam / np.sqrt(np.sum(lam**2)), rtol=1e-12, atol=1e-14)
    plot.controls["n"].value = 16
    assert len(plot.data["a"]) == 16


# ------------------------------------------------------------------------------ cost in matmuls


def test_matmul_count_is_what_the_library_counts():
    import mathsqrt

    A = fw.compute_test_matrix(6, 10.0)
    for method, settings in (("mtp", (2, 6, 11)), ("mpa", (1, 3, 5)), ("ns", (2, 5, 7))):
        for s in settings:
            kw = {"iters": s} if method == "ns" else {"degree": s}
            with mathsqrt.count_ops() as ops:
                mathsqrt.sqrtm(A, method=method, **kw)
            assert (ops["matmul"], ops["cholesky"]) == fw.matmul_count(method, s), (method, s)
    with pytest.raises(ValueError):
        fw.matmul_count("eigh", 1)


def test_error_vs_matmuls_equals_the_measured_errors():
    import mathsqrt

    settings = {"mpa": (2, 4), "mtp": (6,), "ns": (3, 6)}
    rows = fw.compute_error_vs_matmuls(12, 300.0, settings=settings, seed=1)
    A = fw.compute_test_matrix(12, 300.0, seed=1)
    lam, U = np.linalg.eigh(A.numpy())
    exact = (U * np.sqrt(lam)) @ U.T
    for r in rows:
        kw = {"iters": r["setting"]} if r["method"] == "ns" else {"degree": r["setting"]}
        S = mathsqrt.sqrtm(A, method=r["method"], **kw).numpy()
        np.testing.assert_allclose(r["error"], np.linalg.norm(S - exact) / np.linalg.norm(exact), rtol=1e-8)
        worst = abs(U[:, 0] @ S @ U[:, 0] / np.sqrt(lam[0]) - 1)
        np.testing.assert_allclose(r["worst"], worst, rtol=1e-8)
    assert fw.best_within(rows, "ns", 5) is None
    assert fw.best_within(rows, "mpa", 3) == min(r["error"] for r in rows if r["method"] == "mpa")
    assert fw.frobenius_error([1.0, 4.0], [0.0, 0.5]) == pytest.approx(np.sqrt(1.0 / 5.0))


def test_plot_error_vs_matmuls_draws_the_rows():
    rows = fw.compute_error_vs_matmuls(16, 1e3)
    fig, ax = new_figure(6, 4)
    fw.plot_error_vs_matmuls(ax, rows, highlight={"mpa": 5})
    line = next(l for l in ax.get_lines() if l.get_label().startswith("MPA"))
    pts = sorted((r for r in rows if r["method"] == "mpa"), key=lambda r: r["setting"])
    np.testing.assert_allclose(line.get_xdata(), [r["matmuls"] for r in pts])
    np.testing.assert_allclose(line.get_ydata(), [r["error"] for r in pts])
    lo, hi = ax.get_ylim()
    assert lo <= min(r["error"] for r in rows) and hi >= max(r["error"] for r in rows) and lo > 1e-3


# ------------------------------------------------------------------------------ own evaluations


def test_polynomial_forms_and_scaled_forward_match_the_library():
    import torch

    import mathsqrt

    A = fw.compute_test_matrix(10, 50.0, seed=2)
    for K in (1, 3, 5):
        ref = mathsqrt.sqrtm(A, method="mpa", degree=K)
        for form in ("Z", "W"):
            S = fw.mpa_polynomial_form(A, K, form=form)
            assert torch.allclose(S, ref, rtol=1e-11, atol=1e-13), (K, form)
    S32 = fw.mpa_polynomial_form(A, 3, form="W", dtype="float32")
    assert S32.dtype == torch.float64 and torch.allclose(S32, mathsqrt.sqrtm(A, method="mpa", degree=3), rtol=1e-5)
    fro = float(torch.linalg.matrix_norm(A))
    for method, s, kw in (("mtp", 7, {"degree": 7}), ("mpa", 4, {"degree": 4}), ("ns", 6, {"iters": 6})):
        ref = mathsqrt.sqrtm(A, method=method, **kw)
        assert torch.allclose(fw.forward_normalised(A, method, s, fro), ref, rtol=1e-11, atol=1e-13), method
    with pytest.raises(ValueError):
        fw.mpa_polynomial_form(A, 3, form="X")
    with pytest.raises(ValueError):
        fw.mpa_polynomial_form(A, 3, dtype="float16")
    with pytest.raises(ValueError):
        fw.forward_normalised(A, "eigh", 1, fro)
    with pytest.raises(ValueError):
        fw.forward_normalised(A, "ns", 3, 0.0)


def test_precision_table():
    rows = fw.compute_precision_table(12, 30.0, settings=(("mpa", 5), ("ns", 25), ("eigh", None)))
    assert [r["method"] for r in rows] == ["mpa", "ns", "eigh", "rounding"]
    mpa, ns, eigh, rounding = rows
    np.testing.assert_allclose(mpa["float64"], mpa["truncation"], rtol=1e-9)
    assert ns["float64"] < 1e-13 and eigh["float64"] < 1e-14 and rounding["float64"] == 0
    assert 1e-9 < rounding["float32"] < 1e-6 and 1e-4 < rounding["bfloat16"] < 1e-2
    for r in (ns, eigh):
        assert r["bfloat16"] == pytest.approx(rounding["bfloat16"], rel=0.5)
    table = fw.format_precision_table(rows)
    assert table.count("\n") == 5 and "MPA [5/5]" in table and "bfloat16" in table


def test_z_vs_w_follow_the_formula_until_rounding_and_the_library_does_not_break():
    r = fw.compute_z_vs_w(10, 30.0, "float64", degrees=range(1, 9))
    np.testing.assert_allclose(r["W"], r["truncation"], rtol=1e-6)
    np.testing.assert_allclose(r["library"], r["truncation"], rtol=1e-6)
    np.testing.assert_allclose(r["Z"][:5], r["truncation"][:5], rtol=1e-6)
    np.testing.assert_allclose(r["W_per_eigenvalue"][2], r["truncation_per_eigenvalue"][2], rtol=1e-6, atol=1e-14)
    r32 = fw.compute_z_vs_w(10, 30.0, "float32", degrees=(3, 14, 30))
    assert r32["Z"][1] > 10 * r32["truncation"][1]  # cancellation
    from mathsqrt.coefficients import pade_relative_error, pade_rounding_floor

    bound = pade_relative_error(r32["a"][0], 30) + pade_rounding_floor(r32["a"][0], "float32")  # mpa's documented bound
    assert r32["library"][2] <= bound and r32["W"][2] > 100 * bound
    assert r32["W_per_eigenvalue"].shape == (3, 10)


def test_normalisation_bounds_and_errors():
    r = fw.compute_normalisation(32, 1e3, "ns", 6, sweep=range(1, 9))
    lam = r["lam"]
    assert r["lam_max"] <= r["upper"] <= 32 ** (1 / 8) * r["lam_max"] * (1 + 1e-12)
    assert r["lam_max"] <= r["fro"] <= np.sqrt(32) * r["lam_max"]
    np.testing.assert_allclose(r["a"]["spectral"] * r["upper"], lam)
    for key in ("frobenius", "spectral"):
        diff = np.abs(r["measured"][key] - r["predicted"][key])
        assert np.all(diff <= 1e-9 * np.abs(r["predicted"][key]) + 1e-12 / np.sqrt(r["a"][key])), key
        e = r["predicted"][key]
        np.testing.assert_allclose(r["error"][key], np.sqrt(np.sum(e**2 * lam) / np.sum(lam)), rtol=1e-7)
        np.testing.assert_allclose(r["sweep_error"][key][5], r["error"][key], rtol=1e-7)
    assert r["error"]["spectral"] < r["error"]["frobenius"]


def test_new_plots_draw_the_data():
    fig, axes = new_figure(12, 8, 2, 2)
    ax = axes.ravel()
    zw = fw.compute_z_vs_w(8, 1e2, "float32", degrees=range(1, 13))
    fw.plot_z_vs_w(ax[0], ax[1], zw, 7)
    line = next(l for l in ax[0].get_lines() if "in $Z$" in l.get_label())
    np.testing.assert_allclose(line.get_ydata(), np.clip(zw["Z"], 1e-18, None))
    assert ax[0].get_legend() is not None and ax[1].get_title().endswith("K = 7")
    nr = fw.compute_normalisation(16, 1e2, "mpa", 4, sweep=range(1, 9))
    fw.plot_normalisation(ax[2], ax[3], nr, label="MPA [4/4]")
    dots = [l for l in ax[2].get_lines() if l.get_linestyle() == "None"]
    np.testing.assert_allclose(
        sorted(np.concatenate([d.get_xdata() for d in dots])),
        np.sort(np.concatenate([nr["a"]["frobenius"], nr["a"]["spectral"]])),
    )
    assert ax[3].get_xlabel() == "K of [K/K]"


def test_interactive_z_vs_w_updates():
    plot = fw.interactive_z_vs_w(K=6, n=8)
    before = bytes(plot.image.value)
    plot.controls["dtype"].value = "bfloat16"
    assert bytes(plot.image.value) != before and plot.data["dtype"] == "bfloat16"
    before = bytes(plot.image.value)
    plot.controls["K"].value = 3
    assert bytes(plot.image.value) != before and plot.data["K"] == 3


def test_interactive_normalisation_updates():
    plot = fw.interactive_normalisation(n=16)
    before = bytes(plot.image.value)
    plot.controls["method"].value = "MTP, degree 2K+1"
    assert bytes(plot.image.value) != before and plot.data["method"] == "mtp" and plot.data["setting"] == 11
    plot.controls["K"].value = 3
    assert plot.data["setting"] == 7
    plot.controls["cond"].value = 1e4
    assert plot.data["cond"] == pytest.approx(1e4)
