r"""Test and benchmark inputs and float64 references, shared by the tests, the notebooks and :mod:`mathsqrt.paper`.

Inputs: SPD matrices of controlled condition number, random covariances, incoming gradients.
References (float64, from the eigendecomposition): :func:`sqrtm_reference` and
:func:`gradient_reference`.

All random builders take an optional ``torch.Generator`` (or a ``seed``) so that inputs are
reproducible, and build batches with no Python loop.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import torch

from .backward import lyapunov_eigenbasis

__all__ = [
    "random_orthogonal",
    "spd_from_spectrum",
    "random_spd",
    "random_covariance",
    "random_gradient",
    "sqrtm_reference",
    "gradient_reference",
]

Shape = Union[int, Sequence[int]]


def _batch(batch: Shape) -> tuple:
    return (batch,) if isinstance(batch, int) else tuple(batch)


def _generator(seed: Optional[int], generator: Optional[torch.Generator]) -> Optional[torch.Generator]:
    if generator is not None:
        return generator
    if seed is None:
        return None
    return torch.Generator().manual_seed(seed)


def random_orthogonal(
    n: int, batch: Shape = (), *, dtype=torch.float64, device=None, seed=None, generator=None
) -> torch.Tensor:
    """Haar-distributed orthogonal matrices of shape ``(*batch, n, n)`` (QR of a Gaussian, signs fixed).

    Parameters
    ----------
    n : int
        Size.
    batch : int or tuple of int
        Batch shape.
    dtype, device
        Of the result.
    seed : int, optional
        Seed of a fresh generator.
    generator : torch.Generator, optional
        Random source (instead of ``seed``).

    Returns
    -------
    Tensor, shape ``(*batch, n, n)``

    Notes
    -----
    Multiplying the columns of :math:`Q` by the signs of the diagonal of :math:`R` makes the
    distribution Haar ([1]_).

    References
    ----------
    .. [1] F. Mezzadri, "How to generate random matrices from the classical compact groups", Notices of
       the AMS 54(5), 2007.
    """
    g = _generator(seed, generator)
    M = torch.randn(*_batch(batch), n, n, dtype=torch.float64, generator=g)
    Q, R = torch.linalg.qr(M)
    Q = Q * torch.sign(torch.diagonal(R, dim1=-2, dim2=-1)).unsqueeze(-2)
    return Q.to(dtype=dtype, device=device)


def spd_from_spectrum(
    eigenvalues: torch.Tensor, Q: Optional[torch.Tensor] = None, *, seed=None, generator=None
) -> torch.Tensor:
    r"""The matrix :math:`Q\,\mathrm{diag}(\lambda)\,Q^T` for eigenvalues of shape ``(..., n)``.

    ``Q`` defaults to a random orthogonal matrix per batch entry. Computed in float64, returned in the
    eigenvalues' dtype, symmetrised exactly.

    Parameters
    ----------
    eigenvalues : Tensor, shape ``(..., n)``
    Q : Tensor, shape ``(..., n, n)``, optional
        Orthogonal eigenvectors (default: :func:`random_orthogonal`).
    seed : int, optional
        Seed of a fresh generator.
    generator : torch.Generator, optional
        Random source (instead of ``seed``).

    Returns
    -------
    Tensor, shape ``(..., n, n)``, dtype of ``eigenvalues``

    Notes
    -----
    With Haar-distributed :math:`Q` ([1]_) the eigenvectors carry no preferred direction.

    References
    ----------
    .. [1] F. Mezzadri, "How to generate random matrices from the classical compact groups", Notices of
       the AMS 54(5), 2007.
    """
    lam = eigenvalues
    n = lam.shape[-1]
    if Q is None:
        Q = random_orthogonal(n, lam.shape[:-1], dtype=torch.float64, seed=seed, generator=generator)
    Q64 = Q.to(device=lam.device, dtype=torch.float64)
    A = (Q64 * lam.to(torch.float64).unsqueeze(-2)) @ Q64.transpose(-2, -1)
    A = 0.5 * (A + A.transpose(-2, -1))
    return A.to(lam.dtype)


def random_spd(
    n: int,
    cond: float = 10.0,
    batch: Shape = (),
    *,
    dtype=torch.float64,
    device=None,
    scale: float = 1.0,
    seed: Optional[int] = None,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    r"""Random SPD matrices with log-spaced eigenvalues from ``scale`` down to ``scale / cond``.

    Parameters
    ----------
    n : int
        Size.
    cond : float
        2-norm condition number :math:`\lambda_{\max}/\lambda_{\min} \ge 1`.
    batch : int or tuple of int
        Batch shape.
    dtype, device
        Of the result (computed in float64).
    scale : float
        Largest eigenvalue.
    seed, generator
        For reproducibility.

    Returns
    -------
    Tensor, shape ``(*batch, n, n)``

    Notes
    -----
    Built by :func:`spd_from_spectrum` with Haar eigenvectors ([1]_).

    References
    ----------
    .. [1] F. Mezzadri, "How to generate random matrices from the classical compact groups", Notices of
       the AMS 54(5), 2007.
    """
    if cond < 1:
        raise ValueError(f"cond must be >= 1, got {cond}")
    lam = scale * torch.logspace(0.0, -math.log10(cond), n, dtype=torch.float64)
    lam = lam.expand(*_batch(batch), n)
    return spd_from_spectrum(lam, seed=seed, generator=generator).to(dtype=dtype, device=device)


def random_covariance(
    n: int,
    batch: Shape = (),
    *,
    samples: Optional[int] = None,
    eps: float = 0.0,
    dtype=torch.float64,
    device=None,
    seed: Optional[int] = None,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    r"""Sample covariance matrices :math:`X X^T / m` of Gaussian data :math:`X \in R^{n \times m}`.

    The paper's numerical tests use random covariance matrices ([1]_ Sec. 4.1). With ``samples``
    ``m = 2n`` by default the spectrum follows the Marchenko–Pastur law (condition ≈ 34); ``eps`` adds
    :math:`\epsilon I`.

    Parameters
    ----------
    n : int
        Size.
    batch : int or tuple of int
        Batch shape.
    samples : int, optional
        ``m`` (default ``2n``).
    eps : float
        Added to the diagonal.
    dtype, device
        Of the result.
    seed : int, optional
        Seed of a fresh generator.
    generator : torch.Generator, optional
        Random source (instead of ``seed``).

    Returns
    -------
    Tensor, shape ``(*batch, n, n)``

    Notes
    -----
    The limiting spectrum of such matrices is the Marchenko–Pastur law ([2]_).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 4.1.
    .. [2] V. A. Marchenko, L. A. Pastur, "Distribution of eigenvalues for some sets of random matrices",
       Math. USSR-Sbornik 1(4), 1967.
    """
    g = _generator(seed, generator)
    m = 2 * n if samples is None else samples
    X = torch.randn(*_batch(batch), n, m, dtype=torch.float64, generator=g)
    A = X @ X.transpose(-2, -1) / m
    A = 0.5 * (A + A.transpose(-2, -1))
    if eps:
        A = A + eps * torch.eye(n, dtype=torch.float64)
    return A.to(dtype=dtype, device=device)


def random_gradient(
    n: int,
    batch: Shape = (),
    *,
    symmetric: bool = False,
    dtype=torch.float64,
    device=None,
    seed: Optional[int] = None,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    r"""Gaussian incoming gradients :math:`G = \partial l/\partial A^{1/2}` of unit Frobenius norm per matrix.

    Parameters
    ----------
    n : int
        Size.
    batch : int or tuple of int
        Batch shape.
    symmetric : bool
        Return :math:`(M + M^T)` normalised instead of :math:`M` (the gradient of a loss of a
        symmetric matrix that reads both triangles).
    dtype, device
        Of the result (drawn in float64).
    seed, generator
        For reproducibility.

    Returns
    -------
    Tensor, shape ``(*batch, n, n)``

    Notes
    -----
    The incoming gradient :math:`\partial l/\partial A^{1/2}` is the right-hand side of the
    Lyapunov equation, Eq. (15) of [1]_.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (15).
    """
    g = _generator(seed, generator)
    G = torch.randn(*_batch(batch), n, n, dtype=torch.float64, generator=g)
    if symmetric:
        G = G + G.transpose(-2, -1)
    G = G / torch.linalg.matrix_norm(G, keepdim=True)
    return G.to(dtype=dtype, device=device)


def _eigh64(A: torch.Tensor):
    lam, U = torch.linalg.eigh(A.detach().to("cpu", torch.float64))
    return U, lam.clamp_min(0).sqrt()


def sqrtm_reference(A: torch.Tensor) -> torch.Tensor:
    r""":math:`A^{1/2} = U\,\mathrm{diag}(\sqrt{\lambda})\,U^T` from the float64 eigendecomposition of ``A``.

    The oracle of the tests, notebooks and benchmarks: ``A`` (any dtype and device) is copied to
    float64 on the CPU, so the reference is that of the matrix actually given, after its rounding.
    Negative rounding-level eigenvalues are clamped to zero.

    Parameters
    ----------
    A : Tensor, shape ``(..., n, n)``
        Symmetric positive semi-definite.

    Returns
    -------
    Tensor, shape ``(..., n, n)``, float64, on the CPU

    Notes
    -----
    Eq. (1) of [1]_; see [2]_, Sec. 1.2 and Ch. 6.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (1).
    .. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Sec. 1.2 and Ch. 6.
    """
    U, s = _eigh64(A)
    return (U * s.unsqueeze(-2)) @ U.transpose(-2, -1)


def gradient_reference(A: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    r"""Exact :math:`\partial\langle G, A^{1/2}\rangle/\partial A`: the solution of :math:`A^{1/2} X + X A^{1/2} = G`.

    Solved in the float64 eigenbasis of ``A`` (:func:`mathsqrt.backward.lyapunov_eigenbasis`):
    :math:`X = U[\hat G_{ij}/(s_i + s_j)]U^T`, :math:`\hat G = U^T G U`, :math:`s = \sqrt\lambda`
    (Song, Sebe & Wang, ICLR 2022, Eq. (17)). Cross-checked against
    ``scipy.linalg.solve_continuous_lyapunov`` by the tests.

    Parameters
    ----------
    A : Tensor, shape ``(..., n, n)``
        Symmetric positive definite (any dtype and device; used in float64).
    G : Tensor, shape ``(..., n, n)``
        Incoming gradient.

    Returns
    -------
    Tensor, shape ``(..., n, n)``, float64, on the CPU

    Notes
    -----
    The equation is Eq. (15) of [1]_ (the general form is its Eq. (17)).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (15) and (17).
    """
    U, s = _eigh64(A)
    return lyapunov_eigenbasis(U, s, G.detach().to("cpu", torch.float64))
