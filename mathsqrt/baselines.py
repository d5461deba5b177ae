r"""The baselines the paper compares against: SVD gradients with a stabilised :math:`K`, and PI.

The paper ([1]_, Sec. 4 and appendix A.4) compares MPA-Lya and MTP-Lya with backward passes that
keep the eigendecomposition (SVD) in the forward pass and change how its gradient is computed. For
:math:`A = U \Lambda U^T` (eigenvalues ascending) and a spectral function
:math:`S = U f(\Lambda) U^T` (:math:`f(\lambda) = \lambda^{1/2}` or :math:`\lambda^{-1/2}`), with
:math:`G = \partial l / \partial S`, the chain rule through the eigenvectors and eigenvalues is
([1]_, Eq. (2)):

.. math::

    \frac{\partial l}{\partial A} = \mathrm{sym}\Big(U\big(F \circ (U^T \bar U)
        + \mathrm{diag}(\bar\lambda)\big) U^T\Big), \qquad
    \bar U = (G + G^T)\,U f(\Lambda), \quad \bar\lambda_i = f'(\lambda_i)\,(U^T G U)_{ii},

where :math:`F_{ij} = K_{ji}`, :math:`K_{ij} = 1/(\lambda_i - \lambda_j)` for :math:`i \ne j`
(:math:`F_{ij}` is the component along :math:`u_i` of :math:`du_j` per unit :math:`(U^T dA\,U)_{ij}`)
and :math:`\mathrm{sym}(X) = (X + X^T)/2`. In exact arithmetic the two terms of each pair combine into the
divided difference :math:`(f(\lambda_i) - f(\lambda_j))/(\lambda_i - \lambda_j)`, which is bounded; in
floating point each term is of size :math:`f/|\lambda_i - \lambda_j|` and the cancellation loses
:math:`\epsilon\,\lambda/|\lambda_i - \lambda_j|` of relative accuracy. That factor, and the NaN
it produces at a computed exact tie, is the "gradient explosion" of the SVD. The baselines replace
:math:`K` by a bounded or differently computed :math:`\tilde K` (:func:`taylor_factor`,
:func:`pade_factor`) or differentiate through power iterations (:func:`grad_svd_pi`).

Every gradient here is **symmetrised** (as in Eq. (2)): it is :math:`\mathrm{sym}(X)` of the package's
Lyapunov convention (see :mod:`mathsqrt.backward`), equal to it whenever ``G`` is symmetric. All
functions are batched over leading dimensions, per matrix, in the dtype of their inputs.

The names are those of the method table (:data:`mathsqrt.methods.BACKWARDS`): ``"svd-taylor"``,
``"svd-pade"``, ``"svd-pi"`` (select them with ``sqrtm(A, method="eigh", backward=...)``). The
plain autograd gradient through ``torch.linalg.eigh`` is ``backward="autograd"``, the deliberate
unstabilised baseline. :func:`power_iteration_sqrtm` is the So-ViT forward baseline ("PI").

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (2),
   Sec. 4 and appendix A.4–A.5.
.. [2] W. Wang, Z. Dang, Y. Hu, P. Fua, M. Salzmann, "Robust Differentiable SVD", IEEE TPAMI 44(9),
   2022 (arXiv 2104.03821): the Taylor expansion of :math:`K`, and its equivalence with power-iteration
   gradients.
.. [3] Y. Song, N. Sebe, W. Wang, "Why Approximate Matrix Square Root Outperforms Accurate SVD in
   Global Covariance Pooling?", ICCV 2021: SVD-Padé.
.. [4] W. Wang, Z. Dang, Y. Hu, P. Fua, M. Salzmann, "Backpropagation-Friendly Eigendecomposition",
   NeurIPS 2019: gradients through power iteration with deflation.
.. [5] J. Xie, R. Zeng, Q. Wang, Z. Zhou, P. Li, "So-ViT: Mind Visual Tokens for Vision
   Transformer", arXiv 2104.10935, 2021: the power-iteration (PI) normalisation.
"""

from __future__ import annotations

import numbers
from typing import Optional, Tuple

import torch

from . import counting as ops
from ._kernels import pow2_scale, sym
from .backward import Saved

__all__ = [
    "DEFAULT_TAYLOR_DEGREE",
    "DEFAULT_PADE_DEGREE",
    "DEFAULT_PI_ITERS",
    "exact_factor",
    "taylor_factor",
    "pade_factor",
    "pade_pair",
    "pi_factor",
    "svd_gradient",
    "grad_svd_taylor",
    "grad_svd_pade",
    "grad_svd_pi",
    "power_iteration_sqrtm",
]

#: SVD-Taylor degree: 20 in the paper's ZCA experiment, 100 in covariance pooling ([1]_, A.5).
DEFAULT_TAYLOR_DEGREE = 20
#: SVD-Padé ``[n/n]``: 10 in the ZCA experiment (to match Taylor degree 20), 50 in covariance pooling.
DEFAULT_PADE_DEGREE = 10
#: SVD-PI iterations: 20 in the ZCA experiment, 100 in covariance pooling.
DEFAULT_PI_ITERS = 20


# --------------------------------------------------------------------------------------------------
# The factor K and its replacements
# --------------------------------------------------------------------------------------------------


