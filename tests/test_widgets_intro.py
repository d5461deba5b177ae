"""Notebook 01 widgets: matrix powers of a 2-D covariance, against scipy and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg

from mathsqrt.coefficients import pade_relative_error
from mathsqrt.paper.plotting import new_figure
from mathsqrt.paper.widgets import intro


@pytest.mark.parametrize("kappa,angle", [(1.0, 0.0), (4.0, 30.0), (100.0, 135.0)])
def test_covariance_has_the_requested_spectrum_and_axis(kappa, angle):
    A = intro.compute_covariance(kappa, angle)
    lam, U = np.linalg.eigh(A)
    np.testing.assert_allclose(lam, [1 / math.sqrt(kappa), math.sqrt(kappa)], rtol=1e-13)
    if kappa > 1:
        u = U[:, 1]
        direction = np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))])
        assert abs(abs(u @ direction) - 1) < 1e-12


def test_covariance_rejects_anisotropy_below_one():
    with pytest.raises(ValueError, match="anisotropy"):
        intro.compute_covariance(0.5, 0.0)


def test_samples_have_exactly_the_covariance():
    A = intro.compute_covariance(10.0, 20.0)
    X = intro.compute_samples(A, 50, seed=3)
    assert X.shape == (2, 50)
    np.testing.assert_allclose(X.mean(axis=1), 0, atol=1e-13)
    np.testing.assert_allclose(X @ X.T / 50, A, atol=1e-13)


@pytest.mark.parametrize("p", [-1.0, -0.5, -0.25, 0.0, 0.3, 0.5, 1.0])
def test_matrix_power_matches_scipy(p):
    A = intro.compute_covariance(7.0, 40.0)
    expected = np.real(scipy.linalg.fractional_matrix_power(A, p))
    np.testing.assert_allclose(intro.matrix_power(A, p, method="eigh"), expected, atol=1e-12)


def test_mpa_power_error_is_the_pade_error():
    """p = 1/2 with MPA [5/5]: the error on each eigenvalue is the exact Padé formula (Sec. 3.1.2)."""
    A = intro.compute_covariance(100.0, 10.0)
    lam, U = np.linalg.eigh(A)
    S = intro.matrix_power(A, 0.5, method="mpa")
    rel = np.diag(U.T @ S @ U) / np.sqrt(lam) - 1
    expected = pade_relative_error(lam / np.linalg.norm(A), 5)
    np.testing.assert_allclose(rel, expected, rtol=1e-8, atol=1e-14)
    assert expected[0] > 0.1  # visibly wrong at anisotropy 100: the point the notebook makes


def test_transform_covariance_is_A_to_the_2p_plus_1():
    r = intro.compute_transform(9.0, 60.0, -0.5, method="eigh", n=100)
    np.testing.assert_allclose(r["cov_measured"], np.eye(2), atol=1e-12)
    np.testing.assert_allclose(r["cov_predicted"], np.eye(2), atol=1e-12)
    r = intro.compute_transform(9.0, 60.0, 0.2, n=100)
    expected = np.real(scipy.linalg.fractional_matrix_power(intro.compute_covariance(9.0, 60.0), 1.4))
    np.testing.assert_allclose(r["cov_measured"], expected, atol=1e-12)
    np.testing.assert_allclose(r["eig_predicted"], np.linalg.eigvalsh(expected), rtol=1e-12)
    assert r["rel_error"] < 1e-13 and r["computed_by"] == "eigh power"


def test_plot_cloud_draws_the_two_sigma_ellipse():
    from matplotlib.patches import Ellipse

    A = intro.compute_covariance(4.0, 0.0)  # variances 2 and 1/2 along x and y
    X = intro.compute_samples(A, 80)
    fig, ax = new_figure()
    intro.plot_cloud(ax, X)
    (ellipse,) = [p for p in ax.patches if isinstance(p, Ellipse)]
    assert math.isclose(ellipse.width, 4 * math.sqrt(2), rel_tol=1e-9)
    assert math.isclose(ellipse.height, 4 / math.sqrt(2), rel_tol=1e-9)
    np.testing.assert_allclose(ax.collections[0].get_offsets(), X.T)


def test_plot_figure_1a_whitens_and_normalises():
    from matplotlib.patches import Ellipse

    fig, axes = new_figure(9, 3, 1, 3)
    errors = intro.plot_figure_1a(axes, method="eigh")
    assert errors["sqrt"] < 1e-12 and errors["whiten"] < 1e-12
    e = [next(p for p in ax.patches if isinstance(p, Ellipse)) for ax in axes]
    kappa = 8.0  # default anisotropy: axis ratio sqrt(kappa), then kappa^(1/4), then 1
    assert math.isclose(e[0].width / e[0].height, math.sqrt(kappa), rel_tol=1e-9)
    assert math.isclose(e[1].width / e[1].height, kappa**0.25, rel_tol=1e-9)
    assert math.isclose(e[2].width / e[2].height, 1.0, rel_tol=1e-9)
    with pytest.raises(ValueError):
        intro.plot_figure_1a(axes[:2])


def test_interactive_whitening_follows_its_sliders():
    plot = intro.interactive_whitening(n=60)
    before = bytes(plot.image.value)
    assert plot.data["p"] == -0.5 and plot.data["computed_by"] == "mpa"
    plot.controls["p"].value = 0.3
    assert bytes(plot.image.value) != before and plot.updates == 2
    expected = intro.compute_transform(plot.controls["anisotropy"].value, plot.controls["angle"].value, 0.3, n=60)
    np.testing.assert_allclose(plot.data["cov_measured"], expected["cov_measured"], atol=1e-14)
    np.testing.assert_allclose(plot.data["eig_predicted"], expected["eig_A"] ** 1.6, rtol=1e-12)
    plot.controls["p"].value = -0.5
    plot.controls["anisotropy"].value = 100.0
    mpa_error = plot.data["rel_error"]
    plot.controls["method"].value = "eigh"
    assert plot.data["rel_error"] < 1e-12 < 1e-3 < mpa_error
    assert plot.last_update_seconds > 0


# ------------------------------------------------------------------------------------------------
# what notebook 01 states
# ------------------------------------------------------------------------------------------------


def test_widget_offers_every_square_root_of_the_method_table():
    from mathsqrt import methods

    assert intro.METHODS == tuple(n for n, f in methods.FORWARDS.items() if f.root)
    plot = intro.interactive_whitening(n=60)
    assert tuple(plot.controls["method"].options) == intro.METHODS and "ns-scaled" in intro.METHODS


@pytest.mark.parametrize("n", [1000, 200])  # the notebook's default and fast sizes
def test_notebook_01_mpa_whitening_is_right_to_about_three_digits(n):
    """Cells 4-6: MPA whitening leaves covariance errors of order 1e-3 at condition number 10 (a ~ 0.1); eigh none."""
    import torch

    import mathsqrt

    A = intro.compute_covariance(anisotropy=10.0, angle=30.0)
    X = intro.compute_samples(A, n=n)
    for method, low, high in (("mpa", 5e-4, 5e-3), ("eigh", 0.0, 1e-12)):
        R = mathsqrt.invsqrtm(torch.from_numpy(A), method=method).numpy()
        Y = R @ X
        err = np.abs(Y @ Y.T / n - np.eye(2)).max()
        assert low <= err < high, (method, err)
    lam = np.linalg.eigvalsh(A)
    assert lam[0] / np.linalg.norm(A) == pytest.approx(0.1, abs=0.005)


def test_notebook_01_exercise_3_numbers():
    """kappa = 100, p = -1/2: the short-axis whitened variance is ~0.64 (MPA, A^{-1/2} ~20 % too small), ~0.14 (MTP),
    ~0.43 (NS), all too small; the long axis is right; ns-scaled and eigh are exact to rounding."""
    expected = {"mpa": 0.64, "mtp": 0.14, "ns": 0.43}
    lam, U = np.linalg.eigh(intro.compute_covariance(100.0, 30.0))
    for method in intro.METHODS:
        r = intro.compute_transform(100.0, 30.0, -0.5, method=method, n=500)
        short, long = r["eig_measured"]
        assert long == pytest.approx(1.0, abs=1e-6), method
        if method in expected:
            assert short == pytest.approx(expected[method], abs=0.01), method
        else:
            assert r["rel_error"] < 1e-10 and short == pytest.approx(1.0, abs=1e-10), method
    M = intro.compute_transform(100.0, 30.0, -0.5, method="mpa", n=500)["M"]
    ratio = (U.T @ M @ U)[0, 0] * np.sqrt(lam[0])
    assert ratio == pytest.approx(0.80, abs=0.01)  # A^{-1/2} about 20 % too small on the short axis
