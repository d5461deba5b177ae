r"""Count the matrix operations a computation performs, by instrumentation, in two ways.

1. :func:`count_ops` counts what :mod:`mathsqrt` itself does: every matrix product, solve and
   decomposition of the package goes through the small wrappers below. Outside a :func:`count_ops`
   block they cost one attribute look-up; inside, each call is tallied.
2. :func:`count_aten_ops` counts at torch's dispatcher (a
   :class:`torch.utils._python_dispatch.TorchDispatchMode`), so it also sees what autograd runs on its
   own: the backward pass of ``backward="autograd"`` (the paper's Newton–Schulz backward, Eq. (5)–(6),
   or the gradient of ``torch.linalg.eigh``, Eq. (2)) calls ATen kernels directly. Every
   ``aten::mm``/``bmm`` (and their fused ``addmm``/``baddbmm`` forms) is one matmul, whoever calls it.
   The mode is thread-local; on the CPU the autograd engine runs the backward pass in the calling
   thread, so ``torch.autograd.grad`` inside the block is counted.

Either way a batched product of ``(..., n, n)`` tensors counts as **one** matmul, as in the paper's
Tables 1–2 (which count per matrix).

Examples
--------
>>> import torch, mathsqrt
>>> A = torch.eye(4, dtype=torch.float64)
>>> with mathsqrt.count_ops() as ops:
...     _ = mathsqrt.sqrtm(A, method="mtp", degree=11)
>>> ops["matmul"]
10
>>> B = torch.eye(8, dtype=torch.float64).requires_grad_()
>>> with mathsqrt.counting.count_aten_ops() as aten:
...     S = mathsqrt.sqrtm(B, method="ns", iters=5, backward="autograd", check_finite=False)
...     _ = torch.autograd.grad(S.sum(), B)
>>> aten["matmul"]   # 3T - 3 = 12 forward, 2 per forward product backward
36
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from typing import Callable, Dict, Iterator, Tuple

import torch
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = [
    "count_ops",
    "count_aten_ops",
    "count_forward_backward",
    "ATEN_CATEGORIES",
    "matmul",
    "addmatmul",
    "addmatmul_",
    "cholesky",
    "cholesky_solve",
    "eigh",
    "record",
]

_state = threading.local()


def _counter():
    return getattr(_state, "counter", None)


def record(kind: str, number: int = 1) -> None:
    """Add ``number`` operations of ``kind`` to the active counter, if any.

    Parameters
    ----------
    kind : str
        Counter key, e.g. ``"matmul"``.
    number : int
        How many operations to add.

    Notes
    -----
    Costs are counted in matrix products as in [1]_, Tables 1 and 2.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Tables 1 and 2 (costs counted in matrix multiplications and inverses).
    """
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

    Notes
    -----
    Costs are counted in matrix products as in [1]_, Tables 1 and 2.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Tables 1 and 2 (costs counted in matrix multiplications and inverses).
    """
    previous = _counter()
    counter: Counter = Counter()
    _state.counter = counter
    try:
        yield counter
    finally:
        _state.counter = previous


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b``, counted as one matmul (``torch.bmm`` for 3-D operands: no expand/reshape nodes).

    Parameters
    ----------
    a, b : Tensor, shape ``(..., n, n)``
        Operands.

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        ``a @ b``.

    Notes
    -----
    Wraps ``torch.bmm`` ([1]_); counted in the cost model of [2]_, Tables 1 and 2.

    References
    ----------
    .. [1] PyTorch documentation, ``torch.bmm``, https://pytorch.org/docs/stable/.
    .. [2] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Tables 1 and 2 (costs counted in matrix multiplications and inverses).
    """
    record("matmul")
    if a.dim() == 3 and b.dim() == 3:
        return torch.bmm(a, b)
    return torch.matmul(a, b)


def addmatmul(
    c: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *, beta: float = 1.0, alpha: float = 1.0
) -> torch.Tensor:
    """``beta * c + alpha * (a @ b)`` in one fused call (``baddbmm``), counted as one matmul.

    ``a`` and ``b`` are ``(B, n, n)`` tensors (flatten any batch dimensions first); ``c`` is
    ``(B, n, n)`` or broadcastable to it, e.g. a multiple of the ``(n, n)`` identity.

    Parameters
    ----------
    c : Tensor
        ``(B, n, n)`` or broadcastable to it.
    a, b : Tensor, shape ``(B, n, n)``
    beta, alpha : float
        Scalars.

    Returns
    -------
    Tensor, shape ``(..., n, n)``
        ``beta * c + alpha * (a @ b)``.

    Notes
    -----
    Wraps ``torch.baddbmm`` ([1]_); counted in the cost model of [2]_, Tables 1 and 2.

    References
    ----------
    .. [1] PyTorch documentation, ``torch.baddbmm``, https://pytorch.org/docs/stable/.
    .. [2] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Tables 1 and 2 (costs counted in matrix multiplications and inverses).
    """
    record("matmul")
    return torch.baddbmm(c, a, b, beta=beta, alpha=alpha)


def addmatmul_(
    c: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *, beta: float = 1.0, alpha: float = 1.0
) -> torch.Tensor:
    """In place ``c <- beta * c + alpha * (a @ b)`` (``baddbmm_``), counted as one matmul.

    Only for tensors outside autograd or not needed by it (``c`` must not be saved for backward).

    Parameters
    ----------
    c : Tensor, shape ``(B, n, n)``
        Overwritten.
    a, b : Tensor, shape ``(B, n, n)``
    beta, alpha : float
        Scalars.

    Returns
    -------
    Tensor
        ``c`` itself.

    Notes
    -----
    Wraps ``torch.Tensor.baddbmm_`` ([1]_); counted in the cost model of [2]_, Tables 1 and 2.

    References
    ----------
    .. [1] PyTorch documentation, ``torch.Tensor.baddbmm_``, https://pytorch.org/docs/stable/.
    .. [2] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Tables 1 and 2 (costs counted in matrix multiplications and inverses).
    """
    record("matmul")
    return c.baddbmm_(a, b, beta=beta, alpha=alpha)


def cholesky(a: torch.Tensor):
    """``torch.linalg.cholesky_ex(a)``, counted; returns ``(L, info)``.

    Parameters
    ----------
    a : Tensor, shape ``(..., n, n)``
        Symmetric positive definite.

    Returns
    -------
    L : Tensor, shape ``(..., n, n)``
        Lower Cholesky factor.
    info : Tensor, shape ``(...)``, int
        Zero where the factorisation succeeded.

    Notes
    -----
    Wraps ``torch.linalg.cholesky_ex`` ([1]_); counted in the cost model of [2]_, Tables 1 and 2.

    References
    ----------
    .. [1] PyTorch documentation, ``torch.linalg.cholesky_ex``, https://pytorch.org/docs/stable/.
    .. [2] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Tables 1 and 2 (costs counted in matrix multiplications and inverses).
    """
    record("cholesky")
    return torch.linalg.cholesky_ex(a)


def cholesky_solve(b: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """Solve ``(L L^T) X = b`` by two triangular solves, counted as one solve.

    Parameters
    ----------
    b : Tensor, shape ``(..., n, k)``
    L : Tensor, shape ``(..., n, n)``
        Lower Cholesky factor.

    Returns
    -------
    Tensor, shape ``(..., n, k)``

    Notes
    -----
    Wraps ``torch.cholesky_solve`` ([1]_); counted in the cost model of [2]_, Tables 1 and 2.

    References
    ----------
    .. [1] PyTorch documentation, ``torch.cholesky_solve``, https://pytorch.org/docs/stable/.
    .. [2] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Tables 1 and 2 (costs counted in matrix multiplications and inverses).
    """
    record("solve")
    return torch.cholesky_solve(b, L)


def eigh(a: torch.Tensor):
    """``torch.linalg.eigh(a)``, counted.

    Parameters
    ----------
    a : Tensor, shape ``(..., n, n)``
        Symmetric.

    Returns
    -------
    eigenvalues : Tensor, shape ``(..., n)``
    eigenvectors : Tensor, shape ``(..., n, n)``

    Notes
    -----
    Wraps ``torch.linalg.eigh`` ([1]_); counted in the cost model of [2]_, Tables 1 and 2.

    References
    ----------
    .. [1] PyTorch documentation, ``torch.linalg.eigh``, https://pytorch.org/docs/stable/.
    .. [2] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Tables 1 and 2 (costs counted in matrix multiplications and inverses).
    """
    record("eigh")
    return torch.linalg.eigh(a)


# --------------------------------------------------------------------------------------------------
# Counting at the dispatcher (autograd's own kernels included)
# --------------------------------------------------------------------------------------------------

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

    The counter is a dispatch mode ([1]_); the categories follow the cost model of [2]_, Tables 1 and 2.

    References
    ----------
    .. [1] PyTorch documentation, "Extending PyTorch: Extending all torch API with Modes"
       (``__torch_dispatch__`` and ``TorchDispatchMode``), https://pytorch.org/docs/stable/notes/extending.html.
    .. [2] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Tables 1 and 2 (costs counted in matrix multiplications and inverses).
    """
    mode = _AtenCounter()
    counts = mode.counts
    with mode:
        yield counts
    counts.raw = mode.raw  # type: ignore[attr-defined]


def count_forward_backward(
    fn: Callable[[torch.Tensor], torch.Tensor], A: torch.Tensor, G: torch.Tensor
) -> Tuple[Counter, Counter]:
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

    Notes
    -----
    Forward and backward costs are tabulated separately in [1]_ (Tables 1 and 2).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Tables 1 and 2 (costs counted in matrix multiplications and inverses).
    """
    X = A.detach().clone().requires_grad_(True)
    with count_aten_ops() as forward:
        out = fn(X)
    with count_aten_ops() as backward:
        torch.autograd.grad(out, X, G)
    return forward, backward
