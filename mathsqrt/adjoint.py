r"""Exact adjoints of the computed forwards: the derivative of what was computed, by hand.

The paper differentiates the *exact* square root at the computed value (the Lyapunov equation,
[1]_ Eq. 17), so its gradient carries the forward's error and the solver's truncation. The
functions here differentiate the rational or polynomial function that the forward actually
evaluated — MPA's :math:`Q(W)^{-1}P(W)`, MTP's Taylor polynomial, the coupled Newton–Schulz
iterates — reusing the forward's powers, accumulators and Cholesky factor (kept in
``saved.aux`` when ``backward="adjoint"`` is chosen). The result is the gradient that finite
differences of the forward give (so it is ``gradcheck``-consistent); its distance from the true
gradient of :math:`A^{\pm1/2}` is the forward's own error, which
:func:`mathsqrt.coefficients.pade_relative_error` predicts for MPA.

Two facts make this cheap ([2]_ Ch. 3; ALGORITHMS §8.3 of this project):

* For symmetric :math:`W` and a real analytic :math:`f`, the Fréchet derivative
  :math:`E \mapsto L_f(W, E)` is self-adjoint in the Frobenius inner product, so the gradient with
  respect to :math:`W` is :math:`L_f(W, \bar G)` — a *forward* derivative, no reverse tape.
* For a polynomial :math:`p(W) = \sum_k p_k W^k`, :math:`L_p(W, E) = \sum_k p_k D_k` with
  :math:`D_1 = E`, :math:`D_k = W D_{k-1} + E W^{k-1}`: two matmuls per power, reusing the
  forward's powers; for a rational :math:`r = Q^{-1}P`,
  :math:`L_r = Q^{-1}(L_P - L_Q\,r)` with the forward's Cholesky factor of :math:`Q`.

Then the chain rule through the per-matrix normalisation :math:`W = A/\|A\|_F` and the factor
:math:`\|A\|_F^{\pm1/2}` (:func:`through_normalisation`).

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
.. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Ch. 3
   (the Fréchet derivative; Thm. 3.6 and Problem 3.8 for polynomials and rational functions).
.. [3] A. H. Al-Mohy, N. J. Higham, "Computing the Fréchet derivative of the matrix exponential,
   with an application to condition number estimation", SIMAX 30(4), 2009 (derivatives of
   polynomial evaluations by the recurrences used here).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Dict, List, Sequence, Tuple

import torch

from . import counting as ops
from .coefficients import compose_one_minus, pade_coefficients, pade_shifted_fractions, taylor_coefficients

__all__ = [
    "frechet_polynomials",
    "frechet_horner",
    "through_normalisation",
    "ns_reverse",
    "mpa_adjoint",
    "mtp_adjoint",
    "ns_adjoint",
    "grad_adjoint",
]


def frechet_polynomials(
    powers: Sequence[torch.Tensor], polys: Sequence[Sequence[Fraction]], E: torch.Tensor
) -> Tuple[torch.Tensor, ...]:
    r"""Fréchet derivatives :math:`L_p(W, E)` of several polynomials at the same :math:`W`.

    Parameters
    ----------
    powers : sequence of Tensor, each ``(B, n, n)``
        :math:`W, W^2, \dots, W^{d-1}` as the forward formed them (``d`` the largest degree).
    polys : sequence of sequence of Fraction
        Ascending coefficients of each polynomial.
    E : Tensor, shape ``(B, n, n)``
        The direction (for a gradient: the incoming gradient).

    Returns
    -------
    tuple of Tensor
        :math:`L_p(W, E) = \sum_{k\ge1} p_k D_k`, :math:`D_1 = E`,
        :math:`D_k = W D_{k-1} + E W^{k-1}` ([2]_), one per polynomial; ``2(d - 1)`` matmuls in all.

    Notes
    -----
    The Fréchet derivative and its rules for sums and products are in [1]_, Ch. 3.

    References
    ----------
    .. [1] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Ch. 3.
    .. [2] A. H. Al-Mohy, N. J. Higham, "Computing the Fréchet derivative of the matrix exponential, with
       an application to condition number estimation", SIAM J. Matrix Anal. Appl. 30(4), 2009.
    """
    degree = max(len(p) for p in polys) - 1
    out = [torch.zeros_like(E) for _ in polys]
    if degree < 1:
        return tuple(out)
    D = E
    for k in range(1, degree + 1):
        if k > 1:
            D = ops.addmatmul(ops.matmul(powers[0], D), E, powers[k - 2])  # W D_{k-1} + E W^{k-1}
        for p, acc in zip(polys, out):
            if k < len(p) and p[k] != 0:
                acc.add_(D, alpha=float(p[k]))
    return tuple(out)


def frechet_horner(
    X: torch.Tensor, accumulators: Sequence[torch.Tensor], top: Fraction, E: torch.Tensor
) -> torch.Tensor:
    r"""Fréchet derivative :math:`L_p(X, E)` of a polynomial evaluated by Horner's rule.

    With the forward's accumulators :math:`H_{d-1} = p_d X + p_{d-1} I` and
    :math:`H_j = p_j I + H_{j+1} X` (:math:`p(X) = H_0`), differentiating the recurrence gives
    :math:`\dot H_{d-1} = p_d E`, :math:`\dot H_j = \dot H_{j+1} X + H_{j+1} E`, and
    :math:`L_p(X, E) = \dot H_0`: two matmuls per step.

    Parameters
    ----------
    X : Tensor, shape ``(B, n, n)``
    accumulators : sequence of Tensor
        :math:`H_{d-1}, H_{d-2}, \dots, H_1` in the order the forward formed them.
    top : Fraction
        The leading coefficient :math:`p_d`.
    E : Tensor, shape ``(B, n, n)``

    Returns
    -------
    Tensor, shape ``(B, n, n)``
        :math:`L_p(X, E)`.

    Notes
    -----
    Differentiating the evaluation scheme of a polynomial is the technique of [1]_; the Fréchet
    derivative is defined in [2]_, Ch. 3.

    References
    ----------
    .. [1] A. H. Al-Mohy, N. J. Higham, "Computing the Fréchet derivative of the matrix exponential, with
       an application to condition number estimation", SIAM J. Matrix Anal. Appl. 30(4), 2009.
    .. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Ch. 3.
    """
    dH = E * float(top)
    for H in accumulators:
        dH = ops.addmatmul(ops.matmul(dH, X), H, E)
    return dH


def through_normalisation(
    A: torch.Tensor, norm: torch.Tensor, f: torch.Tensor, M: torch.Tensor, G: torch.Tensor, *, inverse: bool
) -> torch.Tensor:
    r"""Chain rule through :math:`\mathrm{out} = \nu^{\pm 1/2} f(A/\nu)`, :math:`\nu = \|A\|_F`.

    With :math:`M = L_f(W, G)` (the gradient with respect to :math:`W` of
    :math:`\langle G, f(W)\rangle`) and :math:`d\nu = \langle W, dA\rangle`:

    .. math:: \frac{\partial l}{\partial A} = \nu^{\pm1/2}\Big(\frac{M}{\nu}
              + \Big(\pm\tfrac12\langle G, f\rangle - \langle M, W\rangle\Big)\frac{A}{\nu^2}\Big).

    A zero matrix (:math:`\nu = 0`, where :math:`\nu^{1/2}` is not differentiable) gets a zero
    gradient.

    Parameters
    ----------
    A : Tensor, shape ``(..., n, n)``
    norm : Tensor, shape ``(..., 1, 1)``
        :math:`\nu`, as the forward computed it.
    f : Tensor, shape ``(..., n, n)``
        The unscaled forward value :math:`f(W)`.
    M : Tensor, shape ``(..., n, n)``
        :math:`L_f(W, G)`.
    G : Tensor, shape ``(..., n, n)``
        The incoming gradient.
    inverse : bool
        ``out`` is :math:`\nu^{-1/2} f` (inverse square root) instead of :math:`\nu^{1/2} f`.

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        :math:`\partial l/\partial A`.

    Notes
    -----
    The pre-normalisation and post-compensation are Eq. (4) of [1]_; its Eq. (6) gives their
    gradients for the Newton–Schulz iteration.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (4)–(6).
    """
    safe = torch.where(norm > 0, norm, torch.ones_like(norm))
    W = A / safe
    half = -0.5 if inverse else 0.5
    scalar = half * (G * f).sum(dim=(-2, -1), keepdim=True) - (M * W).sum(dim=(-2, -1), keepdim=True)
    X = safe.pow(half) * (M + scalar * W) / safe
    return torch.where(norm > 0, X, torch.zeros_like(X))


def ns_reverse(
    Y: List[torch.Tensor], Z: List[torch.Tensor], T: List[torch.Tensor], Gbar: torch.Tensor, *, inverse: bool
) -> torch.Tensor:
    r"""Reverse pass of the coupled Newton–Schulz iteration, by hand.

    The forward runs :math:`T_k = \tfrac32 I - \tfrac12 Z_k Y_k`, :math:`Y_{k+1} = Y_k T_k`,
    :math:`Z_{k+1} = T_k Z_k` from :math:`Y_0 = W`, :math:`Z_0 = I` ([1]_ Eq. (3)–(4)). Backwards, with
    :math:`\bar Y_T = \bar G` (square root) or :math:`\bar Z_T = \bar G` (inverse):

    .. math:: \bar T_k = Y_k^T\bar Y_{k+1} + \bar Z_{k+1} Z_k^T,\quad
              \bar Y_k = \bar Y_{k+1} T_k^T - \tfrac12 Z_k^T \bar T_k,\quad
              \bar Z_k = T_k^T \bar Z_{k+1} - \tfrac12 \bar T_k Y_k^T,

    and :math:`\partial l/\partial W = \bar Y_0`. Every iterate is a polynomial in the symmetric
    :math:`W`, hence symmetric, so no transposes are formed. At most six matmuls per iteration
    (products with :math:`Z_0 = I` and with zero adjoints are skipped).

    Parameters
    ----------
    Y, Z, T : list of Tensor, each ``(B, n, n)``
        :math:`Y_0..Y_{T-1}`, :math:`Z_0..Z_{T-1}` (``Z[0]`` is ``None`` for the identity) and
        :math:`T_0..T_{T-1}` as the forward formed them.
    Gbar : Tensor, shape ``(B, n, n)``
    inverse : bool

    Returns
    -------
    Tensor, shape ``(B, n, n)``
        :math:`\partial l / \partial W`.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (3)–(6) (the coupled iteration and its backward).
    """
    Ybar = None if inverse else Gbar
    Zbar = Gbar if inverse else None
    for k in reversed(range(len(T))):
        Tbar = None
        newY = newZ = None
        if Ybar is not None:
            Tbar = ops.matmul(Y[k], Ybar)
            newY = ops.matmul(Ybar, T[k])
        if Zbar is not None:
            if Z[k] is None:  # Z_0 = I
                Tbar = Zbar if Tbar is None else Tbar + Zbar
                newZ = None  # the adjoint of the constant Z_0 is not needed
            else:
                Tbar = ops.addmatmul(Tbar, Zbar, Z[k]) if Tbar is not None else ops.matmul(Zbar, Z[k])
                newZ = ops.matmul(T[k], Zbar)
        # T_k = 1.5 I - 0.5 Z_k Y_k
        if Z[k] is None:
            newY = -0.5 * Tbar if newY is None else newY.sub_(Tbar, alpha=0.5)
        else:
            newY = ops.addmatmul(newY, Z[k], Tbar, alpha=-0.5) if newY is not None else -0.5 * ops.matmul(Z[k], Tbar)
            newZ = ops.addmatmul(newZ, Tbar, Y[k], alpha=-0.5) if newZ is not None else -0.5 * ops.matmul(Tbar, Y[k])
        Ybar, Zbar = newY, newZ
    return Ybar


# --------------------------------------------------------------------------------------------------
# The adjoints of the forwards of mathsqrt.forward, reading what they keep with return_aux=True.
# --------------------------------------------------------------------------------------------------


def _series(aux: Dict[str, torch.Tensor], prefix: str) -> List[torch.Tensor]:
    out, k = [], 0
    while f"{prefix}{k}" in aux:
        out.append(aux[f"{prefix}{k}"])
        k += 1
    return out


def _finish(saved, f: torch.Tensor, M: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    A = saved.A
    norm = saved.aux["norm"]
    return through_normalisation(A, norm, f.reshape(A.shape), M.reshape(A.shape), G, inverse=saved.inverse)


def mpa_adjoint(G: torch.Tensor, saved, *, degree: Tuple[int, int]) -> torch.Tensor:
    r"""Exact gradient of :func:`mathsqrt.forward.mpa` as computed (polynomial evaluation in :math:`W`).

    :math:`r = Q^{-1}P` (square root) or :math:`P^{-1}Q` (inverse);
    :math:`L_r(W, \bar G) = D^{-1}(L_N(W, \bar G) - L_D(W, \bar G)\,r)` for numerator :math:`N` and
    denominator :math:`D`, with the forward's powers and Cholesky factor of :math:`D`: for
    ``[K/K]``, :math:`2(K-1) + 1` matmuls and one Cholesky solve ([1]_ Eq. 13, [2]_ Ch. 3).

    ``saved.aux`` holds ``norm`` (shape ``(..., 1, 1)``), the powers ``W0`` (:math:`W`), ``W1``
    (:math:`W^2`), ... and ``L``, the Cholesky factor of the denominator — or, when the forward
    used partial fractions (diagonal ``K > 5``), the Cholesky factors ``F0``, ``F1``, ... of its
    shifted matrices :math:`M_j = \sigma_j I + \gamma_j W`. Then, since :math:`M_j` commutes with
    :math:`W`, :math:`L_{M_j^{-1}W}(W, E) = \sigma_j M_j^{-1} E M_j^{-1}` and
    :math:`L_{M_j^{-1}}(W, E) = -\gamma_j M_j^{-1} E M_j^{-1}`: two solves per term.

    Parameters
    ----------
    G : Tensor, shape ``(..., n, n)``
        Incoming gradient with respect to the output.
    saved : Saved
        From the forward pass, with ``saved.aux`` filled (``return_aux=True``).
    degree : (int, int)
        The forward's ``[m/n]``.

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        :math:`\partial l/\partial A`.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (13) and appendix A.6.
    .. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Ch. 3 (Thm. 3.6 and Problem 3.8).
    """

    aux = saved.aux
    if "F0" in aux:
        n = G.shape[-1]
        norm = aux["norm"]
        scale = torch.where(norm > 0, norm, torch.ones_like(norm)).pow(-0.5 if saved.inverse else 0.5)
        f = (saved.out / scale).reshape(-1, n, n)
        E = G.reshape(-1, n, n)
        _, weights, shifts, scales = pade_shifted_fractions(degree[0], inverse=saved.inverse)
        M = torch.zeros_like(E)
        for j, (w, sigma, gamma) in enumerate(zip(weights, shifts, scales)):
            L = aux[f"F{j}"].reshape(-1, n, n)
            left = ops.cholesky_solve(E, L)  # M_j^{-1} E
            both = ops.cholesky_solve(left.transpose(-2, -1), L).transpose(-2, -1)  # (M_j^{-1} E) M_j^{-1}
            M.add_(both, alpha=float(w) * (-float(gamma) if saved.inverse else float(sigma)))
        return _finish(saved, f, M, G)
    p, q = (compose_one_minus(c) for c in pade_coefficients(degree[0], degree[1], Fraction(1, 2)))
    num, den = (q, p) if saved.inverse else (p, q)
    powers = _series(aux, "W")
    n = G.shape[-1]
    norm = aux["norm"]
    scale = torch.where(norm > 0, norm, torch.ones_like(norm)).pow(-0.5 if saved.inverse else 0.5)
    f = (saved.out / scale).reshape(-1, n, n)
    E = G.reshape(-1, n, n)
    LN, LD = frechet_polynomials(powers, (num, den), E)
    M = ops.cholesky_solve(ops.addmatmul(LN, LD, f, alpha=-1.0), aux["L"])
    return _finish(saved, f, M, G)


def mtp_adjoint(G: torch.Tensor, saved, *, degree: int) -> torch.Tensor:
    r"""Exact gradient of :func:`mathsqrt.forward.mtp` as computed (Horner's rule in :math:`Z = I - W`).

    :math:`\partial l/\partial W = -L_T(Z, \bar G)` by :func:`frechet_horner` on the forward's
    accumulators: ``2(K - 1)`` matmuls for degree ``K`` ([1]_ Eq. 10).

    ``saved.aux`` holds ``norm``, ``Z`` and the Horner accumulators ``H0``, ``H1``, ...

    Parameters
    ----------
    G : Tensor, shape ``(..., n, n)``
        Incoming gradient with respect to the output.
    saved : Saved
        From the forward pass, with ``saved.aux`` filled (``return_aux=True``).
    degree : int
        The forward's truncation degree ``K``.

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        :math:`\partial l/\partial A`.

    Notes
    -----
    The derivative of the Horner recurrence follows [2]_.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (10).
    .. [2] A. H. Al-Mohy, N. J. Higham, "Computing the Fréchet derivative of the matrix exponential, with
       an application to condition number estimation", SIAM J. Matrix Anal. Appl. 30(4), 2009.
    """

    c = taylor_coefficients(degree, Fraction(-1, 2) if saved.inverse else Fraction(1, 2))
    n = G.shape[-1]
    aux = saved.aux
    norm = aux["norm"]
    scale = torch.where(norm > 0, norm, torch.ones_like(norm)).pow(-0.5 if saved.inverse else 0.5)
    f = (saved.out / scale).reshape(-1, n, n)
    E = G.reshape(-1, n, n)
    if degree == 0:
        M = torch.zeros_like(E)
    elif degree == 1:
        M = -float(c[1]) * E
    else:
        M = -frechet_horner(aux["Z"], _series(aux, "H"), c[-1], E)
    return _finish(saved, f, M, G)


def ns_adjoint(G: torch.Tensor, saved, *, iters: int) -> torch.Tensor:
    r"""Exact gradient of :func:`mathsqrt.forward.newton_schulz` as computed: :func:`ns_reverse`.

    ``saved.aux`` holds ``norm`` and the iterates ``Y0..``, ``Z1..`` and ``T0..``.

    Parameters
    ----------
    G : Tensor, shape ``(..., n, n)``
        Incoming gradient with respect to the output.
    saved : Saved
        From the forward pass, with ``saved.aux`` filled (``return_aux=True``).
    iters : int
        The forward's number of iterations.

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        :math:`\partial l/\partial A`.

    Notes
    -----
    The same gradient as the backward of the Newton–Schulz iteration in [1]_, Eq. (5)–(6).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (3)–(6).
    """
    aux = saved.aux
    n = G.shape[-1]
    norm = aux["norm"]
    scale = torch.where(norm > 0, norm, torch.ones_like(norm)).pow(-0.5 if saved.inverse else 0.5)
    f = (saved.out / scale).reshape(-1, n, n)
    T = _series(aux, "T")
    Y = _series(aux, "Y")
    Z = [None] + [aux[f"Z{k}"] for k in range(1, len(T))]
    M = ns_reverse(Y, Z, T, G.reshape(-1, n, n), inverse=saved.inverse)
    return _finish(saved, f, M, G)


def grad_adjoint(G: torch.Tensor, saved, *, adjoint) -> torch.Tensor:
    """``backward="adjoint"``: the forward's own exact adjoint (``adjoint(G, saved)``, from the method table).

    Parameters
    ----------
    G : Tensor, shape ``(..., n, n)``
        Incoming gradient with respect to the output.
    saved : Saved
        From the forward pass.
    adjoint : callable
        The forward method's adjoint, ``adjoint(G, saved) -> Tensor``.

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        The gradient with respect to ``A``.

    Notes
    -----
    The exact adjoint of the computed forward is the alternative to the Lyapunov backward that
    [1]_ discusses in appendix A.4 (consistent forward and backward); for the Fréchet derivative see [2]_, Ch. 3.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, appendix A.4.
    .. [2] N. J. Higham, "Functions of Matrices: Theory and Computation", SIAM, 2008, Ch. 3.
    """
    return adjoint(G, saved)
