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

:func:`compute_error_speed` is the paper's Fig. 1(b) live: the error and the FP+BP time of each
method on one 64×64 covariance of a batch of digits (the "1×64×64" of the paper's ZCA experiment).

The last part trains the small network of :mod:`mathsqrt.paper.studies.whitening` (a ZCA whitening
layer after the first convolution, [1]_ Sec. 4.2) with several square-root methods, the two rows of
the paper's Table 7 (its Lyapunov backward after eigh and after NS) and two controls (no whitening,
BatchNorm), over several seeds; :func:`compute_comparison` pairs the runs of each seed.

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

from ..bench.methods import BenchMethod, configurations
from ..data import PROPOSED
from ..plotting import REFERENCE_COLORS, configuration_style, forward_style
from ..studies.whitening import TABLE7, method_label
from ._common import InteractivePlot, pick, torch_threads

__all__ = [
    "METHODS",
    "TRAINING_METHODS",
    "FIG1B_METHODS",
    "FIG1B_IMAGES",
    "CONTROL_STYLES",
    "load_digit_pixels",
    "compute_whitening",
    "compute_error_speed",
    "compute_training",
    "compute_comparison",
    "plot_covariance",
    "plot_axis_variances",
    "plot_montage",
    "plot_error_speed",
    "error_table",
    "plot_training",
    "training_table",
    "interactive_whitening",
    "interactive_error_speed",
]

#: Forward methods offered by the widget: those of the method table that compute a square root.
METHODS = tuple(name for name, forward in method_table.FORWARDS.items() if forward.root)
#: The training comparison of the notebook (names of :func:`mathsqrt.paper.studies.whitening.layer_options`):
#: the two controls, the paper's MPA-Lya, NS and SVD (its Table 3), and the two rows of its Table 7
#: (SVD-Lya, NS-Lya: the paper's Lyapunov backward after eigh and after NS).
TRAINING_METHODS = ("none", "batchnorm", PROPOSED, "ns", "svd") + tuple(TABLE7)

#: Methods of the Fig. 1(b) widget: every configuration that is a square root with its own gradient
#: (:func:`mathsqrt.paper.bench.methods.configurations` without the paper's baselines), then Table 7's pairs.
FIG1B_METHODS = tuple(m.name for m in configurations(baselines=False)) + tuple(TABLE7)


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
# Fig. 1(b): error and speed in the ZCA whitening setting
# ------------------------------------------------------------------------------------------------


