r"""The method table: every forward method, backward method and named configuration, in one place.

Everything that needs a list of methods reads it: :func:`mathsqrt.sqrtm` / :func:`mathsqrt.invsqrtm`
(validation and dispatch), the layers of :mod:`mathsqrt.nn`, :mod:`mathsqrt.transfer`, and the
teaching/benchmark harness in :mod:`mathsqrt.paper` (benchmarks, studies, figures, widgets, labels and
colours). Adding a method is one entry below plus its function; the parametrised tests of
``tests/test_methods.py`` then run it with every compatible partner.

Three tables:

:data:`FORWARDS`
    ``name -> ForwardMethod``: ``A -> A^{±1/2}`` (MPA, MTP, NS, eigh, and the PI baseline).
:data:`BACKWARDS`
    ``name -> BackwardMethod``: ``(G, saved) -> ∂l/∂A`` (Lyapunov, eigh, autograd, ...).
:data:`CONFIGURATIONS`
    ``name -> Configuration``: a forward paired with a backward under **one** name used everywhere
    (``"mpa-lya"`` is the paper's *MPA-Lya*, ``"svd"`` its *SVD*: eigh differentiated by autograd).

Each entry carries its option schema (:class:`Option`: API keyword, function parameter, kind,
default, bounds), its label in the paper's words and its colour.

Examples
--------
>>> from mathsqrt import methods
>>> methods.configuration("mpa-lya").kwargs()
{'method': 'mpa', 'backward': 'lyapunov-ns'}
>>> [o.keyword for o in methods.forward_method("mpa").options]
['degree']
>>> methods.configuration("svd").label
'SVD'
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from . import adjoint as adj
from . import backward as bw
from . import baselines, scaled
from . import forward as fw
from ._kernels import check_int, check_real

__all__ = [
    "Option",
    "ForwardMethod",
    "BackwardMethod",
    "Configuration",
    "Plan",
    "FORWARDS",
    "BACKWARDS",
    "CONFIGURATIONS",
    "API_KEYWORDS",
    "forward_method",
    "backward_method",
    "configuration",
    "resolve",
    "compatible",
    "combinations",
]


# --------------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One keyword option of a method.

    Attributes
    ----------
    keyword : str
        Keyword of :func:`mathsqrt.sqrtm` (e.g. ``"degree"``, ``"backward_iters"``).
    param : str
        Keyword of the method's function it is passed as (e.g. ``"iters"``).
    kind : {"int", "degree", "tol"}
        ``"int"``: an integer in ``[minimum, maximum]``; ``"degree"``: an int ``K`` or a pair
        ``(m, n)`` of such integers; ``"tol"``: a positive finite real.
    default : object
        Used when the keyword is not given; ``None`` leaves the function's own default.
    minimum, maximum : int, optional
        Bounds for the integer kinds.
    aliases : tuple of str
        Older keywords still accepted, with a ``DeprecationWarning``.
    doc : str
        One line for docstrings and error messages.

    Notes
    -----
    The defaults are the paper's ([1]_, Sec. 3.1.2 and appendix A.5).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Sec. 3.1.2, Table 6 and appendix A.5.
    """

    keyword: str
    param: str
    kind: str
    default: Any = None
    minimum: int = 0
    maximum: Optional[int] = None
    aliases: Tuple[str, ...] = ()
    doc: str = ""

    def validate(self, value, keyword: Optional[str] = None):
        """``value`` checked and normalised (``degree`` ``K`` becomes ``(K, K)``), or an error naming it."""
        name = keyword or self.keyword
        if self.kind == "int":
            return check_int(name, value, self.minimum, self.maximum)
        if self.kind == "degree":
            if isinstance(value, tuple) and len(value) == 2:
                return (
                    check_int(f"{name}[0] (numerator degree m)", value[0], self.minimum, self.maximum),
                    check_int(f"{name}[1] (denominator degree n)", value[1], self.minimum, self.maximum),
                )
            if isinstance(value, (tuple, list)):
                raise ValueError(f"{name} must be an int K or a pair (m, n), got {value!r}")
            K = check_int(name, value, self.minimum, self.maximum)
            return (K, K)
        if self.kind == "tol":
            return check_real(name, value, positive=True)
        raise AssertionError(f"unknown option kind {self.kind!r}")  # pragma: no cover


