r"""Public entry points :func:`sqrtm`, :func:`invsqrtm` and :func:`residual`: validate, dispatch, ``apply``.

Every call goes through :func:`_matrix_power`:

1. static checks (type, shape, dtype, options; :func:`mathsqrt.methods.resolve`);
2. autocast is switched off and float16/bfloat16 are promoted to float32, so the computation runs
   in float32 or wider whatever the caller's :func:`torch.autocast` region says;
3. each matrix is scaled by an exact power of four (:func:`mathsqrt._kernels.pow4_scaling`), so
   that neither its norm nor any intermediate over- or underflows, and the result is unscaled by
   the matching power of two (exact: the gradient is unchanged);
4. the data checks (finite, symmetric, nonzero for the inverse) and, after the forward method, the
   **residual certificate** (:func:`residual` against the bound of :func:`residual_bound`) run where
   the data is real: inside :class:`mathsqrt.autograd.MatrixSquareRoot` for the custom backward
   methods (so that they also run under :func:`torch.func.vmap`), directly for ``"autograd"``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional, Tuple, Union

import numpy as np
import torch

from . import counting as ops
from . import methods
from ._kernels import (
    HALF_DTYPES,
    add_diagonal,
    check_bool,
    compute_dtype,
    frobenius_norm,
    functorch_levels,
    no_autocast,
    pow4_scaling,
    promote,
)
from .autograd import MatrixSquareRoot, VmapBridge

__all__ = ["sqrtm", "invsqrtm", "residual", "residual_bound", "METHODS", "BACKWARDS"]

#: Names of the forward methods (keys of :data:`mathsqrt.methods.FORWARDS`).
METHODS = tuple(methods.FORWARDS)
#: Names of the backward methods (keys of :data:`mathsqrt.methods.BACKWARDS`); ``"autograd"``
#: differentiates through the forward computation itself.
BACKWARDS = tuple(methods.BACKWARDS)

Degree = Union[int, Tuple[int, int]]


# --------------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------------


def _check_shape(A, fname: str) -> None:
    """Type, shape and dtype of ``A``: no look at its values (safe on meta tensors and under vmap)."""
    if not isinstance(A, torch.Tensor):
        raise TypeError(f"{fname}: expected a torch.Tensor, got {type(A).__name__}")
    if A.dim() < 2:
        raise ValueError(
            f"{fname}: expected a matrix or a batch of matrices of shape (..., n, n), got shape {tuple(A.shape)}"
        )
    if A.shape[-1] != A.shape[-2]:
        raise ValueError(f"{fname}: expected square matrices (..., n, n), got shape {tuple(A.shape)}")
    if A.numel() == 0:
        raise ValueError(f"{fname}: got an empty tensor of shape {tuple(A.shape)}")
    if A.is_complex():
        raise TypeError(f"{fname}: complex input ({A.dtype}) is not supported; expected a real floating dtype")
    if not A.is_floating_point():
        raise TypeError(f"{fname}: expected a floating-point tensor, got {A.dtype}")


def _check_values(A: torch.Tensor, fname: str, dtype: torch.dtype) -> None:
    """No NaN/Inf, and symmetric to a relative tolerance set by the caller's ``dtype``."""
    A = A.detach()
    # one reduction on the fast path: a NaN or Inf anywhere makes the sum non-finite
    if not bool(torch.isfinite(A.sum(dtype=torch.float64))) and not bool(torch.isfinite(A).all()):
        what = "NaN" if bool(torch.isnan(A).any()) else "Inf"
        raise ValueError(f"{fname}: input contains {what} (pass check_finite=False to skip this check)")
    work = promote(A)
    asym = frobenius_norm(work - work.transpose(-2, -1))
    norm = frobenius_norm(work)
    # sqrt(eps) of the dtype; half-precision inputs carry their own (coarse) rounding: their eps
    rtol = torch.finfo(dtype).eps if dtype in HALF_DTYPES else torch.finfo(dtype).eps ** 0.5
    bad = asym > rtol * norm
    if bool(bad.any()):
        worst = float((asym / norm.clamp_min(torch.finfo(work.dtype).tiny)).max())
        raise ValueError(
            f"{fname}: input is not symmetric: relative asymmetry ||A - A^T||_F / ||A||_F = {worst:.3g} "
            f"exceeds {rtol:.2g} (symmetrise it, e.g. (A + A.mT) / 2)"
        )


def _validate_matrix(A, *, check_finite: bool, fname: str) -> None:
    """Static checks, then (with ``check_finite``) the value checks of :func:`sqrtm`."""
    _check_shape(A, fname)
    if check_finite:
        _check_values(A, fname, A.dtype)


