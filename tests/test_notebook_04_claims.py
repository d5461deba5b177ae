"""Every number and ranking that the text of notebook 04 states, recomputed from the same functions and settings.

Each test first checks that the notebook still makes the claim (the quoted phrase is in its markdown), then
recomputes it with the ``compute_*`` function (or library call) and the settings of the cell or widget that
shows it, at the notebook's default sizes. If the text or the numbers change, a test here fails.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch

from mathsqrt.coefficients import pade_relative_error
from mathsqrt.paper.studies import degenerate as dg
from mathsqrt.paper.widgets import lyapunov as ly
from mathsqrt.testing import random_gradient, random_spd, sqrtm_reference

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04-backward-lyapunov.ipynb"
N = 32  # the notebook's default size (pick(32, 8))


@pytest.fixture(scope="module")
def text() -> str:
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    return " ".join(" ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown").split())


def claims(text: str, *phrases: str) -> None:
    for phrase in phrases:
        assert " ".join(phrase.split()) in text, f"notebook 04 no longer says {phrase!r}: update this test"


def rel(X, Y) -> float:
    return float(np.linalg.norm(np.asarray(X) - np.asarray(Y)) / np.linalg.norm(np.asarray(Y)))


# ------------------------------------------------------------------------------------- Section 3 and 4


def test_scaled_cubic_first_step(text):
    claims(text, "the first one multiplies small eigenvalues by about 5 instead of 1.5")
    r = ly.compute_scalar_map(1e-2)
    assert round(r["cubic_first"][0]) == 5
    assert r["cubic_steps"] < r["ns_steps"]


def test_scalar_map_examples(text):
    claims(
        text,
        "Try $x_0 = 10^{-4}$: Newton–Schulz needs 28 steps, most of them spent climbing by $\\times 3/2$; the scaled "
        "cubic needs 14.",
        "$x_0 \\approx 1.6$ (inside the basin), $x_0 \\approx 2$ (between $\\sqrt3$ and $\\sqrt5$: it converges to "
        "$-1$), $x_0 \\approx 2.5$ (it diverges)",
    )
    # the slider's values: 10 ** (min + k * step) with min = -6, step = 0.1
    x = lambda e: 10 ** (-6 + round((e + 6) / 0.1) * 0.1)  # noqa: E731
    r = ly.compute_scalar_map(x(-4))
    assert (r["ns_steps"], r["cubic_steps"]) == (28, 14)
    assert r["slow_start"] > r["ns_steps"] / 2  # most of them
    assert ly.compute_scalar_map(x(0.2))["ns_limit"] == 1.0 and 1.55 < x(0.2) < 1.65
    assert ly.compute_scalar_map(x(0.3))["ns_limit"] == -1.0 and math.sqrt(3) < x(0.3) < math.sqrt(5)
    assert ly.compute_scalar_map(x(0.4))["ns_limit"] == 0.0


def test_basin_statements(text):
    claims(
        text,
        "one step maps $(0, \\sqrt3)$ into $(0, 1]$",
        "beyond $\\sqrt5$, $|p(x)| > x$ and it diverges",
        "$1 - p(x) = \\tfrac32 e^2 - \\tfrac12 e^3$",
    )
    x = np.linspace(1e-6, math.sqrt(3) - 1e-9, 10001)
    p = ly.ns_sign_polynomial(x)
    assert p.min() > 0 and p.max() <= 1 + 1e-15
    y = np.linspace(math.sqrt(5) + 1e-9, 10, 1001)
    assert np.all(np.abs(ly.ns_sign_polynomial(y)) > y)


# ------------------------------------------------------------------------------------- Section 6


def test_paper_scale_costs_an_iteration_or_two(text):
    claims(text, "switch the **scale** to the paper's $\\|S\\|_F$ and see it cost an iteration or two")
    first = {}
    for scale in ("sqrt-norm", "paper"):
        r = ly.compute_sign_convergence(N, 1e2, 30, scale=scale)  # the widget's defaults
        first[scale] = int(r["k"][np.argmax(r["x_error_rel"] < 1e-10)])
    assert first["paper"] - first["sqrt-norm"] in (1, 2)


# ------------------------------------------------------------------------------------- Section 7 and 8


@pytest.mark.parametrize("n", [N, 8])  # the printed table, at the default size and in fast mode
def test_which_gradient_table(text, n):
    claims(
        text,
        "only (b) matches the finite-difference slope of what was computed (to about $10^{-9}$",
        "(a) misses it by ten per cent or more, and the true gradient (c) by more",
        "At condition $10^4$ the MPA [5/5] output is wrong by more than ten per cent, and every MPA-based gradient "
        "is off by more than half.",
    )
    for cond in (1e2, 1e4):
        fd = ly.compute_consistency(cond, n=n)
        assert fd["b"] < 1e-8 and fd["a"] > 0.1 and fd["c"] > fd["a"]
    case = ly.compute_gradient_case(1e4, n=n, dtype="float64")
    assert case["forward_error"] > 0.1
    assert min(case["lyapunov_at_output"], case["adjoint"]) > 0.5
    assert min(v for k, v in case["errors"].items() if k.startswith("mpa")) > 0.5


def test_end_to_end_sweep(text):
    claims(
        text,
        "the three MPA curves stay close together and rise with the forward error, from a few per cent or less at "
        "condition 10 to more than 90 % at $10^6$",
        "eigh is exact in float64",
        "in float32 its error grows with the condition number, as rounding is amplified (about $10^{-6}$ at "
        "condition 10, $10^{-3}$ at $10^5$), to a few per cent at $10^6$",
    )
    grid = [10.0**e for e in range(1, 7)]  # the widget's sweep
    for dtype in ("float32", "float64"):
        sw = ly.compute_gradient_sweep(grid, n=N, dtype=dtype)
        mpa = np.array([sw["errors"][m] for m in ("mpa-lya", "mpa-lya-opt", "mpa-adjoint")])
        assert np.all(mpa.max(axis=0) / mpa.min(axis=0) < 4)  # close together
        assert np.all(np.diff(mpa, axis=1) > 0) and np.all(np.diff(sw["forward_error"]) > 0)  # rise with it
        assert mpa[:, 0].max() < 0.05 and mpa[:, -1].min() > 0.9
        eigh = sw["errors"]["eigh"]
        if dtype == "float64":
            assert np.all(eigh == 0.0)
        else:
            assert 3e-7 < eigh[0] < 3e-6 and 3e-4 < eigh[4] < 3e-3 and 0.01 < eigh[5] < 0.1
            assert np.all(np.diff(eigh) > 0)


def test_summary_mpa_at_1e4(text):
    claims(text, "with MPA [5/5] at condition $10^4$ both are off by more than half")
    for dtype in ("float32", "float64"):
        case = ly.compute_gradient_case(1e4, n=N, dtype=dtype)
        assert case["lyapunov_at_output"] > 0.5 and case["adjoint"] > 0.5


# ------------------------------------------------------------------------------------- Section 10 and 11


@pytest.fixture(scope="module")
def gap_rows():
    return dg.gradient_vs_gap(
        (1e-1, 1e-3, 1e-6), n=N, dtype=torch.float64, methods=("svd-taylor", "eigh/lyapunov-ns", "eigh/lyapunov")
    )


def test_lyapunov_error_does_not_depend_on_gap(text, gap_rows):
    claims(text, "The Lyapunov backward has no $K$: its error does not depend on the gap.")
    for method in ("eigh/lyapunov-ns", "eigh/lyapunov"):
        errors = [r["error"] for r in gap_rows if r["method"] == method]
        assert max(errors) / min(errors) < 1.5


def test_exercise3_svd_taylor(text, gap_rows):
    claims(
        text,
        "SVD-Taylor with degree 20 has a relative error of about 6 % on the $32 \\times 32$ matrices of the table",
        "the closest pair has a relative gap of only $1.8\\cdot10^{-2}$ even at the requested $10^{-1}$",
        "(neighbouring ratio $10^{1/30} \\approx 1.08$); with $r \\approx 0.982$, $r^{21} \\approx 0.68$",
        "$r = 10^{-1/30} \\approx 0.926$, still give $0.926^{21} \\approx 0.2$",
        "it takes $K \\approx 220$ to get the Frobenius error below $10^{-3}$ (measured: $1.5\\cdot10^{-3}$ at "
        "$K = 200$, $6\\cdot10^{-4}$ at $K = 250$",
        "Even the paper's degree 100 ($10^{-2}$) is not enough",
    )
    taylor = [r for r in gap_rows if r["method"] == "svd-taylor"]
    assert all(0.055 < r["error"] < 0.07 for r in taylor)  # "about 6 %", every requested gap
    r0 = taylor[0]
    assert r0["gap"] == 0.1 and round(r0["computed_gap"], 3) == 0.018
    assert round(10 ** (1 / 30), 2) == 1.08 and round(1 - r0["computed_gap"], 3) == 0.982
    assert round((1 - r0["computed_gap"]) ** 21, 2) == 0.68 and round(10 ** (-21 / 30), 1) == 0.2
    err = {}
    for K in (100, 200, 250):
        (row,) = dg.gradient_vs_gap(
            (1e-1,), n=N, dtype=torch.float64, methods=("svd-taylor",), options={"svd-taylor": {"backward_degree": K}}
        )
        err[K] = row["error"]
    assert 1.3e-3 < err[200] < 1.7e-3 and 5e-4 < err[250] < 7e-4 and 0.8e-2 < err[100] < 1.2e-2
    K_star = 200 + 50 * math.log(err[200] / 1e-3) / math.log(err[200] / err[250])  # log-linear decay
    assert 210 < K_star < 230


# ------------------------------------------------------------------------------------- Section 12 and 13


def test_inverse_underestimates_by_at_most_100_percent(text):
    claims(text, "it **underestimates**, by at most 100 %")
    a = np.geomspace(1e-12, 1, 500)
    for K in (1, 5, 10):
        e = pade_relative_error(a, K, inverse=True)
        assert np.all(e <= 0) and np.all(e > -1)
    r = ly.compute_inverse_error(5, 1e4, n=N)  # the widget's default
    assert r["all_underestimate"] and r["max_deviation"] < 1e-12


# ------------------------------------------------------------------------------------- Exercises


def test_exercise1(text):
    claims(
        text,
        "$\\sqrt{\\lambda_{\\min}/\\|A\\|_F} \\approx \\sqrt{10^{-4}/1.5} \\approx 0.008$",
        "$\\|A\\|_F \\approx 1.5$), so $\\log_{3/2}(1/(2 \\cdot 0.008)) \\approx 10$",
        "$\\|B_k - I\\|_F \\approx 2\\cdot10^{-5}$ at $k = 15$ and $5\\cdot10^{-10}$ at $k = 16$ — 16 iterations",
    )
    r = ly.compute_sign_convergence(N, 1e4, 16)
    A = random_spd(N, 1e4, seed=0)
    assert round(float(torch.linalg.matrix_norm(A)), 1) == 1.5
    assert round(float(r["b0"].min()), 3) == 0.008
    assert round(math.log(1 / (2 * 0.008)) / math.log(1.5)) == 10
    assert round(r["b_residual"][14], 5) == 2e-5 and round(r["b_residual"][15], 10) == 5e-10
    assert r["b_residual"][14] > 1e-6 > r["b_residual"][15]


def test_exercise2_scales():
    for cond in (1e1, 1e4):
        A = random_spd(N, cond, seed=0)
        S = sqrtm_reference(A)
        assert float(torch.linalg.matrix_norm(S)) >= float(torch.linalg.matrix_norm(A).sqrt())


def _from_scratch(S, G, c, iters):
    """The notebook's lyapunov_from_scratch (Section 5), verbatim."""
    I = torch.eye(S.shape[-1], dtype=S.dtype)
    B, C = S / c, G / c
    for _ in range(iters):
        B2 = B @ B
        C = 0.5 * (-B2 @ C + B @ C @ B + C @ (3 * I - B2))
        B = 0.5 * B @ (3 * I - B2)
    return 0.5 * C