@dataclass(frozen=True)
class ForwardMethod:
    """A forward method: ``function(A, *, inverse=False, **params)`` for ``A`` of shape ``(..., n, n)``.

    Attributes
    ----------
    name, label : str
        Key of :data:`FORWARDS` and the paper's name for it.
    function : callable
        Returns the result, or ``(result, U, lam)`` when ``eigen`` is true.
    options : tuple of Option
    color : str
        Colour (hex) of the method in every figure.
    summary : str
        One line for docstrings and tables.
    eigen : bool
        The function also returns the eigendecomposition ``(result, U, lam)``, kept for the backward.
    adjoint : callable, optional
        The exact derivative of the computed forward, ``adjoint(G, saved, **params)``
        (:mod:`mathsqrt.adjoint`). When set, the function accepts ``return_aux=True`` and then returns
        ``(result, dict of tensors)``: the intermediates the adjoint reuses.
    root : bool
        The result is the square root (up to the method's own error). ``False`` for a baseline that
        only approximates it; such a method must be differentiated by ``backward="autograd"``.

    Notes
    -----
    The forward methods and their labels are those of [1]_ (Table 1).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Tables 1–4 and appendix A.4 (the methods, their costs and their names).
    """

    name: str
    function: Callable
    options: Tuple[Option, ...]
    label: str
    color: str
    summary: str
    eigen: bool = False
    adjoint: Optional[Callable] = None
    root: bool = True


@dataclass(frozen=True)
class BackwardMethod:
    """A backward method: ``function(G, saved, **params) -> ∂l/∂A`` (see :class:`mathsqrt.backward.Saved`).

    Attributes
    ----------
    name, label : str
    function : callable or None
        ``None`` for ``"autograd"``: differentiate through the forward computation itself.
    options : tuple of Option
    color, summary : str
    forwards : tuple of str, optional
        The forward methods it can follow (``None``: every forward whose ``root`` is true).
    symmetrised : bool
        Returns the symmetrised gradient instead of the package's unsymmetrised convention.
    exact : bool
        Exact (to rounding) for the computed output, with no truncation of its own.
    needs_aux : bool
        Differentiates the forward's own computation from its intermediates (``saved.aux``), through
        the forward's ``adjoint``: it can follow only forwards that have one.
    of_computation : bool
        Returns the derivative of the computed forward (as finite differences of it would), rather
        than the gradient of the exact square root at the computed output.

    Notes
    -----
    The backward methods and their labels are those of [1]_ (Table 2 and appendix A.4).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Tables 1–4 and appendix A.4 (the methods, their costs and their names).
    """

    name: str
    function: Optional[Callable]
    options: Tuple[Option, ...]
    label: str
    color: str
    summary: str
    forwards: Optional[Tuple[str, ...]] = None
    symmetrised: bool = False
    exact: bool = False
    needs_aux: bool = False
    of_computation: bool = False