def _batch_index(mask: torch.Tensor) -> str:
    """``" at batch index (i, j)"`` for the first true entry of ``mask`` (empty for a single matrix)."""
    if mask.dim() == 0:
        return ""
    return f" at batch index {tuple(int(i) for i in mask.nonzero()[0])}"


# --------------------------------------------------------------------------------------------------
# Residual certificate
# --------------------------------------------------------------------------------------------------


def _residual_parts(A: torch.Tensor, Y: torch.Tensor, inverse: bool):
    """``(residual, ||A||_F, ||Y||_F)`` per matrix, shapes ``(...)``; ``A``, ``Y`` in one compute dtype.

    ``A`` must already be scaled (largest entry in [1, 4), :func:`pow4_scaling`), so that plain
    norms neither overflow nor underflow.
    """
    n = A.shape[-1]
    norm_A = torch.linalg.matrix_norm(A)
    if inverse:
        ops.record("residual", 2)
        E = add_diagonal(torch.matmul(Y, torch.matmul(A, Y)), -1.0)
        return torch.linalg.matrix_norm(E) / math.sqrt(n), norm_A, torch.linalg.matrix_norm(Y)
    ops.record("residual", 1)
    E = torch.matmul(Y, Y) - A
    return torch.linalg.matrix_norm(E) / torch.where(norm_A > 0, norm_A, torch.ones_like(norm_A)), norm_A, None


def residual(A: torch.Tensor, Y: torch.Tensor, *, inverse: bool = False) -> torch.Tensor:
    r"""Relative residual of a computed square root or inverse square root, per matrix.

    .. math::

        r(Y) = \frac{\|Y^2 - A\|_F}{\|A\|_F} \quad (Y \approx A^{1/2}), \qquad
        r(Y) = \frac{\|Y A Y - I\|_F}{\sqrt n} \quad (Y \approx A^{-1/2}).

    The square root costs **one** matmul, the inverse square root **two** (:math:`AY`, then
    :math:`Y(AY)`), plus a few norms; both are counted as ``"residual"`` by
    :func:`mathsqrt.count_ops`. :math:`\sqrt n = \|I\|_F`, so the inverse residual is the
    root-mean-square of the per-eigenvalue errors :math:`\lambda_i y_i^2 - 1` when :math:`Y` is a
    function of :math:`A`. A zero matrix with :math:`Y = 0` has residual 0.

    The residual certifies the *result*, whatever produced it: it is small exactly when
    :math:`Y` squares back to :math:`A`. It does not see an error in a square root that is not the
    principal one (a symmetric :math:`Y` with a negative eigenvalue), which none of the methods of
    :mod:`mathsqrt` produces for positive semi-definite input. See :func:`residual_bound` for the
    largest residual each method can reach on such input.

    Parameters
    ----------
    A : Tensor, shape ``(..., n, n)``
        The matrices (symmetric positive semi-definite; not checked).
    Y : Tensor, shape ``(..., n, n)``
        Their computed square roots (``inverse=False``) or inverse square roots.
    inverse : bool
        ``Y`` approximates :math:`A^{-1/2}`.

    Returns
    -------
    Tensor, shape ``(...)``
        In the compute dtype of ``A`` (float32 for float16/bfloat16). Computed on an exactly rescaled
        copy (a power of four per matrix), so it neither overflows nor underflows for any finite
        input. Differentiable.

    Raises
    ------
    TypeError, ValueError
        ``A`` or ``Y`` is not a tensor of square matrices, or their shapes differ.

    Notes
    -----
    The residual :math:`\|Y^2 - A\|_F/\|A\|_F` as a measure of the quality of a computed square root
    is discussed in [1]_, Sec. 6.1; the paper reports errors of this kind ([2]_, Sec. 4.1).

    References
    ----------
    .. [1] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Sec. 6.1.
    .. [2] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 4.1.

    Examples
    --------
    >>> import torch, mathsqrt
    >>> A = torch.diag(torch.tensor([4.0, 9.0], dtype=torch.float64))
    >>> mathsqrt.residual(A, torch.diag(torch.tensor([2.0, 3.0], dtype=torch.float64)))
    tensor(0., dtype=torch.float64)
    >>> mathsqrt.residual(A, torch.diag(torch.tensor([0.5, 1 / 3], dtype=torch.float64)), inverse=True)
    tensor(0., dtype=torch.float64)
    """
    check_bool("inverse", inverse)
    _check_shape(A, "residual")
    _check_shape(Y, "residual")
    if A.shape != Y.shape:
        raise ValueError(f"residual: A and Y must have the same shape, got {tuple(A.shape)} and {tuple(Y.shape)}")
    with no_autocast(A.device.type):
        dtype = torch.promote_types(compute_dtype(A.dtype), compute_dtype(Y.dtype))
        A, Y = A.to(dtype), Y.to(device=A.device, dtype=dtype)
        c, root = pow4_scaling(A)
        return _residual_parts(A * c, Y * root if inverse else Y / root, inverse)[0]


