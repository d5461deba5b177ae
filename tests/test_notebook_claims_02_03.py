"""Every number and ranking stated in the markdown of notebooks 02 and 03, recomputed.

Each test recomputes a claim with the same ``compute_*`` function and settings as the notebook cell that
shows it, and checks that the markdown still states it (the quoted phrase), so that text and output
cannot drift apart. Sizes are the notebooks' defaults (``n = 64`` where the text says so), not fast mode.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

import mathsqrt
from mathsqrt import coefficients as co
from mathsqrt.paper.widgets import approximation as ap
from mathsqrt.paper.widgets import forward as fw
from mathsqrt.testing import sqrtm_reference

ROOT = Path(__file__).resolve().parents[1]


def _markdown(name: str) -> str:
    nb = json.loads((ROOT / "notebooks" / name).read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


@pytest.fixture(scope="module")
def text02() -> str:
    return _markdown("02-taylor-vs-pade.ipynb")


@pytest.fixture(scope="module")
def text03() -> str:
    return _markdown("03-matrix-forward-pass.ipynb")


def _says(text: str, *phrases: str) -> None:
    for phrase in phrases:
        assert phrase in text, f"the notebook no longer says {phrase!r}"


def _pct(x: float) -> str:
    """``0.0304 -> '3.0 %'``, ``0.2121 -> '21 %'`` (two significant digits, as the text writes them)."""
    p = 100 * abs(x)
    return f"{p:.1f} %" if p < 10 else f"{p:.0f} %"


# =============================================================================================== 02


def test_02_from_scratch_code_matches_the_library():
    """The notebook's taylor_sqrt/pade_sqrt are checked there; here the identities its text relies on."""
    # [1/1] = (1 - 3z/4)/(1 - z/4) (exercise 1)
    assert co.pade_coefficients(1) == ((1, Fraction(-3, 4)), (1, Fraction(-1, 4)))


def test_02_taylor_is_slow_at_one(text02):
    _says(text02, "still 0.13 at degree 20", "`co.taylor_error_at_one(1000)` is still 0.018")
    assert round(co.taylor_error_at_one(20), 2) == 0.13
    assert round(co.taylor_error_at_one(1000), 3) == 0.018
    assert co.taylor_error_at_one(20) == pytest.approx(1 / math.sqrt(math.pi * 20), rel=0.01)


def test_02_error_against_degree_numbers(text02):
    _says(text02, "at $K = 10$, where Taylor of degree 20 is still at $4\\cdot10^{-9}$", "(Padé $[20/20]$: 1.6)")
    d = ap.compute_error_vs_degree(0.5, range(1, 21))
    assert abs(d["pade"][9]) < 5e-16 < abs(d["pade"][8])  # float64 rounding first reached at K = 10
    assert f"{d['taylor'][9]:.0e}" == "4e-09"
    d = ap.compute_error_vs_degree(1e-4, range(1, 21))
    assert round(d["pade"][-1], 1) == 1.6 and d["taylor"][-1] > d["pade"][-1]


def test_02_q_condition_bound(text02):
    _says(text02, "$4^K/(2K+1)$ ($\\approx 93$ for $K = 5$)")
    assert round(4**5 / 11) == 93