@dataclass(frozen=True)
class Configuration:
    """A forward + backward pairing with one name used by every table, figure, study and widget.

    Attributes
    ----------
    name : str
        Key of :data:`CONFIGURATIONS` (``"mpa-lya"``).
    method, backward : str
        Keys of :data:`FORWARDS` and :data:`BACKWARDS`.
    options : tuple of (str, object)
        Extra keywords of :func:`mathsqrt.sqrtm` (empty: the methods' defaults).
    label : str
        The paper's name (``"MPA-Lya"``).
    color, marker, linestyle : str
        Plot style: every configuration is distinguishable without colour too.
    paper : bool
        One of the methods the paper compares.
    summary : str

    Notes
    -----
    The names follow the paper's pairings, e.g. *MPA-Lya* ([1]_, Tables 3–4).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Tables 1–4 and appendix A.4 (the methods, their costs and their names).
    """

    name: str
    method: str
    backward: str
    label: str
    color: str
    marker: str
    linestyle: str
    summary: str
    paper: bool = True
    options: Tuple[Tuple[str, Any], ...] = ()

    def kwargs(self) -> Dict[str, Any]:
        """Keywords of :func:`mathsqrt.sqrtm` / :func:`mathsqrt.invsqrtm` for this configuration."""
        return dict(method=self.method, backward=self.backward, **dict(self.options))

    @property
    def style(self) -> Dict[str, str]:
        """Matplotlib keywords: ``color``, ``marker``, ``linestyle``, ``label``."""
        return dict(color=self.color, marker=self.marker, linestyle=self.linestyle, label=self.label)


def _table(*entries) -> Mapping[str, Any]:
    table = {}
    for entry in entries:
        if entry.name in table:
            raise ValueError(f"duplicate method name {entry.name!r}")  # pragma: no cover
        table[entry.name] = entry
    return MappingProxyType(table)


# --------------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------------

# Okabe & Ito's colour-blind-safe palette, then Paul Tol's purple and teal for the rest.
_BLUE, _GREEN, _VERMILLION, _BLACK = "#0072B2", "#009E73", "#D55E00", "#000000"
_PINK, _ORANGE, _SKY, _GREY, _PURPLE, _TEAL = "#CC79A7", "#E69F00", "#56B4E9", "#999999", "#882255", "#44AA99"
_INDIGO, _ROSE, _OLIVE = "#332288", "#CC6677", "#999933"

#: Forward methods, by name.
FORWARDS: Mapping[str, ForwardMethod] = _table(
    ForwardMethod(
        "mpa",
        fw.mpa,
        (Option("degree", "degree", "degree", (5, 5), doc="K for the diagonal [K/K] approximant, or (m, n)"),),
        "MPA",
        _BLUE,
        "matrix Padé approximant [m/n] (paper Eq. 13), one Cholesky solve",
        adjoint=adj.mpa_adjoint,
    ),
    ForwardMethod(
        "mtp",
        fw.mtp,
        (Option("degree", "degree", "int", 11, doc="Taylor degree K"),),
        "MTP",
        _GREEN,
        "matrix Taylor polynomial of degree K (paper Eq. 10)",
        adjoint=adj.mtp_adjoint,
    ),
    ForwardMethod(
        "ns",
        fw.newton_schulz,
        (Option("iters", "iters", "int", 5, minimum=1, doc="Newton–Schulz iterations T"),),
        "NS",
        _VERMILLION,
        "coupled Newton–Schulz iteration (paper Eq. 4)",
        adjoint=adj.ns_adjoint,
    ),
    ForwardMethod(
        "ns-scaled",
        scaled.ns_scaled_forward,
        (
            Option("iters", "iters", "int", None, minimum=1, doc="steps (default: as many as the schedule needs)"),
            Option("tol", "tol", "tol", None, doc="relative accuracy per matrix (stops each matrix on its own)"),
        ),
        "NS (scaled)",
        _ROSE,
        "coupled Newton–Schulz with optimal per-step quintics (Polar Express) and λ_max scaling",
    ),
    ForwardMethod("eigh", fw.eigh_forward, (), "eigh", _BLACK, "eigendecomposition (torch.linalg.eigh)", eigen=True),
    ForwardMethod(
        "pi",
        baselines.power_iteration_sqrtm,
        (Option("iters", "iters", "int", 1, minimum=1, doc="power iterations"),),
        "PI",
        _GREY,
        "So-ViT's dominant-eigenpair power iteration: a normalisation baseline, not a square root",
        root=False,
    ),
)

