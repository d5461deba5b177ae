r"""Backward methods: solvers of the Lyapunov equation that gives the gradient of a matrix square root.

Differentiating :math:`S S = A` gives, for a loss :math:`l` with :math:`G = \partial l/\partial S`,

.. math:: S X + X S = G, \qquad X = \partial l / \partial A,

and through :math:`R = A^{-1/2} = S^{-1}` (so :math:`dR = -R\,dS\,R`),

.. math:: S X + X S = -R G R \quad\Longleftrightarrow\quad R X + X R = -A^{-1} G A^{-1}.

Convention (all methods): the returned gradient is the solution :math:`X` of that equation for the
``G`` received, **not symmetrised**. It is the exact gradient of the principal square root as a
function of a general matrix, evaluated at the computed forward value; it is symmetric whenever
``G`` is. For a symmetric input only its symmetric part acts.

Singular and near-singular input (the exact backward passes, square root): the eigenbasis solution
divides by :math:`s_i + s_j`, which vanishes for a pair of null directions. :func:`grad_eigh` (and the
SVD baselines of :mod:`mathsqrt.baselines`) treat every eigenvalue at most
:math:`\tau = \sqrt n\,\epsilon\,\lambda_{\max}` of its own matrix (the rounding level of a
backward-stable eigensolver; see :func:`grad_eigh`) as an exact zero and return the
minimum-norm solution: zero on the null–null block, :math:`\hat G_{ij}/s_j` between a null and a
non-null direction. Perturbations of features never reach the null–null block (for
:math:`A = FF^T/N`, :math:`u_i^T dA\,u_j = 0` when :math:`u_i^T F = u_j^T F = 0`), so the gradient with
respect to ``F`` is exact; the eigenbasis entries of :func:`grad_eigh` are bounded by
:math:`|\hat G_{ij}|/\sqrt\tau`. Matrices of condition number below :math:`1/(\sqrt n\,\epsilon)` are
unaffected, bit for bit.

Everything is batched with per-matrix scales; products go through :mod:`mathsqrt.counting`.

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 3.2,
   Eq. (17)–(22) and Algorithm 2.
.. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Ch. 5 (matrix sign)
   and Sec. 6.1.
.. [3] R. H. Bartels, G. W. Stewart, "Solution of the matrix equation AX + XB = C", Comm. ACM 15 (1972).
.. [4] N. J. Higham, T. Mary, "A New Approach to Probabilistic Rounding Error Analysis", SIAM J. Sci.
   Comput. 41(5), 2019: backward error bounds of order :math:`nu` hold with :math:`\sqrt n\,u` with high
   probability (Wilkinson's rule of thumb made rigorous).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Dict, Optional

import numpy as np
import torch

from . import counting as ops
from ._kernels import frobenius_norm, sym
from .scaled import lyapunov_scaled

__all__ = [
    "LyapunovInfo",
    "lyapunov_sign",
    "lyapunov_eigenbasis",
    "lyapunov_bartels_stewart",
    "Saved",
    "grad_lyapunov",
    "grad_lyapunov_ns",
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

    Notes
    -----
    The paper proposes the Frobenius norm of :math:`B_k - I` as the termination criterion ([1]_, after Eq. (22))
    and tabulates it against the number of iterations ([1]_, appendix A.7.2).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (22) and appendix A.7.2.
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

    Returns
    -------
    X : Tensor, shape ``(..., n, n)``
        The approximate solution :math:`\tfrac12 C_T`, dtype and device of ``G``.
    info : LyapunovInfo
        Only with ``return_info=True``.

    Notes
    -----
    Small eigenvalues of :math:`B_0` grow by only ~1.5 per iteration before quadratic convergence
    sets in: for :math:`\lambda_{\min}/\|A\|_F = 10^{-4}` some 20 iterations are needed. Use ``tol``
    for ill-conditioned inputs.

    The sign-function approach to Lyapunov and Sylvester equations, and the Newton–Schulz
    iteration for the sign, are in [2]_, Ch. 5.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 3.2, Eq. (17)–(22) and Algorithm 2.
    .. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Ch. 5 (the matrix sign function).
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
    for k in range(1, iters + 1):  # noqa: B007 - k is the iteration count reported after the loop
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
    r"""Exact (minimum-norm) solution of :math:`S X + X S = G` for :math:`S = U \mathrm{diag}(s) U^T`.

    In the eigenbasis the operator :math:`X \mapsto SX + XS` is diagonal, with entries
    :math:`s_i + s_j`; its Moore–Penrose pseudo-inverse gives

    .. math::

        X = U \hat X U^T, \qquad
        \hat X_{ij} = \begin{cases} \hat G_{ij}/(s_i + s_j) & s_i + s_j \ne 0, \\
                                     0 & s_i + s_j = 0, \end{cases}
        \qquad \hat G = U^T G U.

    For a positive definite ``S`` the denominator never vanishes (unlike the
    :math:`1/(\lambda_i - \lambda_j)` of autograd through ``eigh``) and this is the unique solution.
    For a singular positive semi-definite ``S`` the equation has a solution only when
    :math:`\hat G_{ij} = 0` on the null block; :math:`X` is then the solution of least Frobenius norm,
    and otherwise the least-squares solution of least norm. Four matmuls.

    Parameters
    ----------
    U : Tensor, shape ``(..., n, n)``
        Orthonormal eigenvectors (columns).
    s : Tensor, shape ``(..., n)``
        Eigenvalues of ``S``; exact zeros mark null directions. Callers that diagonalise a computed
        matrix should first set the numerically null ones to zero (as :func:`grad_eigh` does).
    G : Tensor, shape ``(..., n, n)``
        Right-hand side.

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        :math:`X`, with :math:`|\hat X_{ij}| \le |\hat G_{ij}| / \min_{s_k + s_l \ne 0} |s_k + s_l|`.

    Notes
    -----
    This is the closed form of the Lyapunov equation (Eq. (15)–(16) of [1]_) in the eigenbasis, where
    the Kronecker sum of Eq. (16) is diagonal; see also [2]_, Sec. 6.1, for the Fréchet derivative of
    the square root as the solution of this equation.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (14)–(16).
    .. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Sec. 6.1.
    """
    Ut = U.transpose(-2, -1)
    Gt = ops.matmul(ops.matmul(Ut, G), U)
    denom = s.unsqueeze(-1) + s.unsqueeze(-2)
    # pseudo-inverse of the diagonal operator: divide where s_i + s_j != 0, zero elsewhere
    # (division by the denominator itself, so that a nonsingular S gives bit-for-bit the plain formula)
    solvable = denom != 0
    Xt = torch.where(solvable, Gt / torch.where(solvable, denom, torch.ones_like(denom)), torch.zeros_like(Gt))
    return ops.matmul(ops.matmul(U, Xt), Ut)


def lyapunov_bartels_stewart(S: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    r"""Reference solution of :math:`S X + X S = G` by ``scipy.linalg.solve_continuous_lyapunov``.

    Bartels–Stewart ([1]_): a Schur decomposition and a triangular Sylvester solve, in float64 on the
    CPU, one matrix at a time. Slow, exact to rounding: the test oracle. The result is returned in
    ``G``'s dtype and device.

    Parameters
    ----------
    S : Tensor, shape ``(..., n, n)``
        Symmetric positive definite coefficient.
    G : Tensor, shape ``(..., n, n)``
        Right-hand side.

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        :math:`X`, dtype and device of ``G``.

    Notes
    -----
    The paper mentions Bartels–Stewart as the classical, GPU-unfriendly alternative to its iterative
    solver ([2]_, Sec. 3.2).

    References
    ----------
    .. [1] R. H. Bartels, G. W. Stewart, "Solution of the matrix equation AX + XB = C",
       Comm. ACM 15(9), 1972.
    .. [2] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 3.2.
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
    aux : dict of str to Tensor
        Intermediate results a forward method keeps for a backward that asked for them (e.g. the
        powers and the factorisation that an exact adjoint reuses); empty otherwise.

    Notes
    -----
    The backward of [1]_ (Algorithm 2) needs only ``out`` and the incoming gradient; the other
    fields serve the exact and adjoint backwards.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Algorithm 1 (what the forward computes) and Algorithm 2 (what the backward
       needs: the square root and the incoming gradient).
    """

    A: torch.Tensor
    out: torch.Tensor
    inverse: bool
    U: Optional[torch.Tensor] = None
    lam: Optional[torch.Tensor] = None
    aux: Dict[str, torch.Tensor] = field(default_factory=dict)


def _lyapunov_problem(G: torch.Tensor, saved: Saved):
    """``(S, rhs)`` of the Lyapunov equation behind ``saved``: ``(out, G)``, or ``(A R, -R G R)`` (3 matmuls)."""
    if saved.inverse:
        R = saved.out
        return ops.matmul(saved.A, R), -ops.matmul(ops.matmul(R, G), R)
    return saved.out, G


def grad_lyapunov_ns(G: torch.Tensor, saved: Saved, *, iters: Optional[int] = None, tol: Optional[float] = None):
    r"""Gradient by the paper's matrix-sign Lyapunov solver (:func:`lyapunov_sign`, [1]_ Algorithm 2).

    Square root: solves :math:`S X + X S = G`. Inverse square root: forms :math:`S = A R` and solves
    :math:`S X + X S = -R G R` (3 extra matmuls). Scale :math:`c = \sqrt{\|A\|_F}` per matrix.
    This is ``backward="lyapunov-ns"``, kept for teaching and comparison; the default
    ``backward="lyapunov"`` is :func:`grad_lyapunov`.

    Parameters
    ----------
    G : Tensor, shape ``(..., n, n)``
        Incoming gradient :math:`\partial l/\partial S` (or :math:`\partial l/\partial R`).
    saved : Saved
        From the forward pass.
    iters : int, optional
        Iterations (default 8, the paper's); with ``tol``, the maximum.
    tol : float, optional
        Per-matrix stopping tolerance on :math:`\|B_k - I\|_F`.

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        :math:`\partial l/\partial A`.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 3.2, Eq. (17)–(22), Algorithm 2 and appendix A.6.
    """
    scale = frobenius_norm(saved.A, keepdim=True).sqrt()
    S, rhs = _lyapunov_problem(G, saved)
    return lyapunov_sign(S, rhs, scale=scale, iters=iters, tol=tol)


#: Lower bound on :math:`\lambda_{\min}(S)/\lambda_{\max}(S)` that :func:`grad_lyapunov` designs its
#: fixed number of steps for (:math:`\kappa(A) \le 10^4`), and the optimistic one it starts from
#: when a tolerance is given (the iteration then continues until converged).
DEFAULT_LOWER = 1e-2
DEFAULT_LOWER_TOL = 1e-3


def grad_lyapunov(
    G: torch.Tensor,
    saved: Saved,
    *,
    iters: Optional[int] = None,
    tol: Optional[float] = None,
    lower: Optional[float] = None,
):
    r"""Gradient by the optimally scaled matrix-sign Lyapunov solver (:func:`mathsqrt.scaled.lyapunov_scaled`).

    The same equation as :func:`grad_lyapunov_ns` (the paper's), solved by the sign iteration with
    per-step optimal cubics (Chen & Chow [1]_) and a guaranteed per-matrix bound on
    :math:`\lambda_{\max}(S)` instead of the paper's Newton–Schulz steps: the same 6 matmuls per
    step (plus 2 for the bound). The default 8 steps are designed for
    :math:`\lambda_{\min}(S)/\lambda_{\max}(S) \ge` :data:`DEFAULT_LOWER` (condition of
    :math:`A` up to :math:`10^4`).
    With ``tol`` each matrix stops on its own once :math:`\|B_k - I\|_F \le` ``tol``, starting from
    the optimistic bound :data:`DEFAULT_LOWER_TOL` and continuing until converged.

    Parameters
    ----------
    G : Tensor, shape ``(..., n, n)``
    saved : Saved
    iters : int, optional
        Steps (default 8; with ``tol``, the maximum, default: until converged).
    tol : float, optional
        Per-matrix stopping tolerance on :math:`\|B_k - I\|_F`.
    lower : float, optional
        Lower bound on :math:`\lambda_{\min}(S)/\lambda_{\max}(S)`.

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        :math:`\partial l/\partial A`.

    Notes
    -----
    A zero matrix gets a zero gradient; otherwise the convention is that of :func:`lyapunov_sign`.

    Measured accuracy (relative gradient error for the exact :math:`S` of 64×64 matrices, default
    8 steps): :math:`3\cdot10^{-6}` at condition :math:`10^2` and :math:`2\cdot10^{-6}` at
    :math:`10^4` (the paper's 8 steps of Eq. (20)–(22) of [2]_: 0.015 and 0.63) and 0.5 at
    :math:`10^6` (paper: 0.95).

    References
    ----------
    .. [1] J. Chen, E. Chow, "A stable scaling of Newton–Schulz for improving the sign function
       computation of a Hermitian matrix", Argonne preprint ANL/MCS-P5059-0114, 2014.
    .. [2] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (20)–(22).
    """
    S, rhs = _lyapunov_problem(G, saved)
    if tol is None and iters is None:
        iters = DEFAULT_ITERS
    if lower is None:
        lower = DEFAULT_LOWER if tol is None else DEFAULT_LOWER_TOL
    zero = S.detach().abs().amax(dim=(-2, -1), keepdim=True) == 0
    if bool(zero.any()):
        S = torch.where(zero, torch.eye(S.shape[-1], dtype=S.dtype, device=S.device), S)
        return torch.where(zero, torch.zeros_like(G), lyapunov_scaled(S, rhs, lower=lower, iters=iters, tol=tol))
    return lyapunov_scaled(S, rhs, lower=lower, iters=iters, tol=tol)


def grad_eigh(G: torch.Tensor, saved: Saved) -> torch.Tensor:
    r"""Exact gradient in the eigenbasis (:func:`lyapunov_eigenbasis`).

    With the eigendecomposition of the forward (method ``"eigh"``) it costs four matmuls; otherwise
    the computed output (symmetrised) is diagonalised first. Square root, with :math:`s_i = \sqrt{\lambda_i}`
    and :math:`\hat G = U^T G U`: :math:`X = U\,[\hat G_{ij}/(s_i + s_j)]\,U^T`. Inverse square root:
    :math:`X = -U\,[\hat G_{ij} / (s_i s_j (s_i + s_j))]\,U^T`.

    Parameters
    ----------
    G : Tensor, shape ``(..., n, n)``
        Incoming gradient :math:`\partial l/\partial S` (or :math:`\partial l/\partial R`).
    saved : Saved
        From the forward pass; ``U`` and ``lam`` are used when present.

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        :math:`\partial l/\partial A`, not symmetrised. For the square root after the ``"eigh"``
        forward, every eigenbasis entry is bounded by :math:`|\hat G_{ij}|/\sqrt{\tau}`,
        :math:`\tau = \sqrt n\,\epsilon\,\lambda_{\max}` (see Notes).

    Notes
    -----
    *Singular and near-singular input (square root).* An eigenvalue
    :math:`\lambda_i \le \tau = \sqrt n\,\epsilon\,\lambda_{\max}` (:math:`\epsilon` of the dtype,
    :math:`\lambda_{\max}` of **the same matrix**, never of the batch) is treated as an exact zero,
    :math:`s_i = 0`: a backward-stable eigensolver returns the eigenvalues of :math:`A + E` with
    :math:`\|E\|_2 \le p(n)\,\epsilon\,\lambda_{\max}`, so such an eigenvalue is indistinguishable
    from rounding noise. Then

    .. math::

        \hat X_{ij} = \frac{\hat G_{ij}}{s_i + s_j} \ \text{(unchanged)}, \qquad
        \hat X_{ij} = \frac{\hat G_{ij}}{s_j} \ (s_i = 0 < s_j), \qquad
        \hat X_{ij} = 0 \ (s_i = s_j = 0),

    the minimum-norm solution of :math:`SX + XS = G` (:func:`lyapunov_eigenbasis`). The square root
    is not differentiable at a singular matrix along directions :math:`dA` with a nonzero null–null
    block (:math:`(A + t\,uu^T)^{1/2}` grows like :math:`\sqrt t`), but those are exactly the
    directions that perturbations of a factor cannot reach: for :math:`A = FF^T/N` and null vectors
    :math:`u_i^T F = 0`, :math:`u_i^T dA\, u_j = (u_i^T dF\,F^T u_j + u_i^T F\,dF^T u_j)/N = 0`. So
    :math:`\partial l/\partial F = (X + X^T)F/N` never reads the null–null entries, while the mixed
    entries :math:`\hat G_{ij}/s_j` are the exact derivative along the rank-preserving directions
    (differentiate :math:`s_i\,dS_{ij} + dS_{ij}\,s_j = dA_{ij}` with :math:`s_i = 0`). The result is
    the exact gradient of :math:`F \mapsto (FF^T/N)^{1/2}` for every ``F`` of full column rank whose
    nonzero eigenvalues :math:`\sigma_k^2/N` exceed :math:`\tau`, and it is bounded: every nonzero
    denominator is at least :math:`\sqrt\tau`. Eigenvalues above :math:`\tau` are untouched, so a
    matrix of condition number below :math:`1/(\sqrt n\,\epsilon)` gets bit for bit the plain formula.
    When the output is diagonalised instead (other forward methods), the gradient is that of the
    computed :math:`S`, and the threshold is the rounding level of its own eigenvalues,
    :math:`s_i \le \sqrt n\,\epsilon\,s_{\max}` (an approximate forward does not map the null space
    of :math:`A` to small eigenvalues of :math:`S`: MPA :math:`[K/K]` maps it to
    :math:`\sqrt{\|A\|_F}/(2K+1)`).

    *Choice of* :math:`\tau`. The worst-case :math:`p(n)` is of order :math:`n` (the rank tolerance
    :math:`n\epsilon\lambda_{\max}` of ``numpy.linalg.matrix_rank``), but rounding errors accumulate
    like :math:`\sqrt n` in practice ([1]_). On covariances :math:`FF^T/N` of rank :math:`N < n`
    formed in floating point (float32 and float64, :math:`n = 2 \ldots 256`, plain, centred and with
    column scales spread over :math:`10^2`), the computed null eigenvalues stayed below
    :math:`1.7\sqrt n\,\epsilon\lambda_{\max}`. A threshold is a trade-off for a full-rank matrix
    with genuine eigenvalues near the noise: they are dropped. :math:`\tau = 2\sqrt n\,\epsilon`
    catches all the noise seen but costs float32 gradients at :math:`n = 64`, condition
    :math:`10^6`, an error of 0.45 instead of 0.03; the larger :math:`n\epsilon` is worse still
    (a 2% feature-gradient error at :math:`n = 256`, rank 250, float32). :math:`\tau = \sqrt n\,\epsilon`
    keeps those genuine eigenvalues; a noise eigenvalue that slips above it (small :math:`n`) gives an
    entry of at most :math:`|\hat G_{ij}|/\sqrt\tau`, bounded, which the feature gradient multiplies
    by a factor of the same noise level.

    The inverse square root keeps the plain formula: its gradient genuinely grows like
    :math:`\lambda_{\min}^{-3/2}`, and the ``"eigh"`` forward refuses a singular matrix.

    Unlike the eigendecomposition gradient (Eq. (2) of [2]_), the denominators :math:`s_i + s_j`
    never vanish for a positive definite matrix.

    References
    ----------
    .. [1] N. J. Higham, T. Mary, "A New Approach to Probabilistic Rounding Error Analysis", SIAM J.
       Sci. Comput. 41(5), 2019.
    .. [2] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (2) and (15).
    """
    if saved.U is not None:
        U, lam = saved.U, saved.lam
        s = lam.sqrt()
        if not saved.inverse:
            # numerically null eigenvalues, lam <= sqrt(n) eps lam_max of each matrix, are exact zeros
            tol = lam.shape[-1] ** 0.5 * torch.finfo(lam.dtype).eps * lam.abs().amax(dim=-1, keepdim=True)
            s = torch.where(lam > tol, s, torch.zeros_like(s))
    else:
        lam, U = ops.eigh(sym(saved.out))
        lam = lam.clamp_min(0)
        if saved.inverse:
            s = 1.0 / lam.clamp_min(torch.finfo(lam.dtype).tiny)  # the eigenvalues of R are 1/s
        else:
            # lam are the s_i of the computed S: its own rounding level, s_i <= sqrt(n) eps s_max
            tol = lam.shape[-1] ** 0.5 * torch.finfo(lam.dtype).eps * lam.amax(dim=-1, keepdim=True)
            s = torch.where(lam > tol, lam, torch.zeros_like(lam))
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

    Parameters
    ----------
    G : Tensor, shape ``(..., n, n)``
        Incoming gradient.
    saved : Saved
        From the forward pass (only ``out`` is used).

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        :math:`\partial l/\partial A`, dtype and device of ``G``.

    Notes
    -----
    The Lyapunov equation is solved by the Bartels–Stewart algorithm ([1]_), through
    :func:`lyapunov_bartels_stewart`.

    References
    ----------
    .. [1] R. H. Bartels, G. W. Stewart, "Solution of the matrix equation AX + XB = C",
       Comm. ACM 15(9), 1972.
    """
    if saved.inverse:
        R = saved.out.detach().to("cpu", torch.float64)
        R2 = R @ R
        rhs = -(R2 @ G.detach().to("cpu", torch.float64) @ R2)
        return lyapunov_bartels_stewart(R, rhs).to(device=G.device, dtype=G.dtype)
    return lyapunov_bartels_stewart(saved.out, G)
