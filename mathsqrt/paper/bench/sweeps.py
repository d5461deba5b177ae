r"""The benchmark sweeps: the numerical tests of Song, Sebe & Wang (ICLR 2022), Sec. 4.1 and A.7–A.9.

Each sweep is a function ``sweep(cfg, progress) -> list of dict`` (one dict per CSV row); they are
registered in :data:`SWEEPS` under the name used by ``--sweeps``:

========== ======================================================================================
name       reproduces
========== ======================================================================================
batch      Fig. 2a: FP+BP time vs batch size (64×64), with the matmul floor
dimension  Fig. 2b, 2c and Table 8: FP+BP time and forward error vs dimension (batch 1)
forward    Fig. 1c: forward error vs forward time, MTP/MPA degree 6–18, NS 3–7 iterations
backward   Fig. 1d: backward time vs iterations, Lyapunov solver vs NS (autograd through NS)
degree     Table 5: MPA-Lya FP+BP time and error for [3/3]..[6/6]
lyapunov   Table 6: ‖B_k − I‖_F and ‖½C_k − X‖_F vs iterations k, and the time per k (and BS)
condition  Forward and gradient error vs condition number 10..1e6 (``random_spd``), float32/64
matrix     Every forward method × every backward: FP+BP time and gradient error
counts     Tables 1–2 by instrumentation: matmuls/solves of every method, forward and backward
headline   FP+BP at 1, 16, 64 × 64×64 and 1×256×256, ratios between methods and to the matmul floor
========== ======================================================================================

With ``--quick`` every size shrinks (64×64 becomes 32×32, fewer points and repeats): a smoke test,
not a measurement.

Conventions. Every row names its method by configuration (``method``: a key of
:data:`mathsqrt.methods.CONFIGURATIONS`, or ``"forward/backward"`` for another pair) and shows it by
``label`` (unique within a sweep: ``"MPA-Lya"``, ``"MTP K=6"``), with the ``forward``, ``backward``
and option columns. Times in milliseconds: ``time_ms`` is the median of round-robin repeats after a
warm-up and ``time_iqr_ms`` its inter-quartile range (:func:`mathsqrt.paper.timing.time_functions`).
Errors are against the float64 references of :mod:`mathsqrt.testing`. "MAE" is the paper's mean
absolute error; ``rel_err`` the per-matrix relative Frobenius error, averaged over the batch.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch

from mathsqrt import counting, methods
from mathsqrt.backward import lyapunov_eigenbasis, lyapunov_sign
from mathsqrt.counting import count_forward_backward
from mathsqrt.testing import gradient_reference, random_covariance, random_gradient, random_spd, sqrtm_reference

from .. import data
from ..plotting import pair_name
from ..timing import TimingResult, time_functions
from .methods import BenchMethod, combinations, configuration_of, configurations

__all__ = ["BenchConfig", "SWEEPS", "run_sweep", "make_inputs", "forward_errors", "gradient_error", "op_callables"]


@dataclass
class BenchConfig:
    """Settings shared by all sweeps.

    Attributes
    ----------
    device : torch.device
    dtype : torch.dtype
        Of the timed inputs (float32, as in the paper's GPU experiments).
    quick : bool
        Tiny sizes and few repeats (CI).
    repeats : int
        Maximum timed repeats per point (fewer when a point is slow, see ``budget_s``).
    min_repeats : int
        Minimum timed repeats per point.
    warmup : int
        Untimed calls per method before timing.
    budget_s : float
        Target wall time of the timed repeats of one point; sets the number of repeats.
    seed : int
        Seed of every input.
    """

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    dtype: torch.dtype = torch.float32
    quick: bool = False
    repeats: int = 25
    min_repeats: int = 3
    warmup: int = 2
    budget_s: float = 3.0
    seed: int = 0

    def sizes(self, full, quick):
        """``quick`` in quick mode, ``full`` otherwise."""
        return quick if self.quick else full

    @property
    def n(self) -> int:
        """The matrix size of the fixed-size sweeps: 64 as in the paper (32 with ``quick``)."""
        return 32 if self.quick else 64


# --------------------------------------------------------------------------------------------------
# inputs, errors, timing
# --------------------------------------------------------------------------------------------------


def make_inputs(
    cfg: BenchConfig,
    n: int,
    batch: int,
    *,
    family: str = "covariance",
    cond: float = 0.0,
    dtype=None,
    seed: Optional[int] = None,
):
    """Input batch ``A`` (``batch × n × n``), its float64 copy, an incoming gradient ``G`` and its float64 copy.

    ``family="covariance"``: :func:`mathsqrt.testing.random_covariance` (the paper's random
    covariance matrices, Sec. 4.1); ``family="spd"``: :func:`mathsqrt.testing.random_spd` with
    condition number ``cond``. ``G``: :func:`mathsqrt.testing.random_gradient` (unit Frobenius norm).
    """
    dtype = cfg.dtype if dtype is None else dtype
    seed = cfg.seed if seed is None else seed
    if family == "covariance":
        A64 = random_covariance(n, batch, seed=seed)
    elif family == "spd":
        A64 = random_spd(n, cond, batch, seed=seed)
    else:
        raise ValueError(f"unknown input family {family!r}; choose 'covariance' or 'spd'")
    G64 = random_gradient(n, batch, seed=seed + 1)
    return A64.to(device=cfg.device, dtype=dtype), A64, G64.to(device=cfg.device, dtype=dtype), G64


def _rel(err: torch.Tensor, ref: torch.Tensor) -> float:
    num = torch.linalg.matrix_norm(err.to(torch.float64))
    den = torch.linalg.matrix_norm(ref.to(torch.float64)).clamp_min(torch.finfo(torch.float64).tiny)
    return float((num / den).mean())


def forward_errors(out: torch.Tensor, S64: torch.Tensor) -> Dict[str, float]:
    """``mae`` (paper: mean absolute error) and ``rel_err`` (mean per-matrix relative Frobenius error)."""
    diff = out.detach().to("cpu", torch.float64) - S64
    return {"mae": float(diff.abs().mean()), "rel_err": _rel(diff, S64)}


def _sym(M: torch.Tensor) -> torch.Tensor:
    return 0.5 * (M + M.transpose(-2, -1))


def gradient_error(method: BenchMethod, A: torch.Tensor, G: torch.Tensor, X64: torch.Tensor) -> float:
    """Mean per-matrix relative Frobenius error of the gradient of ``method`` against ``X64``, symmetric parts.

    Only the symmetric part of a gradient acts on symmetric perturbations of ``A``; methods differ in the
    antisymmetric part they return (autograd through ``eigh`` reads one triangle of ``A``), so the
    symmetric parts are compared.
    """
    X = A.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(method.apply(X), X, G)
    return _rel(_sym(grad.detach().to("cpu", torch.float64)) - _sym(X64), _sym(X64))


#: Back-to-back calls per timed repeat of a primitive kernel (the floors use the time per call).
OP_REPEAT = 10


def op_callables(cfg: BenchConfig, n: int, batch: int) -> Dict[str, Callable[[], None]]:
    """Primitive kernels of the given shape, for the floors: one batched matmul (``torch.bmm``, the
    kernel itself), one Cholesky factorisation, one Cholesky solve and one eigendecomposition of
    ``batch × n × n``. Each callable runs its kernel :data:`OP_REPEAT` times back to back on the same
    operands (warm caches, as inside a method); divide its time by :data:`OP_REPEAT`."""
    A, _, G, _ = make_inputs(cfg, n, batch, seed=cfg.seed + 7)
    A = A + torch.eye(n, dtype=A.dtype, device=A.device)  # comfortably SPD in float32
    L = torch.linalg.cholesky(A)

    def repeat(fn):
        def run() -> None:
            for _ in range(OP_REPEAT):
                fn()

        return run

    return {
        "op:matmul": repeat(lambda: torch.bmm(A, G)),
        "op:cholesky": repeat(lambda: torch.linalg.cholesky_ex(A)),
        "op:solve": repeat(lambda: torch.cholesky_solve(G, L)),
        "op:eigh": repeat(lambda: torch.linalg.eigh(A)),
    }


def _timed(cfg: BenchConfig, fns: Mapping[str, Callable[[], None]]) -> Dict[str, TimingResult]:
    """:func:`mathsqrt.paper.timing.time_functions` with the settings of ``cfg``."""
    return time_functions(
        fns,
        device=cfg.device,
        budget_s=cfg.budget_s,
        min_repeats=min(cfg.min_repeats, cfg.repeats),
        max_repeats=cfg.repeats,
        warmup=max(cfg.warmup, 1),
    )


def _fmt(value) -> object:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return f"{value[0]}/{value[1]}"
    return value


def _method_cols(m: BenchMethod) -> Dict[str, object]:
    """``method`` (configuration name), ``label``, ``forward``, ``backward`` and one column per option keyword."""
    cols = {"method": m.name, "label": m.label, "forward": m.method, "backward": m.backward}
    cols.update({key: _fmt(m.option(key)) for key in methods.API_KEYWORDS})
    return cols


def _common(
    cfg: BenchConfig, sweep: str, n: int, batch: int, family: str = "covariance", cond: object = "", dtype=None
) -> Dict[str, object]:
    return {
        "sweep": sweep,
        "device": cfg.device.type,
        "dtype": str(dtype or cfg.dtype).replace("torch.", ""),
        "family": family,
        "cond": cond,
        "n": n,
        "batch": batch,
        "seed": cfg.seed,
    }


_COUNTED = ("matmul", "cholesky", "solve", "triangular_solve", "eigh", "svd", "inverse", "lu")


def _count(method: BenchMethod, A: torch.Tensor, G: torch.Tensor) -> Dict[str, int]:
    fw, bw = count_forward_backward(method.apply, A, G)
    return {f"fw_{k}": fw[k] for k in _COUNTED} | {f"bw_{k}": bw[k] for k in _COUNTED}


def _setting_label(option: methods.Option, value) -> str:
    """``"[3/3]"`` for a Padé degree, ``"K=6"`` for a Taylor degree, ``"T=5"`` for iterations."""
    if option.kind == "degree":
        return f"[{value}/{value}]"
    return f"K={value}" if option.keyword == "degree" else f"T={value}"


def _setting_grid(settings: Mapping[str, Sequence[int]]) -> List[BenchMethod]:
    """One :class:`BenchMethod` per forward and setting: the forward's first configuration, its one option set."""
    out = []
    for forward, values in settings.items():
        fwd = methods.forward_method(forward)
        (option,) = fwd.options
        config = configuration_of(forward)
        for v in values:
            value = (v, v) if option.kind == "degree" else v
            out.append(
                BenchMethod.configuration(
                    config, label=f"{fwd.label} {_setting_label(option, v)}", **{option.keyword: value}
                )
            )
    return out


# --------------------------------------------------------------------------------------------------
# the sweeps
# --------------------------------------------------------------------------------------------------


def sweep_batch(cfg: BenchConfig, progress) -> List[dict]:
    """Fig. 2a: FP+BP time vs batch size at 64×64, every configuration, with one matmul's time."""
    n = cfg.n
    rows = []
    bench = configurations()
    for batch in progress(cfg.sizes([1, 2, 4, 8, 16, 32, 64], [1, 4]), "batch"):
        A, _, G, _ = make_inputs(cfg, n, batch)
        fns = {m.label: m.fpbp(A, G) for m in bench}
        fns["op:matmul"] = op_callables(cfg, n, batch)["op:matmul"]
        res = _timed(cfg, fns)
        t_mm = res["op:matmul"].median / OP_REPEAT
        for m in bench:
            counts = _count(m, A, G)
            mm = counts["fw_matmul"] + counts["bw_matmul"]
            rows.append(
                _common(cfg, "batch", n, batch)
                | _method_cols(m)
                | {"pass": "fp+bp"}
                | res[m.label].row()
                | {
                    "matmuls": mm,
                    "matmul_ms": round(t_mm, 5),
                    "matmul_floor_ms": round(mm * t_mm, 5),
                    "ratio_to_matmul_floor": round(res[m.label].median / (mm * t_mm), 3) if mm else "",
                }
            )
    return rows


def sweep_dimension(cfg: BenchConfig, progress) -> List[dict]:
    """Fig. 2b/2c, Table 8: FP+BP time and forward error vs n (batch 1); the baselines up to n = 256."""
    rows = []
    main = configurations(baselines=False)
    baselines = [m for m in configurations() if m not in main]
    for n in progress(cfg.sizes([32, 64, 128, 256, 512, 1024], [16, 32]), "dimension"):
        A, A64, G, _ = make_inputs(cfg, n, 1)
        bench = main + (baselines if n <= 256 else [])
        res = _timed(cfg, {m.label: m.fpbp(A, G) for m in bench})
        S64 = sqrtm_reference(A64)
        for m in bench:
            with torch.no_grad():
                errs = forward_errors(m.apply(A), S64)
            rows.append(
                _common(cfg, "dimension", n, 1) | _method_cols(m) | {"pass": "fp+bp"} | res[m.label].row() | errs
            )
    return rows


def sweep_forward(cfg: BenchConfig, progress) -> List[dict]:
    """Fig. 1c: FP time and error of the settings the paper sweeps, and eigh.

    The settings are :data:`mathsqrt.paper.data.FIG1C_SETTINGS` (every third one with ``--quick``).
    """
    n, batch = cfg.n, cfg.sizes(64, 4)
    A, A64, _, _ = make_inputs(cfg, n, batch)
    S64 = sqrtm_reference(A64)
    bench = _setting_grid({f: cfg.sizes(v, v[::3]) for f, v in data.FIG1C_SETTINGS.items()})
    bench += [
        BenchMethod.configuration(configuration_of(f), label=fwd.label)
        for f, fwd in methods.FORWARDS.items()
        if fwd.root and not fwd.options
    ]
    res = None
    for _ in progress([0], "forward"):
        res = _timed(cfg, {m.label: m.fp(A) for m in bench})
    rows = []
    for m in bench:
        k = m.option("degree")
        matched = 2 * k[0] if isinstance(k, tuple) else (k if k is not None else "")
        with torch.no_grad(), counting.count_ops() as ops:
            out = m.apply(A)
        rows.append(
            _common(cfg, "forward", n, batch)
            | _method_cols(m)
            | {"matched_degree": matched, "pass": "fp", "fw_matmul": ops["matmul"], "fw_solve": ops["solve"]}
            | res[m.label].row()
            | forward_errors(out, S64)
        )
    return rows


def sweep_backward(cfg: BenchConfig, progress) -> List[dict]:
    """Fig. 1d: BP time vs iterations: the Lyapunov solver of MPA-Lya vs NS differentiated through its iterations."""
    n, batch = cfg.n, cfg.sizes(64, 4)
    A, _, G, _ = make_inputs(cfg, n, batch)
    ks = cfg.sizes(list(range(3, 11)), [3, 5, 8])
    lya, ns = methods.configuration(data.PROPOSED), methods.configuration("ns")
    bench = [(k, BenchMethod.configuration(lya, label=f"{lya.label} T={k}", backward_iters=k)) for k in ks]
    bench += [(k, BenchMethod.configuration(ns, label=f"{ns.label} T={k}", iters=k)) for k in ks]
    res = None
    for _ in progress([0], "backward"):
        res = _timed(cfg, {m.label: m.bp(A, G) for _, m in bench})
    rows = []
    for k, m in bench:
        counts = _count(m, A, G)
        rows.append(
            _common(cfg, "backward", n, batch)
            | _method_cols(m)
            | {"iterations": k, "pass": "bp", "bw_matmul": counts["bw_matmul"]}
            | res[m.label].row()
        )
    return rows


def sweep_degree(cfg: BenchConfig, progress) -> List[dict]:
    """Table 5: MPA-Lya FP+BP time (1×64×64) and forward error for :data:`mathsqrt.paper.data.TABLE5_DEGREES`."""
    n, batch = cfg.n, 1
    A, A64, G, _ = make_inputs(cfg, n, batch)
    Ab, Ab64, _, _ = make_inputs(cfg, n, cfg.sizes(64, 4), seed=cfg.seed + 3)
    S64 = sqrtm_reference(Ab64)
    mpa = methods.configuration(data.PROPOSED)
    bench = [BenchMethod.configuration(mpa, label=f"{mpa.label} [{k}/{k}]", degree=(k, k)) for k in data.TABLE5_DEGREES]
    res = None
    for _ in progress([0], "degree"):
        res = _timed(cfg, {m.label: m.fpbp(A, G) for m in bench})
    rows = []
    for m in bench:
        with torch.no_grad():
            errs = forward_errors(m.apply(Ab), S64)
        rows.append(
            _common(cfg, "degree", n, batch)
            | _method_cols(m)
            | {"pass": "fp+bp"}
            | res[m.label].row()
            | {f"{k}_batch{Ab.shape[0]}": v for k, v in errs.items()}
        )
    return rows


def sweep_lyapunov(cfg: BenchConfig, progress) -> List[dict]:
    r"""Table 6: residuals :math:`\|B_k - I\|_F` and :math:`\|\tfrac12 C_k - X\|_F` vs iterations, and FP+BP time.

    ``S`` is the MPA [5/5] square root of random 64×64 covariances (in ``cfg.dtype``); ``X`` the exact
    solution of :math:`S X + X S = G` (float64, eigenbasis of the computed ``S``); ``G`` Gaussian of unit
    Frobenius norm. Two scalings: the paper's :math:`c = \|S\|_F` and the package's :math:`c = \sqrt{\|A\|_F}`.
    The last row times MPA with the Bartels–Stewart backward.
    """
    n = cfg.n
    batch = cfg.sizes(256, 8)
    A, _, G, _ = make_inputs(cfg, n, batch)
    mpa = methods.configuration(data.PROPOSED)
    with torch.no_grad():
        S = BenchMethod.configuration(mpa).apply(A)
    S64 = _sym(S.to("cpu", torch.float64))
    lam, U = torch.linalg.eigh(S64)
    X64 = lyapunov_eigenbasis(U, lam, G.to("cpu", torch.float64))
    ks = cfg.sizes(list(range(1, 13)), [5, 8])
    scales = {
        "paper ||S||_F": torch.linalg.matrix_norm(S, keepdim=True),
        "package sqrt||A||_F": torch.linalg.matrix_norm(A, keepdim=True).sqrt(),
    }
    A1, _, G1, _ = make_inputs(cfg, n, 1)
    bench = [BenchMethod.configuration(mpa, label=f"{mpa.label} k={k}", backward_iters=k) for k in ks]
    bs = BenchMethod.pair(mpa.method, "bartels-stewart")
    res = None
    for _ in progress([0], "lyapunov"):
        res = _timed(cfg, {m.label: m.fpbp(A1, G1) for m in bench + [bs]})
    rows = []
    for k, m in zip(ks, bench):
        for scale_name, c in scales.items():
            X, info = lyapunov_sign(S, G, scale=c, iters=k, return_info=True)
            X = X.to("cpu", torch.float64)
            rows.append(
                _common(cfg, "lyapunov", n, batch)
                | _method_cols(m)
                | {
                    "iterations": k,
                    "scale": scale_name,
                    "residual_B": float(info.residual.double().mean()),
                    "residual_X": float(torch.linalg.matrix_norm(X - X64).mean()),
                    "residual_X_rel": _rel(X - X64, X64),
                    "timing_batch": 1,
                }
                | res[m.label].row()
            )
    rows.append(
        _common(cfg, "lyapunov", n, batch)
        | _method_cols(bs)
        | {"iterations": "", "scale": "", "residual_B": "", "residual_X": "", "residual_X_rel": "", "timing_batch": 1}
        | res[bs.label].row()
    )
    return rows


def sweep_condition(cfg: BenchConfig, progress) -> List[dict]:
    """Forward and gradient error vs condition number (``random_spd``, 64×64), float32 and float64, every configuration.

    Plus MPA-Lya with the Lyapunov backward run to a tolerance (``backward_tol=1e-6``, at most 60
    iterations). A numerical failure (e.g. a Cholesky factorisation at a huge condition number) is noted.
    """
    n, batch = cfg.n, cfg.sizes(8, 2)
    conds = cfg.sizes([1e1, 1e2, 1e3, 1e4, 1e5, 1e6], [1e1, 1e3, 1e6])
    mpa = methods.configuration(data.PROPOSED)
    bench = configurations() + [
        BenchMethod.configuration(mpa, label=f"{mpa.label} tol=1e-6", backward_tol=1e-6, backward_iters=60)
    ]
    rows = []
    for cond in progress(conds, "condition"):
        for dtype in (torch.float32, torch.float64):
            A, A64, G, G64 = make_inputs(cfg, n, batch, family="spd", cond=cond, dtype=dtype)
            S64, X64 = sqrtm_reference(A64), gradient_reference(A64, G64)
            for m in bench:
                row = _common(cfg, "condition", n, batch, "spd", cond, dtype) | _method_cols(m)
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        with torch.no_grad():
                            errs = forward_errors(m.apply(A), S64)
                        gerr = gradient_error(m, A, G, X64)
                    row |= errs | {"grad_rel_err": gerr, "note": ""}
                except (ValueError, RuntimeError) as exc:
                    row |= {
                        "mae": "",
                        "rel_err": "",
                        "grad_rel_err": "",
                        "note": f"{type(exc).__name__}: {str(exc)[:80]}",
                    }
                rows.append(row)
    return rows


def _incompatible() -> List[Tuple[BenchMethod, str]]:
    """Every forward × backward pair the table rejects, with :func:`mathsqrt.methods.resolve`'s reason."""
    out = []
    for f in methods.FORWARDS:
        for b in methods.BACKWARDS:
            if not methods.compatible(f, b):
                try:
                    methods.resolve(f, b)
                    why = "incompatible"
                except ValueError as exc:
                    why = str(exc)
                out.append((BenchMethod(pair_name(f, b), f, b), why))
    return out


def sweep_matrix(cfg: BenchConfig, progress) -> List[dict]:
    """Every forward × every backward: FP+BP time (64×64) and gradient error; the pairs the table rejects, noted."""
    n, batch = cfg.n, cfg.sizes(16, 2)
    A, A64, G, G64 = make_inputs(cfg, n, batch)
    X64 = gradient_reference(A64, G64)
    ok = combinations()
    res = None
    for _ in progress([0], "matrix"):
        res = _timed(cfg, {m.label: m.fpbp(A, G) for m in ok})
    rows = []
    for m in ok:
        rows.append(
            _common(cfg, "matrix", n, batch)
            | _method_cols(m)
            | {"pass": "fp+bp", "supported": True, "grad_rel_err": gradient_error(m, A, G, X64), "note": ""}
            | res[m.label].row()
        )
    for m, why in _incompatible():
        rows.append(
            _common(cfg, "matrix", n, batch)
            | _method_cols(m)
            | {
                "pass": "fp+bp",
                "supported": False,
                "grad_rel_err": "",
                "note": why[:120],
                "time_ms": "",
                "time_iqr_ms": "",
                "repeats": 0,
            }
        )
    return rows


def sweep_counts(cfg: BenchConfig, progress) -> List[dict]:
    """Tables 1–2 by instrumentation: kernels of the forward and the backward pass, against the paper's formulas.

    The settings of Fig. 1c (``vary`` = the option swept), Lyapunov iterations 5..9, and every
    compatible forward × backward pair at its defaults (``vary`` empty). Counted at the ATen
    dispatcher (:func:`mathsqrt.counting.count_aten_ops`), so autograd's own backward products are
    included; the forward is also counted by :func:`mathsqrt.count_ops` (``pkg_fw_*``). The paper's
    counts: :func:`mathsqrt.paper.data.paper_counts`.
    """
    n, batch = 8, 2
    A, _, G, _ = make_inputs(cfg, n, batch, dtype=torch.float64)
    grid = _setting_grid(data.FIG1C_SETTINGS)
    lya = methods.configuration(data.PROPOSED)
    bench = [(m, methods.forward_method(m.method).options[0].keyword) for m in grid]
    bench += [
        (BenchMethod.configuration(lya, label=f"{lya.label} k={k}", backward_iters=k), "backward_iters")
        for k in range(5, 10)
    ]
    bench += [(m, "") for m in combinations()]
    rows = []
    for m, vary in progress(bench, "counts"):
        counts = _count(m, A, G)
        with torch.no_grad(), counting.count_ops() as pkg:
            m.apply(A)
        s = m.settings()
        paper = data.paper_counts(
            m.method,
            degree=s.get("degree"),
            iters=s.get("iters"),
            backward=m.backward,
            backward_iters=s.get("backward_iters", 0),
        )
        rows.append(
            _common(cfg, "counts", n, batch, dtype=torch.float64)
            | _method_cols(m)
            | {key: _fmt(v) for key, v in s.items()}
            | {"vary": vary, "pkg_fw_matmul": pkg["matmul"], "pkg_fw_solve": pkg["solve"]}
            | counts
            | paper
        )
    return rows


def sweep_headline(cfg: BenchConfig, progress) -> List[dict]:
    """FP+BP of every configuration but the baselines at 1/16/64 × 64×64 and 1×256×256, with floors.

    ``matmul_floor_ms`` = (forward + backward matmuls) × one batched matmul of the same shape
    (``torch.bmm``, warm: the median of :data:`OP_REPEAT` back-to-back calls, divided);
    ``op_floor_ms`` adds one Cholesky factorisation, solve (a triangular solve counts half) and
    eigendecomposition for each one counted. Ratios > 1 measure everything else: elementwise
    kernels, allocation, Python and dispatcher overhead.
    """
    points = cfg.sizes([(1, 64), (16, 64), (64, 64), (1, 256)], [(1, 16), (4, 16)])
    bench = configurations(baselines=False)
    rows = []
    for batch, n in progress(points, "headline"):
        A, _, G, _ = make_inputs(cfg, n, batch)
        fns = {m.label: m.fpbp(A, G) for m in bench}
        fns.update(op_callables(cfg, n, batch))
        res = _timed(cfg, fns)
        t = {k[3:]: res[k].median / OP_REPEAT for k in res if k.startswith("op:")}
        for m in bench:
            c = _count(m, A, G)
            mm = c["fw_matmul"] + c["bw_matmul"]
            floor_mm = mm * t["matmul"]
            floor_ops = (
                floor_mm
                + (c["fw_cholesky"] + c["bw_cholesky"]) * t["cholesky"]
                + (c["fw_solve"] + c["bw_solve"] + 0.5 * (c["fw_triangular_solve"] + c["bw_triangular_solve"]))
                * t["solve"]
                + (c["fw_eigh"] + c["bw_eigh"]) * t["eigh"]
            )
            tm = res[m.label].median
            rows.append(
                _common(cfg, "headline", n, batch)
                | _method_cols(m)
                | {"pass": "fp+bp"}
                | res[m.label].row()
                | c
                | {
                    "matmul_ms": round(t["matmul"], 5),
                    "cholesky_ms": round(t["cholesky"], 5),
                    "solve_ms": round(t["solve"], 5),
                    "eigh_ms": round(t["eigh"], 5),
                    "matmul_floor_ms": round(floor_mm, 5),
                    "op_floor_ms": round(floor_ops, 5),
                    "ratio_to_matmul_floor": round(tm / floor_mm, 3) if floor_mm else "",
                    "ratio_to_op_floor": round(tm / floor_ops, 3) if floor_ops else "",
                }
            )
    return rows


#: Sweep name -> function, in the order they run.
SWEEPS: Dict[str, Callable] = {
    "headline": sweep_headline,
    "counts": sweep_counts,
    "batch": sweep_batch,
    "dimension": sweep_dimension,
    "forward": sweep_forward,
    "backward": sweep_backward,
    "degree": sweep_degree,
    "lyapunov": sweep_lyapunov,
    "condition": sweep_condition,
    "matrix": sweep_matrix,
}


def run_sweep(name: str, cfg: BenchConfig, progress=None) -> List[dict]:
    """Run one sweep by name; ``progress(iterable, desc)`` wraps its loop (default: no bar)."""
    if name not in SWEEPS:
        raise ValueError(f"unknown sweep {name!r}; choose from {', '.join(SWEEPS)}")
    progress = progress or (lambda it, desc: it)
    return SWEEPS[name](cfg, progress)