_GRID = np.unique(np.concatenate([[0.0], np.logspace(-16, 0, 1601), np.linspace(0.0, 1.0, 1601)]))


def _taylor_map(K: int, inverse: bool) -> np.ndarray:
    from .coefficients import taylor_coefficients

    c = [float(x) for x in taylor_coefficients(K, Fraction(-1 if inverse else 1, 2))]
    return np.polynomial.polynomial.polyval(1.0 - _GRID, c)


def _newton_schulz_map(T: int, inverse: bool) -> np.ndarray:
    y, z = _GRID.copy(), np.ones_like(_GRID)
    for _ in range(T):
        t = 0.5 * (3.0 - z * y)
        y, z = y * t, t * z
    return z if inverse else y


@dataclass(frozen=True)
class _ScalarError:
    """What a method's scalar map says about its residual on PSD input (see :func:`residual_bound`).

    ``M``: sup of the per-eigenvalue error :math:`|e(a)|` on :math:`[0, 1]`; ``L``: sup of
    :math:`|e(a)|/a`; ``growth``: how much the computation can amplify rounding (the condition
    number of the matrix MPA solves with, plus ``n K``; the number of steps otherwise).
    """

    M: float
    L: float
    growth: float
    solve: bool = False

    def rounding(self, n: int, eps: float) -> float:
        """Relative rounding error :math:`\\rho` of the computed result, at most 1."""
        if self.solve:
            return min(1.0, 4 * eps * self.growth)
        return min(1.0, 4 * eps * n * self.growth)


#: For a method without a known scalar map: generous (a truncated iteration may overshoot the root by 2x).
_GENERIC = _ScalarError(M=4.0, L=math.inf, growth=100.0)


@functools.lru_cache(maxsize=256)
def _scalar_error(method: str, params: Tuple[Tuple[str, object], ...], inverse: bool, n: int) -> _ScalarError:
    p = dict(params)
    a = _GRID
    try:
        if method == "eigh":
            return _ScalarError(M=0.0, L=0.0, growth=1.0)
        if method == "mtp":
            K = int(p.get("degree", 11))
            g, growth, solve = _taylor_map(K, inverse), K + 1.0, False
        elif method == "mpa":
            from .coefficients import compose_one_minus, pade_coefficients

            m, k = p.get("degree", (5, 5))
            P, Q = (
                np.polynomial.polynomial.polyval(a, [float(x) for x in compose_one_minus(c)])
                for c in pade_coefficients(int(m), int(k), Fraction(1, 2))
            )
            g = Q / P if inverse else P / Q
            solved = np.abs(P if inverse else Q)  # the matrix the forward factorises
            growth, solve = float(solved.max() / solved.min()) + n * max(int(m), int(k)), True
        elif method == "ns":
            T = int(p.get("iters", 5))
            g, growth, solve = _newton_schulz_map(T, inverse), 3.0 * T, False
        else:
            return _GENERIC  # a method without a known scalar map
    except Exception:  # pragma: no cover - never let the bound itself fail a computation
        return _GENERIC
    e = np.abs(a * g**2 - 1.0) if inverse else np.abs(g**2 - a)
    if not (np.all(np.isfinite(e)) and math.isfinite(growth)):
        return _GENERIC
    return _ScalarError(M=float(e.max()), L=float(np.max(e[1:] / a[1:])), growth=growth, solve=solve)


