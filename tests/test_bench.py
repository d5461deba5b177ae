"""The benchmark runs and writes well-formed files; the operation counts match the papers' formulas.

No timing is asserted anywhere: only that timings exist, are positive and are written.
"""

from __future__ import annotations

import csv
import json
import time

import pytest
import torch

import mathsqrt
from mathsqrt import methods
from mathsqrt.counting import count_aten_ops, count_forward_backward
from mathsqrt.paper.bench import (
    BenchMethod,
    EventTimer,
    WallTimer,
    configurations,
    main,
    make_timer,
    resolve_device,
    time_functions,
    time_round_robin,
)
from mathsqrt.paper.bench.cli import headline_markdown
from mathsqrt.testing import random_covariance

ALL_SWEEPS = (
    "headline",
    "counts",
    "batch",
    "dimension",
    "forward",
    "backward",
    "degree",
    "lyapunov",
    "condition",
    "matrix",
)

# Columns every sweep's CSV must have, and the per-sweep extras the figures read.
COMMON = {"sweep", "device", "dtype", "family", "cond", "n", "batch", "seed", "method", "label", "forward", "backward"}
EXTRA = {
    "headline": {
        "time_ms",
        "repeats",
        "fw_matmul",
        "bw_matmul",
        "matmul_ms",
        "matmul_floor_ms",
        "op_floor_ms",
        "ratio_to_matmul_floor",
        "ratio_to_op_floor",
    },
    "counts": {
        "fw_matmul",
        "bw_matmul",
        "fw_solve",
        "fw_cholesky",
        "pkg_fw_matmul",
        "paper_fw_matmul",
        "paper_bw_matmul",
        "vary",
    },
    "batch": {"time_ms", "matmul_ms", "matmuls", "ratio_to_matmul_floor"},
    "dimension": {"time_ms", "mae", "rel_err"},
    "forward": {"time_ms", "mae", "rel_err", "matched_degree", "fw_matmul"},
    "backward": {"time_ms", "iterations", "bw_matmul"},
    "degree": {"time_ms"},
    "lyapunov": {"iterations", "scale", "residual_B", "residual_X", "time_ms"},
    "condition": {"rel_err", "grad_rel_err"},
    "matrix": {"time_ms", "supported", "grad_rel_err"},
}


# ----------------------------------------------------------------------------- formulas (oracles)
# Written from the papers' operation counts, independently of the counting code.


def mtp_matmuls(K: int) -> int:
    """Taylor degree K by successive powers Z^2..Z^K: K - 1 products (paper Table 1)."""
    return K - 1


def mpa_matmuls(k: int) -> int:
    """[k/k] Padé: powers Z^2..Z^k shared by P and Q, k - 1 products, then one solve.

    Paper Table 1: (K-1)/2 with K = 2k+1.
    """
    return k - 1


def ns_forward_matmuls(T: int) -> int:
    """Coupled NS, 3 products per iteration (paper Table 1: 3T) minus the 2 with Z_0 = I and the unused last one."""
    return 3 * T - 3


def ns_autograd_backward_matmuls(T: int) -> int:
    """Reverse mode of a product C = A B costs two products (dA = dC B^T, dB = A^T dC)."""
    return 2 * ns_forward_matmuls(T)


def lyapunov_matmuls(T: int) -> int:
    """Matrix-sign iteration on the blocks B, C: 6 products per iteration (paper Table 2)."""
    return 6 * T


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    start = time.perf_counter()
    threads = torch.get_num_threads()
    status = main(["--quick", "--threads", "1", "--out", str(out), "--no-progress", "--sweeps", ",".join(ALL_SWEEPS)])
    assert torch.get_num_threads() == threads  # restored
    assert status == 0
    return out, time.perf_counter() - start


def _read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sweep", ALL_SWEEPS)
def test_quick_bench_writes_well_formed_csv(quick_run, sweep):
    out, _ = quick_run
    rows = _read(out / f"{sweep}.csv")
    assert rows, f"{sweep}.csv is empty"
    missing = (COMMON | EXTRA[sweep]) - set(rows[0])
    assert not missing, f"{sweep}.csv lacks columns {missing}"
    assert all(r["sweep"] == sweep and r["device"] == "cpu" for r in rows)
    # one name per method: a configuration of the table, or "forward/backward" for another pair
    for r in rows:
        assert r["method"] in methods.CONFIGURATIONS or r["method"] == f"{r['forward']}/{r['backward']}", r["method"]
        if r["method"] in methods.CONFIGURATIONS:
            assert (methods.CONFIGURATIONS[r["method"]].method, methods.CONFIGURATIONS[r["method"]].backward) == (
                r["forward"],
                r["backward"],
            )
    keys = [(r["label"], r["n"], r["batch"], r["cond"], r["dtype"]) for r in rows if r.get("time_ms")]
    if sweep != "lyapunov":  # there, one timing per label is repeated on the rows of both scalings
        assert len(keys) == len(set(keys)), "labels must tell the timed rows of a sweep apart"
    for r in rows:
        if r.get("time_ms"):
            assert float(r["time_ms"]) > 0 and int(r["repeats"]) >= 1
            assert float(r["time_iqr_ms"]) >= 0
        for key in ("mae", "rel_err", "grad_rel_err", "residual_B", "residual_X"):
            if r.get(key):
                assert float(r[key]) >= 0 and float(r[key]) == float(r[key])  # not NaN