_SVD_ONLY = ("eigh",)

#: Backward methods, by name.
BACKWARDS: Mapping[str, BackwardMethod] = _table(
    BackwardMethod(
        "lyapunov",
        bw.grad_lyapunov,
        (
            Option("backward_iters", "iters", "int", None, minimum=1, doc="sign-iteration steps (default 8)"),
            Option("backward_tol", "tol", "tol", None, doc="stop each matrix once ||B_k - I||_F <= backward_tol"),
        ),
        "Lya",
        _BLUE,
        "optimally scaled matrix-sign solver of the Lyapunov equation (Chen & Chow cubics), 6 matmuls/step",
    ),
    BackwardMethod(
        "lyapunov-ns",
        bw.grad_lyapunov_ns,
        (
            Option(
                "backward_iters",
                "iters",
                "int",
                None,
                minimum=1,
                doc="Lyapunov iterations (default 8; 60 with backward_tol)",
            ),
            Option("backward_tol", "tol", "tol", None, doc="stop once ||B_k - I||_F <= backward_tol for every matrix"),
        ),
        "Lya (NS)",
        _SKY,
        "the paper's Newton–Schulz matrix-sign solver of the Lyapunov equation (paper Eq. 20–22)",
    ),
    BackwardMethod("eigh", bw.grad_eigh, (), "eigh", _PURPLE, "exact Lyapunov solution in the eigenbasis", exact=True),
    BackwardMethod(
        "autograd", None, (), "autograd", _BLACK, "autograd through the forward computation", of_computation=True
    ),
    BackwardMethod(
        "adjoint",
        adj.grad_adjoint,
        (),
        "adjoint",
        _TEAL,
        "exact derivative of the computed forward, by hand from its intermediates (no autograd tape)",
        exact=True,
        needs_aux=True,
        of_computation=True,
    ),
    BackwardMethod(
        "bartels-stewart",
        bw.grad_bartels_stewart,
        (),
        "Bartels–Stewart",
        _GREY,
        "scipy's Bartels–Stewart Lyapunov solver (CPU, float64, slow): the reference",
        exact=True,
    ),
    BackwardMethod(
        "svd-taylor",
        baselines.grad_svd_taylor,
        (
            Option(
                "backward_degree",
                "degree",
                "int",
                baselines.DEFAULT_TAYLOR_DEGREE,
                aliases=("backward_iters",),
                doc="Taylor degree K of the geometric series for 1/(λ_i − λ_j)",
            ),
        ),
        "SVD-Taylor",
        _PINK,
        "eigendecomposition gradient with K truncated to a Taylor series (paper A.4)",
        forwards=_SVD_ONLY,
        symmetrised=True,
    ),
    BackwardMethod(
        "svd-pade",
        baselines.grad_svd_pade,
        (
            Option(
                "backward_degree",
                "degree",
                "int",
                baselines.DEFAULT_PADE_DEGREE,
                minimum=1,
                aliases=("backward_iters",),
                doc="Padé degree n of [n/n]",
            ),
        ),
        "SVD-Padé",
        _ORANGE,
        "eigendecomposition gradient with K in Padé form (exact; ties guarded)",
        forwards=_SVD_ONLY,
        symmetrised=True,
    ),
    BackwardMethod(
        "svd-pi",
        baselines.grad_svd_pi,
        (Option("backward_iters", "iters", "int", baselines.DEFAULT_PI_ITERS, minimum=1, doc="power iterations"),),
        "SVD-PI",
        _SKY,
        "eigendecomposition gradient through deflated power iterations",
        forwards=_SVD_ONLY,
        symmetrised=True,
    ),
)

