r"""Widgets of notebook 06: ZCA whitening of image data and decorrelated batch normalisation.

The 1797 handwritten digits of scikit-learn are vectors :math:`x \in \mathbb{R}^{64}` (8×8 pixels).
With :math:`C = \frac1m (X - \mu)(X - \mu)^T` and :math:`A = C + \epsilon I`, ZCA whitening is

.. math:: X_w = A^{-1/2}(X - \mu), \qquad \operatorname{cov}(X_w) = A^{-1/2} C A^{-1/2},

computed as in the paper by solving :math:`A^{1/2} X_w = X - \mu` ([1]_ appendix A.2). Along the
principal axis :math:`u_i` of :math:`C` (variance :math:`\lambda_i`) the whitened variance is
:math:`\lambda_i/(\lambda_i + \epsilon)` exactly; an approximate square root that overestimates
:math:`\sqrt{\lambda_i + \epsilon}` by a factor :math:`1 + e_i` gives
:math:`\lambda_i / ((\lambda_i + \epsilon)(1 + e_i)^2)` — for the MPA, :math:`e_i` is the exact Padé
error of :func:`mathsqrt.coefficients.pade_relative_error`. The rows of :math:`A^{-1/2}` are the
"ZCA filters": each is a centre–surround detector around its own pixel.

The second half trains the small network of :mod:`mathsqrt.paper.studies.whitening` (a ZCA whitening
layer after the first convolution, [1]_ Sec. 4.2) with several square-root methods.

Split as every widget module: ``compute_*`` (numbers), ``plot_*(ax, ...)`` and ``interactive_*``.

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
.. [2] L. Huang, D. Yang, B. Lang, J. Deng, "Decorrelated Batch Normalization", CVPR 2018.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from mathsqrt import methods as method_table
from mathsqrt.api import sqrtm

from ..bench.methods import configurations
from ..plotting import configuration_label, configuration_style, forward_style
from ._common import InteractivePlot, pick

__all__ = [
    "METHODS",
    "TRAINING_METHODS",
    "load_digit_pixels",
    "compute_whitening",
    "compute_training",
    "plot_covariance",
    "plot_axis_variances",
    "plot_montage",
    "plot_training",
    "training_table",
    "interactive_whitening",
]

#: Forward methods offered by the widget: those of the method table that compute a square root.
METHODS = tuple(name for name, forward in method_table.FORWARDS.items() if forward.root)
#: Configurations compared in the short training run: every one but the paper's baselines
#: (:func:`mathsqrt.paper.bench.methods.configurations`), by name.
TRAINING_METHODS = tuple(m.name for m in configurations(baselines=False))


@lru_cache(maxsize=4)
def _digits(n: Optional[int]):
    from sklearn.datasets import load_digits

    d = load_digits()
    X = d.data.astype(np.float64) / 16.0
    y = d.target
    if n is not None:
        X, y = X[:n], y[:n]
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def load_digit_pixels(n: Optional[int] = None):
    """The digits as rows of 64 pixel values in [0, 1] and their labels (cached, read-only).

    Returns
    -------
    X : ndarray, shape ``(n, 64)``
    y : ndarray, shape ``(n,)``
    """
    return _digits(n)


@lru_cache(maxsize=4)
def _moments(n: Optional[int]):
    X, _ = _digits(n)
    mu = X.mean(axis=0)
    Xc = (X - mu).T  # (64, m)
    C = Xc @ Xc.T / Xc.shape[1]
    C = 0.5 * (C + C.T)
    lam, U = np.linalg.eigh(C)
    for a in (mu, Xc, C, lam, U):
        a.setflags(write=False)
    return mu, Xc, C, np.clip(lam, 0.0, None), U


def compute_whitening(eps: float, method: str = "mpa", *, n: Optional[int] = None) -> Dict[str, np.ndarray]:
    r"""ZCA-whiten the digits with ``mathsqrt`` and measure the result.

    Parameters
    ----------
    eps : float
        :math:`\epsilon > 0` added to the covariance (the border pixels of the digits are always
        zero, so :math:`C` is singular and :math:`\epsilon` is needed).
    method : str
        Forward method of :func:`mathsqrt.sqrtm` for :math:`A^{1/2}`, one of :data:`METHODS`.
    n : int, optional
        Use the first ``n`` digits (default all 1797).

    Returns
    -------
    dict
        ``cov_before`` (64×64 :math:`C`), ``cov_after`` (covariance of :math:`X_w`), ``whitened``
        (``(64, m)``), ``centred`` (``(64, m)``), ``filters`` (the 64×64 matrix :math:`A^{-1/2}`
        used, rows = filters), ``lam`` (eigenvalues of :math:`C`, ascending), ``var_measured``
        (:math:`u_i^T \operatorname{cov}(X_w) u_i`), ``var_exact`` (:math:`\lambda_i/(\lambda_i+\epsilon)`),
        ``identity_error`` (:math:`\max_i |\mathrm{var}_i - \mathrm{var}^{exact}_i|`),
        ``relative_error`` (of :math:`X_w` against exact whitening), ``a_min``
        (:math:`(\lambda_{\min}+\epsilon)/\|A\|_F`).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    from mathsqrt.nn import spd_solve

    _, Xc, C, lam, U = _moments(n)
    A = C + eps * np.eye(64)
    At = torch.from_numpy(A)
    S = sqrtm(At, method=method)
    Xw, L = spd_solve(S, torch.from_numpy(np.ascontiguousarray(Xc)))
    Xw = Xw.numpy()
    R = torch.cholesky_solve(torch.eye(64, dtype=torch.float64), L).numpy()
    cov_after = Xw @ Xw.T / Xw.shape[1]
    var_measured = np.einsum("ji,jk,ki->i", U, cov_after, U)
    var_exact = lam / (lam + eps)
    exact = (U / np.sqrt(lam + eps)) @ (U.T @ Xc)
    return {
        "eps": float(eps),
        "method": method,
        "cov_before": C,
        "cov_after": cov_after,
        "centred": Xc,
        "whitened": Xw,
        "filters": 0.5 * (R + R.T),
        "lam": lam,
        "var_measured": var_measured,
        "var_exact": var_exact,
        "identity_error": float(np.max(np.abs(var_measured - var_exact))),
        "relative_error": float(np.linalg.norm(Xw - exact) / np.linalg.norm(exact)),
        "a_min": float((lam[0] + eps) / np.linalg.norm(A)),
    }