def residual_bound(method: str = "mpa", n: int = 2, *, inverse: bool = False, **options) -> float:
    r"""The largest relative residual (:func:`residual`) a method can produce on symmetric PSD input.

    Every forward method of :mod:`mathsqrt` applies one scalar function to the eigenvalues
    :math:`a_i = \lambda_i/\|A\|_F \in [0, 1]` of the normalised matrix (:math:`\sum_i a_i^2 = 1`):
    :math:`Y = \sqrt{\|A\|_F}\,g(W)` for the square root, :math:`Y = h(W)/\sqrt{\|A\|_F}` for the
    inverse. In exact arithmetic, with :math:`e(a) = g(a)^2 - a` (or :math:`a\,h(a)^2 - 1`),

    .. math::

        r \le \min\Big(\sqrt n\, \sup_{[0,1]} |e|,\ \sup_{(0,1]} |e(a)|/a\Big) \ \text{(square root)},
        \qquad r \le \sup_{[0,1]} |e| \ \text{(inverse)}.

    The suprema are evaluated on a fine grid of :math:`a` (log-spaced down to :math:`10^{-16}`, and
    uniform), from the exact coefficients (:mod:`mathsqrt.coefficients`). What they give (measured):

    * inverse square root, every method: :math:`a h(a)^2 \in [0, 1]` (MTP, MPA and NS all
      underestimate :math:`a^{-1/2}`; a singular direction gives :math:`e = -1`), so :math:`r \le 1`;
    * ``"ns"`` (square root): :math:`y = a z` with :math:`a z^2 \in [0, 1]`, so :math:`|e(a)| \le a`
      and :math:`r \le 1` for every ``n``;
    * ``"mtp"`` / ``"mpa"`` (square root): they overestimate :math:`\sqrt a`, most at :math:`a = 0`
      (MPA ``[K/K]``: :math:`e(0) = (2K+1)^{-2}`; MTP degree 11: 0.028), so
      :math:`r \le \sqrt n\, e(0)`-ish; at most :math:`\sqrt n` for every degree;
    * ``"eigh"``: 0 (rounding only).

    Methods without a known scalar map (such as ``"ns-scaled"``, whose truncated schedules may
    overshoot the root) get a generous generic bound, :math:`4\sqrt n` (square root) or 4 (inverse).
    ``"pi"`` is not a square root: its bound is infinite and its results are not certified.

    Parameters
    ----------
    method : str
        A forward method of :data:`mathsqrt.methods.FORWARDS`.
    n : int
        Matrix size.
    inverse : bool
        Bound for :func:`invsqrtm`.
    **options
        The method's options, as for :func:`sqrtm` (``degree``, ``iters``).

    Returns
    -------
    float

    Notes
    -----
    :func:`sqrtm` and :func:`invsqrtm` (with ``check_finite=True`` and ``check_residual=True``, the
    defaults) raise when the residual exceeds **twice** this bound plus :math:`10^{-3}` plus what
    rounding can add. A computed :math:`Y` with relative rounding error :math:`\rho` moves the
    residual by at most :math:`(2\rho + \rho^2)(\sqrt n + n \sup|e|)` (square root: that factor
    bounds :math:`\|Y\|_F^2/\|A\|_F`) or :math:`(2\rho + \rho^2)\|Y\|_F^2\|A\|_F/\sqrt n` (inverse: the
    inverse of an ill-conditioned matrix is as inaccurate as its condition number says); forming the
    residual adds :math:`16\,n^{3/2}\epsilon` (or :math:`16\,n\,\epsilon\|Y\|_F^2\|A\|_F/\sqrt n`).
    :math:`\rho = 4\epsilon\,(\kappa + nK)` for MPA, with :math:`\kappa` the condition number of the
    polynomial it factorises (:math:`Q(W)`, or :math:`P(W)` for the inverse) and :math:`K` its degree;
    :math:`4 n \epsilon` times the number of steps (degree + 1, or 3 per Newton–Schulz iteration)
    for the others; at most 1. A residual beyond all that cannot come from the method's own
    truncation or from rounding on a positive semi-definite input: the input is indefinite, or the
    iteration diverged. Measured (float32 and float64, n = 2 to 64, condition numbers up to
    :math:`10^{12}`, singular matrices, every method, MPA degrees 1 to 64, MTP degrees 0 to 40, NS up
    to 20 iterations): no result as accurate as its method allows was refused. (Newton–Schulz run
    for 30 iterations on a numerically singular float32 matrix diverges to NaN, and is refused.)

    The exact error of the MPA used here is derived from the closed form of the diagonal Padé
    approximant ([1]_, Sec. 5.4); the methods are those of [2]_, Table 1.

    References
    ----------
    .. [1] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Sec. 5.4.
    .. [2] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Table 1.

    Examples
    --------
    >>> import mathsqrt
    >>> round(mathsqrt.residual_bound("ns", 64), 4), round(mathsqrt.residual_bound("mpa", 64), 4)
    (0.0522, 0.0661)
    >>> mathsqrt.residual_bound("mtp", 64, inverse=True)
    1.0
    """
    plan = methods.resolve(method, None, **{k: v for k, v in options.items()})
    return _plan_bound(plan, int(n), bool(inverse))


def _plan_error(plan, n: int, inverse: bool) -> Optional[_ScalarError]:
    if not plan.forward.root:
        return None  # not a square root (the "pi" baseline): nothing to certify
    params = tuple(sorted(plan.forward_params.items()))
    try:
        hash(params)
    except TypeError:  # an option value the cache cannot key on
        return _GENERIC
    return _scalar_error(plan.forward.name, params, inverse, n)


def _plan_bound(plan, n: int, inverse: bool) -> float:
    err = _plan_error(plan, n, inverse)
    if err is None:
        return math.inf
    return err.M if inverse else min(math.sqrt(n) * err.M, err.L)


