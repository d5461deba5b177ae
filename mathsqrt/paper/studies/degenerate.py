r"""What happens to the gradient of :math:`A^{1/2}` as two eigenvalues of :math:`A` meet — measured.

The paper motivates its Lyapunov backward by the "gradient explosion" of the SVD ([1]_, Sec. 1 and
Eq. (2)): the factor :math:`K_{ij} = 1/(\lambda_i - \lambda_j)` grows without bound as two
eigenvalues approach each other. For a *spectral function* :math:`U f(\Lambda) U^T` such as the
square root, the two terms that :math:`K_{ij}` and :math:`K_{ji}` multiply cancel in exact
arithmetic, leaving the bounded divided difference
:math:`(f(\lambda_i) - f(\lambda_j))/(\lambda_i - \lambda_j)` (:math:`1/(s_i + s_j)` for the
square root, :math:`s = \sqrt\lambda`). So the gradient itself does not explode; what grows is

- the size of :math:`K` (:math:`\max|K_{ij}| = 1/\min|\lambda_i-\lambda_j|`) and of each term it
  multiplies, and with it
- the rounding error of their cancellation, about :math:`\epsilon\,\lambda/\text{gap}` relative;
- and at a computed exact tie, :math:`\infty - \infty`: NaN.

This module builds the matrices (:func:`near_degenerate_spd`, :func:`exact_tie_matrix`) and measures
all of it for every backward of the method table that can follow the ``eigh`` forward, and each
dtype (:func:`gradient_vs_gap`), against the exact gradient :math:`U[\hat G_{ij}/(s_i+s_j)]U^T`
computed in float64 from the eigendecomposition of the very matrix that was differentiated
(:func:`mathsqrt.testing.gradient_reference`). Rows name each pairing by its configuration
(``"svd"`` is eigh + autograd, the paper's SVD; ``"eigh/lyapunov"`` a pair that is no
configuration). Run ``python -m mathsqrt.paper.studies.degenerate`` for the table.

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (2), (17).
.. [2] W. Wang, Z. Dang, Y. Hu, P. Fua, M. Salzmann, "Robust Differentiable SVD", IEEE TPAMI, 2022.
"""

from __future__ import annotations

import argparse
import math
from typing import Dict, Iterable, List, Optional, Sequence, Union

import torch

from mathsqrt import baselines
from mathsqrt import methods as method_table
from mathsqrt.api import sqrtm
from mathsqrt.testing import gradient_reference, random_gradient, spd_from_spectrum

from ..checks import check_int
from ..plotting import pair_name

__all__ = [
    "FORWARD",
    "DEFAULT_METHODS",
    "near_degenerate_spectrum",
    "near_degenerate_spd",
    "exact_tie_matrix",
    "method_factor",
    "gradient_vs_gap",
    "format_table",
    "main",
]

#: The forward of every pairing compared: the eigendecomposition, whose gradient Eq. (2) explodes.
FORWARD = "eigh"

#: The pairings compared: every backward of the table that can follow :data:`FORWARD`, by its one name.
DEFAULT_METHODS = tuple(pair_name(f, b) for f, b in method_table.combinations() if f == FORWARD)

DTypes = Union[torch.dtype, Sequence[torch.dtype]]


