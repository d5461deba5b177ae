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