def _pairs(lam: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(hi, ratio, upper)`` for every pair: the larger eigenvalue, smaller/larger, and ``i > j``.

    The order of the pair is decided by the **index** (eigenvalues are ascending), so that an exact
    tie gets an antisymmetric factor like every other pair.
    """
    n = lam.shape[-1]
    li = lam.unsqueeze(-1)  # lam_i along rows
    lj = lam.unsqueeze(-2)  # lam_j along columns
    idx = torch.arange(n, device=lam.device)
    upper = idx.unsqueeze(-1) > idx.unsqueeze(-2)  # i > j  ->  lam_i >= lam_j
    hi = torch.where(upper, li, lj)
    lo = torch.where(upper, lj, li)
    tiny = torch.finfo(lam.dtype).tiny
    hi = hi.clamp_min(tiny)
    ratio = (lo / hi).clamp(0, 1)
    return hi, ratio, upper


def _antisymmetric(value: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """``value`` above (``i > j``), ``-value`` below, zero on the diagonal."""
    n = value.shape[-1]
    eye = torch.eye(n, dtype=torch.bool, device=value.device)
    out = torch.where(upper, value, -value)
    return out.masked_fill(eye, 0)


def exact_factor(lam: torch.Tensor) -> torch.Tensor:
    r"""The factor of Eq. (2) of [1]_: :math:`K_{ij} = 1/(\lambda_i - \lambda_j)`, :math:`K_{ii} = 0`.

    Parameters
    ----------
    lam : Tensor, shape ``(..., n)``
        Eigenvalues, ascending.

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        ``inf`` (with the sign of the index order) where two eigenvalues are exactly equal.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (2).
    """
    n = lam.shape[-1]
    diff = lam.unsqueeze(-1) - lam.unsqueeze(-2)
    K = 1.0 / diff
    idx = torch.arange(n, device=lam.device)
    upper = idx.unsqueeze(-1) > idx.unsqueeze(-2)
    # 1/(+0) and 1/(-0) both give +inf or -inf depending on the sign of zero: fix the sign by index.
    K = torch.where(torch.isinf(K), torch.where(upper, K.abs(), -K.abs()), K)
    return K.masked_fill(torch.eye(n, dtype=torch.bool, device=lam.device), 0)


def _geometric(ratio: torch.Tensor, degree: int) -> torch.Tensor:
    """:math:`\\sum_{k=0}^{K} r^k` by Horner's rule (``degree + 1`` terms; zero for ``degree < 0``)."""
    if degree < 0:
        return torch.zeros_like(ratio)
    acc = torch.ones_like(ratio)
    for _ in range(degree):
        acc = acc * ratio + 1
    return acc


def taylor_factor(lam: torch.Tensor, degree: int = DEFAULT_TAYLOR_DEGREE) -> torch.Tensor:
    r"""SVD-Taylor's factor: :math:`K` with the geometric series truncated at degree :math:`K`.

    For :math:`i > j` (so :math:`\lambda_i \ge \lambda_j`), with :math:`r = \lambda_j/\lambda_i`,

    .. math::

        \frac{1}{\lambda_i - \lambda_j} = \frac{1}{\lambda_i}\,\frac{1}{1 - r}
        \approx \tilde K_{ij} = \frac{1}{\lambda_i}\sum_{k=0}^{K} r^k
        = \frac{1 - r^{K+1}}{\lambda_i - \lambda_j},

    and :math:`\tilde K_{ji} = -\tilde K_{ij}` ([2]_; [1]_, A.4). So :math:`\tilde K` is
    :math:`K` multiplied entrywise by :math:`1 - r_{ij}^{K+1}`: bounded by :math:`(K+1)/\lambda_i`
    (reached at a tie), and biased towards zero for every pair whose ratio is close to one.

    Parameters
    ----------
    lam : Tensor, shape ``(..., n)``
        Eigenvalues, ascending, non-negative.
    degree : int
        Truncation degree :math:`K \ge 0` (20 in the paper's ZCA experiment, 100 in covariance pooling).

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        Finite for every input (a zero eigenvalue is replaced by the smallest normal number).

    Notes
    -----
    The authors' implementation orders a tied pair by value with ``>=``, which makes
    :math:`\tilde K` *symmetric* on an exact tie (both entries :math:`+(K+1)/\lambda`); here the pair is
    ordered by index, which keeps :math:`\tilde K` antisymmetric and continuous as the gap closes.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, appendix A.4–A.5.
    .. [2] W. Wang, Z. Dang, Y. Hu, P. Fua, M. Salzmann, "Robust Differentiable SVD", IEEE TPAMI 44(9),
       2022 (arXiv:2104.03821).
    """
    hi, ratio, upper = _pairs(lam)
    return _antisymmetric(_geometric(ratio, degree) / hi, upper)


def pade_pair(ratio: torch.Tensor, degree: int = DEFAULT_PADE_DEGREE) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""Numerator and denominator of the ``[n/n]`` Padé approximant of :math:`1/(1-r)`, evaluated.

    Returns :math:`P(r) = \sum_{k<n} r^k` and :math:`Q(r) = 1 - r^n`: :math:`Q(0) = 1` and
    :math:`Q(r)/(1-r) - P(r) = 0`, so this pair satisfies the Padé conditions of every order. See
    :func:`pade_factor` for why every ``[m/n]`` Padé approximant of :math:`1/(1-r)` is :math:`1/(1-r)`.

    Parameters
    ----------
    ratio : Tensor, any shape
    degree : int
        :math:`n \ge 1`.

    Returns
    -------
    P, Q : Tensor
        Shape of ``ratio``.

    Notes
    -----
    The pair is the one an SVD-Padé implementation ([1]_) evaluates; for the Padé conditions
    see [2]_, Ch. 1.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Why Approximate Matrix Square Root Outperforms Accurate SVD in
       Global Covariance Pooling?", ICCV 2021 (SVD-Padé).
    .. [2] G. A. Baker, P. Graves-Morris, "Padé Approximants", 2nd ed., Cambridge University Press,
       1996, Ch. 1.
    """
    P = _geometric(ratio, degree - 1)
    Q = 1 - ratio.pow(degree)
    return P, Q


def pade_factor(lam: torch.Tensor, degree: int = DEFAULT_PADE_DEGREE) -> torch.Tensor:
    r"""SVD-Padé's factor ([2]_): :math:`K` in Padé form, with the published overflow guard.

    For :math:`i > j`, :math:`\tilde K_{ij} = \lambda_i^{-1} P(r)/Q(r)` with :math:`r = \lambda_j/\lambda_i`
    and :math:`(P, Q)` an ``[n/n]`` Padé approximant of :math:`1/(1-r)`; :math:`\tilde K_{ji} = -\tilde K_{ij}`.
    Then every non-finite entry (an exact tie, where :math:`r = 1` and :math:`Q(1) = 0`) is replaced by
    the largest finite :math:`|\tilde K|` **of the same matrix**, with the entry's sign.

    What this computes, honestly: a Padé approximant ``[m/n]`` (:math:`n \ge 1`) of :math:`1/(1-r)`
    is :math:`1/(1-r)` itself — it is a rational function of type ``[0/1]``, and the Padé conditions
    :math:`Q(r)/(1-r) - P(r) = O(r^{m+n+1})` hold exactly for :math:`Q(r) = (1-r)\,\tilde Q(r)`,
    :math:`P = \tilde Q`, whatever :math:`\tilde Q`. So :math:`\tilde K = K` up to rounding, for every
    degree: the "approximation" is exact and **bounds nothing** as two eigenvalues approach each other
    (the gradient error grows like :math:`\epsilon\,\lambda/\text{gap}` exactly as with autograd). The
    only stabilisation is the guard at :math:`r = 1`, which maps an exact tie to a finite
    :math:`\pm\max|\tilde K|` — so that the tied pair's two terms cancel and it contributes zero, instead
    of NaN. The degree only changes rounding.

    The published implementation ([2]_; the ``SVD_Pade`` module of the authors' DifferentiableSVD
    repository, used in [1]_ with ``[50/50]`` and ``[10/10]``) obtains its coefficients with
    ``mpmath.pade`` from the degree-:math:`2n` Taylor series computed numerically at 20 digits. The
    linear system for :math:`Q` is then exactly singular (rank one: its only condition is
    :math:`Q(1) = 0`); with ``mpmath`` 1.3.0 the ``[10/10]`` solve raises "matrix is numerically
    singular", and the ``[50/50]`` one succeeds only because of the :math:`10^{-21}` rounding in the
    series, returning one arbitrary member of the family: its :math:`Q(1) = -2.2\cdot 10^{-16}` and it
    carries a near-cancelling pole–zero pair at :math:`r \approx 0.9973`. Measured in float64, its
    :math:`P/Q` equals :math:`1/(1-r)` to :math:`10^{-15}` relative on :math:`[0, 0.9]`, to
    :math:`7.5\cdot 10^{-9}` on :math:`[0.99, 0.999]` (the spurious pair) and :math:`1.2\cdot 10^{-11}`
    on :math:`[0.999, 0.9999]`. That implementation replaces non-finite entries by the extreme finite
    value of the **whole batch** (making one matrix's gradient depend on the others) and orders a tied
    pair with ``>=`` (a symmetric :math:`\tilde K` at a tie); here the guard is per matrix and the
    factor antisymmetric.

    Parameters
    ----------
    lam : Tensor, shape ``(..., n)``
        Eigenvalues, ascending, non-negative.
    degree : int
        :math:`n \ge 1` of the ``[n/n]`` approximant (10 or 50 in the paper).

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        Finite.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, appendix A.4–A.5.
    .. [2] Y. Song, N. Sebe, W. Wang, "Why Approximate Matrix Square Root Outperforms Accurate SVD in
       Global Covariance Pooling?", ICCV 2021 (SVD-Padé).
    """
    hi, ratio, upper = _pairs(lam)
    P, Q = pade_pair(ratio, degree)
    value = _antisymmetric(P / (Q * hi), upper)
    finite = torch.isfinite(value)
    largest = torch.where(finite, value.abs(), torch.zeros_like(value)).amax(dim=(-2, -1), keepdim=True)
    guarded = torch.where(upper, largest, -largest).expand_as(value)
    return torch.where(finite, value, guarded)


def pi_factor(lam: torch.Tensor, iters: int = DEFAULT_PI_ITERS) -> torch.Tensor:
    r"""The factor that SVD-PI effectively uses in place of :math:`K` (exact-arithmetic closed form).

    For :math:`i > j` (:math:`\lambda_i \ge \lambda_j`, :math:`r = \lambda_j/\lambda_i`):
    :math:`\tilde K_{ij} = \lambda_i^{-1}\sum_{k=0}^{T-1} r^k` and
    :math:`\tilde K_{ji} = -\lambda_i^{-1}\sum_{k=0}^{T-2} r^k` — SVD-Taylor of degrees :math:`T-1`
    and :math:`T-2` on the two sides of the pair (see :func:`grad_svd_pi`, which computes the gradient
    by actual power iterations rather than from this formula). Not antisymmetric: at a tie the pair
    keeps a net coefficient :math:`f/\lambda` instead of the exact :math:`f'(\lambda)`.

    Parameters
    ----------
    lam : Tensor, shape ``(..., n)``
        Eigenvalues, ascending, non-negative.
    iters : int
        Power iterations :math:`T \ge 1`.

    Returns
    -------
    Tensor, shape ``(..., n, n)``

    Notes
    -----
    Power iterations with deflation are the gradient of SVD-PI ([1]_); their equivalence with a
    truncated Taylor expansion of :math:`K` is shown in [2]_.

    References
    ----------
    .. [1] W. Wang, Z. Dang, Y. Hu, P. Fua, M. Salzmann, "Backpropagation-Friendly Eigendecomposition",
       NeurIPS 2019.
    .. [2] W. Wang, Z. Dang, Y. Hu, P. Fua, M. Salzmann, "Robust Differentiable SVD", IEEE TPAMI 44(9),
       2022 (arXiv:2104.03821).
    """
    hi, ratio, upper = _pairs(lam)
    n = lam.shape[-1]
    value = torch.where(upper, _geometric(ratio, iters - 1), -_geometric(ratio, iters - 2)) / hi
    return value.masked_fill(torch.eye(n, dtype=torch.bool, device=lam.device), 0)


# --------------------------------------------------------------------------------------------------
# Gradients
# --------------------------------------------------------------------------------------------------


def _spectral(saved: Saved, name: str):
    r"""``(U, lam, f, df, null)`` of the forward's eigendecomposition, for :math:`f = \lambda^{\pm 1/2}`.

    Square root: an eigenvalue :math:`\lambda_i \le \tau = \sqrt n\,\epsilon\,\lambda_{\max}` (per
    matrix; the threshold of :func:`mathsqrt.backward.grad_eigh`, whose Notes explain it) is
    numerically null: it is returned as an exact zero with :math:`f_i = f'_i = 0` (instead of the
    unbounded :math:`f'(\lambda) = 1/(2\sqrt\lambda)`), and ``null`` marks it. Every other entry is
    untouched. Inverse square root: nothing is null (the forward refuses a zero eigenvalue).
    """
    if saved.U is None or saved.lam is None:
        raise ValueError(
            f"backward={name!r} needs the eigendecomposition of the forward pass: use method='eigh' "
            "(the SVD baselines differentiate U f(Λ) U^T)"
        )
    U, lam = saved.U, saved.lam
    tiny = torch.finfo(lam.dtype).tiny
    if saved.inverse:
        f = lam.clamp_min(tiny).rsqrt()
        df = -0.5 * f / lam.clamp_min(tiny)
        null = torch.zeros_like(lam, dtype=torch.bool)
    else:
        tol = lam.shape[-1] ** 0.5 * torch.finfo(lam.dtype).eps * lam.abs().amax(dim=-1, keepdim=True)
        null = lam <= tol
        lam = torch.where(null, torch.zeros_like(lam), lam)
        f = lam.sqrt()
        df = torch.where(null, torch.zeros_like(f), 0.5 / f.clamp_min(tiny))
    return U, lam, f, df, null


def _drop_null_pairs(F: torch.Tensor, null: torch.Tensor) -> torch.Tensor:
    """The eigenvector factor ``F`` with zeros wherever both directions are null (0/0 pairs)."""
    return F.masked_fill(null.unsqueeze(-1) & null.unsqueeze(-2), 0)


def svd_gradient(G: torch.Tensor, U: torch.Tensor, f: torch.Tensor, df: torch.Tensor, F: torch.Tensor) -> torch.Tensor:
    r"""Eq. (2) of [1]_ with a given eigenvector factor: the gradient of :math:`U f(\Lambda) U^T`.

    .. math::

        X = \mathrm{sym}\Big(U\big(F \circ ((\hat G + \hat G^T)\,\mathrm{diag}(f))
            + \mathrm{diag}(f' \circ \mathrm{diag}\,\hat G)\big)U^T\Big),
        \qquad \hat G = U^T G U,

    where :math:`F_{ij}` is the factor multiplying :math:`(U^T dA\, U)_{ij}` in the component of
    :math:`du_j` along :math:`u_i` (exactly :math:`1/(\lambda_j - \lambda_i)`, i.e. :math:`K^T`). The
    two terms of a pair are formed separately and only then added (by the symmetrisation), as in an
    SVD backward: their cancellation is where rounding errors of size :math:`f|F|\epsilon` enter. Four
    matmuls.

    Parameters
    ----------
    G : Tensor, shape ``(..., n, n)``
        Incoming gradient :math:`\partial l/\partial S`.
    U : Tensor, shape ``(..., n, n)``
        Eigenvectors (columns).
    f, df : Tensor, shape ``(..., n)``
        :math:`f(\lambda_i)` and :math:`f'(\lambda_i)`.
    F : Tensor, shape ``(..., n, n)``
        Eigenvector factor (its diagonal is ignored).

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        The symmetrised gradient :math:`\partial l/\partial A`.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (2).
    """
    Ut = U.transpose(-2, -1)
    Gh = ops.matmul(ops.matmul(Ut, G), U)
    n = G.shape[-1]
    eye = torch.eye(n, dtype=torch.bool, device=G.device)
    C = (F * (Gh + Gh.transpose(-2, -1)) * f.unsqueeze(-2)).masked_fill(eye, 0)
    C = C + torch.diag_embed(df * Gh.diagonal(dim1=-2, dim2=-1))
    return sym(ops.matmul(ops.matmul(U, C), Ut))


def grad_svd_taylor(G: torch.Tensor, saved: Saved, *, degree: int = DEFAULT_TAYLOR_DEGREE) -> torch.Tensor:
    r"""SVD-Taylor backward: Eq. (2) of [1]_ with :math:`K` replaced by :func:`taylor_factor`.

    In exact arithmetic the result is the exact gradient with each off-diagonal eigenbasis entry
    multiplied by :math:`1 - r_{ij}^{K+1}`, :math:`r_{ij} = \min(\lambda_i,\lambda_j)/\max(\lambda_i,\lambda_j)`;
    the diagonal (eigenvalue) part is exact. Hence the relative error of the gradient is at most
    :math:`\max_{i \ne j} r_{ij}^{K+1}` (in the Frobenius norm, for symmetric ``G``), which is small
    only when every pair of eigenvalues is well separated *in ratio*: with 64 eigenvalues spread over a
    factor 100, neighbouring ratios are about 0.93 and :math:`0.93^{21} \approx 0.2`.

    Parameters
    ----------
    G : Tensor, shape ``(..., n, n)``
    saved : Saved
        From the ``"eigh"`` forward (needs ``U`` and ``lam``).
    degree : int
        Truncation degree :math:`K` (``backward_iters`` in :func:`mathsqrt.sqrtm`; default 20).

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        Symmetrised gradient; finite at an exact tie.

    Raises
    ------
    ValueError
        If the forward method was not ``"eigh"``.

    Notes
    -----
    *Singular and near-singular input (square root).* Eigenvalues :math:`\lambda_i \le \tau =
    \sqrt n\,\epsilon\,\lambda_{\max}` of each matrix are exact zeros (the convention of
    :func:`mathsqrt.backward.grad_eigh`): :math:`f_i = f'_i = 0`, and the factor of a pair of null
    directions is dropped (its two terms would be :math:`0\cdot\infty`), so the null–null block of the
    gradient is zero — the minimum-norm choice, which perturbations of features :math:`A = FF^T/N`
    never see. For one null and one non-null direction :math:`r_{ij} = 0`, so the factor is exact and
    the symmetrised entry is :math:`\hat G^s_{ij}/s_j` with :math:`\hat G^s = (\hat G + \hat G^T)/2`: the exact
    derivative along rank-preserving directions. Every entry is then bounded by
    :math:`|\hat G^s_{ij}|/\sqrt\tau` (it is :math:`(1 - r^{K+1})\,\hat G^s_{ij}/(s_i + s_j)`), where
    the diagonal term :math:`f'(\lambda) = 1/(2\sqrt\lambda)` and :math:`\tilde K` at an eigenvalue
    clamped to zero would overflow (:math:`10^{300}`, or NaN from :math:`0\cdot\infty`).
    Well-conditioned input (:math:`\lambda_{\min} > \tau`) is unaffected, bit for bit.

    SVD-Taylor is the baseline of [1]_ (appendix A.4) after Wang et al. (TPAMI 2022) and Song et al.
    (ICCV 2021); degree 20 in its ZCA experiment, 100 in covariance pooling ([1]_, A.5).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (2), appendix A.4–A.5.
    """
    U, lam, f, df, null = _spectral(saved, "svd-taylor")
    return svd_gradient(G, U, f, df, _drop_null_pairs(taylor_factor(lam, degree).transpose(-2, -1), null))


def grad_svd_pade(G: torch.Tensor, saved: Saved, *, degree: int = DEFAULT_PADE_DEGREE) -> torch.Tensor:
    r"""SVD-Padé backward ([2]_): Eq. (2) of [1]_ with :math:`K` replaced by :func:`pade_factor`.

    Since the Padé approximant of :math:`1/(1-r)` is :math:`1/(1-r)` (see :func:`pade_factor`), this is
    the plain SVD gradient up to rounding, except at a computed exact tie, where the overflow guard makes
    the tied pair contribute zero instead of NaN. It is not bounded as the gap shrinks.

    Parameters
    ----------
    G : Tensor, shape ``(..., n, n)``
    saved : Saved
        From the ``"eigh"`` forward.
    degree : int
        ``n`` of the ``[n/n]`` approximant (``backward_iters``; default 10).

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        Symmetrised gradient; finite at an exact tie.

    Raises
    ------
    ValueError
        If the forward method was not ``"eigh"``.

    Notes
    -----
    *Singular and near-singular input (square root).* As for :func:`grad_svd_taylor`: eigenvalues
    :math:`\lambda_i \le \sqrt n\,\epsilon\,\lambda_{\max}` (per matrix) are exact zeros with
    :math:`f_i = f'_i = 0`, the null–null pairs (exact ties at zero, which the overflow guard would
    otherwise fill with :math:`\pm\max|\tilde K|`) contribute zero, and a mixed pair gets the exact
    :math:`\hat G^s_{ij}/s_j` (:math:`r = 0`: :math:`P/Q = 1`). This bounds the gradient at singular
    input; it does not bound it as two *non-null* eigenvalues approach each other (see above).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (2), appendix A.4–A.5.
    .. [2] Y. Song, N. Sebe, W. Wang, "Why Approximate Matrix Square Root Outperforms Accurate SVD in
       Global Covariance Pooling?", ICCV 2021 (SVD-Padé).
    """
    U, lam, f, df, null = _spectral(saved, "svd-pade")
    return svd_gradient(G, U, f, df, _drop_null_pairs(pade_factor(lam, degree).transpose(-2, -1), null))


def grad_svd_pi(G: torch.Tensor, saved: Saved, *, iters: int = DEFAULT_PI_ITERS) -> torch.Tensor:
    r"""SVD-PI backward ([3]_): backpropagation through deflated power iterations at their fixed point.

    The forward eigenvectors are read as the fixed points of power iterations on deflated matrices,
    from the largest eigenvalue down: :math:`M_{(1)} = A`, :math:`v_k = \lim M_{(k)}^t v / \|\cdot\|`,
    :math:`M_{(k+1)} = M_{(k)} - \lambda_k v_k v_k^T`. Differentiating :math:`T` steps
    :math:`v \leftarrow M v/\|M v\|` at the fixed point (start vector held constant) gives

    .. math::

        dv_k = \sum_{t=0}^{T-1} \Big(\frac{M_{(k)}}{\lambda_k}\Big)^t
               \frac{I - v_k v_k^T}{\lambda_k}\, dM_{(k)}\, v_k,
        \qquad
        \frac{\partial l}{\partial M_{(k)}} = \frac{(I - v_k v_k^T)}{\lambda_k}
               \sum_{t=0}^{T-1} \Big(\frac{M_{(k)}}{\lambda_k}\Big)^t \bar v_k\; v_k^T,

    which is evaluated literally: :math:`T` matrix–vector products with :math:`M_{(k)}` (formed from
    ``saved.A`` minus the deflated pairs, so rounding behaves as in a real power iteration), for every
    eigenvector in turn, from the smallest eigenvalue up, passing
    :math:`\partial l/\partial M_{(k)}` back through the deflations to the :math:`\bar v` and
    :math:`\bar\lambda` of the larger pairs. The eigenvalue gradient is the analytic
    :math:`u_i u_i^T \bar\lambda_i`.

    In exact arithmetic the result is Eq. (2) of [1]_ with a truncated geometric series ([2]_ shows the
    equivalence): for :math:`\lambda_j > \lambda_i`, :math:`u_i^T dv_j = M_{ij}\,(1-\rho^{T})/(\lambda_j - \lambda_i)`
    and :math:`u_j^T dv_i = -M_{ij}\,(1-\rho^{T-1})/(\lambda_j - \lambda_i)`, with
    :math:`\rho = \lambda_i/\lambda_j` and :math:`M = U^T dA\,U` — SVD-Taylor of degrees
    :math:`T-1` and :math:`T-2` on the two sides of each pair (the tests check this closed form).

    Parameters
    ----------
    G : Tensor, shape ``(..., n, n)``
    saved : Saved
        From the ``"eigh"`` forward (needs ``A``, ``U``, ``lam``).
    iters : int
        Power iterations :math:`T \ge 1` (``backward_iters``; default 20, 100 in covariance pooling).

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        Symmetrised gradient; finite at an exact tie.

    Raises
    ------
    ValueError
        If the forward method was not ``"eigh"``.

    Notes
    -----
    Cost: :math:`nT` batched matrix–vector products and a Python loop over the ``n`` eigenvectors
    (not over the batch): slow, as the paper's timings of SVD-PI (its Tables 3–4) reflect.

    *Singular and near-singular input (square root).* Small eigenvalues make
    :math:`M_{(k)}/\lambda_k` amplify the deflation residue (of size :math:`\epsilon\lambda_{\max}`),
    the known weakness of power iteration for the tail of the spectrum; a zero eigenvalue clamped to
    the smallest normal number overflows to NaN. Eigenvalues
    :math:`\lambda_k \le \tau = \sqrt n\,\epsilon\,\lambda_{\max}` (per matrix) are therefore exact
    zeros (the convention of :func:`mathsqrt.backward.grad_eigh`): :math:`f_k = f'_k = 0`, so
    :math:`\bar v_k = 0`, and their :math:`\partial l/\partial M_{(k)}` is set to zero rather than taken
    from an iteration that divides by :math:`\lambda_k = 0`. The null–null block of the gradient is
    zero, and a mixed pair (null :math:`i`, :math:`\rho = 0`) gets the exact :math:`\hat G^s_{ij}/s_j`
    from the power iteration of :math:`v_j`. For every non-null :math:`\lambda_k > \tau` the deflation
    residue, at the rounding level of the eigensolver, is divided by more than :math:`\tau`, a factor
    below about one per step, so the series stays bounded. Well-conditioned input is unaffected, bit
    for bit.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (2), appendix A.4–A.5.
    .. [2] W. Wang, Z. Dang, Y. Hu, P. Fua, M. Salzmann, "Robust Differentiable SVD", IEEE TPAMI 44(9),
       2022 (arXiv:2104.03821).
    .. [3] W. Wang, Z. Dang, Y. Hu, P. Fua, M. Salzmann, "Backpropagation-Friendly Eigendecomposition",
       NeurIPS 2019.
    """
    U, lam, f, df, null = _spectral(saved, "svd-pi")
    A = saved.A
    n = A.shape[-1]
    tiny = torch.finfo(lam.dtype).tiny
    Gs = G + G.transpose(-2, -1)
    Vbar = ops.matmul(Gs, U) * f.unsqueeze(-2)  # columns: dl/dv_k
    lbar = df * torch.einsum("...ji,...jk,...ki->...i", U, G, U)
    total = torch.zeros_like(A)
    for k in range(n):  # smallest eigenvalue first: its deflated matrix depends on all larger pairs
        v = U[..., :, k]
        lk = lam[..., k].clamp_min(tiny).unsqueeze(-1)
        Vhi = U[..., :, k + 1 :]
        lhi = lam[..., k + 1 :]

        def apply_deflated(x: torch.Tensor, Vhi=Vhi, lhi=lhi) -> torch.Tensor:
            Mx = (A @ x.unsqueeze(-1)).squeeze(-1)
            if Vhi.shape[-1]:
                Mx = Mx - (Vhi @ (lhi * (Vhi.transpose(-2, -1) @ x.unsqueeze(-1)).squeeze(-1)).unsqueeze(-1)).squeeze(
                    -1
                )
            return Mx

        a = Vbar[..., :, k]
        acc = a
        for _ in range(iters - 1):
            a = apply_deflated(a) / lk
            acc = acc + a
        p = (acc - v * (v * acc).sum(-1, keepdim=True)) / lk  # (I - v v^T) S vbar / lambda
        p = torch.where(null[..., k : k + 1], torch.zeros_like(p), p)  # vbar_k = 0 for a null pair
        Mbar = p.unsqueeze(-1) * v.unsqueeze(-2)
        total = total + Mbar
        if Vhi.shape[-1]:
            # M_(k) = A - sum_{j>k} lam_j v_j v_j^T
            c1 = (Vhi * v.unsqueeze(-1)).sum(-2)  # v_j . v
            c2 = (Vhi * p.unsqueeze(-1)).sum(-2)  # v_j . p
            lbar[..., k + 1 :] -= c2 * c1
            Vbar[..., :, k + 1 :] -= lhi.unsqueeze(-2) * (
                p.unsqueeze(-1) * c1.unsqueeze(-2) + v.unsqueeze(-1) * c2.unsqueeze(-2)
            )
    ops.record("matvec", n * max(iters - 1, 0))
    total = total + ops.matmul(U * lbar.unsqueeze(-2), U.transpose(-2, -1))
    return sym(total)


# --------------------------------------------------------------------------------------------------
# PI: the So-ViT forward baseline
# --------------------------------------------------------------------------------------------------


def power_iteration_sqrtm(
    A: torch.Tensor,
    *,
    iters: int = 1,
    pairs: int = 1,
    inverse: bool = False,
    v0: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    r"""So-ViT's "PI" approximation of :math:`A^{\pm 1/2}` from the dominant eigenpairs only.

    ``pairs`` eigenpairs :math:`(\mu_k, v_k)` are found one after the other by ``iters`` power
    iterations :math:`v \leftarrow M v/\|M v\|` each, on the deflated matrix
    :math:`M \leftarrow M - \mu_k v_k v_k^T` with :math:`\mu_k = v_k^T M v_k`; then, with
    :math:`\alpha = \pm 1/2` and :math:`R = A - \sum_k \mu_k v_k v_k^T` ([2]_, the singular-value power
    normalisation; [1]_ appendix A.3–A.4),

    .. math::

        A^{\alpha} \approx \sum_{k=1}^{p} \mu_k^{\alpha}\, v_k v_k^T + \frac{R}{\mu_p^{1-\alpha}}.

    The dominant eigenspace gets the exact power; every other eigenvalue :math:`\lambda` is mapped to
    :math:`\lambda/\mu_p^{1-\alpha}` instead of :math:`\lambda^\alpha` (e.g. for the square root, to
    :math:`\lambda/\sqrt{\mu_1}`): a cheap normalisation, not a square root — its error is of the
    order of the spread of the spectrum. Differentiable by autograd through the iterations.

    Parameters
    ----------
    A : Tensor, shape ``(..., n, n)``
        Symmetric positive semi-definite, real floating dtype.
    iters : int
        Power iterations per eigenpair (So-ViT uses 1; the error of :math:`v_1` decays like
        :math:`(\lambda_2/\lambda_1)^{T}`).
    pairs : int
        Number :math:`p \ge 1` of dominant eigenpairs, at most ``n``.
    inverse : bool
        :math:`\alpha = -1/2` instead of :math:`1/2`.
    v0 : Tensor, shape ``(..., n)`` or ``(n,)``, optional
        Start vector (default: all ones, So-ViT's ``init_weight='one'``). A start vector orthogonal
        to :math:`v_1` converges to another eigenvector.

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        Symmetric, same dtype and device as ``A``.

    Raises
    ------
    TypeError
        If ``A`` is not a real floating tensor.
    ValueError
        If ``A`` is not a (batch of) square matrices or is empty, ``iters``/``pairs`` is out of
        range, ``v0`` does not broadcast to ``A.shape[:-1]`` or is zero, or (``inverse=True``) a
        matrix is zero.

    Notes
    -----
    Each matrix is first divided by a power of two close to its largest entry (exact), and the
    result multiplied back by its power :math:`\alpha`: the approximation is homogeneous of
    degree :math:`\alpha`, and the vector norms of the iteration then neither overflow nor
    underflow, whatever the scale of ``A``.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, appendix A.3–A.4.
    .. [2] J. Xie, R. Zeng, Q. Wang, Z. Zhou, P. Li, "So-ViT: Mind Visual Tokens for Vision Transformer",
       arXiv:2104.10935, 2021.

    Examples
    --------
    >>> import torch
    >>> from mathsqrt.baselines import power_iteration_sqrtm
    >>> A = torch.diag(torch.tensor([4.0, 1.0], dtype=torch.float64))
    >>> power_iteration_sqrtm(A, iters=50)  # 4 -> 2 exactly, 1 -> 1/sqrt(4)
    tensor([[2.0000, 0.0000],
            [0.0000, 0.5000]], dtype=torch.float64)
    """
    if not isinstance(A, torch.Tensor) or not A.is_floating_point():
        raise TypeError(
            f"power_iteration_sqrtm: expected a real floating tensor, got {getattr(A, 'dtype', type(A).__name__)}"
        )
    if A.dim() < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"power_iteration_sqrtm: expected square matrices (..., n, n), got shape {tuple(A.shape)}")
    if A.numel() == 0:
        raise ValueError(f"power_iteration_sqrtm: got an empty tensor of shape {tuple(A.shape)}")
    n = A.shape[-1]
    checked = []
    for name, value, low, high in (("iters", iters, 1, None), ("pairs", pairs, 1, n)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < low or (high is not None and value > high):
            raise ValueError(f"{name} must be in [{low}, {high if high is not None else 'inf'}], got {value}")
        checked.append(int(value))
    iters, pairs = checked
    if v0 is not None:
        if not isinstance(v0, torch.Tensor):
            raise TypeError(f"power_iteration_sqrtm: v0 must be a torch.Tensor, got {type(v0).__name__}")
        try:
            ok = torch.broadcast_shapes(v0.shape, A.shape[:-1]) == A.shape[:-1]
        except RuntimeError:
            ok = False
        if not ok:
            raise ValueError(
                f"power_iteration_sqrtm: v0 of shape {tuple(v0.shape)} does not broadcast to "
                f"{tuple(A.shape[:-1])} (A's shape without the last dimension)"
            )
        if bool((v0 == 0).all(dim=-1).any()):
            raise ValueError("power_iteration_sqrtm: v0 is a zero vector: power iteration needs a nonzero start vector")
    alpha = -0.5 if inverse else 0.5
    tiny = torch.finfo(A.dtype).tiny
    # The result is homogeneous of degree alpha (mu_k and R scale with A): iterate on A / 2^e with
    # 2^e <= max|a_ij| < 2^(e+1), an exact scaling, so that no squared norm over- or underflows.
    amax = A.detach().abs().amax(dim=(-2, -1), keepdim=True)
    if inverse and bool((amax == 0).any()):
        raise ValueError("power_iteration_sqrtm: a matrix of the batch is zero; its inverse square root does not exist")
    scale = pow2_scale(A)
    v_start = torch.ones(A.shape[:-1], dtype=A.dtype, device=A.device) if v0 is None else v0.to(A).expand(A.shape[:-1])
    M = A / scale
    out = torch.zeros_like(A)
    mu = None
    for _ in range(pairs):
        v = v_start / torch.linalg.vector_norm(v_start, dim=-1, keepdim=True).clamp_min(tiny)
        for _ in range(iters):
            w = (M @ v.unsqueeze(-1)).squeeze(-1)
            v = w / torch.linalg.vector_norm(w, dim=-1, keepdim=True).clamp_min(tiny)
        ops.record("matvec", iters)
        mu = (v * (M @ v.unsqueeze(-1)).squeeze(-1)).sum(-1).clamp_min(tiny)
        vv = v.unsqueeze(-1) * v.unsqueeze(-2)
        out = out + mu.pow(alpha)[..., None, None] * vv
        M = M - mu[..., None, None] * vv
    return (out + M / mu.pow(1 - alpha)[..., None, None]) * scale.pow(alpha)
