"""WCT and colour transfer against scipy/numpy oracles."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from mathsqrt.transfer import SAMPLE_IMAGES, load_sample_images, transfer_colour, wct

pytestmark = pytest.mark.timeout(120)


def _features(c, m, *, seed, scale=1.0, shift=0.0):
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(c, c, dtype=torch.float64, generator=g) + 2 * torch.eye(c, dtype=torch.float64)
    return scale * (mix @ torch.randn(c, m, dtype=torch.float64, generator=g)) + shift


def _cov(X):
    Xc = X - X.mean(axis=-1, keepdims=True)
    return Xc @ Xc.T / X.shape[-1]


@pytest.mark.parametrize("eps", [0.0, 1e-2])
def test_wct_maps_content_to_style_mean_and_covariance(eps):
    content = _features(4, 300, seed=0)
    style = _features(4, 200, seed=1, scale=0.7, shift=2.0)
    out = wct(content, style, eps=eps).numpy()
    s = style.numpy()
    np.testing.assert_allclose(out.mean(axis=1), s.mean(axis=1), atol=1e-12)
    A_c = _cov(content.numpy()) + eps * np.eye(4)
    A_s = _cov(s) + eps * np.eye(4)
    S_s = np.real(scipy.linalg.sqrtm(A_s))
    # covariance A_s - eps A_s^{1/2} A_c^{-1} A_s^{1/2}: the style covariance when eps = 0
    expected = A_s - eps * S_s @ np.linalg.solve(A_c, S_s)
    np.testing.assert_allclose(_cov(out), expected, atol=1e-10)
    if eps == 0:
        np.testing.assert_allclose(_cov(out), _cov(s), atol=1e-10)


def test_wct_output_is_the_oracle_formula():
    content, style = _features(3, 50, seed=2), _features(3, 60, seed=3, shift=-1.0)
    eps = 1e-3
    c, s = content.numpy(), style.numpy()
    S_c = np.real(scipy.linalg.sqrtm(_cov(c) + eps * np.eye(3)))
    S_s = np.real(scipy.linalg.sqrtm(_cov(s) + eps * np.eye(3)))
    ref = S_s @ np.linalg.solve(S_c, c - c.mean(1, keepdims=True)) + s.mean(1, keepdims=True)
    for alpha in (1.0, 0.3, 0.0):
        out = wct(content, style, alpha, eps=eps).numpy()
        np.testing.assert_allclose(out, alpha * ref + (1 - alpha) * c, atol=1e-10)


def test_batched_wct_equals_per_sample():
    content = torch.stack([_features(3, 40, seed=s) for s in range(3)])
    style = torch.stack([_features(3, 30, seed=10 + s, shift=s) for s in range(3)])
    out = wct(content, style, 0.8)
    for b in range(3):
        torch.testing.assert_close(out[b], wct(content[b], style[b], 0.8), atol=1e-12, rtol=0)


def test_wct_with_mpa_follows_the_exact_pade_error():
    """The [K/K] MPA square root is U diag(sqrt(lambda) (1 + e(a))) U^T with e the exact relative error
    of ALGORITHMS §1 (a = lambda/||A||_F): building both square roots that way predicts the output."""
    from mathsqrt.coefficients import pade_relative_error

    content, style = _features(4, 400, seed=4), _features(4, 400, seed=5, shift=1.0)
    eps = 1e-3
    c, s = content.numpy(), style.numpy()

    def mpa_sqrt(A, K):
        lam, U = np.linalg.eigh(A)
        return U @ np.diag(np.sqrt(lam) * (1 + pade_relative_error(lam / np.linalg.norm(A), K))) @ U.T

    for K in (3, 5):
        S_c = mpa_sqrt(_cov(c) + eps * np.eye(4), K)
        S_s = mpa_sqrt(_cov(s) + eps * np.eye(4), K)
        ref = S_s @ np.linalg.solve(S_c, c - c.mean(1, keepdims=True)) + s.mean(1, keepdims=True)
        out = wct(content, style, eps=eps, method="mpa", backward="lyapunov", degree=K).numpy()
        np.testing.assert_allclose(out, ref, atol=1e-9)
        assert np.abs(out - wct(content, style, eps=eps).numpy()).max() > 1e-6  # the error is visible


def test_wct_gradcheck():
    content = _features(2, 6, seed=6).requires_grad_(True)
    style = _features(2, 5, seed=7).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda c, s: wct(c, s, 0.7, eps=1e-2), (content, style), atol=1e-7)


def test_wct_half_precision():
    content, style = _features(3, 100, seed=8).half(), _features(3, 100, seed=9).half()
    out = wct(content, style)
    assert out.dtype == torch.float16 and torch.isfinite(out).all()


def test_wct_bad_input():
    c = torch.randn(3, 10)
    with pytest.raises(ValueError, match="agree in batch and channels"):
        wct(c, torch.randn(4, 10))
    with pytest.raises(ValueError, match=r"\(C, M\) or \(B, C, M\)"):
        wct(torch.randn(10), torch.randn(10))
    with pytest.raises(ValueError, match="at least two positions"):
        wct(torch.randn(3, 1), torch.randn(3, 5))
    with pytest.raises(TypeError, match="floating point"):
        wct(torch.ones(3, 10, dtype=torch.long), c)
    with pytest.raises(TypeError, match="torch.Tensor"):
        wct(np.ones((3, 10)), c)
    with pytest.raises(ValueError, match="NaN/Inf"):
        wct(torch.full((3, 10), float("nan")), c)
    with pytest.raises(ValueError, match="eps"):
        wct(c, c, eps=-1.0)
    with pytest.raises(ValueError, match="unknown method"):
        wct(c, c, method="cholesky")


def _image(h, w, *, seed, centre, spread):
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(3, 3)) * spread + np.eye(3) * spread
    pixels = rng.normal(size=(h * w, 3)) @ mix.T + centre
    return pixels.reshape(h, w, 3)


def test_transfer_colour_moves_mean_and_covariance():
    content = _image(20, 30, seed=0, centre=[0.4, 0.5, 0.6], spread=0.03)
    style = _image(25, 20, seed=1, centre=[0.6, 0.4, 0.3], spread=0.04)
    assert content.min() > 0 and content.max() < 1
    out = transfer_colour(content, style, eps=0.0)
    assert isinstance(out, np.ndarray) and out.shape == content.shape
    assert 0 < out.min() and out.max() < 1  # nothing clipped: the moments are exact
    flat, ref = out.reshape(-1, 3).T, style.reshape(-1, 3).T
    np.testing.assert_allclose(flat.mean(1), ref.mean(1), atol=1e-12)
    np.testing.assert_allclose(_cov(flat), _cov(ref), atol=1e-12)
    np.testing.assert_allclose(transfer_colour(content, style, 0.0), content, atol=1e-12)


def test_transfer_colour_types_and_range():
    images = load_sample_images(max_side=32)
    china, flower = images["china"], images["flower"]
    as_uint8 = (china * 255).round().astype(np.uint8)
    out = transfer_colour(as_uint8, flower)
    assert out.shape == china.shape and out.dtype == np.float64 and 0 <= out.min() and out.max() <= 1
    out_t = transfer_colour(torch.from_numpy(china), torch.from_numpy(flower), 0.5, method="mpa")
    assert isinstance(out_t, torch.Tensor) and out_t.shape == china.shape
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        transfer_colour(china[..., 0], flower)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        transfer_colour(np.zeros((4, 4, 4)), flower)
    with pytest.raises(TypeError, match="uint8"):
        transfer_colour(np.zeros((4, 4, 3), dtype=np.int32), flower)
    with pytest.raises(TypeError, match="numpy array or a torch.Tensor"):
        transfer_colour([[0.0, 0.0, 0.0]], flower)


def test_load_sample_images():
    images = load_sample_images(max_side=64)
    assert set(images) == set(SAMPLE_IMAGES)
    for img in images.values():
        assert img.ndim == 3 and img.shape[2] == 3 and max(img.shape[:2]) == 64
        assert img.dtype == np.float64 and 0 <= img.min() and img.max() <= 1
    with pytest.raises(ValueError, match="max_side"):
        load_sample_images(max_side=1)


@pytest.mark.parametrize("method", ["eigh", "mpa"])
def test_wct_covariance_out_of_range_and_empty_batch(method):
    """Finite float32 features whose covariance overflows (~1e20 -> 1e40) must give a ValueError that
    says so, not torch's eigh convergence error or "not positive semi-definite"; an empty batch is
    reported by wct, not by sqrtm."""
    c, s = torch.randn(3, 50), torch.randn(3, 40)
    with pytest.raises(ValueError, match="covariance .*NaN/Inf"):
        wct(c * 1e20, s, method=method)
    with pytest.raises(ValueError, match="covariance .*NaN/Inf"):
        wct(c, s * 1e20, method=method)
    with pytest.raises(ValueError, match="wct: content is empty"):
        wct(torch.zeros(0, 3, 10), torch.zeros(0, 3, 10), method=method)