def test_metadata_json(quick_run):
    out, _ = quick_run
    meta = json.loads((out / "metadata.json").read_text())
    for key in (
        "torch_version",
        "device_name",
        "cpu_model",
        "torch_threads",
        "date_utc",
        "command_line",
        "quick",
        "sweeps",
        "runs",
        "forwards",
        "backwards",
        "configurations",
        "statistic",
    ):
        assert key in meta, key
    assert meta["configurations"] == {name: c.label for name, c in methods.CONFIGURATIONS.items()}
    assert meta["quick"] is True and meta["torch_version"] == torch.__version__
    assert "--quick" in meta["command_line"]
    assert set(meta["sweeps"]) == set(ALL_SWEEPS) == set(meta["runs"])
    assert (out / "headline.md").read_text().startswith("FP+BP")


def test_every_method_of_the_table_appears(quick_run):
    """Every forward × backward of the method table is in the matrix sweep, timed exactly when the table
    says the pair is compatible; every configuration is in the batch sweep, under its name and label."""
    out, _ = quick_run
    rows = _read(out / "matrix.csv")
    assert {(r["forward"], r["backward"]) for r in rows} == {
        (f, b) for f in methods.FORWARDS for b in methods.BACKWARDS
    }
    timed = {(r["forward"], r["backward"]) for r in rows if r["supported"] == "True"}
    assert timed == set(methods.combinations())
    assert all(float(r["time_ms"]) > 0 for r in rows if r["supported"] == "True")
    batch = {(r["method"], r["label"]) for r in _read(out / "batch.csv")}
    assert {(name, c.label) for name, c in methods.CONFIGURATIONS.items()} <= batch
    headline = {r["method"] for r in _read(out / "headline.csv")}
    assert headline == {m.name for m in configurations(baselines=False)} and "svd" in headline and "pi" not in headline


def test_counts_csv_matches_formulas(quick_run):
    out, _ = quick_run
    rows = {r["label"]: r for r in _read(out / "counts.csv")}
    for K in range(6, 19, 2):
        r = rows[f"MTP K={K}"]
        assert int(r["fw_matmul"]) == int(r["pkg_fw_matmul"]) == mtp_matmuls(K)
        assert int(r["bw_matmul"]) == lyapunov_matmuls(8)
    for k in range(3, 10):
        r = rows[f"MPA [{k}/{k}]"]
        assert int(r["fw_matmul"]) == int(r["pkg_fw_matmul"])
        if k <= 5:  # the paper's polynomial evaluation
            assert int(r["fw_matmul"]) == mpa_matmuls(k) and int(r["fw_solve"]) == 1 and int(r["fw_cholesky"]) == 1
        else:  # above [5/5] mathsqrt sums partial fractions: one shifted Cholesky solve per pole, no product
            assert int(r["fw_matmul"]) == 0 and int(r["fw_solve"]) == int(r["fw_cholesky"]) == k
        assert int(r["paper_fw_matmul"]) == (2 * k + 1 - 1) // 2
    for T in range(3, 8):
        r = rows[f"NS T={T}"]
        assert int(r["fw_matmul"]) == ns_forward_matmuls(T)
        assert int(r["bw_matmul"]) == ns_autograd_backward_matmuls(T)
        assert int(r["paper_bw_matmul"]) == 4 + 10 * T
    for T in range(5, 10):
        assert int(rows[f"MPA-Lya k={T}"]["bw_matmul"]) == lyapunov_matmuls(T)


@pytest.mark.parametrize("T", [1, 3, 8])
def test_lyapunov_backward_count_direct(T):
    A = random_covariance(6, 3, seed=1)
    G = torch.randn(3, 6, 6, dtype=torch.float64)
    fw, bw = count_forward_backward(
        lambda X: mathsqrt.sqrtm(X, backward="lyapunov-ns", backward_iters=T, check_finite=False), A, G
    )
    assert bw["matmul"] == lyapunov_matmuls(T)
    assert fw["matmul"] == mpa_matmuls(5) and fw["solve"] == 1


@pytest.mark.parametrize("T", [2, 5, 7])
def test_ns_autograd_count_direct(T):
    A = random_covariance(5, 2, seed=2)
    G = torch.randn(2, 5, 5, dtype=torch.float64)
    fw, bw = count_forward_backward(
        lambda X: mathsqrt.sqrtm(X, method="ns", iters=T, backward="autograd", check_finite=False), A, G
    )
    assert fw["matmul"] == ns_forward_matmuls(T)
    assert bw["matmul"] == ns_autograd_backward_matmuls(T)


def test_aten_counter_counts_plain_torch():
    """The dispatcher counter sees products torch makes itself (independent of mathsqrt's wrappers)."""
    x = torch.randn(3, 4, 4, requires_grad=True)
    with count_aten_ops() as ops:
        y = x @ x @ x
        torch.autograd.grad(y.sum(), x)
    assert ops["matmul"] == 2 + 4
    assert ops.raw["bmm"] >= 1


