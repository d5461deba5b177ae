r"""Forward methods for :math:`A^{1/2}` and :math:`A^{-1/2}`: plain batched tensor functions.

Every function takes ``A`` of shape ``(..., n, n)`` (symmetric positive (semi-)definite, not
checked here: validation lives in :mod:`mathsqrt.api`), works on any floating dtype and device,
normalises **each matrix by its own** Frobenius norm, and has no Python loop over the batch.
They are differentiable by autograd (that is ``backward="autograd"``); the custom backward
passes live in :mod:`mathsqrt.backward`.

All matrix products, factorisations and solves go through :mod:`mathsqrt.counting`, so their
number can be measured: MTP of degree ``K`` costs ``K - 1`` matmuls, MPA ``[m/n]``
``max(m, n) - 1`` matmuls plus one Cholesky solve (``K`` Cholesky solves for a diagonal ``[K/K]``
above ``[5/5]``, see :func:`mpa`), coupled Newton–Schulz ``3T - 3`` matmuls for
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
from .coefficients import (
    MPA_MAX_DEGREE,
    MPA_POLYNOMIAL_REFERENCE,
    compose_one_minus,
    pade_coefficients,
    pade_polynomial_rounding,
    pade_shifted_fractions,
    taylor_coefficients,
)

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

    Parameters
    ----------
    A : Tensor, shape ``(..., n, n)``

    Returns
    -------
    norm : Tensor, shape ``(..., 1, 1)``
        :math:`\|A\|_F` of each matrix (zero for a zero matrix).
    Z : Tensor, shape ``(..., n, n)``
        With the norm of a zero matrix replaced by 1, so that ``Z = I`` there instead of NaN.

    Notes
    -----
    The pre-normalisation that makes the series of [1]_, Eq. (10), converge.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (4) and (10).
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

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 3.1.1, Eq. (8)–(10), Table 1 and Algorithm 1.
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


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def _mpa_evaluation(m: int, n: int, inverse: bool, dtype: torch.dtype, return_aux: bool) -> str:
    """``"polynomial"`` or ``"partial-fractions"`` for MPA ``[m/n]`` in ``dtype``, or a ValueError.

    Polynomial evaluation where its a-priori rounding bound
    (:func:`mathsqrt.coefficients.pade_polynomial_rounding`) is no larger than that of the paper's
    ``[5/5]`` (cheapest, and bit for bit the historical result); otherwise partial fractions for a
    diagonal degree, and a refusal for an off-diagonal one. Degrees are capped at
    :data:`mathsqrt.coefficients.MPA_MAX_DEGREE`. Errors name the degree and the dtype.
    """
    label, name = f"[{m}/{n}]", _dtype_name(dtype)
    if max(m, n) > MPA_MAX_DEGREE:
        raise ValueError(
            f"MPA degree {label} is above the supported maximum {MPA_MAX_DEGREE} ({name} input; the same cap "
            f"for every dtype): diagonal degrees K <= {MPA_MAX_DEGREE} are evaluated stably, and "
            f"mathsqrt.coefficients.pade_degree_for_tolerance finds the degree that a tolerance needs"
        )
    reference = pade_polynomial_rounding(*MPA_POLYNOMIAL_REFERENCE, inverse=inverse)
    # No off-diagonal pair of total order 2 * (5 + 5) or more passes the bound (checked in the tests),
    # so the bound of a long rational system is never computed just to refuse it.
    low_order = m + n < 2 * sum(MPA_POLYNOMIAL_REFERENCE)
    if low_order and pade_polynomial_rounding(m, n, inverse=inverse) <= reference:
        return "polynomial"
    if m == n:
        return "partial-fractions"
    unit = "eps/a_min" if inverse else "eps/sqrt(a_min)"
    if low_order:
        bound = f"is {pade_polynomial_rounding(m, n, inverse=inverse):.3g} {unit}, above the {reference:.3g} of [5/5]"
    else:
        bound = f"exceeds the {reference:.3g} {unit} of [5/5] at every total order m + n >= 20"
    raise ValueError(
        f"MPA degree {label} cannot be evaluated accurately in {name}: an off-diagonal approximant is "
        f"evaluated as polynomials in A/||A||_F, and their rounding bound {bound} "
        f"(mathsqrt.coefficients.pade_polynomial_rounding); use a diagonal degree K (evaluated stably by "
        f"partial fractions up to K = {MPA_MAX_DEGREE}) or a lower [m/n]"
    )


def _mpa_partial_fractions(
    W: torch.Tensor, K: int, inverse: bool, keep: Optional[List[torch.Tensor]] = None
) -> torch.Tensor:
    r"""The diagonal ``[K/K]`` approximant of :math:`W^{\pm 1/2}` as a sum of shifted solves.

    .. math:: r(W) = \tfrac1N I + \sum_{j=1}^{K} w_j\, M_j^{-1} B, \qquad
              M_j = \sigma_j I + \gamma_j W, \quad B = W \text{ (square root) or } I \text{ (inverse)},

    with the closed-form :math:`w_j, \sigma_j, \gamma_j` of
    :func:`mathsqrt.coefficients.pade_shifted_fractions`: ``K`` Cholesky factorisations and solves.
    The terms are positive semi-definite and added in blocks of eight (the summation error then grows
    like :math:`(8 + K/8)\epsilon` instead of :math:`K\epsilon`). The smallest shift comes first,
    so an indefinite input fails before the other ``K - 1`` solves. With a list ``keep``, the
    Cholesky factors of :math:`M_1, \dots, M_K` are appended to it (for :mod:`mathsqrt.adjoint`).
    """
    constant, weights, shifts, scales = pade_shifted_fractions(K, inverse=inverse)
    name, N = _dtype_name(W.dtype), 2 * K + 1
    rhs = torch.eye(W.shape[-1], dtype=W.dtype, device=W.device).expand_as(W) if inverse else W
    total = block = None
    for j, (w, sigma, gamma) in enumerate(zip(weights, shifts, scales), start=1):
        M = _add_diagonal(W, sigma, scale=gamma)  # sin^2 I + cos^2 W: SPD for PSD W
        angle = f"{2 * j - 1}pi/{2 * N}" if inverse else f"{j}pi/{N}"
        hint = (
            f"it is not positive definite: the input has an eigenvalue below -tan^2({angle}) ||A||_F = "
            f"{-sigma / gamma:.3g} ||A||_F, so it is not positive semi-definite (or a zero eigenvalue was "
            f"pushed there by {name} rounding: a lower degree has a larger shift)"
        )
        X, L = spd_solve(M, rhs, what=f"the shifted matrix of the [{K}/{K}] partial fractions (term {j})", hint=hint)
        if keep is not None:
            keep.append(L)
        block = X * w if block is None else block + X * w
        if j % 8 == 0 or j == K:
            total = block if total is None else total + block
            block = None
    return _add_diagonal(total, constant)


def mpa(A: torch.Tensor, degree=(5, 5), *, inverse: bool = False, return_aux: bool = False):
    r"""Matrix Padé approximant (MPA) ``[m/n]``.

    .. math:: A^{1/2} \approx \sqrt{\|A\|_F}\; Q(Z)^{-1} P(Z), \qquad
              A^{-1/2} \approx P(Z)^{-1} Q(Z) / \sqrt{\|A\|_F},

    with :math:`P/Q` the exact ``[m/n]`` Padé approximant of :math:`\sqrt{1-z}`
    (:func:`mathsqrt.coefficients.pade_coefficients`); [1]_, Eq. (13) and appendix A.6.

    Two evaluations of the same rational function of :math:`W = A/\|A\|_F = I - Z`:

    * **Polynomial** (the paper's, and the default ``[5/5]``): :math:`P(W)` and :math:`Q(W)` with
      exactly re-expanded coefficients (:func:`mathsqrt.coefficients.compose_one_minus`; for the
      diagonal approximants all positive, unlike the alternating coefficients in :math:`Z`), then
      one Cholesky **solve** :math:`Q X = P` (or :math:`P X = Q`), never an inverse: ``max(m, n) - 1``
      matmuls. Its rounding grows with the dynamic range of :math:`Q(W)`, roughly
      :math:`(2/(1+\sqrt{a}))^{2K+1}` for a normalised eigenvalue :math:`a`, whatever the order of
      the operations: 15–350 % error in float32 at ``K = 20..40``. It is used only where its
      a-priori rounding bound (:func:`mathsqrt.coefficients.pade_polynomial_rounding`) is no larger
      than at ``[5/5]``: every diagonal ``K <= 5`` and the low off-diagonal pairs.
    * **Partial fractions** (diagonal ``[K/K]``, ``K > 5``): the closed form of
      :func:`mathsqrt.coefficients.pade_shifted_fractions`,

      .. math:: \frac{P}{Q}(W) = \tfrac1N I + \sum_{j=1}^{K} \tfrac2N\,
                (\sin^2\theta_j\, I + \cos^2\theta_j\, W)^{-1} W, \quad
                \theta_j = \tfrac{j\pi}{N},\ N = 2K + 1

      (for the inverse :math:`\theta_j \to (2j-1)\pi/(2N)` and :math:`W \to I` on the right):
      ``K`` shifted Cholesky solves of SPD matrices whose terms never cancel, so the rounding does
      not grow with the degree.

    Both are Cholesky-based: cheaper than LU, and free of the batched-LU hang of the CPU build of
    torch 2.13.

    Parameters
    ----------
    A : Tensor, shape ``(..., n, n)``
    degree : int or (int, int)
        ``K`` for the diagonal ``[K/K]``, or ``(m, n)``; at most
        :data:`mathsqrt.coefficients.MPA_MAX_DEGREE` (128). Cost: ``max(m, n) - 1`` matmuls and one
        Cholesky solve (polynomial), or ``K`` Cholesky factorisations and solves (partial fractions).
    inverse : bool
        Compute :math:`A^{-1/2}`.
    return_aux : bool
        Also return the powers of :math:`W` and the Cholesky factor that
        :func:`mathsqrt.adjoint.mpa_adjoint` reuses (polynomial evaluation only).

    Returns
    -------
    Tensor, shape ``(..., n, n)``, same dtype and device as ``A`` (and the dict with ``return_aux``).

    Raises
    ------
    ValueError
        If a matrix to factorise is not positive definite (the input is not SPD); if the degree is
        above the maximum, or off-diagonal and beyond the accurate polynomial range, or
        ``return_aux`` is asked of the partial fractions — these messages name the degree and the dtype.

    Notes
    -----
    Accuracy, relative in the Frobenius norm, for a diagonal degree ``K`` and smallest normalised
    eigenvalue :math:`a_{\min} = \lambda_{\min}/\|A\|_F`:

    .. math:: \frac{\|X - A^{\pm1/2}\|_F}{\|A^{\pm1/2}\|_F} \le |e_K(a_{\min})| + 16\,\epsilon\,u,
              \qquad u = a_{\min}^{-1/2} \text{ (square root)},\ a_{\min}^{-1} \text{ (inverse)},

    with :math:`e_K` the exact error :func:`mathsqrt.coefficients.pade_relative_error` and the
    second term :func:`mathsqrt.coefficients.pade_rounding_floor`, the conditioning of the problem
    (independent of ``K``). Measured worst rounding against a 40-digit oracle, in units
    :math:`\epsilon u`, float32 / float64 (log-spaced spectra, ``n = 2 .. 12``)::

        K                          3        5        6        8          10          64       128
        polynomial, sqrt         1.4/1.6  6.7/7.1  17/12    152/195    1820/1380      -         -
        partial fractions, sqrt  0.8/1.5  1.2/1.1  1.2/1.1  0.9/1.1    0.8/1.0     0.7/0.9   0.9/1.0
        polynomial, inverse      0.9/1.1  3.7/5.8  10/11    100/89     1040/1270      -         -
        partial fractions, inv.  1.0/1.1  1.3/0.7  1.3/0.8  0.9/1.0    0.9/0.8     0.7/0.9   0.9/0.8

    Time (CPU, one thread): the partial fractions cost 1.5 (4 x 4) to 7 (64 x 64 x 64, ``K = 16``)
    times the polynomial evaluation at the same degree, about one Cholesky factorisation and solve
    per degree; so the polynomial evaluation is kept wherever it is accurate.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 3.1.2, Eq. (11)–(13), Algorithm 1 and appendix A.6.
    """
    m, n = (degree, degree) if isinstance(degree, int) else degree
    evaluation = _mpa_evaluation(m, n, inverse, A.dtype, return_aux)
    norm = frobenius_norm(A, keepdim=True)
    W = A / torch.where(norm > 0, norm, torch.ones_like(norm))  # W = I - Z
    keep: Optional[List[torch.Tensor]] = [] if return_aux else None
    if evaluation == "partial-fractions":
        X = _mpa_partial_fractions(W, m, inverse, keep)
        out = X / norm.sqrt() if inverse else X * norm.sqrt()
        if not return_aux:
            return out
        return out, {"norm": norm, **{f"F{j}": L for j, L in enumerate(keep)}}
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
    """Matmuls performed by :func:`newton_schulz` with ``iters`` iterations (``3T - 3`` for ``T >= 2``).

    Parameters
    ----------
    iters : int
        Number of iterations ``T >= 1``.
    inverse : bool
        Whether the inverse square root is returned (the branch kept at the last iteration).

    Returns
    -------
    int
        Number of ``n x n`` matrix products.

    Notes
    -----
    The paper counts ``3T`` ([1]_, Table 1); the products with the identity are not counted here.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Table 1.
    """
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

    Returns
    -------
    Tensor, shape ``(..., n, n)``, same dtype and device as ``A`` (and the dict of iterates with
    ``return_aux``).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (3)–(4).
    .. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Eq. (6.35).
    .. [3] P. Li, J. Xie, Q. Wang, Z. Gao, "Towards Faster Training of Global Covariance Pooling
       Networks by Iterative Matrix Square Root Normalization", CVPR 2018 (iSQRT-COV).
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

    Parameters
    ----------
    A : Tensor, shape ``(..., n, n)``
        Symmetric positive semi-definite (positive definite for ``inverse=True``).
    inverse : bool
        Compute :math:`A^{-1/2}` instead of :math:`A^{1/2}`.

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

    Notes
    -----
    This is Eq. (1) of [1]_, the SVD baseline; the definition of :math:`f(A)` by diagonalisation is
    [2]_, Sec. 1.2.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (1).
    .. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Sec. 1.2.
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
