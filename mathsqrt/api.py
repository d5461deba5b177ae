r"""Public entry points :func:`sqrtm` and :func:`invsqrtm`: validate, dispatch, ``apply``."""

from __future__ import annotations

from typing import Optional, Tuple, Union

import torch

from . import methods
from ._kernels import HALF_DTYPES, frobenius_norm, promote
from .autograd import MatrixSquareRoot

__all__ = ["sqrtm", "invsqrtm", "METHODS", "BACKWARDS"]

#: Names of the forward methods (keys of :data:`mathsqrt.methods.FORWARDS`).
METHODS = tuple(methods.FORWARDS)
#: Names of the backward methods (keys of :data:`mathsqrt.methods.BACKWARDS`); ``"autograd"``
#: differentiates through the forward computation itself.
BACKWARDS = tuple(methods.BACKWARDS)

Degree = Union[int, Tuple[int, int]]


def _validate_matrix(A, *, check_finite: bool, fname: str) -> None:
    if not isinstance(A, torch.Tensor):
        raise TypeError(f"{fname}: expected a torch.Tensor, got {type(A).__name__}")
    if A.dim() < 2:
        raise ValueError(f"{fname}: expected a matrix or a batch of matrices of shape (..., n, n), got shape {tuple(A.shape)}")
    if A.shape[-1] != A.shape[-2]:
        raise ValueError(f"{fname}: expected square matrices (..., n, n), got shape {tuple(A.shape)}")
    if A.numel() == 0:
        raise ValueError(f"{fname}: got an empty tensor of shape {tuple(A.shape)}")
    if A.is_complex():
        raise TypeError(f"{fname}: complex input ({A.dtype}) is not supported; expected a real floating dtype")
    if not A.is_floating_point():
        raise TypeError(f"{fname}: expected a floating-point tensor, got {A.dtype}")
    if check_finite:
        # one reduction on the fast path: a NaN or Inf anywhere makes the sum non-finite
        if not bool(torch.isfinite(A.detach().sum(dtype=torch.float64))) and not bool(torch.isfinite(A).all()):
            what = "NaN" if bool(torch.isnan(A).any()) else "Inf"
            raise ValueError(f"{fname}: input contains {what} (pass check_finite=False to skip this check)")
        work = promote(A)
        asym = frobenius_norm(work.detach() - work.detach().transpose(-2, -1))
        norm = frobenius_norm(work.detach())
        # sqrt(eps) of the dtype; half-precision inputs carry their own (coarser) rounding
        rtol = torch.finfo(A.dtype).eps if work is not A else torch.finfo(A.dtype).eps ** 0.5
        bad = asym > rtol * norm
        if bool(bad.any()):
            worst = float((asym / norm.clamp_min(torch.finfo(work.dtype).tiny)).max())
            raise ValueError(
                f"{fname}: input is not symmetric: relative asymmetry ||A - A^T||_F / ||A||_F = {worst:.3g} "
                f"exceeds {rtol:.2g} (symmetrise it, e.g. (A + A.mT) / 2)"
            )


def _matrix_power(A, inverse, method, backward, check_finite, options):
    fname = "invsqrtm" if inverse else "sqrtm"
    plan = methods.resolve(method, backward, **options)
    _validate_matrix(A, check_finite=check_finite, fname=fname)
    if inverse:
        # the largest entry, not the norm: the squared entries of a tiny matrix underflow
        if bool((A.detach().abs().amax(dim=(-2, -1)) == 0).any()):
            raise ValueError("invsqrtm: a matrix of the batch is zero; its inverse square root does not exist")

    work = promote(A)
    forward_fn = plan.forward_fn(inverse)
    backward_fn = plan.backward_fn()
    if backward_fn is None:
        out = forward_fn(work)[0]
    else:
        out = MatrixSquareRoot.apply(work, forward_fn, inverse, backward_fn, plan.backward.name)
    return out.to(A.dtype) if A.dtype in HALF_DTYPES else out


