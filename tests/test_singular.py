r"""Exact-eigenbasis gradients at singular and near-singular PSD input (issue 11, item 2).

The convention under test (documented in :mod:`mathsqrt.backward` and :mod:`mathsqrt.baselines`):
eigenvalues :math:`\lambda_i \le \tau = 2\sqrt n\,\epsilon\,\lambda_{\max}` *of their own matrix* are
numerically null; for a pair of null directions the eigenbasis entry of the gradient is zero (the
minimum-norm solution of :math:`SX + XS = G`); for one null and one non-null direction it is
:math:`\hat G_{ij}/s_j`; every other entry is unchanged.

Oracles (float64, none of them diagonalises ``A``):

- the Gram formulation: for ``F`` of shape ``(n, N)``, full column rank,
  :math:`(FF^T/N)^{1/2} = F\,B^{-1/2}F^T/N` with :math:`B = F^TF/N` (``N × N``, positive definite), so
  autograd through ``eigh`` of ``B`` differentiates a function that is smooth in ``F``;
- the closed-form eigenbasis entries (exact, SVD-Taylor, SVD-PI; derived in :mod:`mathsqrt.baselines`)
  evaluated on the full SVD of ``F``: range eigenpairs :math:`\sigma_k^2/N`, null space from the SVD;
- central finite differences of the Gram formulation (checking the two oracles above);
- the minimum-norm least-squares solution of the Kronecker form of :math:`SX + XS = G` (numpy);
- for full-rank ill-conditioned input, the exact solution in the known eigenbasis of a matrix built
  as :math:`Q\,\mathrm{diag}(\lambda)\,Q^T`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import mathsqrt
import mathsqrt.nn
from mathsqrt import backward as bw
from mathsqrt import baselines
from mathsqrt.testing import random_orthogonal, spd_from_spectrum

F64 = torch.float64
EPS = {torch.float32: torch.finfo(torch.float32).eps, torch.float64: torch.finfo(torch.float64).eps}
EXACT_BACKWARDS = ("eigh", "svd-taylor", "svd-pade", "svd-pi")
#: Ranks of the covariances of one batch (n = 10): N < n columns of features each.
RANKS = (2, 4, 7)


def _threshold(n, dtype, lam_max):
    """The rank threshold of the convention: 2 sqrt(n) eps lam_max."""
    return math.sqrt(n) * EPS[dtype] * lam_max


# --------------------------------------------------------------------------------------------------
# Oracles
# --------------------------------------------------------------------------------------------------


def _features(n, ranks, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, N, dtype=F64, generator=g) for N in ranks]


def _covariances(Fs):
    """Stack of F F^T / N (one per F, possibly of different N), symmetrised exactly."""
    A = torch.stack([F @ F.transpose(-2, -1) / F.shape[-1] for F in Fs])
    return 0.5 * (A + A.transpose(-2, -1))


def _feature_gradients(Fs, W, backward, dtype, **kw):
    """d/dF_b of sum_b <W_b, sqrtm(F_b F_b^T / N_b)>, through mathsqrt.sqrtm(method="eigh")."""
    leaves = [F.detach().to(dtype).clone().requires_grad_(True) for F in Fs]
    S = mathsqrt.sqrtm(_covariances(leaves), method="eigh", backward=backward, **kw)
    (S * W.to(dtype)).sum().backward()
    return [F.grad.to(F64) for F in leaves]


def _gram_sqrt(F):
    r""":math:`(FF^T/N)^{1/2} = (FV)\,\mathrm{diag}(w^{-1/2})\,(FV)^T/N` with :math:`F^TF/N = V\mathrm{diag}(w)V^T`."""
    N = F.shape[-1]
    w, V = torch.linalg.eigh(F.transpose(-2, -1) @ F / N)
    FV = F @ V
    return (FV * w.rsqrt()) @ FV.transpose(-2, -1) / N


def _gram_gradient(F, W):
    F = F.detach().to(F64).clone().requires_grad_(True)
    (_gram_sqrt(F) * W).sum().backward()
    return F.grad


def _exact_weight(lam_i, lam_j):
    return 1.0 / (math.sqrt(lam_i) + math.sqrt(lam_j))


def _taylor_weight(degree):
    def weight(lam_i, lam_j):
        r = min(lam_i, lam_j) / max(lam_i, lam_j)
        return (1.0 - r ** (degree + 1)) / (math.sqrt(lam_i) + math.sqrt(lam_j))

    return weight


def _pi_weight(iters):
    def weight(lam_i, lam_j):
        hi, lo = max(lam_i, lam_j), min(lam_i, lam_j)
        rho = lo / hi
        return ((1 - rho**iters) * math.sqrt(hi) - (1 - rho ** (iters - 1)) * math.sqrt(lo)) / (hi - lo)

    return weight


def _spectral_gradient(F, W, weight):
    r"""d/dF of <W, S(FF^T/N)> from closed-form eigenbasis entries on the full SVD of ``F``.

    Symmetrised entries :math:`\hat X_{ij} = w_{ij}\,(\hat W + \hat W^T)_{ij}/2`: ``weight`` for two
    range directions, :math:`1/(2 s_i)` on the range diagonal, :math:`1/s_{\text{range}}` for a mixed
    pair, zero for two null directions (they never act: :math:`u^T F = 0` there). Then
    :math:`\partial l/\partial F = 2\,U\hat X U^T F/N`.
    """
    F = F.detach().to(F64)
    n, N = F.shape
    U, sig, _ = torch.linalg.svd(F, full_matrices=True)
    lam = (sig**2 / N).tolist()
    K = torch.zeros(n, n, dtype=F64)
    for i in range(N):
        K[i, i] = 0.5 / math.sqrt(lam[i])
        for j in range(N):
            if i != j:
                K[i, j] = weight(lam[i], lam[j])
        K[i, N:] = K[N:, i] = 1.0 / math.sqrt(lam[i])
    Wh = U.T @ W.to(F64) @ U
    X = U @ (K * 0.5 * (Wh + Wh.T)) @ U.T
    return 2.0 * X @ F / N


def _rel(a, b):
    return float(torch.linalg.norm(a - b) / torch.linalg.norm(b))


def _oracle(backward, F, W, degree=None):
    """The oracle for ``backward``; ``degree`` is SVD-Taylor's K or SVD-PI's T (default: the package's)."""
    if backward in ("eigh", "svd-pade"):  # exact gradient (Padé's factor is 1/(λ_i - λ_j) itself)
        return _gram_gradient(F, W)
    if backward == "svd-taylor":
        return _spectral_gradient(F, W, _taylor_weight(baselines.DEFAULT_TAYLOR_DEGREE if degree is None else degree))
    return _spectral_gradient(F, W, _pi_weight(baselines.DEFAULT_PI_ITERS if degree is None else degree))


# --------------------------------------------------------------------------------------------------
# The oracles themselves
# --------------------------------------------------------------------------------------------------


def test_oracles_agree_with_central_differences():
    """Gram autograd, the closed-form spectral entries and central differences give one gradient."""
    F = _features(6, (3,), seed=0)[0]
    W = torch.randn(6, 6, dtype=F64, generator=torch.Generator().manual_seed(1))
    gram = _gram_gradient(F, W)
    spectral = _spectral_gradient(F, W, _exact_weight)
    h = 1e-6
    fd = torch.zeros_like(F)
    for k in range(F.numel()):
        E = torch.zeros(F.numel(), dtype=F64)
        E[k] = h
        E = E.reshape(F.shape)
        fd.view(-1)[k] = ((_gram_sqrt(F + E) - _gram_sqrt(F - E)) * W).sum() / (2 * h)
    assert _rel(gram, fd) < 1e-8  # h^2 truncation + eps/h rounding
    assert _rel(spectral, gram) < 1e-12
    # and the square root itself: Gram formulation squared is F F^T / N
    S = _gram_sqrt(F)
    torch.testing.assert_close(S @ S, F @ F.T / 3, rtol=0, atol=1e-14)


# --------------------------------------------------------------------------------------------------
# The Lyapunov solver at a singular coefficient
# --------------------------------------------------------------------------------------------------


def test_lyapunov_eigenbasis_is_the_minimum_norm_solution_at_singular_S():
    r"""With zeros in ``s``, :math:`SX + XS = G` has no exact solution; the solver returns the
    minimum-norm least-squares one (numpy's ``lstsq`` on the Kronecker form, an SVD-based oracle)."""
    n = 5
    U = random_orthogonal(n, dtype=F64, seed=3)
    s = torch.tensor([0.0, 0.0, 0.0, 0.5, 2.0], dtype=F64)
    G = torch.randn(n, n, dtype=F64, generator=torch.Generator().manual_seed(4))
    X = bw.lyapunov_eigenbasis(U, s, G)
    assert torch.isfinite(X).all()
    S = ((U * s) @ U.T).numpy()
    L = np.kron(S, np.eye(n)) + np.kron(np.eye(n), S)  # row-major vec(S X + X S), S symmetric
    expected = np.linalg.lstsq(L, G.numpy().reshape(-1), rcond=1e-10)[0].reshape(n, n)
    np.testing.assert_allclose(X.numpy(), expected, rtol=0, atol=1e-12 * np.abs(expected).max())


@pytest.mark.parametrize("backward", EXACT_BACKWARDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_diagonal_singular_matrix_closed_form(backward, dtype):
    r"""``diag(4, 0, 0)``: symmetrised entries :math:`\hat G_{00}/4`, :math:`\hat G_{0j}/2` (mixed) and
    zero on the null block. One non-null eigenvalue, so no truncation in Taylor or PI."""
    A = torch.diag(torch.tensor([4.0, 0.0, 0.0], dtype=dtype)).requires_grad_(True)
    G = torch.randn(3, 3, dtype=dtype, generator=torch.Generator().manual_seed(5))
    (mathsqrt.sqrtm(A, method="eigh", backward=backward) * G).sum().backward()
    Gs = 0.5 * (G + G.T).double()
    expected = torch.zeros(3, 3, dtype=F64)
    expected[0, 0] = Gs[0, 0] / 4
    expected[0, 1:] = expected[1:, 0] = Gs[0, 1:] / 2
    got = 0.5 * (A.grad + A.grad.T).double()
    torch.testing.assert_close(got, expected, rtol=0, atol=10 * EPS[dtype] * float(Gs.abs().max()))


@pytest.mark.parametrize(
    "method, backward", [("eigh", b) for b in EXACT_BACKWARDS] + [("mpa", "eigh"), ("ns", "eigh"), ("mtp", "eigh")]
)
def test_zero_matrix_has_zero_gradient(method, backward):
    """Every direction is null: the minimum-norm gradient is zero (it was G / tiny ~ 1e308, or NaN).

    With another forward, ``backward="eigh"`` diagonalises the computed output, here exactly zero."""
    A = torch.zeros(2, 4, 4, dtype=F64, requires_grad=True)
    G = torch.randn(2, 4, 4, dtype=F64)
    (mathsqrt.sqrtm(A, method=method, backward=backward) * G).sum().backward()
    assert torch.equal(A.grad, torch.zeros_like(A))


# --------------------------------------------------------------------------------------------------
# Rank-deficient covariances: gradients with respect to the features
# --------------------------------------------------------------------------------------------------

#: Relative tolerance on the feature gradient: the eigendecomposition's rounding (absolute error of
#: order eps*lambda_max) perturbs the range eigenpairs, relatively, by about eps*kappa, with kappa the
#: condition of the range part (sigma_max^2/sigma_min^2 <= 21 for the features used here). float32:
#: 2e-4 ~ 80 eps*kappa (measured: 1e-6, and 2.4e-5 for SVD-PI, whose power iterations add rounding).
#: float64: 1e-10, far above eps*kappa ~ 5e-15 (measured 3e-14). Both are far below the error of
#: letting noise eigenvalues through, s_i ~ sqrt(eps*lambda_max) in the mixed entries (relative error
#: ~1e-8 in float64, ~1e-3 in float32).
FEATURE_RTOL = {torch.float64: 1e-10, torch.float32: 2e-4}


@pytest.mark.parametrize("backward", EXACT_BACKWARDS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_rank_deficient_covariance_feature_gradient(backward, dtype):
    """A batch of covariances F F^T/N of ranks 2, 4, 7 (n = 10): finite, and equal to the oracle."""
    Fs = _features(10, RANKS, seed=6)
    W = torch.randn(len(RANKS), 10, 10, dtype=F64, generator=torch.Generator().manual_seed(7))
    grads = _feature_gradients(Fs, W, backward, dtype)
    for F, Wb, g in zip(Fs, W, grads):
        assert torch.isfinite(g).all()
        err = _rel(g, _oracle(backward, F, Wb))
        assert err < FEATURE_RTOL[dtype], (tuple(F.shape), err)


@pytest.mark.parametrize("backward, iters", [("svd-taylor", 3), ("svd-pi", 2), ("svd-pi", 50)])
def test_rank_deficient_covariance_truncation_degrees(backward, iters):
    """Other degrees of the truncated baselines: the closed-form oracle follows the degree."""
    Fs = _features(10, RANKS, seed=8)
    W = torch.randn(len(RANKS), 10, 10, dtype=F64, generator=torch.Generator().manual_seed(9))
    option = {"svd-taylor": "backward_degree", "svd-pi": "backward_iters"}[backward]
    grads = _feature_gradients(Fs, W, backward, F64, **{option: iters})
    for F, Wb, g in zip(Fs, W, grads):
        assert _rel(g, _oracle(backward, F, Wb, degree=iters)) < FEATURE_RTOL[F64]


def _helmert(M):
    """Orthonormal basis (M, M-1) of the vectors orthogonal to the all-ones vector."""
    H = torch.eye(M, dtype=F64)[:, : M - 1] - 1.0 / M
    return torch.linalg.qr(H)[0]


@pytest.mark.parametrize("normalize", ["trace", "none"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_covariance_pooling_more_channels_than_positions(dtype, normalize):
    r"""12 channels, 2×3 positions, centred: covariances of rank 5, ``eps=0`` (the layer's default).

    Oracle: with :math:`Q` an orthonormal basis of :math:`\mathbf 1^\perp`, the centred covariance
    is :math:`YY^T/M` with :math:`Y = XQ` of full column rank; trace normalisation with compensation
    is the identity on the square root, so the output is ``triu`` of the Gram square root of ``Y``.

    Tolerances: the ``eigh`` forward is itself noisy on the null space (square roots of eigenvalues
    of size :math:`\epsilon\lambda_{\max}`, so entries of size :math:`\sqrt\epsilon`). Without
    normalisation that noise does not reach the gradient, which then meets the feature tolerance.
    With trace normalisation and compensation, :math:`\sqrt{s}\,(\Sigma/s)^{1/2}` is the identity on
    the square root only if :math:`\langle X, \Sigma\rangle = \langle G, S\rangle / 2` (Euler's relation
    for a function homogeneous of degree 1/2); the backward's :math:`s_i = 0` and the forward's
    :math:`\sqrt{\text{noise}}` break it by :math:`O(\sqrt\epsilon)`, which reaches the gradient.
    """
    pool = mathsqrt.nn.CovariancePooling(method="eigh", backward="eigh", normalize=normalize)
    g = torch.Generator().manual_seed(10)
    x64 = torch.randn(2, 12, 2, 3, dtype=F64, generator=g)
    w = torch.randn(2, 78, dtype=F64, generator=g)
    x = x64.to(dtype).clone().requires_grad_(True)
    y = pool(x)
    (y * w.to(dtype)).sum().backward()
    assert torch.isfinite(x.grad).all()

    xo = x64.detach().clone().requires_grad_(True)
    Y = xo.flatten(2) @ _helmert(6)
    i, j = torch.triu_indices(12, 12)
    # Sigma = Y Y^T / M with M = 6, and _gram_sqrt divides by Y's 5 columns: rescale by sqrt(5/6)
    yo = torch.stack([_gram_sqrt(Yb * math.sqrt(5 / 6)) for Yb in Y])[..., i, j]
    (yo * w).sum().backward()
    torch.testing.assert_close(y.double(), yo.detach(), rtol=0, atol=30 * math.sqrt(EPS[dtype]))
    tol = math.sqrt(EPS[dtype]) if normalize == "trace" else FEATURE_RTOL[dtype]
    assert _rel(x.grad.double(), xo.grad) < tol


# --------------------------------------------------------------------------------------------------
# Ill-conditioned full-rank input in float32
# --------------------------------------------------------------------------------------------------


def _ill_conditioned(n, cond, seed):
    """(A64, Q, lam): A = Q diag(lam) Q^T with log-spaced lam from 1 to 1/cond, built in float64."""
    lam = torch.logspace(0.0, -math.log10(cond), n, dtype=F64)
    Q = random_orthogonal(n, dtype=F64, seed=seed)
    return spd_from_spectrum(lam, Q), Q, lam


def _eigenbasis_gradient(Q, lam, G, null=None):
    r""":math:`Q[\hat G_{ij}/(s_i+s_j)]Q^T`; with ``null``, the convention: ``s = 0`` there, 0/0 -> 0."""
    s = lam.sqrt()
    if null is not None:
        s = torch.where(null, torch.zeros_like(s), s)
    den = s.unsqueeze(-1) + s.unsqueeze(-2)
    Gh = Q.T @ G @ Q
    Xh = torch.where(den > 0, Gh / torch.where(den > 0, den, torch.ones_like(den)), torch.zeros_like(Gh))
    return Q @ Xh @ Q.T


def test_float32_condition_1e10_eigh_gradient_error_bounded():
    r"""method="eigh", backward="eigh" in float32 at condition :math:`10^{10}` (it was 1e33).

    Let :math:`X^*` be the exact gradient (float64, known eigenbasis) and :math:`X^\circ` the
    convention applied to the exact spectrum (:math:`s_i = 0` for :math:`\lambda_i \le \tau`). In the
    exact eigenbasis :math:`X^\circ - X^*` vanishes on resolved pairs, is :math:`-X^*_{ij}` on null
    pairs and :math:`X^*_{ij}\,s_i/s_j` (:math:`s_i < s_j`) on mixed pairs, so
    :math:`\|X^\circ - X^*\|_F \le \eta\,\|X^*\|_F` with :math:`\eta` the share of :math:`\|X^*\|_F` on
    pairs with an unresolved direction; also :math:`|X^\circ_{ij}| \le 2|X^*_{ij}|`. Hence

    .. math:: \frac{\|X - X^*\|_F}{\|X^*\|_F} \le \eta + 2\,\frac{\|X - X^\circ\|_F}{\|X^\circ\|_F} \le 1 + 2e.

    No float32 method can do much better: rounding ``A`` to float32 already moves the eigenvalues
    below :math:`\tau` by a comparable amount. The float32 error :math:`e` on the resolved part is of
    first order in the eigenvalue error :math:`\delta = \max|\hat\lambda - \lambda|`: a relative
    :math:`\delta/(2\lambda)` from the eigenvalues and :math:`\delta/\text{gap}` from the eigenvectors,
    with gaps :math:`\ge 0.87\lambda` here (log-spaced, ratio 0.123), so
    :math:`e \le (1/2 + 1/0.87)\,\delta/\lambda_{\text{res,min}} < 1.7\,\delta/\lambda_{\text{res,min}}`.
    """
    n = 11  # spectrum 10^(-k), k = 0..10: no exact eigenvalue within rounding of tau
    A64, Q, lam = _ill_conditioned(n, 1e10, seed=11)
    G = torch.randn(n, n, dtype=F64, generator=torch.Generator().manual_seed(12))
    A = A64.float().requires_grad_(True)
    mathsqrt.sqrtm(A, method="eigh", backward="eigh").backward(G.float())
    X = A.grad.double()
    assert torch.isfinite(X).all()
    tau = _threshold(n, torch.float32, float(lam.max()))
    null = lam <= tau
    delta = float((torch.linalg.eigvalsh(A.detach()).double() - lam.sort().values).abs().max())
    assert bool(((lam - tau).abs() > delta).all())  # computed and exact eigenvalues fall on the same side
    exact = _eigenbasis_gradient(Q, lam, G)
    resolved = _eigenbasis_gradient(Q, lam, G, null=null)
    Xh = Q.T @ exact @ Q
    unresolved_pairs = null.unsqueeze(-1) | null.unsqueeze(-2)
    eta = float(torch.linalg.norm(Xh[unresolved_pairs]) / torch.linalg.norm(Xh))
    err_resolved = _rel(X, resolved)
    assert err_resolved <= 1.7 * delta / float(lam[~null].min())
    assert _rel(X, exact) <= eta + 2 * err_resolved


@pytest.mark.parametrize("backward", EXACT_BACKWARDS)
@pytest.mark.parametrize("cond", [1e8, 1e10])
def test_float32_ill_conditioned_gradients_are_finite_and_bounded(backward, cond):
    r"""At condition 1e8 svd-pi gave NaN (and every exact backward 1e32 at 1e10): now finite and bounded.

    Every eigenbasis entry is :math:`w_{ij}\hat G_{ij}` with :math:`|w_{ij}| \le 1/\sqrt\tau`,
    :math:`\tau = 2\sqrt n\,\epsilon\lambda_{\max}`: :math:`1/(s_i+s_j)` (eigh, Padé) or that times
    :math:`1 - r^{K+1} \le 1` (Taylor) for two resolved directions, :math:`1/s_j` for a mixed pair, 0
    for two null ones. SVD-PI's weight :math:`((1-\rho^T)s_j - (1-\rho^{T-1})s_i)/(\lambda_j-\lambda_i)`
    reaches up to twice :math:`1/(s_i+s_j)` near a tie. Hence :math:`\|X\|_F \le 2\|G\|_F/\sqrt\tau`.
    """
    n = 64
    A64, Q, lam = _ill_conditioned(n, cond, seed=13)
    G = torch.randn(n, n, dtype=F64, generator=torch.Generator().manual_seed(14))
    G = 0.5 * (G + G.T)
    A = A64.float().requires_grad_(True)
    mathsqrt.sqrtm(A, method="eigh", backward=backward).backward(G.float())
    X = A.grad.double()
    assert torch.isfinite(X).all()
    tau = _threshold(n, torch.float32, float(lam.max()))
    assert float(torch.linalg.norm(X)) <= 2 * float(torch.linalg.norm(G)) / math.sqrt(tau)


# --------------------------------------------------------------------------------------------------
# Batch independence
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backward", EXACT_BACKWARDS)
def test_singular_matrix_does_not_change_its_neighbours(backward):
    """Batch [well-conditioned, rank 3 of 8 at scale 1e6, well-conditioned at scale 1e-12]: every
    gradient equals the one computed alone. The threshold is per matrix: taken over the batch, it would
    declare the whole third matrix null."""
    n = 8
    A0 = _ill_conditioned(n, 10.0, seed=15)[0]
    F = _features(n, (3,), seed=16)[0]
    A1 = 1e6 * (F @ F.T / 3)
    A1 = 0.5 * (A1 + A1.T)
    A2 = 1e-12 * _ill_conditioned(n, 100.0, seed=17)[0]
    batch = torch.stack([A0, A1, A2])
    G = torch.randn(3, n, n, dtype=F64, generator=torch.Generator().manual_seed(18))

    def grad(A, G):
        A = A.clone().requires_grad_(True)
        (mathsqrt.sqrtm(A, method="eigh", backward=backward) * G).sum().backward()
        return A.grad

    together = grad(batch, G)
    assert torch.isfinite(together).all()
    # the singular member is bounded by its own threshold: ||X||_F <= 2 ||G||_F / sqrt(tau_1)
    tau1 = _threshold(n, F64, float(torch.linalg.eigvalsh(A1).max()))
    assert float(torch.linalg.norm(together[1])) <= 2 * float(torch.linalg.norm(G[1])) / math.sqrt(tau1)
    for k in range(3):
        alone = grad(batch[k : k + 1], G[k : k + 1])[0]
        torch.testing.assert_close(together[k], alone, rtol=1e-12, atol=1e-12 * float(alone.abs().max()))
