"""The only module that defines ``torch.autograd.Function`` classes.

:class:`MatrixSquareRoot` runs a forward method from :mod:`mathsqrt.forward` without recording a
graph and hands the incoming gradient to a backward method from :mod:`mathsqrt.backward` (through
:class:`_Gradient`). Nothing saved for backward is ever modified. :class:`VmapBridge` maps a whole
:func:`mathsqrt.sqrtm` call over :func:`torch.func.vmap` onto one batched call. :class:`AllReduceSum`
is the differentiable all-reduce behind the synchronised batch statistics of
:class:`mathsqrt.nn.ZCAWhitening`.

Function transforms (:mod:`torch.func`): the Functions use ``setup_context`` (required by
``grad``/``jacrev``) and define a ``vmap`` rule instead of a generated one. Their forward and backward
methods check their data (``bool(tensor)``), which a batched tensor cannot answer; since every method
is natively batched over leading dimensions, the rule simply moves the mapped dimension to the front
and calls the Function once on the real batch.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

import torch
from torch.autograd.function import once_differentiable

from ._kernels import no_autocast
from .backward import Saved

__all__ = ["MatrixSquareRoot", "VmapBridge", "AllReduceSum"]

ForwardFn = Callable[[torch.Tensor], Tuple[torch.Tensor, Dict[str, torch.Tensor]]]
BackwardFn = Callable[[torch.Tensor, Saved], torch.Tensor]


#: Intermediates of a forward (``aux``) shaped like the batch, ``(..., n, n)``, ``(..., n)`` or
#: ``(..., 1, 1)``; every other one is flattened over the batch, ``(-1, n, n)`` (see
#: :meth:`mathsqrt.methods.Plan.forward_fn`). The vmap rules keep both layouts consistent.
_BATCH_SHAPED = frozenset({"U", "lam", "norm"})


def _batch_first(t: Optional[torch.Tensor], dim: Optional[int], size: int) -> Optional[torch.Tensor]:
    """``t`` with its vmapped dimension ``dim`` moved to the front (expanded when it has none)."""
    if t is None:
        return None
    if dim is None:
        return t.expand(size, *t.shape)
    return t.movedim(dim, 0)


class MatrixSquareRoot(torch.autograd.Function):
    """``A -> A^{1/2}`` or ``A^{-1/2}`` with a forward and a backward method chosen independently.

    ``apply(A, forward_fn, inverse, backward_fn, name, checks)`` returns ``(out, keys, *values)``:
    ``forward_fn(A)`` returns ``(out, aux)``, ``aux`` a dict of tensors kept for the backward
    (``"U"``/``"lam"`` for the eigendecomposition, whatever an adjoint reuses), returned as the
    non-differentiable outputs ``values`` under the names ``keys`` (the pattern that
    :mod:`torch.func` needs for saved intermediates); ``backward_fn(G, saved)`` returns the gradient
    (both come from a :class:`mathsqrt.methods.Plan`); ``name`` names the backward in messages;
    ``checks`` (or ``None``) has ``before(A)`` and ``after(A, out)``, run on the real data around the
    forward (the value checks and the residual certificate of :mod:`mathsqrt.api`). Autocast is off
    inside, in both directions. The backward is differentiable once: differentiating it again raises
    a ``RuntimeError``.
    """

    @staticmethod
    def forward(A: torch.Tensor, forward_fn: ForwardFn, inverse: bool, backward_fn: BackwardFn, name: str, checks):
        with no_autocast(A.device.type):
            if checks is not None:
                checks.before(A)
            out, aux = forward_fn(A)
            if checks is not None:
                checks.after(A, out)
        # an intermediate that is the input or the output itself must not be marked non-differentiable
        values = (v.clone() if v is A or v is out else v for v in aux.values())
        return (out, tuple(aux), *values)

    @staticmethod
    def setup_context(ctx, inputs, output):
        A, _, inverse, backward_fn, name, _ = inputs
        out, keys, *values = output
        ctx.inverse = inverse
        ctx.backward_fn = backward_fn
        ctx.backward_name = name
        ctx.aux_keys = keys
        ctx.mark_non_differentiable(*values)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(A, out, *values)

    @staticmethod
    def backward(ctx, G: Optional[torch.Tensor], *_):
        if G is None:
            return None, None, None, None, None, None
        A, out, *values = ctx.saved_tensors
        X = _Gradient.apply(G, A, out, ctx.aux_keys, ctx.inverse, ctx.backward_fn, ctx.backward_name, *values)
        return X, None, None, None, None, None

    @staticmethod
    def vmap(info, in_dims, A, forward_fn, inverse, backward_fn, name, checks):
        size = info.batch_size
        A = _batch_first(A, in_dims[0], size)
        out, keys, *values = MatrixSquareRoot.apply(A, forward_fn, inverse, backward_fn, name, checks)
        # intermediates kept flattened over the batch, (size * k, n, n), are split as (size, k, n, n)
        values = [v if key in _BATCH_SHAPED else v.reshape(size, -1, *v.shape[1:]) for key, v in zip(keys, values)]
        return (out, keys, *values), (0, None) + (0,) * len(values)


class _Gradient(torch.autograd.Function):
    """``X = backward_fn(G, Saved(A, out, ...))``: the backward pass of :class:`MatrixSquareRoot`.

    ``apply(G, A, out, keys, inverse, backward_fn, name, *values)``, ``values`` the forward's
    intermediates named by ``keys``. A Function of its own for two reasons. Under
    ``create_graph=True`` it ties ``X`` to ``A`` and ``G`` in the graph and refuses to be
    differentiated, so that a second derivative raises a clear error (the custom backward passes are
    not differentiable) instead of torch's "appears to not have been used in the graph" or a silently
    missing term. And its ``vmap`` rule runs the backward method on the real batch
    (:func:`torch.func.jacrev` maps the backward over the rows of the Jacobian).
    """

    @staticmethod
    def forward(G, A, out, keys, inverse: bool, backward_fn: BackwardFn, name: str, *values):
        aux = dict(zip(keys, values))
        saved = Saved(A=A, out=out, inverse=inverse, U=aux.pop("U", None), lam=aux.pop("lam", None), aux=aux)
        with no_autocast(G.device.type), torch.no_grad():
            return backward_fn(G.to(out.dtype), saved)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.name = inputs[6]

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(
            f"mathsqrt: backward={ctx.name!r} is differentiable once only; a second derivative "
            "(double backward through create_graph=True) needs backward='autograd', which "
            "differentiates through the forward computation itself"
        )

    @staticmethod
    def vmap(info, in_dims, G, A, out, keys, inverse, backward_fn, name, *values):
        size = info.batch_size
        G, A, out = (_batch_first(t, d, size) for t, d in zip((G, A, out), in_dims[:3]))
        values = [_batch_first(v, d, size) for v, d in zip(values, in_dims[7:])]
        values = [v if key in _BATCH_SHAPED else v.reshape(-1, *v.shape[-2:]) for key, v in zip(keys, values)]
        return _Gradient.apply(G, A, out, keys, inverse, backward_fn, name, *values), 0


class VmapBridge(torch.autograd.Function):
    """``apply(A, call)``: ``call(A)`` for a tensor batched by :func:`torch.func.vmap`.

    Used by :mod:`mathsqrt.api` only when ``vmap`` is the innermost transform: the rule moves the
    mapped dimension to the front and runs the whole call (checks, forward, autograd graph) once on
    the real batch, which every function of the package accepts. Its own forward is the plain call
    and its backward is never reached: differentiation happens inside ``call``.
    """

    @staticmethod
    def forward(A: torch.Tensor, call: Callable[[torch.Tensor], torch.Tensor]):
        return call(A)

    @staticmethod
    def setup_context(ctx, inputs, output):
        pass

    @staticmethod
    def backward(ctx, grad):  # pragma: no cover - the vmap rule always answers first
        raise RuntimeError("mathsqrt: VmapBridge is only meant to be applied under torch.func.vmap")

    @staticmethod
    def vmap(info, in_dims, A, call):
        return call(_batch_first(A, in_dims[0], info.batch_size)), 0


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