#: Named forward + backward pairings (one name everywhere: benchmarks, studies, figures, widgets).
CONFIGURATIONS: Mapping[str, Configuration] = _table(
    Configuration("mpa-lya", "mpa", "lyapunov-ns", "MPA-Lya", _BLUE, "o", "-", "MPA [5/5] + 8 Lyapunov iterations"),
    Configuration(
        "mtp-lya", "mtp", "lyapunov-ns", "MTP-Lya", _GREEN, "s", "-", "MTP degree 11 + 8 Lyapunov iterations"
    ),
    Configuration(
        "ns", "ns", "autograd", "NS", _VERMILLION, "^", "-", "5 coupled NS iterations, differentiated by autograd"
    ),
    Configuration(
        "svd",
        "eigh",
        "autograd",
        "SVD",
        _BLACK,
        "D",
        "-",
        "eigh with torch's eigendecomposition gradient (paper Eq. 2)",
    ),
    Configuration(
        "eigh",
        "eigh",
        "eigh",
        "eigh (exact)",
        _PURPLE,
        "v",
        "--",
        "eigh with the exact eigenbasis Lyapunov solution",
        paper=False,
    ),
    Configuration("svd-taylor", "eigh", "svd-taylor", "SVD-Taylor", _PINK, "<", ":", "eigh + Taylor-truncated K"),
    Configuration("svd-pade", "eigh", "svd-pade", "SVD-Padé", _ORANGE, ">", "-.", "eigh + Padé-form K"),
    Configuration("svd-pi", "eigh", "svd-pi", "SVD-PI", _SKY, "p", ":", "eigh + power-iteration gradient"),
    Configuration("pi", "pi", "autograd", "PI", _GREY, "x", "--", "So-ViT's power-iteration normalisation"),
    Configuration(
        "mpa-lya-opt",
        "mpa",
        "lyapunov",
        "MPA-Lya (scaled)",
        _INDIGO,
        "o",
        "--",
        "MPA [5/5] + 8 optimally scaled Lyapunov steps (the package's default)",
        paper=False,
    ),
    Configuration(
        "mpa-adjoint",
        "mpa",
        "adjoint",
        "MPA-adjoint",
        _TEAL,
        "*",
        "-",
        "MPA [5/5] + its exact adjoint (9 matmuls, one solve)",
        paper=False,
    ),
    Configuration(
        "ns-scaled",
        "ns-scaled",
        "lyapunov",
        "NS (scaled)",
        _ROSE,
        "h",
        "-",
        "Polar Express coupled NS to full accuracy + scaled Lyapunov",
        paper=False,
    ),
)

#: Every option keyword of :func:`mathsqrt.sqrtm` that a method may take, in signature order.
API_KEYWORDS = ("degree", "iters", "tol", "backward_iters", "backward_tol", "backward_degree")


# --------------------------------------------------------------------------------------------------
# Look-up and validation
# --------------------------------------------------------------------------------------------------


def _lookup(table: Mapping[str, Any], kind: str, name) -> Any:
    if not isinstance(name, str):
        raise TypeError(f"{kind} must be a string, got {type(name).__name__}")
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown {kind} {name!r}; choose one of {', '.join(map(repr, table))}") from None


def forward_method(name: str) -> ForwardMethod:
    """The :class:`ForwardMethod` called ``name``; ``ValueError`` listing the choices otherwise.

    Parameters
    ----------
    name : str
        A key of the table.

    Returns
    -------
    ForwardMethod

    Raises
    ------
    ValueError
        For an unknown name (the message lists the choices).

    Notes
    -----
    Names follow [1]_.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Tables 1–4 and appendix A.4 (the methods, their costs and their names).
    """
    return _lookup(FORWARDS, "method", name)


def backward_method(name: str) -> BackwardMethod:
    """The :class:`BackwardMethod` called ``name``; ``ValueError`` listing the choices otherwise.

    Parameters
    ----------
    name : str
        A key of the table.

    Returns
    -------
    BackwardMethod

    Raises
    ------
    ValueError
        For an unknown name (the message lists the choices).

    Notes
    -----
    Names follow [1]_.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Tables 1–4 and appendix A.4 (the methods, their costs and their names).
    """
    return _lookup(BACKWARDS, "backward", name)


