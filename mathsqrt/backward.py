r"""Backward methods: solvers of the Lyapunov equation that gives the gradient of a matrix square root.

Differentiating :math:`S S = A` gives, for a loss :math:`l` with :math:`G = \partial l/\partial S`,

.. math:: S X + X S = G, \qquad X = \partial l / \partial A,

and through :math:`R = A^{-1/2} = S^{-1}` (so :math:`dR = -R\,dS\,R`),

.. math:: S X + X S = -R G R \quad\Longleftrightarrow\quad R X + X R = -A^{-1} G A^{-1}.

Convention (all methods): the returned gradient is the solution :math:`X` of that equation for the
``G`` received, **not symmetrised**. It is the exact gradient of the principal square root as a
function of a general matrix, evaluated at the computed forward value; it is symmetric whenever
``G`` is. For a symmetric input only its symmetric part acts.

Everything is batched with per-matrix scales; products go through :mod:`mathsqrt.counting`.

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 3.2,
   Eq. (17)–(22) and Algorithm 2.
.. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Ch. 5 (matrix sign)
   and Sec. 6.1.
.. [3] R. H. Bartels, G. W. Stewart, "Solution of the matrix equation AX + XB = C", Comm. ACM 15 (1972).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from . import counting as ops
from ._kernels import frobenius_norm, sym

__all__ = [
    "LyapunovInfo",
    "lyapunov_sign",
    "lyapunov_eigenbasis",
    "lyapunov_bartels_stewart",
    "Saved",
    "grad_lyapunov",
    "grad_eigh",
    "grad_bartels_stewart",
]

DEFAULT_ITERS = 8
DEFAULT_MAX_ITERS = 60


@dataclass
class LyapunovInfo:
    """Convergence record of :func:`lyapunov_sign`.

    Attributes
    ----------
    iterations : int
        Iterations performed.
    residual : Tensor, shape ``(...)``
        :math:`\\|B_T - I\\|_F` of each matrix at the end.
    converged : bool or None
        Whether every matrix met ``tol`` (``None`` when no tolerance was given).
    """

    iterations: int
    residual: torch.Tensor
    converged: Optional[bool]


def _identity_residual(B: torch.Tensor) -> torch.Tensor:
    D = B.clone()
    D.diagonal(dim1=-2, dim2=-1).sub_(1)
    return torch.linalg.matrix_norm(D)


def lyapunov_sign(
    S: torch.Tensor,
    G: torch.Tensor,
    *,
    scale: Optional[torch.Tensor] = None,
    iters: Optional[int] = None,
    tol: Optional[float] = None,
    return_info: bool = False,
):
    r"""Solve :math:`S X + X S = G` by the Newton–Schulz iteration for the matrix sign function.

    The block matrix :math:`H = \begin{pmatrix} S & G \\ 0 & -S\end{pmatrix}` has
    :math:`\mathrm{sign}(H) = \begin{pmatrix} I & 2X \\ 0 & -I\end{pmatrix}`; iterating
    :math:`H \leftarrow \tfrac12 H(3I - H^2)` on its blocks, from :math:`B_0 = S/c`, :math:`C_0 = G/c`:

    .. math:: B_{k+1} = \tfrac12 B_k(3I - B_k^2), \qquad
              C_{k+1} = \tfrac12\left(-B_k^2 C_k + B_k C_k B_k + C_k(3I - B_k^2)\right),

    and :math:`X \approx \tfrac12 C_T` ([1]_, Eq. (20)–(22), Algorithm 2). Six matmuls per iteration.

    Parameters
    ----------
    S : Tensor, shape ``(..., n, n)``
        Symmetric positive (semi-)definite coefficient (the square root).
    G : Tensor, shape ``(..., n, n)``
        Right-hand side (the incoming gradient).
    scale : Tensor, shape ``(..., 1, 1)``, optional
        Per-matrix scale :math:`c` that puts the eigenvalues of :math:`S/c` in :math:`(0, \sqrt3)`.
        Default: :math:`\|S\|_F` (the paper's choice). :func:`grad_lyapunov` passes
        :math:`\sqrt{\|A\|_F}`, which gives eigenvalues :math:`\sqrt{\lambda_i/\|A\|_F} \in (0, 1]`
        and converges faster.
    iters : int, optional
        Fixed number of iterations (default 8, the paper's). With ``tol``, the maximum (default 60).
    tol : float, optional
        Stop as soon as :math:`\|B_k - I\|_F \le` ``tol`` for **every** matrix of the batch (each
        matrix is judged on its own norm). A ``RuntimeWarning`` is issued if the maximum is reached.
    return_info : bool
        Also return a :class:`LyapunovInfo`.

    Notes
    -----
    Small eigenvalues of :math:`B_0` grow by only ~1.5 per iteration before quadratic convergence
    sets in: for :math:`\lambda_{\min}/\|A\|_F = 10^{-4}` some 20 iterations are needed. Use ``tol``
    for ill-conditioned inputs.
    """
    if scale is None:
        scale = frobenius_norm(S, keepdim=True)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    if iters is None:
        iters = DEFAULT_ITERS if tol is None else DEFAULT_MAX_ITERS
    shape, n = G.shape, G.shape[-1]
    # flatten the batch so that every update is one fused baddbmm (no elementwise temporaries)
    B = (S / scale).reshape(-1, n, n)
    C = (G / scale).reshape(-1, n, n)
    converged = None
    k = 0
    for k in range(1, iters + 1):
        B2 = ops.matmul(B, B)
        BC = ops.matmul(B, C)
        # C_{k+1} = 1.5 C + 0.5 B C B - 0.5 B (B C) - 0.5 C B^2
        C_new = ops.addmatmul(C, BC, B, beta=1.5, alpha=0.5)  # a new tensor: C is read again below
        ops.addmatmul_(C_new, B, BC, alpha=-0.5)
        C = ops.addmatmul_(C_new, C, B2, alpha=-0.5)
        # B_{k+1} = 1.5 B - 0.5 B B^2
        B = ops.addmatmul(B, B, B2, beta=1.5, alpha=-0.5)
        if tol is not None and bool((_identity_residual(B) <= tol).all()):
            converged = True
            break
    B = B.reshape(shape)
    C = C.reshape(shape)
    residual = _identity_residual(B)
    if tol is not None and converged is None:
        converged = False
        warnings.warn(
            f"Lyapunov solver stopped after {iters} iterations with max ||B - I||_F = "
            f"{float(residual.max()):.3g} > tol = {tol:g}; the gradient may be inaccurate "
            "(raise backward_iters)",
            RuntimeWarning,
            stacklevel=3,
        )
    X = 0.5 * C
    if return_info:
        return X, LyapunovInfo(iterations=k, residual=residual, converged=converged)
    return X


def lyapunov_eigenbasis(U: torch.Tensor, s: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    r"""Exact solution of :math:`S X + X S = G` for :math:`S = U \mathrm{diag}(s) U^T`.

    .. math:: X = U\left[\frac{(U^T G U)_{ij}}{s_i + s_j}\right] U^T.

    The denominator never vanishes for a positive definite ``S`` (unlike the
    :math:`1/(\lambda_i - \lambda_j)` of autograd through ``eigh``). Four matmuls.

    Parameters
    ----------
    U : Tensor, shape ``(..., n, n)``
    s : Tensor, shape ``(..., n)``
    G : Tensor, shape ``(..., n, n)``
    """
    Ut = U.transpose(-2, -1)
    Gt = ops.matmul(ops.matmul(Ut, G), U)
    denom = s.unsqueeze(-1) + s.unsqueeze(-2)
    denom = denom.clamp_min(torch.finfo(denom.dtype).tiny)
    return ops.matmul(ops.matmul(U, Gt / denom), Ut)


def lyapunov_bartels_stewart(S: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    r"""Reference solution of :math:`S X + X S = G` by ``scipy.linalg.solve_continuous_lyapunov``.

    Bartels–Stewart ([3]_): a Schur decomposition and a triangular Sylvester solve, in float64 on the
    CPU, one matrix at a time. Slow, exact to rounding: the test oracle. The result is returned in
    ``G``'s dtype and device.
    """
    from scipy.linalg import solve_continuous_lyapunov

    shape = G.shape
    n = shape[-1]
    S64 = S.detach().to("cpu", torch.float64).reshape(-1, n, n).numpy()
    G64 = G.detach().to("cpu", torch.float64).reshape(-1, n, n).numpy()
    X = np.stack([solve_continuous_lyapunov(s, g) for s, g in zip(S64, G64)])
    return torch.from_numpy(X).reshape(shape).to(device=G.device, dtype=G.dtype)


# --------------------------------------------------------------------------------------------------
# Gradients of sqrtm / invsqrtm, as used by mathsqrt.autograd.
# --------------------------------------------------------------------------------------------------


@dataclass
class Saved:
    """What the forward pass keeps for the backward pass.

    Attributes
    ----------
    A : Tensor
        The input (in the compute dtype).
    out : Tensor
        The forward result: :math:`S \\approx A^{1/2}` or :math:`R \\approx A^{-1/2}`.
    inverse : bool
        Whether ``out`` is the inverse square root.
    U, lam : Tensor or None
        Eigenvectors and (clipped) eigenvalues of ``A`` when the forward method was ``"eigh"``.
    """

    A: torch.Tensor
    out: torch.Tensor
    inverse: bool
    U: Optional[torch.Tensor] = None
    lam: Optional[torch.Tensor] = None


def grad_lyapunov(G: torch.Tensor, saved: Saved, *, iters: Optional[int] = None, tol: Optional[float] = None):
    r"""Gradient by the matrix-sign Lyapunov solver (:func:`lyapunov_sign`), the paper's backward.

    Square root: solves :math:`S X + X S = G`. Inverse square root: forms :math:`S = A R` and solves
    :math:`S X + X S = -R G R` (3 extra matmuls). Scale :math:`c = \sqrt{\|A\|_F}` per matrix.
    """
    norm = frobenius_norm(saved.A, keepdim=True)
    scale = norm.sqrt()
    if saved.inverse:
        R = saved.out
        S = ops.matmul(saved.A, R)
        rhs = -ops.matmul(ops.matmul(R, G), R)
    else:
        S, rhs = saved.out, G
    return lyapunov_sign(S, rhs, scale=scale, iters=iters, tol=tol)


def grad_eigh(G: torch.Tensor, saved: Saved) -> torch.Tensor:
    r"""Exact gradient in the eigenbasis (:func:`lyapunov_eigenbasis`).

    With the eigendecomposition of the forward (method ``"eigh"``) it costs four matmuls; otherwise
    the computed output (symmetrised) is diagonalised first. For the inverse square root, with
    :math:`s_i = \sqrt{\lambda_i}` and :math:`\hat G = U^T G U`:
    :math:`X = -U\,[\hat G_{ij} / (s_i s_j (s_i + s_j))]\,U^T`.
    """
    if saved.U is not None:
        U, s = saved.U, saved.lam.sqrt()
    else:
        lam, U = ops.eigh(sym(saved.out))
        lam = lam.clamp_min(0)
        # the eigenvalues of R are 1/s
        s = 1.0 / lam.clamp_min(torch.finfo(lam.dtype).tiny) if saved.inverse else lam
    if saved.inverse:
        # -R G R = -U diag(1/s) Ĝ diag(1/s) U^T
        r = 1.0 / s.clamp_min(torch.finfo(s.dtype).tiny)
        Ut = U.transpose(-2, -1)
        Gt = ops.matmul(ops.matmul(Ut, G), U) * (r.unsqueeze(-1) * r.unsqueeze(-2))
        denom = (s.unsqueeze(-1) + s.unsqueeze(-2)).clamp_min(torch.finfo(s.dtype).tiny)
        return -ops.matmul(ops.matmul(U, Gt / denom), Ut)
    return lyapunov_eigenbasis(U, s, G)


def grad_bartels_stewart(G: torch.Tensor, saved: Saved) -> torch.Tensor:
    r"""Reference gradient by Bartels–Stewart (scipy, CPU, float64).

    Square root: :math:`S X + X S = G`. Inverse: :math:`R X + X R = -R^2 G R^2`, written in terms of
    the computed :math:`R` only.
    """
    if saved.inverse:
        R = saved.out.detach().to("cpu", torch.float64)
        R2 = R @ R
        rhs = -(R2 @ G.detach().to("cpu", torch.float64) @ R2)
        return lyapunov_bartels_stewart(R, rhs).to(device=G.device, dtype=G.dtype)
    return lyapunov_bartels_stewart(saved.out, G)