@dataclass(frozen=True)
class _Checks:
    """The data checks of one call, run by the forward on the (scaled) compute-dtype input."""

    fname: str
    inverse: bool
    dtype: torch.dtype  # the caller's dtype (sets the symmetry tolerance)
    finite: bool
    method: str
    error: Optional[_ScalarError]  # None: no residual certificate

    def before(self, A: torch.Tensor) -> None:
        if self.finite:
            _check_values(A, self.fname, self.dtype)
        if self.inverse:
            # the largest entry, not the norm: the squared entries of a tiny matrix underflow
            zero = A.detach().abs().amax(dim=(-2, -1)) == 0
            if bool(zero.any()):
                raise ValueError(
                    f"invsqrtm: the matrix{_batch_index(zero)} is zero; its inverse square root does not exist"
                )

    def limit(self, n: int, eps: float, norm_A: torch.Tensor, norm_Y: torch.Tensor):
        """The largest residual a PSD input can give: twice the exact bound plus rounding."""
        err = self.error
        rho = err.rounding(n, eps)
        perturb = 2 * rho + rho**2  # (Y + E)^2 - Y^2 with ||E|| <= rho ||Y||
        if self.inverse:
            # Y A Y, and the inverse itself, lose up to ~ n eps cond(A) <= n eps ||Y||^2 ||A||
            return 2 * err.M + 1e-3 + (perturb + 16 * n * eps) * norm_Y**2 * norm_A / math.sqrt(n)
        bound = min(math.sqrt(n) * err.M, err.L)
        # ||Y||_F^2 = sum g(a_i)^2 ||A|| <= (sqrt(n) + n M) ||A||_F for every method on PSD input
        return torch.full_like(norm_A, 2 * bound + 1e-3 + perturb * (math.sqrt(n) + n * err.M) + 16 * n**1.5 * eps)

    def after(self, A: torch.Tensor, Y: torch.Tensor) -> None:
        if self.error is None:
            return
        with torch.no_grad():
            A, Y = A.detach(), Y.detach()
            res, norm_A, norm_Y = _residual_parts(A, Y, self.inverse)
            limit = self.limit(A.shape[-1], torch.finfo(A.dtype).eps, norm_A, norm_Y)
            bad = ~(res <= limit)  # NaN too
            if not bool(bad.any()):
                return
            first = tuple(bad.nonzero()[0]) if bad.dim() else ()
            r, lim = float(res[first]), float(limit[first])
            count = f" ({int(bad.sum())} of {bad.numel()} matrices)" if bad.numel() > 1 else ""
            where = f"{self.fname}: the result for the matrix{_batch_index(bad)}{count}"
            cause = (
                "the input is not positive semi-definite (it has a negative eigenvalue), or the method did "
                "not converge or lost its accuracy to rounding (try method='eigh', a lower degree or float64). "
                "Pass check_residual=False (or check_finite=False) to skip this check."
            )
            if not bool(torch.isfinite(Y[first]).all()):
                raise ValueError(f"{where} has NaN/Inf entries although the input is finite: {cause}")
            what = "||Y A Y - I||_F / sqrt(n)" if self.inverse else "||Y^2 - A||_F / ||A||_F"
            raise ValueError(
                f"{where} has relative residual {what} = {r:.3g}, far beyond the {lim:.3g} that "
                f"method={self.method!r} can produce for a symmetric positive semi-definite input: {cause}"
            )


# --------------------------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------------------------


def _matrix_power(A, inverse, method, backward, check_finite, options, check_residual=True):
    fname = "invsqrtm" if inverse else "sqrtm"
    method, backward, options = _with_tolerance(method, backward, options)
    check_bool("check_finite", check_finite)
    check_bool("check_residual", check_residual)
    plan = methods.resolve(method, backward, **options)
    _check_shape(A, fname)
    if A.device.type == "meta":
        # no values: propagate shape and dtype only (what torch's meta kernels do)
        return torch.empty_like(A)
    levels = functorch_levels(A)
    backward_fn = plan.backward_fn()
    if levels and levels[0] == "vmap":
        # torch.func.vmap is the innermost transform: run the whole call on the real batch
        call = functools.partial(
            _matrix_power,
            inverse=inverse,
            method=method,
            backward=backward,
            check_finite=check_finite,
            options=options,
            check_residual=check_residual,
        )
        return VmapBridge.apply(A, call)
    if backward_fn is None and "vmap" in levels:
        raise RuntimeError(
            f"{fname}(backward='autograd') cannot run under torch.func.grad/jacrev nested inside "
            "torch.func.vmap (its forward methods check their data); use a custom backward (the default "
            "'lyapunov', or 'eigh'), or pass the batch directly: every function takes (..., n, n)"
        )
    checks = _Checks(
        fname=fname,
        inverse=inverse,
        dtype=A.dtype,
        finite=check_finite,
        method=method,
        error=_plan_error(plan, A.shape[-1], inverse) if check_finite and check_residual else None,
    )
    forward_fn = plan.forward_fn(inverse)
    with no_autocast(A.device.type):
        work = promote(A)
        c, root = pow4_scaling(work)
        scaled = work * c  # exact: a power of four per matrix
        if backward_fn is None:
            checks.before(scaled)
            out = forward_fn(scaled)[0]
            checks.after(scaled, out)
        else:
            out = MatrixSquareRoot.apply(scaled, forward_fn, inverse, backward_fn, plan.backward.name, checks)[0]
        out = out * root if not inverse else out / root
    return out.to(A.dtype) if out.dtype != A.dtype else out


