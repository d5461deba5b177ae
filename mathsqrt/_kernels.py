r"""Private kernels shared by the core modules: one home for each small helper.

Nothing here is public API; the functions are batched over leading dimensions, per matrix, and keep
the dtype and device of their input. Matrix products and factorisations go through
:mod:`mathsqrt.counting` so that they can be counted.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from typing import Iterator, Optional, Tuple

import torch

from . import counting as ops

__all__ = [
    "HALF_DTYPES",
    "compute_dtype",
    "promote",
    "sym",
    "add_diagonal",
    "exponent",
    "exact_pow2",
    "pow2_scale",
    "pow4_scaling",
    "frobenius_norm",
    "spd_solve",
    "check_int",
    "check_real",
    "check_bool",
    "no_autocast",
    "functorch_levels",
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


#: (signed integer dtype of the same width, mantissa bits, exponent bias) of the compute dtypes.
_IEEE = {torch.float32: (torch.int32, 23, 127), torch.float64: (torch.int64, 52, 1023)}


def _ieee(dtype: torch.dtype):
    try:
        return _IEEE[dtype]
    except KeyError:
        raise TypeError(f"expected float32 or float64 (compute float16/bfloat16 in float32), got {dtype}") from None


def exponent(x: torch.Tensor) -> torch.Tensor:
    r""":math:`\lfloor \log_2 x \rfloor` of each positive finite entry of ``x``, exactly, from its bits.

    The IEEE-754 exponent field, read through a bit cast (no ``frexp``, which some compilers of
    :func:`torch.compile` reject in float64). Subnormals are first multiplied by :math:`2^{64}`
    (exact). Zero gives a value below the subnormal range and ``inf``/``NaN`` one above the
    largest exponent; callers clamp.

    Parameters
    ----------
    x : Tensor, float32 or float64, entries :math:`\ge 0`

    Returns
    -------
    Tensor of the signed integer dtype of the same width, shape of ``x``.
    """
    itype, mantissa, bias = _ieee(x.dtype)
    sub = x < torch.finfo(x.dtype).tiny
    xn = torch.where(sub, x * 2.0**64, x)
    biased = (xn.view(itype) >> mantissa) & (2 * bias + 1)
    return biased - bias - torch.where(sub, 64, 0).to(itype)


def exact_pow2(e: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    r""":math:`2^e` for integer ``e``, built from its bits: exact on every device and compiler.

    ``e`` is clamped to the normal range of ``dtype`` (:math:`[-126, 127]` for float32,
    :math:`[-1022, 1023]` for float64).
    """
    itype, mantissa, bias = _ieee(dtype)
    e = e.to(itype).clamp(1 - bias, bias)
    return ((e + bias) << mantissa).view(dtype)


def pow2_scale(A: torch.Tensor) -> torch.Tensor:
    r"""Per-matrix power of two :math:`2^e` with :math:`2^e \le \max_{ij}|a_{ij}| < 2^{e+1}`.

    Dividing by it is exact (only the exponent changes) and brings the largest entry into
    :math:`[1, 2)`. The exponent is clamped to the normal range of the dtype: a matrix whose entries
    are all subnormal (or zero) is divided by the smallest normal power of two, which is still
    exact and leaves its largest entry in :math:`[2^{-p}, 1)` (:math:`p` the mantissa bits).
    Shape ``(..., 1, 1)``; treated as a constant by autograd (computed from ``A.detach()``).
    Built from the bits of the exponent (:func:`exponent`, :func:`exact_pow2`), so that
    :func:`torch.compile` handles it in float32 and float64.
    """
    amax = A.detach().abs().amax(dim=(-2, -1), keepdim=True)
    return exact_pow2(exponent(amax), A.dtype)


def pow4_scaling(A: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""Per-matrix exact scaling :math:`c = 4^{-k}` that brings the largest entry of ``A`` into :math:`[1, 4)`.

    :math:`(cA)^{1/2} = 2^{-k} A^{1/2}`: because :math:`c` is an even power of two, scaling the
    input and undoing it on the square root (by :math:`2^{k}`) or on the inverse square root (by
    :math:`2^{-k}`) are both exact. This is what keeps inputs whose norm overflows (entries near
    the largest finite number) or underflows (tiny or subnormal entries) computable. The exponent is
    clamped to the normal range (a matrix of subnormals is scaled by :math:`2^{126}` or
    :math:`2^{1022}`, exactly); zero and non-finite matrices get :math:`c = 1`.

    Parameters
    ----------
    A : Tensor, shape ``(..., n, n)``, float32 or float64

    Returns
    -------
    c : Tensor, shape ``(..., 1, 1)``
        :math:`4^{-k}`, a constant for autograd.
    root : Tensor, shape ``(..., 1, 1)``
        :math:`2^{k} = c^{-1/2}`: multiply the square root of :math:`cA` by it (divide the inverse
        square root by it).
    """
    amax = A.detach().abs().amax(dim=(-2, -1), keepdim=True)
    _, _, bias = _ieee(A.dtype)
    e = exponent(amax)
    ok = (amax > 0) & torch.isfinite(amax)
    k = torch.where(ok, torch.div(e, 2, rounding_mode="floor"), torch.zeros_like(e))
    k = k.clamp(-(bias // 2), bias // 2)  # 4^{-k} and 2^k stay normal
    return exact_pow2(-2 * k, A.dtype), exact_pow2(k, A.dtype)


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

    Notes
    -----
    Scaling before summing squares is the classical remedy for overflow and underflow in norms
    ([1]_); the norm is the normalisation of Eq. (4) of [2]_.

    References
    ----------
    .. [1] J. L. Blue, "A portable Fortran program to find the Euclidean norm of a vector", ACM Trans.
       Math. Softw. 4(1), 1978 (scaling against overflow and underflow).
    .. [2] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (4).
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

    Notes
    -----
    A solve instead of an inverse follows [1]_, Sec. 3.1.2 (after Eq. (13)); the stability of the
    Cholesky factorisation of SPD matrices is [2]_, Ch. 10.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 3.1.2, Eq. (13).
    .. [2] N. J. Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., SIAM, 2002, Ch. 10.
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


def check_real(name: str, value, *, positive: bool = False, nonnegative: bool = False, finite: bool = True) -> float:
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


def check_bool(name: str, value) -> bool:
    """``value`` if it is a ``bool``, else a ``TypeError`` naming ``name`` (``None`` is not a bool)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


@contextlib.contextmanager
def no_autocast(device_type: str) -> Iterator[None]:
    """Disable :func:`torch.autocast` for ``device_type`` inside the block (a no-op where it has none).

    Matrix square roots are computed in float32 or wider whatever the caller's autocast region says:
    autocast would otherwise run their matrix products in bfloat16/float16 and mix dtypes.
    """
    available = getattr(torch.amp.autocast_mode, "is_autocast_available", None)
    if available is not None and not available(device_type):
        yield
        return
    with torch.autocast(device_type=device_type, enabled=False):
        yield


def functorch_levels(x: torch.Tensor) -> Tuple[str, ...]:
    """The :mod:`torch.func` transforms wrapping ``x``, outermost wrapper first: ``"vmap"`` or ``"grad"``.

    Empty for a plain tensor (also outside any transform). Used to keep data-dependent checks
    (``bool(tensor)``), which ``vmap`` cannot run, where the data is real.
    """
    functorch = getattr(torch._C, "_functorch", None)
    if functorch is None or torch.compiler.is_compiling():
        # torch.compile traces transforms itself (and cannot trace these queries)
        return ()
    levels = []
    while functorch.is_functorch_wrapped_tensor(x):
        levels.append("vmap" if functorch.is_batchedtensor(x) else "grad")
        x = functorch.get_unwrapped(x)
    return tuple(levels)
