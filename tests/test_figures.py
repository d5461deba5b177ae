"""figures/ is complete, every generator writes its files, and exact figures are byte-deterministic."""

from __future__ import annotations

from pathlib import Path

import pytest

from mathsqrt.paper import figures
from mathsqrt.paper.bench import main as bench_main

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "figures"
CHEAP = ("pade_poles", "fig1a_sqrt_and_whitening")


def test_every_committed_figure_has_a_generator():
    files = sorted(p for p in FIGURES.iterdir() if p.suffix in (".png", ".svg"))
    assert files, "figures/ is empty: run `make figures`"
    orphans = [p.name for p in files if p.stem not in figures.GENERATORS]
    assert not orphans, f"no generator for {orphans}"
    for name in figures.GENERATORS:
        for ext in (".png", ".svg"):
            assert (FIGURES / f"{name}{ext}").exists(), f"figures/{name}{ext} missing: run `make figures`"


def test_bench_figures_are_declared():
    assert set(figures.BENCH_FIGURES) <= set(figures.GENERATORS)


@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    sweeps = "batch,dimension,forward,backward,lyapunov,counts,condition"
    assert bench_main(["--quick", "--threads", "1", "--no-progress", "--out", str(out), "--sweeps", sweeps]) == 0
    return out


@pytest.mark.timeout(180)
def test_every_generator_writes_its_files(quick_bench, tmp_path):
    ctx = figures.FigureContext(quick_bench, run_missing=False)
    written = figures.generate(out=tmp_path, ctx=ctx)
    names = {p.name for p in written}
    for name in figures.GENERATORS:
        for ext in (".png", ".svg"):
            assert f"{name}{ext}" in names
            data = (tmp_path / f"{name}{ext}").read_bytes()
            assert len(data) > 1000
    assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (tmp_path / f"{name}.svg").read_bytes()[:2000]


def test_bench_figure_names_its_source(quick_bench):
    ctx = figures.FigureContext(quick_bench, run_missing=False)
    line = ctx.source("batch")
    assert "quick run" in line and "threads" in line


def test_missing_bench_data_is_a_clear_error_and_never_runs_a_benchmark(tmp_path, capsys):
    ctx = figures.FigureContext(tmp_path)  # the default: never run a benchmark
    with pytest.raises(FileNotFoundError, match=r"python -m mathsqrt\.paper\.bench --sweeps batch"):
        figures.GENERATORS["fig2a_time_vs_batch"](ctx)
    assert not list(tmp_path.iterdir())
    assert (
        figures.main(["--only", "fig2a_time_vs_batch", "--bench-dir", str(tmp_path), "--out", str(tmp_path / "f")]) == 2
    )
    assert "--sweeps batch" in capsys.readouterr().err and not (tmp_path / "batch.csv").exists()


@pytest.mark.timeout(120)
def test_run_missing_runs_the_sweep_when_asked(tmp_path):
    ctx = figures.FigureContext(tmp_path, run_missing=True)
    fig = figures.GENERATORS["fig1d_backward_time_vs_iterations"](ctx)
    assert (tmp_path / "backward.csv").exists() and "quick run" in ctx.source("backward")
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert any(label.startswith("MPA-Lya") for label in labels) and any(label.startswith("NS") for label in labels)


def test_bench_figures_use_the_table_styles(quick_bench):
    """Series are labelled and coloured by the method table (one name per configuration, no old names)."""
    from mathsqrt import methods

    fig = figures.GENERATORS["fig2a_time_vs_batch"](figures.FigureContext(quick_bench))
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    for config in methods.CONFIGURATIONS.values():
        assert lines[config.label].get_color() == config.color and lines[config.label].get_marker() == config.marker
    assert not any("eigh-" in label for label in lines)


@pytest.mark.timeout(120)
def test_generation_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    figures.generate(CHEAP, out=a)
    figures.generate(CHEAP, out=b)
    for name in CHEAP:
        for ext in (".png", ".svg"):
            assert (a / f"{name}{ext}").read_bytes() == (b / f"{name}{ext}").read_bytes(), (
                f"{name}{ext} differs between runs"
            )


def test_unknown_figure_is_an_error():
    with pytest.raises(ValueError, match="unknown figure"):
        figures.generate(["nope"])
    assert figures.main(["--only", "nope"]) == 2
