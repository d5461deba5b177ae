r"""Whitening and colouring transform (WCT) and a network-free colour transfer built on it.

The WCT ([2]_; surveyed in [1]_ Sec. 2.2) maps content features to features with the mean and
covariance of style features: whiten the centred content with :math:`A_c^{-1/2}`, colour with
:math:`A_s^{1/2}`, add the style mean. Applied to the 3×3 covariance of the RGB values of two
images it transfers the colour distribution of one to the other, with no network at all.

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
.. [2] Y. Li, C. Fang, J. Yang, Z. Wang, X. Lu, M.-H. Yang, "Universal Style Transfer via Feature
   Transforms", NeurIPS 2017.
"""

from __future__ import annotations

import math
import numbers
from typing import Dict, Optional, Union

import numpy as np
import torch

from . import counting as ops
from ._kernels import check_real, compute_dtype, no_autocast, sym
from .nn import matrix_sqrt_function, spd_solve

__all__ = ["wct", "transfer_colour", "load_sample_images", "SAMPLE_IMAGES"]

#: The two photographs shipped with scikit-learn (``sklearn.datasets.load_sample_image``).
SAMPLE_IMAGES = ("china", "flower")

ArrayLike = Union[np.ndarray, torch.Tensor]


def _moments(X: torch.Tensor, eps: float):
    mean = X.mean(dim=-1, keepdim=True)
    Xc = X - mean
    A = ops.matmul(Xc, Xc.transpose(-2, -1)) / X.shape[-1]
    A = sym(A)
    if eps:
        A = A + eps * torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    return mean, Xc, A