def near_degenerate_spectrum(n: int = 64, gap: float = 1e-3, *, cond: float = 10.0) -> torch.Tensor:
    r"""Eigenvalues, ascending, float64: a geometric spectrum plus one near-duplicate.

    ``n - 1`` eigenvalues are geometric from :math:`1/\mathrm{cond}` to 1; the middle one :math:`c`
    gets a partner :math:`c\,(1 + \mathrm{gap})`. ``gap`` is therefore the *relative* gap of the pair
    (``0`` duplicates :math:`c`). The other neighbours are a factor :math:`\mathrm{cond}^{1/(n-2)}`
    apart (3.8 % for ``n = 64``, ``cond = 10``), so for ``gap`` above that the pair is not the closest one.

    Parameters
    ----------
    n : int
        Size, at least 3.
    gap : float
        Relative gap :math:`\ge 0`.
    cond : float
        Spread of the rest of the spectrum, :math:`\ge 1`.

    Returns
    -------
    Tensor, shape ``(n,)``, float64
    """
    n = check_int("n", n, 3)
    if not (gap >= 0 and math.isfinite(gap)):
        raise ValueError(f"gap must be a finite number >= 0, got {gap!r}")
    if not cond >= 1:
        raise ValueError(f"cond must be >= 1, got {cond!r}")
    base = torch.logspace(-math.log10(cond), 0.0, n - 1, dtype=torch.float64)
    c = base[(n - 1) // 2]
    lam = torch.cat([base, (c * (1 + gap)).reshape(1)])
    return torch.sort(lam).values


def near_degenerate_spd(
    n: int = 64,
    gap: float = 1e-3,
    *,
    cond: float = 10.0,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
    rotate: bool = True,
) -> torch.Tensor:
    r"""An SPD matrix whose spectrum is :func:`near_degenerate_spectrum`.

    :math:`A = Q\,\mathrm{diag}(\lambda)\,Q^T` with a Haar-random orthogonal :math:`Q` (``seed``), built in
    float64 and then rounded to ``dtype``. Rounding moves every eigenvalue by about
    :math:`\epsilon\|A\|` (:math:`6\cdot10^{-8}` in float32), so a relative gap below that is not
    resolved in float32: the computed pair may be closer, farther or swapped. Always measure the gap
    of the matrix you differentiate (:func:`gradient_vs_gap` does).

    Parameters
    ----------
    n, gap, cond
        See :func:`near_degenerate_spectrum`.
    dtype : torch.dtype
        Of the result.
    seed : int
        Of :math:`Q`.
    rotate : bool
        ``False`` returns the diagonal matrix :math:`\mathrm{diag}(\lambda)`, whose eigenvalues are
        computed exactly (so ``gap=0`` is a computed exact tie).

    Returns
    -------
    Tensor, shape ``(n, n)``
    """
    lam = near_degenerate_spectrum(n, gap, cond=cond)
    if not rotate:
        return torch.diag(lam).to(dtype)
    return spd_from_spectrum(lam, seed=seed).to(dtype)


def exact_tie_matrix(n: int = 64, *, cond: float = 10.0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""A diagonal SPD matrix with one repeated eigenvalue: a *computed* exact tie.

    ``torch.linalg.eigh`` returns the two equal eigenvalues bit for bit, so :math:`K_{ij} = 1/0`, and
    autograd through the eigendecomposition gives NaN, while the exact gradient (and the Lyapunov
    backward, whose denominators are :math:`s_i + s_j`) is perfectly finite.

    Parameters
    ----------
    n : int
        Size, at least 3.
    cond : float
        Spread of the spectrum (see :func:`near_degenerate_spectrum`).
    dtype : torch.dtype

    Returns
    -------
    Tensor, shape ``(n, n)``
    """
    return near_degenerate_spd(n, 0.0, cond=cond, dtype=dtype, rotate=False)


def method_factor(backward: str, lam: torch.Tensor, *, inverse: bool = False, **options) -> torch.Tensor:
    r"""The pairwise factor a backward method multiplies by, for eigenvalues ``lam`` (ascending).

    ``"autograd"`` (through ``eigh``): :math:`K_{ij} = 1/(\lambda_i-\lambda_j)`; ``"svd-taylor"``,
    ``"svd-pade"``, ``"svd-pi"``: :func:`~mathsqrt.baselines.taylor_factor`,
    :func:`~mathsqrt.baselines.pade_factor`, :func:`~mathsqrt.baselines.pi_factor` (``options``:
    ``degree`` or ``iters``); any other backward solves the Lyapunov equation (paper Eq. (17)), whose
    factor :math:`1/(s_i + s_j)` (for the inverse square root :math:`1/(s_i s_j (s_i+s_j))`) has no
    pole as a gap closes.

    Parameters
    ----------
    backward : str
        A key of :data:`mathsqrt.methods.BACKWARDS`.
    lam : Tensor, shape ``(..., n)``
    inverse : bool
    **options
        Forwarded to the baseline factor.

    Returns
    -------
    Tensor, shape ``(..., n, n)``

    Raises
    ------
    ValueError
        A name that is not a backward of the table.
    """
    try:
        method_table.backward_method(backward)
    except ValueError:
        raise ValueError(
            f"no pairwise factor for method {backward!r}: not a backward of mathsqrt.methods.BACKWARDS"
        ) from None
    if backward == "autograd":
        return baselines.exact_factor(lam)
    if backward == "svd-taylor":
        return baselines.taylor_factor(lam, **options)
    if backward == "svd-pade":
        return baselines.pade_factor(lam, **options)
    if backward == "svd-pi":
        return baselines.pi_factor(lam, **options)
    s = lam.clamp_min(0).sqrt()
    denom = s.unsqueeze(-1) + s.unsqueeze(-2)
    if inverse:
        denom = denom * s.unsqueeze(-1) * s.unsqueeze(-2)
    return 1.0 / denom


def _backward_of(name: str) -> str:
    """The backward of a pairing named by :func:`~mathsqrt.paper.plotting.pair_name` with the ``eigh`` forward."""
    for f, b in method_table.combinations():
        if f == FORWARD and pair_name(f, b) == name:
            return b
    raise ValueError(f"unknown method {name!r}; choose from {', '.join(DEFAULT_METHODS)}")


def _min_relative_gap(lam: torch.Tensor) -> float:
    d = lam[1:] - lam[:-1]
    return float((d / lam[1:].abs().clamp_min(torch.finfo(lam.dtype).tiny)).min())


def gradient_vs_gap(
    gaps: Iterable[float] = (1e-1, 1e-3, 1e-6),
    n: int = 64,
    dtype: DTypes = (torch.float64, torch.float32),
    methods: Sequence[str] = DEFAULT_METHODS,
    seed: int = 0,
    *,
    cond: float = 10.0,
    options: Optional[Dict[str, Dict]] = None,
) -> List[dict]:
    r"""Measure each backward method on :func:`near_degenerate_spd` matrices, one row per case.

    For every dtype and gap (``0`` means :func:`exact_tie_matrix`), the loss
    :math:`l = \langle G, A^{1/2}\rangle` with a fixed random symmetric :math:`G` (``seed``,
    :math:`\|G\|_F = 1`) is differentiated with ``sqrtm(A, method="eigh", backward=...)`` for each
    pairing of ``methods``.

    Parameters
    ----------
    gaps : iterable of float
        Relative gaps of the designated pair.
    n : int
        Matrix size.
    dtype : torch.dtype or sequence of them
    methods : sequence of str
        Names of pairings with the ``eigh`` forward (:data:`DEFAULT_METHODS`: ``"svd"``,
        ``"svd-taylor"``, ``"eigh/lyapunov"``, ...).
    seed : int
        Seed of the rotation and of :math:`G`.
    cond : float
        Spread of the rest of the spectrum.
    options : dict, optional
        ``{method: {"backward_degree": ...}}``: keywords of :func:`mathsqrt.sqrtm` per pairing.

    Returns
    -------
    list of dict
        Keys: ``method`` (the pairing's name), ``backward``, ``dtype`` (``"float32"``...), ``gap``
        (requested), ``computed_gap`` (smallest
        relative gap of the eigenvalues computed in ``dtype``), ``max_K`` (:math:`\max|K_{ij}|`, same for
        every method, ``inf`` at a tie), ``max_factor`` (largest pairwise factor the method multiplies
        by: :func:`method_factor` on the computed eigenvalues), ``grad_norm`` (Frobenius), ``error``
        (:math:`\|X - X_{\rm exact}\|_F/\|X_{\rm exact}\|_F`, NaN if the gradient has NaN) and ``nan``
        (any non-finite entry).
    """
    dtypes = [dtype] if isinstance(dtype, torch.dtype) else list(dtype)
    options = options or {}
    G64 = random_gradient(n, symmetric=True, seed=seed + 1)
    backwards = {name: _backward_of(name) for name in methods}
    rows: List[dict] = []
    for dt in dtypes:
        G = G64.to(dt)
        for gap in gaps:
            A = (
                exact_tie_matrix(n, cond=cond, dtype=dt)
                if gap == 0
                else near_degenerate_spd(n, gap, cond=cond, dtype=dt, seed=seed)
            )
            ref = gradient_reference(A, G)
            lam = torch.linalg.eigh(A).eigenvalues
            max_K = float(baselines.exact_factor(lam).abs().max())
            for method, backward in backwards.items():
                opts = dict(options.get(method, {}))
                Ar = A.clone().requires_grad_(True)
                out = sqrtm(Ar, method=FORWARD, backward=backward, **opts)
                (out * G).sum().backward()
                X = Ar.grad
                finite = bool(torch.isfinite(X).all())
                err = (
                    float(torch.linalg.matrix_norm(X.to(torch.float64) - ref) / torch.linalg.matrix_norm(ref))
                    if finite
                    else float("nan")
                )
                # the baseline factors take the same parameters as the backward functions
                factor_opts = {
                    o.param: opts[o.keyword]
                    for o in method_table.backward_method(backward).options
                    if o.keyword in opts
                }
                factor = method_factor(backward, lam, **factor_opts)
                rows.append(
                    {
                        "method": method,
                        "backward": backward,
                        "dtype": str(dt).replace("torch.", ""),
                        "gap": float(gap),
                        "computed_gap": _min_relative_gap(lam),
                        "max_K": max_K,
                        "max_factor": float(factor.abs().max()),
                        "grad_norm": float(torch.linalg.matrix_norm(X.to(torch.float64))) if finite else float("nan"),
                        "error": err,
                        "nan": not finite,
                    }
                )
    return rows


def format_table(rows: Sequence[dict]) -> str:
    """Plain-text table of :func:`gradient_vs_gap` rows (one line per row)."""
    w = max([len("method")] + [len(r["method"]) for r in rows])
    head = (
        f"{'dtype':8} {'gap':>7} {'computed':>9} {'max|K|':>9} {'method':{w}} "
        f"{'max factor':>10} {'|grad|':>9} {'rel. error':>10}  NaN"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['dtype']:8} {r['gap']:7.0e} {r['computed_gap']:9.2e} {r['max_K']:9.2e} {r['method']:{w}} "
            f"{r['max_factor']:10.2e} {r['grad_norm']:9.3e} {r['error']:10.2e}  {'yes' if r['nan'] else 'no'}"
        )
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> str:
    """Print the table: ``python -m mathsqrt.paper.studies.degenerate [--n 64] [--gaps 1e-1 1e-3 0] [--seed 0]``."""
    parser = argparse.ArgumentParser(
        prog="python -m mathsqrt.paper.studies.degenerate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--gaps", type=float, nargs="+", default=[1e-1, 1e-3, 1e-6, 0.0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cond", type=float, default=10.0)
    args = parser.parse_args(argv)
    rows = gradient_vs_gap(args.gaps, n=args.n, seed=args.seed, cond=args.cond)
    table = format_table(rows)
    print(
        f"Gradient of <G, A^(1/2)> (sqrtm method='eigh'), n={args.n}, cond={args.cond:g}, seed={args.seed}; "
        "error relative to the exact float64 eigenbasis gradient; gap 0 = diagonal matrix with an exact tie."
    )
    print(table)
    return table


if __name__ == "__main__":  # pragma: no cover
    main()
