r"""Public entry points :func:`sqrtm` and :func:`invsqrtm`: validate, dispatch, ``apply``."""

from __future__ import annotations

import functools
import numbers
from typing import Optional, Tuple, Union

import torch

from . import forward as fw
from .autograd import MatrixSquareRoot

__all__ = ["sqrtm", "invsqrtm", "METHODS", "BACKWARDS", "DEFAULTS"]

#: Forward methods.
METHODS = ("mpa", "mtp", "ns", "eigh")
#: Backward methods; ``"autograd"`` differentiates through the forward computation itself.
BACKWARDS = ("lyapunov", "eigh", "autograd", "bartels-stewart", "svd-taylor", "svd-pade", "svd-pi")
#: The paper's defaults ([1] Sec. 4): MPA [5/5], MTP degree 11, NS 5 iterations, Lyapunov 8 iterations.
DEFAULTS = {"mpa": (5, 5), "mtp": 11, "ns": 5, "lyapunov": 8}

Degree = Union[int, Tuple[int, int]]


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


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
        work = A.float() if A.dtype in (torch.float16, torch.bfloat16) else A
        asym = fw.frobenius_norm(work.detach() - work.detach().transpose(-2, -1))
        norm = fw.frobenius_norm(work.detach())
        # sqrt(eps) of the dtype; half-precision inputs carry their own (coarser) rounding
        rtol = torch.finfo(A.dtype).eps if work is not A else torch.finfo(A.dtype).eps ** 0.5
        bad = asym > rtol * norm
        if bool(bad.any()):
            worst = float((asym / norm.clamp_min(torch.finfo(work.dtype).tiny)).max())
            raise ValueError(
                f"{fname}: input is not symmetric: relative asymmetry ||A - A^T||_F / ||A||_F = {worst:.3g} "
                f"exceeds {rtol:.2g} (symmetrise it, e.g. (A + A.mT) / 2)"
            )


def _forward_fn(method: str, degree, iters, inverse: bool):
    if method == "mpa":
        if iters is not None:
            raise ValueError("iters applies to method='ns' only; MPA takes degree=K or degree=(m, n)")
        if degree is None:
            m, n = DEFAULTS["mpa"]
        elif isinstance(degree, tuple) and len(degree) == 2:
            m, n = (_check_int("degree[0] (numerator degree m)", degree[0], 0), _check_int("degree[1] (denominator degree n)", degree[1], 0))
        elif isinstance(degree, (tuple, list)):
            raise ValueError(f"degree for MPA must be an int K or a pair (m, n), got {degree!r}")
        else:
            m = n = _check_int("degree", degree, 0)
        fn = functools.partial(fw.mpa, degree=(m, n), inverse=inverse)
    elif method == "mtp":
        if iters is not None:
            raise ValueError("iters applies to method='ns' only; MTP takes degree=K")
        K = DEFAULTS["mtp"] if degree is None else _check_int("degree", degree, 0)
        fn = functools.partial(fw.mtp, degree=K, inverse=inverse)
    elif method == "ns":
        if degree is not None:
            raise ValueError("degree applies to MPA and MTP; Newton-Schulz takes iters=T")
        T = DEFAULTS["ns"] if iters is None else _check_int("iters", iters, 1)
        fn = functools.partial(fw.newton_schulz, iters=T, inverse=inverse)
    elif method == "eigh":
        if degree is not None or iters is not None:
            raise ValueError("method='eigh' takes neither degree nor iters")
        return functools.partial(fw.eigh_forward, inverse=inverse)
    else:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(repr(m) for m in METHODS)}")
    return lambda A: (fn(A), None, None)


def _backward_options(backward: str, backward_iters, backward_tol) -> dict:
    if backward == "lyapunov":
        opts = {}
        if backward_iters is not None:
            opts["iters"] = _check_int("backward_iters", backward_iters, 1)
        if backward_tol is not None:
            if isinstance(backward_tol, bool) or not isinstance(backward_tol, numbers.Real):
                raise TypeError(f"backward_tol must be a real number, got {type(backward_tol).__name__}")
            if not backward_tol > 0:
                raise ValueError(f"backward_tol must be positive, got {backward_tol}")
            opts["tol"] = float(backward_tol)
        return opts
    # The SVD baselines (mathsqrt.baselines, method="eigh" only): backward_iters is the Taylor
    # degree K, the Padé [n/n] degree n, or the number of power iterations.
    svd = {"svd-taylor": ("degree", 0), "svd-pade": ("degree", 1), "svd-pi": ("iters", 1)}
    if backward in svd:
        if backward_tol is not None:
            raise ValueError(f"backward_tol applies to backward='lyapunov', not {backward!r}")
        key, minimum = svd[backward]
        return {} if backward_iters is None else {key: _check_int("backward_iters", backward_iters, minimum)}
    if backward_iters is not None or backward_tol is not None:
        raise ValueError(f"backward_iters/backward_tol apply to backward='lyapunov' (and backward_iters to 'svd-*'), not {backward!r}")
    return {}


