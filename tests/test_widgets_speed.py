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


def test_compute_timing_positive_and_cached():
    speed._timing_cached.cache_clear()
    t1 = speed.compute_timing(8, 2, repeats=1)
    assert set(t1) == set(speed.SPEED_METHODS) and all(v > 0 for v in t1.values())
    info = speed._timing_cached.cache_info()
    t2 = speed.compute_timing(8, 2, repeats=1)
    assert t2 == t1 and speed._timing_cached.cache_info().hits == info.hits + 1
    with pytest.raises(ValueError):
        speed.compute_timing(1, 2)
    with pytest.raises(ValueError, match="unknown method"):
        speed.compute_timing(8, 1, methods=("nope",))


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
    assert set(c) <= set(speed.SPEED_METHODS) and {"mpa-lya", "mtp-lya", "ns", "svd", "eigh"} <= set(c)
    md = speed.format_counts_table(c)
    assert md.count("\n") == 1 + len(c) and "| SVD |" in md and "| eigh (exact) |" in md


def test_plots_under_agg():
    fig, axes = new_figure(8, 3, 1, 3)
    times = {"mpa-lya": 2.0, "ns": 4.0, "svd": 1.0}
    ratios = speed.plot_timing(axes[0], times, batch=1, n=64)
    assert ratios == {"ns/mpa-lya": 2.0, "svd/mpa-lya": 0.5}
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["MPA-Lya", "NS", "SVD"]
    assert len(axes[0].patches) == 3 + 2  # ours, and the paper's bars where Table 3 has them
    speed.plot_visited(axes[1], {1: times, 4: {k: 2 * v for k, v in times.items()}}, n=64)
    assert len(axes[1].lines) == 3
    assert [line.get_color() for line in axes[1].lines] == [methods.CONFIGURATIONS[k].color for k in times]
    speed.plot_counts(axes[2], speed.compute_counts())
    assert len(axes[2].patches) == 2 * len(speed.SPEED_METHODS)


def test_interactive_speed_updates():
    speed._timing_cached.cache_clear()
    plot = speed.interactive_speed()
    assert plot.data["n"] == 16 and plot.data["batch"] == 2 and plot.data["device"] == "cpu"
    before = bytes(plot.image.value)
    plot.controls["batch"].value = 4
    assert plot.data["batch"] == 4 and set(plot.data["times"]) == set(speed.SPEED_METHODS)
    assert bytes(plot.image.value) != before
    # both visited batch sizes are now in the cache and drawn on the right panel
    assert set(speed.visited(16)) == {2, 4}
    plot.controls["n"].value = 8
    assert plot.data["n"] == 8 and plot.data["paper"] == {}
    assert list(plot.controls["device"].options) == speed.available_devices()


def test_interactive_counts_updates():
    plot = speed.interactive_counts()
    assert plot.data["counts"]["mtp-lya"]["fw_matmul"] == 10
    before = bytes(plot.image.value)
    plot.controls["mtp_degree"].value = 15
    plot.controls["lyapunov_iters"].value = 3
    assert plot.data["counts"]["mtp-lya"]["fw_matmul"] == 14
    assert plot.data["counts"]["mpa-lya"]["bw_matmul"] == 18
    assert bytes(plot.image.value) != before
