r"""Forward and gradient accuracy of every method against scipy: ``python -m mathsqrt.paper.studies.accuracy``.

For each forward method at its default setting (MPA [5/5], MTP 11, NS 5) and eigh, and each backward,
on covariance matrices of a chosen size and condition number:

- forward error: mean absolute error of :math:`A^{1/2}` against ``scipy.linalg.sqrtm`` (float64);
- gradient error: relative Frobenius error of :math:`\partial l/\partial A` against the exact solution
  of :math:`A^{1/2} X + X A^{1/2} = G` (``scipy.linalg.solve_continuous_lyapunov`` at the exact
  square root), for a fixed random ``G``.

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

from mathsqrt.api import sqrtm
from mathsqrt.testing import random_spd

__all__ = ["accuracy_table", "format_table", "main"]

DEFAULT_COMBINATIONS: Tuple[Tuple[str, str], ...] = (
    ("mpa", "lyapunov"),
    ("mtp", "lyapunov"),
    ("ns", "lyapunov"),
    ("ns", "autograd"),
    ("eigh", "lyapunov"),
    ("eigh", "eigh"),
    ("eigh", "autograd"),
    ("mpa", "eigh"),
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
    """Measure forward and gradient errors; returns one dict per (condition, method, backward).

    Inputs are ``random_spd(n, cond)`` (log-spaced spectrum, so the condition number is exact) built
    in float64 and cast to ``dtype``; errors are computed in float64.
    """
    from scipy.linalg import solve_continuous_lyapunov, sqrtm as scipy_sqrtm

    rows = []
    for cond in conds:
        A64 = random_spd(n, cond, seed=seed)
        G64 = torch.randn(n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 1))
        S_exact = np.real(scipy_sqrtm(A64.numpy()))
        X_exact = solve_continuous_lyapunov(S_exact, G64.numpy())
        for method, backward in combinations:
            A = A64.to(dtype).clone().requires_grad_(True)
            kw = {"backward_tol": backward_tol} if (backward_tol and backward == "lyapunov") else {}
            S = sqrtm(A, method=method, backward=backward, **kw)
            S.backward(G64.to(dtype))
            S_np = S.detach().double().numpy()
            grad = A.grad.double().numpy()
            if backward == "autograd":  # torch's eigh/cholesky gradients act on symmetric directions
                sym = lambda M: 0.5 * (M + M.T)  # noqa: E731
                grad_err = np.linalg.norm(sym(grad) - sym(X_exact)) / np.linalg.norm(sym(X_exact))
            else:
                grad_err = np.linalg.norm(grad - X_exact) / np.linalg.norm(X_exact)
            rows.append(
                {
                    "n": n,
                    "cond": float(cond),
                    "dtype": str(dtype).replace("torch.", ""),
                    "method": method,
                    "backward": backward,
                    "forward_mae": float(np.abs(S_np - S_exact).mean()),
                    "gradient_rel_error": float(grad_err),
                }
            )
    return rows


def format_table(rows: List[Dict]) -> str:
    """A markdown table of :func:`accuracy_table` rows."""
    lines = ["| cond | method | backward | forward MAE | gradient rel. error |", "|---:|---|---|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['cond']:.0e} | {r['method']} | {r['backward']} | {r['forward_mae']:.1e} | {r['gradient_rel_error']:.1e} |")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mathsqrt.paper.studies.accuracy", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64, help="matrix size (default 64)")
    parser.add_argument("--conds", type=float, nargs="+", default=[10.0, 1e4], help="condition numbers")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backward-tol", type=float, default=None, help="tolerance for the Lyapunov backward")
    args = parser.parse_args(argv)
    rows = accuracy_table(args.n, args.conds, dtype=getattr(torch, args.dtype), seed=args.seed, backward_tol=args.backward_tol)
    print(f"{args.n}x{args.n} SPD matrices with log-spaced spectra, {args.dtype}, seed {args.seed}")
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