def wct(
    content: torch.Tensor,
    style: torch.Tensor,
    alpha: float = 1.0,
    *,
    eps: float = 1e-5,
    method: str = "eigh",
    backward: str = "eigh",
    degree=None,
    iters: Optional[int] = None,
    backward_iters: Optional[int] = None,
    backward_tol: Optional[float] = None,
    backward_degree: Optional[int] = None,
) -> torch.Tensor:
    r"""Whitening and colouring transform of content features towards style features ([2]_).

    With :math:`\mu_c, \mu_s` the means over positions and
    :math:`A_\bullet = \frac1M (X_\bullet - \mu_\bullet)(X_\bullet - \mu_\bullet)^T + \epsilon I`,

    .. math:: X_w = A_c^{-1/2}(X_c - \mu_c), \qquad
              Y = A_s^{1/2} X_w + \mu_s, \qquad
              \text{output} = \alpha\,Y + (1 - \alpha)\,X_c.

    :math:`X_w` is obtained by a Cholesky solve :math:`A_c^{1/2} X_w = X_c - \mu_c` with the
    computed square root, as in the paper's whitening ([1]_ appendix A.2). The output has mean
    :math:`\mu_s` and covariance
    :math:`A_s^{1/2} A_c^{-1/2} (A_c - \epsilon I) A_c^{-1/2} A_s^{1/2} = A_s - \epsilon A_s^{1/2} A_c^{-1} A_s^{1/2}`
    (at :math:`\alpha = 1`, exact square roots): the style covariance up to :math:`O(\epsilon)`.

    Parameters
    ----------
    content : Tensor, shape ``(C, M)`` or ``(B, C, M)``
        Content features: ``C`` channels at ``M`` positions.
    style : Tensor, shape ``(C, M')`` or ``(B, C, M')``
        Style features, same channels (and batch), any number of positions ``M' >= 2``.
    alpha : float
        Blend between the content (0) and the transformed features (1); finite.
    eps : float
        Regulariser :math:`\epsilon \ge 0` of both covariances; finite.
    method, backward, degree, iters, backward_iters, backward_tol, backward_degree
        Square-root method, see :func:`mathsqrt.nn.matrix_sqrt_function`. The default is the exact
        eigendecomposition: small colour covariances are often ill-conditioned (the 3×3 RGB
        covariance of scikit-learn's ``china.jpg`` has :math:`\lambda_{\min}/\|A\|_F \approx 0.004`,
        where the [5/5] MPA overestimates the square root by 63%, see
        :func:`mathsqrt.coefficients.pade_relative_error`). ``method="mpa"`` etc. are the fast
        differentiable alternatives for large feature covariances.

    Returns
    -------
    Tensor, same shape, dtype and device as ``content`` (float16/bfloat16 computed in float32).

    Raises
    ------
    TypeError
        Non-tensor or non-floating-point input.
    ValueError
        Wrong number of dimensions, mismatched channels or batch, empty input, fewer than two
        positions, non-finite features or covariances (features too large for the dtype), a NaN or
        infinite ``alpha`` or ``eps``.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 2.2 and appendix A.2, Eq. (23)–(24).
    .. [2] Y. Li, C. Fang, J. Yang, Z. Wang, X. Lu, M.-H. Yang, "Universal Style Transfer via Feature
       Transforms", NeurIPS 2017.

    Examples
    --------
    >>> import torch
    >>> from mathsqrt.transfer import wct
    >>> content, style = torch.randn(3, 500, dtype=torch.float64), 2 * torch.randn(3, 400, dtype=torch.float64) + 1
    >>> out = wct(content, style, eps=0.0)
    >>> torch.allclose(torch.cov(out, correction=0), torch.cov(style, correction=0))
    True
    """
    for name, t in (("content", content), ("style", style)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"wct: {name} must be a torch.Tensor, got {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(f"wct: {name} must be floating point, got {t.dtype}")
        if t.dim() not in (2, 3):
            raise ValueError(f"wct: {name} must have shape (C, M) or (B, C, M), got {tuple(t.shape)}")
        if t.shape[-1] < 2:
            raise ValueError(f"wct: {name} needs at least two positions (last dimension), got {tuple(t.shape)}")
        if t.shape[-2] < 1:
            raise ValueError(f"wct: {name} has no channels: shape {tuple(t.shape)}")
        if t.numel() == 0:
            raise ValueError(f"wct: {name} is empty: shape {tuple(t.shape)}")
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"wct: {name} contains NaN/Inf")
    if content.dim() != style.dim() or content.shape[:-1] != style.shape[:-1]:
        raise ValueError(
            f"wct: content and style must agree in batch and channels, got {tuple(content.shape)} and {tuple(style.shape)}"
        )
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"wct: alpha must be a real number, got {type(alpha).__name__}")
    if not math.isfinite(alpha):
        raise ValueError(f"wct: alpha must be a finite number (0 = content, 1 = full transfer), got {alpha!r}")
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps >= 0:
        raise ValueError(f"wct: eps must be a non-negative number, got {eps!r}")
    eps = check_real("wct: eps", eps, nonnegative=True)
    sqrt = matrix_sqrt_function(
        method,
        backward,
        degree=degree,
        iters=iters,
        backward_iters=backward_iters,
        backward_tol=backward_tol,
        backward_degree=backward_degree,
    )
    dtype = compute_dtype(content.dtype)
    with no_autocast(content.device.type):  # float32 or wider, under torch.autocast too
        Xc = content.to(dtype)
        Xs = style.to(dtype=dtype, device=content.device)
        _, centred, A_c = _moments(Xc, eps)
        mu_s, _, A_s = _moments(Xs, eps)
        for name, A in (("content", A_c), ("style", A_s)):
            if not bool(torch.isfinite(A).all()):
                raise ValueError(
                    f"wct: the {name} covariance has NaN/Inf entries: the features are too large for {dtype} "
                    "(their squares overflow); rescale them or use float64"
                )
        whitened, _ = spd_solve(sqrt(A_c), centred, what="the content covariance square root")
        coloured = ops.matmul(sqrt(A_s), whitened) + mu_s
        out = coloured if alpha == 1 else alpha * coloured + (1 - alpha) * Xc
    return out.to(content.dtype)


#: Floating-point images may overshoot [0, 1] by this much (resampling ringing) before they are rejected.
_RANGE_SLACK = 0.5


