r"""Optimally scaled polynomial iterations: the sign-function Lyapunov solver and coupled Newton–Schulz.

Both the paper's backward (Newton–Schulz for the sign of the block matrix
:math:`\begin{pmatrix} S & G \\ 0 & -S \end{pmatrix}`, [1]_ Algorithm 2) and the coupled
Newton–Schulz forward ([2]_ Eq. (6.35)) act on every eigenvalue through one scalar odd polynomial
per step. After normalisation the eigenvalues lie in :math:`[\ell, 1]`, and each step should drive
all of them toward 1. The classical step :math:`p(x) = (3x - x^3)/2` multiplies a small eigenvalue
by only 3/2; this module replaces it by the **best** odd polynomial for the current interval:

* ``"cubic"``: the optimally scaled Newton–Schulz step of Chen & Chow [3]_ (closed form), equal to
  the degree-3 case of Polar Express [4]_;
* ``"quintic"``: the Polar Express step [4]_, the odd quintic of least maximum error on the
  interval, found by a Remez (equioscillation) solve in float64.

The greedy choice is optimal for the composition ([4]_ Sec. 4, "Greedy is optimal") and the image of the interval
is again an interval, so the worst-case error after ``k`` steps is known exactly in advance
(:class:`PolynomialSchedule`). What the matrix functions need is an interval that surely holds the
spectrum: a cheap per-matrix **upper bound** on :math:`\lambda_{\max}` (never too small,
:func:`spectral_bounds`) replaces the Frobenius norm, and a **lower bound** on
:math:`\lambda_{\min}/\lambda_{\max}` comes from the caller (``lower``) or a safe default (the unit
roundoff of the dtype: eigenvalues below it are rounding noise anyway).

Public functions
----------------
:func:`optimal_odd_polynomial`, :func:`polynomial_schedule`
    Scalar schedules (float64 numpy, cached).
:func:`spectral_bounds`
    Per-matrix :math:`u \ge \lambda_{\max}` and :math:`\ell \le \lambda_{\min}/u`.
:func:`lyapunov_scaled`
    Solves :math:`S X + X S = G` (the gradient of the square root), per-matrix scales and stopping.
:func:`newton_schulz_scaled`
    :math:`A^{1/2}` or :math:`A^{-1/2}` by the coupled iteration with the scheduled polynomials.
:func:`lyapunov_scaled_matmul_count`, :func:`newton_schulz_scaled_matmul_count`
    Matmuls performed (checked against :func:`mathsqrt.count_ops` by the tests).

Everything is batched over leading dimensions with per-matrix bounds, coefficients and stopping;
float16/bfloat16 inputs are computed in float32 and returned in their own dtype. Matrix products go
through :mod:`mathsqrt.counting`.

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 3.2,
   Eq. (20)–(22), Algorithm 2.
.. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Ch. 5 (the sign
   of :math:`\begin{pmatrix} S & G \\ 0 & -S \end{pmatrix}` and of
   :math:`\begin{pmatrix} 0 & A \\ I & 0 \end{pmatrix}`) and Eq. (6.35) (coupled Newton–Schulz).
.. [3] J. Chen, E. Chow, "A stable scaling of Newton–Schulz for improving the sign function
   computation of a Hermitian matrix", preprint, Argonne National Laboratory, 2014.
.. [4] N. Amsel, D. Persson, C. Musco, R. M. Gower, "The Polar Express: Optimal Matrix Sign Methods
   and Their Application to the Muon Algorithm", arXiv:2505.16932, 2025. Sec. 4: "Greedy is
   optimal" (the theorem and the interval recursion :math:`\ell_{t+1} = \min p_t`,
   :math:`u_{t+1} = \max p_t`), "Finding the optimal polynomial for each iteration" (the closed-form
   cubic and the equioscillation solve for the quintic), the finite-precision paragraphs (the safety
   factor :math:`p(x/1.01)` and the cushion) and Algorithm 1 (:math:`\max(\ell_t, u_t/10)`); the
   convergence theorem (no slower than Newton–Schulz of the same degree, also when :math:`\ell` is
   too large).
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Optional, Tuple, Union

import numpy as np
import torch

from . import counting as ops
from ._kernels import compute_dtype, frobenius_norm, pow2_scale
from .coefficients import compose_one_minus, taylor_coefficients

__all__ = [
    "KINDS",
    "optimal_odd_polynomial",
    "PolynomialSchedule",
    "polynomial_schedule",
    "spectral_bounds",
    "ScaledInfo",
    "lyapunov_scaled",
    "newton_schulz_scaled",
    "newton_schulz_tol",
    "ns_scaled_forward",
    "lyapunov_scaled_matmul_count",
    "newton_schulz_scaled_matmul_count",
]

#: Polynomial degree of each ``kind``.
KINDS = {"cubic": 3, "quintic": 5}

#: Safety factor of [4]_ (finite precision): a step may apply :math:`p(x/1.01)` instead of
#: :math:`p(x)`, so that eigenvalues pushed up to 1 % above the upper bound still converge.
DEFAULT_SAFETY = 1.01
#: Cushion of [4]_ Algorithm 1: each polynomial is designed on :math:`[\max(\ell, u/10), u]` and
#: then re-centred on :math:`[\ell, u]`.
DEFAULT_CUSHION = 0.1
#: Most steps any schedule may take.
MAX_STEPS = 100
#: Smallest normalised lower bound accepted (smaller ones are raised to it).
LOWER_FLOOR = 1e-30
#: Below this relative width, Remez in the monomial basis is ill-conditioned; the classical
#: (osculating) Newton–Schulz polynomial of the same degree is also tried there, and the better
#: of the two is kept.
_NARROW = 1e-2
#: ``lower`` values are rounded down to this many points per octave before a schedule is looked up.
_GRID = 8

LowerLike = Union[None, float, torch.Tensor]


# --------------------------------------------------------------------------------------------------
# Scalar polynomials and schedules (float64 numpy)
# --------------------------------------------------------------------------------------------------


def _check_degree(degree) -> int:
    if isinstance(degree, str):
        if degree not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}, got {degree!r}")
        return KINDS[degree]
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < 3 or degree % 2 == 0:
        raise ValueError(f"degree must be an odd int >= 3, got {degree!r}")
    return degree


def _peval(c: np.ndarray, x):
    """:math:`p(x) = \\sum_j c_j x^{2j+1}` (Horner in :math:`x^2`)."""
    x = np.asarray(x, dtype=np.float64)
    t = x * x
    acc = np.full_like(x, c[-1])
    for cj in c[-2::-1]:
        acc = acc * t + cj
    return acc * x


def _critical_points(c: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Positive critical points of the odd polynomial ``c`` inside ``[lo, hi]`` (roots of p' in x^2)."""
    q = len(c) - 1
    d = np.array([(2 * j + 1) * c[j] for j in range(q + 1)])  # p'(x) = sum d_j t^j, t = x^2
    if q == 1:
        t = np.array([-d[0] / d[1]]) if d[1] != 0 else np.array([])
    else:
        r = np.roots(d[::-1])
        t = r[np.abs(r.imag) <= 1e-12 * np.maximum(1.0, np.abs(r))].real
    t = t[(t >= lo * lo) & (t <= hi * hi)]
    return np.sort(np.sqrt(t))


def _image(c: np.ndarray, lo: float, hi: float) -> Tuple[float, float]:
    """Exact image :math:`[\\min p, \\max p]` of ``[lo, hi]`` (endpoints and critical points)."""
    xs = np.concatenate([[lo, hi], _critical_points(c, lo, hi)])
    v = _peval(c, xs)
    return float(v.min()), float(v.max())


@lru_cache(maxsize=None)
def _newton_schulz_polynomial(degree: int) -> Tuple[Fraction, ...]:
    r"""Classical Newton–Schulz polynomial of odd ``degree`` (exact): :math:`x\sum_{k\le q} d_k (1-x^2)^k`.

    :math:`d_k` are the Taylor coefficients of :math:`(1-z)^{-1/2}`; re-expanded in :math:`t = x^2`
    this is :math:`(3, -1)/2` for the cubic and :math:`(15, -10, 3)/8` for the quintic.
    """
    q = (degree - 1) // 2
    return compose_one_minus(taylor_coefficients(q, Fraction(-1, 2)))


def _remez(ell: float, q: int, *, max_iter: int = 100) -> Optional[np.ndarray]:
    """Minimax odd polynomial of degree ``2q+1`` approximating 1 on ``[ell, 1]``; None on failure."""
    # q + 2 alternation points, Chebyshev-like start (exact as ell -> 1 for q = 2, [4] Algorithm 2)
    x = np.array([ell + (1 - ell) * (1 - math.cos(math.pi * i / (q + 1))) / 2 for i in range(q + 2)])
    signs = (-1.0) ** np.arange(q + 2)
    E_old = None
    c = None
    for _ in range(max_iter):
        M = np.column_stack([x ** (2 * j + 1) for j in range(q + 1)] + [signs])
        try:
            sol = np.linalg.solve(M, np.ones(q + 2))
        except np.linalg.LinAlgError:
            return None
        c, E = sol[:-1], sol[-1]
        crit = _critical_points(c, ell, 1.0)
        if len(crit) != q:
            return None if E_old is None else c
        x = np.concatenate([[ell], crit, [1.0]])
        if E_old is not None and abs(E - E_old) <= 1e-15 * max(abs(E), 1e-300):
            break
        E_old = E
    return c


