"""Count the matrix operations a computation performs, by instrumentation.

Every matrix product, solve and decomposition in :mod:`mathsqrt` goes through the small wrappers
below. Outside a :func:`count_ops` block they cost one attribute look-up; inside, each call is
tallied. A batched product of ``(..., n, n)`` tensors counts as **one** matmul, as in the paper's
Tables 1–2 (which count per matrix).

Examples
--------
>>> import torch, mathsqrt
>>> A = torch.eye(4, dtype=torch.float64)
>>> with mathsqrt.count_ops() as ops:
...     _ = mathsqrt.sqrtm(A, method="mtp", degree=11)
>>> ops["matmul"]
10
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from typing import Iterator

import torch

__all__ = ["count_ops", "matmul", "addmatmul", "addmatmul_", "cholesky", "cholesky_solve", "eigh", "record"]

_state = threading.local()


def _counter():
    return getattr(_state, "counter", None)


def record(kind: str, number: int = 1) -> None:
    """Add ``number`` operations of ``kind`` to the active counter, if any."""
    counter = _counter()
    if counter is not None:
        counter[kind] += number


@contextlib.contextmanager
def count_ops() -> Iterator[Counter]:
    """Context manager that counts matrix operations performed inside it (this thread only).

    Yields
    ------
    collections.Counter
        Keys: ``"matmul"``, ``"cholesky"``, ``"solve"`` (triangular solve pairs of a Cholesky
        solve), ``"eigh"``, and whatever else the methods record. Nested blocks count separately.
    """
    previous = _counter()
    counter: Counter = Counter()
    _state.counter = counter
    try:
        yield counter
    finally:
        _state.counter = previous


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b``, counted as one matmul (``torch.bmm`` for 3-D operands: no expand/reshape nodes)."""
    record("matmul")
    if a.dim() == 3 and b.dim() == 3:
        return torch.bmm(a, b)
    return torch.matmul(a, b)


def addmatmul(c: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *, beta: float = 1.0, alpha: float = 1.0) -> torch.Tensor:
    """``beta * c + alpha * (a @ b)`` in one fused call (``baddbmm``), counted as one matmul.

    ``a`` and ``b`` are ``(B, n, n)`` tensors (flatten any batch dimensions first); ``c`` is
    ``(B, n, n)`` or broadcastable to it, e.g. a multiple of the ``(n, n)`` identity.
    """
    record("matmul")
    return torch.baddbmm(c, a, b, beta=beta, alpha=alpha)


def addmatmul_(c: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *, beta: float = 1.0, alpha: float = 1.0) -> torch.Tensor:
    """In place ``c <- beta * c + alpha * (a @ b)`` (``baddbmm_``), counted as one matmul.

    Only for tensors outside autograd or not needed by it (``c`` must not be saved for backward).
    """
    record("matmul")
    return c.baddbmm_(a, b, beta=beta, alpha=alpha)


def cholesky(a: torch.Tensor):
    """``torch.linalg.cholesky_ex(a)``, counted; returns ``(L, info)``."""
    record("cholesky")
    return torch.linalg.cholesky_ex(a)


def cholesky_solve(b: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """Solve ``(L L^T) X = b`` by two triangular solves, counted as one solve."""
    record("solve")
    return torch.cholesky_solve(b, L)


def eigh(a: torch.Tensor):
    """``torch.linalg.eigh(a)``, counted."""
    record("eigh")
    return torch.linalg.eigh(a)