def compute_error_speed(
    eps: float = 1e-2,
    images: int = 256,
    *,
    methods: Optional[Sequence[str]] = None,
    dtype: torch.dtype = torch.float32,
    budget_s: Optional[float] = None,
    time_it: bool = True,
    seed: int = 0,
    threads: Optional[int] = 1,
) -> Dict[str, object]:
    r"""Errors and FP+BP time of each method on one 64×64 covariance of the digits: the paper's Fig. 1(b).

    The paper's ZCA whitening experiment whitens one :math:`64 \times 64` covariance per step
    ([1]_ Table 3, "1×64×64"); here it is the pixel covariance of a batch of ``images`` digits plus
    :math:`\epsilon I`, computed in ``dtype`` (float32, as in training). Two errors, both relative
    Frobenius errors against float64 ``eigh``:

    - of the square root :math:`S \approx A^{1/2}` (the error of the paper's Fig. 1(b));
    - of the whitening matrix the layer applies, :math:`S^{-1} \approx A^{-1/2}` (:math:`S` inverted
      in float64, so that only the method's error is measured). A method that *underestimates*
      the small eigenvalues of :math:`A^{1/2}` makes this error large although its error of
      :math:`A^{1/2}` is small.

    Parameters
    ----------
    eps : float
        :math:`\epsilon > 0` added to the covariance.
    images : int
        Batch size: the covariance of the first ``images`` digits (2 to 1797).
    methods : sequence of str, optional
        Configuration names or ``"forward/backward"`` pairs (default :data:`FIG1B_METHODS`).
    dtype : torch.dtype
        Of the computation.
    budget_s : float, optional
        Time budget of the timed repeats (:func:`mathsqrt.paper.timing.time_functions`; default
        0.15 s, 0.05 s in fast mode; at least 5 repeats after one untimed round).
    time_it : bool
        Measure the time (otherwise the times are NaN).
    seed : int
        Of the incoming gradient used for FP+BP.
    threads : int, optional
        ``torch`` threads while computing and timing, restored afterwards (default 1; ``None``: as set).

    Returns
    -------
    dict
        ``names`` and ``labels``; ``rel_error`` (of :math:`A^{1/2}`), ``mae`` (its mean absolute
        error, the paper's measure), ``whitening_error`` (of :math:`A^{-1/2}`); ``time_ms``,
        ``time_q1``, ``time_q3`` (median and quartiles of FP+BP, milliseconds) and ``repeats``;
        ``a_min`` (:math:`\lambda_{\min}(A)/\|A\|_F`), ``cond`` (condition number of :math:`A`),
        ``eps``, ``images``.
    """
    import statistics

    from mathsqrt.testing import random_gradient

    from ..bench.sweeps import forward_errors
    from ..timing import time_functions

    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    X, _ = _digits(None)
    if not 2 <= int(images) <= len(X):
        raise ValueError(f"images must lie in [2, {len(X)}], got {images}")
    names = tuple(FIG1B_METHODS if methods is None else methods)
    bench = [_bench_method(name) for name in names]
    Xb = X[: int(images)]
    Xc = Xb - Xb.mean(axis=0)
    A64 = torch.from_numpy(Xc.T @ Xc / len(Xb) + eps * np.eye(64))[None]
    A64 = 0.5 * (A64 + A64.mT)
    lam, U = torch.linalg.eigh(A64)
    S64 = (U * lam.sqrt().unsqueeze(-2)) @ U.mT
    R64 = (U * lam.rsqrt().unsqueeze(-2)) @ U.mT
    A = A64.to(dtype)
    time_ms = np.full(len(names), np.nan)
    q1, q3, repeats = time_ms.copy(), time_ms.copy(), 0
    with torch_threads(threads):
        outputs = [b.apply(A).detach().to(torch.float64) for b in bench]
        if time_it:
            G = random_gradient(64, 1, seed=seed).to(dtype)
            budget = pick(0.15, 0.05) if budget_s is None else budget_s
            fns = {b.name: b.fpbp(A, G) for b in bench}
            timings = time_functions(fns, budget_s=budget, min_repeats=5, max_repeats=40)
    errors = [forward_errors(S, S64) for S in outputs]
    whitening = [
        float(torch.linalg.matrix_norm(torch.linalg.inv(S) - R64) / torch.linalg.matrix_norm(R64)) for S in outputs
    ]
    if time_it:
        for i, b in enumerate(bench):
            t = timings[b.name]
            quart = statistics.quantiles(t.times_ms, n=4) if len(t.times_ms) >= 2 else [t.median] * 3
            time_ms[i], q1[i], q3[i] = t.median, quart[0], quart[2]
        repeats = len(timings[bench[0].name].times_ms)
    lam = lam[0].numpy()
    return {
        "names": names,
        "labels": tuple(_label(n) for n in names),
        "rel_error": np.array([e["rel_err"] for e in errors]),
        "mae": np.array([e["mae"] for e in errors]),
        "whitening_error": np.array(whitening),
        "time_ms": time_ms,
        "time_q1": q1,
        "time_q3": q3,
        "repeats": repeats,
        "a_min": float(lam[0] / np.linalg.norm(A64[0].numpy())),
        "cond": float(lam[-1] / lam[0]),
        "eps": float(eps),
        "images": int(images),
    }


