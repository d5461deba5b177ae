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
not a measurement. Conventions: times in milliseconds, medians of ``repeats`` round-robin repeats after a warm-up;
errors against the float64 eigendecomposition of the float64 input. "MAE" is the paper's mean
absolute error; ``rel_err`` the per-matrix relative Frobenius error, averaged over the batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import torch

from mathsqrt import backward as bw
from mathsqrt import counting
from mathsqrt.testing import random_covariance, random_spd
from mathsqrt.counting import count_aten_ops
from .methods import BenchMethod, all_combinations, main_methods, paper_methods
from .timing import TimingResult, make_timer, time_round_robin

__all__ = ["BenchConfig", "SWEEPS", "run_sweep", "make_inputs", "exact_sqrt", "exact_gradient", "paper_counts"]


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
        return quick if self.quick else full

    @property
    def n(self) -> int:
        """The matrix size of the fixed-size sweeps: 64 as in the paper (32 with ``quick``)."""
        return 32 if self.quick else 64


# --------------------------------------------------------------------------------------------------
# inputs and references
# --------------------------------------------------------------------------------------------------


def make_inputs(cfg: BenchConfig, n: int, batch: int, *, family: str = "covariance", cond: float = 0.0, dtype=None, seed: Optional[int] = None):
    """Input batch ``A`` (``batch × n × n``), its float64 copy and an incoming gradient ``G``.

    ``family="covariance"``: :func:`mathsqrt.testing.random_covariance` (the paper's random
    covariance matrices, Sec. 4.1); ``family="spd"``: :func:`mathsqrt.testing.random_spd` with
    condition number ``cond``. ``G`` is Gaussian with unit Frobenius norm per matrix.
    """
    dtype = cfg.dtype if dtype is None else dtype
    seed = cfg.seed if seed is None else seed
    if family == "covariance":
        A64 = random_covariance(n, batch, seed=seed)
    elif family == "spd":
        A64 = random_spd(n, cond, batch, seed=seed)
    else:
        raise ValueError(f"unknown input family {family!r}; choose 'covariance' or 'spd'")
    g = torch.Generator().manual_seed(seed + 1)
    G64 = torch.randn(batch, n, n, dtype=torch.float64, generator=g)
    G64 = G64 / torch.linalg.matrix_norm(G64, keepdim=True)
    A = A64.to(device=cfg.device, dtype=dtype)
    return A, A64, G64.to(device=cfg.device, dtype=dtype), G64


def exact_sqrt(A64: torch.Tensor):
    """:math:`A^{1/2}` by the float64 eigendecomposition; also returns ``(U, s)`` with ``s = sqrt(λ)``."""
    lam, U = torch.linalg.eigh(A64)
    s = lam.clamp_min(0).sqrt()
    return (U * s.unsqueeze(-2)) @ U.transpose(-2, -1), U, s


def exact_gradient(A64: torch.Tensor, G64: torch.Tensor) -> torch.Tensor:
    r"""Exact :math:`\partial l/\partial A` solving :math:`A^{1/2} X + X A^{1/2} = G` in the eigenbasis (float64)."""
    _, U, s = exact_sqrt(A64)
    return bw.lyapunov_eigenbasis(U, s, G64)


def _rel(err: torch.Tensor, ref: torch.Tensor) -> float:
    num = torch.linalg.matrix_norm(err.to(torch.float64))
    den = torch.linalg.matrix_norm(ref.to(torch.float64)).clamp_min(torch.finfo(torch.float64).tiny)
    return float((num / den).mean())


def forward_errors(out: torch.Tensor, S64: torch.Tensor) -> Dict[str, float]:
    """``mae`` (paper: mean absolute error) and ``rel_err`` (mean per-matrix relative Frobenius error)."""
    diff = out.detach().to("cpu", torch.float64) - S64
    return {"mae": float(diff.abs().mean()), "rel_err": _rel(diff, S64)}


