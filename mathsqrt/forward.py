r"""Forward methods for :math:`A^{1/2}` and :math:`A^{-1/2}`: plain batched tensor functions.

Every function takes ``A`` of shape ``(..., n, n)`` (symmetric positive (semi-)definite, not
checked here: validation lives in :mod:`mathsqrt.api`), works on any floating dtype and device,
normalises **each matrix by its own** Frobenius norm, and has no Python loop over the batch.
They are differentiable by autograd (that is ``backward="autograd"``); the custom backward
passes live in :mod:`mathsqrt.backward`.

All matrix products, factorisations and solves go through :mod:`mathsqrt.counting`, so their
number can be measured: MTP of degree ``K`` costs ``K - 1`` matmuls, MPA ``[m/n]``
``max(m, n) - 1`` matmuls plus one Cholesky solve, coupled Newton–Schulz ``3T - 3`` matmuls for
``T >= 2`` iterations (the paper counts ``3T``; products with the identity are skipped).

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
.. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Eq. (6.35).
.. [3] P. Li, J. Xie, Q. Wang, Z. Gao, "Towards Faster Training of Global Covariance Pooling
   Networks by Iterative Matrix Square Root Normalization", CVPR 2018 (iSQRT-COV).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from . import counting as ops
from ._kernels import add_diagonal as _add_diagonal
from ._kernels import frobenius_norm, spd_solve
from .coefficients import compose_one_minus, pade_coefficients, taylor_coefficients

__all__ = [
    "frobenius_norm",
    "frobenius_normalise",
    "mtp",
    "mpa",
    "newton_schulz",
    "eigh_forward",
    "ns_matmul_count",
]

_HALF = Fraction(1, 2)
_NOT_SPD = (
    "it is not positive definite: the input is not symmetric positive semi-definite "
    "(or is too ill-conditioned for this dtype)"
)


def frobenius_normalise(A: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""Per-matrix Frobenius norm and :math:`Z = I - A/\|A\|_F`.

    Returns
    -------
    norm : Tensor, shape ``(..., 1, 1)``
        :math:`\|A\|_F` of each matrix (zero for a zero matrix).
    Z : Tensor, shape ``(..., n, n)``
        With the norm of a zero matrix replaced by 1, so that ``Z = I`` there instead of NaN.
    """
    norm = frobenius_norm(A, keepdim=True)
    safe = torch.where(norm > 0, norm, torch.ones_like(norm))
    Z = _add_diagonal(A / safe, 1.0, scale=-1.0)
    return norm, Z


def _polynomials(
    X: torch.Tensor, polys: Sequence[Sequence[Fraction]], keep: Optional[List[torch.Tensor]] = None
) -> Tuple[torch.Tensor, ...]:
    r"""Evaluate polynomials (ascending exact coefficients) at the same matrix ``X``, batched.

    One polynomial: Horner's rule with fused ``c_k I + acc @ X`` products (``baddbmm`` with the
    ``(n, n)`` identity broadcast over the batch), ``d - 1`` matmuls and no other full-size
    operation. Several: the powers ``X^2 .. X^d`` are formed once (``d - 1`` matmuls) and
    accumulated into every polynomial as they appear, so no list of powers is kept — unless
    ``keep`` is a list: then the Horner accumulators :math:`H_{d-1}, \dots, H_1` (one polynomial)
    or the powers :math:`X, \dots, X^{d-1}` (several) are appended to it, flattened to
    ``(B, n, n)``, for :mod:`mathsqrt.adjoint`.
    """
    shape, n = X.shape, X.shape[-1]
    X = X.reshape(-1, n, n)
    degree = max(len(p) for p in polys) - 1
    if len(polys) == 1 and degree >= 2:
        (p,) = polys
        eye = torch.eye(n, dtype=X.dtype, device=X.device)
        acc = _add_diagonal(X * float(p[-1]), float(p[-2]))
        for c in reversed(p[:-2]):
            if keep is not None:
                keep.append(acc)
            acc = ops.addmatmul(eye * float(c), acc, X)
        return (acc.reshape(shape),)
    accs = []
    for p in polys:
        acc = X * float(p[1]) if len(p) > 1 else torch.zeros_like(X)
        acc.diagonal(dim1=-2, dim2=-1).add_(float(p[0]))
        accs.append(acc)
    power = X
    for k in range(2, degree + 1):
        if keep is not None:
            keep.append(power)
        power = ops.matmul(power, X)
        for p, acc in zip(polys, accs):
            if k < len(p) and p[k] != 0:
                acc.add_(power, alpha=float(p[k]))
    return tuple(acc.reshape(shape) for acc in accs)