def _section5_problem(cond=1e2):
    A = random_spd(N, cond, seed=0)
    S = sqrtm_reference(A)
    G = random_gradient(N, symmetric=True, seed=1)
    X = scipy.linalg.solve_continuous_lyapunov(S.numpy(), G.numpy())
    return A, S, G, X


def test_exercise5_change_the_scale(text):
    claims(
        text,
        "$f = 1.5$ is even faster than the default (error about $10^{-6}$ after 8 iterations, against "
        "$7\\cdot10^{-3}$ for $c = \\sqrt{\\|A\\|_F}$)",
        "the error stays at about 10 % however many iterations are run. For $f = 2.5 > \\sqrt5$ it diverges (NaN)",
        "The paper's $c = \\|S\\|_F$ converges, more slowly: about 10 % error after 8 iterations.",
    )
    A, S, G, X = _section5_problem()
    lmax = torch.linalg.eigvalsh(S).max()
    err = lambda c, k: rel(_from_scratch(S, G, c, k), X)  # noqa: E731
    for f in (1.0, 1.5):
        assert err(lmax / f, 30) < 1e-12
    assert err(lmax / 1.5, 8) < 3e-6 and round(err(torch.linalg.matrix_norm(A).sqrt(), 8), 3) == 0.007
    for f in (1.75, 1.9):
        assert 0.05 < err(lmax / f, 30) < 0.2 and abs(err(lmax / f, 60) - err(lmax / f, 30)) < 1e-6
    assert math.isnan(err(lmax / 2.5, 30))
    paper = torch.linalg.matrix_norm(S)
    assert 0.07 < err(paper, 8) < 0.13 and err(paper, 30) < 1e-12


