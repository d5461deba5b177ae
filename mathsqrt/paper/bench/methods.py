r"""What the benchmark times: a thin adapter over the method table :mod:`mathsqrt.methods`.

A :class:`BenchMethod` is a configuration of :data:`mathsqrt.methods.CONFIGURATIONS` (or any other
compatible forward + backward pair, named by :func:`mathsqrt.paper.plotting.pair_name`), with
optional settings (``degree=6``...) and a display label. Its :attr:`~BenchMethod.name` is the
configuration's name, used as the key of every row the benchmark writes; its
:attr:`~BenchMethod.label` is what tables and figures show (``"MPA-Lya"``, or ``"MTP K=6"`` for a
setting of a sweep).

Selections are read from the table, never typed: :func:`configurations` (the table's
configurations; the paper's baselines optional, see :func:`is_baseline`) and :func:`combinations`
(every compatible forward × backward pair).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple, Union

import torch

from mathsqrt import methods
from mathsqrt.api import sqrtm

from ..plotting import configuration_label, pair_name

__all__ = ["BenchMethod", "is_baseline", "configurations", "combinations", "configuration_of"]


@dataclass(frozen=True)
class BenchMethod:
    """One forward + backward pairing with its settings, as the benchmark runs it.

    Attributes
    ----------
    name : str
        Configuration name (``"mpa-lya"``) or ``"forward/backward"`` for a pair that is none.
    method, backward : str
        Keys of :data:`mathsqrt.methods.FORWARDS` and :data:`mathsqrt.methods.BACKWARDS`.
    options : tuple of (str, object)
        Keywords of :func:`mathsqrt.sqrtm` (``degree``, ``iters``, ``backward_iters``, ...).
    label : str
        Display label, unique within a sweep (default: the configuration's label).
    """

    name: str
    method: str
    backward: str
    options: Tuple[Tuple[str, object], ...] = ()
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", configuration_label(self.name))

    @classmethod
    def configuration(
        cls, name: Union[str, methods.Configuration], label: Optional[str] = None, **options
    ) -> "BenchMethod":
        """A configuration of the table, its own options updated by ``options``.

        Parameters
        ----------
        name : str or Configuration
            A key (or an entry) of :data:`mathsqrt.methods.CONFIGURATIONS`.
        label : str, optional
            Display label (default the configuration's).
        **options
            Keywords of :func:`mathsqrt.sqrtm`, validated by :func:`mathsqrt.methods.resolve`.
        """
        config = name if isinstance(name, methods.Configuration) else methods.configuration(name)
        merged = dict(config.options, **options)
        methods.resolve(config.method, config.backward, **merged)
        return cls(config.name, config.method, config.backward, tuple(merged.items()), label or config.label)

    @classmethod
    def pair(cls, forward: str, backward: str, label: Optional[str] = None, **options) -> "BenchMethod":
        """Any compatible forward + backward pair, named by :func:`~mathsqrt.paper.plotting.pair_name`."""
        methods.resolve(forward, backward, **options)
        return cls(pair_name(forward, backward), forward, backward, tuple(options.items()), label or "")

    def kwargs(self) -> dict:
        """Keywords of :func:`mathsqrt.sqrtm`."""
        return dict(method=self.method, backward=self.backward, **dict(self.options))

    def option(self, key: str, default=None):
        """The value of option ``key``, or ``default`` when not set."""
        return dict(self.options).get(key, default)

    def settings(self) -> dict:
        """Every option keyword with its effective value: given, or the table's default.

        The iteration count of an iterative Lyapunov solver (a backward taking both ``backward_iters``
        and ``backward_tol``), whose table default is "the solver's own", is reported as
        :data:`mathsqrt.backward.DEFAULT_ITERS` when no tolerance is set.
        """
        from mathsqrt.backward import DEFAULT_ITERS

        out = {}
        bwd = methods.backward_method(self.backward)
        iterative = {"backward_iters", "backward_tol"} <= {o.keyword for o in bwd.options}
        for option in methods.forward_method(self.method).options + bwd.options:
            value = self.option(option.keyword, option.default)
            if (
                value is None
                and option.keyword == "backward_iters"
                and iterative
                and self.option("backward_tol") is None
            ):
                value = DEFAULT_ITERS
            if value is not None:
                out[option.keyword] = option.validate(value)
        return out

    def apply(self, A: torch.Tensor) -> torch.Tensor:
        """:math:`A^{1/2}` for ``A`` of shape ``(..., n, n)`` (no input checks: they would be timed)."""
        return sqrtm(A, check_finite=False, **self.kwargs())

    def fp(self, A: torch.Tensor) -> Callable[[], None]:
        """A callable timing the forward pass only, under ``torch.no_grad()`` (no graph recorded)."""

        def run() -> None:
            with torch.no_grad():
                self.apply(A)

        return run

    def fpbp(self, A: torch.Tensor, G: torch.Tensor) -> Callable[[], None]:
        """A callable timing FP+BP: ``self.apply(A)`` then ``torch.autograd.grad`` with incoming gradient ``G``."""
        X = A.detach().clone().requires_grad_(True)

        def run() -> None:
            torch.autograd.grad(self.apply(X), X, G)

        return run

    def bp(self, A: torch.Tensor, G: torch.Tensor) -> Callable[[], None]:
        """A callable timing BP only: the graph is built once (untimed), the backward replayed (``retain_graph``)."""
        X = A.detach().clone().requires_grad_(True)
        out = self.apply(X)

        def run() -> None:
            torch.autograd.grad(out, X, G, retain_graph=True)

        return run


def is_baseline(config: methods.Configuration) -> bool:
    """Whether a configuration is one of the paper's baselines rather than a square root with its own gradient.

    From the table: its forward is not a square root (``root`` false: PI), or its backward differentiates
    the eigendecomposition only (``forwards`` set: SVD-Taylor, SVD-Padé, SVD-PI).
    """
    return (
        not methods.forward_method(config.method).root or methods.backward_method(config.backward).forwards is not None
    )


def configurations(*, baselines: bool = True) -> List[BenchMethod]:
    """Every configuration of :data:`mathsqrt.methods.CONFIGURATIONS`, in table order, at its defaults.

    Parameters
    ----------
    baselines : bool
        Include the paper's baselines (:func:`is_baseline`).
    """
    return [BenchMethod.configuration(c) for c in methods.CONFIGURATIONS.values() if baselines or not is_baseline(c)]


def combinations() -> List[BenchMethod]:
    """Every compatible forward × backward pair of the table (:func:`mathsqrt.methods.combinations`), at defaults."""
    return [BenchMethod.pair(f, b) for f, b in methods.combinations()]


def configuration_of(forward: str) -> methods.Configuration:
    """The configuration of the table built on ``forward``: the first one, in table order.

    ``"mpa" -> "mpa-lya"``, ``"ns" -> "ns"``, ``"eigh" -> "svd"``: the paper's pairing for each of its
    forwards, since the table lists the paper's configurations first.

    Raises
    ------
    ValueError
        No configuration uses ``forward``.
    """
    for config in methods.CONFIGURATIONS.values():
        if config.method == forward:
            return config
    raise ValueError(f"no configuration of mathsqrt.methods.CONFIGURATIONS uses method={forward!r}")