def _as_float_image(image: ArrayLike, name: str) -> torch.Tensor:
    if isinstance(image, np.ndarray):
        if image.dtype == np.uint8:
            t = torch.from_numpy(image.astype(np.float64) / 255.0)
        elif np.issubdtype(image.dtype, np.floating):
            t = torch.from_numpy(np.asarray(image, dtype=np.float64))
        else:
            raise TypeError(f"transfer_colour: {name} must be uint8 (0-255) or float (0-1), got dtype {image.dtype}")
    elif isinstance(image, torch.Tensor):
        if image.dtype == torch.uint8:
            t = image.double() / 255.0
        elif image.is_floating_point():
            t = image
        else:
            raise TypeError(f"transfer_colour: {name} must be uint8 (0-255) or float (0-1), got dtype {image.dtype}")
    else:
        raise TypeError(f"transfer_colour: {name} must be a numpy array or a torch.Tensor, got {type(image).__name__}")
    if t.dim() != 3 or t.shape[-1] != 3:
        raise ValueError(f"transfer_colour: {name} must be an RGB image of shape (H, W, 3), got {tuple(t.shape)}")
    if t.shape[0] * t.shape[1] < 2:
        raise ValueError(f"transfer_colour: {name} needs at least two pixels, got {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"transfer_colour: {name} contains NaN/Inf values")
    low, high = float(t.min()), float(t.max())
    if low < -_RANGE_SLACK or high > 1 + _RANGE_SLACK:
        hint = ""
        if high > 1 + _RANGE_SLACK:
            hint = " (a float image on the 0-255 scale? divide it by 255, or pass it as uint8)"
        raise ValueError(
            f"transfer_colour: {name} is a floating-point image with values in [{low:.4g}, {high:.4g}]; "
            f"float images must lie in [0, 1]{hint}. The result is clipped to [0, 1], so an image on another "
            "scale would come back saturated"
        )
    return t


def transfer_colour(
    content_image: ArrayLike,
    style_image: ArrayLike,
    alpha: float = 1.0,
    *,
    eps: float = 1e-5,
    method: str = "eigh",
    **sqrt_options,
) -> ArrayLike:
    r"""Give ``content_image`` the colour distribution of ``style_image`` by a WCT on RGB values.

    Each image is a point cloud of ``H W`` colours in :math:`\mathbb{R}^3`; :func:`wct` maps the
    content cloud to one with the style's mean colour and 3×3 colour covariance ([2]_; [1]_ Sec. 2.2
    lists the WCT among the applications of the matrix square root). No network is involved.

    Parameters
    ----------
    content_image, style_image : array or Tensor, shape ``(H, W, 3)`` and ``(H', W', 3)``
        RGB images, ``uint8`` in 0–255 or floating point in 0–1. A float image with values outside
        :math:`[-0.5, 1.5]` (typically one on the 0–255 scale) is rejected with a ``ValueError``
        rather than silently clipped.
    alpha : float
        0 returns the content image, 1 the full transfer.
    eps : float
        Regulariser of the colour covariances (on the 0–1 scale).
    method : str
        Square-root method (default exact ``"eigh"``; see :func:`wct`). ``**sqrt_options`` go to
        :func:`wct` (``backward``, ``degree``, ``iters``, ...).

    Returns
    -------
    array or Tensor, shape ``(H, W, 3)``
        Floating point in ``[0, 1]`` (clipped), a numpy array for numpy content, else a tensor.

    Raises
    ------
    TypeError
        An image that is not a numpy array or tensor, or of an integer dtype other than ``uint8``.
    ValueError
        Not of shape ``(H, W, 3)``, fewer than two pixels, NaN/Inf values, or a float image outside
        :math:`[-0.5, 1.5]`; and whatever :func:`wct` rejects.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 2.2.
    .. [2] Y. Li, C. Fang, J. Yang, Z. Wang, X. Lu, M.-H. Yang, "Universal Style Transfer via Feature
       Transforms", NeurIPS 2017.
    """
    content = _as_float_image(content_image, "content_image")
    style = _as_float_image(style_image, "style_image")
    H, W, _ = content.shape
    out = wct(
        content.reshape(-1, 3).T, style.reshape(-1, 3).T.to(content), alpha, eps=eps, method=method, **sqrt_options
    )
    out = out.T.reshape(H, W, 3).clamp(0.0, 1.0)
    return out.numpy() if isinstance(content_image, np.ndarray) else out


def load_sample_images(max_side: int = 128) -> Dict[str, np.ndarray]:
    """scikit-learn's two sample photographs, downscaled, as float64 RGB arrays in ``[0, 1]``.

    Parameters
    ----------
    max_side : int
        Longest side after downscaling (by area averaging; the originals are 427×640). Nothing is
        downloaded: the images ship inside scikit-learn.

    Returns
    -------
    dict
        ``{"china": (h, w, 3) array, "flower": (h, w, 3) array}``.

    Notes
    -----
    The photographs are scikit-learn's ``sklearn.datasets.load_sample_images`` ([1]_).

    References
    ----------
    .. [1] F. Pedregosa et al., "Scikit-learn: Machine Learning in Python", JMLR 12, 2011;
       ``sklearn.datasets.load_sample_images`` (scikit-learn documentation).
    """
    if isinstance(max_side, bool) or not isinstance(max_side, numbers.Integral) or max_side < 2:
        raise ValueError(f"max_side must be an int >= 2, got {max_side!r}")
    from sklearn.datasets import load_sample_image

    images = {}
    for name in SAMPLE_IMAGES:
        img = torch.from_numpy(load_sample_image(f"{name}.jpg").astype(np.float64) / 255.0)
        H, W, _ = img.shape
        scale = min(1.0, max_side / max(H, W))
        size = (max(1, round(H * scale)), max(1, round(W * scale)))
        if size != (H, W):
            img = torch.nn.functional.interpolate(img.permute(2, 0, 1)[None], size=size, mode="area")[0].permute(
                1, 2, 0
            )
        images[name] = img.clamp(0.0, 1.0).numpy()
    return images
