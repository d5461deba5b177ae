r"""Layers built on the differentiable matrix square root: ZCA whitening and covariance pooling.

- :class:`ZCAWhitening` — decorrelated batch normalisation ([1]_ Sec. 4.2 and appendix A.2; [2]_):
  features are centred and multiplied by the inverse square root of their covariance, so that
  they come out with zero mean and identity covariance. Works on ``(N, C)`` and ``(N, C, H, W)``
  inputs, in groups of channels, with running statistics for inference and synchronised batch
  statistics under :mod:`torch.distributed` (like :class:`torch.nn.SyncBatchNorm`).
- :class:`CovariancePooling` — global covariance pooling ([3]_, [4]_): the square root of the
  covariance of a feature map or a token sequence, flattened by its upper triangle.
- :class:`SoViTHead` — the So-ViT classification head ([5]_; [1]_ appendix A.3, Eq. (25)):
  :math:`y = \mathrm{FC}(c) + \mathrm{FC}\big((XX^T)^{1/2}\big)`.

Every layer takes the square-root method as keywords (``method``, ``backward``, ``degree``,
``iters``, ``backward_iters``, ``backward_tol``, ``backward_degree``), exactly as
:func:`mathsqrt.sqrtm` and from the same method table (:mod:`mathsqrt.methods`), baselines of the
paper's experiments included. See :func:`matrix_sqrt_function`.

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
.. [2] L. Huang, D. Yang, B. Lang, J. Deng, "Decorrelated Batch Normalization", CVPR 2018.
.. [3] P. Li, J. Xie, Q. Wang, W. Zuo, "Is Second-order Information Helpful for Large-scale Visual
   Recognition?", ICCV 2017 (MPN-COV).
.. [4] P. Li, J. Xie, Q. Wang, Z. Gao, "Towards Faster Training of Global Covariance Pooling
   Networks by Iterative Matrix Square Root Normalization", CVPR 2018 (iSQRT-COV).
.. [5] J. Xie, R. Zeng, Q. Wang, Z. Zhou, P. Li, "So-ViT: Mind Visual Tokens for Vision
   Transformer", arXiv:2104.10935, 2021.
"""

from __future__ import annotations

import functools
import numbers
import warnings
from typing import Callable, Optional, Tuple

import torch
from torch import nn

from . import counting as ops
from . import methods
from ._kernels import check_real, compute_dtype, frobenius_norm, functorch_levels, no_autocast, sym
from ._kernels import spd_solve as _spd_solve
from .api import _with_tolerance, sqrtm
from .autograd import AllReduceSum

__all__ = [
    "ZCAWhitening",
    "CovariancePooling",
    "SoViTHead",
    "matrix_sqrt_function",
    "spd_solve",
    "triu_to_matrix",
]

SqrtFn = Callable[[torch.Tensor], torch.Tensor]


# ----------------------------------------------------------------------------------------------
# shared helpers
# ----------------------------------------------------------------------------------------------


def _legacy_method(method: str, backward: Optional[str]) -> Tuple[str, Optional[str]]:
    """``method="svd-taylor"`` (a configuration name) as ``method="eigh", backward="svd-taylor"``."""
    if method in methods.FORWARDS or method not in methods.CONFIGURATIONS:
        return method, backward
    config = methods.CONFIGURATIONS[method]
    if config.method == "eigh" and config.backward in methods.BACKWARDS and methods.BACKWARDS[config.backward].forwards:
        if backward not in (None, "lyapunov", config.backward):
            raise ValueError(f"method={method!r} sets backward={config.backward!r}; got backward={backward!r} too")
        warnings.warn(
            f"method={method!r} is deprecated in the layers: pass method='eigh', backward={config.backward!r} "
            "(as for mathsqrt.sqrtm)",
            DeprecationWarning,
            stacklevel=4,
        )
        return config.method, config.backward
    return method, backward


