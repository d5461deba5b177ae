"""Layers of mathsqrt.nn against independent oracles (numpy/scipy, closed forms, the Padé error formula)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

import mathsqrt.nn as mnn
from mathsqrt.coefficients import pade_relative_error

pytestmark = pytest.mark.timeout(120)


def _correlated(n, c, *, seed=0, scale=None, shift=1.5):
    """(n, c) float64 samples, correlated by a random rotation; ``scale`` sets the standard
    deviations along the principal axes (default from 1 down to 0.3), hence the conditioning."""
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(c, c, dtype=torch.float64, generator=g))
    s = (
        torch.linspace(1.0, 0.3, c, dtype=torch.float64)
        if scale is None
        else torch.as_tensor(scale, dtype=torch.float64)
    )
    return (torch.randn(n, c, dtype=torch.float64, generator=g) * s) @ Q.T + shift


def _np_whiten(X, eps):
    """Oracle: ZCA whitening of X (c, m) with numpy/scipy only."""
    mu = X.mean(axis=1, keepdims=True)
    Xc = X - mu
    A = Xc @ Xc.T / X.shape[1] + eps * np.eye(X.shape[0])
    S = np.real(scipy.linalg.sqrtm(A))
    return np.linalg.solve(S, Xc), mu[:, 0], np.linalg.inv(S), A


# ------------------------------------------------------------------------------------------------
# ZCAWhitening
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("eps", [0.0, 1e-2])
def test_whitening_matches_scipy_oracle_and_has_identity_covariance(eps):
    x = _correlated(200, 5)
    layer = mnn.ZCAWhitening(5, eps=eps, method="eigh", backward="eigh", affine=False).double()
    y = layer(x)
    Xw, _, _, A = _np_whiten(x.numpy().T, eps)
    np.testing.assert_allclose(y.detach().numpy(), Xw.T, atol=1e-10)
    # Zero mean, and covariance I - eps A^{-1} (exactly I when eps = 0).
    np.testing.assert_allclose(y.detach().mean(0).numpy(), 0, atol=1e-12)
    cov = (y.T @ y / len(y)).detach().numpy()
    np.testing.assert_allclose(cov, np.eye(5) - eps * np.linalg.inv(A), atol=1e-10)


def test_mpa_whitening_covariance_follows_the_exact_pade_error():
    """MPA [5/5] overestimates each eigenvalue s_i of A^{1/2} by the factor 1 + e(a_i) (ALGORITHMS §1),
    so the whitened covariance has eigenvalues (lambda_i - eps)/(lambda_i (1 + e(a_i))^2) exactly."""
    eps = 1e-3
    x = _correlated(400, 6, scale=torch.logspace(0, -1.5, 6))
    layer = mnn.ZCAWhitening(6, eps=eps, method="mpa", degree=5, affine=False).double()
    y = layer(x).detach()
    Xc = (x - x.mean(0)).numpy()
    A = Xc.T @ Xc / len(x) + eps * np.eye(6)
    lam, U = np.linalg.eigh(A)
    e = pade_relative_error(lam / np.linalg.norm(A), 5)
    assert e.max() > 1e-6  # the test is sensitive: the approximation error is visible
    predicted = U @ np.diag((lam - eps) / (lam * (1 + e) ** 2)) @ U.T
    np.testing.assert_allclose((y.T @ y / len(y)).numpy(), predicted, atol=1e-9)
    np.testing.assert_allclose(y.mean(0).numpy(), 0, atol=1e-12)


@pytest.mark.parametrize("method,backward", [("mpa", "lyapunov"), ("mtp", "lyapunov"), ("ns", "autograd")])
def test_approximate_methods_whiten_well_conditioned_data(method, backward):
    x = _correlated(500, 4, scale=torch.tensor([1.0, 0.8, 0.6, 0.5])).float()
    layer = mnn.ZCAWhitening(4, eps=1e-5, method=method, backward=backward, affine=False)
    y = layer(x).detach().double()
    cov = y.T @ y / len(y)
    # MTP/NS are the least accurate; a well-conditioned covariance keeps them within a few per cent.
    assert torch.allclose(cov, torch.eye(4, dtype=torch.float64), atol=0.05)


def test_four_dimensional_input_and_groups_match_the_oracle():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, 6, 3, 4, dtype=torch.float64, generator=g)
    x = x + 0.7 * x[:, [1, 2, 0, 4, 5, 3]]  # correlate channels within each group of three
    layer = mnn.ZCAWhitening(6, groups=2, eps=1e-3, method="eigh", backward="eigh", affine=False).double()
    y = layer(x).detach().numpy()
    flat = x.numpy().transpose(1, 0, 2, 3).reshape(6, -1)
    for g0 in (0, 3):
        Xw, _, _, _ = _np_whiten(flat[g0 : g0 + 3], 1e-3)
        got = y[:, g0 : g0 + 3].transpose(1, 0, 2, 3).reshape(3, -1)
        np.testing.assert_allclose(got, Xw, atol=1e-10)


def test_groups_equal_channels_is_batch_norm():
    x = _correlated(64, 4)
    layer = mnn.ZCAWhitening(4, groups=4, eps=1e-5, method="eigh", backward="eigh", affine=False).double()
    bn = torch.nn.BatchNorm1d(4, eps=1e-5, affine=False).double()
    torch.testing.assert_close(layer(x), bn(x), atol=1e-10, rtol=0)


def test_affine_parameters_scale_and_shift():
    x = _correlated(50, 3)
    layer = mnn.ZCAWhitening(3, method="eigh", backward="eigh").double()
    plain = layer(x).detach()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([2.0, -1.0, 0.5]))
        layer.bias.copy_(torch.tensor([0.1, 0.2, 0.3]))
    torch.testing.assert_close(
        layer(x).detach(),
        plain * torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64)
        + torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64),
    )


def test_running_statistics_and_eval_mode():
    x1, x2 = _correlated(100, 4, seed=1), _correlated(80, 4, seed=2, shift=-0.5)
    eps = 1e-3
    layer = mnn.ZCAWhitening(4, eps=eps, momentum=None, method="eigh", backward="eigh", affine=False).double()
    layer(x1)
    layer(x2)
    assert int(layer.num_batches_tracked) == 2
    _, mu1, R1, _ = _np_whiten(x1.numpy().T, eps)
    _, mu2, R2, _ = _np_whiten(x2.numpy().T, eps)
    # momentum=None: the cumulative average; the stored matrix is the inverse square root.
    np.testing.assert_allclose(layer.running_mean.numpy(), (mu1 + mu2) / 2, atol=1e-12)
    np.testing.assert_allclose(layer.running_whitening[0].numpy(), (R1 + R2) / 2, atol=1e-10)
    layer.eval()
    x3 = _correlated(7, 4, seed=3)
    R, mu = (R1 + R2) / 2, (mu1 + mu2) / 2
    np.testing.assert_allclose(layer(x3).detach().numpy(), (x3.numpy() - mu) @ R.T, atol=1e-10)
    # one sample is fine in eval mode
    assert layer(x3[:1]).shape == (1, 4)


def test_momentum_update_and_train_eval_agree_on_the_training_batch():
    x = _correlated(120, 3)
    layer = mnn.ZCAWhitening(3, momentum=1.0, method="eigh", backward="eigh").double()
    y_train = layer(x).detach()
    layer.eval()
    torch.testing.assert_close(layer(x).detach(), y_train, atol=1e-10, rtol=0)
    layer.train()
    layer.momentum = 0.1
    before_mean, before_R = layer.running_mean.clone(), layer.running_whitening.clone()
    x2 = _correlated(90, 3, seed=5)
    layer(x2)
    _, mu2, R2, _ = _np_whiten(x2.numpy().T, layer.eps)
    np.testing.assert_allclose(layer.running_mean.numpy(), 0.9 * before_mean.numpy() + 0.1 * mu2, atol=1e-12)
    np.testing.assert_allclose(layer.running_whitening[0].numpy(), 0.9 * before_R[0].numpy() + 0.1 * R2, atol=1e-10)


def test_without_running_stats_eval_uses_batch_statistics():
    x = _correlated(40, 3)
    layer = mnn.ZCAWhitening(3, track_running_stats=False, method="eigh", backward="eigh").double().eval()
    assert layer.running_mean is None
    y = layer(x).detach()
    torch.testing.assert_close(y.T @ y / 40, torch.eye(3, dtype=torch.float64), atol=1e-3, rtol=0)


def test_reset_running_stats():
    layer = mnn.ZCAWhitening(4, groups=2, method="eigh", backward="eigh").double()
    layer(_correlated(30, 4))
    layer.reset_running_stats()
    assert torch.equal(layer.running_mean, torch.zeros(4, dtype=torch.float64))
    assert torch.equal(layer.running_whitening, torch.eye(2, dtype=torch.float64).expand(2, 2, 2))
    assert int(layer.num_batches_tracked) == 0


@pytest.mark.parametrize("shape,groups", [((7, 3), 1), ((3, 4, 2, 2), 2)])
def test_gradcheck_exact_method(shape, groups):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(*shape, dtype=torch.float64, generator=g).requires_grad_(True)
    layer = mnn.ZCAWhitening(shape[1], groups=groups, eps=1e-2, method="eigh", backward="eigh").double()
    assert torch.autograd.gradcheck(layer, (x,), atol=1e-7)


def test_mpa_lyapunov_gradient_is_close_to_the_exact_one():
    """The Lyapunov backward (converged, with a tolerance) equals the exact eigenbasis backward at the
    same MPA forward value; and the MPA gradient differs from the exact-method gradient by no more
    than the forward error allows (twice the largest Padé relative error, ALGORITHMS §1)."""
    n = 200
    x = _correlated(n, 4, scale=torch.tensor([1.0, 0.9, 0.8, 0.7])).requires_grad_(True)
    w = torch.randn(n, 4, dtype=torch.float64)
    grads = {}
    for name, kwargs in {
        "exact": dict(method="eigh", backward="eigh"),
        "mpa-lya": dict(method="mpa", backward="lyapunov", backward_tol=1e-12),
        "mpa-eigh": dict(method="mpa", backward="eigh"),
    }.items():
        layer = mnn.ZCAWhitening(4, eps=1e-3, **kwargs).double()
        (grads[name],) = torch.autograd.grad((layer(x) * w).sum(), x)
    torch.testing.assert_close(grads["mpa-lya"], grads["mpa-eigh"], atol=1e-10, rtol=1e-8)
    Xc = (x - x.mean(0)).detach().numpy()
    A = Xc.T @ Xc / n + 1e-3 * np.eye(4)
    delta = pade_relative_error(np.linalg.eigvalsh(A) / np.linalg.norm(A), 5).max()
    rel = float((grads["mpa-lya"] - grads["exact"]).norm() / grads["exact"].norm())
    assert 1e-9 < delta < 1e-4 and rel <= 2 * delta


def test_half_precision_input_is_whitened_in_float32():
    x = _correlated(128, 4).half()
    layer = mnn.ZCAWhitening(4, method="eigh", backward="eigh", affine=False)
    y = layer(x)
    assert y.dtype == torch.float16 and torch.isfinite(y).all()
    cov = y.double().T @ y.double() / len(y)
    assert torch.allclose(cov, torch.eye(4, dtype=torch.float64), atol=2e-2)


def test_baseline_method_in_the_layer():
    x = _correlated(64, 3)
    layer = mnn.ZCAWhitening(3, method="eigh", backward="svd-taylor", affine=False).double()
    y = layer(x).detach()
    torch.testing.assert_close(y.T @ y / 64, torch.eye(3, dtype=torch.float64), atol=1e-3, rtol=0)
    with pytest.warns(DeprecationWarning, match="backward='svd-taylor'"):  # the older spelling still works
        old = mnn.ZCAWhitening(3, method="svd-taylor", affine=False).double()
    assert (old.method, old.backward) == ("eigh", "svd-taylor")
    torch.testing.assert_close(old(x).detach(), y, rtol=0, atol=0)


def test_bad_input_raises_clear_errors():
    layer = mnn.ZCAWhitening(4)
    with pytest.raises(ValueError, match="expected 4 channels"):
        layer(torch.randn(8, 3))
    with pytest.raises(ValueError, match="more than one value per channel"):
        layer(torch.randn(1, 4))
    with pytest.raises(ValueError, match=r"\(N, C\) or \(N, C, H, W\)"):
        layer(torch.randn(8, 4, 5))
    with pytest.raises(ValueError, match=r"\(N, C\) or \(N, C, H, W\)"):
        layer(torch.randn(4))
    with pytest.raises(TypeError, match="floating-point"):
        layer(torch.randint(0, 255, (8, 4), dtype=torch.uint8))
    with pytest.raises(TypeError, match="torch.Tensor"):
        layer(np.zeros((8, 4)))
    with pytest.raises(ValueError, match="NaN/Inf"):
        layer(torch.full((8, 4), float("nan")))
    with pytest.raises(ValueError, match="divisible by groups"):
        mnn.ZCAWhitening(6, groups=4)
    with pytest.raises(ValueError, match="unknown method"):
        mnn.ZCAWhitening(4, method="svd")
    with pytest.raises(ValueError, match="momentum"):
        mnn.ZCAWhitening(4, momentum=2.0)
    with pytest.raises(TypeError, match="num_features"):
        mnn.ZCAWhitening(4.0)


# ------------------------------------------------------------------------------------------------
# CovariancePooling and SoViTHead
# ------------------------------------------------------------------------------------------------


def _np_cov(X, center=True):
    """(d, M) -> covariance / second moment (biased)."""
    Xc = X - X.mean(axis=1, keepdims=True) if center else X
    return Xc @ Xc.T / X.shape[1]


def test_pooling_of_feature_maps_is_the_triu_of_scipy_sqrtm():
    x = torch.randn(3, 5, 4, 4, dtype=torch.float64)
    pool = mnn.CovariancePooling(5, method="eigh", backward="eigh")
    out = pool(x)
    assert out.shape == (3, 15) and pool.output_dim == 15
    mats = mnn.triu_to_matrix(out, 5)
    assert torch.equal(mats, mats.transpose(-2, -1))
    for n in range(3):
        ref = np.real(scipy.linalg.sqrtm(_np_cov(x[n].reshape(5, -1).numpy())))
        np.testing.assert_allclose(mats[n].numpy(), ref, atol=1e-10)
        iu = np.triu_indices(5)
        np.testing.assert_allclose(out[n].numpy(), ref[iu], atol=1e-10)


def test_pooling_of_tokens_without_centring():
    x = torch.randn(2, 9, 4, dtype=torch.float64)  # (N, L, C)
    pool = mnn.CovariancePooling(method="eigh", backward="eigh", center=False, output="matrix")
    out = pool(x)
    assert out.shape == (2, 4, 4)
    for n in range(2):
        ref = np.real(scipy.linalg.sqrtm(_np_cov(x[n].numpy().T, center=False)))
        np.testing.assert_allclose(out[n].numpy(), ref, atol=1e-10)


@pytest.mark.parametrize("normalize", ["trace", "frobenius", "none"])
def test_pre_normalisation_and_compensation(normalize):
    x = 3.0 * torch.randn(2, 4, 6, 6, dtype=torch.float64)
    A = np.stack([_np_cov(x[n].reshape(4, -1).numpy()) for n in range(2)])
    scale = {"trace": np.trace(A, axis1=1, axis2=2), "frobenius": np.linalg.norm(A, axis=(1, 2)), "none": np.ones(2)}[
        normalize
    ]
    for compensate in (True, False):
        pool = mnn.CovariancePooling(method="eigh", normalize=normalize, compensate=compensate, output="matrix")
        out = pool(x).numpy()
        for n in range(2):
            ref = np.real(scipy.linalg.sqrtm(A[n] / scale[n]))
            if compensate:
                ref = ref * np.sqrt(scale[n])
            np.testing.assert_allclose(out[n], ref, atol=1e-10)


@pytest.mark.parametrize("k", [55, -40])
def test_frobenius_pre_normalisation_at_extreme_float32_scales(k):
    """Features scaled by 2^k scale Sigma^{1/2} by 2^k. With k = 55 the pooled entries (~1e33) are
    finite in float32 but their squares are not, which must not give a silent NaN (nor 0 for k = -40)."""
    x = torch.randn(2, 4, 5, 5)
    pool = mnn.CovariancePooling(method="eigh", normalize="frobenius", output="matrix")
    reference = pool(x.double()).float()
    out = pool(x * 2.0**k)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out * 2.0**-k, reference, rtol=1e-4, atol=1e-5)


def test_mpa_pooling_error_is_bounded_by_the_pade_formula():
    x = torch.randn(2, 6, 8, 8, dtype=torch.float64)
    out = mnn.CovariancePooling(method="mpa", output="matrix")(x).numpy()
    for n in range(2):
        A = _np_cov(x[n].reshape(6, -1).numpy())
        lam = np.linalg.eigvalsh(A)
        # The trace-normalised matrix is Frobenius-normalised again inside sqrtm: a_i = lam_i/||A||_F.
        bound = np.max(pade_relative_error(lam / np.linalg.norm(A), 5) * np.sqrt(lam))
        err = np.linalg.norm(out[n] - np.real(scipy.linalg.sqrtm(A)), 2)
        assert err <= bound * (1 + 1e-6) + 1e-12


def test_pooling_gradients_flow_and_gradcheck():
    x = torch.randn(2, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    pool = mnn.CovariancePooling(method="eigh", backward="eigh", eps=1e-3)
    assert torch.autograd.gradcheck(pool, (x,), atol=1e-7)


def test_channel_reduction():
    pool = mnn.CovariancePooling(8, reduced_channels=3, layout="maps", method="mpa")
    out = pool(torch.randn(4, 8, 5, 5))
    assert out.shape == (4, 6) and pool.output_dim == 6
    out.sum().backward()
    assert pool.reduce[0].weight.grad is not None and torch.isfinite(pool.reduce[0].weight.grad).all()
    tokens = mnn.CovariancePooling(8, reduced_channels=3, layout="tokens", method="ns", backward="autograd")
    assert tokens(torch.randn(2, 10, 8)).shape == (2, 6)


def test_pi_baseline_pooling():
    # principal standard deviations 2, 1, 0.5, 0.3: the power iteration converges like 4^-T
    x = torch.stack([_correlated(25, 4, seed=s, scale=[2.0, 1.0, 0.5, 0.3]).T.reshape(4, 5, 5) for s in range(2)])
    out = mnn.CovariancePooling(method="pi", iters=40, output="matrix", normalize="none")(x)
    for n in range(2):
        # PI (So-ViT): the dominant eigenvalue gets its square root, the others lambda / sqrt(lambda_max).
        lam, U = np.linalg.eigh(_np_cov(x[n].reshape(4, -1).numpy()))
        f = lam / np.sqrt(lam[-1])
        f[-1] = np.sqrt(lam[-1])
        np.testing.assert_allclose(out[n].numpy(), U @ np.diag(f) @ U.T, atol=1e-10)


def test_pooling_bad_input():
    pool = mnn.CovariancePooling(4)
    with pytest.raises(ValueError, match="expected 4 channels"):
        pool(torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\) or token sequences"):
        pool(torch.randn(2, 4))
    with pytest.raises(TypeError, match="floating-point"):
        pool(torch.zeros(2, 4, 3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="layout='maps'"):
        mnn.CovariancePooling(4, layout="maps")(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match="needs in_channels"):
        mnn.CovariancePooling(reduced_channels=2)
    with pytest.raises(ValueError, match="layout"):
        mnn.CovariancePooling(4, reduced_channels=2)
    with pytest.raises(ValueError, match="normalize"):
        mnn.CovariancePooling(normalize="l2")
    with pytest.raises(ValueError, match="NaN/Inf"):
        pool(torch.full((2, 4, 3, 3), float("inf")))


def test_triu_to_matrix_round_trip_and_error():
    M = torch.randn(2, 4, 4, dtype=torch.float64)
    M = M + M.transpose(-2, -1)
    i, j = torch.triu_indices(4, 4)
    assert torch.equal(mnn.triu_to_matrix(M[..., i, j], 4), M)
    with pytest.raises(ValueError, match="n \\(n \\+ 1\\) / 2"):
        mnn.triu_to_matrix(torch.zeros(9), 4)


def test_sovit_head_is_class_token_plus_pooled_tokens():
    torch.manual_seed(0)
    head = mnn.SoViTHead(4, 3, method="eigh", backward="eigh").double()
    tokens = torch.randn(2, 7, 4, dtype=torch.float64, requires_grad=True)
    y = head(tokens)
    assert y.shape == (2, 3)
    W1, b1 = head.cls_fc.weight.detach().numpy(), head.cls_fc.bias.detach().numpy()
    W2, b2 = head.cov_fc.weight.detach().numpy(), head.cov_fc.bias.detach().numpy()
    iu = np.triu_indices(4)
    for n in range(2):
        t = tokens[n].detach().numpy()
        S = np.real(scipy.linalg.sqrtm(t[1:].T @ t[1:] / 6))  # (X X^T / L)^{1/2}, Eq. (25)
        np.testing.assert_allclose(y[n].detach().numpy(), W1 @ t[0] + b1 + W2 @ S[iu] + b2, atol=1e-10)
    y.sum().backward()
    assert tokens.grad is not None and torch.isfinite(tokens.grad).all()
    assert mnn.SoViTHead(8, 5, reduced_dim=3)(torch.randn(2, 5, 8)).shape == (2, 5)
    with pytest.raises(ValueError, match="class token"):
        head(torch.randn(2, 1, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"\(N, 1 \+ L, 4\)"):
        head(torch.randn(2, 5, 3, dtype=torch.float64))


def test_layers_pickle_and_state_dict_round_trip():
    import pickle

    layer = mnn.ZCAWhitening(4, groups=2, method="mtp").double()
    x = _correlated(50, 4)
    layer(x)
    clone = pickle.loads(pickle.dumps(layer)).eval()
    torch.testing.assert_close(clone(x), layer.eval()(x), atol=0, rtol=0)
    fresh = mnn.ZCAWhitening(4, groups=2, method="mtp").double()
    fresh.load_state_dict(layer.state_dict())
    torch.testing.assert_close(fresh.eval()(x), layer(x), atol=0, rtol=0)
    pool = pickle.loads(pickle.dumps(mnn.CovariancePooling(method="pi")))
    assert pool(torch.randn(2, 3, 4, 4)).shape == (2, 6)