def mtp(A: torch.Tensor, degree: int = 11, *, inverse: bool = False, return_aux: bool = False):
    r"""Matrix Taylor polynomial (MTP) of degree ``K``.

    .. math:: A^{\pm 1/2} \approx \|A\|_F^{\pm 1/2} \sum_{k=0}^{K} c_k Z^k, \qquad Z = I - A/\|A\|_F,

    with :math:`c_k` the exact Taylor coefficients of :math:`(1-z)^{\pm 1/2}`
    (:func:`mathsqrt.coefficients.taylor_coefficients`); [1]_, Eq. (10).

    Parameters
    ----------
    A : Tensor, shape ``(..., n, n)``
    degree : int
        Truncation degree ``K >= 0``; costs ``K - 1`` matmuls.
    inverse : bool
        Compute :math:`A^{-1/2}` instead of :math:`A^{1/2}`.
    return_aux : bool
        Also return the dict of intermediates that :func:`mathsqrt.adjoint.mtp_adjoint` reuses.

    Returns
    -------
    Tensor, shape ``(..., n, n)``, same dtype and device as ``A`` (and the dict with ``return_aux``).
    """
    norm, Z = frobenius_normalise(A)
    keep: Optional[List[torch.Tensor]] = [] if return_aux else None
    (series,) = _polynomials(Z, [taylor_coefficients(degree, -_HALF if inverse else _HALF)], keep)
    out = series / norm.sqrt() if inverse else series * norm.sqrt()
    if not return_aux:
        return out
    aux: Dict[str, torch.Tensor] = {"norm": norm, "Z": Z.reshape(-1, Z.shape[-2], Z.shape[-1])}
    aux.update({f"H{k}": H for k, H in enumerate(keep)})
    return out, aux


def mpa(A: torch.Tensor, degree=(5, 5), *, inverse: bool = False, return_aux: bool = False):
    r"""Matrix Padé approximant (MPA) ``[m/n]``.

    .. math:: A^{1/2} \approx \sqrt{\|A\|_F}\; Q(Z)^{-1} P(Z), \qquad
              A^{-1/2} \approx P(Z)^{-1} Q(Z) / \sqrt{\|A\|_F},

    with :math:`P/Q` the exact ``[m/n]`` Padé approximant of :math:`\sqrt{1-z}`
    (:func:`mathsqrt.coefficients.pade_coefficients`); [1]_, Eq. (13) and appendix A.6.

    The polynomials are evaluated in :math:`W = A/\|A\|_F = I - Z` rather than in :math:`Z`, with
    exactly re-expanded coefficients (:func:`mathsqrt.coefficients.compose_one_minus`): the same
    rational function and matmul count, but for diagonal approximants all coefficients are
    positive, so high degrees stay accurate in floating point (the monomial form in :math:`Z` loses
    ~4 digits in float64 at ``K = 25``). What remains is the conditioning of the solve,
    :math:`\mathrm{cond}(Q(W))\,\epsilon`, which grows with the degree: in float32 degrees beyond
    ~15 gain nothing over ~12.

    The quotient is obtained by **solving** :math:`Q X = P` (or :math:`P X = Q`), never by forming
    an inverse. Both matrices are polynomials in ``Z`` (so they commute) and, for an SPD input, are
    themselves SPD whenever the polynomial is positive on ``[0, 1]`` — true for the diagonal
    approximants (:func:`mathsqrt.coefficients.pade_denominator_minimum`) — so a Cholesky solve is
    used: cheaper than LU, and free of the batched-LU hang of the CPU build of torch 2.13.

    Parameters
    ----------
    A : Tensor, shape ``(..., n, n)``
    degree : int or (int, int)
        ``K`` for the diagonal ``[K/K]``, or ``(m, n)``; costs ``max(m, n) - 1`` matmuls and one
        Cholesky solve.
    inverse : bool
        Compute :math:`A^{-1/2}`.
    return_aux : bool
        Also return the powers of :math:`W` and the Cholesky factor that
        :func:`mathsqrt.adjoint.mpa_adjoint` reuses.

    Raises
    ------
    ValueError
        If the matrix to factorise is not positive definite (the input is not SPD).
    """
    m, n = (degree, degree) if isinstance(degree, int) else degree
    norm = frobenius_norm(A, keepdim=True)
    W = A / torch.where(norm > 0, norm, torch.ones_like(norm))  # W = I - Z
    keep: Optional[List[torch.Tensor]] = [] if return_aux else None
    P, Q = _polynomials(W, [compose_one_minus(c) for c in pade_coefficients(m, n, _HALF)], keep)
    if inverse:
        X, L = spd_solve(P, Q, what="the Padé numerator P(Z)", hint=_NOT_SPD)
        out = X / norm.sqrt()
    else:
        X, L = spd_solve(Q, P, what="the Padé denominator Q(Z)", hint=_NOT_SPD)
        out = X * norm.sqrt()
    if not return_aux:
        return out
    n_ = A.shape[-1]
    aux: Dict[str, torch.Tensor] = {"norm": norm, "L": L.reshape(-1, n_, n_)}
    aux.update({f"W{k}": Wk for k, Wk in enumerate(keep)})
    return out, aux