def _recentre(c: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Scale ``c`` so that the image of ``[lo, hi]`` is symmetric about 1."""
    a, b = _image(c, lo, hi)
    return c * (2.0 / (a + b))


def optimal_odd_polynomial(lower: float, upper: float = 1.0, *, degree: int = 3) -> Tuple[np.ndarray, float]:
    r"""Odd polynomial of least maximum error approximating 1 on :math:`[\ell, u]`.

    .. math:: p^\star = \operatorname*{arg\,min}_{p\ \mathrm{odd},\ \deg p \le d}\ \max_{x\in[\ell,u]} |1 - p(x)|,
              \qquad p(x) = \sum_{j=0}^{q} c_j x^{2j+1},\quad d = 2q+1.

    * ``degree=3``: closed form of Chen & Chow [1]_ (as restated in [2]_),

      .. math:: p(x) = \beta\,\tfrac12\left(3\alpha x - (\alpha x)^3\right),\qquad
                \alpha = \sqrt{\frac{3}{u^2 + \ell u + \ell^2}},\qquad
                \beta = \frac{4}{2 + \ell u(\ell + u)\alpha^3};

      it equioscillates at :math:`\ell`, :math:`1/\alpha` and :math:`u`.
    * ``degree >= 5``: a Remez exchange on the :math:`q+2` alternation points ``ℓ``, the
      :math:`q` positive critical points of :math:`p` and ``u`` (for the quintic, the simplified
      Remez of [2]_: solve for the coefficients and :math:`E` on the four points, move the inner
      two to the roots of :math:`p'`, repeat), in float64 on
      the normalised interval :math:`[\ell/u, 1]` (the problem is scale invariant). For narrow
      intervals (:math:`1 - \ell/u < 10^{-2}`, where the monomial basis is ill-conditioned) the
      classical Newton–Schulz polynomial of the same degree, rescaled to the midpoint, is also
      tried and the better of the two is returned.

    Parameters
    ----------
    lower, upper : float
        :math:`0 < \ell \le u`.
    degree : int
        Odd, at least 3.

    Returns
    -------
    c : ndarray, shape ``(q + 1,)``, float64
        Ascending coefficients of the odd powers :math:`x, x^3, \dots, x^{2q+1}`.
    error : float
        :math:`\max_{[\ell, u]} |1 - p|`, from the exact image of the interval.

    References
    ----------
    .. [1] J. Chen, E. Chow, "A stable scaling of Newton–Schulz for improving the sign function
       computation of a Hermitian matrix", preprint ANL/MCS-P5059-0114, Argonne National Laboratory, 2014.
    .. [2] N. Amsel, D. Persson, C. Musco, R. M. Gower, "The Polar Express: Optimal Matrix Sign Methods
       and Their Application to the Muon Algorithm", arXiv:2505.16932, 2025, Sec. 4 ("Finding the optimal polynomial for each iteration").
    """
    degree = _check_degree(degree)
    q = (degree - 1) // 2
    lo, hi = float(lower), float(upper)
    if not (0 < lo <= hi) or not math.isfinite(hi):
        raise ValueError(f"need 0 < lower <= upper < inf, got lower={lower!r}, upper={upper!r}")
    r = lo / hi
    powers = np.array([hi ** (2 * j + 1) for j in range(q + 1)])
    candidates = []
    if q == 1:
        alpha = math.sqrt(3.0 / (1.0 + r + r * r))
        beta = 4.0 / (2.0 + r * (1.0 + r) * alpha**3)
        candidates.append(np.array([1.5 * beta * alpha, -0.5 * beta * alpha**3]))
    else:
        c = _remez(r, q) if r < 1.0 else None
        if c is not None:
            candidates.append(_recentre(c, r, 1.0))
        if c is None or 1.0 - r < _NARROW:
            m = 0.5 * (1.0 + r)
            ns = np.array([float(f) for f in _newton_schulz_polynomial(degree)])
            candidates.append(_recentre(ns / np.array([m ** (2 * j + 1) for j in range(q + 1)]), r, 1.0))
    best, best_err = None, math.inf
    for c in candidates:
        a, b = _image(c, r, 1.0)
        err = max(1.0 - a, b - 1.0)
        if err < best_err:
            best, best_err = c, err
    return best / powers, best_err


@dataclass(frozen=True)
class PolynomialSchedule:
    r"""A sequence of odd polynomials driving every :math:`x \in [\ell_0, 1]` toward 1, with exact bounds.

    Step :math:`t` maps :math:`x \mapsto p_t(x) = \sum_j c_{t,j}\,x^{2j+1}`; the composition maps
    :math:`[\ell_0, u_0 = 1]` **onto** :math:`[\ell_t, u_t]` (the image of an interval under a
    continuous map, computed exactly from endpoints and critical points), so after :math:`t` steps

    .. math:: \max_{x \in [\ell_0, 1]} |1 - (p_t \circ \dots \circ p_1)(x)| = \max(1 - \ell_t,\ u_t - 1),

    and points below :math:`\ell_0` still grow (every :math:`p_t` is increasing with slope above 1
    on :math:`[0, \ell_t]`), only later.

    Attributes
    ----------
    degree : int
    coefficients : ndarray, shape ``(T, q + 1)``, float64
        Row ``t``: ascending odd-power coefficients of :math:`p_{t+1}`. Written with
        :math:`p(x) = x\,h(x^2)`, the same numbers are the ascending coefficients of :math:`h`.
    lower, upper : ndarray, shape ``(T + 1,)``, float64
        :math:`\ell_t, u_t`; ``lower[0]`` is the starting lower bound and ``upper[0] = 1``.

    Notes
    -----
    The interval recursion :math:`\ell_{t+1} = \min p_t`, :math:`u_{t+1} = \max p_t` and the
    optimality of the greedy choice are [1]_, Sec. 4; the cubic case is [2]_.

    References
    ----------
    .. [1] N. Amsel, D. Persson, C. Musco, R. M. Gower, "The Polar Express: Optimal Matrix Sign Methods
       and Their Application to the Muon Algorithm", arXiv:2505.16932, 2025, Sec. 4 ("Greedy is optimal").
    .. [2] J. Chen, E. Chow, "A stable scaling of Newton–Schulz for improving the sign function
       computation of a Hermitian matrix", preprint ANL/MCS-P5059-0114, Argonne National Laboratory, 2014.
    """

    degree: int
    coefficients: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @property
    def steps(self) -> int:
        """Number of polynomials ``T``."""
        return len(self.coefficients)

    @property
    def error(self) -> np.ndarray:
        r""":math:`\max(1 - \ell_t, u_t - 1)`, shape ``(T + 1,)``: the worst-case error after ``t`` steps."""
        return np.maximum(1.0 - self.lower, self.upper - 1.0)

    def __call__(self, x, steps: Optional[int] = None) -> np.ndarray:
        """Apply the first ``steps`` polynomials (default all) to ``x`` (float64 numpy)."""
        y = np.asarray(x, dtype=np.float64)
        for c in self.coefficients[: self.steps if steps is None else steps]:
            y = _peval(c, y)
        return y


def _step(ell: float, u: float, degree: int, cushion: float) -> np.ndarray:
    """The greedy polynomial for ``[ell, u]`` with the cushion, re-centred on ``[ell, u]``."""
    lo = max(ell, cushion * u)
    c, _ = optimal_odd_polynomial(lo, u, degree=degree)
    if lo > ell:  # designed on [cushion u, u]: re-centre on the true interval (as in [4])
        c = _recentre(c, ell, u)
    return c


@lru_cache(maxsize=4096)
def _schedule(
    ell: float, degree: int, steps: Optional[int], target: float, safety: float, cushion: float, max_steps: int
):
    q = (degree - 1) // 2
    rows, lows, ups = [], [ell], [1.0]
    lo, hi = ell, 1.0
    while True:
        if steps is not None:
            if len(rows) == steps:
                break
        elif max(1.0 - lo, hi - 1.0) <= target or len(rows) == max_steps:
            break
        c = _step(lo, hi, degree, cushion)
        a, b = _image(c, lo, hi)
        last = len(rows) + 1 == steps if steps is not None else max(1.0 - a, b - 1.0) <= target
        # relative gain of an overshoot above hi: p(hi (1 + d)) ~ b (1 + g d)
        gain = float(sum((2 * j + 1) * c[j] * hi ** (2 * j + 1) for j in range(q + 1))) / b
        if safety != 1.0 and not last and gain > 1.0:
            c = c / np.array([safety ** (2 * j + 1) for j in range(q + 1)])
            a, b = _image(c, lo, hi)
        rows.append(c)
        lo, hi = a, b
        lows.append(lo)
        ups.append(hi)
    coefficients = np.array(rows, dtype=np.float64).reshape(len(rows), q + 1)
    for arr in (coefficients,):
        arr.setflags(write=False)
    low, up = np.array(lows), np.array(ups)
    low.setflags(write=False)
    up.setflags(write=False)
    return PolynomialSchedule(degree=degree, coefficients=coefficients, lower=low, upper=up)


def polynomial_schedule(
    lower: float,
    *,
    kind: Union[str, int] = "cubic",
    steps: Optional[int] = None,
    tol: Optional[float] = None,
    safety: float = DEFAULT_SAFETY,
    cushion: float = DEFAULT_CUSHION,
    max_steps: int = MAX_STEPS,
) -> PolynomialSchedule:
    r"""Greedy optimal schedule for :math:`[\ell, 1]` ([2]_ Sec. 4, "Greedy is optimal"; [1]_ for the cubic).

    For :math:`t = 0, 1, \dots`: :math:`p_{t+1}` is :func:`optimal_odd_polynomial` on
    :math:`[\max(\ell_t, \gamma u_t), u_t]` (the *cushion* :math:`\gamma` of [2]_ Algorithm 1 keeps
    :math:`p(x)/x` from becoming tiny near :math:`u_t`, which loses precision), re-centred so that
    the image of :math:`[\ell_t, u_t]` is symmetric about 1. :math:`[\ell_{t+1}, u_{t+1}]` is the
    exact image of :math:`[\ell_t, u_t]` (endpoints and critical points), so
    ``error[t]`` is the exact worst case.

    **Safety factor.** An eigenvalue a little above :math:`u_t` (rounding) is mapped to about
    :math:`u_{t+1}(1 + g_t\delta)` with the relative gain :math:`g_t = p_t'(u_t)\,u_t/u_{t+1}`; if
    :math:`g_t > 1` the overshoot grows from step to step and the iteration can diverge. On such
    steps (never the last) :math:`p_t` is replaced by :math:`p_t(x/s)`, :math:`s = 1.01` ([2]_,
    finite-precision paragraphs). [2]_ applies it to every step but the last; near convergence
    :math:`g_t \to 0` and the factor only costs accuracy (the cubic would stall at
    :math:`1 - p(1/1.01) \approx 1.5\cdot 10^{-4}` until an unscaled step), so here it is used
    only where :math:`g_t > 1`: the first few quintic steps. The cubic has :math:`g_t < 0`
    (:math:`u_t` lies beyond its maximum) and is protected by its root
    :math:`\sqrt{u^2 + u\ell + \ell^2} \ge 1.05\,u` under the cushion :math:`\gamma = 0.1`.

    Parameters
    ----------
    lower : float
        :math:`0 < \ell_0 \le 1`, the lower end of the interval (upper end 1).
    kind : {"cubic", "quintic"} or odd int
        Degree of every step.
    steps : int, optional
        Exactly this many steps.
    tol : float, optional
        Otherwise: the fewest steps whose worst-case error is at most ``tol`` (default
        ``2**-52``), but at most ``max_steps``.
    safety, cushion : float
        See above; ``safety=1`` and ``cushion=0`` give the plain greedy optimum.

    Returns
    -------
    PolynomialSchedule
        Cached: identical arguments return the same (read-only) object.

    References
    ----------
    .. [1] J. Chen, E. Chow, "A stable scaling of Newton–Schulz for improving the sign function
       computation of a Hermitian matrix", preprint ANL/MCS-P5059-0114, Argonne National Laboratory, 2014.
    .. [2] N. Amsel, D. Persson, C. Musco, R. M. Gower, "The Polar Express: Optimal Matrix Sign Methods
       and Their Application to the Muon Algorithm", arXiv:2505.16932, 2025, Sec. 4 and Algorithm 1.
    """
    degree = _check_degree(kind)
    ell = float(lower)
    if not 0 < ell <= 1:
        raise ValueError(f"lower must be in (0, 1], got {lower!r}")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 0):
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    if not safety >= 1.0:
        raise ValueError(f"safety must be >= 1, got {safety!r}")
    if not 0 <= cushion < 1:
        raise ValueError(f"cushion must be in [0, 1), got {cushion!r}")
    if tol is not None and not tol > 0:
        raise ValueError(f"tol must be positive, got {tol!r}")
    target = 2.0**-52 if tol is None else max(float(tol), 2.0**-52)
    return _schedule(ell, degree, steps, target, float(safety), float(cushion), int(max_steps))


# --------------------------------------------------------------------------------------------------
# Spectral bounds
# --------------------------------------------------------------------------------------------------


def _bounds(A: torch.Tensor, squarings: int) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""Per-matrix ``(u, m)``, shape ``(...)``, with :math:`m \le \lambda_{\max} \le u` (``m``: for symmetric ``A``)."""
    n = A.shape[-1]
    s = pow2_scale(A)  # exact power of two: no overflow below, and undone exactly
    W = A.detach() / s
    inf_norm = W.abs().sum(dim=-1).amax(dim=-1)  # Gershgorin: every |lambda| <= max row sum
    fro = frobenius_norm(W)
    upper = torch.minimum(inf_norm, fro)
    # for symmetric positive semi-definite A: lambda_max >= a_ii and >= ||A||_F / sqrt(n)
    below = torch.maximum(W.diagonal(dim1=-2, dim2=-1).amax(dim=-1), fro / math.sqrt(n))
    f = torch.where(fro > 0, fro, torch.ones_like(fro))
    V = W / f[..., None, None]
    if squarings:
        # (W/f)^(2^k) = sigma_k V_k with ||V_k||_F = 1:  rho(W)/f <= sigma_k^(2^-k) <= n^(2^-(k+1)) rho(W)/f
        shape = V.shape
        V = V.reshape(-1, n, n)
        log_sigma = torch.zeros(V.shape[0], dtype=W.dtype, device=W.device)
        for k in range(1, squarings + 1):
            V = ops.matmul(V, V)
            nu = torch.linalg.matrix_norm(V)
            V = V / torch.where(nu > 0, nu, torch.ones_like(nu))[:, None, None]
            log_sigma = 2.0 * log_sigma + torch.log(nu)  # -inf for a nilpotent (or zero) matrix
            bound = (fro.reshape(-1) * torch.exp(log_sigma / 2.0**k)).reshape(shape[:-2])
            upper = torch.minimum(upper, bound)
            below = torch.maximum(below, bound * n ** -(2.0 ** -(k + 1)))
        V = V.reshape(shape)
    # Rayleigh quotient of the largest column v of W^(2^K) (power iteration from the best unit
    # vector): v^T W v / v^T v <= lambda_max. Matrix-vector products only.
    j = torch.linalg.vector_norm(V, dim=-2).argmax(dim=-1)
    v = torch.take_along_dim(V, j[..., None, None].expand(*V.shape[:-1], 1), dim=-1)
    vv = (v * v).sum(dim=(-2, -1))
    rq = (v * torch.matmul(W, v)).sum(dim=(-2, -1)) / torch.where(vv > 0, vv, torch.ones_like(vv))
    below = torch.maximum(below, rq)
    # rounding in the sums and products: a relative 4 n eps (the polynomial safety factor covers more)
    upper = upper * (1.0 + 4 * n * torch.finfo(W.dtype).eps)
    s = s.squeeze(-1).squeeze(-1)
    return upper * s, torch.minimum(below, upper) * s


def _lower_tensor(lower: LowerLike, batch: torch.Size, dtype: torch.dtype, device, default: float) -> torch.Tensor:
    if lower is None:
        return torch.full(batch, default, dtype=dtype, device=device)
    if isinstance(lower, torch.Tensor):
        t = lower.detach().to(dtype=dtype, device=device)
        if bool(torch.isnan(t).any()) or bool((t <= 0).any()) or bool((t > 1).any()):
            raise ValueError("lower must lie in (0, 1] (a bound on lambda_min / lambda_max)")
        return t.expand(batch) if t.dim() else torch.full(batch, float(t), dtype=dtype, device=device)
    if isinstance(lower, bool) or not isinstance(lower, numbers.Real):
        raise TypeError(f"lower must be None, a float or a tensor, got {type(lower).__name__}")
    if not 0 < lower <= 1:
        raise ValueError(f"lower must lie in (0, 1] (a bound on lambda_min / lambda_max), got {lower!r}")
    return torch.full(batch, float(lower), dtype=dtype, device=device)


def spectral_bounds(
    A: torch.Tensor, *, lower: LowerLike = None, squarings: int = 2
) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""Per-matrix bounds :math:`u \ge \lambda_{\max}(A)` and :math:`\ell \le \lambda_{\min}(A)/u` (normalised).

    **Upper bound** (never too small, up to a relative :math:`4n\epsilon` allowance for rounding):

    .. math:: u = \min\left(\|A\|_\infty,\ \|A\|_F,\ \|A^{2^k}\|_F^{2^{-k}}\ (k = 1..K)\right),

    :math:`\|A\|_\infty` being Gershgorin's bound and :math:`\|A^m\|_F^{1/m} \ge \rho(A^m)^{1/m} = \rho(A)`
    (for symmetric :math:`A` also :math:`\le n^{1/(2m)}\rho(A)`: ``K = 1`` is within :math:`n^{1/4}`
    of :math:`\lambda_{\max}`, ``K = 2`` within :math:`n^{1/8}`). Each squaring is one matmul on the
    renormalised matrix (no overflow or underflow): power iteration on all vectors at once, with
    a guarantee instead of an estimate. :math:`\|A\|_F` alone can exceed :math:`\lambda_{\max}` by
    :math:`\sqrt n`, which is why the paper's normalisation slows every iteration.

    **Lower bound**: with ``lower`` :math:`\le \lambda_{\min}/\lambda_{\max}` (one over a condition
    number bound, default the unit roundoff of the dtype) and :math:`m \le \lambda_{\max}` the largest
    of :math:`\max_i a_{ii}`, :math:`\|A\|_F/\sqrt n`, :math:`\|A^{2^k}\|_F^{2^{-k}} n^{-2^{-k-1}}` and
    the Rayleigh quotient :math:`v^T A v / v^T v` of the largest column :math:`v` of :math:`A^{2^K}`
    (power iteration from the best unit vector; matrix-vector products only), all valid for
    positive semi-definite :math:`A`,

    .. math:: \ell = \texttt{lower}\cdot m/u \ \le\ \lambda_{\min}/u.

    Parameters
    ----------
    A : Tensor, shape ``(..., n, n)``
        Symmetric positive semi-definite (the upper bound holds for any real matrix's spectral radius).
    lower : float or Tensor broadcastable to ``(...)``, optional
        Bound on :math:`\lambda_{\min}/\lambda_{\max}` in :math:`(0, 1]`. For :math:`A + \varepsilon I`
        with PSD :math:`A`, ``eps / frobenius_norm(A + eps I)`` is one.
    squarings : int
        ``K >= 0`` matmuls spent on tightening (default 2).

    Returns
    -------
    upper : Tensor, shape ``(...)``, compute dtype of ``A``
        Zero only for the zero matrix.
    ell : Tensor, shape ``(...)``, float64
        In :math:`[10^{-30}, 1]`; 1 for the zero matrix.

    Notes
    -----
    Gershgorin's theorem and power iteration are classical ([1]_, Sec. 7.2.1 and 8.2); a bound on
    :math:`\lambda_{\max}` replaces the Frobenius normalisation of [2]_, Eq. (4), and the lower bound
    starts the schedule of [3]_, Algorithm 1.

    References
    ----------
    .. [1] G. H. Golub, C. F. Van Loan, "Matrix Computations", 4th ed., Johns Hopkins University Press,
       2013.
    .. [2] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (4).
    .. [3] N. Amsel, D. Persson, C. Musco, R. M. Gower, "The Polar Express: Optimal Matrix Sign Methods
       and Their Application to the Muon Algorithm", arXiv:2505.16932, 2025.
    """
    if A.dim() < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"A must have shape (..., n, n), got {tuple(A.shape)}")
    if isinstance(squarings, bool) or not isinstance(squarings, int) or squarings < 0:
        raise ValueError(f"squarings must be an int >= 0, got {squarings!r}")
    X = A.to(compute_dtype(A.dtype))
    upper, below = _bounds(X, squarings)
    return upper, _normalised_lower(upper, below, lower, torch.finfo(X.dtype).eps)


def _normalised_lower(upper: torch.Tensor, below: torch.Tensor, lower: LowerLike, default: float) -> torch.Tensor:
    r""":math:`\ell = \texttt{lower}\cdot m/u` in float64, clamped to ``[LOWER_FLOOR, 1]``; 1 where :math:`u = 0`."""
    u, m = upper.to(torch.float64), below.to(torch.float64)
    lo = _lower_tensor(lower, u.shape, torch.float64, u.device, default)
    ell = torch.where(u > 0, lo * m / torch.where(u > 0, u, torch.ones_like(u)), torch.ones_like(u))
    return ell.clamp(min=LOWER_FLOOR, max=1.0)


# --------------------------------------------------------------------------------------------------
# Matrix iterations
# --------------------------------------------------------------------------------------------------


@dataclass
class ScaledInfo:
    r"""What :func:`lyapunov_scaled` / :func:`newton_schulz_scaled` did, per matrix.

    Attributes
    ----------
    iterations : Tensor, shape ``(...)``, int64
        Steps applied to each matrix.
    bound : Tensor, shape ``(...)``, float64
        The a-priori worst-case error :math:`\max(1-\ell_T, u_T-1)` of the schedule after those
        steps (exact arithmetic): a bound on the relative error of every eigen-component
        (Lyapunov: of :math:`X` in the Frobenius norm; forward: of each eigenvalue of the result),
        valid when ``lower`` was a true bound.
    residual : Tensor, shape ``(...)``
        :math:`\|B_T - I\|_F` (Lyapunov) or :math:`\|Z_T Y_T - I\|_F` (forward) at the end: an
        a-posteriori bound on the same relative error (up to rounding).
    upper : Tensor, shape ``(...)``
        The upper bound :math:`u` used to normalise (:func:`spectral_bounds`).
    lower : Tensor, shape ``(...)``
        The normalised lower bound of the scalar variable, :math:`\ell_0` (after rounding down to
        the schedule grid).
    converged : Tensor, shape ``(...)``, bool, or None
        ``residual <= tol`` when a tolerance was given.
    condition : Tensor, shape ``(...)``, or None
        Forward only: the estimate :math:`\|Z_T\|_F^2 \approx \|(A/u)^{-1/2}\|_F^2` of the condition
        number :math:`\kappa(A)`: at least :math:`u/\lambda_{\min} \ge \kappa`, at most
        :math:`n\,u/\lambda_{\min}` (an over-estimate by at most :math:`n\,u/\lambda_{\max}`).

    Notes
    -----
    ``bound`` is the worst-case error of the greedy schedule ([1]_, Sec. 4).

    References
    ----------
    .. [1] N. Amsel, D. Persson, C. Musco, R. M. Gower, "The Polar Express: Optimal Matrix Sign Methods
       and Their Application to the Muon Algorithm", arXiv:2505.16932, 2025.
    """

    iterations: torch.Tensor
    bound: torch.Tensor
    residual: torch.Tensor
    upper: torch.Tensor
    lower: torch.Tensor
    converged: Optional[torch.Tensor]
    condition: Optional[torch.Tensor] = None


def _per_matrix_schedules(ell: torch.Tensor, degree: int, steps: Optional[int], target: float, max_steps: int):
    """Coefficients ``(N, T, q+1)`` (numpy), lengths ``(N,)``, bounds ``(N,)`` and the grid ``ell`` per matrix."""
    q = (degree - 1) // 2
    e = ell.detach().reshape(-1).to("cpu", torch.float64).numpy()
    e = np.where(np.isfinite(e), e, 1.0)
    # round down to the grid (a smaller lower bound is always valid) so that schedules are shared
    e = np.exp2(np.floor(np.log2(np.clip(e, LOWER_FLOOR, 1.0)) * _GRID) / _GRID)
    uniq, inverse = np.unique(e, return_inverse=True)
    scheds = [_schedule(float(x), degree, steps, target, DEFAULT_SAFETY, DEFAULT_CUSHION, max_steps) for x in uniq]
    T = max((s.steps for s in scheds), default=0)
    coef = np.zeros((len(uniq), T, q + 1))
    lengths = np.zeros(len(uniq), dtype=np.int64)
    errors = np.zeros((len(uniq), T + 1))
    for i, s in enumerate(scheds):
        coef[i, : s.steps] = s.coefficients
        lengths[i] = s.steps
        errors[i, : s.steps + 1] = s.error
        errors[i, s.steps + 1 :] = s.error[-1]
    return coef[inverse], lengths[inverse], errors[inverse], e


def _h(M: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    r""":math:`h(M) = \sum_j c_j M^j` by Horner's rule; per-matrix ``c`` of shape ``(m, q+1)``; q - 1 matmuls."""
    q = c.shape[1] - 1
    acc = M * c[:, q, None, None]
    acc.diagonal(dim1=-2, dim2=-1).add_(c[:, q - 1, None])
    for j in range(q - 2, -1, -1):
        acc = ops.matmul(M, acc)
        acc.diagonal(dim1=-2, dim2=-1).add_(c[:, j, None])
    return acc


def _h_and_derivative(P: torch.Tensor, E: torch.Tensor, c: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    r""":math:`h(P)` and its Fréchet derivative :math:`L_h(P, E)` by differentiated Horner; 3(q - 1) matmuls."""
    q = c.shape[1] - 1
    acc = P * c[:, q, None, None]
    acc.diagonal(dim1=-2, dim2=-1).add_(c[:, q - 1, None])
    dacc = E * c[:, q, None, None]
    for j in range(q - 2, -1, -1):
        dacc = ops.addmatmul(ops.matmul(P, dacc), E, acc)  # d(P acc) = E acc + P d(acc)
        acc = ops.matmul(P, acc)
        acc.diagonal(dim1=-2, dim2=-1).add_(c[:, j, None])
    return acc, dacc


def _identity_residual(B: torch.Tensor) -> torch.Tensor:
    D = B.clone()
    D.diagonal(dim1=-2, dim2=-1).sub_(1)
    return torch.linalg.matrix_norm(D)


def _warn_unconverged(residual: torch.Tensor, tol: Optional[float], n: int, eps: float, who: str, what: str) -> None:
    r"""RuntimeWarning when a tolerance was given and some matrix ended well above it.

    When ``lower`` holds, the schedule guarantees a spectral error :math:`\le` ``tol``, i.e. a
    Frobenius residual up to :math:`2\sqrt n\,` ``tol`` (the forward's residual is on :math:`x^2`),
    and rounding alone leaves up to about :math:`10^3 n\epsilon` (the forward's grows like
    :math:`\epsilon\sqrt{\kappa}`). Only larger residuals are reported: they mean that ``lower``
    was not a lower bound (or ``iters`` too few).
    """
    if tol is None:
        return
    bad = ~(residual <= _rounding_limit(tol, n, eps))
    if bool(bad.any()):
        warnings.warn(
            f"{who}: {int(bad.sum())} matrix(es) ended with {what} up to {float(residual.max()):.3g} "
            f"(tol = {tol:g}); `lower` is probably not a lower bound on lambda_min/lambda_max there "
            "(pass a smaller one) or `iters` is too small",
            RuntimeWarning,
            stacklevel=3,
        )


def _rounding_limit(tol: float, n: int, eps: float) -> float:
    """Largest final residual that does not indicate a failure (see :func:`_warn_unconverged`)."""
    return max(3 * math.sqrt(n) * tol, 1e3 * n * eps)


def _check_square(name: str, X: torch.Tensor) -> None:
    if not isinstance(X, torch.Tensor) or X.dim() < 2 or X.shape[-1] != X.shape[-2]:
        shape = tuple(X.shape) if isinstance(X, torch.Tensor) else type(X).__name__
        raise ValueError(f"{name} must be a tensor of shape (..., n, n), got {shape}")
    if not X.is_floating_point():
        raise TypeError(f"{name} must be floating point, got {X.dtype}")


def _check_options(iters, tol, kind) -> int:
    degree = _check_degree(kind)
    if iters is not None and (isinstance(iters, bool) or not isinstance(iters, int) or not 0 <= iters <= MAX_STEPS):
        raise ValueError(f"iters must be an int in [0, {MAX_STEPS}], got {iters!r}")
    if tol is not None and not (isinstance(tol, (int, float)) and not isinstance(tol, bool) and tol > 0):
        raise ValueError(f"tol must be a positive float, got {tol!r}")
    return degree


class _Active:
    """Per-matrix bookkeeping on the host: which matrices step at iteration ``k``, and when they stop.

    ``lengths`` are the a-priori schedule lengths, ``horizon`` the most steps a matrix may take
    (beyond its schedule only with a tolerance: continuation steps). A matrix stops when its
    residual is at most ``tol``, or, past its schedule, at most ``limit`` (the rounding level).
    """

    def __init__(self, lengths: np.ndarray, horizon: np.ndarray, skip: np.ndarray, tol, limit):
        self.lengths = lengths
        self.horizon = horizon
        self.done = skip.copy()
        self.steps = np.zeros_like(lengths)
        self.tol, self.limit = tol, limit

    def at(self, k: int) -> Optional[np.ndarray]:
        idx = np.nonzero((self.horizon > k) & ~self.done)[0]
        return idx if len(idx) else None

    def converged(self, idx: np.ndarray, residual: torch.Tensor, taken: int) -> np.ndarray:
        """Mark (and return the mask of) the matrices ``idx`` whose residual after ``taken`` steps suffices."""
        r = residual.detach().to("cpu", torch.float64).numpy()
        conv = (r <= self.tol) | ((taken >= self.lengths[idx]) & (r <= self.limit))
        self.done[idx[conv]] = True
        return conv


def _take(X: torch.Tensor, idx_t: Optional[torch.Tensor]) -> torch.Tensor:
    return X if idx_t is None else X.index_select(0, idx_t)


def _put(X: torch.Tensor, idx_t: Optional[torch.Tensor], value: torch.Tensor) -> torch.Tensor:
    return value if idx_t is None else X.index_copy(0, idx_t, value)


def lyapunov_scaled_matmul_count(iters: int, *, kind: str = "cubic", squarings: int = 2) -> int:
    r"""Matmuls of :func:`lyapunov_scaled` for ``iters`` steps of every matrix.

    :math:`6 + 3(q-1)` per step for degree :math:`2q+1` (cubic 6, as the paper's iteration; quintic
    9) plus ``squarings`` for the upper bound.

    Parameters
    ----------
    iters : int
        Number of steps.
    kind : str
        ``"cubic"`` or ``"quintic"``.
    squarings : int
        Matmuls spent on the upper bound (:func:`spectral_bounds`).

    Returns
    -------
    int
        Number of ``n x n`` matrix products.

    Notes
    -----
    The paper's iteration costs 6 matmuls per step ([1]_, Table 2).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Table 2.
    """
    q = (_check_degree(kind) - 1) // 2
    return iters * (6 + 3 * (q - 1)) + squarings


def newton_schulz_scaled_matmul_count(
    iters: int, *, kind: str = "quintic", inverse: bool = False, squarings: int = 2
) -> int:
    r"""Matmuls of :func:`newton_schulz_scaled` for ``iters`` steps of every matrix.

    Per step :math:`q + 2` (cubic 3, quintic 4): :math:`M = Z Y`, :math:`q - 1` for
    :math:`T = h(M)`, :math:`Y T` and :math:`T Z`. The first step skips the two products with
    :math:`Z_0 = I` and the last the product not returned: :math:`(T-2)(q+2) + 2q + 1` for
    :math:`T \ge 2` (cubic :math:`3T - 3`, quintic :math:`4T - 3`); plus ``squarings``.

    Parameters
    ----------
    iters : int
        Number of steps.
    kind : str
        ``"cubic"`` or ``"quintic"``.
    inverse : bool
        Whether the inverse square root is returned.
    squarings : int
        Matmuls spent on the upper bound (:func:`spectral_bounds`).

    Returns
    -------
    int
        Number of ``n x n`` matrix products.

    Notes
    -----
    The paper counts 3 matmuls per Newton–Schulz step ([1]_, Table 1); the quintic costs one more.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Table 1.
    """
    q = (_check_degree(kind) - 1) // 2
    if iters == 0:
        core = 0
    elif iters == 1:
        core = q - 1 if inverse else q
    else:
        core = (iters - 2) * (q + 2) + 2 * q + 1
    return core + squarings


def _prepare(
    X: torch.Tensor, lower: LowerLike, default_lower: float, squarings: int, degree: int, iters, tol, *, root: bool
):
    upper, below = _bounds(X, squarings)
    safe_u = torch.where(upper > 0, upper, torch.ones_like(upper))
    ell = _normalised_lower(upper, below, lower, default_lower)
    if root:  # the forward's scalar variable is sqrt(lambda / u)
        ell = ell.sqrt()
    eps = float(torch.finfo(X.dtype).eps)  # no schedule aims below the unit roundoff of the dtype
    target = eps if tol is None else max(float(tol), eps)
    coef, lengths, errors, ell_grid = _per_matrix_schedules(ell, degree, iters, target, MAX_STEPS)
    horizon = lengths
    if tol is not None and iters is None:
        # continuation: past its schedule a matrix that has not converged (``lower`` was not a
        # lower bound) keeps stepping with the classical polynomial of the same degree, which
        # converges for every eigenvalue in (0, u] ([4]: no slower than Newton-Schulz of that degree)
        ns = np.array([float(f) for f in _newton_schulz_polynomial(degree)])
        padded = np.broadcast_to(ns, (coef.shape[0], MAX_STEPS, coef.shape[2])).copy()
        padded[:, : coef.shape[1]] = np.where(
            np.arange(coef.shape[1])[None, :, None] < lengths[:, None, None], coef, ns
        )
        coef, horizon = padded, np.full_like(lengths, MAX_STEPS)
    u_host = upper.reshape(-1).to("cpu", torch.float64).numpy()
    skip = ~(u_host > 0) | ~np.isfinite(u_host)  # zero (or non-finite) matrices: no steps
    n = X.shape[-1]
    limit = None if tol is None else _rounding_limit(tol, n, eps)
    active = _Active(lengths, horizon, skip, tol, limit)
    return upper, safe_u, coef, errors, ell_grid, active


def _info(active: _Active, errors, residual, upper, ell_grid, tol, batch, device) -> ScaledInfo:
    steps = active.steps
    bound = errors[np.arange(len(steps)), np.minimum(steps, errors.shape[1] - 1)]
    conv = None if tol is None else (residual <= tol)
    return ScaledInfo(
        iterations=torch.from_numpy(steps.copy()).reshape(batch).to(device),
        bound=torch.from_numpy(bound).reshape(batch).to(device),
        residual=residual,
        upper=upper,
        lower=torch.from_numpy(ell_grid).reshape(batch).to(device),
        converged=conv,
    )


def lyapunov_scaled(
    S: torch.Tensor,
    G: torch.Tensor,
    *,
    lower: LowerLike = None,
    iters: Optional[int] = None,
    tol: Optional[float] = None,
    kind: str = "cubic",
    squarings: int = 2,
    return_info: bool = False,
):
    r"""Solve :math:`S X + X S = G` by the optimally scaled sign iteration on the block matrix.

    With :math:`H = \begin{pmatrix} S & G \\ 0 & -S \end{pmatrix}`,
    :math:`\mathrm{sign}(H) = \begin{pmatrix} I & 2X \\ 0 & -I \end{pmatrix}` ([2]_ Ch. 5;
    [1]_ Eq. (20)–(22), Algorithm 2). Every step applies an odd polynomial :math:`p_k(x) = x\,h_k(x^2)` of the
    schedule (:func:`polynomial_schedule`) to :math:`H_k = \begin{pmatrix} B_k & C_k \\ 0 & -B_k
    \end{pmatrix}`, starting from :math:`B_0 = S/u`, :math:`C_0 = G/u` with :math:`u \ge
    \lambda_{\max}(S)` per matrix. Since :math:`H_k^2 = \begin{pmatrix} P & E \\ 0 & P\end{pmatrix}`
    with :math:`P = B_k^2`, :math:`E = B_k C_k - C_k B_k`,

    .. math:: B_{k+1} = B_k\,h_k(P), \qquad C_{k+1} = B_k\,L_{h_k}(P, E) + C_k\,h_k(P),

    :math:`L_h` the Fréchet derivative of :math:`h`, and :math:`X \approx \tfrac12 C_T`. For the
    classical :math:`h(y) = (3 - y)/2` this is exactly the paper's iteration. In the eigenbasis of
    :math:`S` the entry :math:`(i, j)` of :math:`\tfrac12 C_T` is :math:`X_{ij}\,(f(s_i) +
    f(s_j))/2`, :math:`f` the composed polynomial: the relative error of :math:`X` (Frobenius) is
    at most :math:`\max_i |f(s_i/u) - 1|`, which the schedule bounds a priori and
    :math:`\|B_T - I\|_2 \le \|B_T - I\|_F` bounds a posteriori.

    Parameters
    ----------
    S : Tensor, shape ``(..., n, n)``
        Symmetric positive definite (the square root :math:`A^{1/2}`).
    G : Tensor, shape ``(..., n, n)``
        Right-hand side (the incoming gradient); need not be symmetric.
    lower : float or Tensor broadcastable to ``(...)``, optional
        Lower bound on :math:`\lambda_{\min}(S)/\lambda_{\max}(S)` (for :math:`S = A^{1/2}`:
        :math:`\kappa(A)^{-1/2}`). Default :math:`\sqrt{\epsilon}` of the compute dtype, i.e.
        :math:`\kappa(A) \le 1/\epsilon`. Too small costs a few steps; too large costs accuracy at a
        fixed step count (the small eigenvalues still converge, later).
    iters : int, optional
        Steps for every matrix (the maximum when ``tol`` is given). Default: per matrix, the fewest
        steps whose a-priori error bound is at most ``tol`` (or the unit roundoff :math:`\epsilon`).
    tol : float, optional
        Relative accuracy wanted. Each matrix stops as soon as :math:`\|B_k - I\|_F \le` ``tol``;
        stopped matrices are no longer updated (nor computed: the active ones are gathered).
        Without ``iters``, a matrix that has not converged at the end of its schedule (``lower``
        was too optimistic) continues with the classical polynomial of the same degree until its
        residual is at rounding level (:math:`\max(3\sqrt n\,\mathrm{tol}, 10^3 n\epsilon)`), at
        most 100 steps; a ``RuntimeWarning`` reports a residual left above that level.
    kind : {"cubic", "quintic"}
        Degree of every step: 6 or 9 matmuls per step.
    squarings : int
        Matmuls spent on the upper bound (:func:`spectral_bounds`).
    return_info : bool
        Also return a :class:`ScaledInfo`.

    Returns
    -------
    X : Tensor, shape ``(..., n, n)``, dtype of ``G``
        Not symmetrised (the same convention as :func:`mathsqrt.backward.lyapunov_sign`).
        float16/bfloat16 are computed in float32. A zero ``S`` gives :math:`\pm\infty` where
        :math:`G \ne 0` (the limit of :math:`G/(2s)`), 0 elsewhere.

    Notes
    -----
    Accuracy, measured on ``mathsqrt.testing.random_spd(64, κ, batch=8, seed=1)`` in each dtype:
    :math:`S` and the exact :math:`X` from a float64 eigendecomposition of that matrix, :math:`G`
    standard normal (not symmetric). Worst relative Frobenius error of the 8 matrices, with
    (steps, matmuls including the 2 of the bounds). "paper" is
    :func:`mathsqrt.backward.lyapunov_sign` with :math:`c = \sqrt{\|A\|_F}` (8 steps = 48 matmuls;
    "best" is its least error over 1..60 steps, at the step given); "cubic"/"quintic" use the default
    ``lower``, the last two columns ``lower`` :math:`= \kappa(A)^{-1/2}`.

    =====  =====  ===========  ============  =================  =================  ================  ===============
    dtype  κ(A)   paper 8 it.  paper, best   cubic              quintic            cubic, κ^-½       quintic, κ^-½
    =====  =====  ===========  ============  =================  =================  ================  ===============
    f32    1e+02  1.6e-02      4.3e-07 (11)  1.4e-06 (13, 80)   1.5e-06 (8, 74)    6.3e-07 (6, 38)   5.7e-07 (4, 38)
    f32    1e+04  6.3e-01      8.6e-07 (16)  1.6e-06 (12, 74)   1.5e-06 (8, 74)    1.4e-06 (9, 56)   1.1e-06 (6, 56)
    f32    1e+06  9.4e-01      5.1e-06 (25)  8.9e-06 (12, 74)   6.7e-06 (8, 74)    9.1e-06 (11, 68)  7.7e-06 (8, 74)
    f64    1e+02  1.6e-02      5.0e-15 (12)  5.7e-15 (25, 152)  5.9e-15 (18, 164)  3.8e-15 (7, 44)   3.8e-15 (5, 47)
    f64    1e+04  6.3e-01      7.7e-15 (22)  6.2e-15 (25, 152)  6.4e-15 (17, 155)  4.9e-15 (11, 68)  4.8e-15 (7, 65)
    f64    1e+06  9.4e-01      3.5e-14 (23)  2.0e-14 (25, 152)  1.3e-14 (18, 164)  1.6e-14 (13, 80)  1.5e-14 (9, 83)
    =====  =====  ===========  ============  =================  =================  ================  ===============

    At the paper's budget of 48 matmuls (float64, ``lower`` :math:`= \kappa^{-1/2}`, κ = 1e2 / 1e4 /
    1e6) the errors are 1.6e-2 / 0.63 / 0.94 for the paper, 3.8e-15 / 9.9e-4 / 0.20 for the cubic (7
    steps) and 3.8e-15 / 3.9e-5 / 0.13 for the quintic (5 steps). To full accuracy both degrees cost
    about the same (44 / 68 / 80 matmuls for the cubic, 47 / 65 / 83 for the quintic): on blocks the
    quintic's 9 matmuls per step eat its faster convergence, hence the cubic default. With a fixed
    small ``iters`` the default (very small) ``lower`` leaves every component half-converged
    (errors 0.4–0.7): it is meant for ``iters=None``. Guessing ``lower`` and passing ``tol`` is the
    fast and still safe way (``lower=1e-3, tol=1e-13``, float64: 12 steps at κ(A) = 1e2..1e6 against
    25 with the default, 18 steps and 1.1e-13 at κ(A) = 1e8 thanks to the continuation).

    When :math:`S^{-1}` is at hand (e.g. the :math:`Z` of :func:`newton_schulz_scaled`),
    ``lower = 1 / (spectral_bounds(S)[0] * spectral_bounds(Z)[0])`` is a tight, valid bound.

    Cost: :func:`lyapunov_scaled_matmul_count` (6 matmuls per cubic step, as the paper's; 9 per
    quintic step). A symmetric ``G`` would allow :math:`C_k B_k = (B_k C_k)^T` (5 and 7 matmuls);
    that is not exploited, since ``G`` is a general gradient.

    Per-matrix stopping and scales make every result independent of the rest of the batch.

    The per-step optimal polynomials are those of :func:`polynomial_schedule` ([3]_ for the cubic,
    [4]_ for the quintic).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 3.2, Eq. (17)–(22) and Algorithm 2.
    .. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Ch. 5.
    .. [3] J. Chen, E. Chow, "A stable scaling of Newton–Schulz for improving the sign function
       computation of a Hermitian matrix", preprint ANL/MCS-P5059-0114, Argonne National Laboratory, 2014.
    .. [4] N. Amsel, D. Persson, C. Musco, R. M. Gower, "The Polar Express: Optimal Matrix Sign Methods
       and Their Application to the Muon Algorithm", arXiv:2505.16932, 2025, Sec. 4.
    """
    _check_square("S", S)
    _check_square("G", G)
    if S.shape[-2:] != G.shape[-2:]:
        raise ValueError(f"S and G must have the same matrix size, got {tuple(S.shape)} and {tuple(G.shape)}")
    degree = _check_options(iters, tol, kind)
    out_dtype = G.dtype
    cdt = compute_dtype(torch.promote_types(S.dtype, G.dtype))
    S_, G_ = torch.broadcast_tensors(S.to(cdt), G.to(cdt))
    batch, n = S_.shape[:-2], S_.shape[-1]
    eps = torch.finfo(cdt).eps
    upper, safe_u, coef, errors, ell_grid, active = _prepare(
        S_, lower, math.sqrt(eps), squarings, degree, iters, tol, root=False
    )
    N = int(np.prod(batch)) if len(batch) else 1
    u = safe_u.reshape(N, 1, 1)
    B = S_.reshape(N, n, n) / u
    C = G_.reshape(N, n, n) / u
    coef_t = torch.as_tensor(coef, dtype=cdt, device=S_.device)
    if tol is not None and N:
        active.converged(np.arange(N), _identity_residual(B), 0)
    for k in range(int(active.horizon.max()) if N else 0):
        idx = active.at(k)
        if idx is None:
            break
        idx_t = None if len(idx) == N else torch.as_tensor(idx, device=S_.device)
        Bk, Ck = _take(B, idx_t), _take(C, idx_t)
        c = coef_t[:, k] if idx_t is None else coef_t[idx_t, k]
        P = ops.matmul(Bk, Bk)
        BC = ops.matmul(Bk, Ck)
        E = ops.addmatmul(BC, Ck, Bk, alpha=-1.0)  # B C - C B
        hP, L = _h_and_derivative(P, E, c)
        C_new = ops.addmatmul(ops.matmul(Bk, L), Ck, hP)
        B_new = ops.matmul(Bk, hP)
        B, C = _put(B, idx_t, B_new), _put(C, idx_t, C_new)
        active.steps[idx] += 1
        if tol is not None:
            active.converged(idx, _identity_residual(B_new), k + 1)
    X = (0.5 * C).reshape(G_.shape)
    zero = (upper == 0).reshape(batch + (1, 1))
    if bool(zero.any()):  # the limit of G / (2 s) for S = s I, s -> 0
        X = torch.where(zero, torch.where(G_ == 0, torch.zeros_like(G_), G_ * math.inf), X)
    X = X.to(out_dtype)
    if not (return_info or tol is not None):
        return X
    residual = _identity_residual(B).reshape(batch)
    _warn_unconverged(residual, tol, n, eps, "lyapunov_scaled", "||B - I||_F")
    if not return_info:
        return X
    return X, _info(active, errors, residual, upper, ell_grid, tol, batch, S_.device)


def newton_schulz_scaled(
    A: torch.Tensor,
    *,
    inverse: bool = False,
    lower: LowerLike = None,
    iters: Optional[int] = None,
    tol: Optional[float] = None,
    kind: str = "quintic",
    squarings: int = 2,
    return_info: bool = False,
):
    r"""Coupled Newton–Schulz with the optimal per-step polynomials and :math:`\lambda_{\max}` scaling.

    :math:`\mathrm{sign}\begin{pmatrix} 0 & A \\ I & 0 \end{pmatrix} = \begin{pmatrix} 0 & A^{1/2}
    \\ A^{-1/2} & 0 \end{pmatrix}` ([1]_ Ch. 5); an odd polynomial :math:`p(x) = x\,h(x^2)`
    applied to that block matrix acts on its two blocks as ([1]_ Eq. (6.35) for the classical
    :math:`h(y) = (3-y)/2`)

    .. math:: Y_0 = A/u,\quad Z_0 = I,\qquad T_k = h_k(Z_k Y_k),\quad Y_{k+1} = Y_k T_k,\quad Z_{k+1} = T_k Z_k,

    then :math:`A^{1/2} \approx \sqrt u\,Y_T`, :math:`A^{-1/2} \approx Z_T/\sqrt u`. An eigenvalue
    :math:`\lambda` enters the scalar schedule as :math:`x_0 = \sqrt{\lambda/u} \in [\sqrt{\ell_A}, 1]`
    and leaves as :math:`x_T = f(x_0)`; :math:`Y_T` and :math:`Z_T` carry it with relative error
    :math:`x_T - 1`, bounded by the schedule a priori (:attr:`ScaledInfo.bound`) and by
    :math:`\|Z_T Y_T - I\|_2` a posteriori. Here :math:`u \ge \lambda_{\max}` is the bound of
    :func:`spectral_bounds` (not :math:`\|A\|_F`, which can be :math:`\sqrt n` times larger and
    costs steps), and the polynomials are those of :func:`polynomial_schedule`.

    Parameters
    ----------
    A : Tensor, shape ``(..., n, n)``
        Symmetric positive definite.
    inverse : bool
        Return :math:`A^{-1/2}`.
    lower : float or Tensor broadcastable to ``(...)``, optional
        Lower bound on :math:`\lambda_{\min}(A)/\lambda_{\max}(A)` (one over a bound on the
        condition number). Default the unit roundoff :math:`\epsilon` of the compute dtype:
        eigenvalues below :math:`\epsilon\lambda_{\max}` are not determined by the entries anyway.
    iters : int, optional
        Steps for every matrix (the maximum when ``tol`` is given). Default: per matrix, the
        fewest whose a-priori bound is at most ``tol`` (or :math:`\epsilon`).
    tol : float, optional
        Relative accuracy wanted. Each matrix stops as soon as :math:`\|Z_k Y_k - I\|_F \le`
        ``tol`` (checked on the product that the step forms anyway; stopped matrices are no longer
        computed). Without ``iters``, a matrix that has not converged at the end of its schedule
        (``lower`` was too optimistic) continues with the classical polynomial of the same degree
        until its residual is at rounding level (:math:`\max(3\sqrt n\,\mathrm{tol},
        10^3 n\epsilon)`; in float32 the residual cannot fall much below
        :math:`\epsilon\sqrt{\kappa}`), at most 100 steps; a ``RuntimeWarning`` reports a residual
        left above that level.
    kind : {"cubic", "quintic"}
        Degree of the sign polynomial: 3 or 4 matmuls per step
        (:func:`newton_schulz_scaled_matmul_count`).
    squarings : int
        Matmuls spent on the upper bound.
    return_info : bool
        Also return a :class:`ScaledInfo`. This and ``tol`` cost two more matmuls: the product
        the last step would skip, and :math:`Z_T Y_T` for the final residual.

    Returns
    -------
    Tensor, shape ``(..., n, n)``, dtype of ``A``
        float16/bfloat16 are computed in float32. A zero matrix gives zero (square root) or
        :math:`\infty I` (inverse; the limit of :math:`(sI)^{-1/2}`).

    Notes
    -----
    Accuracy, measured on ``mathsqrt.testing.random_spd(64, κ, batch=8, seed=1)`` cast to each dtype,
    against a float64 eigendecomposition of the cast matrix: worst relative Frobenius error of the 8
    matrices, with (steps, matmuls including the 2 of the bounds). "paper" is
    :func:`mathsqrt.forward.newton_schulz` (Frobenius normalisation; 5 steps = 12 matmuls; "best" is
    its least error over 1..40 steps, at the step given); "cubic"/"quintic" use the default
    ``lower``, the last two columns ``lower = 1/κ``.

    :math:`A^{1/2}`:

    =====  =====  ===========  ============  ================  ================  ================  ===============
    dtype  κ(A)   paper 5 it.  paper, best   cubic             quintic           cubic, 1/κ        quintic, 1/κ
    =====  =====  ===========  ============  ================  ================  ================  ===============
    f32    1e+02  7.6e-02      5.8e-07 (12)  8.7e-07 (12, 35)  7.4e-07 (8, 31)   4.5e-07 (6, 17)   4.0e-07 (4, 15)
    f32    1e+04  8.6e-02      2.4e-06 (15)  3.6e-06 (12, 35)  2.8e-06 (8, 31)   2.1e-06 (9, 26)   1.8e-06 (6, 23)
    f32    1e+06  7.8e-02      1.7e-05 (20)  2.0e-05 (12, 35)  1.4e-05 (8, 31)   1.9e-05 (11, 32)  1.5e-05 (8, 31)
    f64    1e+02  7.6e-02      2.3e-15 (12)  3.1e-15 (25, 74)  2.7e-15 (18, 71)  2.2e-15 (7, 20)   2.1e-15 (5, 19)
    f64    1e+04  8.6e-02      6.5e-15 (17)  1.3e-14 (25, 74)  9.4e-15 (18, 71)  6.0e-15 (10, 29)  5.5e-15 (7, 27)
    f64    1e+06  7.8e-02      4.5e-14 (22)  8.5e-14 (25, 74)  6.0e-14 (18, 71)  3.4e-14 (12, 35)  3.1e-14 (8, 31)
    =====  =====  ===========  ============  ================  ================  ================  ===============

    :math:`A^{-1/2}` (same steps; its condition grows like :math:`\kappa`: float32 ``eigh`` gives
    2.6e-6 / 5.1e-4 / 6.7e-2 at κ = 1e2 / 1e4 / 1e6 on these matrices, and 1.2e-6 / 7.3e-6 / 1.5e-4
    for :math:`A^{1/2}`):

    =====  =====  ===========  ============  ================  ================  ================  ===============
    dtype  κ(A)   paper 5 it.  paper, best   cubic             quintic           cubic, 1/κ        quintic, 1/κ
    =====  =====  ===========  ============  ================  ================  ================  ===============
    f32    1e+02  4.1e-01      1.5e-06 (33)  1.0e-06 (12, 35)  8.5e-07 (8, 31)   7.2e-07 (6, 17)   5.9e-07 (4, 15)
    f32    1e+04  9.0e-01      7.6e-05 (39)  3.9e-05 (12, 35)  2.8e-05 (8, 31)   3.8e-05 (9, 26)   3.0e-05 (6, 23)
    f32    1e+06  9.9e-01      4.8e-03 (20)  3.0e-03 (12, 35)  2.1e-03 (8, 31)   2.7e-03 (11, 32)  2.0e-03 (8, 31)
    f64    1e+02  4.1e-01      4.6e-15 (38)  4.7e-15 (25, 74)  4.5e-15 (18, 71)  3.9e-15 (7, 20)   4.1e-15 (5, 19)
    f64    1e+04  9.0e-01      2.4e-13 (17)  2.2e-13 (25, 74)  2.3e-13 (18, 71)  2.2e-13 (10, 29)  2.1e-13 (7, 27)
    f64    1e+06  9.9e-01      1.6e-11 (33)  1.2e-11 (25, 74)  1.3e-11 (18, 71)  1.2e-11 (12, 35)  1.2e-11 (8, 31)
    =====  =====  ===========  ============  ================  ================  ================  ===============

    At equal matmuls with a known ``lower`` (float64, :math:`A^{1/2}`), 24 matmuls give 1.6e-4 /
    1.5e-2 / 1.5e-2 for the paper at κ = 1e2 / 1e4 / 1e6, 2.2e-15 / 2.8e-7 / 7.3e-2 for the cubic and
    2.2e-15 / 6.5e-15 / 7.2e-3 for the quintic; 36 matmuls bring both to rounding level. The quintic
    (4 matmuls per step against 3) is the faster forward. Below ~20 matmuls and for κ ≥ 1e4 the
    paper's iteration has the smaller *Frobenius* error: it leaves the large eigenvalues nearly
    exact and the small ones wrong, whereas the minimax schedule keeps every eigenvalue at the same
    (spectral) error until the last steps.

    The safe default ``lower`` (:math:`\epsilon`) costs float64 inputs 18 quintic steps whatever
    their condition; a guess with ``tol`` is cheaper and still safe (``lower=1e-6, tol=1e-13``: 8
    steps at κ = 1e2..1e6, 12 steps at κ = 1e8, errors at rounding level).

    The per-step polynomials are the greedy optimal ones of [2]_ (:func:`polynomial_schedule`), here
    applied to the coupled iteration of [3]_, Eq. (3)–(4), with :math:`\lambda_{\max}` scaling instead of
    the Frobenius norm.

    References
    ----------
    .. [1] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Ch. 5 and Eq. (6.35).
    .. [2] N. Amsel, D. Persson, C. Musco, R. M. Gower, "The Polar Express: Optimal Matrix Sign Methods
       and Their Application to the Muon Algorithm", arXiv:2505.16932, 2025, Sec. 4.
    .. [3] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (3)–(4).
    """
    _check_square("A", A)
    degree = _check_options(iters, tol, kind)
    out_dtype = A.dtype
    X = A.to(compute_dtype(A.dtype))
    cdt = X.dtype
    batch, n = X.shape[:-2], X.shape[-1]
    eps = torch.finfo(cdt).eps
    upper, safe_u, coef, errors, ell_grid, active = _prepare(X, lower, eps, squarings, degree, iters, tol, root=True)
    N = int(np.prod(batch)) if len(batch) else 1
    u = safe_u.reshape(N, 1, 1)
    Y = X.reshape(N, n, n) / u
    Z: Optional[torch.Tensor] = None  # the identity until the first step
    coef_t = torch.as_tensor(coef, dtype=cdt, device=X.device)
    eye = torch.eye(n, dtype=cdt, device=X.device)
    final_residual = return_info or tol is not None
    for k in range(int(active.horizon.max()) if N else 0):
        idx = active.at(k)
        if idx is None:
            break
        idx_t = None if len(idx) == N else torch.as_tensor(idx, device=X.device)
        Yk = _take(Y, idx_t)
        Zk = None if Z is None else _take(Z, idx_t)
        M = Yk if Zk is None else ops.matmul(Zk, Yk)
        if tol is not None:
            conv = active.converged(idx, _identity_residual(M), k)
            if conv.any():
                keep = np.nonzero(~conv)[0]
                if not len(keep):
                    continue
                idx = idx[keep]
                keep_t = torch.as_tensor(keep, device=X.device)
                Yk, M = Yk.index_select(0, keep_t), M.index_select(0, keep_t)
                Zk = None if Zk is None else Zk.index_select(0, keep_t)
                idx_t = torch.as_tensor(idx, device=X.device)
        c = coef_t[:, k] if idx_t is None else coef_t[idx_t, k]
        T = _h(M, c)
        last = not final_residual and bool((active.lengths[idx] == k + 1).all())
        if not (last and inverse):
            Y = _put(Y, idx_t, ops.matmul(Yk, T))
        if not (last and not inverse):
            Z_new = T if Zk is None else ops.matmul(T, Zk)
            if Z is None and idx_t is not None:
                Z = eye.expand(N, n, n).clone()
            Z = _put(Z, idx_t, Z_new)
        active.steps[idx] += 1
    if Z is None:
        Z = eye.expand(N, n, n)
    root_u = safe_u.sqrt().reshape(N, 1, 1)
    out = (Z / root_u) if inverse else (Y * root_u)
    out = out.reshape(X.shape)
    zero = (upper == 0).reshape(batch + (1, 1))
    if bool(zero.any()):  # square root 0; inverse the limit of (s I)^(-1/2), s -> 0
        fill = torch.where(eye > 0, eye * math.inf, eye) if inverse else torch.zeros_like(eye)
        out = torch.where(zero, fill, out)
    out = out.to(out_dtype)
    if not final_residual:
        return out
    residual = _identity_residual(ops.matmul(Z, Y)).reshape(batch)
    _warn_unconverged(residual, tol, n, eps, "newton_schulz_scaled", "||Z Y - I||_F")
    if not return_info:
        return out
    info = _info(active, errors, residual, upper, ell_grid, tol, batch, X.device)
    info.condition = torch.linalg.matrix_norm(Z).square().reshape(batch)
    return out, info


#: Optimistic lower bound on :math:`\lambda_{\min}/\lambda_{\max}` that :func:`newton_schulz_tol`
#: designs its schedule for (:math:`\kappa \le 10^{12}` in the square root's variable); a matrix
#: that is worse conditioned continues with the classical polynomial until it converges.
TOL_LOWER = 1e-6


def newton_schulz_tol(
    A: torch.Tensor, *, tol: float, inverse: bool = False, iters: Optional[int] = None
) -> torch.Tensor:
    r""":math:`A^{\pm1/2}` to a relative accuracy ``tol`` per matrix: the forward behind ``sqrtm(A, tol=...)``.

    :func:`newton_schulz_scaled` with the optimistic schedule :data:`TOL_LOWER` and per-matrix
    stopping at :math:`\|Z_k Y_k - I\|_F \le` ``tol`` (the relative error of every eigen-component
    is at most about half of it), so a well-conditioned matrix stops early whatever its neighbours.

    A ``RuntimeWarning`` names every matrix for which the dtype cannot deliver ``tol``: rounding
    limits the square root to a relative error of about :math:`0.1\,\epsilon\sqrt\kappa` and the
    inverse square root to about :math:`0.02\,\epsilon\,\kappa` (measured on 64×64 matrices), with
    :math:`\kappa` estimated from the computed inverse root (:attr:`ScaledInfo.condition`, an
    over-estimate by at most :math:`n`).

    Parameters
    ----------
    A : Tensor, shape ``(..., n, n)``
    tol : float
        Relative accuracy wanted.
    inverse : bool
    iters : int, optional
        At most this many steps.

    Returns
    -------
    Tensor, shape ``(..., n, n)``, dtype of ``A``.

    Notes
    -----
    The schedule that meets ``tol`` is the greedy optimal one of [1]_.

    References
    ----------
    .. [1] N. Amsel, D. Persson, C. Musco, R. M. Gower, "The Polar Express: Optimal Matrix Sign
       Methods and Their Application to the Muon Algorithm", arXiv:2505.16932, 2025.
    """
    out, info = newton_schulz_scaled(A, inverse=inverse, lower=TOL_LOWER, tol=tol, iters=iters, return_info=True)
    eps = torch.finfo(compute_dtype(A.dtype)).eps
    cond = info.condition.double()
    floor = 0.02 * eps * cond if inverse else 0.1 * eps * cond.sqrt()
    bad = (floor > tol).reshape(-1)
    if bool(bad.any()):
        first = int(bad.nonzero()[0])
        flat_cond = cond.reshape(-1)
        warnings.warn(
            f"tol={tol:g} is beyond {A.dtype} for {int(bad.sum())} matrix(es) of the batch: matrix {first} has "
            f"an estimated condition number {float(flat_cond[first]):.2g}, for which rounding alone leaves a "
            f"relative error near {float(floor.reshape(-1)[first]):.1g}; compute in float64 for more",
            RuntimeWarning,
            stacklevel=3,
        )
    return out


def ns_scaled_forward(
    A: torch.Tensor, *, inverse: bool = False, iters: Optional[int] = None, tol: Optional[float] = None
) -> torch.Tensor:
    r"""``method="ns-scaled"`` of :func:`mathsqrt.sqrtm`: :func:`newton_schulz_tol` when a tolerance is
    given, otherwise :func:`newton_schulz_scaled` with its default (full-accuracy) schedule.

    Parameters
    ----------
    A : Tensor, shape ``(..., n, n)``
    inverse : bool
    iters : int, optional
        Steps (with ``tol``: at most).
    tol : float, optional
        Relative accuracy per matrix (``sqrtm(..., tol=...)``).

    Returns
    -------
    Tensor, shape ``(..., n, n)``, dtype of ``A``.

    Notes
    -----
    Both paths use the greedy optimal polynomials of [1]_.

    References
    ----------
    .. [1] N. Amsel, D. Persson, C. Musco, R. M. Gower, "The Polar Express: Optimal Matrix Sign
       Methods and Their Application to the Muon Algorithm", arXiv:2505.16932, 2025.
    """
    if tol is None:
        return newton_schulz_scaled(A, inverse=inverse, iters=iters)
    return newton_schulz_tol(A, tol=tol, inverse=inverse, iters=iters)
