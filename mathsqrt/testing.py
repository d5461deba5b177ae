r"""Test and benchmark inputs: SPD matrices of controlled condition number, random covariances.

All functions take an optional ``torch.Generator`` (or a ``seed``) so that inputs are reproducible,
and build batches with no Python loop.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import torch

__all__ = ["random_orthogonal", "spd_from_spectrum", "random_spd", "random_covariance"]

Shape = Union[int, Sequence[int]]


def _batch(batch: Shape) -> tuple:
    return (batch,) if isinstance(batch, int) else tuple(batch)


def _generator(seed: Optional[int], generator: Optional[torch.Generator]) -> Optional[torch.Generator]:
    if generator is not None:
        return generator
    if seed is None:
        return None
    return torch.Generator().manual_seed(seed)


def random_orthogonal(n: int, batch: Shape = (), *, dtype=torch.float64, device=None, seed=None, generator=None) -> torch.Tensor:
    """Haar-distributed orthogonal matrices of shape ``(*batch, n, n)`` (QR of a Gaussian, signs fixed)."""
    g = _generator(seed, generator)
    M = torch.randn(*_batch(batch), n, n, dtype=torch.float64, generator=g)
    Q, R = torch.linalg.qr(M)
    Q = Q * torch.sign(torch.diagonal(R, dim1=-2, dim2=-1)).unsqueeze(-2)
    return Q.to(dtype=dtype, device=device)


def spd_from_spectrum(eigenvalues: torch.Tensor, Q: Optional[torch.Tensor] = None, *, seed=None, generator=None) -> torch.Tensor:
    r"""The matrix :math:`Q\,\mathrm{diag}(\lambda)\,Q^T` for eigenvalues of shape ``(..., n)``.

    ``Q`` defaults to a random orthogonal matrix per batch entry. Computed in float64, returned in the
    eigenvalues' dtype, symmetrised exactly.
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

    The paper's numerical tests use random covariance matrices ([1] Sec. 4.1). With ``samples``
    ``m = 2n`` by default the spectrum follows the Marchenko–Pastur law (condition ≈ 34); ``eps`` adds
    :math:`\epsilon I`.
    """
    g = _generator(seed, generator)
    m = 2 * n if samples is None else samples
    X = torch.randn(*_batch(batch), n, m, dtype=torch.float64, generator=g)
    A = X @ X.transpose(-2, -1) / m
    A = 0.5 * (A + A.transpose(-2, -1))
    if eps:
        A = A + eps * torch.eye(n, dtype=torch.float64)
    return A.to(dtype=dtype, device=device)
