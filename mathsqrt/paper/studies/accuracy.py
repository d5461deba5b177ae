r"""Forward and gradient accuracy of every method against scipy: ``python -m mathsqrt.paper.studies.accuracy``.

For every compatible forward + backward pair of the method table (:func:`mathsqrt.methods.combinations`)
whose forward is a square root, at its defaults (MPA [5/5], MTP 11, NS 5, eigh; 8 Lyapunov
iterations), on SPD matrices of a chosen size and condition number:

- forward error: mean absolute error of :math:`A^{1/2}` against ``scipy.linalg.sqrtm`` (float64);
- gradient error: relative Frobenius error of :math:`\partial l/\partial A` against the exact solution
  of :math:`A^{1/2} X + X A^{1/2} = G` (``scipy.linalg.solve_continuous_lyapunov`` at the exact
  square root), for a fixed random ``G``. A backward that returns the symmetrised gradient, or
  autograd (torch's ``eigh``/Cholesky gradients act on symmetric directions), is compared on
  symmetric parts.

Rows name each pair by its one name (a configuration's, ``"mpa-lya"``, or ``"mpa/eigh"``,
:func:`mathsqrt.paper.plotting.pair_name`); the table shows the labels.

Example
-------
``python -m mathsqrt.paper.studies.accuracy --n 64 --conds 10 1e4``
"""

from __future__ import annotations

import argparse
import sys
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch

from mathsqrt import methods
from mathsqrt.api import sqrtm
from mathsqrt.testing import random_gradient, random_spd

from ..plotting import configuration_label, pair_name

__all__ = ["DEFAULT_COMBINATIONS", "accuracy_table", "format_table", "main"]

#: Every compatible ``(forward, backward)`` pair of the method table whose forward is a square root.
DEFAULT_COMBINATIONS: Tuple[Tuple[str, str], ...] = tuple(
    (f, b) for f, b in methods.combinations() if methods.forward_method(f).root
)


def accuracy_table(
    n: int = 64,
    conds: Iterable[float] = (10.0, 1e4),
    combinations: Sequence[Tuple[str, str]] = DEFAULT_COMBINATIONS,
    *,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
    backward_tol: Optional[float] = None,
) -> List[Dict]:
    """Measure forward and gradient errors; returns one dict per (condition, pair).

    Inputs are ``random_spd(n, cond)`` (log-spaced spectrum, so the condition number is exact) built
    in float64 and cast to ``dtype``; errors are computed in float64.

    Parameters
    ----------
    n : int
        Matrix size.
    conds : iterable of float
        Condition numbers.
    combinations : sequence of (str, str)
        ``(forward, backward)`` pairs (default :data:`DEFAULT_COMBINATIONS`).
    dtype : torch.dtype
        Of the computation.
    seed : int
        Of ``A`` and ``G``.
    backward_tol : float, optional
        ``backward_tol`` of the Lyapunov backward.

    Returns
    -------
    list of dict
        ``n``, ``cond``, ``dtype``, ``method`` (the pair's name), ``label``, ``forward``, ``backward``,
        ``forward_mae``, ``gradient_rel_error``.
    """
    from scipy.linalg import solve_continuous_lyapunov
    from scipy.linalg import sqrtm as scipy_sqrtm

    rows = []
    for cond in conds:
        A64 = random_spd(n, cond, seed=seed)
        G64 = random_gradient(n, seed=seed + 1)
        S_exact = np.real(scipy_sqrtm(A64.numpy()))
        X_exact = solve_continuous_lyapunov(S_exact, G64.numpy())
        for method, backward in combinations:
            bwd = methods.backward_method(backward)
            A = A64.to(dtype).clone().requires_grad_(True)
            takes_tol = any(o.keyword == "backward_tol" for o in bwd.options)
            kw = {"backward_tol": backward_tol} if (backward_tol and takes_tol) else {}
            S = sqrtm(A, method=method, backward=backward, **kw)
            S.backward(G64.to(dtype))
            S_np = S.detach().double().numpy()
            grad = A.grad.double().numpy()
            if bwd.function is None or bwd.symmetrised:  # compare what acts on symmetric directions
                sym = lambda M: 0.5 * (M + M.T)  # noqa: E731
                grad_err = np.linalg.norm(sym(grad) - sym(X_exact)) / np.linalg.norm(sym(X_exact))
            else:
                grad_err = np.linalg.norm(grad - X_exact) / np.linalg.norm(X_exact)
            rows.append(
                {
                    "n": n,
                    "cond": float(cond),
                    "dtype": str(dtype).replace("torch.", ""),
                    "method": pair_name(method, backward),
                    "label": configuration_label(pair_name(method, backward)),
                    "forward": method,
                    "backward": backward,
                    "forward_mae": float(np.abs(S_np - S_exact).mean()),
                    "gradient_rel_error": float(grad_err),
                }
            )
    return rows


def format_table(rows: List[Dict]) -> str:
    """A markdown table of :func:`accuracy_table` rows."""
    lines = [
        "| cond | method | forward | backward | forward MAE | gradient rel. error |",
        "|---:|---|---|---|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['cond']:.0e} | {r['label']} | {r['forward']} | {r['backward']} "
            f"| {r['forward_mae']:.1e} | {r['gradient_rel_error']:.1e} |"
        )
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mathsqrt.paper.studies.accuracy", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--n", type=int, default=64, help="matrix size (default 64)")
    parser.add_argument("--conds", type=float, nargs="+", default=[10.0, 1e4], help="condition numbers")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backward-tol", type=float, default=None, help="tolerance for the Lyapunov backward")
    args = parser.parse_args(argv)
    rows = accuracy_table(
        args.n, args.conds, dtype=getattr(torch, args.dtype), seed=args.seed, backward_tol=args.backward_tol
    )
    print(f"{args.n}x{args.n} SPD matrices with log-spaced spectra, {args.dtype}, seed {args.seed}")
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