def matrix_sqrt_function(
    method: Optional[str] = None,
    backward: Optional[str] = None,
    *,
    degree=None,
    iters: Optional[int] = None,
    tol: Optional[float] = None,
    backward_iters: Optional[int] = None,
    backward_tol: Optional[float] = None,
    backward_degree: Optional[int] = None,
) -> SqrtFn:
    r"""A differentiable ``A -> A^{1/2}`` for batches ``(..., n, n)`` of SPD matrices, checked once.

    Parameters
    ----------
    method, backward : str
        A forward and a backward method of :func:`mathsqrt.sqrtm` (the method table
        :mod:`mathsqrt.methods`), including the paper's baselines: ``method="pi"`` (So-ViT's
        power-iteration normalisation) and ``method="eigh"`` with ``backward="svd-taylor"``,
        ``"svd-pade"`` or ``"svd-pi"``. The older spelling ``method="svd-taylor"`` (etc.) still
        works, with a ``DeprecationWarning``.
    degree, iters, tol, backward_iters, backward_tol, backward_degree
        As in :func:`mathsqrt.sqrtm` (``tol`` picks ``method="ns-scaled"`` and a per-matrix
        Lyapunov tolerance unless a method is given).

    Returns
    -------
    callable
        ``f(A) -> Tensor`` of the same shape, dtype and device as ``A`` (a picklable
        :func:`functools.partial`, so layers holding it can be pickled). It skips the finiteness and
        symmetry check of :func:`mathsqrt.sqrtm` (the layers build their matrices symmetric).

    Raises
    ------
    ValueError, TypeError
        For an unknown method or backward, or options that do not apply (raised here, at
        construction, by :func:`mathsqrt.methods.resolve`).

    Notes
    -----
    The forward and backward methods are those of [1]_ (Algorithms 1 and 2) and its baselines
    (appendix A.4).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Algorithm 1, Algorithm 2 and appendix A.4.
    """
    method, backward = _legacy_method(method, backward) if method is not None else (None, backward)
    kwargs = dict(
        degree=degree,
        iters=iters,
        tol=tol,
        backward_iters=backward_iters,
        backward_tol=backward_tol,
        backward_degree=backward_degree,
    )
    method, backward, resolved = _with_tolerance(method, backward, kwargs)
    plan = methods.resolve(method, backward, **resolved)  # a bad layer fails at construction
    return functools.partial(sqrtm, check_finite=False, method=method, backward=plan.backward.name, **kwargs)