def test_02_diagonal_is_best_at_equal_cost_and_order(text02):
    _says(text02, "[d/d]$ has the smallest error", "the best is $[\\lceil T/2\\rceil/\\lfloor T/2\\rfloor]$")
    a = np.logspace(-6, 0, 25)[:-1]
    for d in range(1, 11):
        cells = [(m, n) for m in range(d + 1) for n in range(d + 1) if max(m, n) == d]
        errors = np.array([np.abs(ap.pade_mn_relative_error(a, *c)) for c in cells])
        assert {cells[i] for i in errors.argmin(axis=0)} == {(d, d)}, d
    for T in range(1, 11):
        cells = [(m, T - m) for m in range(T + 1)]
        errors = np.array([np.abs(ap.pade_mn_relative_error(a, *c)) for c in cells])
        assert {cells[i] for i in errors.argmin(axis=0)} == {((T + 1) // 2, T // 2)}, T
    table = ap.compute_pade_table(0.01)
    assert all(p == (d, d) for d, p in table["best_same_cost"].items())
    assert all(p == ((T + 1) // 2, T // 2) for T, p in table["best_same_order"].items())


def test_02_off_diagonal_numbers(text02):
    _says(text02, "by 6 % and 19 % at $a = 0.1$", "near $-16.5 \\pm 26.6i$", "even $[10/0]$ is wrong by 94 %")
    e = {p: ap.pade_mn_relative_error(np.array([0.1, 0.01]), *p) for p in [(5, 5), (6, 4), (4, 6), (10, 0)]}
    assert round(100 * (e[(6, 4)][0] / e[(5, 5)][0] - 1)) == 6
    assert round(100 * (e[(4, 6)][0] / e[(5, 5)][0] - 1)) == 19
    assert _pct(e[(10, 0)][1]) == "94 %"
    assert ap.mpa_cost(6, 4)[0] == ap.mpa_cost(5, 5)[0] + 1
    poles = np.array(co.pade_poles(4, 6))
    pair = poles[np.abs(poles.imag) > 1]
    np.testing.assert_allclose(sorted(pair.imag), [-26.6, 26.6], atol=0.05)
    np.testing.assert_allclose(pair.real, -16.5, atol=0.05)


def test_02_poles_on_the_cut_iff_n_le_m_and_q_positive(text02):
    _says(text02, "Poles stay on the cut only while $n \\le m$", "$Q$ stays positive there")
    table = ap.compute_pade_table(0.3)
    m, n = np.meshgrid(table["degrees"], table["degrees"], indexing="ij")
    assert np.all(table["on_cut"] == (n <= m))
    for mm in range(11):
        for nn in range(1, 11):
            assert co.pade_denominator_minimum(mm, nn).value > 0, (mm, nn)
    for pair in [(2, 8), (0, 6)]:  # "whose poles wander off into the complex plane"
        assert np.any(np.abs(np.array(co.pade_poles(*pair)).imag) > 1e-3), pair


def test_02_library_accepts_some_off_diagonal_degrees_and_refuses_others(text02):
    _says(text02, "accepts an off-diagonal degree where its polynomial evaluation is as")
    A = torch.eye(4, dtype=torch.float64) * 0.5 + 0.1
    mathsqrt.sqrtm(A, method="mpa", degree=(5, 3))
    with pytest.raises(ValueError, match="off-diagonal"):
        mathsqrt.sqrtm(A, method="mpa", degree=(0, 10))


def test_02_table5_numbers(text02):
    _says(
        text02,
        "condition number about 29, smallest normalised eigenvalue about 0.0098",
        "overestimated by 67 %, 40 %, 25 % and 16 %",
        "off by 7.4 %, 3.9 %, 2.2 % and 1.3 %",
        "factor 0.61–0.65, close to $r_{\\min}^2 = 0.67$",
        "($3.5$ points from $[3/3]$ to $[4/4]$, under one point from $[5/5]$ to $[6/6]$)",
        "six shifted Cholesky solves, no matmul",
    )
    r = ap.compute_degree_ablation(64)
    assert round(r["cond"]) == 29 and round(r["a"][0], 4) == 0.0098
    assert [_pct(w) for w in r["worst"]] == ["67 %", "40 %", "25 %", "16 %"]
    assert [_pct(f) for f in r["frobenius"]] == ["7.4 %", "3.9 %", "2.2 %", "1.3 %"]
    np.testing.assert_allclose(r["measured"], r["frobenius"], rtol=1e-12)  # "agree to 12 digits"
    assert 0.605 <= min(r["ratio"]) and max(r["ratio"]) < 0.655 and round(r["r_min"] ** 2, 2) == 0.67
    assert round(100 * (r["frobenius"][0] - r["frobenius"][1]), 1) == 3.5
    assert 100 * (r["frobenius"][2] - r["frobenius"][3]) < 1
    assert all(1 - x > 1 / 3 for x in r["ratio"])  # summary: "over a third of the remaining forward error"
    assert r["ops"][-1] == {"cholesky": 6, "solve": 6}
    assert [o["matmul"] for o in r["ops"][:3]] == [2, 3, 4]


def test_02_exercise_answers(text02):
    _says(text02, "`co.pade_degree_for_tolerance(1e-6, 1e-2)` returns 36", "whose error at\n$a = 0.01$ is 0.25")
    assert co.pade_degree_for_tolerance(1e-6, 1e-2) == 36 and round(co.pade_relative_error(0.01, 5), 2) == 0.25
    # exercise 2: the inverse square root's [K/K] is Q_K/P_K of the square root's
    for K in range(1, 7):
        P, Q = co.pade_coefficients(K)
        assert co.pade_coefficients(K, K, Fraction(-1, 2)) == (Q, P)
    # exercise 3: the float64 solve of the Padé system
    _says(text02, "At $K = 5$ the coefficients are right to about $10^{-12}$, at $K = 10$ only to about $10^{-6}$")
    f = ap.compute_float_pade_solve((5, 10, 15))
    assert f["error"][0] < 3e-12 and 1e-7 < f["error"][1] < 1e-5 and f["error"][2] > 0.5
    assert 1e5 < f["cond"][0] < 1e6 and 1e12 < f["cond"][1] < 1e14 and 1e18 < f["cond"][2] < 1e20
    # exercise 6: [5/3] versus [3/5] at a = 0.01
    _says(text02, "$[5/3]$ (error 0.40 at $a = 0.01$) beats $[3/5]$ (0.43)", "near $-10.8 \\pm 17.7i$")
    e53, e35 = (ap.pade_mn_relative_error(np.array([0.01]), *p)[0] for p in [(5, 3), (3, 5)])
    assert round(e53, 2) == 0.40 and round(e35, 2) == 0.43
    poles35 = np.array(co.pade_poles(3, 5))
    pair = poles35[np.abs(poles35.imag) > 1]
    np.testing.assert_allclose(pair.real, -10.8, atol=0.05) and np.testing.assert_allclose(
        sorted(pair.imag), [-17.7, 17.7], atol=0.05
    )
    p53 = np.array(co.pade_poles(5, 3))
    assert len(p53) == 3 and np.all(np.abs(p53.imag) < 1e-12) and np.all(p53.real > 1)


# =============================================================================================== 03


@pytest.fixture(scope="module")
def eig64():
    return fw.compute_eigen_errors(64, 1e2, degree=5, iters=5)


def test_03_smallest_eigenvalue_errors(text03, eig64):
    _says(text03, "$a \\approx 0.0037$", "MPA $[5/5]$ by $+0.71$ (71 % too large), MTP 11 by\n$+1.88$, NS 5 by $-0.56$")
    r = eig64
    assert round(r["a"][0], 4) == 0.0037
    assert f"{r['measured']['mpa'][0]:+.2f}" == "+0.71"
    assert f"{r['measured']['mtp'][0]:+.2f}" == "+1.88"
    assert f"{r['measured']['ns'][0]:+.2f}" == "-0.56"


def test_03_mpa_unbounded_ns_bounded(text03):
    _says(text03, "$2r^N/(1-r^N) \\approx 1/(N\\sqrt a)$", "the relative error stays in $(-1, 0]$")
    a = np.logspace(-12, -6, 7)
    for K in (3, 5, 9):
        ratio = co.pade_relative_error(a, K) * (2 * K + 1) * np.sqrt(a)
        assert np.all(np.diff(np.abs(ratio - 1)) > 0) and abs(ratio[0] - 1) < 1e-4 and abs(ratio[-1] - 1) < 0.03
    np.testing.assert_allclose(
        fw.method_relative_error("mtp", a, 11) * np.sqrt(a), co.taylor_error_at_one(11), rtol=1e-2
    )
    grid = np.logspace(-12, 0, 49)
    for T in (1, 2, 5, 10, 20):
        e = fw.ns_relative_error(grid, T)
        assert np.all(e > -1) and np.all(e <= 1e-50), T  # 60-digit evaluation
    assert np.all(co.pade_relative_error(grid, 5) >= 0) and np.all(fw.method_relative_error("mtp", grid, 11) >= 0)


def test_03_per_matmul_ranking(text03):
    _says(
        text03,
        "MPA ($[7/7]$) is at 3.0 % where NS (3 iterations) is at 21 % and MTP at 35 %",
        "(6–8 matmuls) up to condition number $10^4$",
        "within 6 matmuls MPA and NS are both at 18 %",
        "4 iterations (9 matmuls, 12 %) is already more accurate than every MPA of the sweep ($[9/9]$: 13 %)",
        "MPA $[5/5]$ is off by $+0.71$ at condition number $10^2$ but by $+38$\n  (a factor 39) at $10^5$",
        "($-0.56$, then $-0.98$)",
    )
    from mathsqrt.paper.data import FIG1C_SETTINGS

    _says(text03, "(MTP degrees 6–18, MPA $[3/3]$–$[9/9]$, NS 3–7 iterations)")
    assert {k: (min(v), max(v)) for k, v in FIG1C_SETTINGS.items()} == {"mtp": (6, 18), "mpa": (3, 9), "ns": (3, 7)}
    rows = fw.compute_error_vs_matmuls(64, 1e2)
    assert [_pct(fw.best_within(rows, m, 6)) for m in ("mpa", "ns", "mtp")] == ["3.0 %", "21 %", "35 %"]
    best6 = min((r for r in rows if r["method"] == "mpa" and r["matmuls"] <= 6), key=lambda r: r["error"])
    assert best6["setting"] == 7
    for cond in (1e2, 1e3, 1e4):
        rows = fw.compute_error_vs_matmuls(64, cond)
        for b in (6, 7, 8):
            mpa = fw.best_within(rows, "mpa", b)
            assert mpa < fw.best_within(rows, "ns", b) and mpa < fw.best_within(rows, "mtp", b), (cond, b)
    rows = fw.compute_error_vs_matmuls(64, 1e5)
    assert _pct(fw.best_within(rows, "mpa", 6)) == _pct(fw.best_within(rows, "ns", 6)) == "18 %"
    ns4 = next(r for r in rows if r["method"] == "ns" and r["setting"] == 4)
    best_mpa = min((r for r in rows if r["method"] == "mpa"), key=lambda r: r["error"])
    assert ns4["matmuls"] == 9 and _pct(ns4["error"]) == "12 %"
    assert best_mpa["setting"] == 9 and _pct(best_mpa["error"]) == "13 %" and ns4["error"] < best_mpa["error"]
    mpa5 = next(r for r in rows if r["method"] == "mpa" and r["setting"] == 5)
    ns5 = next(r for r in rows if r["method"] == "ns" and r["setting"] == 5)
    assert round(mpa5["worst"]) == 38 and round(1 + mpa5["worst"]) == 39 and round(ns5["worst"], 2) == 0.98


def test_03_precision_table_claims(text03):
    _says(
        text03,
        "float64, float32 and even\n  bfloat16 agree to two digits",
        "reach a few $10^{-7}$ in float32 — ten to thirty times the rounding",
        "MPA $[30/30]$ is still at its exact-arithmetic error ($1.5\\cdot10^{-5}$) in float32",
        "about $3\\cdot10^{-3}$",
    )
    rows = {(r["method"], r["setting"]): r for r in fw.compute_precision_table(32, 1e2)}
    for key in (("mtp", 11), ("mpa", 5), ("ns", 5)):
        values = [rows[key][d] for d in ("float64", "float32", "bfloat16")]
        assert len({f"{v:.1e}" for v in values}) <= 2 and max(values) / min(values) < 1.05, key
    rounding = rows[("rounding", None)]
    for key in (("ns", 20), ("eigh", None)):
        assert 1e-7 < rows[key]["float32"] < 1e-6 and 10 <= rows[key]["float32"] / rounding["float32"] <= 30, key
    assert f"{rows[('mpa', 30)]['float32']:.1e}" == f"{rows[('mpa', 30)]['truncation']:.1e}" == "1.5e-05"
    assert round(rounding["bfloat16"], 3) == 0.003
    for key in (("mpa", 30), ("ns", 20), ("eigh", None)):
        assert rows[key]["bfloat16"] == pytest.approx(rounding["bfloat16"], rel=0.1), key
    _says(text03, "$2^{-24} \\approx 6\\cdot10^{-8}$", "$2^{-8} \\approx 4\\cdot10^{-3}$")
    assert torch.finfo(torch.float32).eps / 2 == 2**-24 and torch.finfo(torch.bfloat16).eps / 2 == 2**-8


def test_03_z_form_cancellation(text03):
    _says(
        text03,
        "$P_K(-1) \\approx \\tfrac12(1+\\sqrt2)^{2K+1}/4^K$",
        "$(3 + 2\\sqrt2)^K \\approx 5.8^K$",
        "$\\log_{10} 5.8 \\approx 0.77$ digits per degree",
        "(they sum to $P(z = 0) = 1$)",
    )
    for K in range(1, 21):
        P, _ = co.pade_coefficients(K)
        assert sum(abs(c) for c in P) == co.evaluate(P, Fraction(-1)) == abs(co.evaluate(P, Fraction(-1)))
        assert sum(co.compose_one_minus(P)) == 1 and all(c > 0 for c in co.compose_one_minus(P))
        N = 2 * K + 1
        closed = ((1 + math.sqrt(2)) ** N + (1 - math.sqrt(2)) ** N) / (2 * 4**K)  # notebook 02's closed form
        assert float(co.evaluate(P, Fraction(-1))) == pytest.approx(closed, rel=1e-12)
        assert float(co.evaluate(P, Fraction(-1))) == pytest.approx(0.5 * (1 + math.sqrt(2)) ** N / 4**K, rel=0.01)
        assert co.evaluate(P, Fraction(1)) == Fraction(1, 4**K)
    assert round(3 + 2 * math.sqrt(2), 1) == 5.8 and round(math.log10(3 + 2 * math.sqrt(2)), 2) == 0.77


def test_03_where_each_evaluation_leaves_the_curve(text03):
    _says(
        text03,
        "In float32 the $Z$-form leaves the exact-arithmetic curve at $K = 10$, the $W$-form at $K = 15$",
        "in bfloat16 the $Z$-form is off already at $K = 4$; even float64 loses the $Z$-form at\n$K = 21$",
        "float32's $\\log_{10}2^{24} = 7.2$ digits last $7.2/0.77 \\approx 9.4$ degrees",
        "16 digits about 21, bfloat16's 2.4 digits about 3",
        "(float32: from $K = 10$), in $W$ later ($K = 15$)",
    )
    expected = {"float32": (10, 15), "float64": (21, 31), "bfloat16": (4, 7)}
    digits = {"float32": 24, "float64": 53, "bfloat16": 8}
    for dtype, (z_first, w_first) in expected.items():
        zw = fw.compute_z_vs_w(32, 1e2, dtype)
        bad = {k: zw[k] > 2 * np.maximum(zw["truncation"], zw["rounding"]) for k in ("Z", "W", "library")}
        assert int(zw["K"][np.argmax(bad["Z"])]) == z_first and int(zw["K"][np.argmax(bad["W"])]) == w_first, dtype
        assert not bad["library"].any(), dtype
        predicted = digits[dtype] * math.log10(2) / 0.77
        assert abs(predicted - z_first) <= 1, dtype
    assert round(24 * math.log10(2), 1) == 7.2 and round(7.2 / 0.77, 1) == 9.4
    assert round(53 * math.log10(2) / 0.77) == 21 and round(8 * math.log10(2), 1) == 2.4
    assert round(8 * math.log10(2) / 0.77) == 3


def test_03_normalisation_numbers(text03):
    _says(
        text03,
        "$\\|A\\|_F = 2.71\\,\\lambda_{\\max}$ while the bound is $u = 1.11\\,\\lambda_{\\max}$",
        "grows from $0.0037$ to $0.0090$, and the error of MPA $[5/5]$ falls from 6.4 % to 2.1 %",
        "(NS 5: 7.6 % to 3.4 %; MTP 11: 21 % to 8.9 %)",
        "MPA $[7/7]$ with the Frobenius norm costs the same 6 matmuls and is at 3.0 %",
        "the full $\\sqrt n = 8$",
    )
    out = {}
    for method, setting in (("mpa", 5), ("ns", 5), ("mtp", 11)):
        out[method] = fw.compute_normalisation(64, 1e2, method, setting, sweep=range(1, 13))
    r = out["mpa"]
    assert f"{r['fro'] / r['lam_max']:.2f}" == "2.71" and f"{r['upper'] / r['lam_max']:.2f}" == "1.11"
    assert r["upper"] <= 64 ** (1 / 8) * r["lam_max"]
    assert f"{r['a']['frobenius'][0]:.4f}" == "0.0037" and f"{r['a']['spectral'][0]:.4f}" == "0.0090"
    got = {m: (_pct(v["error"]["frobenius"]), _pct(v["error"]["spectral"])) for m, v in out.items()}
    assert got == {"mpa": ("6.4 %", "2.1 %"), "ns": ("7.6 %", "3.4 %"), "mtp": ("21 %", "8.9 %")}
    assert (
        _pct(r["sweep_error"]["frobenius"][6]) == "3.0 %"
        and r["sweep_error"]["spectral"][4] < r["sweep_error"]["frobenius"][6]
    )
    assert fw.matmul_count("mpa", 7)[0] == fw.matmul_count("mpa", 5)[0] + 2  # "two matmuls" of the bound
    from mathsqrt.scaled import spectral_bounds

    with mathsqrt.count_ops() as ops:
        spectral_bounds(fw.compute_test_matrix(16, 10.0))
    assert ops["matmul"] == 2  # "from two squarings (two matmuls)"
    _says(text03, "from two squarings (two matmuls):\n$u \\le n^{1/8}\\lambda_{\\max}$")
    flat = fw.compute_normalisation(64, 1.0, "mpa", 5)
    assert flat["fro"] / flat["lam_max"] == pytest.approx(8.0, rel=1e-12)


def test_03_exercise_answers(text03, eig64):
    # exercise 2 (NS slow start)
    _says(text03, "$k \\approx \\ln(10^4)/(2\\ln 1.5) \\approx 11$", "still $-0.28$ at $T = 11$")
    e = [float(fw.ns_relative_error(1e-4, T)) for T in range(11, 16)]
    assert [round(e[0], 2), round(e[1], 2)] == [-0.28, -0.11]
    assert f"{e[2]:.1e}" == "-1.6e-02" and f"{e[3]:.0e}" == "-4e-04" and f"{e[4]:.1e}" == "-2.4e-07"
    assert round(math.log(1e4) / (2 * math.log(1.5))) == 11
    # exercise 4: degrees for 1e-6 under both normalisations
    _says(text03, "$K = 60$", "$a_{\\min} = 0.0090$ and $K = 38$", "saves 22 degrees")
    r = fw.compute_normalisation(64, 1e2, "mpa", 5)
    k_fro = co.pade_degree_for_tolerance(1e-6, eig64["a"][0])
    k_spec = co.pade_degree_for_tolerance(1e-6, r["a"]["spectral"][0])
    assert (k_fro, k_spec) == (60, 38)
    assert round(eig64["a"][-1] ** -1, 1) == 2.7  # ||A||_F / lambda_max
    # exercise 5: the Taylor inverse square root
    _says(text03, "about 0.64 at degree 11 against 0.21 for the square root")
    A, _, _ = fw._matrices(64, 1e2, (), 0)
    S_ref = sqrtm_reference(A)
    R_ref = torch.linalg.inv(S_ref)

    def rel(X, Y):
        return float(torch.linalg.matrix_norm(X - Y) / torch.linalg.matrix_norm(Y))

    assert round(rel(mathsqrt.invsqrtm(A, method="mtp", degree=11), R_ref), 2) == 0.64
    assert round(rel(mathsqrt.sqrtm(A, method="mtp", degree=11), S_ref), 2) == 0.21
    # exercise 6: Z and W forms in float32
    _says(
        text03,
        "At $K = 5$ both agree with the exact-arithmetic error (6.4 %)",
        "$Z$-form is at about 10 % while the $W$-form\nstill gives 1.1 %",
        "(an error in the hundreds)",
        "(7 % instead of 0.069 %)",
    )
    err = {(K, f): rel(fw.mpa_polynomial_form(A, K, form=f, dtype="float32"), S_ref) for K in (5, 10, 20) for f in "ZW"}
    assert _pct(err[(5, "Z")]) == _pct(err[(5, "W")]) == "6.4 %"
    assert 0.08 < err[(10, "Z")] < 0.12 and _pct(err[(10, "W")]) == "1.1 %"
    assert 100 <= err[(20, "Z")] < 1000 and round(100 * err[(20, "W")]) == 7
    lib20 = rel(mathsqrt.sqrtm(A.float(), method="mpa", degree=20).double(), S_ref)
    assert round(100 * lib20, 3) == 0.069
    # exercise 7
    assert [mathsqrt.forward.ns_matmul_count(T) for T in (2, 5, 7)] == [3, 12, 18]
    # exercise 8: a scale that is too small
    _says(text03, "error above 100", "(error\nabout 1)", "(0.12 % here, against 1.8 % at $c = \\lambda_{\\max}$)")
    lam = np.linalg.eigvalsh(A.numpy())
    c = lam[-1] / 4
    assert rel(fw.forward_normalised(A, "mtp", 11, c), S_ref) > 100
    assert round(rel(fw.forward_normalised(A, "ns", 5, c), S_ref), 1) == 1.0
    assert _pct(rel(fw.forward_normalised(A, "mpa", 5, c), S_ref)) == "0.1 %"
    assert round(100 * rel(fw.forward_normalised(A, "mpa", 5, c), S_ref), 2) == 0.12
    assert _pct(rel(fw.forward_normalised(A, "mpa", 5, lam[-1]), S_ref)) == "1.8 %"
    balanced = rel(fw.forward_normalised(A, "mpa", 5, math.sqrt(lam[0] * lam[-1])), S_ref)
    for f in (1.0, 0.5, 0.25, 0.2, 0.05, 1 / 15):
        assert balanced < rel(fw.forward_normalised(A, "mpa", 5, f * lam[-1]), S_ref), f