def _takes_backward_tol(backward) -> bool:
    """Whether ``backward`` (``None``: the default, a Lyapunov solver) has a ``backward_tol`` option in the table."""
    entry = methods.BACKWARDS.get("lyapunov" if backward is None else backward)
    return entry is not None and any(option.keyword == "backward_tol" for option in entry.options)


def _with_tolerance(method, backward, options):
    """Apply ``tol=``: the default method becomes ``"ns-scaled"`` and the Lyapunov backwards get ``backward_tol``."""
    tol = options.get("tol")
    if method is None:
        method = "mpa" if tol is None else "ns-scaled"
    if tol is not None and options.get("backward_tol") is None and _takes_backward_tol(backward):
        options = dict(options, backward_tol=tol)
    return method, backward, options


def sqrtm(
    A: torch.Tensor,
    *,
    method: Optional[str] = None,
    degree: Optional[Degree] = None,
    iters: Optional[int] = None,
    tol: Optional[float] = None,
    backward: Optional[str] = None,
    backward_iters: Optional[int] = None,
    backward_tol: Optional[float] = None,
    backward_degree: Optional[int] = None,
    check_finite: bool = True,
    check_residual: bool = True,
) -> torch.Tensor:
    r"""Differentiable principal square root :math:`A^{1/2}` of symmetric positive semi-definite matrices.

    The forward and backward methods are chosen independently (Song, Sebe & Wang [1]_): by default
    :math:`A^{1/2} \approx \sqrt{\|A\|_F}\,Q(Z)^{-1}P(Z)` with :math:`Z = I - A/\|A\|_F` (MPA,
    [1]_ Eq. 13), and the gradient :math:`X = \partial l/\partial A` solves
    :math:`A^{1/2} X + X A^{1/2} = \partial l/\partial A^{1/2}` ([1]_ Eq. 17) by the matrix-sign
    iteration ([1]_ Eq. 20–22). Every method is listed in :mod:`mathsqrt.methods`.

    Parameters
    ----------
    A : Tensor, shape ``(n, n)`` or ``(..., n, n)``
        Symmetric positive (semi-)definite matrices, any real floating dtype, any device. float16 and
        bfloat16 are computed in float32 and returned in the input dtype. ``A`` is never modified.
    method : {"mpa", "mtp", "ns", "ns-scaled", "eigh", "pi"}, optional
        Forward method: matrix Padé approximant (the default; ``"ns-scaled"`` when ``tol`` is given),
        matrix Taylor polynomial, coupled
        Newton–Schulz iteration (the paper's), coupled Newton–Schulz with optimal per-step
        polynomials and :math:`\lambda_{\max}` scaling (``"ns-scaled"``,
        :func:`mathsqrt.scaled.newton_schulz_scaled`: accurate to float32 rounding up to condition
        :math:`10^6`), eigendecomposition, or So-ViT's power-iteration normalisation ``"pi"`` (a
        baseline that is not a square root; :func:`mathsqrt.power_iteration_sqrtm`).
    degree : int or (int, int), optional
        ``"mpa"``: ``K`` for the diagonal ``[K/K]`` approximant (default 5) or ``(m, n)``;
        ``"mtp"``: the Taylor degree ``K`` (default 11).
    iters : int, optional
        ``"ns"``: Newton–Schulz iterations (default 5); ``"ns-scaled"``: steps (default: as many as
        its schedule needs for full accuracy); ``"pi"``: power iterations (default 1).
    tol : float, optional
        A relative accuracy target for the result **and** its gradient, per matrix. The method then
        defaults to ``"ns-scaled"`` (coupled Newton–Schulz with optimal per-step polynomials), which
        stops each matrix as soon as :math:`\|Z_kY_k - I\|_F \le` ``tol``, and the Lyapunov backward
        gets ``backward_tol=tol`` (each matrix stops on its own), so a well-conditioned matrix is not
        charged for an ill-conditioned neighbour. What is guaranteed: the a-posteriori residuals of
        both iterations are at most ``tol`` (they bound the relative error of every eigen-component,
        up to rounding). What is estimated: whether the dtype can deliver ``tol`` at all — rounding
        limits the square root to about :math:`0.1\,\epsilon\sqrt\kappa` and the inverse to about
        :math:`0.02\,\epsilon\kappa`, with :math:`\kappa` estimated from the computed inverse root; a
        ``RuntimeWarning`` names each matrix (its batch index and estimated condition number) for which
        it cannot. Only ``"ns-scaled"`` takes ``tol``; for MPA choose ``degree`` with
        :func:`mathsqrt.coefficients.pade_degree_for_tolerance`.
    backward : {"lyapunov", "lyapunov-ns", "eigh", "autograd", "adjoint", "bartels-stewart", "svd-taylor", "svd-pade", "svd-pi"}, optional
        Backward method: the optimally scaled matrix-sign Lyapunov solver (the default,
        :func:`mathsqrt.backward.grad_lyapunov`: at the paper's cost of 8 steps it is more accurate at
        every condition number), the paper's Newton–Schulz Lyapunov solver (``"lyapunov-ns"``, [1]_
        Algorithm 2), the exact eigenbasis solution,
        the exact derivative of the computed ``"mpa"``, ``"mtp"`` or ``"ns"`` forward written by hand
        from the forward's own intermediates (``"adjoint"``, :mod:`mathsqrt.adjoint`; MPA [5/5]: 9
        matmuls and one solve), differentiation through the forward computation itself by autograd
        (the default for ``"pi"``; for
        ``"ns"`` it is the paper's NS backward, for ``"eigh"`` torch's eigendecomposition gradient,
        the unstabilised SVD baseline of [1]_ Eq. 2, NaN at an exact eigenvalue tie), or scipy's
        Bartels–Stewart reference (CPU, float64, slow). The paper's stabilised SVD baselines
        ``"svd-taylor"``, ``"svd-pade"`` and ``"svd-pi"`` need ``method="eigh"`` and return a
        symmetrised gradient (:mod:`mathsqrt.baselines`).
    backward_iters : int, optional
        ``"lyapunov"``, ``"lyapunov-ns"``: iterations (default 8), or their maximum when
        ``backward_tol`` is given (default: until converged; 60 for ``"lyapunov-ns"``); ``"svd-pi"``:
        power iterations (default 20).
    backward_tol : float, optional
        ``"lyapunov"``: stop each matrix once :math:`\|B_k - I\|_F \le` ``backward_tol``;
        ``"lyapunov-ns"``: stop once every matrix meets it.
    backward_degree : int, optional
        ``"svd-taylor"``: the Taylor degree :math:`K` (default 20); ``"svd-pade"``: the degree ``n`` of
        ``[n/n]`` (default 10). (``backward_iters`` is still accepted for these, with a
        ``DeprecationWarning``.)
    check_finite : bool
        Check that ``A`` has no NaN/Inf and is symmetric to a relative tolerance (:math:`\sqrt\epsilon`
        of the dtype; :math:`\epsilon` itself for float16/bfloat16), like scipy's ``check_finite``,
        and certify the result (``check_residual``). Costs a few reductions and host
        synchronisations. Must be a ``bool``.
    check_residual : bool
        With ``check_finite``: compute the relative residual :math:`\|Y^2 - A\|_F/\|A\|_F` of each
        result (:func:`residual`; one extra matmul, two for :func:`invsqrtm`) and raise a
        ``ValueError`` naming the matrix and its residual when it exceeds what the method can
        produce on a positive semi-definite input (:func:`residual_bound`): an indefinite input, a
        diverged iteration, a result lost to rounding. ``False`` skips it (and its cost). Not
        applied to ``method="pi"``, which is not a square root.

    Returns
    -------
    Tensor
        Same shape, dtype and device as ``A``.

    Raises
    ------
    TypeError
        Not a tensor; integer, bool or complex dtype; a method name that is not a string; a
        non-integer degree or iteration count.
    ValueError
        Fewer than two dimensions, non-square or empty input; NaN/Inf or asymmetric input (with
        ``check_finite``); unknown method or backward; a degree or iteration count out of range; an
        option that does not apply to the method; a backward that cannot follow the forward; an
        indefinite input detected by the ``eigh`` or ``mpa`` factorisations, or by the residual
        certificate (see Notes).
    RuntimeError
        ``backward="autograd"`` under :func:`torch.func.grad` nested inside :func:`torch.func.vmap`.

    Notes
    -----
    Gradient convention: the returned gradient is the solution of the Lyapunov equation for the
    incoming gradient as received, not symmetrised (see :mod:`mathsqrt.backward`). Second
    derivatives (``create_graph=True``) are available with ``backward="autograd"`` only; the other
    backward methods raise a ``RuntimeError`` when differentiated a second time.

    Normalisation is per matrix: each matrix of a batch is computed independently of the others.
    Each matrix is first scaled by an exact power of four that brings its largest entry into
    :math:`[1, 4)`, and the result unscaled by the matching power of two: inputs whose norm
    overflows (entries near the largest finite number) or underflows (tiny or subnormal entries)
    are computed as accurately as any other, and the gradient is unaffected.

    The computation runs in float32 or wider regardless of :func:`torch.autocast` (autocast is
    switched off inside); the result has the input's dtype, and the backward pass works inside and
    outside an autocast region, in float32 or wider. Exception: with ``backward="autograd"`` a
    backward pass called *inside* the region runs torch's own backward kernels in the region's
    low precision, as for any torch operation; call it outside, as PyTorch recommends.

    :func:`torch.func.vmap` (batch dimensions are native, so it maps onto one batched call),
    :func:`torch.func.grad` and :func:`torch.func.jacrev` work with every backward method;
    ``backward="autograd"`` cannot be differentiated by ``grad`` *inside* ``vmap``.
    :func:`torch.compile` works (the data checks are graph breaks). On ``meta`` tensors only
    the shape and dtype are propagated.

    A zero matrix gives a zero square root (and a finite gradient with the default methods).
    Indefinite inputs have no real square root: ``eigh`` raises a ``ValueError`` when an eigenvalue
    is negative beyond rounding; ``mpa`` raises when its Cholesky factorisation fails, which
    catches some indefinite inputs but not all; ``mtp`` and ``ns`` are polynomial iterations that
    do not see the sign of an eigenvalue, but the residual certificate catches what the methods'
    own error cannot explain (``sqrtm(-4 * I, method="ns")`` raises). An input that is indefinite
    by a little can still pass: the certificate guarantees a residual within twice
    :func:`residual_bound`, not positive semi-definiteness.

    The principal square root and its Fréchet derivative (the Lyapunov equation) are in [2]_, Ch. 6.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
    .. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Ch. 6.

    Examples
    --------
    >>> import torch, mathsqrt
    >>> A = torch.tensor([[4.0, 0.0], [0.0, 9.0]], dtype=torch.float64)
    >>> mathsqrt.sqrtm(A, method="eigh")
    tensor([[2., 0.],
            [0., 3.]], dtype=torch.float64)
    """
    options = dict(
        degree=degree,
        iters=iters,
        tol=tol,
        backward_iters=backward_iters,
        backward_tol=backward_tol,
        backward_degree=backward_degree,
    )
    return _matrix_power(A, False, method, backward, check_finite, options, check_residual)