def plot_error_speed(axes: Sequence, result: Dict[str, object]) -> None:
    r"""Two axes: error of :math:`A^{1/2}` (left, the paper's Fig. 1(b)) and of the whitening matrix
    :math:`A^{-1/2}` (right) against FP+BP time, one marker per method, quartile bars on the time."""
    from matplotlib.ticker import LogLocator, NullLocator, ScalarFormatter

    if len(axes) != 2:
        raise ValueError(f"plot_error_speed needs 2 axes, got {len(axes)}")
    keys = ("rel_error", "whitening_error")
    titles = (r"error of $A^{1/2}$ (the paper's Fig. 1(b))", r"error of the whitening matrix $A^{-1/2}$")
    for ax, key, title in zip(axes, keys, titles):
        for i, name in enumerate(result["names"]):
            st = _style(name)
            t, e = result["time_ms"][i], max(float(result[key][i]), 1e-9)
            if not np.isfinite(t):
                t = i + 1.0
            ax.plot([t], [e], linestyle="none", marker=st["marker"], color=st["color"], ms=8, label=st["label"])
            lo, hi = result["time_q1"][i], result["time_q3"][i]
            if np.isfinite(lo) and np.isfinite(hi):
                ax.errorbar(
                    [t], [e], xerr=[[t - lo], [hi - t]], fmt="none", ecolor=st["color"], elinewidth=1, capsize=3
                )
        ax.axhline(1.0, color="#999999", lw=0.8, ls=":")
        ax.set_yscale("log")
        ax.set_xscale("log")
        _few_log_ticks(ax.yaxis)
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("FP+BP ms on this machine (median, quartiles)")
        ax.set_title(title, fontsize=10)
    axes[0].set_ylabel("relative error (float32)")
    axes[1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)


def error_table(result: Dict[str, object]) -> str:
    """The errors of :func:`compute_error_speed` as a plain-text table (method, error of A^(1/2), of A^(-1/2))."""
    lines = [
        f"eps = {result['eps']:.0e}, {result['images']} digits: condition number {result['cond']:.1e}",
        f"{'method':<18} {'error of A^(1/2)':>17} {'error of A^(-1/2)':>18}",
    ]
    for label, e, w in zip(result["labels"], result["rel_error"], result["whitening_error"]):
        lines.append(f"{label:<18} {e:>17.1e} {w:>18.1e}")
    return "\n".join(lines)


#: Batch sizes offered by the Fig. 1(b) widget.
FIG1B_IMAGES = (32, 64, 128, 256, 512, 1024, 1797)


def interactive_error_speed(*, eps: float = 1e-2, images: int = 256) -> InteractivePlot:
    """ε (log slider) and batch size: the paper's Fig. 1(b) on a covariance of the digits, timed live.

    Each update times every method of :data:`FIG1B_METHODS` (FP+BP, one thread, about a sixth of a
    second) with :func:`mathsqrt.paper.timing.time_functions`.

    ``plot.data`` holds the dict of :func:`compute_error_speed`.
    """
    import ipywidgets as widgets

    style = {"description_width": "90px"}
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
        "images": widgets.SelectionSlider(
            options=list(FIG1B_IMAGES),
            value=images,
            description="batch (digits)",
            continuous_update=False,
            style=style,
        ),
    }

    def draw(fig, eps, images):
        result = compute_error_speed(eps, images)
        plot_error_speed(fig.subplots(1, 2, sharex=True), result)
        fig.suptitle(
            f"one 64×64 covariance of {images} digits + ε I, ε = {eps:.1e}: condition number {result['cond']:.1e}, "
            f"smallest normalised eigenvalue {result['a_min']:.1e}",
            fontsize=10,
        )
        return result

    return InteractivePlot(
        controls, draw, figsize=(11.0, 4.0), title="Fig. 1(b): error and speed in the ZCA whitening setting"
    )


# ------------------------------------------------------------------------------------------------
# training comparison (paper Tables 3 and 7, with controls)
# ------------------------------------------------------------------------------------------------


def _label(name: str) -> str:
    return method_label(name)


def _bench_method(name: str) -> BenchMethod:
    if name in method_table.CONFIGURATIONS:
        return BenchMethod.configuration(name)
    forward, _, backward = name.partition("/")
    return BenchMethod.pair(forward, backward)


#: Styles of the two controls of the training comparison (not methods, so not in the method table).
CONTROL_STYLES = {
    "none": dict(color=REFERENCE_COLORS["reference"], marker="x", linestyle="--", label="no whitening"),
    "batchnorm": dict(color="#E69F00", marker="P", linestyle="-.", label="BatchNorm"),
}