# ------------------------------------------------------------------------------------------------
# plots
# ------------------------------------------------------------------------------------------------


def plot_covariance(ax, M: np.ndarray, *, title: str = "", symmetric: bool = True):
    """Show a covariance matrix as an image (diverging colours centred on zero)."""
    vmax = float(np.abs(M).max()) or 1.0
    im = ax.imshow(
        M,
        cmap="RdBu_r" if symmetric else "viridis",
        vmin=-vmax if symmetric else None,
        vmax=vmax,
        interpolation="nearest",
    )
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    return im


def _few_log_ticks(axis) -> None:
    """At most five labelled decades and unlabelled minor ticks (tick labels dominate drawing time)."""
    from matplotlib.ticker import LogLocator, NullFormatter, NullLocator

    axis.set_major_locator(LogLocator(base=10, numticks=5))
    axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())


def plot_axis_variances(ax, result: Dict[str, np.ndarray]) -> None:
    """Variance of the whitened data along each principal axis of :math:`C`, against :math:`\\lambda_i`."""
    lam, eps = result["lam"], result["eps"]
    keep = lam > 1e-12 * lam.max()  # the always-zero border pixels have nothing to whiten
    grid = np.logspace(np.log10(lam[keep].min()) - 0.3, np.log10(lam.max()) + 0.3, 200)
    ax.semilogx(grid, grid / (grid + eps), color="#000000", lw=1.2, label=r"exact $\lambda/(\lambda+\epsilon)$")
    ax.semilogx(
        lam[keep],
        result["var_measured"][keep],
        "o",
        ms=4,
        color=forward_style(result["method"])["color"],
        label=f"measured ({result['method']})",
    )
    ax.axvline(eps, color="#999999", ls=":", lw=1)
    ax.set_ylim(-0.05, 1.25)
    _few_log_ticks(ax.xaxis)
    ax.set_xlabel(r"variance $\lambda_i$ of the digits along $u_i$")
    ax.set_ylabel("variance after whitening")
    ax.set_title(f"ε = {eps:.2g}: max deviation {result['identity_error']:.1e}")
    ax.legend(loc="upper left")


def _tile(images: np.ndarray, rows: int, cols: int, *, normalise: bool) -> np.ndarray:
    """(rows*cols, 64) -> one (rows*9 - 1, cols*9 - 1) image with 1-pixel gaps (NaN)."""
    out = np.full((rows * 9 - 1, cols * 9 - 1), np.nan)
    for k in range(min(len(images), rows * cols)):
        img = images[k].reshape(8, 8)
        if normalise:
            img = img / (np.abs(img).max() or 1.0)
        r, c = divmod(k, cols)
        out[r * 9 : r * 9 + 8, c * 9 : c * 9 + 8] = img
    return out