def invsqrtm(
    A: torch.Tensor,
    *,
    method: Optional[str] = None,
    degree: Optional[Degree] = None,
    iters: Optional[int] = None,
    tol: Optional[float] = None,
    backward: Optional[str] = None,
    backward_iters: Optional[int] = None,
    backward_tol: Optional[float] = None,
    backward_degree: Optional[int] = None,
    check_finite: bool = True,
    check_residual: bool = True,
) -> torch.Tensor:
    r"""Differentiable inverse square root :math:`A^{-1/2}` of symmetric positive definite matrices.

    MPA: :math:`A^{-1/2} \approx P(Z)^{-1}Q(Z)/\sqrt{\|A\|_F}` ([1]_, appendix A.6). The gradient
    :math:`X` solves :math:`A^{1/2} X + X A^{1/2} = -R\,G\,R` with :math:`R = A^{-1/2}`,
    equivalently :math:`R X + X R = -A^{-1} G A^{-1}`.

    Parameters
    ----------
    A : Tensor, shape ``(n, n)`` or ``(..., n, n)``
        Symmetric positive definite matrices; see :func:`sqrtm`.
    method, degree, iters, backward, backward_iters, backward_tol, backward_degree, check_finite, check_residual
        As in :func:`sqrtm`, with the same defaults. The residual certificate is
        :math:`\|Y A Y - I\|_F/\sqrt n` (two extra matmuls).

    Returns
    -------
    Tensor
        Same shape, dtype and device as ``A``.

    Raises
    ------
    TypeError, ValueError
        As :func:`sqrtm`; also ``ValueError`` for a zero matrix, and for a singular matrix with
        ``method="eigh"``.

    Notes
    -----
    The polynomial methods do not detect a singular or nearly singular input: their result is then
    large and inaccurate (the MPA error formula :func:`mathsqrt.coefficients.pade_relative_error`
    says how inaccurate). See :func:`sqrtm` for the gradient convention and indefinite inputs.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.

    Examples
    --------
    >>> import torch, mathsqrt
    >>> A = torch.tensor([[4.0, 0.0], [0.0, 16.0]], dtype=torch.float64)
    >>> mathsqrt.invsqrtm(A, method="eigh")
    tensor([[0.5000, 0.0000],
            [0.0000, 0.2500]], dtype=torch.float64)
    """
    options = dict(
        degree=degree,
        iters=iters,
        tol=tol,
        backward_iters=backward_iters,
        backward_tol=backward_tol,
        backward_degree=backward_degree,
    )
    return _matrix_power(A, True, method, backward, check_finite, options, check_residual)