def _style(name: str) -> Dict[str, str]:
    if name in CONTROL_STYLES:
        return dict(CONTROL_STYLES[name])
    st = configuration_style(name)
    st["label"] = _label(name)
    return st


def compute_training(
    methods: Sequence[str] = None,
    *,
    epochs: Optional[int] = None,
    seeds: Optional[Sequence[int]] = None,
    n_train: Optional[int] = None,
    n_val: Optional[int] = None,
    split_seed: int = 0,
    threads: Optional[int] = 1,
) -> List:
    """Train the experiment's network once per method and seed (seconds in fast mode).

    Uses :func:`mathsqrt.paper.studies.whitening.run`: for each seed, every method from the same
    initial weights on the same batches. Defaults: :data:`TRAINING_METHODS`, 4 epochs on the full
    digits (1438 training, 359 validation images), seeds 0, 1, 2; in fast mode 1 epoch on 192
    images, seeds 0 and 1.

    Parameters
    ----------
    methods : sequence of str, optional
        Names of :func:`mathsqrt.paper.studies.whitening.layer_options`.
    epochs : int, optional
    seeds : sequence of int, optional
    n_train, n_val : int, optional
        Use only that many training / validation images (default: all).
    split_seed : int
        Of the training/validation split.
    threads : int, optional
        ``torch`` threads during the run, restored afterwards (default 1: these layers are too small
        to gain from more, and a second thread slows a shared machine down).

    Returns
    -------
    list of :class:`mathsqrt.paper.studies.whitening.MethodResult`
        Seed-major.
    """
    from ..studies import whitening as exp

    methods = TRAINING_METHODS if methods is None else tuple(methods)
    epochs = pick(4, 1) if epochs is None else epochs
    seeds = tuple(range(pick(3, 2))) if seeds is None else tuple(seeds)
    n_train = pick(None, 192) if n_train is None else n_train
    n_val = pick(None, 96) if n_val is None else n_val
    with torch_threads(threads):
        return exp.run(
            methods,
            epochs=epochs,
            seeds=seeds,
            split_seed=split_seed,
            n_train=n_train,
            n_val=n_val,
            out=None,
            progress=False,
            verbose=False,
        )


def compute_comparison(results: Sequence, reference: str) -> Dict[str, Dict[str, float]]:
    """Paired differences of final validation accuracy against ``reference``, seed by seed.

    Every seed starts all methods from the same weights and batches, so the difference of two methods
    on the same seed is free of the seed's own luck: its mean over seeds, with the standard error of
    that mean, says whether a method is better than the reference.

    Parameters
    ----------
    results : sequence of MethodResult
    reference : str
        Name of the method compared against (e.g. ``"batchnorm"``).

    Returns
    -------
    dict
        Per method name: ``difference`` (mean over the seeds both completed of accuracy − reference's,
        percentage points: positive is better), ``stderr`` (its standard error, pp; 0 with one
        seed), ``wins`` / ``losses`` / ``ties`` (seeds better / worse / equal), ``seeds`` (how many).
    """
    import statistics

    final = {}
    for r in results:
        if r.error is None and r.val_accuracy:
            final.setdefault(r.name, {})[r.seed] = r.final_accuracy
    if reference not in final:
        raise ValueError(f"no completed run of the reference {reference!r}")
    out = {}
    for name, by_seed in final.items():
        common = sorted(set(by_seed) & set(final[reference]))
        d = [100 * (by_seed[s] - final[reference][s]) for s in common]
        out[name] = {
            "difference": statistics.fmean(d) if d else float("nan"),
            "stderr": statistics.stdev(d) / len(d) ** 0.5 if len(d) > 1 else 0.0,
            "wins": sum(x > 1e-9 for x in d),
            "losses": sum(x < -1e-9 for x in d),
            "ties": sum(abs(x) <= 1e-9 for x in d),
            "seeds": len(d),
        }
    return out