def spd_solve(
    S: torch.Tensor, B: torch.Tensor, *, what: str = "the matrix square root"
) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""Solve :math:`S X = B` for SPD ``S`` by a Cholesky factorisation (differentiable).

    Parameters
    ----------
    S : Tensor, shape ``(..., n, n)``
        Symmetric positive definite (only its lower triangle is read).
    B : Tensor, shape ``(..., n, k)``

    Returns
    -------
    X : Tensor, shape ``(..., n, k)``
    L : Tensor, shape ``(..., n, n)``
        The Cholesky factor, ``S = L L^T``.

    Raises
    ------
    ValueError
        If the factorisation fails (``S`` not positive definite, or not finite).

    Notes
    -----
    A Cholesky solve, never ``torch.linalg.solve``/``inv``: cheaper for SPD systems and free of the
    batched-LU hang of the CPU build of torch 2.13.

    Solving instead of inverting follows [1]_, Sec. 3.1.2 and appendix A.2 (the whitened features
    solve :math:`A^{1/2} X_w = X`); Cholesky's stability for SPD matrices is [2]_, Ch. 10.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 3.1.2 and appendix A.2, Eq. (24).
    .. [2] N. J. Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., SIAM, 2002, Ch. 10.
    """
    return _spd_solve(S, B, what=what)


def triu_to_matrix(vec: torch.Tensor, n: int) -> torch.Tensor:
    r"""Rebuild symmetric matrices from their upper-triangular vectors (inverse of the flattening).

    Parameters
    ----------
    vec : Tensor, shape ``(..., n (n + 1) / 2)``
        Row-major upper triangle including the diagonal, as returned by :class:`CovariancePooling`.
    n : int

    Returns
    -------
    Tensor, shape ``(..., n, n)``, symmetric.

    Notes
    -----
    The upper-triangle flattening is the output of covariance pooling in [1]_ and [2]_.

    References
    ----------
    .. [1] P. Li, J. Xie, Q. Wang, Z. Gao, "Towards Faster Training of Global Covariance Pooling Networks
       by Iterative Matrix Square Root Normalization", CVPR 2018 (iSQRT-COV).
    .. [2] J. Xie, R. Zeng, Q. Wang, Z. Zhou, P. Li, "So-ViT: Mind Visual Tokens for Vision Transformer",
       arXiv:2104.10935, 2021.
    """
    d = n * (n + 1) // 2
    if vec.shape[-1] != d:
        raise ValueError(f"expected a last dimension of n (n + 1) / 2 = {d} for n = {n}, got shape {tuple(vec.shape)}")
    i, j = torch.triu_indices(n, n, device=vec.device)
    out = vec.new_zeros(*vec.shape[:-1], n, n)
    out[..., i, j] = vec
    out[..., j, i] = vec
    return out


def _check_features(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def _check_tensor(x, cls: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{cls}: expected a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"{cls}: expected a floating-point tensor (features, not labels or raw image bytes), got {x.dtype}"
        )


def _check_eps(eps) -> float:
    """``eps`` as a finite float >= 0 (NaN and infinity would only surface later, blamed on the input)."""
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise ValueError(f"eps must be a non-negative number, got {eps!r}")
    return check_real("eps", eps, nonnegative=True)


def _add_eps(A: torch.Tensor, eps: float) -> torch.Tensor:
    if eps == 0:
        return A
    return A + eps * torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)


# ----------------------------------------------------------------------------------------------
# ZCA whitening
# ----------------------------------------------------------------------------------------------


class ZCAWhitening(nn.Module):
    r"""ZCA whitening of channels: decorrelated batch normalisation ([1]_ appendix A.2, [2]_).

    For features :math:`X \in \mathbb{R}^{c \times m}` of one group of :math:`c` channels
    (:math:`m = N` for ``(N, C)`` input, :math:`m = NHW` for ``(N, C, H, W)``), with mean :math:`\mu`,

    .. math:: A = \tfrac1m (X - \mu)(X - \mu)^T + \epsilon I, \qquad
              X_w = A^{-1/2}(X - \mu), \qquad y = \gamma \odot X_w + \beta,

    so that :math:`X_w` has zero mean and covariance :math:`I - \epsilon A^{-1} \approx I`.
    As in the paper ([1]_ appendix A.2), :math:`X_w` is obtained by **solving**
    :math:`A^{1/2} X_w = X - \mu` — a Cholesky solve with the computed square root
    :math:`A^{1/2}`, which is SPD — rather than by forming :math:`A^{-1/2}`.

    Parameters
    ----------
    num_features : int
        Number of channels ``C``.
    groups : int
        Channels are whitened in ``groups`` independent groups of ``C / groups`` channels each
        (``C`` must be divisible by ``groups``): a batch of ``groups`` covariance matrices of size
        ``C / groups`` [2]_. ``groups = C`` is ordinary batch normalisation.
    eps : float
        :math:`\epsilon \ge 0` added to the diagonal of the covariance (makes it strictly positive
        definite); finite (NaN and infinity are rejected here, not blamed on the input later).
    momentum : float or None
        Weight of the current batch in the running averages, as in :class:`torch.nn.BatchNorm2d`;
        ``None`` gives the cumulative average.
    affine : bool
        Learn a per-channel scale :math:`\gamma` (initialised to 1) and shift :math:`\beta` (to 0).
    track_running_stats : bool
        Keep running statistics for evaluation mode; without them evaluation uses the batch
        statistics, like training (and so needs more than one sample per channel).
    method, backward, degree, iters, tol, backward_iters, backward_tol, backward_degree
        Square-root method; see :func:`matrix_sqrt_function` and :func:`mathsqrt.sqrtm`.
        Defaults: MPA [5/5] with the 8-iteration Lyapunov backward, the paper's "MPA-Lya".
    process_group : torch.distributed.ProcessGroup, optional
        Under an initialised :mod:`torch.distributed` with more than one process, training-mode
        statistics are computed over the global batch of this group (default: the whole world).
        Every process of the group must call the layer (forward and backward) in step.

    Attributes
    ----------
    running_mean : Tensor, shape ``(C,)``
        Running average of the batch means.
    running_whitening : Tensor, shape ``(groups, C / groups, C / groups)``
        Running average of the whitening matrices :math:`A^{-1/2}` used in training, one per group.
        Storing the running *inverse square root* (rather than the running covariance) follows the
        decorrelated-BN papers [2]_: evaluation is then a single matrix product per group, and it
        applies the average of the very transforms the network was trained with.
    num_batches_tracked : Tensor
        Number of training batches seen.
    weight, bias : Parameter, shape ``(C,)``
        :math:`\gamma` and :math:`\beta` (``None`` without ``affine``).

    Notes
    -----
    *Distributed training.* The per-process sums :math:`\sum x`, the sample count and then the
    centred sums of outer products :math:`\sum (x - \mu)(x - \mu)^T` are all-reduced (two
    all-reduces; centring with the global mean before summing the outer products avoids the
    cancellation of :math:`\sum xx^T - m\mu\mu^T` in float32). The all-reduce is differentiable
    (:class:`mathsqrt.autograd.AllReduceSum`), so each process receives the gradient of the total
    loss, exactly as if one process had seen the concatenated batch.

    *Running whitening matrix.* :math:`A^{-1/2}` is formed from the Cholesky factor of the
    computed square root (a triangular solve against the identity, without gradient), once per
    training step, only to update the buffer.

    *Low precision.* float16/bfloat16 inputs are whitened in float32 and returned in their dtype.
    Inside :func:`torch.autocast` the statistics and the whitening still run in float32 or wider
    (autocast is switched off inside the layer) and the output keeps the input's dtype. The
    backward pass works inside and outside the region; outside (as PyTorch recommends) it is the
    float32 gradient, inside torch's own backward kernels for the layer's products and solve follow
    the region's precision, as for any layer.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
    .. [2] L. Huang, D. Yang, B. Lang, J. Deng, "Decorrelated Batch Normalization", CVPR 2018.

    Examples
    --------
    >>> import torch, mathsqrt.nn
    >>> layer = mathsqrt.nn.ZCAWhitening(4, method="eigh", backward="eigh", eps=0.0).double()
    >>> x = torch.randn(256, 4, dtype=torch.float64) @ torch.randn(4, 4, dtype=torch.float64)
    >>> y = layer(x)
    >>> torch.allclose(y.T @ y / 256, torch.eye(4, dtype=torch.float64), atol=1e-8)
    True
    """

    def __init__(
        self,
        num_features: int,
        *,
        groups: int = 1,
        eps: float = 1e-5,
        momentum: Optional[float] = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        method: Optional[str] = None,
        backward: Optional[str] = None,
        degree=None,
        iters: Optional[int] = None,
        tol: Optional[float] = None,
        backward_iters: Optional[int] = None,
        backward_tol: Optional[float] = None,
        process_group=None,
        backward_degree: Optional[int] = None,
    ) -> None:
        super().__init__()
        num_features = _check_features("num_features", num_features)
        groups = _check_features("groups", groups)
        if num_features % groups:
            raise ValueError(f"num_features ({num_features}) must be divisible by groups ({groups})")
        eps = _check_eps(eps)
        if momentum is not None and not (isinstance(momentum, numbers.Real) and 0 <= momentum <= 1):
            raise ValueError(f"momentum must lie in [0, 1] or be None, got {momentum!r}")
        self.num_features = num_features
        self.groups = groups
        self.eps = float(eps)
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        self.process_group = process_group
        self._sqrt = matrix_sqrt_function(
            method,
            backward,
            degree=degree,
            iters=iters,
            tol=tol,
            backward_iters=backward_iters,
            backward_tol=backward_tol,
            backward_degree=backward_degree,
        )
        self.method, self.backward = self._sqrt.keywords["method"], self._sqrt.keywords["backward"]
        c = num_features // groups
        if self.affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features))
            self.register_buffer("running_whitening", torch.eye(c).expand(groups, c, c).clone())
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_whitening", None)
            self.register_buffer("num_batches_tracked", None)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, groups={self.groups}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, method={self.method!r}, backward={self.backward!r}"
        )

    def reset_running_stats(self) -> None:
        """Running mean to zero, running whitening matrices to the identity, counter to zero."""
        if self.track_running_stats:
            self.running_mean.zero_()
            c = self.num_features // self.groups
            self.running_whitening.copy_(torch.eye(c).expand(self.groups, c, c))
            self.num_batches_tracked.zero_()

    # -- pieces (overridable, e.g. to time the square root) ------------------------------------

    def matrix_sqrt(self, A: torch.Tensor) -> torch.Tensor:
        r"""The square root :math:`A^{1/2}` of the regularised covariances ``A`` (``(groups, c, c)``)."""
        return self._sqrt(A)

    def _sync_group(self):
        if not self.training:
            return None
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return None
        group = self.process_group if self.process_group is not None else dist.group.WORLD
        return group if dist.get_world_size(group) > 1 else None

    def batch_statistics(self, X: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r"""Mean, covariance (without :math:`\epsilon`) and sample count of grouped features.

        Parameters
        ----------
        X : Tensor, shape ``(groups, c, m)``

        Returns
        -------
        mean : Tensor, shape ``(groups, c, 1)``
        cov : Tensor, shape ``(groups, c, c)``
            :math:`\frac1m \sum (x - \mu)(x - \mu)^T`, symmetric.
        count : Tensor, scalar
            Number of samples ``m`` (summed over processes when synchronised).
        """
        group = self._sync_group()
        total = X.sum(dim=-1, keepdim=True)
        count = torch.tensor(float(X.shape[-1]), dtype=X.dtype, device=X.device)
        if group is not None:
            packed = AllReduceSum.apply(torch.cat([total.flatten(), count.reshape(1)]), group)
            total, count = packed[:-1].reshape(total.shape), packed[-1].detach()
        if float(count) < 2:
            if self.training:
                raise ValueError(
                    "ZCAWhitening: expected more than one value per channel when training "
                    f"(got {int(count)} sample(s) per channel); use a batch larger than one or call .eval()"
                )
            raise ValueError(
                "ZCAWhitening: with track_running_stats=False, evaluation mode whitens with the statistics of "
                f"the batch itself, which need more than one value per channel (got {int(count)}); use a batch "
                "larger than one, or a layer with track_running_stats=True (running statistics) for single samples"
            )
        mean = total / count
        Xc = X - mean
        scatter = ops.matmul(Xc, Xc.transpose(-2, -1))
        if group is not None:
            scatter = AllReduceSum.apply(scatter, group)
        return mean, sym(scatter) / count, count

    def _grouped(self, x: torch.Tensor) -> torch.Tensor:
        G, c = self.groups, self.num_features // self.groups
        if x.dim() == 2:
            return x.transpose(0, 1).reshape(G, c, x.shape[0])
        N, C, H, W = x.shape
        return x.transpose(0, 1).reshape(G, c, N * H * W)

    def _ungrouped(self, Xw: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        if len(shape) == 2:
            return Xw.reshape(shape[1], shape[0]).transpose(0, 1)
        N, C, H, W = shape
        return Xw.reshape(C, N, H, W).transpose(0, 1)

    def _check_input(self, x) -> None:
        _check_tensor(x, "ZCAWhitening")
        if x.dim() not in (2, 4):
            raise ValueError(
                f"ZCAWhitening: expected input of shape (N, C) or (N, C, H, W), got {x.dim()}-D shape {tuple(x.shape)}"
            )
        if x.shape[1] != self.num_features:
            raise ValueError(f"ZCAWhitening: expected {self.num_features} channels (dim 1), got shape {tuple(x.shape)}")
        if x.numel() == 0:
            raise ValueError(f"ZCAWhitening: got an empty input of shape {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r"""Whiten ``x``.

        Parameters
        ----------
        x : Tensor, shape ``(N, C)`` or ``(N, C, H, W)``, floating point

        Returns
        -------
        Tensor, same shape, dtype and device as ``x``.

        Raises
        ------
        TypeError
            Not a tensor, or not floating point.
        ValueError
            Wrong number of dimensions or channels; one sample per channel in training mode;
            non-finite features (the factorisation fails).
        """
        self._check_input(x)
        with no_autocast(x.device.type):  # statistics and whitening in float32 or wider, under autocast too
            return self._whiten(x)

    def _whiten(self, x: torch.Tensor) -> torch.Tensor:
        dtype = compute_dtype(x.dtype)
        X = self._grouped(x.to(dtype))
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            mean, cov, _ = self.batch_statistics(X)
            if not bool(torch.isfinite(cov).all()):
                raise ValueError(
                    "ZCAWhitening: the batch covariance has NaN/Inf entries (is the input finite, and small enough "
                    f"that its squares do not overflow {dtype}?)"
                )
            S = self.matrix_sqrt(_add_eps(cov, self.eps))
            Xw, L = spd_solve(S, X - mean)
            if self.training and self.track_running_stats:
                self._update_running(mean, L)
        else:
            R = self.running_whitening.to(dtype)
            mean = self.running_mean.to(dtype).reshape(self.groups, -1, 1)
            Xw = ops.matmul(R, X - mean)
        y = self._ungrouped(Xw, x.shape)
        if self.affine:
            shape = (1, -1) + (1,) * (x.dim() - 2)
            y = y * self.weight.to(dtype).reshape(shape) + self.bias.to(dtype).reshape(shape)
        return y.to(x.dtype)

    @torch.no_grad()
    def _update_running(self, mean: torch.Tensor, L: torch.Tensor) -> None:
        self.num_batches_tracked.add_(1)
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        c = L.shape[-1]
        eye = torch.eye(c, dtype=L.dtype, device=L.device).expand_as(L)
        R = sym(ops.cholesky_solve(eye, L.detach()))
        self.running_mean.lerp_(mean.detach().reshape(-1).to(self.running_mean.dtype), factor)
        self.running_whitening.lerp_(R.to(self.running_whitening.dtype), factor)


# ----------------------------------------------------------------------------------------------
# Covariance pooling
# ----------------------------------------------------------------------------------------------

_NORMALIZE = ("trace", "frobenius", "none")
_OUTPUTS = ("triu", "matrix")
_LAYOUTS = ("auto", "maps", "tokens")


class CovariancePooling(nn.Module):
    r"""Global covariance pooling with matrix square-root normalisation ([2]_, [3]_; [1]_ Sec. 4.3).

    For features :math:`X \in \mathbb{R}^{d \times M}` of one sample (``d`` channels, ``M``
    positions or tokens):

    .. math:: \Sigma = \tfrac1M X \bar I X^T + \epsilon I, \qquad
              \bar I = I - \tfrac1M \mathbf 1 \mathbf 1^T \ (\text{with } \texttt{center}),
              \qquad \text{output} = \mathrm{triu}\big(\sqrt{s}\,(\Sigma / s)^{1/2}\big),

    where :math:`s` is the pre-normalisation scale (the trace :math:`\mathrm{tr}\,\Sigma`, as in
    iSQRT-COV [3]_, or :math:`\|\Sigma\|_F`, or 1) and :math:`\sqrt s` the post-compensation
    (``compensate=True``, [3]_ Sec. 3.2); without compensation the output is the scale-free
    :math:`(\Sigma/s)^{1/2}`. ``triu`` keeps the upper triangle with the diagonal, row by row:
    a vector of length :math:`d(d+1)/2` (see :func:`triu_to_matrix` for the inverse).

    Parameters
    ----------
    in_channels : int, optional
        Channels ``C`` of the input; checked when given; required with ``reduced_channels``.
    reduced_channels : int, optional
        Reduce the channels to ``d = reduced_channels`` first: a 1×1 convolution + batch norm +
        ReLU for feature maps, as in iSQRT-COV [3]_; a linear layer for token sequences.
    method, backward, degree, iters, tol, backward_iters, backward_tol, backward_degree
        Square-root method, see :func:`matrix_sqrt_function`; includes the baselines
        ``method="pi"`` (So-ViT's dominant eigenpair [4]_) and ``method="eigh"`` with
        ``backward="svd-taylor"``, ``"svd-pi"`` or ``"svd-pade"``.
    normalize : {"trace", "frobenius", "none"}
        Pre-normalisation scale :math:`s`.
    compensate : bool
        Multiply by :math:`\sqrt s` afterwards (post-compensation), so that the output is
        :math:`\Sigma^{1/2}` itself.
    center : bool
        Subtract the mean over positions (a covariance) or not (the second moment
        :math:`XX^T/M`, as in So-ViT's Eq. (25) of [1]_).
    eps : float
        Added to the diagonal of :math:`\Sigma`; finite and :math:`\ge 0`.
    output : {"triu", "matrix"}
        The upper-triangular vector ``(N, d(d+1)/2)`` or the full matrix ``(N, d, d)``.
    layout : {"auto", "maps", "tokens"}
        Accepted input: ``(N, C, H, W)`` feature maps, ``(N, L, C)`` token sequences (channels
        last, as in vision transformers), or either (``"auto"``, decided by the number of
        dimensions; not with ``reduced_channels``, whose layer depends on the layout).

    Raises
    ------
    ValueError
        Wrong number of dimensions or channels, empty input, unknown option.
    TypeError
        Non-tensor or non-floating-point input.

    Notes
    -----
    Under :func:`torch.autocast` the channel reduction runs in the autocast dtype like any layer,
    while the pooled matrix and its square root are computed in float32 or wider (autocast is
    switched off for them); the output has the input's dtype.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 4.3 and appendix A.3, Eq. (25).
    .. [2] P. Li, J. Xie, Q. Wang, W. Zuo, "Is Second-order Information Helpful for Large-scale Visual
       Recognition?", ICCV 2017 (MPN-COV).
    .. [3] P. Li, J. Xie, Q. Wang, Z. Gao, "Towards Faster Training of Global Covariance Pooling Networks
       by Iterative Matrix Square Root Normalization", CVPR 2018 (iSQRT-COV).
    .. [4] J. Xie, R. Zeng, Q. Wang, Z. Zhou, P. Li, "So-ViT: Mind Visual Tokens for Vision Transformer",
       arXiv:2104.10935, 2021.

    Examples
    --------
    >>> import torch, mathsqrt.nn
    >>> pool = mathsqrt.nn.CovariancePooling(method="eigh")
    >>> pool(torch.randn(2, 8, 5, 5)).shape
    torch.Size([2, 36])
    """

    def __init__(
        self,
        in_channels: Optional[int] = None,
        *,
        reduced_channels: Optional[int] = None,
        method: Optional[str] = None,
        backward: Optional[str] = None,
        degree=None,
        iters: Optional[int] = None,
        tol: Optional[float] = None,
        backward_iters: Optional[int] = None,
        backward_tol: Optional[float] = None,
        normalize: str = "trace",
        compensate: bool = True,
        center: bool = True,
        eps: float = 0.0,
        output: str = "triu",
        layout: str = "auto",
        backward_degree: Optional[int] = None,
    ) -> None:
        super().__init__()
        if layout not in _LAYOUTS:
            raise ValueError(f"layout must be one of {_LAYOUTS}, got {layout!r}")
        if in_channels is not None:
            in_channels = _check_features("in_channels", in_channels)
        if reduced_channels is not None:
            reduced_channels = _check_features("reduced_channels", reduced_channels)
            if in_channels is None:
                raise ValueError("reduced_channels needs in_channels (the size of the reduction layer)")
            if layout == "auto":
                raise ValueError(
                    "reduced_channels needs layout='maps' (1x1 convolution) or layout='tokens' (linear layer)"
                )
        if normalize not in _NORMALIZE:
            raise ValueError(f"normalize must be one of {_NORMALIZE}, got {normalize!r}")
        if output not in _OUTPUTS:
            raise ValueError(f"output must be one of {_OUTPUTS}, got {output!r}")
        eps = _check_eps(eps)
        self.in_channels = in_channels
        self.reduced_channels = reduced_channels
        self.normalize = normalize
        self.compensate = bool(compensate)
        self.center = bool(center)
        self.eps = float(eps)
        self.output = output
        self.layout = layout
        self._sqrt = matrix_sqrt_function(
            method,
            backward,
            degree=degree,
            iters=iters,
            tol=tol,
            backward_iters=backward_iters,
            backward_tol=backward_tol,
            backward_degree=backward_degree,
        )
        self.method, self.backward = self._sqrt.keywords["method"], self._sqrt.keywords["backward"]
        if reduced_channels is None:
            self.reduce = None
        elif layout == "maps":
            self.reduce = nn.Sequential(
                nn.Conv2d(in_channels, reduced_channels, kernel_size=1, bias=False),
                nn.BatchNorm2d(reduced_channels),
                nn.ReLU(inplace=True),
            )
        else:
            self.reduce = nn.Linear(in_channels, reduced_channels)

    @property
    def channels(self) -> Optional[int]:
        """Size ``d`` of the pooled matrices (``None`` until known, without ``in_channels``)."""
        return self.reduced_channels if self.reduced_channels is not None else self.in_channels

    @property
    def output_dim(self) -> Optional[int]:
        """Length :math:`d(d+1)/2` of the output vector (``output="triu"``)."""
        d = self.channels
        return None if d is None else d * (d + 1) // 2

    def extra_repr(self) -> str:
        return (
            f"in_channels={self.in_channels}, reduced_channels={self.reduced_channels}, method={self.method!r}, "
            f"backward={self.backward!r}, normalize={self.normalize!r}, compensate={self.compensate}, "
            f"center={self.center}, output={self.output!r}"
        )

    def matrix_sqrt(self, A: torch.Tensor) -> torch.Tensor:
        r"""The square root of the (pre-normalised) pooled matrices ``A`` (``(N, d, d)``)."""
        return self._sqrt(A)

    def covariance(self, x: torch.Tensor) -> torch.Tensor:
        r"""The pooled matrices :math:`\Sigma` (with :math:`\epsilon I`), shape ``(N, d, d)``.

        Applies the channel reduction when configured; computed in float32 for half inputs.
        """
        _check_tensor(x, "CovariancePooling")
        if x.dim() not in (3, 4):
            raise ValueError(
                "CovariancePooling: expected feature maps (N, C, H, W) or token sequences (N, L, C), "
                f"got {x.dim()}-D shape {tuple(x.shape)}"
            )
        expected = {"maps": 4, "tokens": 3}.get(self.layout)
        if expected is not None and x.dim() != expected:
            what = "feature maps (N, C, H, W)" if expected == 4 else "token sequences (N, L, C)"
            raise ValueError(f"CovariancePooling(layout={self.layout!r}): expected {what}, got shape {tuple(x.shape)}")
        C = x.shape[1] if x.dim() == 4 else x.shape[2]
        if self.in_channels is not None and C != self.in_channels:
            where = "dim 1" if x.dim() == 4 else "dim 2 (tokens are (N, L, C))"
            raise ValueError(
                f"CovariancePooling: expected {self.in_channels} channels ({where}), got shape {tuple(x.shape)}"
            )
        if x.numel() == 0:
            raise ValueError(f"CovariancePooling: got an empty input of shape {tuple(x.shape)}")
        if self.reduce is not None:
            x = self.reduce(x)  # an ordinary layer: under the caller's autocast, if any
        with no_autocast(x.device.type):  # the covariance in float32 or wider
            X = x.flatten(2) if x.dim() == 4 else x.transpose(1, 2)  # (N, d, HW) or (N, d, L)
            X = X.to(compute_dtype(X.dtype))
            M = X.shape[-1]
            if self.center:
                X = X - X.mean(dim=-1, keepdim=True)
            A = sym(ops.matmul(X, X.transpose(-2, -1))) / M
            return _add_eps(A, self.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r"""Pool ``x``.

        Parameters
        ----------
        x : Tensor, shape ``(N, C, H, W)`` or ``(N, L, C)``

        Returns
        -------
        Tensor, shape ``(N, d(d+1)/2)`` (``output="triu"``) or ``(N, d, d)``, dtype of ``x``.
        """
        A = self.covariance(x)
        with no_autocast(A.device.type):
            return self._pool(A, x.dtype)

    def _pool(self, A: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        # (not under torch.func.vmap, which cannot branch on data: per-sample gradients, for instance)
        if "vmap" not in functorch_levels(A) and not bool(torch.isfinite(A).all()):
            raise ValueError(
                "CovariancePooling: the pooled matrix has NaN/Inf entries (is the input finite, and small enough "
                f"that its squares do not overflow {A.dtype}?)"
            )
        if self.normalize == "none":
            S = self.matrix_sqrt(A)
        else:
            if self.normalize == "trace":
                s = A.diagonal(dim1=-2, dim2=-1).sum(-1)[..., None, None]
            else:
                s = frobenius_norm(A, keepdim=True)
            s = torch.where(s > 0, s, torch.ones_like(s))
            S = self.matrix_sqrt(A / s)
            if self.compensate:
                S = S * s.sqrt()
        if self.output == "triu":
            d = S.shape[-1]
            i, j = torch.triu_indices(d, d, device=S.device)
            S = S[..., i, j]
        return S.to(dtype)


class SoViTHead(nn.Module):
    r"""The So-ViT classification head: class token plus covariance-pooled visual tokens.

    .. math:: y = \mathrm{FC}_1(c) + \mathrm{FC}_2\big(\mathrm{triu}((X X^T/L)^{1/2})\big)

    ([1]_ appendix A.3, Eq. (25); [2]_), with :math:`c` the class token and :math:`X` the ``L``
    visual tokens (optionally reduced to ``reduced_dim`` channels by a linear layer first; the
    paper's So-ViT experiments pool 48×48 matrices, [1]_ Table 4).

    Parameters
    ----------
    embed_dim : int
        Token dimension ``C``.
    num_classes : int
    reduced_dim : int, optional
        Channels kept before pooling (``None``: all ``C``).
    **pooling_options
        Passed to :class:`CovariancePooling` (``method``, ``backward``, ``normalize``, ``center``
        — default ``False`` here, as in Eq. (25) — ``eps``, ...).

    Input: tokens ``(N, 1 + L, C)``, the class token first. Output: logits ``(N, num_classes)``.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, appendix A.3, Eq. (25), and Table 4.
    .. [2] J. Xie, R. Zeng, Q. Wang, Z. Zhou, P. Li, "So-ViT: Mind Visual Tokens for Vision Transformer",
       arXiv:2104.10935, 2021.
    """

    def __init__(
        self, embed_dim: int, num_classes: int, *, reduced_dim: Optional[int] = None, **pooling_options
    ) -> None:
        super().__init__()
        embed_dim = _check_features("embed_dim", embed_dim)
        num_classes = _check_features("num_classes", num_classes)
        pooling_options.setdefault("center", False)
        pooling_options["layout"] = "tokens"
        if "output" in pooling_options and pooling_options["output"] != "triu":
            raise ValueError("SoViTHead pools to the upper-triangular vector (output='triu')")
        self.embed_dim = embed_dim
        self.pool = CovariancePooling(embed_dim, reduced_channels=reduced_dim, **pooling_options)
        self.cls_fc = nn.Linear(embed_dim, num_classes)
        self.cov_fc = nn.Linear(self.pool.output_dim, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        r"""Logits ``(N, num_classes)`` from tokens ``(N, 1 + L, C)``."""
        _check_tensor(tokens, "SoViTHead")
        if tokens.dim() != 3 or tokens.shape[-1] != self.embed_dim:
            raise ValueError(
                f"SoViTHead: expected tokens of shape (N, 1 + L, {self.embed_dim}), got {tuple(tokens.shape)}"
            )
        if tokens.shape[1] < 2:
            raise ValueError(
                f"SoViTHead: expected a class token and at least one visual token, got shape {tuple(tokens.shape)}"
            )
        return self.cls_fc(tokens[:, 0]) + self.cov_fc(self.pool(tokens[:, 1:]))