def gradient_error(method: BenchMethod, A: torch.Tensor, G: torch.Tensor, X64: torch.Tensor) -> float:
    """Mean per-matrix relative Frobenius error of the gradient of ``method`` against ``X64``, symmetric parts.

    Only the symmetric part of a gradient acts on symmetric perturbations of ``A``; methods differ in the
    antisymmetric part they return (autograd through ``eigh`` reads one triangle of ``A``), so the
    symmetric parts are compared.
    """
    X = A.detach().clone().requires_grad_(True)
    out = method.apply(X)
    (grad,) = torch.autograd.grad(out, X, G)
    grad = grad.detach().to("cpu", torch.float64)
    sym = lambda M: 0.5 * (M + M.transpose(-2, -1))  # noqa: E731
    return _rel(sym(grad) - sym(X64), sym(X64))


# --------------------------------------------------------------------------------------------------
# timing helpers
# --------------------------------------------------------------------------------------------------


def fpbp_callable(method: BenchMethod, A: torch.Tensor, G: torch.Tensor) -> Callable[[], None]:
    """FP+BP: ``method(A)`` then ``torch.autograd.grad`` with incoming gradient ``G``."""
    X = A.detach().clone().requires_grad_(True)

    def run() -> None:
        torch.autograd.grad(method.apply(X), X, G)

    return run


def fp_callable(method: BenchMethod, A: torch.Tensor) -> Callable[[], None]:
    """FP only, under ``torch.no_grad()`` (no graph recorded)."""

    def run() -> None:
        with torch.no_grad():
            method.apply(A)

    return run


def bp_callable(method: BenchMethod, A: torch.Tensor, G: torch.Tensor) -> Callable[[], None]:
    """BP only: the graph is built once (untimed), the backward pass is replayed (``retain_graph``)."""
    X = A.detach().clone().requires_grad_(True)
    out = method.apply(X)

    def run() -> None:
        torch.autograd.grad(out, X, G, retain_graph=True)

    return run


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
    """Round-robin timing with a number of repeats fitted to ``cfg.budget_s``."""
    import time as _time

    timer = make_timer(cfg.device)
    start = _time.perf_counter()
    for fn in fns.values():  # first warm-up round, also measures the cost of one round
        fn()
    if cfg.device.type == "cuda":
        torch.cuda.synchronize(cfg.device)
    per_round = max(_time.perf_counter() - start, 1e-6)
    repeats = int(max(cfg.min_repeats, min(cfg.repeats, cfg.budget_s / per_round)))
    return time_round_robin(fns, timer=timer, repeats=repeats, warmup=max(cfg.warmup - 1, 0))


def _time_row(res: TimingResult) -> Dict[str, object]:
    return {"time_ms": round(res.median, 5), "time_min_ms": round(res.minimum, 5), "time_iqr_ms": round(res.iqr, 5), "repeats": len(res.times_ms)}


def _method_cols(m: BenchMethod) -> Dict[str, object]:
    return {
        "method": m.name,
        "forward": m.method,
        "backward": m.backward,
        "degree": _fmt_degree(m.option("degree")),
        "iters": m.option("iters", ""),
        "backward_iters": m.option("backward_iters", ""),
    }


def _fmt_degree(degree) -> object:
    if degree is None:
        return ""
    if isinstance(degree, tuple):
        return f"{degree[0]}/{degree[1]}"
    return degree


def _common(cfg: BenchConfig, sweep: str, n: int, batch: int, family: str = "covariance", cond: object = "", dtype=None) -> Dict[str, object]:
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


