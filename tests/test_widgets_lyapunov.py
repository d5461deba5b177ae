"""Notebook 04 widgets: the block sign iteration and the SVD gradient near ties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from mathsqrt.paper.plotting import new_figure
from mathsqrt.paper.widgets import lyapunov as ly
from mathsqrt.testing import random_spd


def _numpy_problem(n, cond, seed=0):
    A = random_spd(n, cond, seed=seed).numpy()
    S = scipy.linalg.sqrtm(A).real
    g = torch.Generator().manual_seed(seed + 1)
    G = torch.randn(n, n, dtype=torch.float64, generator=g).numpy()
    G = G + G.T
    G = G / np.linalg.norm(G)
    return A, S, G


@pytest.mark.parametrize("scale", ["sqrt-norm", "paper"])
def test_sign_convergence_against_scalar_map_and_scipy(scale):
    n, cond = 10, 1e3
    r = ly.compute_sign_convergence(n, cond, 25, scale=scale)
    A, S, G = _numpy_problem(n, cond)
    c = math.sqrt(np.linalg.norm(A)) if scale == "sqrt-norm" else np.linalg.norm(S)
    b0 = np.linalg.eigvalsh(S) / c
    np.testing.assert_allclose(r["b0"], b0, rtol=1e-12)
    # ||B_k - I||_F from the scalar map on the eigenvalues (B_k is a polynomial in S)
    traj = ly.scalar_sign_map(b0, 25)[1:]
    expected = np.sqrt(((traj - 1) ** 2).sum(axis=1))
    np.testing.assert_allclose(r["b_residual"], expected, rtol=1e-8, atol=1e-14)
    # converged X is Bartels–Stewart's
    X = scipy.linalg.solve_continuous_lyapunov(S, G)
    assert r["x_error"][-1] < 1e-10 * np.linalg.norm(X)
    assert r["x_norm"] == pytest.approx(np.linalg.norm(X), rel=1e-10)


def test_paper_scale_is_slower():
    a = ly.compute_sign_convergence(12, 1e2, 8, scale="sqrt-norm")
    b = ly.compute_sign_convergence(12, 1e2, 8, scale="paper")
    assert a["x_error_rel"][-1] < b["x_error_rel"][-1]


def test_slow_start_for_small_eigenvalues():
    b = np.array([1e-6, 1e-3, 0.7])
    traj = ly.scalar_sign_map(b, 40)
    assert traj[1, 0] / traj[0, 0] == pytest.approx(1.5, rel=1e-9)
    need = [int(np.argmax(np.abs(traj[:, j] - 1) < 1e-10)) for j in range(3)]
    est = ly.slow_start_iterations(b)
    assert need[0] > need[1] > need[2]
    for j in range(3):  # the estimate plus a few quadratic steps
        assert est[j] <= need[j] <= est[j] + 8
    with pytest.raises(ValueError):
        ly.compute_sign_convergence(4, 10.0, 0)
    with pytest.raises(ValueError, match="scale"):
        ly.compute_sign_convergence(4, 10.0, 3, scale="bad")


def test_trajectories_pick_extremes():
    r = ly.compute_sign_convergence(12, 1e4, 6)
    t = ly.compute_scalar_trajectories(r)
    assert t["b0"][0] == pytest.approx(r["b0"].min()) and t["b0"][-1] == pytest.approx(r["b0"].max())
    assert len(t["k"]) >= t["slow_start"].max() + 8


def test_gap_case_and_sweep():
    rows = ly.compute_gap_case(8, 0.0)
    nan = {(r["method"], r["dtype"]) for r in rows if r["nan"]}
    assert nan == {("svd", "float32"), ("svd", "float64")}  # eigh + autograd: the paper's SVD
    sweep = ly.compute_gap_sweep(8, (1e-2, 1e-6))
    assert set(sweep["float64"]) == set(ly.GAP_METHODS)
    K = sweep["float64"]["svd"]["max_K"]
    assert K[1] / K[0] == pytest.approx(1e4, rel=1e-2)  # max|K| = 1/(gap * c)
    assert np.all(sweep["float64"]["eigh/lyapunov"]["max_factor"] < 2)


def test_plots_draw():
    r = ly.compute_sign_convergence(8, 1e2, 10)
    fig, (a1, a2, a3, a4, a5) = new_figure(15, 3, 1, 5)
    ly.plot_sign_convergence(a1, r)
    ly.plot_scalar_trajectories(a2, ly.compute_scalar_trajectories(r))
    sweep = ly.compute_gap_sweep(8, (1e-1, 1e-3))
    ly.plot_factor_vs_gap(a3, sweep, gap=1e-3)
    ly.plot_error_vs_gap(a4, sweep, gap=1e-3)
    ly.plot_gap_case(a5, ly.compute_gap_case(8, 0.0), title="tie")
    assert len(a1.lines) >= 4 and len(a3.lines) >= 5 and len(a5.patches) == 2 * len(ly.GAP_METHODS)
    assert any(t.get_text() == "NaN" for t in a5.texts)
    # labels and colours from the method table
    assert "SVD" in [t.get_text() for t in a5.get_xticklabels()]
    assert {line.get_label() for line in a3.lines} >= {"SVD", "SVD-Taylor", "eigh + Lya"}


def test_interactive_sign_iteration():
    plot = ly.interactive_sign_iteration(n=8, iters=10)
    before_png, before = plot.image.value, plot.data["b_residual"].copy()
    plot.controls["cond"].value = 1e5
    assert plot.image.value != before_png
    assert plot.data["cond"] == 1e5 and not np.allclose(plot.data["b_residual"], before)
    A, S, G = _numpy_problem(8, 1e5)
    b0 = np.linalg.eigvalsh(S) / math.sqrt(np.linalg.norm(A))
    expected = np.sqrt(((ly.scalar_sign_map(b0, 10)[1:] - 1) ** 2).sum(axis=1))
    np.testing.assert_allclose(plot.data["b_residual"], expected, rtol=1e-8)
    plot.controls["iters"].value = 20
    assert len(plot.data["k"]) == 20


def test_interactive_gap():
    plot = ly.interactive_gap(n=8, log_gap=-2.0)
    before = plot.image.value
    plot.controls["log_gap"].value = -6.0
    assert plot.image.value != before and plot.data["gap"] == pytest.approx(1e-6)
    assert not any(r["nan"] for r in plot.data["rows"])
    plot.controls["exact_tie"].value = True
    assert plot.data["gap"] == 0.0
    assert {r["method"] for r in plot.data["rows"] if r["nan"]} == {"svd"}


# --------------------------------------------------------------------------------------------------
# The scalar map
# --------------------------------------------------------------------------------------------------


def _ns_steps_plain(x0, tol=1e-12, max_steps=400):
    """Plain Python loop: steps to |x - 1| <= tol (or to -1), and the limit; 0 for divergence."""
    x = x0
    for k in range(max_steps + 1):
        if abs(x - 1) <= tol:
            return k, 1.0
        if abs(x + 1) <= tol:
            return k, -1.0
        if not abs(x) < 1e6:
            return k, 0.0
        x = 1.5 * x - 0.5 * x**3
    return -1, 0.0


def test_scalar_map_iterates_and_counts():
    for x0 in (1e-6, 1e-4, 1e-2, 0.3, 1.0, 1.5, 1.7, 1.75, 2.0, 2.2, 2.3, 3.0):
        r = ly.compute_scalar_map(x0, 40)
        steps, limit = _ns_steps_plain(x0)
        assert (r["ns_steps"], r["ns_limit"]) == (steps, limit), x0
        assert r["in_basin"] == (0 < x0 < math.sqrt(3))
        x = x0
        for k in range(1, 6):
            x = x * (3 - x * x) / 2
            if abs(x) < 1e6:
                assert r["ns"][k] == pytest.approx(x, rel=1e-14, abs=1e-300)
    # the basin: every start in (0, sqrt 3) ends at +1, every start beyond sqrt 5 diverges
    b = ly.compute_basin(np.concatenate([np.geomspace(1e-6, 1.73, 200), np.linspace(2.24, 4.0, 50)]))
    inside = b["x0"] < math.sqrt(3)
    assert np.all(b["limit"][inside] == 1.0) and np.all(b["limit"][~inside] == 0.0)
    # between sqrt 3 and sqrt 5 both signs occur
    mid = ly.compute_basin(np.linspace(1.74, 2.23, 200))
    assert {1.0, -1.0} <= set(mid["limit"].tolist())
    with pytest.raises(ValueError):
        ly.compute_scalar_map(0.0)


def test_slow_start_and_quadratic_convergence():
    # p(x)/x -> 3/2 for small x; 1 - p(1 - e) = 3/2 e^2 - 1/2 e^3
    assert ly.ns_sign_polynomial(1e-8) / 1e-8 == pytest.approx(1.5, rel=1e-12)
    e = np.array([1e-1, 1e-2, 1e-3])
    np.testing.assert_allclose(1 - ly.ns_sign_polynomial(1 - e), 1.5 * e**2 - 0.5 * e**3, rtol=1e-9)
    assert ly.ns_sign_polynomial(math.sqrt(3)) == pytest.approx(0.0, abs=1e-15)
    # NS steps grow like log_{3/2}(1/x0): one more step per factor 3/2
    b = ly.compute_basin([1e-6, 1.5e-6])
    assert b["steps"][0] - b["steps"][1] == 1


def test_scaled_cubic_is_chen_chow_and_faster():
    ell = 1e-2
    r = ly.compute_scalar_map(ell, 30)
    # Chen & Chow's closed form, written out here
    alpha = math.sqrt(3 / (1 + ell + ell**2))
    beta = 4 / (2 + ell * (1 + ell) * alpha**3)
    c1, c3 = r["cubic_first"]
    assert c1 == pytest.approx(1.5 * beta * alpha, rel=1e-12)
    assert c3 == pytest.approx(-0.5 * beta * alpha**3, rel=1e-12)
    assert r["cubic"][1] == pytest.approx(beta * (3 * alpha * ell - (alpha * ell) ** 3) / 2, rel=1e-12)
    # it reaches the tolerance in the number of steps its schedule says, fewer than NS
    assert r["cubic_error"][r["cubic_steps"]] <= 1e-12 < r["cubic_error"][r["cubic_steps"] - 1]
    assert r["cubic_steps"] < r["ns_steps"]
    steps = ly.compute_cubic_steps([1e-6, 1e-4, 1e-2, 1.0])
    assert list(steps) == sorted(steps, reverse=True) and steps[-1] == 0
    assert ly.compute_scalar_map(1.5)["cubic"] is None  # only designed for x0 <= 1


def test_scalar_plots_draw():
    r = ly.compute_scalar_map(2.0, 20)
    basin, lowers, cubic = ly._basin_grid(1e-12)
    fig, (a1, a2, a3) = new_figure(12, 3, 1, 3)
    ly.plot_cobweb(a1, r)
    ly.plot_scalar_error(a2, ly.compute_scalar_map(1e-3, 30))
    ly.plot_basin(a3, basin, cubic=(lowers, cubic), x0=2.0)
    assert len(a1.lines) >= 4 and len(a2.lines) >= 2
    labels = [t.get_text() for t in a3.get_legend().get_texts()]
    assert any("wrong sign" in t for t in labels) and any("scaled cubic" in t for t in labels)
    assert len(a3.child_axes) == 1  # the zoom inset


def test_interactive_scalar_map():
    plot = ly.interactive_scalar_map(x0=1e-2)
    before = plot.image.value
    assert plot.data["ns_steps"] == _ns_steps_plain(1e-2)[0] and plot.data["cubic"] is not None
    plot.controls["x0"].value = 10**0.3  # between sqrt 3 and sqrt 5
    assert plot.image.value != before and plot.data["ns_limit"] == -1.0 and plot.data["cubic"] is None
    plot.controls["compare"].value = False
    assert plot.data["compare"] is False
    plot.controls["steps"].value = 10
    assert len(plot.data["k"]) == 11


# --------------------------------------------------------------------------------------------------
# Which gradient
# --------------------------------------------------------------------------------------------------


def _scipy_gradient(S, G):
    return scipy.linalg.solve_continuous_lyapunov(S, G)


@pytest.mark.parametrize("cond", [1e2, 1e4])
def test_gradient_case_against_scipy(cond):
    import mathsqrt

    n = 10
    case = ly.compute_gradient_case(cond, n=n, dtype="float64")
    A = random_spd(n, cond, seed=0)
    g = torch.Generator().manual_seed(1)
    M = torch.randn(n, n, dtype=torch.float64, generator=g)
    G = (M + M.T) / torch.linalg.matrix_norm(M + M.T)
    X_true = _scipy_gradient(scipy.linalg.sqrtm(A.numpy()).real, G.numpy())
    S_mpa = mathsqrt.sqrtm(A, method="mpa").numpy()
    X_a = _scipy_gradient(S_mpa, G.numpy())  # (a): Lyapunov at the computed output, by Bartels–Stewart
    err = lambda X: np.linalg.norm(X - X_true) / np.linalg.norm(X_true)  # noqa: E731
    assert case["lyapunov_at_output"] == pytest.approx(err(X_a), rel=1e-6)
    S_true = scipy.linalg.sqrtm(A.numpy()).real
    assert case["forward_error"] == pytest.approx(np.linalg.norm(S_mpa - S_true) / np.linalg.norm(S_true), rel=1e-6)
    assert case["errors"]["eigh"] < 1e-12
    # (b) is the derivative of the computed MPA: central differences along a direction of our own
    E = torch.randn(n, n, dtype=torch.float64, generator=g)
    E = E + E.T
    h = 1e-6
    loss = lambda B: float((mathsqrt.sqrtm(B, method="mpa") * G).sum())  # noqa: E731
    slope = (loss(A + h * E) - loss(A - h * E)) / (2 * h)
    Ar = A.clone().requires_grad_(True)
    (mathsqrt.sqrtm(Ar, method="mpa", backward="adjoint") * G).sum().backward()
    assert float((Ar.grad * E).sum()) == pytest.approx(slope, rel=1e-7)
    assert case["adjoint"] == pytest.approx(err(Ar.grad.numpy()), rel=1e-6)
    assert np.linalg.eigvalsh(S_mpa).min() == pytest.approx(case["output_min_eigenvalue"], rel=1e-9)


def test_consistency_only_the_adjoint_matches_finite_differences():
    fd = ly.compute_consistency(1e2, n=8)
    assert fd["b"] < 1e-7 and fd["a"] > 1e-3 and fd["c"] > 1e-3


def test_gradient_sweep_and_plots():
    sweep = ly.compute_gradient_sweep((1e1, 1e3), n=8, dtype="float32")
    assert set(sweep["errors"]) == set(ly.GRADIENT_CONFIGURATIONS)
    assert sweep["errors"]["mpa-lya"].shape == (2,)
    case = ly.compute_gradient_case(1e3, n=8, dtype="float32")
    assert sweep["errors"]["mpa-adjoint"][1] == case["errors"]["mpa-adjoint"]
    fig, (a1, a2) = new_figure(10, 3, 1, 2)
    ly.plot_gradient_error_vs_condition(a1, sweep, cond=1e3)
    ly.plot_gradient_comparison(a2, case)
    labels = {line.get_label() for line in a1.lines}
    assert {"MPA-Lya", "MPA-adjoint", "eigh (exact)"} <= labels and len(a2.patches) == 4


def test_interactive_gradient_error():
    plot = ly.interactive_gradient_error(n=8, cond=1e2)
    before = plot.image.value
    assert plot.data["case"]["cond"] == pytest.approx(1e2)
    plot.controls["cond"].value = 10**4.5
    assert plot.image.value != before and plot.data["case"]["cond"] == pytest.approx(10**4.5)
    plot.controls["dtype"].value = "float64"
    assert plot.data["sweep"]["dtype"] == "float64" and plot.data["case"]["errors"]["eigh"] < 1e-12


# --------------------------------------------------------------------------------------------------
# The inverse square root
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("degree", [1, 3, 5, 8])
def test_inverse_error_formula_live(degree):
    r = ly.compute_inverse_error(degree, 1e4, n=12, dtype="float64")
    # independent closed form: P/Q = s coth(N artanh s), so the inverse's relative error is tanh(N artanh s) - 1
    s = np.sqrt(r["a"])
    N = 2 * degree + 1
    np.testing.assert_allclose(r["predicted"], np.tanh(N * np.arctanh(s)) - 1, atol=1e-14)
    np.testing.assert_allclose(r["predicted_sqrt"], 1 / np.tanh(N * np.arctanh(s)) - 1, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(r["measured"], r["predicted"], atol=1e-11)
    np.testing.assert_allclose(r["measured_sqrt"], r["predicted_sqrt"], rtol=1e-9, atol=1e-11)
    assert r["all_underestimate"] and r["max_deviation"] < 1e-11
    assert np.all(r["predicted"] > -1) and np.all(r["predicted"] <= 0)


def test_inverse_error_float32_and_plot():
    r = ly.compute_inverse_error(5, 1e2, n=8, dtype="float32")
    assert r["max_deviation"] < 1e-5 and r["eps"] == pytest.approx(2.0**-23)
    fig, ax = new_figure(6, 3)
    ly.plot_inverse_error(ax, r)
    assert len(ax.lines) >= 5


def test_interactive_inverse_error():
    plot = ly.interactive_inverse_error(n=8)
    before = plot.image.value
    plot.controls["degree"].value = 2
    assert plot.image.value != before and plot.data["degree"] == 2
    plot.controls["cond"].value = 1e8
    assert plot.data["cond"] == pytest.approx(1e8) and plot.data["max_deviation"] < 1e-9
    plot.controls["dtype"].value = "float32"
    assert plot.data["dtype"] == "float32"


def test_widgets_run_single_threaded_and_restore():
    before = torch.get_num_threads()
    ly.compute_gradient_case(10.0, n=6, dtype="float64", seed=3)
    assert torch.get_num_threads() == before