def _matrix_power(A, inverse, method, degree, iters, backward, backward_iters, backward_tol, check_finite):
    fname = "invsqrtm" if inverse else "sqrtm"
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, got {type(method).__name__}")
    if not isinstance(backward, str):
        raise TypeError(f"backward must be a string, got {type(backward).__name__}")
    if backward not in BACKWARDS:
        raise ValueError(f"unknown backward {backward!r}; choose one of {', '.join(repr(b) for b in BACKWARDS)}")
    forward_fn = _forward_fn(method, degree, iters, inverse)
    if backward.startswith("svd-") and method != "eigh":
        raise ValueError(f"backward={backward!r} differentiates the eigendecomposition: it needs method='eigh', not {method!r}")
    options = _backward_options(backward, backward_iters, backward_tol)
    _validate_matrix(A, check_finite=check_finite, fname=fname)
    if inverse:
        # the largest entry, not the norm: the squared entries of a tiny matrix underflow
        if bool((A.detach().abs().amax(dim=(-2, -1)) == 0).any()):
            raise ValueError("invsqrtm: a matrix of the batch is zero; its inverse square root does not exist")

    low_precision = A.dtype in (torch.float16, torch.bfloat16)
    work = A.float() if low_precision else A
    if backward == "autograd":
        out = forward_fn(work)[0]
    else:
        out = MatrixSquareRoot.apply(work, forward_fn, inverse, backward, options)
    return out.to(A.dtype) if low_precision else out


_KEYWORDS_DOC = r"""
    Parameters
    ----------
    A : Tensor, shape ``(n, n)`` or ``(..., n, n)``
        Symmetric positive (semi-)definite matrices, any real floating dtype, any device. float16 and
        bfloat16 are computed in float32 and returned in the input dtype. ``A`` is never modified.
    method : {"mpa", "mtp", "ns", "eigh"}
        Forward method: matrix Padé approximant (default), matrix Taylor polynomial, coupled
        Newton–Schulz iteration, or eigendecomposition.
    degree : int or (int, int), optional
        MTP degree ``K`` (default 11), or the MPA degree: ``K`` for ``[K/K]`` (default 5) or ``(m, n)``.
    iters : int, optional
        Newton–Schulz iterations (default 5).
    backward : {"lyapunov", "eigh", "autograd", "bartels-stewart", "svd-taylor", "svd-pade", "svd-pi"}
        Backward method: the matrix-sign Lyapunov solver (default), the exact eigenbasis solution,
        differentiation through the forward computation itself (for NS this is the paper's NS
        backward; for ``method="eigh"`` it is torch's eigendecomposition gradient, the deliberate
        unstabilised SVD baseline of Eq. (2), NaN at an exact eigenvalue tie), or the scipy
        Bartels–Stewart reference (CPU, float64, slow). The paper's stabilised SVD baselines need
        ``method="eigh"`` and return a symmetrised gradient (:mod:`mathsqrt.baselines`):
        ``"svd-taylor"`` (truncated geometric series for :math:`1/(\lambda_i-\lambda_j)`),
        ``"svd-pade"`` (its Padé form, which is exact: only an exact tie is guarded) and
        ``"svd-pi"`` (backpropagation through deflated power iterations).
    backward_iters : int, optional
        Lyapunov iterations (default 8), or their maximum when ``backward_tol`` is given (default 60).
        For ``"svd-taylor"`` the degree :math:`K` (default 20; the paper uses 20 for ZCA, 100 for
        covariance pooling), for ``"svd-pade"`` the degree ``n`` of ``[n/n]`` (default 10; 10 and 50),
        for ``"svd-pi"`` the power iterations (default 20; 20 and 100).
    backward_tol : float, optional
        Stop the Lyapunov iteration once :math:`\|B_k - I\|_F \le` ``backward_tol`` for every matrix.
    check_finite : bool
        Check that ``A`` has no NaN/Inf and is symmetric to a relative tolerance
        (:math:`\sqrt{\epsilon}` of the dtype), like scipy's ``check_finite``. Costs a reduction and a
        host synchronisation.

    Raises
    ------
    TypeError
        Not a tensor; integer, bool or complex dtype; non-integer degree or iterations.
    ValueError
        Fewer than two dimensions, non-square or empty input; NaN/Inf or asymmetric input (with
        ``check_finite``); unknown method or backward; negative degree or iterations; an option
        that does not apply to the method; an indefinite input detected by the ``eigh`` or ``mpa``
        factorisations (see Notes)."""


