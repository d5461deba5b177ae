"""python -m mathsqrt.paper.studies.accuracy runs and measures what it says (exact pairs are exact)."""

from __future__ import annotations

import torch

from mathsqrt import methods
from mathsqrt.coefficients import pade_relative_error
from mathsqrt.paper.studies import accuracy


def test_accuracy_table_values():
    paper = methods.CONFIGURATIONS["mpa-lya"]
    rows = accuracy.accuracy_table(
        n=16,
        conds=(10.0,),
        combinations=(
            ("eigh", "eigh"),
            (paper.method, paper.backward),
            ("eigh", "autograd"),
            ("eigh", "bartels-stewart"),
        ),
    )
    by = {(r["forward"], r["backward"]): r for r in rows}
    # one name per pair: the configuration's, or "forward/backward"
    assert [r["method"] for r in rows] == ["eigh", "mpa-lya", "svd", "eigh/bartels-stewart"]
    assert by["eigh", "autograd"]["label"] == "SVD"
    by["mpa", "lyapunov"] = by[paper.method, paper.backward]
    assert by["eigh", "eigh"]["forward_mae"] < 1e-13 and by["eigh", "eigh"]["gradient_rel_error"] < 1e-12
    assert by["eigh", "autograd"]["gradient_rel_error"] < 1e-12
    # the MPA forward error is bounded by the exact Padé error at the smallest normalised eigenvalue
    A = accuracy.random_spd(16, 10.0, seed=0)
    a_min = float(torch.linalg.eigvalsh(A)[0] / torch.linalg.matrix_norm(A))
    assert 0 < by["mpa", "lyapunov"]["forward_mae"] <= pade_relative_error(a_min, 5)


def test_cli(capsys):
    assert accuracy.main(["--n", "8", "--conds", "10"]) == 0
    out = capsys.readouterr().out
    assert "| cond | method |" in out and "| MPA-Lya |" in out
    assert out.count("\n") >= 2 + len(accuracy.DEFAULT_COMBINATIONS)


def test_default_combinations_come_from_the_table():
    assert set(accuracy.DEFAULT_COMBINATIONS) == {
        (f, b) for f, b in methods.combinations() if methods.forward_method(f).root
    }
