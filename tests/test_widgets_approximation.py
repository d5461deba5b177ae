"""Notebook 02 widgets: Taylor vs Padé of sqrt(1 - z), against closed forms and exact rationals."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.special import binom

from mathsqrt.paper.plotting import new_figure
from mathsqrt.paper.widgets import approximation as ap
from mathsqrt.testing import random_spd


def _pade_closed_form(K, z):
    """P/Q = s coth(N artanh s) = s ((1+s)^N + (1-s)^N) / ((1+s)^N - (1-s)^N), s = sqrt(1 - z), N = 2K + 1."""
    s = np.sqrt(1 - z)
    N = 2 * K + 1
    return s * ((1 + s) ** N + (1 - s) ** N) / ((1 + s) ** N - (1 - s) ** N)


def _taylor_direct(K, z):
    return sum(binom(0.5, k) * (-z) ** k for k in range(K + 1))


@pytest.mark.parametrize("K", [1, 3, 5, 8])
def test_approximations_match_closed_forms(K):
    z = np.linspace(-0.9, 0.99, 50)
    d = ap.compute_approximations(K, z)
    np.testing.assert_allclose(d["exact"], np.sqrt(1 - z), rtol=1e-15)
    # Horner on P and Q near z = 1 cancels: Q_K(1) = (2K+1)/4^K while sum |q_k| ~ 4^K / K, so allow
    # eps * 16^K / K^2-ish growth; 1e-10 covers K <= 8.
    np.testing.assert_allclose(d["pade"], _pade_closed_form(K, z), rtol=1e-10)
    np.testing.assert_allclose(d["taylor"], _taylor_direct(2 * K, z), rtol=1e-12)
    assert d["taylor_degree"] == 2 * K


def test_approximations_reject_bad_input():
    with pytest.raises(ValueError):
        ap.compute_approximations(3, [1.5])
    with pytest.raises(TypeError):
        ap.compute_approximations(2.0, [0.5])
    with pytest.raises(ValueError):
        ap.compute_relative_errors(3, [0.0])


def test_measured_relative_errors_agree_with_the_exact_formula():
    a = np.logspace(-6, 0, 13)
    for K in (2, 5):
        d = ap.compute_relative_errors(K, a)
        s = np.sqrt(a)
        r = (1 - s) / (1 + s)
        N = 2 * K + 1
        formula = 2 * r**N / (1 - np.where(r**N < 1, r**N, 0))
        ok = a < 1
        np.testing.assert_allclose(d["pade"][ok], formula[ok], rtol=1e-10)
        assert np.all(d["pade"] >= 0) and np.all(d["taylor"] >= 0)  # both overestimate on [0, 1)
        mid = a > 1e-3
        taylor = _taylor_direct(2 * K, 1 - a[mid]) / s[mid] - 1
        np.testing.assert_allclose(d["taylor"][mid], taylor, rtol=1e-6, atol=1e-15)
    # Reference values (K = 5 at a = 0.5, 0.1, 0.01, 0.001), computed independently with sympy.
    np.testing.assert_allclose(
        ap.compute_relative_errors(5, [0.5, 0.1, 0.01, 0.001])["pade"], [7.6e-9, 1.5e-3, 0.25, 1.99], rtol=0.02
    )


def test_error_vs_degree_decreases_and_padé_beats_taylor():
    d = ap.compute_error_vs_degree(0.01, range(1, 11))
    assert np.all(np.diff(d["pade"]) < 0) and np.all(np.diff(d["taylor"]) < 0)
    assert np.all(d["pade"] < d["taylor"])
    np.testing.assert_allclose(d["pade"], d["pade_formula"], rtol=1e-10)
    # Taylor error at z = 1 behaves like 1/sqrt(pi * degree).
    np.testing.assert_allclose(d["taylor_at_one"][-1], 1 / math.sqrt(math.pi * 20), rtol=0.05)
    np.testing.assert_allclose(
        ap.taylor_relative_error([0.3], 4), _taylor_direct(4, 0.7) / math.sqrt(0.3) - 1, rtol=1e-9
    )


def test_series_terms_have_no_hump_on_the_spectrum():
    for z in (0.5, 0.99, 0.999999):
        d = ap.compute_series_terms(z, 30)
        assert np.all(d["terms"][1:] < 0) and np.all(np.diff(np.abs(d["terms"][1:])) < 0)
        assert np.all(np.diff(d["error"]) < 0) and np.all(d["error"] > 0)
    np.testing.assert_allclose(ap.compute_series_terms(0.25, 3)["terms"], [1, -1 / 8, -1 / 128, -1 / 1024])


@pytest.mark.parametrize("K", [1, 2, 5, 9])
def test_poles_and_zeros_are_real_beyond_one_and_interlace(K):
    d = ap.compute_poles_zeros(K)
    N = 2 * K + 1
    j = np.arange(1, K + 1)
    np.testing.assert_allclose(np.sort(d["poles"].real), np.sort(1 / np.cos(j * np.pi / N) ** 2), rtol=1e-12)
    np.testing.assert_allclose(
        np.sort(d["zeros"].real), np.sort(1 / np.cos((2 * j - 1) * np.pi / (2 * N)) ** 2), rtol=1e-12
    )
    assert np.all(np.abs(d["poles"].imag) < 1e-12) and np.all(np.abs(d["zeros"].imag) < 1e-12)
    merged = sorted([(x, "z") for x in d["zeros"].real] + [(x, "p") for x in d["poles"].real])
    assert [t for _, t in merged] == ["z", "p"] * K and merged[0][0] > 1


def test_denominator_table_finds_the_paper_errata():
    rows = {r["K"]: r for r in ap.compute_denominator_table((3, 4, 5, 6, 7))}
    for K, r in rows.items():
        assert r["min_exact"] == Fraction(2 * K + 1, 4**K) == r["closed_form"] and r["min_x"] == 1
    assert [k for k, r in rows.items() if r["mismatches"]] == [5]
    assert rows[5]["mismatches"] == [(3, 0.54675, Fraction(35, 64))]
    assert rows[5]["min_exact"] == Fraction(11, 1024)
    assert rows[5]["min_of_printed"] == Fraction("0.0108671875")
    assert round(float(rows[5]["min_of_printed"]), 7) == rows[5]["min_quoted"] == 0.0108672
    for K in (3, 4, 6):  # the other printed minima are right
        assert rows[K]["min_quoted"] == float(rows[K]["min_exact"])
    assert rows[7]["q_paper"] is None and rows[7]["min_quoted"] is None
    table = ap.format_denominator_table(rows.values())
    assert "11/1024" in table and "0.54675" in table and "35/64" in table and table.count("\n") == 6


def test_denominator_values_and_det_q_identity():
    d = ap.compute_denominator(5, np.array([0.0, 0.5, 1.0]))
    z = np.array([0.0, 0.5, 1.0])
    closed = ((1 + np.sqrt(1 - z)) ** 11 - (1 - np.sqrt(1 - z)) ** 11) / (2 * np.sqrt(1 - z).clip(1e-300)) / 4**5
    closed[-1] = 11 / 1024  # the limit s -> 0
    np.testing.assert_allclose(d["Q"], closed, rtol=1e-13)
    A = random_spd(12, 1e5, seed=1).numpy()
    r = ap.compute_det_q(A, 5)
    Z = np.eye(12) - A / np.linalg.norm(A)
    Q = d["coefficients"]
    QZ = sum(float(c) * np.linalg.matrix_power(Z, k) for k, c in enumerate(Q))
    np.testing.assert_allclose(r["logdet"], np.log(np.linalg.det(QZ)), rtol=1e-10)
    np.testing.assert_allclose(r["logdet"], r["logprod"], rtol=1e-10)
    assert r["sign"] == 1 and r["min_eig"] >= r["lower_bound"] * (1 - 1e-10)
    assert r["cond"] <= 4**5 / 11


def test_plots_draw_the_computed_data():
    fig, axes = new_figure(12, 8, 2, 3)
    ax = axes.ravel()
    out = ap.plot_approximations(ax[0], 3)
    z = np.linspace(-1, 1, 401)
    lines = {line.get_label(): line for line in ax[0].get_lines()}
    np.testing.assert_allclose(lines["Padé [3/3]"].get_ydata()[:-1], _pade_closed_form(3, z[:-1]), rtol=1e-12)
    assert out["pade_max_error"] < out["taylor_max_error"]
    d = ap.plot_relative_errors(ax[1], 4, num=11)
    assert len(d["a"]) == 11 and len(ax[1].get_lines()) == 4
    ap.plot_error_vs_degree(ax[2], 0.1, range(1, 6))
    ap.plot_series_terms(ax[3], 0.9, 10)
    d = ap.plot_poles_zeros(ax[4], 4)
    poles = next(l for l in ax[4].get_lines() if l.get_label().startswith("poles"))
    np.testing.assert_allclose(np.sort(poles.get_xdata()), np.sort(d["poles"].real))
    out = ap.plot_denominator(ax[5], 5)
    labels = [l.get_label() for l in ax[5].get_lines()]
    assert any("11/1024" in s for s in labels) and any("0.0108672" in s for s in labels)


def test_interactive_approximation_updates():
    plot = ap.interactive_approximation()
    before = bytes(plot.image.value)
    plot.controls["K"].value = 6
    assert bytes(plot.image.value) != before and plot.data["K"] == 6
    np.testing.assert_allclose(plot.data["pade_formula"], ap.compute_relative_errors(6, plot.data["a"])["pade_formula"])
    s = np.sqrt(plot.data["a"][:-1])
    r = (1 - s) / (1 + s)
    np.testing.assert_allclose(plot.data["pade"][:-1], 2 * r**13 / (1 - r**13), rtol=1e-10)


def test_interactive_error_vs_degree_updates():
    plot = ap.interactive_error_vs_degree()
    before = bytes(plot.image.value)
    plot.controls["a"].value = 0.1
    assert bytes(plot.image.value) != before and plot.data["a"] == pytest.approx(0.1)
    np.testing.assert_allclose(plot.data["terms"][:3], [1, -0.45, -0.125 * 0.81])


def test_interactive_poles_updates():
    plot = ap.interactive_poles()
    assert plot.data["min_value"] == Fraction(11, 1024)
    before = bytes(plot.image.value)
    plot.controls["K"].value = 3
    assert bytes(plot.image.value) != before
    assert plot.data["min_value"] == Fraction(7, 64) and len(plot.data["poles"]) == 3
    np.testing.assert_allclose(np.sort(plot.data["poles"].real), 1 / np.cos(np.arange(1, 4) * np.pi / 7) ** 2)


# ------------------------------------------------------------------------------ the [m/n] choice


def test_pade_mn_errors_agree_with_the_diagonal_formula_and_taylor():
    a = np.logspace(-5, 0, 11)
    for K in (1, 4, 7):
        np.testing.assert_allclose(ap.pade_mn_relative_error(a, K, K), co_pade_error(a, K), rtol=1e-10, atol=1e-30)
    np.testing.assert_allclose(ap.pade_mn_relative_error(a, 6, 0), ap.taylor_relative_error(a, 6), rtol=1e-12)
    # an independent float evaluation of [3/5] from the exact rationals, where float64 is accurate
    from mathsqrt.coefficients import pade_coefficients

    P, Q = pade_coefficients(3, 5)
    z = 1 - a[a > 1e-3]
    direct = (
        np.polyval([float(c) for c in P[::-1]], z) / np.polyval([float(c) for c in Q[::-1]], z) / np.sqrt(1 - z) - 1
    )
    np.testing.assert_allclose(ap.pade_mn_relative_error(a[a > 1e-3], 3, 5), direct, rtol=1e-9, atol=1e-14)
    with pytest.raises(ValueError):
        ap.pade_mn_relative_error([0.0], 2, 2)


def co_pade_error(a, K):
    from mathsqrt.coefficients import pade_relative_error

    return pade_relative_error(a, K)


def test_mpa_cost_is_what_the_library_counts():
    import torch

    import mathsqrt

    A = random_spd(6, 10.0, seed=0)
    for m, n in [(5, 3), (3, 5), (4, 4), (2, 1), (1, 2)]:
        with mathsqrt.count_ops() as ops:
            mathsqrt.sqrtm(A, method="mpa", degree=(m, n))
        assert (ops["matmul"], ops["cholesky"]) == ap.mpa_cost(m, n), (m, n)
    assert ap.mpa_cost(5, 0) == (4, 0) and ap.mpa_cost(0, 1) == (0, 1)
    assert torch.is_tensor(A)


def test_pade_table_classifies_poles_like_the_exact_roots():
    from mathsqrt.coefficients import pade_poles

    table = ap.compute_pade_table(0.05, 6)
    for m in range(7):
        for n in range(7):
            p = np.array(pade_poles(m, n), dtype=complex)
            exact = len(p) == 0 or bool(np.all(np.abs(p.imag) < 1e-12) and np.all(p.real > 1))
            assert table["on_cut"][m, n] == exact, (m, n)
            assert table["matmuls"][m, n] == max(m, n, 1) - 1
    np.testing.assert_allclose(table["error"][3, 3], co_pade_error(0.05, 3), rtol=1e-10)
    assert table["best_same_cost"][4] == (4, 4) and table["best_same_order"][5] == (3, 2)
    with pytest.raises(ValueError):
        ap.compute_pade_table(0.0)


def test_pade_choice_pairs_and_poles():
    c = ap.compute_pade_choice(3, 6, num=9)
    assert c["same_cost"] == (6, 6) and c["same_order"] == (5, 4) and c["cost"] == (5, 1)
    assert set(c["errors"]) == {(3, 6), (6, 6), (5, 4)} and len(c["a"]) == 9
    assert not c["on_cut"] and np.any(np.abs(c["poles"].imag) > 1e-6)
    assert float(c["q_min"]) > 0 and len(c["zeros"]) == 3
    diag = ap.compute_pade_choice(4, 4, num=5)
    assert list(diag["errors"]) == [(4, 4)] and diag["on_cut"]
    with pytest.raises(ValueError):
        ap.compute_pade_choice(0, 0)


def test_float_solve_of_the_pade_system_loses_digits():
    d = ap.compute_float_pade_solve((3, 5, 15))
    assert d["error"][0] < 1e-13 and d["error"][-1] > 0.5
    assert np.all(np.diff(d["cond"]) > 0)


# ------------------------------------------------------------------------------ Table 5


def test_degree_ablation_formula_matches_the_measured_matrix_error():
    import torch

    from mathsqrt.testing import random_covariance

    r = ap.compute_degree_ablation(24, samples=40, seed=3, degrees=(2, 3, 7))
    C = random_covariance(24, samples=40, seed=3).numpy()
    lam, U = np.linalg.eigh(C)
    np.testing.assert_allclose(r["a"], lam / np.linalg.norm(C), rtol=1e-10)
    assert r["cond"] == pytest.approx(lam[-1] / lam[0], rel=1e-8)
    S_exact = (U * np.sqrt(lam)) @ U.T
    import mathsqrt

    for K, frob, meas, e in zip(r["degrees"], r["frobenius"], r["measured"], r["per_eigenvalue"]):
        S = mathsqrt.sqrtm(torch.from_numpy(C), method="mpa", degree=K).numpy()
        np.testing.assert_allclose(np.diag(U.T @ S @ U) / np.sqrt(lam) - 1, e, rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(meas, np.linalg.norm(S - S_exact) / np.linalg.norm(S_exact), rtol=1e-8)
        np.testing.assert_allclose(frob, meas, rtol=1e-8)
    assert r["ops"][0] == {"matmul": 1, "cholesky": 1, "solve": 1} and r["ops"][-1] == {"cholesky": 7, "solve": 7}
    assert r["worst"] == sorted(r["worst"], reverse=True)


def test_new_plots_draw_the_computed_data():
    fig, axes = new_figure(16, 8, 2, 3)
    ax = axes.ravel()
    table = ap.compute_pade_table(0.01, 6)
    cbar = ap.plot_pade_table(ax[0], table, highlight=(5, 3))
    image = ax[0].get_images()[0].get_array()
    np.testing.assert_allclose(image, np.log10(np.abs(table["error"])))
    assert cbar.ax.get_ylabel().startswith("$\\log_{10}$")
    dots = next(l for l in ax[0].get_lines() if "off the cut" in l.get_label())
    assert len(dots.get_xdata()) == int(np.sum(~table["on_cut"]))
    choice = ap.compute_pade_choice(5, 3, num=11)
    ap.plot_pade_choice(ax[1], choice)
    line = next(l for l in ax[1].get_lines() if l.get_label().startswith("[5/3]"))
    np.testing.assert_allclose(line.get_ydata()[:-1], np.abs(choice["errors"][(5, 3)])[:-1])  # exact at a = 1
    assert ax[1].get_legend() is not None
    ap.plot_pade_poles(ax[2], choice)
    poles = next(l for l in ax[2].get_lines() if l.get_label().startswith("poles"))
    np.testing.assert_allclose(np.sort(poles.get_xdata()), np.sort(choice["poles"].real))
    r = ap.compute_degree_ablation(16)
    ap.plot_degree_ablation(ax[3], ax[4], r)
    assert len(ax[3].get_lines()) == 4
    worst = ax[4].get_lines()[0]
    np.testing.assert_allclose(worst.get_ydata(), np.abs(r["worst"]))
    lo, hi = ax[4].get_ylim()
    assert lo <= min(r["measured"]) and hi >= max(np.abs(r["worst"]))


def test_interactive_pade_choice_updates():
    plot = ap.interactive_pade_choice(m=5, n=3, a=1e-2)
    before = bytes(plot.image.value)
    plot.controls["n"].value = 6
    assert bytes(plot.image.value) != before and plot.data["choice"]["n"] == 6
    assert plot.data["choice"]["same_cost"] == (6, 6)
    before = bytes(plot.image.value)
    plot.controls["a"].value = 0.1
    assert bytes(plot.image.value) != before
    np.testing.assert_allclose(plot.data["table"]["error"][5, 6], ap.pade_mn_relative_error(np.array([0.1]), 5, 6)[0])
    plot.controls["m"].value = 0
    plot.controls["n"].value = 0  # [0/0] is drawn as [1/0]
    assert plot.data["m"] == 1 and plot.data["n"] == 0


def test_interactive_degree_ablation_updates():
    plot = ap.interactive_degree_ablation(n=16)
    before = bytes(plot.image.value)
    plot.controls["ratio"].value = 4.0
    assert bytes(plot.image.value) != before and plot.data["samples"] == 64
    plot.controls["n"].value = 32
    assert plot.data["n"] == 32 and len(plot.data["a"]) == 32