def configuration(name: str) -> Configuration:
    """The :class:`Configuration` called ``name``; ``ValueError`` listing the choices otherwise.

    Parameters
    ----------
    name : str
        A key of the table.

    Returns
    -------
    Configuration

    Raises
    ------
    ValueError
        For an unknown name (the message lists the choices).

    Notes
    -----
    Names follow [1]_.

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Tables 1–4 and appendix A.4 (the methods, their costs and their names).
    """
    return _lookup(CONFIGURATIONS, "configuration", name)


def _accepted(options: Tuple[Option, ...]) -> str:
    return ", ".join(o.keyword for o in options) or "no options"


def _options(options: Tuple[Option, ...], given: Dict[str, Any], owner: str) -> Dict[str, Any]:
    """Validate the keywords of ``given`` that belong to ``options``; remove them from ``given``."""
    params = {}
    for option in options:
        value, keyword = given.pop(option.keyword, None), option.keyword
        for alias in option.aliases:
            if alias in given and value is None:
                value, keyword = given.pop(alias), alias
                warnings.warn(
                    f"{alias} for {owner} is deprecated: it is a {option.doc or option.keyword}; "
                    f"pass {option.keyword}= instead",
                    DeprecationWarning,
                    stacklevel=5,
                )
        if value is None:
            value = option.default
            if value is None:
                continue
        params[option.param] = option.validate(value, keyword)
    return params


@dataclass(frozen=True)
class Plan:
    """A validated forward + backward choice, ready to run.

    Attributes
    ----------
    forward : ForwardMethod
    forward_params : dict
        Keywords for ``forward.function`` (besides ``inverse``).
    backward : BackwardMethod
    backward_params : dict
        Keywords for ``backward.function``.

    Notes
    -----
    A plan pairs a forward of Algorithm 1 with a backward of Algorithm 2 of [1]_ (or a baseline).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Algorithms 1 and 2.
    """

    forward: ForwardMethod
    forward_params: Mapping[str, Any]
    backward: BackwardMethod
    backward_params: Mapping[str, Any]

    def forward_fn(self, inverse: bool) -> Callable:
        """``A -> (out, aux)``: the result and a dict of tensors kept for the backward.

        ``aux`` holds ``"U"`` and ``"lam"`` for an ``eigen`` forward, the forward's intermediates when
        the backward ``needs_aux``, and nothing otherwise.
        """
        params = dict(self.forward_params, inverse=inverse)
        if self.backward.needs_aux:
            params["return_aux"] = True
        fn = functools.partial(self.forward.function, **params)
        return functools.partial(_with_aux, fn, self.forward.eigen, self.backward.needs_aux)

    def backward_fn(self) -> Optional[Callable]:
        """``(G, saved) -> X``, or ``None`` for ``"autograd"``."""
        if self.backward.function is None:
            return None
        if self.backward.needs_aux:
            adjoint = functools.partial(self.forward.adjoint, **self.forward_params)
            return functools.partial(self.backward.function, adjoint=adjoint, **self.backward_params)
        return functools.partial(self.backward.function, **self.backward_params)


def _with_aux(fn: Callable, eigen: bool, aux: bool, A):
    result = fn(A)
    if eigen:
        out, U, lam = result
        return out, {"U": U, "lam": lam}
    if aux:
        return result
    return result, {}


