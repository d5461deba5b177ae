"""Notebook 06 widgets: ZCA whitening of the digits against numpy/scipy and the Padé error formula."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from mathsqrt.coefficients import pade_relative_error
from mathsqrt.paper.plotting import figure_to_png, new_figure
from mathsqrt.paper.widgets import whitening as W

pytestmark = pytest.mark.timeout(120)

N = 300  # a subset keeps the tests fast; the maths does not depend on it


def _oracle(eps, n=N):
    from sklearn.datasets import load_digits

    X = load_digits().data[:n] / 16.0
    Xc = (X - X.mean(0)).T
    C = Xc @ Xc.T / Xc.shape[1]
    return Xc, C, C + eps * np.eye(64)


@pytest.mark.parametrize("eps", [1e-3, 0.1])
def test_exact_whitening_matches_scipy(eps):
    r = W.compute_whitening(eps, "eigh", n=N)
    Xc, C, A = _oracle(eps)
    S = np.real(scipy.linalg.sqrtm(A))
    np.testing.assert_allclose(r["cov_before"], C, atol=1e-12)
    np.testing.assert_allclose(r["whitened"], np.linalg.solve(S, Xc), atol=1e-8)
    np.testing.assert_allclose(r["filters"], np.linalg.inv(S), atol=1e-7)
    # covariance after whitening: A^{-1/2} C A^{-1/2} = I - eps A^{-1}
    np.testing.assert_allclose(r["cov_after"], np.eye(64) - eps * np.linalg.inv(A), atol=1e-9)
    lam = np.linalg.eigvalsh(C)
    np.testing.assert_allclose(r["var_exact"], np.clip(lam, 0, None) / (np.clip(lam, 0, None) + eps), atol=1e-10)
    assert r["identity_error"] < 1e-9 and r["relative_error"] < 1e-10


@pytest.mark.parametrize("eps", [1e-2, 1.0])
def test_mpa_whitened_variances_follow_the_pade_error(eps):
    """Along each principal axis: lambda / ((lambda + eps) (1 + e(a))^2), a = (lambda + eps)/||A||_F."""
    r = W.compute_whitening(eps, "mpa", n=N)
    _, C, A = _oracle(eps)
    lam = np.clip(np.linalg.eigvalsh(C), 0, None)
    e = pade_relative_error((lam + eps) / np.linalg.norm(A), 5)
    np.testing.assert_allclose(r["var_measured"], lam / ((lam + eps) * (1 + e) ** 2), atol=1e-9)
    assert r["identity_error"] == pytest.approx(
        np.max(np.abs(lam / ((lam + eps) * (1 + e) ** 2) - lam / (lam + eps))), abs=1e-9
    )
    assert r["a_min"] == pytest.approx(eps / np.linalg.norm(A), rel=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="method"):
        W.compute_whitening(0.1, "svd", n=N)
    with pytest.raises(ValueError, match="eps"):
        W.compute_whitening(0.0, "mpa", n=N)


def test_plots_draw():
    r = W.compute_whitening(0.05, "ns", n=N)
    fig, axes = new_figure(10, 6, 2, 2)
    W.plot_covariance(axes[0, 0], r["cov_before"], title="before")
    W.plot_axis_variances(axes[0, 1], r)
    W.plot_montage(axes[1, 0], r)
    assert len(axes[0, 0].images) == 1 and len(axes[1, 0].images) == 1
    assert len(axes[0, 1].lines) >= 2
    assert figure_to_png(fig)[:4] == b"\x89PNG"


def test_interactive_whitening_updates_and_is_correct(monkeypatch):
    monkeypatch.setenv("MATHSQRT_FAST", "1")
    plot = W.interactive_whitening(eps=0.1, method="mpa")
    first, image = dict(plot.data), bytes(plot.image.value)
    plot.controls["eps"].value = 1e-3
    assert plot.data["eps"] == pytest.approx(1e-3)
    assert bytes(plot.image.value) != image
    assert plot.data["identity_error"] > first["identity_error"]  # smaller eps: harder for MPA
    plot.controls["method"].value = "eigh"
    assert plot.data["method"] == "eigh" and plot.data["identity_error"] < 1e-8
    _, C, _ = _oracle(1e-3, n=400)  # fast mode uses the first 400 digits
    lam = np.clip(np.linalg.eigvalsh(C), 0, None)
    np.testing.assert_allclose(plot.data["var_exact"], lam / (lam + plot.data["eps"]), atol=1e-10)
    assert plot.updates == 3


def test_training_comparison(monkeypatch):
    monkeypatch.setenv("MATHSQRT_FAST", "1")
    results = W.compute_training(("mpa-lya", "svd"), n_train=128, n_val=64)
    assert [r.name for r in results] == ["mpa-lya", "svd"]
    for r in results:
        assert r.error is None and len(r.val_accuracy) == 1 and r.sqrt_ms > 0
    table = W.training_table(results)
    assert "mpa-lya" in table and "svd" in table
    fig, (ax1, ax2) = new_figure(9, 3.5, 1, 2)
    W.plot_training(ax1, ax2, results)
    assert len(ax1.lines) == 2 and len(ax2.patches) == 4
    assert [line.get_label() for line in ax1.lines] == ["MPA-Lya", "SVD"]
    assert {"mpa-lya", "mtp-lya", "ns", "svd", "eigh"} <= set(
        W.TRAINING_METHODS
    ) and "svd-taylor" not in W.TRAINING_METHODS