def _supported(method: BenchMethod, A: torch.Tensor, G: torch.Tensor) -> Optional[str]:
    """``None`` if FP+BP runs, else the error message (e.g. a backward that needs ``method='eigh'``)."""
    try:
        fpbp_callable(method, A[:1], G[:1])()
    except (ValueError, TypeError, RuntimeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _count(method: BenchMethod, A: torch.Tensor, G: torch.Tensor) -> Dict[str, int]:
    X = A.detach().clone().requires_grad_(True)
    with count_aten_ops() as fw:
        out = method.apply(X)
    with count_aten_ops() as bwc:
        torch.autograd.grad(out, X, G)
    keys = ("matmul", "cholesky", "solve", "triangular_solve", "eigh", "svd", "inverse", "lu")
    row = {f"fw_{k}": fw[k] for k in keys}
    row.update({f"bw_{k}": bwc[k] for k in keys})
    return row


# --------------------------------------------------------------------------------------------------
# the sweeps
# --------------------------------------------------------------------------------------------------


def _usable(methods: Sequence[BenchMethod], A, G) -> Tuple[List[BenchMethod], List[Tuple[BenchMethod, str]]]:
    ok, bad = [], []
    for m in methods:
        why = _supported(m, A, G)
        (ok.append(m) if why is None else bad.append((m, why)))
    return ok, bad


def sweep_batch(cfg: BenchConfig, progress) -> List[dict]:
    """Fig. 2a: FP+BP time vs batch size at 64×64, every main method, with one matmul's time."""
    n = cfg.n
    rows = []
    A0, _, G0, _ = make_inputs(cfg, n, 1)
    methods, _ = _usable(main_methods(), A0, G0)
    for batch in progress(cfg.sizes([1, 2, 4, 8, 16, 32, 64], [1, 4]), "batch"):
        A, _, G, _ = make_inputs(cfg, n, batch)
        fns = {m.name: fpbp_callable(m, A, G) for m in methods}
        fns["op:matmul"] = op_callables(cfg, n, batch)["op:matmul"]
        res = _timed(cfg, fns)
        t_mm = res["op:matmul"].median / OP_REPEAT
        for m in methods:
            row = _common(cfg, "batch", n, batch) | _method_cols(m) | {"pass": "fp+bp"} | _time_row(res[m.name])
            counts = _count(m, A, G)
            mm = counts["fw_matmul"] + counts["bw_matmul"]
            row |= {"matmuls": mm, "matmul_ms": round(t_mm, 5), "matmul_floor_ms": round(mm * t_mm, 5),
                    "ratio_to_matmul_floor": round(res[m.name].median / (mm * t_mm), 3) if mm else ""}
            rows.append(row)
    return rows


def sweep_dimension(cfg: BenchConfig, progress) -> List[dict]:
    """Fig. 2b/2c, Table 8: FP+BP time and forward error vs n (batch 1); baselines up to n = 256."""
    rows = []
    A0, _, G0, _ = make_inputs(cfg, 8, 1)
    paper = paper_methods()
    extra, _ = _usable([m for m in main_methods() if m not in paper], A0, G0)
    for n in progress(cfg.sizes([32, 64, 128, 256, 512, 1024], [16, 32]), "dimension"):
        A, A64, G, _ = make_inputs(cfg, n, 1)
        methods = paper + (extra if n <= 256 else [])
        res = _timed(cfg, {m.name: fpbp_callable(m, A, G) for m in methods})
        S64, _, _ = exact_sqrt(A64)
        for m in methods:
            with torch.no_grad():
                errs = forward_errors(m.apply(A), S64)
            rows.append(_common(cfg, "dimension", n, 1) | _method_cols(m) | {"pass": "fp+bp"} | _time_row(res[m.name]) | errs)
    return rows


def _forward_grid(cfg: BenchConfig) -> List[BenchMethod]:
    mtp = cfg.sizes(list(range(6, 19, 2)), [6, 10, 18])
    mpa = cfg.sizes(list(range(3, 10)), [3, 5, 9])
    ns = cfg.sizes(list(range(3, 8)), [3, 5, 7])
    out = [BenchMethod(f"MTP K={k}", "mtp", "lyapunov", (("degree", k),)) for k in mtp]
    out += [BenchMethod(f"MPA [{k}/{k}]", "mpa", "lyapunov", (("degree", (k, k)),)) for k in mpa]
    out += [BenchMethod(f"NS T={t}", "ns", "autograd", (("iters", t),)) for t in ns]
    out.append(BenchMethod("eigh", "eigh", "eigh"))
    return out


def sweep_forward(cfg: BenchConfig, progress) -> List[dict]:
    """Fig. 1c: FP time and error; MTP degree K (6..18), MPA [k/k] with matched degree 2k (6..18), NS T (3..7)."""
    n, batch = cfg.n, cfg.sizes(64, 4)
    A, A64, _, _ = make_inputs(cfg, n, batch)
    S64, _, _ = exact_sqrt(A64)
    methods = _forward_grid(cfg)
    res = None
    for _ in progress([0], "forward"):
        res = _timed(cfg, {m.name: fp_callable(m, A) for m in methods})
    rows = []
    for m in methods:
        k = m.option("degree")
        matched = 2 * k[0] if isinstance(k, tuple) else (k if k is not None else "")
        with torch.no_grad(), counting.count_ops() as ops:
            out = m.apply(A)
        rows.append(_common(cfg, "forward", n, batch) | _method_cols(m) | {"family_name": m.method, "matched_degree": matched,
                    "pass": "fp", "fw_matmul": ops["matmul"], "fw_solve": ops["solve"]} | _time_row(res[m.name]) | forward_errors(out, S64))
    return rows


def sweep_backward(cfg: BenchConfig, progress) -> List[dict]:
    """Fig. 1d: BP time vs iterations: Lyapunov solver (after an MPA forward) vs NS (autograd)."""
    n, batch = cfg.n, cfg.sizes(64, 4)
    A, _, G, _ = make_inputs(cfg, n, batch)
    ks = cfg.sizes(list(range(3, 11)), [3, 5, 8])
    methods = [BenchMethod(f"Lya k={k}", "mpa", "lyapunov", (("backward_iters", k),)) for k in ks]
    methods += [BenchMethod(f"NS T={k}", "ns", "autograd", (("iters", k),)) for k in ks]
    res = None
    for _ in progress([0], "backward"):
        res = _timed(cfg, {m.name: bp_callable(m, A, G) for m in methods})
    rows = []
    for m in methods:
        counts = _count(m, A, G)
        rows.append(_common(cfg, "backward", n, batch) | _method_cols(m) | {"family_name": "lyapunov" if m.method == "mpa" else "ns",
                    "iterations": m.option("backward_iters") or m.option("iters"), "pass": "bp", "bw_matmul": counts["bw_matmul"]} | _time_row(res[m.name]))
    return rows


def sweep_degree(cfg: BenchConfig, progress) -> List[dict]:
    """Table 5: MPA-Lya FP+BP time (1×64×64) and forward error for [3/3]..[6/6]."""
    n, batch = cfg.n, 1
    A, A64, G, _ = make_inputs(cfg, n, batch)
    Ab, Ab64, _, _ = make_inputs(cfg, n, cfg.sizes(64, 4), seed=cfg.seed + 3)
    S64, _, _ = exact_sqrt(Ab64)
    methods = [BenchMethod(f"MPA-Lya [{k}/{k}]", "mpa", "lyapunov", (("degree", (k, k)),)) for k in (3, 4, 5, 6)]
    res = None
    for _ in progress([0], "degree"):
        res = _timed(cfg, {m.name: fpbp_callable(m, A, G) for m in methods})
    rows = []
    for m in methods:
        with torch.no_grad():
            errs = forward_errors(m.apply(Ab), S64)
        rows.append(_common(cfg, "degree", n, batch) | _method_cols(m) | {"pass": "fp+bp"} | _time_row(res[m.name]) | {f"{k}_batch{Ab.shape[0]}": v for k, v in errs.items()})
    return rows


def sweep_lyapunov(cfg: BenchConfig, progress) -> List[dict]:
    r"""Table 6: residuals :math:`\|B_k - I\|_F` and :math:`\|\tfrac12 C_k - X\|_F` vs iterations, and FP+BP time.

    ``S`` is the MPA [5/5] square root of random 64×64 covariances (in ``cfg.dtype``); ``X`` the exact
    solution of :math:`S X + X S = G` (float64, eigenbasis of the computed ``S``); ``G`` Gaussian of unit
    Frobenius norm. Two scalings: the paper's :math:`c = \|S\|_F` and the package's :math:`c = \sqrt{\|A\|_F}`.
    """
    n = cfg.n
    batch = cfg.sizes(256, 8)
    A, A64, G, G64 = make_inputs(cfg, n, batch)
    S = bw_free_mpa(A)
    S64 = S.to("cpu", torch.float64)
    S64 = 0.5 * (S64 + S64.transpose(-2, -1))
    lam, U = torch.linalg.eigh(S64)
    X64 = bw.lyapunov_eigenbasis(U, lam, G.to("cpu", torch.float64))
    ks = cfg.sizes(list(range(1, 13)), [5, 8])
    scales = {"paper ||S||_F": torch.linalg.matrix_norm(S, keepdim=True), "package sqrt||A||_F": torch.linalg.matrix_norm(A, keepdim=True).sqrt()}
    rows = []
    A1, _, G1, _ = make_inputs(cfg, n, 1)
    methods = [BenchMethod(f"MPA-Lya k={k}", "mpa", "lyapunov", (("backward_iters", k),)) for k in ks]
    methods.append(BenchMethod("MPA-BS", "mpa", "bartels-stewart"))
    res = None
    for _ in progress([0], "lyapunov"):
        res = _timed(cfg, {m.name: fpbp_callable(m, A1, G1) for m in methods})
    for k, m in zip(ks, methods):
        for scale_name, c in scales.items():
            X, info = bw.lyapunov_sign(S, G, scale=c, iters=k, return_info=True)
            dx = torch.linalg.matrix_norm(X.to("cpu", torch.float64) - X64)
            rows.append(_common(cfg, "lyapunov", n, batch) | _method_cols(m) | {"iterations": k, "scale": scale_name,
                        "residual_B": float(info.residual.double().mean()), "residual_X": float(dx.mean()),
                        "residual_X_rel": _rel(X.to("cpu", torch.float64) - X64, X64), "timing_batch": 1} | _time_row(res[m.name]))
    bs = methods[-1]
    rows.append(_common(cfg, "lyapunov", n, batch) | _method_cols(bs) | {"iterations": "", "scale": "", "residual_B": "", "residual_X": "",
                "residual_X_rel": "", "timing_batch": 1} | _time_row(res[bs.name]))
    return rows


def bw_free_mpa(A: torch.Tensor) -> torch.Tensor:
    """MPA [5/5] square root without a graph (the forward of MPA-Lya)."""
    from mathsqrt.forward import mpa

    with torch.no_grad():
        return mpa(A, (5, 5))


def sweep_condition(cfg: BenchConfig, progress) -> List[dict]:
    """Forward and gradient error vs condition number (``random_spd``, 64×64), float32 and float64."""
    n, batch = cfg.n, cfg.sizes(8, 2)
    conds = cfg.sizes([1e1, 1e2, 1e3, 1e4, 1e5, 1e6], [1e1, 1e3, 1e6])
    A0, _, G0, _ = make_inputs(cfg, 8, 1)
    methods, _ = _usable(main_methods(), A0, G0)
    methods = methods + [BenchMethod("MPA-Lya tol=1e-6", "mpa", "lyapunov", (("backward_tol", 1e-6), ("backward_iters", 60)))]
    rows = []
    import warnings

    for cond in progress(conds, "condition"):
        for dtype in (torch.float32, torch.float64):
            A, A64, G, G64 = make_inputs(cfg, n, batch, family="spd", cond=cond, dtype=dtype)
            S64, _, _ = exact_sqrt(A64)
            X64 = exact_gradient(A64, G64)
            for m in methods:
                row = _common(cfg, "condition", n, batch, "spd", cond, dtype) | _method_cols(m)
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        with torch.no_grad():
                            errs = forward_errors(m.apply(A), S64)
                        gerr = gradient_error(m, A, G, X64)
                    row |= errs | {"grad_rel_err": gerr, "note": ""}
                except (ValueError, RuntimeError) as exc:
                    row |= {"mae": "", "rel_err": "", "grad_rel_err": "", "note": f"{type(exc).__name__}: {str(exc)[:80]}"}
                rows.append(row)
    return rows


def sweep_matrix(cfg: BenchConfig, progress) -> List[dict]:
    """Every forward × every backward: FP+BP time (64×64) and gradient error; unsupported pairs noted."""
    n, batch = cfg.n, cfg.sizes(16, 2)
    A, A64, G, G64 = make_inputs(cfg, n, batch)
    X64 = exact_gradient(A64, G64)
    combos = all_combinations()
    ok, bad = _usable(combos, A, G)
    res = None
    for _ in progress([0], "matrix"):
        res = _timed(cfg, {m.name: fpbp_callable(m, A, G) for m in ok})
    rows = []
    for m in ok:
        rows.append(_common(cfg, "matrix", n, batch) | _method_cols(m) | {"pass": "fp+bp", "supported": True,
                    "grad_rel_err": gradient_error(m, A, G, X64), "note": ""} | _time_row(res[m.name]))
    for m, why in bad:
        rows.append(_common(cfg, "matrix", n, batch) | _method_cols(m) | {"pass": "fp+bp", "supported": False, "grad_rel_err": "",
                    "note": why[:120], "time_ms": "", "time_min_ms": "", "time_iqr_ms": "", "repeats": 0})
    return rows


def paper_counts(method: str, *, degree=None, iters=None, backward: str = "lyapunov", backward_iters: int = 8) -> Dict[str, object]:
    r"""The paper's operation counts (Tables 1–2) for comparison: forward matmuls and inverses, backward matmuls.

    MTP ``K``: ``K - 1``; MPA ``[k/k]`` (matching degree ``K = 2k + 1``): ``(K - 1)/2`` matmuls and one
    inverse; NS: ``3T``; Lyapunov backward: ``6T``; NS backward: ``4 + 10T``. Empty where the paper gives none.
    """
    fw_mm, fw_inv, bw_mm = "", "", ""
    if method == "mtp":
        fw_mm, fw_inv = degree - 1, 0
    elif method == "mpa":
        k = degree[0] if isinstance(degree, tuple) else degree
        fw_mm, fw_inv = k, 1  # (K - 1)/2 with K = 2k + 1
    elif method == "ns":
        fw_mm, fw_inv = 3 * iters, 0
    if backward == "lyapunov":
        bw_mm = 6 * backward_iters
    elif method == "ns" and backward == "autograd":
        bw_mm = 4 + 10 * iters
    return {"paper_fw_matmul": fw_mm, "paper_fw_inverse": fw_inv, "paper_bw_matmul": bw_mm}


def sweep_counts(cfg: BenchConfig, progress) -> List[dict]:
    """Tables 1–2 by instrumentation: kernels of the forward and the backward pass of each configuration.

    Counted at the ATen dispatcher (:func:`mathsqrt.counting.count_aten_ops`), so autograd's own
    backward products are included; the forward is also counted by :func:`mathsqrt.count_ops`.
    """
    n, batch = 8, 2
    A, _, G, _ = make_inputs(cfg, n, batch, dtype=torch.float64)
    methods = [BenchMethod(f"MTP K={k}", "mtp", "lyapunov", (("degree", k),)) for k in range(6, 19, 2)]
    methods += [BenchMethod(f"MPA [{k}/{k}]", "mpa", "lyapunov", (("degree", (k, k)),)) for k in range(3, 10)]
    methods += [BenchMethod(f"NS T={t}", "ns", "autograd", (("iters", t),)) for t in range(3, 8)]
    methods += [BenchMethod(f"MPA-Lya k={k}", "mpa", "lyapunov", (("backward_iters", k),)) for k in range(5, 10)]
    methods += [m for m in all_combinations() if not (m.method in ("mtp", "mpa", "ns") and m.backward == "bartels-stewart")]
    methods += [m for m in main_methods() if m.call is not None]
    methods, _ = _usable(methods, A, G)
    rows = []
    for m in progress(methods, "counts"):
        counts = _count(m, A, G)
        with torch.no_grad(), counting.count_ops() as pkg:
            m.apply(A)
        from mathsqrt.api import DEFAULTS

        degree = m.option("degree", DEFAULTS.get(m.method) if m.method in ("mpa", "mtp") else None)
        iters = m.option("iters", DEFAULTS["ns"] if m.method == "ns" else None)
        paper = paper_counts(m.method, degree=degree, iters=iters, backward=m.backward, backward_iters=m.option("backward_iters", DEFAULTS["lyapunov"]))
        rows.append(_common(cfg, "counts", n, batch, dtype=torch.float64) | _method_cols(m) | {
            "degree": _fmt_degree(degree) if degree is not None else "", "iters": iters if iters is not None else "",
            "backward_iters": m.option("backward_iters", DEFAULTS["lyapunov"] if m.backward == "lyapunov" else ""),
            "pkg_fw_matmul": pkg["matmul"], "pkg_fw_solve": pkg["solve"]} | counts | paper)
    return rows


def sweep_headline(cfg: BenchConfig, progress) -> List[dict]:
    """FP+BP of MPA-Lya, MTP-Lya, NS, eigh (autograd, exact) at 1/16/64 × 64×64 and 1×256×256, with floors.

    ``matmul_floor_ms`` = (forward + backward matmuls) × one batched matmul of the same shape
    (``torch.bmm``, warm: the median of :data:`OP_REPEAT` back-to-back calls, divided);
    ``op_floor_ms`` adds one Cholesky factorisation, solve (a triangular solve counts half) and
    eigendecomposition for each one counted. Ratios > 1 measure everything else: elementwise
    kernels, allocation, Python and dispatcher overhead.
    """
    points = cfg.sizes([(1, 64), (16, 64), (64, 64), (1, 256)], [(1, 16), (4, 16)])
    methods = paper_methods()
    rows = []
    for batch, n in progress(points, "headline"):
        A, _, G, _ = make_inputs(cfg, n, batch)
        fns = {m.name: fpbp_callable(m, A, G) for m in methods}
        fns.update(op_callables(cfg, n, batch))
        res = _timed(cfg, fns)
        t = {k[3:]: res[k].median / OP_REPEAT for k in res if k.startswith("op:")}
        for m in methods:
            c = _count(m, A, G)
            mm = c["fw_matmul"] + c["bw_matmul"]
            floor_mm = mm * t["matmul"]
            floor_ops = (floor_mm + (c["fw_cholesky"] + c["bw_cholesky"]) * t["cholesky"]
                         + (c["fw_solve"] + c["bw_solve"] + 0.5 * (c["fw_triangular_solve"] + c["bw_triangular_solve"])) * t["solve"]
                         + (c["fw_eigh"] + c["bw_eigh"]) * t["eigh"])
            tm = res[m.name].median
            rows.append(_common(cfg, "headline", n, batch) | _method_cols(m) | {"pass": "fp+bp"} | _time_row(res[m.name]) | c | {
                "matmul_ms": round(t["matmul"], 5), "cholesky_ms": round(t["cholesky"], 5), "solve_ms": round(t["solve"], 5), "eigh_ms": round(t["eigh"], 5),
                "matmul_floor_ms": round(floor_mm, 5), "op_floor_ms": round(floor_ops, 5),
                "ratio_to_matmul_floor": round(tm / floor_mm, 3) if floor_mm else "", "ratio_to_op_floor": round(tm / floor_ops, 3) if floor_ops else ""})
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