# ----------------------------------------------------------------------------------------- timers


class FakeEvent:
    """Stands in for torch.cuda.Event: records a clock, reports milliseconds between records."""

    log = []

    def __init__(self):
        self.t = None

    def record(self):
        self.t = time.perf_counter()
        FakeEvent.log.append("record")

    def synchronize(self):
        FakeEvent.log.append("event-sync")

    def elapsed_time(self, other):
        return (other.t - self.t) * 1e3


def test_event_timer_logic_with_fake_events():
    FakeEvent.log = []
    syncs = []
    timer = EventTimer(FakeEvent, synchronize=lambda: syncs.append(1))
    ms = timer.time(lambda: time.sleep(0.02))
    assert 15 <= ms <= 2000
    assert syncs == [1]
    assert FakeEvent.log == ["record", "record", "event-sync"]


def test_wall_timer_and_make_timer():
    calls = []
    ms = WallTimer(synchronize=lambda: calls.append(1)).time(lambda: time.sleep(0.01))
    assert ms >= 8 and calls == [1, 1]
    assert isinstance(make_timer(torch.device("cpu")), WallTimer)


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="cpu' or 'cuda"):
        resolve_device("meta")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda"):
            resolve_device("cuda")
        assert main(["--device", "cuda", "--quick", "--sweeps", "counts"]) == 2


def test_round_robin_rotates_and_counts():
    order = []
    fns = {name: (lambda name=name: order.append(name)) for name in "abc"}
    res = time_round_robin(fns, timer=WallTimer(), repeats=3, warmup=1)
    assert order[:3] == ["a", "b", "c"]  # warm-up
    assert order[3:] == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert all(len(r.times_ms) == 3 and r.median >= 0 for r in res.values())
    with pytest.raises(ValueError):
        time_round_robin(fns, timer=WallTimer(), repeats=0)


def test_time_functions_fits_repeats_to_the_budget():
    calls = []
    res = time_functions({"a": lambda: calls.append(1)}, budget_s=float("inf"), min_repeats=2, max_repeats=4, warmup=2)
    assert len(res["a"].times_ms) == 4 and len(calls) == 2 + 4  # two warm-up rounds (one prices a round), four repeats
    res = time_functions({"slow": lambda: time.sleep(0.02)}, budget_s=0.0, min_repeats=3, max_repeats=10)
    assert len(res["slow"].times_ms) == 3 and res["slow"].median >= 15 and res["slow"].iqr >= 0
    assert set(res["slow"].row()) == {"time_ms", "time_iqr_ms", "repeats"}
    with pytest.raises(ValueError):
        time_functions({"a": lambda: None}, min_repeats=5, max_repeats=2)


def test_bench_method_reads_the_table():
    config = methods.CONFIGURATIONS["mtp-lya"]
    m = BenchMethod.configuration("mtp-lya", degree=6)
    assert (m.name, m.method, m.backward, m.label) == ("mtp-lya", config.method, config.backward, config.label)
    assert m.settings() == {"degree": 6, "backward_iters": 8}
    assert BenchMethod.configuration("mtp-lya", backward_tol=1e-6).settings() == {"degree": 11, "backward_tol": 1e-6}
    assert BenchMethod.pair("eigh", "autograd").name == "svd"
    assert BenchMethod.pair("eigh", "bartels-stewart").name == "eigh/bartels-stewart"
    assert BenchMethod.pair("eigh", "bartels-stewart").label == "eigh + Bartels–Stewart"
    with pytest.raises(ValueError):
        BenchMethod.configuration("eigh-autograd")
    with pytest.raises(ValueError):
        BenchMethod.pair("mpa", "svd-taylor")  # the table says: needs method='eigh'
    assert [m.name for m in configurations()] == list(methods.CONFIGURATIONS)


def test_unknown_sweep_is_an_error(tmp_path):
    assert main(["--quick", "--sweeps", "nonsense", "--out", str(tmp_path), "--no-progress"]) == 2


def test_headline_markdown_ratios():
    base = {"n": 64, "batch": 1, "fw_matmul": 4, "bw_matmul": 48}
    rows = [
        dict(base, method="mpa-lya", time_ms=2.0, ratio_to_matmul_floor=1.5, ratio_to_op_floor=1.2),
        dict(base, method="ns", time_ms=5.0, ratio_to_matmul_floor=2.0, ratio_to_op_floor=2.0),
        dict(base, method="svd", time_ms=1.0, ratio_to_matmul_floor=9.0, ratio_to_op_floor=1.1),
    ]
    md = headline_markdown(rows, {"device_name": "cpu X", "command_line": "python -m mathsqrt.paper.bench"})
    assert "| input | MPA-Lya | NS | SVD | NS / MPA-Lya | SVD / MPA-Lya |" in md
    assert "| 1×64×64 | 2.00 | 5.00 | 1.00 | 2.50× | 0.50× |" in md
    assert "1.50 / 1.20" in md
