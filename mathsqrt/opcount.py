r"""Count the ATen matrix kernels a computation runs, including those of autograd's backward pass.

:func:`mathsqrt.count_ops` counts the calls that :mod:`mathsqrt` itself makes through
:mod:`mathsqrt.counting`. That misses what torch does on its own: the backward pass of
``backward="autograd"`` (the Newton–Schulz backward of the paper, Eq. (5)–(6), or the gradient of
``torch.linalg.eigh``, Eq. (2)) is run by autograd, which calls ATen kernels directly. This module
counts at the dispatcher instead, with a :class:`torch.utils._python_dispatch.TorchDispatchMode`:
every ``aten::mm``/``bmm`` (and their fused ``addmm``/``baddbmm`` forms) is one matmul, whoever
calls it. A batched product counts once, as in the paper's Tables 1–2, which count per matrix.

The dispatch mode is thread-local; on the CPU the autograd engine runs the backward pass in the
calling thread, so ``torch.autograd.grad`` inside the block is counted. (On CUDA, the engine uses
a device thread; the mode is propagated through torch's thread-local state.)

Examples
--------
>>> import torch, mathsqrt
>>> from mathsqrt.opcount import count_aten_ops
>>> A = torch.eye(8, dtype=torch.float64).requires_grad_()
>>> with count_aten_ops() as ops:
...     S = mathsqrt.sqrtm(A, method="ns", iters=5, backward="autograd", check_finite=False)
...     _ = torch.autograd.grad(S.sum(), A)
>>> ops["matmul"]   # 3T - 3 = 12 forward, 2 per forward product backward
36
"""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import Callable, Dict, Iterator, Tuple

import torch
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["ATEN_CATEGORIES", "count_aten_ops", "count_forward_backward"]

#: ATen operator name -> category. Anything else is counted under its own name in ``"aten"``.
ATEN_CATEGORIES: Dict[str, str] = {
    "mm": "matmul",
    "bmm": "matmul",
    "addmm": "matmul",
    "baddbmm": "matmul",
    "baddbmm_": "matmul",
    "addbmm": "matmul",
    "addmm_": "matmul",
    "matmul": "matmul",
    "linalg_cholesky_ex": "cholesky",
    "cholesky": "cholesky",
    "cholesky_solve": "solve",
    "_cholesky_solve_helper": "solve",
    "linalg_solve": "solve",
    "linalg_solve_ex": "solve",
    "_linalg_solve_ex": "solve",
    "lu_solve": "solve",
    "linalg_lu_solve": "solve",
    "linalg_solve_triangular": "triangular_solve",
    "triangular_solve": "triangular_solve",
    "linalg_inv_ex": "inverse",
    "inverse": "inverse",
    "linalg_lu_factor_ex": "lu",
    "_linalg_eigh": "eigh",
    "linalg_eigh": "eigh",
    "_linalg_svd": "svd",
    "linalg_svd": "svd",
}


class _AtenCounter(TorchDispatchMode):
    """Dispatch mode that tallies every ATen call by category (and by raw name)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter = Counter()
        self.raw: Counter = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        self.raw[name] += 1
        category = ATEN_CATEGORIES.get(name)
        if category is not None:
            self.counts[category] += 1
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def count_aten_ops() -> Iterator[Counter]:
    """Count the matrix kernels run inside the block, forward and autograd backward alike.

    Yields
    ------
    collections.Counter
        Keys ``"matmul"`` (``mm``, ``bmm``, ``addmm``, ``baddbmm``, ``addbmm``), ``"cholesky"``,
        ``"solve"`` (a Cholesky, LU or general solve: one factorisation applied), ``"triangular_solve"``,
        ``"inverse"``, ``"lu"``, ``"eigh"``, ``"svd"``; absent keys read 0. The raw per-operator
        tallies are available as ``counter.raw`` after the block.

    Notes
    -----
    A triangular solve that a Cholesky solve runs internally is not dispatched separately, so
    :func:`torch.cholesky_solve` counts as one ``"solve"``. The autograd backward of a Cholesky
    solve is implemented with triangular solves, which are counted as such.
    """
    mode = _AtenCounter()
    counts = mode.counts
    with mode:
        yield counts
    counts.raw = mode.raw  # type: ignore[attr-defined]


def count_forward_backward(fn: Callable[[torch.Tensor], torch.Tensor], A: torch.Tensor, G: torch.Tensor) -> Tuple[Counter, Counter]:
    r"""Count the kernels of ``fn(A)`` and, separately, of its backward pass for the gradient ``G``.

    Parameters
    ----------
    fn : callable
        ``(..., n, n) -> (..., n, n)``, differentiable.
    A : Tensor, shape ``(..., n, n)``
        Input (a leaf; ``requires_grad`` is set on a detached copy).
    G : Tensor, same shape as ``fn(A)``
        Incoming gradient :math:`\partial l/\partial f(A)`.

    Returns
    -------
    forward, backward : collections.Counter
        As yielded by :func:`count_aten_ops`.
    """
    X = A.detach().clone().requires_grad_(True)
    with count_aten_ops() as forward:
        out = fn(X)
    with count_aten_ops() as backward:
        torch.autograd.grad(out, X, G)
    return forward, backward
