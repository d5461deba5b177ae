"""Notebook 06 widgets: ZCA whitening of the digits against numpy/scipy and the Padé error formula."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

import mathsqrt
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


# ------------------------------------------------------------------------------------------------
# Fig. 1(b): error and speed in the whitening setting
# ------------------------------------------------------------------------------------------------


def _oracle_roots(eps, images):
    """float64 A^{1/2} and A^{-1/2} of the covariance of the first `images` digits, by scipy."""
    from sklearn.datasets import load_digits

    X = load_digits().data[:images] / 16.0
    Xc = X - X.mean(0)
    A = Xc.T @ Xc / images + eps * np.eye(64)
    S = np.real(scipy.linalg.sqrtm(A))
    return A, S, np.linalg.inv(S)


def test_error_speed_errors_match_scipy():
    r = W.compute_error_speed(1e-2, 128, time_it=False)
    assert r["names"] == W.FIG1B_METHODS and np.isnan(r["time_ms"]).all()
    A, S, R = _oracle_roots(1e-2, 128)
    for i, name in enumerate(r["names"]):
        if name in ("mpa-lya", "ns", "eigh/lyapunov-ns"):
            forward = {"mpa-lya": "mpa", "ns": "ns", "eigh/lyapunov-ns": "eigh"}[name]
            out = mathsqrt.sqrtm(torch.from_numpy(A).float(), method=forward).double().numpy()
            assert r["rel_error"][i] == pytest.approx(np.linalg.norm(out - S) / np.linalg.norm(S), rel=1e-6)
            assert r["mae"][i] == pytest.approx(np.abs(out - S).mean(), rel=1e-6)
            expected = np.linalg.norm(np.linalg.inv(out) - R) / np.linalg.norm(R)
            assert r["whitening_error"][i] == pytest.approx(expected, rel=1e-4)
    lam = np.linalg.eigvalsh(A)
    assert r["cond"] == pytest.approx(lam[-1] / lam[0], rel=1e-8)
    assert r["a_min"] == pytest.approx(lam[0] / np.linalg.norm(A), rel=1e-8)


def test_error_speed_whitening_error_follows_the_eigenvalue_errors():
    """S = U diag(sqrt(lam)(1 + e)) U^T  =>  S^{-1} has relative eigenvalue errors -e/(1 + e) (the notebook's bound)."""
    r = W.compute_error_speed(1e-3, 256, methods=("mpa-lya",), time_it=False, dtype=torch.float64)
    A, S, R = _oracle_roots(1e-3, 256)
    lam, U = np.linalg.eigh(A)
    e = pade_relative_error(lam / np.linalg.norm(A), 5)
    R_pred = (U * (1 / (np.sqrt(lam) * (1 + e)))) @ U.T
    assert r["whitening_error"][0] == pytest.approx(np.linalg.norm(R_pred - R) / np.linalg.norm(R), rel=1e-6)
    assert np.all(e > 0) and np.all(e / (1 + e) < 1)  # an overestimate costs less than 100 % on A^{-1/2}


#: The slider's ε values (10^-5 ... 1 in quarter decades) and every batch size of the widget.
_EPS_GRID = [10.0**k for k in np.arange(-5.0, 0.01, 0.25)]


@pytest.fixture(scope="module")
def error_grid():
    return {
        (eps, m): W.compute_error_speed(eps, m, time_it=False) for eps in _EPS_GRID[::2] for m in W.FIG1B_IMAGES
    } | {(eps, 256): W.compute_error_speed(eps, 256, time_it=False) for eps in _EPS_GRID}


def _get(r, name, key):
    return float(r[key][r["names"].index(name)])


def test_notebook_06_fig1b_claims(error_grid):
    """Every statement of notebook 06's "What the error axes show", over the slider's ε and every batch size."""
    for (eps, m), r in error_grid.items():
        where = f"eps={eps:.1e}, images={m}"
        mpa, ns = ("mpa-lya", "ns")
        if eps >= 1e-2 * (1 - 1e-9):  # the paper's statement holds, on both errors
            assert _get(r, mpa, "rel_error") < _get(r, ns, "rel_error"), where
            assert _get(r, mpa, "whitening_error") < _get(r, ns, "whitening_error"), where
        if eps <= 1e-3 * (1 + 1e-9):  # it flips on the paper's measure, and NS's whitening matrix is > 100 % off
            assert _get(r, ns, "rel_error") < _get(r, mpa, "rel_error"), where
            assert _get(r, ns, "whitening_error") > 1.0, where
        assert _get(r, mpa, "whitening_error") < 1.0, where  # an overestimate: bounded
        others = [_get(r, n, "rel_error") for n in r["names"] if n != "mtp-lya"]
        assert _get(r, "mtp-lya", "rel_error") > max(others), where  # MTP: the largest error of A^{1/2}
        for name in ("svd", "eigh", "eigh/lyapunov-ns", "ns-scaled"):
            assert _get(r, name, "rel_error") < 1e-2 and _get(r, name, "whitening_error") < 1e-2, (name, where)
        # markers at the same height: the same forward pass, whatever the backward
        for a, b in (("mpa-lya", "mpa-adjoint"), ("ns", "ns/lyapunov-ns"), ("svd", "eigh/lyapunov-ns")):
            assert _get(r, a, "rel_error") == _get(r, b, "rel_error"), (a, b, where)


def test_notebook_06_fig1b_table_cell():
    """The cell before the widget prints error_table at eps = 1e-2 and 1e-4 for 256 digits."""
    for eps in (1e-2, 1e-4):
        r = W.compute_error_speed(eps, 256, time_it=False)
        text = W.error_table(r)
        assert text.count("\n") == len(r["names"]) + 1
        assert f"{_get(r, 'ns', 'whitening_error'):.1e}" in text and "NS-Lya" in text and "SVD-Lya" in text


def test_error_speed_times_every_method_and_restores_threads():
    before = torch.get_num_threads()
    r = W.compute_error_speed(0.1, 64, methods=("mpa-lya", "svd", "ns/lyapunov-ns"), budget_s=0.02)
    assert torch.get_num_threads() == before
    assert r["repeats"] >= 5 and np.all(r["time_ms"] > 0)
    assert np.all(r["time_q1"] <= r["time_ms"]) and np.all(r["time_ms"] <= r["time_q3"])
    assert r["labels"] == ("MPA-Lya", "SVD", "NS-Lya")
    fig, axes = new_figure(10, 4, 1, 2)
    W.plot_error_speed(axes, r)
    assert [len(ax.lines) >= 3 for ax in axes] == [True, True]
    assert figure_to_png(fig)[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="2 axes"):
        W.plot_error_speed(axes[:1], r)
    with pytest.raises(ValueError, match="eps"):
        W.compute_error_speed(0.0, 64)
    with pytest.raises(ValueError, match="images"):
        W.compute_error_speed(0.1, 1)


def test_interactive_error_speed_follows_its_sliders(monkeypatch):
    monkeypatch.setenv("MATHSQRT_FAST", "1")
    plot = W.interactive_error_speed(eps=1e-2, images=256)
    image = bytes(plot.image.value)
    assert plot.data["eps"] == pytest.approx(1e-2) and plot.data["images"] == 256
    plot.controls["eps"].value = 1e-4
    assert bytes(plot.image.value) != image and plot.data["eps"] == pytest.approx(1e-4)
    expected = W.compute_error_speed(1e-4, 256, time_it=False)
    np.testing.assert_allclose(plot.data["rel_error"], expected["rel_error"], rtol=1e-12)
    assert _get(plot.data, "ns", "whitening_error") > 1
    plot.controls["images"].value = 32
    assert plot.data["images"] == 32 and plot.updates == 3
    assert np.all(np.isfinite(plot.data["time_ms"]))


# ------------------------------------------------------------------------------------------------
# training comparison with controls (paper Tables 3 and 7)
# ------------------------------------------------------------------------------------------------


def test_training_methods_are_the_controls_the_paper_s_methods_and_table_7():
    from mathsqrt.paper.studies import whitening as exp

    assert W.TRAINING_METHODS[:2] == ("none", "batchnorm")
    assert {"mpa-lya", "ns", "svd", "eigh/lyapunov-ns", "ns/lyapunov-ns"} <= set(W.TRAINING_METHODS)
    for name in W.TRAINING_METHODS:
        exp.layer_options(name)  # every name is valid
    assert W._label("eigh/lyapunov-ns") == "SVD-Lya" and W._label("ns/lyapunov-ns") == "NS-Lya"


class _Run:
    """A stand-in MethodResult for the paired comparison."""

    def __init__(self, name, seed, accuracy, error=None):
        self.name, self.seed, self.val_accuracy, self.error = name, seed, [0.5, accuracy], error

    @property
    def final_accuracy(self):
        return self.val_accuracy[-1]


def test_compute_comparison_pairs_seeds():
    runs = [
        _Run("batchnorm", 0, 0.90),
        _Run("batchnorm", 1, 0.95),
        _Run("batchnorm", 2, 0.80),
        _Run("x", 0, 0.91),
        _Run("x", 1, 0.95),
        _Run("x", 2, 0.83),
        _Run("y", 0, 0.99),
        _Run("y", 1, 0.10, error="FloatingPointError"),
    ]
    c = W.compute_comparison(runs, "batchnorm")
    d = np.array([1.0, 0.0, 3.0])
    assert c["x"]["difference"] == pytest.approx(d.mean())
    assert c["x"]["stderr"] == pytest.approx(d.std(ddof=1) / np.sqrt(3))
    assert (c["x"]["wins"], c["x"]["losses"], c["x"]["ties"], c["x"]["seeds"]) == (2, 0, 1, 3)
    assert c["y"]["seeds"] == 1 and c["y"]["difference"] == pytest.approx(9.0) and c["y"]["stderr"] == 0
    assert c["batchnorm"]["difference"] == 0
    with pytest.raises(ValueError, match="reference"):
        W.compute_comparison(runs, "none")


def test_training_comparison_fast(monkeypatch):
    monkeypatch.setenv("MATHSQRT_FAST", "1")
    before = torch.get_num_threads()
    results = W.compute_training(("none", "batchnorm", "mpa-lya", "ns/lyapunov-ns"), n_train=128, n_val=64)
    assert torch.get_num_threads() == before
    assert [(r.name, r.seed) for r in results] == [
        (n, s) for s in (0, 1) for n in ("none", "batchnorm", "mpa-lya", "ns/lyapunov-ns")
    ]
    for r in results:
        assert r.error is None and len(r.val_accuracy) == 1
        assert (r.sqrt_ms > 0) if r.name in ("mpa-lya", "ns/lyapunov-ns") else np.isnan(r.sqrt_ms)
    table = W.training_table(results)
    assert "MPA-Lya" in table and "NS-Lya" in table and "vs BatchNorm" in table and "vs no whitening" in table
    c = W.compute_comparison(results, "none")
    assert f"{c['mpa-lya']['difference']:+5.2f}" in table
    fig, axes = new_figure(14, 4, 1, 3)
    W.plot_training(axes, results)
    assert [line.get_label() for line in axes[1].lines] == ["no whitening", "BatchNorm", "MPA-Lya", "NS-Lya"]
    assert len(axes[2].patches) == 4  # FP and BP bars of the two timed methods; controls have none
    assert figure_to_png(fig)[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="3 axes"):
        W.plot_training(axes[:2], results)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_notebook_06_training_claims():
    """The statements of notebook 06's "What the numbers show", at the notebook's default settings."""
    from mathsqrt.paper.studies.whitening import summarise

    results = W.compute_training()
    summaries = {s.name: s for s in summarise(results)}
    assert list(summaries) == list(W.TRAINING_METHODS) and len(results) == 7 * 3
    # every run trains, NS-Lya included
    assert all(r.error is None for r in results), [r.error for r in results if r.error]
    # all seven between 2 % and 4 % validation error; no two means a full percentage point apart
    means = [s.error_mean for s in summaries.values()]
    assert all(2.0 <= m <= 4.0 for m in means), means
    assert max(means) - min(means) < 1.0, means
    # ZCA whitening does not beat BatchNorm: every whitening method is worse or equal on at least one seed
    against = W.compute_comparison(results, "batchnorm")
    for name in W.TRAINING_METHODS[2:]:
        assert against[name]["losses"] + against[name]["ties"] >= 1, (name, against[name])
    # against no whitening: none behind by more than 0.1 pp on average, most (at least 3 of 5) ahead by more than 0.1
    vs_none = W.compute_comparison(results, "none")
    ahead = [vs_none[n]["difference"] for n in W.TRAINING_METHODS[2:]]
    assert min(ahead) > -0.1 and sum(d > 0.1 for d in ahead) >= 3, ahead
    # exercise 6: when a curve starts lower it is NS-Lya's (one poor first epoch on one seed)
    first = {n: min(r.val_accuracy[0] for r in results if r.name == n) for n in W.TRAINING_METHODS}
    assert min(first, key=first.get) == "ns/lyapunov-ns", first