def test_exercise6_newton(text):
    claims(
        text,
        "With $c = \\lambda_{\\max}/2.5$ it reaches rounding level in 10 iterations.",
        "about 15 iterations pass before the error falls to $10^{-3}$",
    )
    A, S, G, X = _section5_problem(1e4)

    def newton(c, k):
        B, C = S / c, G / c
        for _ in range(k):
            Bi = torch.linalg.inv(B)
            B, C = 0.5 * (B + Bi), 0.5 * (C + Bi @ C @ Bi)
        return rel(0.5 * C, X)

    lmax = torch.linalg.eigvalsh(S).max()
    assert newton(lmax / 2.5, 10) < 1e-13 and newton(lmax / 2.5, 8) > 1e-8
    assert math.isnan(rel(_from_scratch(S, G, lmax / 2.5, 30), X))  # Newton–Schulz diverges there
    assert newton(100 * lmax, 14) > 1e-2 and 3e-4 < newton(100 * lmax, 15) < 3e-3


def test_exercise7_inverse_error_from_sqrt_error():
    a = np.geomspace(1e-8, 1, 200)
    for K in (2, 5):
        e_s = pade_relative_error(a, K)
        np.testing.assert_allclose(1 / (1 + e_s) - 1, pade_relative_error(a, K, inverse=True), atol=1e-15)


def test_exercise8_mpa_lifts_small_eigenvalues(text):
    claims(
        text,
        "(Section 6 shows $\\|B_8 - I\\|_F$ above 1)",
        "agrees with the exact Lyapunov gradient at the computed output, (a), to a fraction of a per cent",
        "the smallest eigenvalue of $\\tilde S$ is about $0.11$ instead of $0.01$",
    )
    assert ly.compute_sign_convergence(N, 1e4, 8)["b_residual"][-1] > 1
    case = ly.compute_gradient_case(1e4, n=N, dtype="float64")
    assert case["paper_vs_a"] < 0.01
    assert round(case["output_min_eigenvalue"], 2) == 0.11 and round(case["true_min_eigenvalue"], 2) == 0.01
