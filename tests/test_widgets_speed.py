"""Notebook 05 widgets: live timing (no timing asserted), counts against the papers' formulas, K40 numbers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest
import torch

from mathsqrt.paper.plotting import new_figure
from mathsqrt.paper.widgets import speed


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setenv("MATHSQRT_FAST", "1")


def test_paper_numbers_are_the_papers():
    # Song, Sebe & Wang (ICLR 2022): Table 3 (1x64x64), Table 4 (64x48x48), Table 8, Sec. 4.1.3
    assert speed.paper_reference(1, 64)["MPA-Lya"] == 2.52 and speed.paper_reference(1, 64)["NS"] == 2.96
    assert speed.paper_reference(64, 48)["NS"] == 10.38 and speed.paper_reference(64, 48)["PI"] == 1.84
    assert speed.paper_reference(1, 1024) == {"MTP-Lya": 7.32, "MPA-Lya": 11.28, "NS": 12.69}
    assert speed.paper_reference(3, 17) == {}
    assert speed.PAPER_BATCH64_SPEEDUP["MPA-Lya"] == {"NS": 2.58, "SVD": 27.25}
    table = speed.format_paper_tables()
    assert "| 1×256×256 | 4.88 | 5.56 | 6.28 |" in table


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
    assert (c["MTP-Lya"]["fw_matmul"], c["MTP-Lya"]["bw_matmul"]) == (K - 1, 6 * L)
    assert (c["MPA-Lya"]["fw_matmul"], c["MPA-Lya"]["fw_solve"], c["MPA-Lya"]["fw_cholesky"], c["MPA-Lya"]["bw_matmul"]) == (k - 1, 1, 1, 6 * L)
    assert (c["NS"]["fw_matmul"], c["NS"]["bw_matmul"]) == (3 * T - 3, 2 * (3 * T - 3))
    assert c["eigh-autograd"]["fw_eigh"] == c["eigh-exact"]["fw_eigh"] == 1
    assert c["eigh-exact"]["bw_matmul"] == 4  # U^T G U and U (.) U^T
    # the paper's formulas, for the side-by-side columns
    assert c["NS"]["paper_fw_matmul"] == 3 * T and c["NS"]["paper_bw_matmul"] == 4 + 10 * T
    assert c["MPA-Lya"]["paper_fw_inverse"] == 1 and c["MTP-Lya"]["paper_fw_matmul"] == K - 1
    md = speed.format_counts_table(c)
    assert md.count("\n") == 1 + len(c)


def test_plots_under_agg():
    fig, axes = new_figure(8, 3, 1, 3)
    times = {"MPA-Lya": 2.0, "NS": 4.0, "eigh-autograd": 1.0}
    ratios = speed.plot_timing(axes[0], times, batch=1, n=64)
    assert ratios == {"NS/MPA-Lya": 2.0, "eigh-autograd/MPA-Lya": 0.5}
    assert len(axes[0].patches) == 3 + 2  # ours, and the paper's bars where Table 3 has them
    speed.plot_visited(axes[1], {1: times, 4: {k: 2 * v for k, v in times.items()}}, n=64)
    assert len(axes[1].lines) == 3
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
    assert plot.data["counts"]["MTP-Lya"]["fw_matmul"] == 10
    before = bytes(plot.image.value)
    plot.controls["mtp_degree"].value = 15
    plot.controls["lyapunov_iters"].value = 3
    assert plot.data["counts"]["MTP-Lya"]["fw_matmul"] == 14
    assert plot.data["counts"]["MPA-Lya"]["bw_matmul"] == 18
    assert bytes(plot.image.value) != before
