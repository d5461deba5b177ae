r"""Private kernels shared by the core modules: one home for each small helper.

Nothing here is public API; the functions are batched over leading dimensions, per matrix, and keep
the dtype and device of their input. Matrix products and factorisations go through
:mod:`mathsqrt.counting` so that they can be counted.
"""

from __future__ import annotations

import math
import numbers
from typing import Optional, Tuple

import torch

from . import counting as ops

__all__ = [
    "HALF_DTYPES",
    "compute_dtype",
    "promote",
    "sym",
    "add_diagonal",
    "pow2_scale",
    "frobenius_norm",
    "spd_solve",
    "check_int",
    "check_real",
]

#: Dtypes that are computed in float32 and returned in their own dtype.
HALF_DTYPES = (torch.float16, torch.bfloat16)


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype a computation on ``dtype`` runs in: float32 for float16/bfloat16, else ``dtype``."""
    return torch.float32 if dtype in HALF_DTYPES else dtype


def promote(x: torch.Tensor) -> torch.Tensor:
    """``x`` in its compute dtype (:func:`compute_dtype`); the same tensor when no cast is needed."""
    return x.float() if x.dtype in HALF_DTYPES else x


def sym(X: torch.Tensor) -> torch.Tensor:
    r"""Symmetric part :math:`(X + X^T)/2` of each matrix."""
    return 0.5 * (X + X.transpose(-2, -1))


def add_diagonal(X: torch.Tensor, c: float, *, scale: float = 1.0) -> torch.Tensor:
    """Return ``scale * X + c * I`` as a new tensor (no identity of the batch's size is built)."""
    out = X * scale if scale != 1.0 else X.clone()
    out.diagonal(dim1=-2, dim2=-1).add_(c)
    return out


def pow2_scale(A: torch.Tensor) -> torch.Tensor:
    r"""Per-matrix power of two :math:`2^e` with :math:`2^e \le \max_{ij}|a_{ij}| < 2^{e+1}`.

    Dividing by it is exact (only the exponent changes) and brings the largest entry into
    :math:`[1, 2)`. Shape ``(..., 1, 1)``; :math:`1/2` for a zero matrix (which it leaves zero).
    Treated as a constant by autograd (computed from ``A.detach()``).
    """
    amax = A.detach().abs().amax(dim=(-2, -1), keepdim=True)
    _, exponent = torch.frexp(amax)  # amax = m 2^exponent, m in [0.5, 1); exponent 0 for zero
    return torch.ldexp(torch.ones_like(amax), exponent - 1)


def frobenius_norm(A: torch.Tensor, *, keepdim: bool = False) -> torch.Tensor:
    r"""Per-matrix Frobenius norm :math:`\|A\|_F`, free of underflow and of needless overflow.

    ``torch.linalg.matrix_norm`` sums the squared entries, which overflow (to ``inf``) or underflow
    (to 0) in float32 once the entries exceed about :math:`10^{19}` or fall below :math:`10^{-19}`.
    Here each matrix is first divided by the power of two :func:`pow2_scale`, so the scaling is
    exact and, away from those extremes, the result is bitwise the unscaled norm:

    .. math:: \|A\|_F = 2^e\,\|A / 2^e\|_F, \qquad 2^{e} \le \max_{ij}|a_{ij}| < 2^{e+1}.

    The result itself overflows only when :math:`\|A\|_F` exceeds the largest finite number of the
    dtype (entries within a factor :math:`n` of it). The scale is a constant for autograd (the norm
    is homogeneous of degree one, so its gradient :math:`A/\|A\|_F` is unchanged).

    Parameters
    ----------
    A : Tensor, shape ``(..., n, n)``, floating point
    keepdim : bool
        Return shape ``(..., 1, 1)`` instead of ``(...)``.

    Returns
    -------
    Tensor, shape ``(...)`` or ``(..., 1, 1)``, dtype of ``A``
        Zero for a zero matrix.
    """
    scale = pow2_scale(A)
    norm = torch.linalg.matrix_norm(A / scale, keepdim=True) * scale
    return norm if keepdim else norm.squeeze(-1).squeeze(-1)


def spd_solve(
    S: torch.Tensor, B: torch.Tensor, *, what: str = "the matrix", hint: Optional[str] = None
) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""Solve :math:`S X = B` for symmetric positive definite ``S`` by a Cholesky factorisation.

    Never ``torch.linalg.solve``/``inv``: a Cholesky solve is cheaper for SPD systems and free of
    the batched-LU hang of the CPU build of torch 2.13. Differentiable by autograd.

    Parameters
    ----------
    S : Tensor, shape ``(..., n, n)``
        Symmetric positive definite (only its lower triangle is read).
    B : Tensor, shape ``(..., n, k)``
    what : str
        Name of ``S`` in the error message.
    hint : str, optional
        What a failure means for the caller (replaces the generic "it is not positive definite").

    Returns
    -------
    X : Tensor, shape ``(..., n, k)``
    L : Tensor, shape ``(..., n, n)``
        The Cholesky factor, :math:`S = L L^T`.

    Raises
    ------
    ValueError
        If the factorisation fails for any matrix of the batch; the message names how many and
        the index of the first.
    """
    L, info = ops.cholesky(S)
    failed = info != 0
    if bool(failed.any()):
        bad = int(failed.sum())
        first = tuple(int(i) for i in failed.nonzero()[0]) if failed.dim() else ()
        where = f" (first at batch index {first})" if first else ""
        if not bool(torch.isfinite(S).all()):
            reason = "it contains NaN/Inf (is the input finite?)"
        else:
            reason = hint or "it is not positive definite"
        raise ValueError(f"Cholesky factorisation of {what} failed for {bad} matrix(es){where}: {reason}")
    return ops.cholesky_solve(B, L), L


def check_int(name: str, value, minimum: int, maximum: Optional[int] = None) -> int:
    """``value`` as an ``int`` in ``[minimum, maximum]``, or a ``TypeError``/``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return int(value)


def check_real(
    name: str, value, *, positive: bool = False, nonnegative: bool = False, finite: bool = True
) -> float:
    """``value`` as a ``float``; rejects bools, non-reals, NaN, and (by default) infinities.

    Raises a ``TypeError`` for a non-real and a ``ValueError`` naming ``name`` otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must be a number, got NaN")
    if finite and math.isinf(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")
    if nonnegative and not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value
