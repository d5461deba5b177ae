r"""Widgets of notebook 07: global covariance pooling and the whitening-and-colouring transform.

**Covariance pooling** ([1]_ Sec. 4.3, appendix A.3; iSQRT-COV [2]_): a feature map with ``d``
channels at ``M`` positions is summarised by the square root of its ``d × d`` covariance,
:math:`\sqrt{s}\,(\Sigma/s)^{1/2}`, with a pre-normalisation scale :math:`s` (trace, Frobenius
norm or 1) and an optional post-compensation :math:`\sqrt s`. Without compensation, trace
pre-normalisation makes the pooled matrix have unit Frobenius norm,
:math:`\|(\Sigma/\mathrm{tr}\,\Sigma)^{1/2}\|_F^2 = \mathrm{tr}(\Sigma)/\mathrm{tr}(\Sigma) = 1`,
whatever the contrast of the image. The features here are those of a fixed random 3×3
convolution (+ ReLU) of the scikit-learn digits: no training, nothing downloaded.

**WCT colour transfer** ([3]_; :func:`mathsqrt.transfer.transfer_colour`): the pixels of an RGB image
are a cloud of points in :math:`\mathbb{R}^3`; whitening with the content's :math:`A_c^{-1/2}` and
colouring with the style's :math:`A_s^{1/2}` gives the content the style's mean colour and colour
covariance. The two photographs ship with scikit-learn.

Split as every widget module: ``compute_*`` (numbers), ``plot_*(ax, ...)`` and ``interactive_*``.

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
.. [2] P. Li, J. Xie, Q. Wang, Z. Gao, "Towards Faster Training of Global Covariance Pooling
   Networks by Iterative Matrix Square Root Normalization", CVPR 2018.
.. [3] Y. Li, C. Fang, J. Yang, Z. Wang, X. Lu, M.-H. Yang, "Universal Style Transfer via Feature
   Transforms", NeurIPS 2017.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Dict, Optional, Sequence

import numpy as np
import torch

from mathsqrt import methods
from mathsqrt.nn import CovariancePooling
from mathsqrt.transfer import SAMPLE_IMAGES, load_sample_images, wct

from ..bench.methods import configuration_of
from ..plotting import forward_style
from ._common import InteractivePlot, pick

__all__ = [
    "POOLING_METHODS",
    "COLOUR_METHODS",
    "NORMALIZATIONS",
    "compute_features",
    "compute_pooling",
    "compute_colour_transfer",
    "plot_digit",
    "plot_matrix",
    "plot_normalisation",
    "plot_colour_transfer",
    "plot_colour_clouds",
    "interactive_pooling",
    "interactive_colour_transfer",
]

#: Forward methods of the pooling widget: every forward of the table (``"pi"`` is So-ViT's
#: power-iteration baseline, a normalisation rather than a square root).
POOLING_METHODS = tuple(methods.FORWARDS)
#: Forward methods of the colour-transfer widget: those of the table that compute a square root.
COLOUR_METHODS = tuple(name for name, forward in methods.FORWARDS.items() if forward.root)
#: Pre-normalisations of :class:`mathsqrt.nn.CovariancePooling`.
NORMALIZATIONS = ("trace", "frobenius", "none")


@lru_cache(maxsize=4)
def _features(channels: int, n_images: int, seed: int):
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images[:n_images], dtype=torch.float64).unsqueeze(1) / 16.0
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(channels, 1, 3, 3, dtype=torch.float64, generator=g) / 3.0
    bias = 0.1 * torch.randn(channels, dtype=torch.float64, generator=g).abs()  # no channel is always zero
    with torch.no_grad():
        feats = torch.relu(torch.nn.functional.conv2d(x, weight, bias, padding=1))
    return x[:, 0].numpy(), feats


def compute_features(channels: int = 8, n_images: Optional[int] = None, *, seed: int = 0):
    """Digits and their random-convolution features (cached).

    Returns
    -------
    images : ndarray, shape ``(n_images, 8, 8)``
        The digits, in [0, 1].
    features : Tensor, shape ``(n_images, channels, 8, 8)``, float64
        ReLU of a fixed random 3×3 convolution (seeded).
    """
    n_images = pick(200, 60) if n_images is None else n_images
    return _features(int(channels), int(n_images), int(seed))


def _pool(method: str, normalize: str, compensate: bool, output: str = "matrix") -> CovariancePooling:
    backward = configuration_of(method).backward
    return CovariancePooling(
        method=method, backward=backward, normalize=normalize, compensate=compensate, output=output
    )


def compute_pooling(
    index: int = 0,
    method: str = "mpa",
    normalize: str = "trace",
    compensate: bool = True,
    *,
    channels: int = 8,
    n_images: Optional[int] = None,
) -> Dict[str, object]:
    r"""Pool one digit's features with ``method`` and compare with the exact square root.

    Returns
    -------
    dict
        ``image`` (8×8), ``cov`` (:math:`\Sigma`, ``d × d``), ``pooled`` (the pooled matrix by
        ``method``), ``exact`` (by ``eigh``, same normalisation), ``rel_error``
        (:math:`\|\cdot - \text{exact}\|_F / \|\text{exact}\|_F`), ``vector_length``
        (:math:`d(d+1)/2`), and over all images: ``traces`` (:math:`\mathrm{tr}\,\Sigma`) and
        ``norms`` — a dict normalisation → Frobenius norms of the pooled matrices.
    """
    if method not in POOLING_METHODS:
        raise ValueError(f"method must be one of {POOLING_METHODS}, got {method!r}")
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
    images, feats = compute_features(channels, n_images)
    if not 0 <= index < len(images):
        raise ValueError(f"index must lie in [0, {len(images) - 1}], got {index}")
    one = feats[index : index + 1]
    pool = _pool(method, normalize, compensate)
    pooled = pool(one)[0].numpy()
    exact = _pool("eigh", normalize, compensate)(one)[0].numpy()
    cov = pool.covariance(one)[0].numpy()
    traces = np.trace(pool.covariance(feats).numpy(), axis1=1, axis2=2)
    norms = {k: np.linalg.norm(_pool("eigh", k, compensate)(feats).numpy(), axis=(1, 2)) for k in NORMALIZATIONS}
    return {
        "index": index,
        "method": method,
        "normalize": normalize,
        "compensate": bool(compensate),
        "image": images[index],
        "cov": cov,
        "pooled": pooled,
        "exact": exact,
        "rel_error": float(np.linalg.norm(pooled - exact) / np.linalg.norm(exact)),
        "vector_length": channels * (channels + 1) // 2,
        "traces": traces,
        "norms": norms,
    }


@lru_cache(maxsize=4)
def _images(max_side: int):
    return load_sample_images(max_side=max_side)


def compute_colour_transfer(
    alpha: float = 1.0,
    method: str = "eigh",
    content: str = "china",
    *,
    max_side: Optional[int] = None,
    eps: float = 1e-5,
) -> Dict[str, object]:
    r"""WCT colour transfer between scikit-learn's two photographs.

    Parameters
    ----------
    alpha : float
        0: the content image; 1: the full transfer.
    method : {"eigh", "mpa", "mtp", "ns"}
    content : {"china", "flower"}
        The image that receives the colours of the other one.
    max_side : int, optional
        Size of the downscaled images (default 160, 64 in fast mode).

    Returns
    -------
    dict
        ``content``, ``style``, ``result`` (``(h, w, 3)`` in [0, 1], clipped), ``exact`` (the
        result with ``eigh``), ``max_difference`` (largest pixel difference to ``exact``),
        ``mean_*`` and ``cov_*`` (colour mean and covariance of ``content``, ``style`` and the
        unclipped ``result``), ``cov_error`` (relative Frobenius distance between the result's
        colour covariance and the style's: :math:`O(\epsilon)` for exact square roots at
        :math:`\alpha = 1`), ``clipped`` (fraction of channel values clipped to [0, 1]).
    """
    if method not in COLOUR_METHODS:
        raise ValueError(f"method must be one of {COLOUR_METHODS}, got {method!r}")
    if content not in SAMPLE_IMAGES:
        raise ValueError(f"content must be one of {SAMPLE_IMAGES}, got {content!r}")
    images = _images(pick(160, 64) if max_side is None else int(max_side))
    style = next(k for k in SAMPLE_IMAGES if k != content)
    c_img, s_img = images[content], images[style]
    C = torch.from_numpy(c_img.reshape(-1, 3).T.copy())
    S = torch.from_numpy(s_img.reshape(-1, 3).T.copy())
    backward = configuration_of(method).backward
    out = wct(C, S, alpha, eps=eps, method=method, backward=backward).numpy()
    exact = wct(C, S, alpha, eps=eps, method="eigh", backward="eigh").numpy()
    shape = c_img.shape

    def moments(X):
        return X.mean(axis=1), np.cov(X, bias=True)

    mean_c, cov_c = moments(C.numpy())
    mean_s, cov_s = moments(S.numpy())
    mean_r, cov_r = moments(out)
    result = np.clip(out.T.reshape(shape), 0.0, 1.0)
    return {
        "alpha": float(alpha),
        "method": method,
        "content_name": content,
        "style_name": style,
        "content": c_img,
        "style": s_img,
        "result": result,
        "exact": np.clip(exact.T.reshape(shape), 0.0, 1.0),
        "max_difference": float(np.abs(out - exact).max()),
        "mean_content": mean_c,
        "mean_style": mean_s,
        "mean_result": mean_r,
        "cov_content": cov_c,
        "cov_style": cov_s,
        "cov_result": cov_r,
        "cov_error": float(np.linalg.norm(cov_r - cov_s) / np.linalg.norm(cov_s)),
        "clipped": float(np.mean((out < 0) | (out > 1))),
    }


# ------------------------------------------------------------------------------------------------
# plots
# ------------------------------------------------------------------------------------------------


def _bare(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def plot_digit(ax, image: np.ndarray, *, title: str = "") -> None:
    """An 8×8 digit in grey."""
    ax.imshow(image, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title)
    _bare(ax)


def plot_matrix(ax, M: np.ndarray, *, title: str = "", vmax: Optional[float] = None, cmap: str = "RdBu_r") -> None:
    """A symmetric matrix as an image (diverging colours, centred on zero)."""
    v = float(np.abs(M).max()) if vmax is None else vmax
    v = v or 1.0
    ax.imshow(M, cmap=cmap, vmin=-v if cmap == "RdBu_r" else 0, vmax=v, interpolation="nearest")
    ax.set_title(title)
    _bare(ax)


_NORM_COLORS = {"trace": "#0072B2", "frobenius": "#D55E00", "none": "#999999"}


def plot_normalisation(ax, result: Dict[str, object]) -> None:
    r"""Frobenius norm of the pooled matrix against :math:`\mathrm{tr}\,\Sigma`, one dot per image."""
    traces = result["traces"]
    for name, norms in result["norms"].items():
        selected = name == result["normalize"]
        ax.loglog(
            traces,
            norms,
            "o",
            ms=4 if selected else 2.5,
            alpha=0.9 if selected else 0.35,
            color=_NORM_COLORS[name],
            label=name + (" (selected)" if selected else ""),
        )
    ax.set_xlabel(r"feature energy $\mathrm{tr}\,\Sigma$")
    ax.set_ylabel(r"$\|$pooled matrix$\|_F$")
    ax.set_title(
        "compensated: all equal $\\Sigma^{1/2}$" if result["compensate"] else "no compensation: scale depends on $s$"
    )
    ax.legend(loc="center left", title="pre-normalisation", title_fontsize=8)


def plot_colour_transfer(axes: Sequence, result: Dict[str, object]) -> None:
    """Three axes: content, style, result."""
    if len(axes) != 3:
        raise ValueError(f"plot_colour_transfer needs 3 axes, got {len(axes)}")
    titles = [
        f"content: {result['content_name']}",
        f"style: {result['style_name']}",
        f"α = {result['alpha']:.2f}, {result['method']} (max diff. to eigh {result['max_difference']:.1e})",
    ]
    for ax, key, title in zip(axes, ("content", "style", "result"), titles):
        ax.imshow(result[key], interpolation="nearest")
        ax.set_title(title, fontsize=9)
        _bare(ax)


def plot_colour_clouds(ax, result: Dict[str, object], *, count: int = 600, seed: int = 0) -> None:
    """Red against blue of a random subset of pixels: content, style and (unclipped moments of) result."""
    rng = np.random.default_rng(seed)
    for key, color in (
        ("content", "#999999"),
        ("style", "#E69F00"),
        ("result", forward_style(result["method"])["color"]),
    ):
        px = result[key].reshape(-1, 3)
        pick_ = rng.choice(len(px), size=min(count, len(px)), replace=False)
        ax.plot(px[pick_, 0], px[pick_, 2], ".", ms=2, alpha=0.5, color=color, label=key)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("red")
    ax.set_ylabel("blue")
    ax.set_title(f"colour covariance error vs style: {result['cov_error']:.1e}", fontsize=9)
    ax.legend(loc="upper right", markerscale=4)


# ------------------------------------------------------------------------------------------------
# widgets
# ------------------------------------------------------------------------------------------------


def interactive_pooling(
    *, index: int = 0, method: str = "mpa", normalize: str = "trace", compensate: bool = True
) -> InteractivePlot:
    """Digit index, method, pre-normalisation and post-compensation of covariance pooling.

    ``plot.data`` holds ``pooled``, ``exact``, ``rel_error``, ``norms``, ``traces`` and the settings.
    """
    import ipywidgets as widgets

    n_images = pick(200, 60)
    style = {"description_width": "120px"}
    controls = {
        "index": widgets.IntSlider(
            value=index, min=0, max=n_images - 1, description="digit", continuous_update=False, style=style
        ),
        "method": widgets.Dropdown(options=list(POOLING_METHODS), value=method, description="method", style=style),
        "normalize": widgets.Dropdown(
            options=list(NORMALIZATIONS), value=normalize, description="pre-normalisation", style=style
        ),
        "compensate": widgets.Checkbox(value=compensate, description="post-compensation √s", style=style),
    }

    def draw(fig, index, method, normalize, compensate):
        result = compute_pooling(index, method, normalize, compensate, n_images=n_images)
        ax0, ax1, ax2, ax3 = fig.subplots(1, 4, gridspec_kw={"width_ratios": [0.6, 1, 1, 1.4]})
        plot_digit(ax0, result["image"], title=f"digit #{index}")
        plot_matrix(ax1, result["cov"], title=r"covariance $\Sigma$ (8 channels)")
        plot_matrix(ax2, result["pooled"], title=f"pooled by {method}: error {result['rel_error']:.1e}")
        plot_normalisation(ax3, result)
        keys = ("pooled", "exact", "rel_error", "norms", "traces", "method", "normalize", "compensate", "index")
        return {k: result[k] for k in keys}

    return InteractivePlot(
        controls, draw, figsize=(13.0, 3.6), title="global covariance pooling of random convolution features"
    )


def interactive_colour_transfer(*, alpha: float = 1.0, method: str = "eigh", content: str = "china") -> InteractivePlot:
    """α slider, method and direction of the WCT colour transfer.

    ``plot.data`` holds ``result``, ``max_difference``, ``cov_error``, ``mean_result``,
    ``mean_style``, ``alpha`` and ``method``.
    """
    import ipywidgets as widgets

    style = {"description_width": "80px"}
    controls = {
        "alpha": widgets.FloatSlider(
            value=alpha, min=0.0, max=1.0, step=0.05, description="α", continuous_update=False, style=style
        ),
        "method": widgets.Dropdown(options=list(COLOUR_METHODS), value=method, description="method", style=style),
        "content": widgets.Dropdown(options=list(SAMPLE_IMAGES), value=content, description="content", style=style),
    }

    def draw(fig, alpha, method, content):
        result = compute_colour_transfer(alpha, method, content)
        axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [1, 1, 1, 0.8]})
        plot_colour_transfer(axes[:3], result)
        plot_colour_clouds(axes[3], result)
        keys = ("result", "max_difference", "cov_error", "mean_result", "mean_style", "alpha", "method")
        return {k: result[k] for k in keys}

    return InteractivePlot(controls, draw, figsize=(13.0, 3.4), title="WCT colour transfer (no network)")