def training_table(results: Sequence) -> str:
    """Per method over seeds: validation error (mean ± std), paired difference to each control, failed
    runs and the square-root layer's median ms per step (FP+BP)."""
    from ..studies.whitening import summarise

    summaries = summarise(results)
    names = {s.name for s in summaries}
    controls = [c for c in CONTROL_STYLES if c in names]
    against = {c: compute_comparison(results, c) for c in controls}
    head = f"{'method':<14} {'val. error %':>14}"
    head += "".join(f" {'vs ' + CONTROL_STYLES[c]['label'] + ' (pp)':>24}" for c in controls)
    head += f" {'failed':>7} {'sqrt ms/step':>13}"
    lines = [
        "last epoch; mean ± std over seeds; 'vs': paired accuracy difference, mean ± standard error (+ is better)",
        head,
        "-" * len(head),
    ]
    for s in summaries:
        err = f"{s.error_mean:5.2f} ± {s.error_std:4.2f}" if s.final_accuracy else "—"
        row = f"{s.label:<14} {err:>14}"
        for c in controls:
            cmp_ = against[c].get(s.name)
            cell = "—" if cmp_ is None or s.name == c else f"{cmp_['difference']:+5.2f} ± {cmp_['stderr']:4.2f}"
            row += f" {cell:>24}"
        ms = f"{s.sqrt_ms:13.2f}" if np.isfinite(s.sqrt_ms) else f"{'—':>13}"
        row += f" {f'{len(s.failed)}/{len(s.seeds)}':>7} {ms}"
        lines.append(row)
    return "\n".join(lines)


def plot_training(axes: Sequence, results: Sequence) -> None:
    """Three axes: validation error per seed with mean ± std (left), mean validation accuracy per
    epoch (middle), square-root time per step, FP and BP (right; controls have none).

    Colours, markers and labels: the method table's, the paper's names for the Table 7 pairs, and
    :data:`CONTROL_STYLES` for the controls.
    """
    from ..studies.whitening import summarise

    if len(axes) != 3:
        raise ValueError(f"plot_training needs 3 axes, got {len(axes)}")
    ax_err, ax_acc, ax_time = axes
    summaries = summarise(results)
    for i, s in enumerate(summaries):
        st = _style(s.name)
        errors = [100 * (1 - a) for a in s.final_accuracy]
        offsets = np.linspace(-0.15, 0.05, len(errors)) if len(errors) > 1 else np.zeros(len(errors))
        ax_err.plot(i + offsets, errors, linestyle="none", marker=st["marker"], color=st["color"], alpha=0.6)
        if errors:
            ax_err.errorbar(
                [i + 0.25], [s.error_mean], yerr=[s.error_std], fmt="_", color=st["color"], ms=12, capsize=4, lw=1.5
            )
        for seed in s.failed:
            ax_err.annotate(f"seed {seed} failed", (i, 0), rotation=90, fontsize=7, color=st["color"])
        ax_acc.plot(range(1, len(s.accuracy_mean) + 1), s.accuracy_mean, **st)
    ax_err.set_xticks(range(len(summaries)))
    ax_err.set_xticklabels([s.label for s in summaries], rotation=35, ha="right")
    ax_err.set_ylabel("validation error, % (last epoch)")
    ax_err.set_title("each seed (dots, left to right), mean ± std (bar)")
    from matplotlib.ticker import MaxNLocator

    ax_acc.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("validation accuracy (mean over seeds)")
    ax_acc.set_title("same start, same batches per seed")
    ax_acc.legend(loc="lower right", fontsize=7)
    timed = [r for r in results if np.isfinite(r.sqrt_ms)]
    names = list(dict.fromkeys(r.name for r in timed))
    x = np.arange(len(names))
    fw = [float(np.median([r.sqrt_forward_ms for r in timed if r.name == n])) for n in names]
    bw = [float(np.median([r.sqrt_backward_ms for r in timed if r.name == n])) for n in names]
    colors = [_style(n)["color"] for n in names]
    ax_time.bar(x, fw, color=colors, alpha=0.5, label="forward")
    ax_time.bar(x, bw, bottom=fw, color=colors, label="backward")
    ax_time.set_xticks(x)
    ax_time.set_xticklabels([_label(n) for n in names], rotation=35, ha="right")
    ax_time.set_ylabel("ms per training step (median)")
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
