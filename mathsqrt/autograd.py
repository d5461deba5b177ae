"""The only module that defines ``torch.autograd.Function`` classes.

:class:`MatrixSquareRoot` runs a forward method from :mod:`mathsqrt.forward` without recording a
graph and hands the incoming gradient to a backward method from :mod:`mathsqrt.backward`. Nothing
saved for backward is ever modified. :class:`AllReduceSum` is the differentiable all-reduce behind
the synchronised batch statistics of :class:`mathsqrt.nn.ZCAWhitening`.
"""

from __future__ import annotations

from typing import Callable, Dict, Tuple

import torch
from torch.autograd.function import once_differentiable

from .backward import Saved

__all__ = ["MatrixSquareRoot", "AllReduceSum"]

ForwardFn = Callable[[torch.Tensor], Tuple[torch.Tensor, Dict[str, torch.Tensor]]]
BackwardFn = Callable[[torch.Tensor, Saved], torch.Tensor]


class MatrixSquareRoot(torch.autograd.Function):
    """``A -> A^{1/2}`` or ``A^{-1/2}`` with a forward and a backward method chosen independently.

    ``apply(A, forward_fn, inverse, backward_fn, name)``: ``forward_fn(A)`` returns ``(out, aux)``,
    ``aux`` a dict of tensors kept for the backward (``"U"``/``"lam"`` for the eigendecomposition,
    whatever an adjoint reuses); ``backward_fn(G, saved)`` returns the gradient
    (both come from a :class:`mathsqrt.methods.Plan`); ``name`` names the backward in messages.
    The backward is differentiable once: differentiating it again raises a ``RuntimeError``.
    """

    @staticmethod
    def forward(ctx, A: torch.Tensor, forward_fn: ForwardFn, inverse: bool, backward_fn: BackwardFn, name: str):
        out, aux = forward_fn(A)
        ctx.inverse = inverse
        ctx.backward_fn = backward_fn
        ctx.backward_name = name
        ctx.aux_keys = tuple(aux)
        ctx.save_for_backward(A, out, *aux.values())
        return out

    @staticmethod
    def backward(ctx, G: torch.Tensor):
        A, out, *values = ctx.saved_tensors
        aux = dict(zip(ctx.aux_keys, values))
        saved = Saved(A=A, out=out, inverse=ctx.inverse, U=aux.pop("U", None), lam=aux.pop("lam", None), aux=aux)
        with torch.no_grad():
            X = ctx.backward_fn(G, saved)
        if torch.is_grad_enabled():  # backward with create_graph=True
            X = _FirstOrderOnly.apply(X, A, G, ctx.backward_name)
        return X, None, None, None, None


class _FirstOrderOnly(torch.autograd.Function):
    """Identity on ``X`` that ties it to ``A`` and ``G`` in the graph and refuses to be differentiated.

    The custom backward passes are not differentiable. Under ``create_graph=True`` their result is
    routed through this node, so that any second derivative through them raises a clear error,
    instead of torch's "appears to not have been used in the graph" or a silently missing term (the
    gradient depends on ``A`` even when the incoming ``G`` is a constant).
    """

    @staticmethod
    def forward(ctx, X: torch.Tensor, A: torch.Tensor, G: torch.Tensor, name: str):
        ctx.name = name
        return X.clone()

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(
            f"mathsqrt: backward={ctx.name!r} is differentiable once only; a second derivative "
            "(double backward through create_graph=True) needs backward='autograd', which "
            "differentiates through the forward computation itself"
        )


class AllReduceSum(torch.autograd.Function):
    r"""Differentiable ``torch.distributed.all_reduce(SUM)``: :math:`y = \sum_p x_p` on every process.

    ``apply(x, group)``. With the total loss :math:`\sum_p l_p(y)` (each process back-propagates
    its own loss), :math:`\partial / \partial x_q = \sum_p \partial l_p/\partial y`: the backward
    pass is the same all-reduce applied to the incoming gradient, as in
    ``torch.nn.SyncBatchNorm``. Every process of ``group`` must call forward and backward.
    The input is not modified (the reduction works on a copy).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, group):
        import torch.distributed as dist

        ctx.group = group
        out = x.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(out, op=dist.ReduceOp.SUM, group=group)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):
        import torch.distributed as dist

        grad = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(grad, op=dist.ReduceOp.SUM, group=ctx.group)
        return grad, None
