"""Every number and ranking that notebooks/05-speed.ipynb states in its text, recomputed.

The text may only state what is deterministic — operation counts, errors of fixed random matrices, the
paper's printed numbers, the settings of the timing routine — and each statement is checked here against
an independent computation, so that text and outputs cannot drift apart. Timings are never asserted: the
notebook states no ranking by time (the widgets print their own verdicts, beyond the spread).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest
import torch

import mathsqrt
import mathsqrt.testing
from mathsqrt.counting import count_aten_ops
from mathsqrt.paper import data, timing
from mathsqrt.paper.bench.methods import BenchMethod
from mathsqrt.paper.widgets import speed

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05-speed.ipynb"


def _cells():
    return json.loads(NOTEBOOK.read_text())["cells"]


def _markdown() -> str:
    """Every markdown cell, joined."""
    return "\n".join("".join(c["source"]) for c in _cells() if c["cell_type"] == "markdown")


def _text() -> str:
    """The markdown with every run of white space as one space (statements are matched across line breaks)."""
    return " ".join(_markdown().split())


def _code_cell(needle: str) -> str:
    (src,) = ["".join(c["source"]) for c in _cells() if c["cell_type"] == "code" and needle in "".join(c["source"])]
    return src


def _answer_block(needle: str) -> str:
    """The ```python block of a hidden answer that contains ``needle``."""
    blocks = re.findall(r"```python\n(.*?)```", _markdown(), flags=re.S)
    (block,) = [b for b in blocks if needle in b]
    return block


def _ns_sqrt():
    namespace = {"torch": torch}
    exec(_code_cell("def ns_sqrt("), namespace)
    return namespace["ns_sqrt"]


def _relerr(X, Y) -> float:
    return float((torch.linalg.matrix_norm(X - Y) / torch.linalg.matrix_norm(Y)).max())


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setenv("MATHSQRT_FAST", "1")


# ------------------------------------------------------------------------------------------ counts


def test_counts_stated_in_the_text():
    c = speed.compute_counts()  # MTP K=11, MPA [5/5], NS T=5, Lyapunov T=8: the text's settings
    text = _text()
    mpa, ns, opt, adj = c["mpa-lya"], c["ns"], c["mpa-lya-opt"], c["mpa-adjoint"]
    assert (mpa["fw_matmul"], mpa["bw_matmul"], mpa["fw_cholesky"], mpa["fw_solve"]) == (4, 48, 1, 1)
    assert (mpa["paper_fw_matmul"], mpa["paper_bw_matmul"], mpa["paper_fw_inverse"]) == (5, 48, 1)
    assert "$4 + 48 = 52$" in text and "$5 + 48 = 53$" in text
    assert (ns["fw_matmul"], ns["bw_matmul"]) == (12, 24) and (ns["paper_fw_matmul"], ns["paper_bw_matmul"]) == (15, 54)
    assert "$12 + 24 = 36$" in text and "$15 + 54 = 69$" in text and "$2(3T-3) = 24$" in text
    assert "$(K-1)/2 = 5$ for $K = 11$" in text
    assert opt["fw_matmul"] == 4 and opt["bw_matmul"] == 51 and "$4 + 51 = 55$" in text and "cost $51$ products" in text
    assert (adj["fw_matmul"], adj["fw_solve"], adj["bw_matmul"], adj["bw_solve"]) == (4, 1, 9, 1)
    assert "$4 + 9 = 13$" in text
    assert "$9$ products + one solve with the forward's Cholesky factor" in text
    # "at the default T = 8 it is 48 products, against 4 for the MPA forward"
    assert "it is 48 products, against 4 for the MPA forward" in text
    # maths table: the scaled solver is 6 per step plus 3, for every T
    assert "$6$ per step, plus $3$" in text
    for T in (1, 3, 8, 12):
        assert speed.compute_counts(lyapunov_iters=T)["mpa-lya-opt"]["bw_matmul"] == 6 * T + 3


def test_exercise_4_halving_the_lyapunov_iterations():
    c = speed.compute_counts(lyapunov_iters=4)
    assert c["mpa-lya"]["bw_matmul"] == 6 * 4 == 24 and "$6 \\times 4 = 24$ products" in _text()
    # "the paper's Table 6: ||B_k - I||_F ≈ 0.35 even at k = 5"
    assert round(data.TABLE6[5][0], 2) == 0.35 and "\\approx 0.35$ even at $k = 5$" in _text()


def test_counting_cell_ns_claims():
    """The first code cell: NS T = 5 counted at the dispatcher, 3T - 3 forward and two per product backward."""
    src = _code_cell("count_aten_ops() as fp")
    assert "check_finite=False" in src
    A = mathsqrt.testing.random_covariance(32, 4, dtype=torch.float64, seed=0).requires_grad_()
    with count_aten_ops() as fp:
        S = mathsqrt.sqrtm(A, method="ns", iters=5, backward="autograd", check_finite=False)
    with count_aten_ops() as bp:
        torch.autograd.grad(S.sum(), A)
    assert fp["matmul"] == 3 * 5 - 3 and bp["matmul"] == 2 * fp["matmul"]
    # "by default sqrtm also checks its input and certifies its result ..., which costs a product of its own"
    with count_aten_ops() as checked:
        mathsqrt.sqrtm(A.detach(), method="ns", iters=5)
    assert checked["matmul"] == fp["matmul"] + 1


# ---------------------------------------------------------------------------------- from scratch


def test_from_scratch_ns_is_short_and_matches_mathsqrt():
    src = _code_cell("def ns_sqrt(")
    assert len([line for line in src.splitlines() if line.strip()]) == 10  # "ten lines of plain torch"
    assert "ten lines of plain torch" in _text() and "three fewer products" in _text()
    ns_sqrt = _ns_sqrt()
    A = mathsqrt.testing.random_covariance(32, 4, dtype=torch.float64, seed=0)
    exact = mathsqrt.testing.sqrtm_reference(A)
    errors = []
    for T in (1, 3, 5, 8):
        ours = ns_sqrt(A, T)
        assert _relerr(ours, mathsqrt.sqrtm(A, method="ns", iters=T)) < 1e-13  # "agree to rounding"
        errors.append(_relerr(ours, exact))
    assert errors == sorted(errors, reverse=True) and errors[-1] < 1e-3  # "the error ... falls as T grows"
    # batched, float32, any shape of batch
    B = mathsqrt.testing.random_covariance(8, (2, 3), seed=1, dtype=torch.float32)
    assert ns_sqrt(B).shape == (2, 3, 8, 8)
    # three products per iteration: the paper's 3T, against mathsqrt's 3T - 3
    for T in (2, 5, 7):
        with count_aten_ops() as ours:
            ns_sqrt(A, T)
        with count_aten_ops() as lib:
            mathsqrt.sqrtm(A, method="ns", iters=T, check_finite=False)
        assert (ours["matmul"], lib["matmul"]) == (3 * T, 3 * T - 3)


def test_exercise_5_answer_runs_and_says_what_it_prints():
    block = _answer_block("ns_sqrt_lean")
    namespace = {"torch": torch, "mathsqrt": mathsqrt, "count_aten_ops": count_aten_ops, "ns_sqrt": _ns_sqrt()}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(block, namespace)
    first, second = out.getvalue().splitlines()
    assert first.split() == ["15", "12"]  # "15 = 3T (Table 1) and 12 = 3T - 3"
    lean_count, diff = second.split()
    assert int(lean_count) == 12 and float(diff) < 1e-13  # "the same result to rounding"
    A = mathsqrt.testing.random_covariance(16, 2, dtype=torch.float64, seed=3)
    for T in range(2, 9):  # "three products fewer for every T >= 2"
        with count_aten_ops() as lean:
            S = namespace["ns_sqrt_lean"](A, T)
        assert lean["matmul"] == 3 * T - 3 and _relerr(S, namespace["ns_sqrt"](A, T)) < 1e-13


# ------------------------------------------------------------------------------ timing, as stated


def test_timing_settings_as_stated():
    text = _text()
    assert speed.LIVE_WARMUP == 2 and "Two warm-up rounds run first" in text
    assert speed.LIVE_MIN_REPEATS == 5 and "At least 5 timed repeats per method" in text
    assert speed.LIVE_MAX_REPEATS == 15 and "more, up to 15," in text
    assert speed.TIME_BUDGET_S == 0.5 and "about half a second of repeats" in text
    assert timing.BUSY_SPREAD == 0.25 and "exceeds 25 % of its median" in text
    assert speed.LIVE_THREADS == 1 and "use one torch thread" in text
    # the claim that is gone: a timing ranking stated as a fact
    assert "often faster" not in text


def test_paper_numbers_quoted():
    text = _text()
    assert data.BATCH64_SPEEDUP["mpa-lya"] == {"ns": 2.58, "svd": 27.25}
    assert "2.58× over NS, 27.25× over SVD at batch 64" in text
    assert data.K40_SOURCES[(1, 64)] == "Table 3" and data.K40_SOURCES[(64, 48)] == "Table 4"
    assert "(1×64×64: Table 3; 64×48×48: Table 4)" in text
    # "from 256 to 1024, MPA-Lya's time doubles for 64 times the flops"
    t = data.k40_by_dimension()["mpa-lya"]
    assert 1.9 < t[1024] / t[256] < 2.1 and (1024 / 256) ** 3 == 64
    assert "MPA-Lya's time doubles for 64 times the flops" in text
    assert sorted(t) == [256, 512, 1024] and "K40 Table 8 (256, 512, 1024)" in text


# ------------------------------------------------------------------------------------ Fig. 1(d)


def test_fig1d_counts_and_the_papers_claim():
    text = _text()
    for T in range(2, 12):
        assert speed._bw_count("mpa-lya", T) == (6 * T, 0)
        assert speed._bw_count("mpa-lya-opt", T) == (6 * T + 3, 0)
        assert speed._bw_count("ns", T) == (2 * (3 * T - 3), 0) == (6 * T - 6, 0)
    assert speed._bw_count("mpa-adjoint", None) == (9, 1)
    assert "$2(3T - 3) = 6T - 6$ (for $T \\ge 2$)" in text and "| $6T + 3$ |" in text
    lya8, ns5_paper, ns5 = speed._bw_count("mpa-lya", 8)[0], 4 + 10 * 5, speed._bw_count("ns", 5)[0]
    assert lya8 == 48 < ns5_paper == 54 and "$6 \\cdot 8 = 48 < 54 = 4 + 10 \\cdot 5$" in text
    assert ns5 == 24 == lya8 // 2 and "$24$ at $T = 5$, half of the Lyapunov solver's $48$ at $T = 8$" in text
    assert "($48 < 54$)" in text and "autograd's NS backward ($24$)" in text
    # exercise 7: the largest T with 6T < 54 is 8 (T = 9 ties); with 6T < 24 it is 3 (T = 4 ties)
    lya = {T: speed._bw_count("mpa-lya", T)[0] for T in range(1, 12)}
    assert max(T for T in lya if lya[T] < ns5_paper) == 8 and lya[9] == ns5_paper
    assert max(T for T in lya if lya[T] < ns5) == 3 and lya[4] == ns5
    assert "for $T \\le 8$ ($T = 9$ ties at 54)" in text and "only for $T \\le 3$ ($T = 4$ ties)" in text


def test_fig1d_settings_as_stated(monkeypatch):
    text = _text()
    assert speed.default_iterations() == (2, 5, 8)
    monkeypatch.setenv("MATHSQRT_FAST", "0")
    assert speed.default_iterations() == (2, 5, 8, 11)
    assert "$T$ = 2, 5, 8, 11 (fast mode: 2, 5, 8)" in text
    assert speed.BACKWARD_METHODS == ("mpa-lya", "mpa-lya-opt", "ns") and speed.FIXED_BACKWARD_METHODS == (
        "mpa-adjoint",
    )


# ------------------------------------------------------------------------------------ Fig. 2(c)


def _sizes(fast: bool, monkeypatch):
    monkeypatch.setenv("MATHSQRT_FAST", "1" if fast else "0")
    return speed.default_sizes()


def _check_fig2c_claims(sizes):
    errors = {n: speed.compute_dimension_errors(n) for n in sizes}
    for n, e in errors.items():
        # forward errors: eigh < MPA < NS < MTP, in both measures
        for key in ("rel_err", "mae"):
            ranks = [e[name][key] for name in ("eigh", "mpa-lya", "ns", "mtp-lya")]
            assert ranks == sorted(ranks) and len(set(ranks)) == 4, (n, key, ranks)
            assert e["svd"][key] == e["eigh"][key]  # one forward
            assert e["mpa-lya"][key] == e["mpa-lya-opt"][key] == e["mpa-adjoint"][key]
        # the adjoint's gradient error is larger than MPA-Lya's
        assert e["mpa-adjoint"]["grad_rel_err"] > e["mpa-lya"]["grad_rel_err"], n
    # the relative forward error of MPA, NS and MTP grows with n
    for name in ("mpa-lya", "ns", "mtp-lya"):
        rel = [errors[n][name]["rel_err"] for n in sizes]
        assert rel == sorted(rel) and len(set(rel)) == len(rel), (name, rel)


def _check_fig2c_gradients_and_conditioning(sizes):
    """Lyapunov gradients = the exact Lyapunov solution at the same MPA output, to 0.1 %; condition 10..40."""
    for n in sizes:
        A64 = mathsqrt.testing.random_covariance(
            n, speed.ERROR_BATCH, seed=2
        )  # the matrices of compute_dimension_errors
        G64 = mathsqrt.testing.random_gradient(n, speed.ERROR_BATCH, seed=3)
        lam = torch.linalg.eigvalsh(A64)
        cond = lam[:, -1] / lam[:, 0]
        assert bool((cond > 10).all() and (cond < 40).all()), (n, cond)
        A, G = A64.float(), G64.float()

        def grad(m, A=A, G=G):
            X = A.clone().requires_grad_(True)
            (g,) = torch.autograd.grad(m.apply(X), X, G)
            return 0.5 * (g + g.mT)

        exact_at_S = grad(BenchMethod.pair("mpa", "eigh"))
        for name in ("mpa-lya", "mpa-lya-opt"):
            assert _relerr(grad(BenchMethod.configuration(name)), exact_at_S) < 1e-3, (n, name)


def test_fig2c_claims_fast_sizes(monkeypatch):
    sizes = _sizes(True, monkeypatch)
    assert sizes == (8, 16, 32)
    _check_fig2c_claims(sizes)
    _check_fig2c_gradients_and_conditioning(sizes)


@pytest.mark.slow
def test_fig2c_claims_default_sizes(monkeypatch):
    sizes = _sizes(False, monkeypatch)
    assert sizes == (16, 32, 64, 128, 256)
    _check_fig2c_claims(sizes)
    _check_fig2c_gradients_and_conditioning(sizes)


def test_fig2_text_matches_the_settings():
    text = _text()
    assert speed.ERROR_BATCH == 4 and "errors on 4 other random covariances" in text
    assert "$n$ = 16 … 256 (fast mode: 8, 16, 32)" in text
    assert "to within 0.1 %" in text and "(condition numbers between 10 and 40)" in text
    assert "rank eigh < MPA < NS < MTP" in text
    assert {"mpa-lya-opt", "mpa-adjoint"} <= set(speed.DIMENSION_METHODS)