def plot_montage(
    ax, result: Dict[str, np.ndarray], *, count: int = 8, pixels: Sequence[int] = (18, 20, 27, 29, 34, 36, 43, 45)
) -> None:
    """Rows: digits, the same digits whitened, and ZCA filters (rows of :math:`A^{-1/2}` for ``pixels``).

    Each tile is scaled to its own maximum (whitened values and filters have no common range).
    """
    cols = max(count, len(pixels))
    digits = (result["centred"][:, :count]).T
    white = result["whitened"][:, :count].T
    filters = result["filters"][list(pixels)]
    rows = [_tile(d, 1, cols, normalise=True) for d in (digits, white, filters)]
    gap = np.full((1, rows[0].shape[1]), np.nan)
    ax.imshow(np.vstack([rows[0], gap, rows[1], gap, rows[2]]), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_yticks([3.5, 13.5, 23.5])
    ax.set_yticklabels(["digits\n(centred)", "whitened", "ZCA filters"])
    ax.set_xticks([])
    ax.grid(False)
    ax.set_title("images and filters (each tile scaled to its maximum)")


# ------------------------------------------------------------------------------------------------
# training comparison
# ------------------------------------------------------------------------------------------------


def compute_training(
    methods: Sequence[str] = TRAINING_METHODS,
    *,
    epochs: Optional[int] = None,
    n_train: Optional[int] = None,
    n_val: Optional[int] = None,
    seed: int = 0,
    progress: bool = False,
) -> List:
    """Train the experiment's network once per method (tiny settings; seconds in fast mode).

    Uses :func:`mathsqrt.paper.studies.whitening.train_method`: same initial weights and batches for
    every method. Defaults: 2 epochs on 768 training images (1 epoch on 192 in fast mode).

    Returns
    -------
    list of :class:`mathsqrt.paper.studies.whitening.MethodResult`
    """
    from ..studies import whitening as exp

    epochs = pick(2, 1) if epochs is None else epochs
    n_train = pick(768, 192) if n_train is None else n_train
    n_val = pick(360, 96) if n_val is None else n_val
    data = exp.load_digits_data(seed=seed, n_train=n_train, n_val=n_val)
    return [exp.train_method(m, data, epochs=epochs, seed=seed, progress=progress) for m in methods]


def training_table(results: Sequence) -> str:
    """The experiment's plain-text table (method, square-root ms per step, wall time, accuracy)."""
    from ..studies.whitening import format_table

    return format_table(results)


def plot_training(ax_accuracy, ax_time, results: Sequence) -> None:
    """Validation accuracy per epoch (left) and square-root time per step, FP and BP (right).

    Colours, markers and labels come from the method table.
    """
    names = [r.name for r in results]
    colors = [configuration_style(n)["color"] for n in names]
    for r in results:
        ax_accuracy.plot(range(1, len(r.val_accuracy) + 1), r.val_accuracy, **configuration_style(r.name))
    ax_accuracy.set_xlabel("epoch")
    ax_accuracy.set_ylabel("validation accuracy")
    ax_accuracy.legend(loc="lower right")
    ax_accuracy.set_title("same start, same batches")
    x = np.arange(len(results))
    fw = [r.sqrt_forward_ms for r in results]
    bw = [r.sqrt_backward_ms for r in results]
    ax_time.bar(x, fw, color=colors, alpha=0.55, label="forward")
    ax_time.bar(x, bw, bottom=fw, color=colors, label="backward")
    ax_time.set_xticks(x)
    ax_time.set_xticklabels([configuration_label(n) for n in names], rotation=30, ha="right")
    ax_time.set_ylabel("ms per training step")
    ax_time.set_title("square-root layer: FP (light) + BP")


# ------------------------------------------------------------------------------------------------
# widget
# ------------------------------------------------------------------------------------------------


def interactive_whitening(*, eps: float = 1e-2, method: str = "mpa", n: Optional[int] = None) -> InteractivePlot:
    """ε (log slider) and method: covariance before/after, variances per axis, images and filters.

    ``plot.data`` holds ``identity_error``, ``relative_error``, ``a_min``, ``var_measured``,
    ``var_exact``, ``eps`` and ``method``.
    """
    import ipywidgets as widgets

    n = pick(None, 400) if n is None else n
    style = {"description_width": "80px"}
    controls = {
        "eps": widgets.FloatLogSlider(
            value=eps,
            base=10,
            min=-5,
            max=0,
            step=0.25,
            description="ε",
            continuous_update=False,
            style=style,
            readout_format=".1e",
        ),
        "method": widgets.Dropdown(options=list(METHODS), value=method, description="method", style=style),
    }

    def draw(fig, eps, method):
        result = compute_whitening(eps, method, n=n)
        grid = fig.add_gridspec(2, 3)
        ax1, ax2 = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
        ax3 = fig.add_subplot(grid[0, 2])
        ax4 = fig.add_subplot(grid[1, :])
        plot_covariance(ax1, result["cov_before"], title="covariance of the pixels")
        plot_covariance(ax2, result["cov_after"], title="after whitening")
        plot_axis_variances(ax3, result)
        plot_montage(ax4, result)
        keys = ("identity_error", "relative_error", "a_min", "var_measured", "var_exact", "eps", "method")
        return {k: result[k] for k in keys}

    return InteractivePlot(controls, draw, figsize=(11.0, 6.4), title="ZCA whitening of the 8×8 digits")