def sqrtm(
    A: torch.Tensor,
    *,
    method: str = "mpa",
    degree: Optional[Degree] = None,
    iters: Optional[int] = None,
    backward: str = "lyapunov",
    backward_iters: Optional[int] = None,
    backward_tol: Optional[float] = None,
    check_finite: bool = True,
) -> torch.Tensor:
    return _matrix_power(A, False, method, degree, iters, backward, backward_iters, backward_tol, check_finite)


def invsqrtm(
    A: torch.Tensor,
    *,
    method: str = "mpa",
    degree: Optional[Degree] = None,
    iters: Optional[int] = None,
    backward: str = "lyapunov",
    backward_iters: Optional[int] = None,
    backward_tol: Optional[float] = None,
    check_finite: bool = True,
) -> torch.Tensor:
    return _matrix_power(A, True, method, degree, iters, backward, backward_iters, backward_tol, check_finite)


sqrtm.__doc__ = (
    r"""Differentiable principal square root :math:`A^{1/2}` of symmetric positive semi-definite matrices.

    The forward and backward methods are chosen independently (Song, Sebe & Wang 2022 [1]_):
    :math:`A^{1/2} \approx \sqrt{\|A\|_F}\,Q(Z)^{-1}P(Z)` with :math:`Z = I - A/\|A\|_F` (MPA, Eq. 13),
    and the gradient :math:`X` solves :math:`A^{1/2} X + X A^{1/2} = \partial l/\partial A^{1/2}`
    (Eq. 17), by the matrix-sign iteration (Eq. 20–22).
"""
    + _KEYWORDS_DOC
    + r"""

    Returns
    -------
    Tensor
        Same shape, dtype and device as ``A``.

    Notes
    -----
    Gradient convention: the returned gradient is the solution of the Lyapunov equation for the
    incoming gradient as received, not symmetrised (see :mod:`mathsqrt.backward`). Second
    derivatives (``create_graph=True``) are available with ``backward="autograd"`` only; the other
    backward methods raise a ``RuntimeError`` when differentiated a second time.

    Normalisation is per matrix: each matrix of a batch is computed independently of the others.

    A zero matrix gives a zero square root (and a finite gradient with the default methods).
    Singular PSD inputs are fine for every method except that the exact gradients blow up as
    eigenvalues approach zero. Indefinite inputs have no real square root: ``eigh`` raises a
    ``ValueError`` when an eigenvalue is negative beyond rounding; ``mpa`` raises when its Cholesky
    factorisation fails, which catches some indefinite inputs but not all; ``mtp`` and ``ns`` are
    polynomial iterations that return a finite matrix that is not a square root. Check definiteness
    yourself (or use ``method="eigh"``) when it is in doubt.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.

    Examples
    --------
    >>> import torch, mathsqrt
    >>> A = torch.tensor([[4.0, 0.0], [0.0, 9.0]], dtype=torch.float64)
    >>> mathsqrt.sqrtm(A, method="eigh")
    tensor([[2., 0.],
            [0., 3.]], dtype=torch.float64)
"""
)

invsqrtm.__doc__ = (
    r"""Differentiable inverse square root :math:`A^{-1/2}` of symmetric positive definite matrices.

    MPA: :math:`A^{-1/2} \approx P(Z)^{-1}Q(Z)/\sqrt{\|A\|_F}` ([1]_, appendix A.6). The gradient
    :math:`X` solves :math:`A^{1/2} X + X A^{1/2} = -R\,G\,R` with :math:`R = A^{-1/2}`,
    equivalently :math:`R X + X R = -A^{-1} G A^{-1}`.
"""
    + _KEYWORDS_DOC
    + r"""

    Returns
    -------
    Tensor
        Same shape, dtype and device as ``A``.

    Notes
    -----
    A zero matrix raises ``ValueError``; so does a singular matrix with ``method="eigh"``. The
    polynomial methods do not detect a singular or nearly singular input: their result is then
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
)