def sqrtm(
    A: torch.Tensor,
    *,
    method: str = "mpa",
    degree: Optional[Degree] = None,
    iters: Optional[int] = None,
    backward: Optional[str] = None,
    backward_iters: Optional[int] = None,
    backward_tol: Optional[float] = None,
    backward_degree: Optional[int] = None,
    check_finite: bool = True,
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
    method : {"mpa", "mtp", "ns", "eigh", "pi"}
        Forward method: matrix Padé approximant (default), matrix Taylor polynomial, coupled
        Newton–Schulz iteration, eigendecomposition, or So-ViT's power-iteration normalisation
        ``"pi"`` (a baseline that is not a square root; :func:`mathsqrt.power_iteration_sqrtm`).
    degree : int or (int, int), optional
        ``"mpa"``: ``K`` for the diagonal ``[K/K]`` approximant (default 5) or ``(m, n)``;
        ``"mtp"``: the Taylor degree ``K`` (default 11).
    iters : int, optional
        ``"ns"``: Newton–Schulz iterations (default 5); ``"pi"``: power iterations (default 1).
    backward : {"lyapunov", "eigh", "autograd", "bartels-stewart", "svd-taylor", "svd-pade", "svd-pi"}, optional
        Backward method: the matrix-sign Lyapunov solver (the default), the exact eigenbasis solution,
        differentiation through the forward computation itself (the default for ``"pi"``; for
        ``"ns"`` it is the paper's NS backward, for ``"eigh"`` torch's eigendecomposition gradient,
        the unstabilised SVD baseline of [1]_ Eq. 2, NaN at an exact eigenvalue tie), or scipy's
        Bartels–Stewart reference (CPU, float64, slow). The paper's stabilised SVD baselines
        ``"svd-taylor"``, ``"svd-pade"`` and ``"svd-pi"`` need ``method="eigh"`` and return a
        symmetrised gradient (:mod:`mathsqrt.baselines`).
    backward_iters : int, optional
        ``"lyapunov"``: iterations (default 8), or their maximum when ``backward_tol`` is given
        (default 60); ``"svd-pi"``: power iterations (default 20).
    backward_tol : float, optional
        ``"lyapunov"``: stop once :math:`\|B_k - I\|_F \le` ``backward_tol`` for every matrix.
    backward_degree : int, optional
        ``"svd-taylor"``: the Taylor degree :math:`K` (default 20); ``"svd-pade"``: the degree ``n`` of
        ``[n/n]`` (default 10). (``backward_iters`` is still accepted for these, with a
        ``DeprecationWarning``.)
    check_finite : bool
        Check that ``A`` has no NaN/Inf and is symmetric to a relative tolerance (the dtype's
        :math:`\epsilon`; :math:`\sqrt\epsilon` for float16/bfloat16), like scipy's ``check_finite``.
        Costs a reduction and a host synchronisation.

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
        indefinite input detected by the ``eigh`` or ``mpa`` factorisations (see Notes).

    Notes
    -----
    Gradient convention: the returned gradient is the solution of the Lyapunov equation for the
    incoming gradient as received, not symmetrised (see :mod:`mathsqrt.backward`). Second
    derivatives (``create_graph=True``) are available with ``backward="autograd"`` only; the other
    backward methods raise a ``RuntimeError`` when differentiated a second time.

    Normalisation is per matrix: each matrix of a batch is computed independently of the others.

    A zero matrix gives a zero square root (and a finite gradient with the default methods).
    Indefinite inputs have no real square root: ``eigh`` raises a ``ValueError`` when an eigenvalue
    is negative beyond rounding; ``mpa`` raises when its Cholesky factorisation fails, which
    catches some indefinite inputs but not all; ``mtp`` and ``ns`` are polynomial iterations that
    do not see the sign of an eigenvalue.

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
    options = dict(degree=degree, iters=iters, backward_iters=backward_iters, backward_tol=backward_tol, backward_degree=backward_degree)
    return _matrix_power(A, False, method, backward, check_finite, options)


def invsqrtm(
    A: torch.Tensor,
    *,
    method: str = "mpa",
    degree: Optional[Degree] = None,
    iters: Optional[int] = None,
    backward: Optional[str] = None,
    backward_iters: Optional[int] = None,
    backward_tol: Optional[float] = None,
    backward_degree: Optional[int] = None,
    check_finite: bool = True,
) -> torch.Tensor:
    r"""Differentiable inverse square root :math:`A^{-1/2}` of symmetric positive definite matrices.

    MPA: :math:`A^{-1/2} \approx P(Z)^{-1}Q(Z)/\sqrt{\|A\|_F}` ([1]_, appendix A.6). The gradient
    :math:`X` solves :math:`A^{1/2} X + X A^{1/2} = -R\,G\,R` with :math:`R = A^{-1/2}`,
    equivalently :math:`R X + X R = -A^{-1} G A^{-1}`.

    Parameters
    ----------
    A : Tensor, shape ``(n, n)`` or ``(..., n, n)``
        Symmetric positive definite matrices; see :func:`sqrtm`.
    method, degree, iters, backward, backward_iters, backward_tol, backward_degree, check_finite
        As in :func:`sqrtm`, with the same defaults.

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
    options = dict(degree=degree, iters=iters, backward_iters=backward_iters, backward_tol=backward_tol, backward_degree=backward_degree)
    return _matrix_power(A, True, method, backward, check_finite, options)
