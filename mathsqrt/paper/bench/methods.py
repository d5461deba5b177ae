r"""The methods the benchmark compares, discovered from the package at run time.

A :class:`BenchMethod` is one forward method paired with one backward method, as the paper names
them (Song, Sebe & Wang 2022, Sec. 4): *MPA-Lya* = matrix Padé approximant forward + Lyapunov
(matrix-sign) backward, *MTP-Lya* = Taylor forward + Lyapunov backward, *NS* = coupled
Newton–Schulz differentiated through its iterations, *SVD* = eigendecomposition differentiated by
Eq. (2) (``eigh-autograd`` here), plus the exact eigenbasis backward (``eigh-exact``) and every
other backward registered in :data:`mathsqrt.api.BACKWARDS` /
:data:`mathsqrt.backward.BACKWARD_FUNCTIONS` (the SVD-Taylor / SVD-Padé / SVD-PI baselines, when
present), and the dominant-eigenpair ``PI`` baseline when :mod:`mathsqrt.baselines` provides one.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import torch

from mathsqrt import api
from mathsqrt.backward import BACKWARD_FUNCTIONS

__all__ = ["BenchMethod", "CORE_BACKWARDS", "discovered_backwards", "paper_methods", "baseline_methods", "main_methods", "all_combinations", "method_color"]

#: Backwards of the core package; anything else registered is treated as a baseline of ``eigh``.
CORE_BACKWARDS = ("lyapunov", "eigh", "autograd", "bartels-stewart")


@dataclass(frozen=True)
class BenchMethod:
    """One forward + backward pairing.

    Attributes
    ----------
    name : str
        Label in tables and figures (e.g. ``"MPA-Lya"``).
    method, backward : str
        Keywords of :func:`mathsqrt.sqrtm`.
    options : tuple of (str, object)
        Extra keywords (``degree``, ``iters``, ``backward_iters``).
    call : callable, optional
        Replaces :func:`mathsqrt.sqrtm` (for baselines outside the API, e.g. ``PI``).
    """

    name: str
    method: str
    backward: str
    options: Tuple[Tuple[str, object], ...] = ()
    call: Optional[Callable[[torch.Tensor], torch.Tensor]] = field(default=None, compare=False)

    def apply(self, A: torch.Tensor) -> torch.Tensor:
        """:math:`A^{1/2}` for ``A`` of shape ``(..., n, n)`` (no input checks: they would be timed)."""
        if self.call is not None:
            return self.call(A)
        return api.sqrtm(A, method=self.method, backward=self.backward, check_finite=False, **dict(self.options))

    def option(self, key: str, default=None):
        return dict(self.options).get(key, default)


def _label(backward: str) -> str:
    return "-".join(p.upper() if len(p) <= 3 else p.capitalize() for p in backward.split("-"))


def discovered_backwards() -> List[str]:
    """Every backward name the API accepts now (core ones first), in registration order."""
    names = list(api.BACKWARDS) + [b for b in BACKWARD_FUNCTIONS if b not in api.BACKWARDS]
    return names


def paper_methods() -> List[BenchMethod]:
    """MPA-Lya, MTP-Lya, NS and eigh (autograd Eq. (2) and exact eigenbasis backward) at the paper's defaults."""
    return [
        BenchMethod("MPA-Lya", "mpa", "lyapunov"),
        BenchMethod("MTP-Lya", "mtp", "lyapunov"),
        BenchMethod("NS", "ns", "autograd"),
        BenchMethod("eigh-autograd", "eigh", "autograd"),
        BenchMethod("eigh-exact", "eigh", "eigh"),
    ]


def _pi_baseline() -> Optional[BenchMethod]:
    try:
        baselines = importlib.import_module("mathsqrt.baselines")
    except ImportError:
        return None
    for name in ("power_iteration_sqrtm", "pi_sqrtm", "sqrtm_pi", "pi"):
        fn = getattr(baselines, name, None)
        if callable(fn):
            return BenchMethod("PI", "pi", "autograd", call=fn)
    return None


def baseline_methods() -> List[BenchMethod]:
    """The SVD baselines registered as backwards of ``eigh`` (SVD-Taylor, SVD-Padé, SVD-PI) and PI."""
    out = [BenchMethod(_label(b), "eigh", b) for b in discovered_backwards() if b not in CORE_BACKWARDS]
    pi = _pi_baseline()
    if pi is not None:
        out.append(pi)
    return out


def main_methods(*, baselines: bool = True) -> List[BenchMethod]:
    """:func:`paper_methods` followed by :func:`baseline_methods`."""
    return paper_methods() + (baseline_methods() if baselines else [])


def all_combinations() -> List[BenchMethod]:
    """Every forward method of :data:`mathsqrt.api.METHODS` with every backward (names ``"method/backward"``)."""
    return [BenchMethod(f"{m}/{b}", m, b) for m in api.METHODS for b in discovered_backwards()]


_COLOR_KEYS: Dict[str, str] = {"eigh-autograd": "svd", "eigh-exact": "eigh"}


def method_color(name: str) -> str:
    """Colour of a benchmark label in the house palette (:func:`mathsqrt.paper.plotting.method_color`)."""
    from ..plotting import method_color as base

    key = name.lower()
    return base(_COLOR_KEYS.get(key, key.replace("é", "e")))