def ns_matmul_count(iters: int, *, inverse: bool = False) -> int:
    """Matmuls performed by :func:`newton_schulz` with ``iters`` iterations (``3T - 3`` for ``T >= 2``)."""
    if iters == 1:
        return 0 if inverse else 1
    return 3 * iters - 3


def newton_schulz(A: torch.Tensor, iters: int = 5, *, inverse: bool = False, return_aux: bool = False):
    r"""Coupled Newton–Schulz iteration ([2]_, Eq. (6.35); [3]_; [1]_, Eq. (4)).

    .. math:: Y_0 = A/\|A\|_F,\ Z_0 = I,\quad T_k = \tfrac12(3I - Z_k Y_k),\quad
              Y_{k+1} = Y_k T_k,\ Z_{k+1} = T_k Z_k,

    then :math:`A^{1/2} \approx \sqrt{\|A\|_F}\,Y_T` and :math:`A^{-1/2} \approx Z_T/\sqrt{\|A\|_F}`.
    It converges only locally (hence the normalisation) and slowly for small normalised eigenvalues.

    Parameters
    ----------
    A : Tensor, shape ``(..., n, n)``
    iters : int
        Number of iterations ``T >= 1``. Products with the identity (first iteration) and the
        branch not needed at the last iteration are skipped: ``3T - 3`` matmuls for ``T >= 2``
        (see :func:`ns_matmul_count`).
    inverse : bool
        Return the inverse square root.
    return_aux : bool
        Also return the iterates that :func:`mathsqrt.adjoint.ns_adjoint` reuses.
    """
    shape, n = A.shape, A.shape[-1]
    norm = frobenius_norm(A, keepdim=True)
    safe = torch.where(norm > 0, norm, torch.ones_like(norm))
    Y = (A / safe).reshape(-1, n, n)  # a flat batch: bmm/baddbmm throughout
    eye15 = torch.eye(n, dtype=A.dtype, device=A.device) * 1.5  # broadcast over the batch
    Zk = None  # Z_k, implicitly the identity at k = 0
    aux: Dict[str, torch.Tensor] = {"norm": norm}
    for k in range(iters):
        last = k == iters - 1
        # T_k = 1.5 I - 0.5 Z_k Y_k (one fused product; no product with Z_0 = I)
        T = _add_diagonal(Y, 1.5, scale=-0.5) if Zk is None else ops.addmatmul(eye15, Zk, Y, alpha=-0.5)
        if return_aux:
            aux.update({f"Y{k}": Y, f"T{k}": T})
            if Zk is not None:
                aux[f"Z{k}"] = Zk
        if not (last and inverse):
            Y = ops.matmul(Y, T)
        if not (last and not inverse):
            Zk = T if Zk is None else ops.matmul(T, Zk)
    out = (Zk if inverse else Y).reshape(shape)
    out = out / norm.sqrt() if inverse else out * norm.sqrt()
    return (out, aux) if return_aux else out


def eigh_forward(A: torch.Tensor, *, inverse: bool = False):
    r"""Square root or inverse square root through the eigendecomposition :math:`A = U \Lambda U^T`.

    .. math:: A^{\pm 1/2} = U\, \mathrm{diag}(\lambda_i^{\pm 1/2})\, U^T.

    Eigenvalues that are negative only by rounding (above :math:`-n\,\epsilon \max|\lambda|`) are
    set to zero. Only the lower triangle of ``A`` is read.

    Returns
    -------
    out : Tensor, shape ``(..., n, n)``
    U : Tensor, shape ``(..., n, n)``
        Eigenvectors.
    lam : Tensor, shape ``(..., n)``
        Eigenvalues after clipping, ascending.

    Raises
    ------
    ValueError
        If a matrix is indefinite beyond rounding, or (``inverse=True``) singular.
    """
    lam, U = ops.eigh(A)
    n = A.shape[-1]
    tol = n * torch.finfo(lam.dtype).eps * lam.abs().amax(dim=-1, keepdim=True)
    if bool((lam < -tol).any()):
        worst = float(lam.amin())
        raise ValueError(f"input is not positive semi-definite: smallest eigenvalue {worst:.3g} is negative")
    lam = lam.clamp_min(0)
    if inverse:
        if bool((lam[..., :1] <= 0).any()):
            raise ValueError("input is singular (a zero eigenvalue): its inverse square root does not exist")
        f = lam.rsqrt()
    else:
        f = lam.sqrt()
    out = ops.matmul(U * f.unsqueeze(-2), U.transpose(-2, -1))
    return out, U, lam
