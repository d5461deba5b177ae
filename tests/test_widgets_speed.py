"""Notebook 05 widgets: live timing (no timing asserted), counts against the papers' formulas, K40 numbers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest
import torch

from mathsqrt import methods
from mathsqrt.paper import data
from mathsqrt.paper.plotting import new_figure
from mathsqrt.paper.widgets import speed


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setenv("MATHSQRT_FAST", "1")


def test_paper_numbers_are_the_papers():
    # Song, Sebe & Wang (ICLR 2022): Table 3 (1x64x64), Table 4 (64x48x48), Table 8, Sec. 4.1.3
    assert speed.paper_reference(1, 64)["mpa-lya"] == 2.52 and speed.paper_reference(1, 64)["ns"] == 2.96
    assert speed.paper_reference(64, 48)["ns"] == 10.38 and speed.paper_reference(64, 48)["pi"] == 1.84
    assert speed.paper_reference(1, 1024) == {"mtp-lya": 7.32, "mpa-lya": 11.28, "ns": 12.69}
    assert speed.paper_reference(3, 17) == {}
    assert data.BATCH64_SPEEDUP["mpa-lya"] == {"ns": 2.58, "svd": 27.25}
    assert data.k40_by_dimension()["mpa-lya"] == {256: 5.56, 512: 7.47, 1024: 11.28}
    table = speed.format_paper_tables()
    assert "| input | MPA-Lya | MTP-Lya | NS | SVD-Taylor | SVD-Padé | SVD-PI | PI | source |" in table
    assert "| 1×256×256 | 5.56 | 4.88 | 6.28 |" in table


def test_paper_numbers_are_keyed_by_configuration_names():
    keys = {name for times in data.K40_MS.values() for name in times} | set(data.BATCH64_SPEEDUP)
    keys |= {name for ratios in data.BATCH64_SPEEDUP.values() for name in ratios} | {data.PROPOSED}
    assert keys <= set(methods.CONFIGURATIONS)
    assert set(data.K40_SOURCES) == set(data.K40_MS)
    assert {"mpa-lya", "mtp-lya", "ns", "svd", "eigh"} <= set(speed.SPEED_METHODS) <= set(methods.CONFIGURATIONS)
    assert not {"svd-taylor", "svd-pade", "svd-pi", "pi"} & set(speed.SPEED_METHODS)  # the paper's baselines


def test_available_devices():
    devices = speed.available_devices()
    assert devices[0] == "cpu"
    assert ("cuda" in devices) == torch.cuda.is_available()


def test_compute_timing_is_robust_and_cached():
    speed.clear_cache()
    t1 = speed.compute_timing(8, 2)
    assert set(t1) == set(speed.SPEED_METHODS)
    for r in t1.values():
        # a floor of repeats whatever the warm-up cost; the warm-up kept aside, never in the statistic
        assert speed.LIVE_MIN_REPEATS <= r.repeats <= speed.LIVE_MAX_REPEATS
        assert len(r.warmup_ms) == speed.LIVE_WARMUP
        q1, q3 = r.quartiles
        assert 0 < min(r.times_ms) <= q1 <= r.median <= q3 <= max(r.times_ms)
    t2 = speed.compute_timing(8, 2)
    assert all(t2[k] is t1[k] for k in t1)  # cached: the same measurement, not a new one
    assert set(speed.visited(8)) == {2}
    assert torch.get_num_threads() >= 1
    with pytest.raises(ValueError):
        speed.compute_timing(1, 2)
    with pytest.raises(ValueError, match="unknown method"):
        speed.compute_timing(8, 1, methods=("nope",))


def test_time_live_restores_threads_and_keeps_the_floor():
    import time

    before = torch.get_num_threads()
    seen = []
    calls = []

    def slow_first():
        seen.append(torch.get_num_threads())
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.6)  # a warm-up longer than the whole time budget

    res = speed.time_live({"f": slow_first}, threads=1)["f"]
    assert torch.get_num_threads() == before and set(seen) == {1}
    assert res.repeats >= speed.LIVE_MIN_REPEATS and max(res.times_ms) < 500  # the slow call was discarded
    assert res.warmup_ms[0] >= 500


def test_verdict_and_format_timings():
    from mathsqrt.paper.timing import TimingResult

    fast, slow, wide = (
        TimingResult([1, 1.1, 1.2, 1.3, 1.4]),
        TimingResult([3, 3.1, 3.2, 3.3, 3.4]),
        TimingResult([1, 1.2, 3, 4, 5]),
    )
    assert speed.verdict(fast, slow) == "faster" and speed.verdict(slow, fast) == "slower"
    assert speed.verdict(fast, wide) == "not resolved"
    fast.warmup_ms = [50.0, 1.5]
    text = speed.format_timings({"mpa-lya": fast, "ns": slow, "mine": wide}, note="")
    lines = text.splitlines()
    assert lines[1].startswith("MPA-Lya") and "(reference)" in lines[1] and "50.00" in lines[1]
    assert lines[2].startswith("NS") and lines[2].endswith("slower") and "2.67x" in lines[2]  # 3.2 / 1.2
    assert lines[3].startswith("mine") and lines[3].endswith("not resolved")
    busy = speed.format_timings({"a": TimingResult([1, 1, 1, 1, 9])}, note="Busy machine: test")
    assert busy.endswith("Busy machine: test")


@pytest.mark.parametrize("K,k,T,L", [(11, 5, 5, 8), (6, 3, 3, 2), (18, 9, 7, 12)])
def test_compute_counts_match_formulas(K, k, T, L):
    """Independent formulas: powers Z^2..Z^K (K-1), shared powers of [k/k] (k-1) + 1 Cholesky solve,
    coupled NS without identity products (3T-3) and its reverse mode (2 per product), 6 per Lyapunov iteration."""
    c = speed.compute_counts(mtp_degree=K, mpa_degree=k, ns_iters=T, lyapunov_iters=L)
    assert (c["mtp-lya"]["fw_matmul"], c["mtp-lya"]["bw_matmul"]) == (K - 1, 6 * L)
    mpa = (c["mpa-lya"]["fw_matmul"], c["mpa-lya"]["fw_solve"], c["mpa-lya"]["fw_cholesky"], c["mpa-lya"]["bw_matmul"])
    # the paper's polynomial evaluation up to [5/5]; above, one shifted Cholesky solve per partial fraction
    assert mpa == ((k - 1, 1, 1, 6 * L) if k <= 5 else (0, k, k, 6 * L))
    assert (c["ns"]["fw_matmul"], c["ns"]["bw_matmul"]) == (3 * T - 3, 2 * (3 * T - 3))
    assert c["svd"]["fw_eigh"] == c["eigh"]["fw_eigh"] == 1
    assert c["eigh"]["bw_matmul"] == 4  # U^T G U and U (.) U^T
    # the paper's formulas, for the side-by-side columns
    assert c["ns"]["paper_fw_matmul"] == 3 * T and c["ns"]["paper_bw_matmul"] == 4 + 10 * T
    assert c["mpa-lya"]["paper_fw_inverse"] == 1 and c["mtp-lya"]["paper_fw_matmul"] == K - 1
    assert c["mpa-lya"]["setting"] == f"[{k}/{k}], T={L}" and c["svd"]["setting"] == ""
    if k <= 5:
        # 2 per power of the Fréchet derivatives of P and Q (§8.3), one more, and a solve: 9 at [5/5]
        assert c["mpa-adjoint"]["bw_matmul"] == 2 * k - 1 and c["mpa-adjoint"]["bw_solve"] == 1
    else:  # above [5/5], one shifted solve per partial fraction, and two per fraction backward
        assert (c["mpa-adjoint"]["bw_matmul"], c["mpa-adjoint"]["bw_solve"]) == (0, 2 * k)
    assert c["mpa-lya-opt"]["bw_matmul"] == 6 * L + 3
    assert set(c) <= set(speed.SPEED_METHODS) and {"mpa-lya", "mtp-lya", "ns", "svd", "eigh"} <= set(c)
    md = speed.format_counts_table(c)
    assert md.count("\n") == 1 + len(c) and "| SVD |" in md and "| eigh (exact) |" in md
    row = next(line for line in md.splitlines() if line.startswith("| MPA-Lya |"))
    assert row.endswith(f"| {6 * L} / {6 * L} | 0 | {(k - 1 if k <= 5 else 0) + 6 * L} |")


def test_plots_under_agg():
    from matplotlib.container import ErrorbarContainer

    from mathsqrt.paper.timing import TimingResult

    fig, axes = new_figure(8, 3, 1, 3)
    times = {"mpa-lya": 2.0, "ns": 4.0, "svd": 1.0}
    ratios = speed.plot_timing(axes[0], times, batch=1, n=64)
    assert ratios == {"ns/mpa-lya": 2.0, "svd/mpa-lya": 0.5}
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["MPA-Lya", "NS", "SVD"]
    assert len(axes[0].patches) == 3 + 2  # ours, and the paper's bars where Table 3 has them
    assert any(isinstance(c, ErrorbarContainer) for c in axes[0].containers)  # the IQR bars
    speed.plot_visited(axes[1], {1: times, 4: {k: 2 * v for k, v in times.items()}}, n=64)
    bars = [c for c in axes[1].containers if isinstance(c, ErrorbarContainer)]
    assert [c.lines[0].get_color() for c in bars] == [methods.CONFIGURATIONS[k].color for k in times]
    speed.plot_counts(axes[2], speed.compute_counts())
    assert len(axes[2].patches) == 2 * len(speed.SPEED_METHODS)
    # the IQR bars span the quartiles
    fig, ax = new_figure()
    r = TimingResult([1.0, 2.0, 3.0, 4.0, 10.0])
    speed.plot_timing(ax, {"mpa-lya": r}, batch=1, n=8)
    (bar,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    segment = bar.lines[2][0].get_segments()[0]
    assert tuple(segment[:, 1]) == pytest.approx(r.quartiles)
    speed.draw_note(fig, "")
    assert fig._suptitle is None
    speed.draw_note(fig, "Busy machine: load average 9.0 on 2 cores.")
    assert "Busy machine" in fig._suptitle.get_text()


def test_interactive_speed_updates():
    speed.clear_cache()
    plot = speed.interactive_speed()
    assert plot.data["n"] == 16 and plot.data["batch"] == 2 and plot.data["device"] == "cpu"
    assert isinstance(plot.data["note"], str)
    before = bytes(plot.image.value)
    plot.controls["batch"].value = 4
    assert plot.data["batch"] == 4 and set(plot.data["times"]) == set(speed.SPEED_METHODS)
    assert all(r.repeats >= speed.LIVE_MIN_REPEATS for r in plot.data["times"].values())
    assert bytes(plot.image.value) != before
    # both visited batch sizes are now in the cache and drawn on the right panel
    assert set(speed.visited(16)) == {2, 4}
    plot.controls["n"].value = 8
    assert plot.data["n"] == 8 and plot.data["paper"] == {}
    assert list(plot.controls["device"].options) == speed.available_devices()


def test_compute_backward_vs_iterations():
    speed.clear_cache()
    res = speed.compute_backward_vs_iterations(8, 2)
    Ts = res["iterations"]
    assert Ts == list(speed.default_iterations()) == [2, 5, 8]
    assert set(res["times"]) == set(speed.BACKWARD_METHODS) and set(res["fixed"]) == {"mpa-adjoint"}
    for by_T in res["times"].values():
        assert set(by_T) == set(Ts) and all(r.repeats >= speed.LIVE_MIN_REPEATS for r in by_T.values())
    # counted, against independent formulas (and the paper's Table 2)
    assert res["counts"]["mpa-lya"] == {T: 6 * T for T in Ts}
    assert res["counts"]["mpa-lya-opt"] == {T: 6 * T + 3 for T in Ts}
    assert res["counts"]["ns"] == {T: 2 * (3 * T - 3) for T in Ts}
    assert res["fixed_counts"]["mpa-adjoint"] == (9, 1)
    assert res["paper_counts"]["mpa-lya"] == {T: 6 * T for T in Ts}
    assert res["paper_counts"]["ns"] == {T: 4 + 10 * T for T in Ts}
    assert set(res["paper_counts"]["mpa-lya-opt"].values()) == {""}
    assert isinstance(res["note"], str)
    assert speed.compute_backward_vs_iterations(8, 2) == res  # cached
    with pytest.raises(ValueError, match="no backward iteration"):
        speed.compute_backward_vs_iterations(8, 2, iterated=("svd",))
    with pytest.raises(ValueError):
        speed.compute_backward_vs_iterations(8, 2, iterations=(0,))


def test_backward_plots_under_agg():
    from matplotlib.container import ErrorbarContainer

    res = speed.compute_backward_vs_iterations(8, 2)
    fig, (a1, a2) = new_figure(9, 3, 1, 2)
    speed.plot_backward_times(a1, res)
    bars = [c for c in a1.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == len(speed.BACKWARD_METHODS)
    assert [c.lines[0].get_color() for c in bars] == [methods.CONFIGURATIONS[k].color for k in speed.BACKWARD_METHODS]
    assert list(bars[0].lines[0].get_xdata()) == res["iterations"]
    assert len(a1.patches) == 1  # the adjoint's IQR band
    speed.plot_backward_counts(a2, res)
    ys = {tuple(line.get_ydata()) for line in a2.lines}
    assert tuple(6 * T for T in res["iterations"]) in ys and tuple(4 + 10 * T for T in res["iterations"]) in ys


def test_interactive_backward_updates():
    speed.clear_cache()
    plot = speed.interactive_backward()
    assert (plot.data["n"], plot.data["batch"]) == (16, 2)
    before = bytes(plot.image.value)
    plot.controls["n"].value = 8
    assert plot.data["n"] == 8 and bytes(plot.image.value) != before
    plot.controls["batch"].value = 1
    assert plot.data["batch"] == 1 and plot.data["counts"]["ns"][5] == 24


def test_compute_dimension_and_plots():
    from matplotlib.container import ErrorbarContainer

    speed.clear_cache()
    res = speed.compute_dimension((8, 16))
    assert res["sizes"] == [8, 16] and set(res["times"]) == set(speed.DIMENSION_METHODS)
    assert {"mpa-lya-opt", "mpa-adjoint"} <= set(res["times"])
    for name in speed.DIMENSION_METHODS:
        assert all(res["times"][name][n].repeats >= speed.LIVE_MIN_REPEATS for n in (8, 16))
        assert set(res["errors"][name][8]) == {"mae", "rel_err", "grad_rel_err"}
    # one MPA forward: the same forward errors, different gradients
    e = res["errors"]
    assert e["mpa-lya"][16]["rel_err"] == e["mpa-adjoint"][16]["rel_err"] == e["mpa-lya-opt"][16]["rel_err"]
    assert e["mpa-lya"][16]["grad_rel_err"] != e["mpa-adjoint"][16]["grad_rel_err"]
    assert speed.compute_dimension_errors(16) == {k: v[16] for k, v in e.items()}
    fig, (a1, a2) = new_figure(9, 3, 1, 2)
    speed.plot_time_vs_dimension(a1, res, methods=speed.METHOD_GROUPS["the paper's"])
    bars = [c for c in a1.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == len(speed.METHOD_GROUPS["the paper's"])
    k40 = data.k40_by_dimension()
    k40_lines = [line for line in a1.lines if line.get_markerfacecolor() == "none" and len(line.get_xdata())]
    assert sorted(tuple(line.get_xdata()) for line in k40_lines) == sorted(tuple(v) for v in k40.values())
    speed.plot_error_vs_dimension(a2, res)
    assert len(a2.lines) == len({methods.CONFIGURATIONS[k].method for k in speed.DIMENSION_METHODS})
    fig, ax = new_figure()
    speed.plot_error_vs_dimension(ax, res, error="gradient, relative", max_n=8)
    assert len(ax.lines) == len(speed.DIMENSION_METHODS) and all(list(line.get_xdata()) == [8] for line in ax.lines)
    with pytest.raises(ValueError, match="unknown error"):
        speed.plot_error_vs_dimension(ax, res, error="nope")


def test_interactive_dimension_redraws_without_measuring_again():
    speed.clear_cache()
    plot = speed.interactive_dimension()
    assert plot.data["sizes"] == [8, 16, 32] and plot.data["max_n"] == 32
    cached = len(speed._CACHE)
    images = {bytes(plot.image.value)}
    plot.controls["max_n"].value = 16
    images.add(bytes(plot.image.value))
    plot.controls["group"].value = "MPA variants"
    images.add(bytes(plot.image.value))
    plot.controls["error"].value = "gradient, relative"
    images.add(bytes(plot.image.value))
    assert len(images) == 4 and len(speed._CACHE) == cached
    assert plot.data["methods"] == speed.METHOD_GROUPS["MPA variants"] and plot.data["error"] == "gradient, relative"


def test_interactive_counts_updates():
    plot = speed.interactive_counts()
    assert plot.data["counts"]["mtp-lya"]["fw_matmul"] == 10
    before = bytes(plot.image.value)
    plot.controls["mtp_degree"].value = 15
    plot.controls["lyapunov_iters"].value = 3
    assert plot.data["counts"]["mtp-lya"]["fw_matmul"] == 14
    assert plot.data["counts"]["mpa-lya"]["bw_matmul"] == 18
    assert bytes(plot.image.value) != before
