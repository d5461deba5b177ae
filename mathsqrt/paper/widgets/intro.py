r"""Widgets of notebook 01: matrix powers as spectral normalisation and whitening of 2-D data.

A cloud of points :math:`X \in \mathbb{R}^{2 \times n}` with covariance :math:`A = X X^T / n` is
mapped by a matrix power, :math:`Y = A^{p} X`. Because :math:`A^p` and :math:`A` commute,

.. math:: \operatorname{cov}(Y) = A^{p} A A^{p} = A^{2p + 1},

so the eigenvectors stay and each variance :math:`\lambda_i` becomes :math:`\lambda_i^{2p+1}`:

- ``p = -1/2`` (:func:`mathsqrt.invsqrtm`) whitens: :math:`\operatorname{cov}(Y) = I`;
- ``p = -1/4`` gives data whose covariance is :math:`A^{1/2}`, the *square-root normalised*
  covariance of covariance pooling (large variances shrink, small ones grow: the condition number
  goes from :math:`\kappa` to :math:`\sqrt\kappa`);
- ``p = 0`` leaves the data alone, ``p = 1/2`` (:func:`mathsqrt.sqrtm`) colours it further
  (:math:`\operatorname{cov}(Y) = A^2`).

This is the picture of Song, Sebe & Wang (ICLR 2022) [1]_, Sec. 1 and Fig. 1(a). The functions are
split as in every widget module: ``compute_*`` (pure numbers), ``plot_*(ax, ...)`` (draw on given
axes, deterministic) and :func:`interactive_whitening` (sliders).

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Sequence

import numpy as np

from mathsqrt import methods

from ..plotting import forward_style
from ._common import InteractivePlot, pick

__all__ = [
    "METHODS",
    "compute_covariance",
    "compute_samples",
    "matrix_power",
    "compute_transform",
    "plot_cloud",
    "plot_transform",
    "plot_spectrum",
    "plot_figure_1a",
    "interactive_whitening",
]

#: Forward methods of the widget: those of the method table that compute a square root.
METHODS = tuple(name for name, forward in methods.FORWARDS.items() if forward.root)

#: Powers computed with the package itself rather than with an eigendecomposition.
PACKAGE_POWERS = (0.5, -0.5, 0.25, -0.25)

_ORIGINAL_COLOR = "#999999"
_TRANSFORMED_COLOR = "#0072B2"


def compute_covariance(anisotropy: float, angle: float) -> np.ndarray:
    r"""A 2×2 covariance of given anisotropy and orientation, with determinant 1.

    .. math:: A = R_\theta\, \mathrm{diag}(\sqrt\kappa, 1/\sqrt\kappa)\, R_\theta^T

    Parameters
    ----------
    anisotropy : float
        Ratio :math:`\kappa = \lambda_1/\lambda_2 \ge 1` of the two variances (the condition number).
    angle : float
        Direction :math:`\theta` of the first principal axis, in degrees.

    Returns
    -------
    ndarray, shape ``(2, 2)``, float64
        Symmetric positive definite.
    """
    if not anisotropy >= 1:
        raise ValueError(f"anisotropy must be >= 1, got {anisotropy}")
    t = math.radians(angle)
    R = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    s = math.sqrt(anisotropy)
    A = (R * np.array([s, 1.0 / s])) @ R.T
    return 0.5 * (A + A.T)


def _eig_power(A: np.ndarray, p: float) -> np.ndarray:
    lam, U = np.linalg.eigh(A)
    return (U * lam**p) @ U.T


def compute_samples(A: np.ndarray, n: int = 400, *, seed: int = 0) -> np.ndarray:
    r"""``n`` points in the plane whose sample covariance is *exactly* ``A``.

    Gaussian draws are centred and whitened against their own sample covariance, then coloured by
    :math:`A^{1/2}`, so that :math:`X \mathbf 1 = 0` and :math:`X X^T / n = A` to rounding: the
    covariances predicted below are then met exactly, not only in expectation.

    Parameters
    ----------
    A : ndarray, shape ``(2, 2)``
        SPD covariance.
    n : int
        Number of points, ``n >= 3``.
    seed : int
        Seed of the Gaussian draws.

    Returns
    -------
    ndarray, shape ``(2, n)``, float64
    """
    if n < 3:
        raise ValueError(f"n must be at least 3, got {n}")
    G = np.random.default_rng(seed).standard_normal((2, n))
    G -= G.mean(axis=1, keepdims=True)
    G = _eig_power(G @ G.T / n, -0.5) @ G
    return _eig_power(np.asarray(A, dtype=float), 0.5) @ G


def matrix_power(A: np.ndarray, p: float, *, method: str = "eigh") -> np.ndarray:
    r"""The matrix power :math:`A^p` of an SPD matrix, :math:`p \in [-1, 1]`.

    For :math:`p = \pm 1/2` the package computes it (:func:`mathsqrt.sqrtm` / :func:`mathsqrt.invsqrtm`
    with the given ``method``); :math:`p = \pm 1/4` composes them
    (:math:`A^{1/4} = (A^{1/2})^{1/2}`, :math:`A^{-1/4} = (A^{1/2})^{-1/2}`). Any other power needs
    the eigendecomposition :math:`A = U \Lambda U^T`, :math:`A^p = U \Lambda^p U^T`: the
    polynomial and rational methods of the paper are built for the exponent :math:`1/2` only.

    Parameters
    ----------
    A : ndarray, shape ``(n, n)``
        Symmetric positive definite.
    p : float
        Exponent in ``[-1, 1]``.
    method : str
        One of :data:`METHODS` (a forward method of the table that computes a square root), used
        for the powers :math:`\pm 1/2, \pm 1/4`.

    Returns
    -------
    ndarray, shape ``(n, n)``, float64
    """
    if not -1 <= p <= 1:
        raise ValueError(f"p must lie in [-1, 1], got {p}")
    A = np.asarray(A, dtype=float)
    key = _package_power(p)
    if key is None:
        return _eig_power(A, p)
    import torch

    import mathsqrt

    T = torch.from_numpy(np.ascontiguousarray(A))
    if key in (0.5, -0.5):
        out = (mathsqrt.sqrtm if key > 0 else mathsqrt.invsqrtm)(T, method=method)
    else:
        S = mathsqrt.sqrtm(T, method=method)
        S = 0.5 * (S + S.mT)
        out = (mathsqrt.sqrtm if key > 0 else mathsqrt.invsqrtm)(S, method=method)
    return out.numpy()


def _package_power(p: float) -> Optional[float]:
    for q in PACKAGE_POWERS:
        if abs(p - q) < 1e-9:
            return q
    return None


def compute_transform(
    anisotropy: float,
    angle: float,
    p: float,
    *,
    method: str = "eigh",
    n: int = 400,
    seed: int = 0,
) -> Dict[str, object]:
    r"""Map a cloud of covariance ``A`` by :math:`A^p` and compare its covariance with :math:`A^{2p+1}`.

    Parameters
    ----------
    anisotropy, angle
        Of the covariance ``A`` (:func:`compute_covariance`).
    p : float
        Exponent in ``[-1, 1]`` (:func:`matrix_power`).
    method : str
        Method for :math:`p = \pm 1/2, \pm 1/4`.
    n, seed
        Of the point cloud (:func:`compute_samples`).

    Returns
    -------
    dict
        ``A`` (2, 2); ``X`` and ``Y`` (2, n); ``M`` = :math:`A^p` as computed; ``cov_measured`` =
        :math:`Y Y^T / n`; ``cov_predicted`` = :math:`A^{2p+1}` (eigendecomposition);
        ``rel_error`` = :math:`\|\mathrm{measured} - \mathrm{predicted}\|_F / \|\mathrm{predicted}\|_F`;
        ``eig_A``, ``eig_measured``, ``eig_predicted`` (ascending); ``p``; ``computed_by``
        (``method`` or ``"eigh power"``).
    """
    A = compute_covariance(anisotropy, angle)
    X = compute_samples(A, n, seed=seed)
    M = matrix_power(A, p, method=method)
    Y = M @ X
    measured = Y @ Y.T / n
    predicted = _eig_power(A, 2 * p + 1)
    lam_A = np.linalg.eigvalsh(A)
    return {
        "A": A,
        "X": X,
        "Y": Y,
        "M": M,
        "cov_measured": measured,
        "cov_predicted": predicted,
        "rel_error": float(np.linalg.norm(measured - predicted) / np.linalg.norm(predicted)),
        "eig_A": lam_A,
        "eig_measured": np.linalg.eigvalsh(0.5 * (measured + measured.T)),
        "eig_predicted": lam_A ** (2 * p + 1),
        "p": float(p),
        "computed_by": method if _package_power(p) is not None else "eigh power",
    }


def plot_cloud(
    ax,
    X: np.ndarray,
    *,
    color: str = _TRANSFORMED_COLOR,
    label: Optional[str] = None,
    alpha: float = 0.35,
    cov: Optional[np.ndarray] = None,
    nsigma: float = 2.0,
    directions: Optional[np.ndarray] = None,
) -> None:
    r"""Scatter a 2-D cloud with its ``nsigma`` covariance ellipse and principal axes.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    X : ndarray, shape ``(2, n)``
    color, label, alpha
        Of the points; the ellipse and the axes use the same colour.
    cov : ndarray, shape ``(2, 2)``, optional
        Covariance to draw (default: the sample covariance :math:`X X^T / n`). The ellipse is
        :math:`\{x : x^T C^{-1} x = \mathrm{nsigma}^2\}`; the arrows are :math:`\sqrt{\lambda_i}\,u_i`.
    nsigma : float
        Size of the ellipse in standard deviations.
    directions : ndarray, shape ``(2, 2)``, optional
        Unit vectors (columns) along which to draw the arrows instead of the eigenvectors of ``C``;
        each arrow has the standard deviation :math:`\sqrt{u^T C u}` of the cloud along it as length.
        Passing the eigenvectors of the original covariance shows where its principal axes went
        (they stay principal axes of :math:`A^p X`).
    """
    from matplotlib.patches import Ellipse

    X = np.asarray(X, dtype=float)
    C = X @ X.T / X.shape[1] if cov is None else np.asarray(cov, dtype=float)
    lam, U = np.linalg.eigh(0.5 * (C + C.T))
    lam = np.clip(lam, 0.0, None)
    ax.scatter(X[0], X[1], s=6, color=color, alpha=alpha, linewidths=0, label=label)
    angle = math.degrees(math.atan2(U[1, 1], U[0, 1]))
    ax.add_patch(
        Ellipse(
            (0.0, 0.0),
            2 * nsigma * math.sqrt(lam[1]),
            2 * nsigma * math.sqrt(lam[0]),
            angle=angle,
            fill=False,
            color=color,
            lw=1.6,
        )
    )
    D = U if directions is None else np.asarray(directions, dtype=float)
    for i in range(2):
        u = D[:, i] if (D[0, i], D[1, i]) >= (0.0, 0.0) else -D[:, i]  # a fixed sign: deterministic arrows
        v = math.sqrt(max(float(u @ C @ u), 0.0)) * u
        ax.annotate("", xy=(v[0], v[1]), xytext=(0.0, 0.0), arrowprops=dict(arrowstyle="->", color=color, lw=1.8))


def _limit(*clouds: np.ndarray, nsigma: float = 2.0) -> float:
    lim = 0.0
    for X in clouds:
        C = X @ X.T / X.shape[1]
        lim = max(lim, nsigma * 1.15 * math.sqrt(max(np.linalg.eigvalsh(C)[-1], 1e-12)))
    return lim


def plot_transform(ax, result: Dict[str, object], *, show_original: bool = True) -> None:
    """Draw the original cloud (grey) and :math:`Y = A^p X` (blue) of :func:`compute_transform`.

    Equal aspect, symmetric limits that contain both 2-sigma ellipses; the arrows follow the
    principal axes of :math:`A`, scaled by each cloud's standard deviation along them.
    """
    X, Y, p = result["X"], result["Y"], result["p"]
    clouds = (X, Y) if show_original else (Y,)
    lim = _limit(*clouds)
    U = np.linalg.eigh(result["A"])[1]
    if show_original:
        plot_cloud(ax, X, color=_ORIGINAL_COLOR, label=r"$X$, cov $A$", alpha=0.25, directions=U)
    plot_cloud(ax, Y, color=_TRANSFORMED_COLOR, label=rf"$Y = A^{{{p:g}}} X$, cov $A^{{{2 * p + 1:g}}}$", directions=U)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.legend(loc="upper left", markerscale=2)
    ax.set_title(rf"$p = {p:g}$ (computed by {result['computed_by']})")


def plot_spectrum(ax, result: Dict[str, object]) -> None:
    r"""The spectral map :math:`\lambda \mapsto \lambda^{2p+1}` (line) and the measured variances (dots).

    The grey dots are the eigenvalues of :math:`A`, the blue crosses those of the measured
    :math:`\operatorname{cov}(Y)` placed above the eigenvalue of :math:`A` they come from; on the
    line when :math:`A^p` is exact.
    """
    p = result["p"]
    lam = result["eig_A"]
    grid = np.logspace(-1.5, 1.5, 200)
    ax.loglog(grid, grid, color=_ORIGINAL_COLOR, lw=1.0, ls=":", label=r"identity ($p = 0$)")
    ax.loglog(
        grid, grid ** (2 * p + 1), color=_TRANSFORMED_COLOR, label=rf"$\lambda^{{2p+1}} = \lambda^{{{2 * p + 1:g}}}$"
    )
    ax.loglog(lam, lam, "o", color=_ORIGINAL_COLOR, label=r"eigenvalues of $A$")
    ax.loglog(
        lam,
        np.clip(result["eig_measured"], 1e-300, None),
        "x",
        color=_TRANSFORMED_COLOR,
        ms=8,
        mew=2,
        label=r"measured eig. of cov$(Y)$",
    )
    ax.set_xlabel(r"variance $\lambda$ of $X$")
    ax.set_ylabel(r"variance of $Y$")
    ax.set_title(rf"relative error of cov$(Y)$: {result['rel_error']:.1e}")
    ax.legend(loc="upper left")


def plot_figure_1a(
    axes: Sequence,
    *,
    anisotropy: float = 8.0,
    angle: float = 30.0,
    n: int = 400,
    seed: int = 0,
    method: str = "mpa",
) -> Dict[str, float]:
    r"""The paper's Fig. 1(a) on three axes: original, square-root normalised, whitened.

    Panels: :math:`X` (covariance :math:`A`); :math:`A^{-1/4}X` (covariance :math:`A^{1/2}`:
    spectral normalisation, computed as ``invsqrtm(sqrtm(A))``); :math:`A^{-1/2}X` (covariance
    :math:`I`: whitening, ``invsqrtm(A)``).

    Returns
    -------
    dict
        The relative covariance error of each transformed panel (``"sqrt"``, ``"whiten"``).
    """
    if len(axes) != 3:
        raise ValueError(f"plot_figure_1a needs 3 axes, got {len(axes)}")
    base = compute_transform(anisotropy, angle, 0.0, n=n, seed=seed)
    half = compute_transform(anisotropy, angle, -0.25, method=method, n=n, seed=seed)
    white = compute_transform(anisotropy, angle, -0.5, method=method, n=n, seed=seed)
    lim = _limit(base["X"], half["Y"], white["Y"])
    panels = [
        (base["X"], _ORIGINAL_COLOR, r"data $X$: covariance $A$"),
        (half["Y"], forward_style("mpa")["color"], r"$A^{-1/4}X$: covariance $A^{1/2}$"),
        (white["Y"], forward_style("ns")["color"], r"$A^{-1/2}X$: covariance $I$ (whitened)"),
    ]
    U = np.linalg.eigh(base["A"])[1]
    for ax, (Y, color, title) in zip(axes, panels):
        plot_cloud(ax, Y, color=color, directions=U)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title(title)
    return {"sqrt": half["rel_error"], "whiten": white["rel_error"]}


def interactive_whitening(
    *, anisotropy: float = 5.0, angle: float = 30.0, p: float = -0.5, method: str = "mpa", n: Optional[int] = None
) -> InteractivePlot:
    """Sliders: anisotropy, rotation, power ``p``; a dropdown for the method used at ``p = ±1/2, ±1/4``.

    Left: the cloud before and after :math:`Y = A^p X`; right: the spectral map. ``plot.data`` holds
    ``cov_measured``, ``cov_predicted``, ``rel_error``, ``eig_measured``, ``eig_predicted`` and ``p``.
    """
    import ipywidgets as widgets

    n = pick(500, 200) if n is None else n
    style = {"description_width": "110px"}
    controls = {
        "anisotropy": widgets.FloatLogSlider(
            value=anisotropy,
            base=10,
            min=0,
            max=2,
            step=0.05,
            description="anisotropy κ",
            continuous_update=False,
            style=style,
        ),
        "angle": widgets.FloatSlider(
            value=angle, min=0, max=180, step=5, description="rotation (°)", continuous_update=False, style=style
        ),
        "p": widgets.FloatSlider(
            value=p, min=-1, max=1, step=0.05, description="power p", continuous_update=False, style=style
        ),
        "method": widgets.Dropdown(options=list(METHODS), value=method, description="method (p=±½,±¼)", style=style),
    }

    def draw(fig, anisotropy, angle, p, method):
        result = compute_transform(anisotropy, angle, p, method=method, n=n)
        ax1, ax2 = fig.subplots(1, 2)
        plot_transform(ax1, result)
        plot_spectrum(ax2, result)
        keys = ("cov_measured", "cov_predicted", "rel_error", "eig_measured", "eig_predicted", "p", "computed_by")
        return {k: result[k] for k in keys}

    return InteractivePlot(
        controls, draw, figsize=(10.0, 4.6), title="Y = A^p X: whitening (p = -1/2) and spectral normalisation"
    )