def resolve(method: str, backward: Optional[str] = None, **given) -> Plan:
    """Validate a method, a backward and their options (keywords of :func:`mathsqrt.sqrtm`).

    Parameters
    ----------
    method, backward : str
        Keys of :data:`FORWARDS` and :data:`BACKWARDS`. ``backward=None`` is the default:
        ``"lyapunov"``, or ``"autograd"`` for a forward that is not a square root (``"pi"``).
    **given
        Keywords from :data:`API_KEYWORDS`; ``None`` means "not given" (the method's default).

    Returns
    -------
    Plan

    Raises
    ------
    TypeError
        A name that is not a string, or an option of the wrong type.
    ValueError
        An unknown name, an option out of range, an option the methods do not take, or a backward
        that cannot follow the forward.

    Notes
    -----
    The default pairs the Padé forward with a matrix-sign Lyapunov backward, as the paper's MPA-Lya
    does ([1]_).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Tables 1–4 and appendix A.4 (the methods, their costs and their names).
    """
    fwd = forward_method(method)
    if backward is None:
        backward = "lyapunov" if fwd.root else "autograd"
    bwd = backward_method(backward)
    given = {k: v for k, v in given.items() if v is not None}
    unknown = set(given) - set(API_KEYWORDS)
    if unknown:
        raise TypeError(f"unexpected keyword(s): {', '.join(sorted(unknown))}")
    forward_params = _options(fwd.options, given, f"method={method!r}")
    backward_params = _options(bwd.options, given, f"backward={backward!r}")
    if given:
        keyword = sorted(given)[0]
        forward_kw = {o.keyword for o in fwd.options}
        backward_kw = {o.keyword for o in bwd.options} | {a for o in bwd.options for a in o.aliases}
        for other in BACKWARDS.values():
            if keyword in {o.keyword for o in other.options} and keyword not in forward_kw | backward_kw:
                raise ValueError(
                    f"{keyword} does not apply to backward={backward!r} (which takes {_accepted(bwd.options)}); "
                    f"it is an option of backward={other.name!r}"
                )
        raise ValueError(f"{keyword} does not apply to method={method!r} (which takes {_accepted(fwd.options)})")
    if bwd.forwards is not None and method not in bwd.forwards:
        raise ValueError(
            f"backward={backward!r} differentiates the eigendecomposition: it needs "
            f"method={bwd.forwards[0]!r}, not {method!r}"
            if bwd.forwards == _SVD_ONLY
            else f"backward={backward!r} needs method in {bwd.forwards}, not {method!r}"
        )
    if bwd.needs_aux and fwd.adjoint is None:
        able = ", ".join(repr(f.name) for f in FORWARDS.values() if f.adjoint is not None)
        raise ValueError(
            f"backward={backward!r} differentiates the forward's own computation: it needs method in "
            f"({able}), not {method!r}"
        )
    if not compatible(method, backward):
        raise ValueError(
            f"method={method!r} ({fwd.summary}) is differentiated by backward='autograd' only, not {backward!r}"
        )
    return Plan(fwd, MappingProxyType(forward_params), bwd, MappingProxyType(backward_params))


def compatible(method: str, backward: str) -> bool:
    """Whether ``backward`` can follow ``method`` (both must be names in the table).

    Parameters
    ----------
    method, backward : str
        Keys of :data:`FORWARDS` and :data:`BACKWARDS`.

    Returns
    -------
    bool

    Notes
    -----
    The Lyapunov backward needs a square root, as in [1]_, Eq. (15).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Eq. (15) and appendix A.4.
    """
    fwd, bwd = forward_method(method), backward_method(backward)
    if bwd.forwards is not None and method not in bwd.forwards:
        return False
    if bwd.needs_aux and fwd.adjoint is None:
        return False
    return fwd.root or bwd.function is None


def combinations() -> Tuple[Tuple[str, str], ...]:
    """Every compatible ``(method, backward)`` pair of the table, in table order.

    Returns
    -------
    tuple of (str, str)

    Notes
    -----
    The paper compares such pairs in its Tables 3–4 ([1]_).

    References
    ----------
    .. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022, Tables 1–4 and appendix A.4 (the methods, their costs and their names).
    """
    return tuple((f, b) for f in FORWARDS for b in BACKWARDS if compatible(f, b))
