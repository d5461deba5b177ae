"""The one timing routine (mathsqrt.paper.timing), robust on a busy machine: the structure and the statistics
of its results, never their values (timings are not assertions)."""

from __future__ import annotations

import statistics
import time

import pytest
import torch

from mathsqrt.paper import timing
from mathsqrt.paper.timing import MachineLoad, TimingResult, busy_note, time_functions, torch_threads


def test_quartiles_iqr_and_relative_spread():
    r = TimingResult([5.0, 1.0, 3.0, 2.0, 4.0])
    q = statistics.quantiles(r.times_ms, n=4)  # independent: the standard library's quartiles
    assert r.quartiles == (q[0], q[2]) and r.iqr == q[2] - q[0]
    assert r.median == 3.0 and r.repeats == 5
    assert r.relative_spread == pytest.approx(r.iqr / 3.0)
    few = TimingResult([1.0, 9.0])  # too few repeats for quartiles: no spread claimed
    assert few.quartiles == (5.0, 5.0) and few.iqr == 0.0 and few.relative_spread == 0.0
    # backward compatible: positional construction and the CSV row of the benchmark
    assert set(TimingResult([1.0, 2.0, 3.0, 4.0]).row()) == {"time_ms", "time_iqr_ms", "repeats"}
    assert TimingResult([1.0]).warmup_ms == []


def test_faster_than_needs_separated_quartiles():
    a = TimingResult([1.0, 1.1, 1.2, 1.3, 1.4])
    b = TimingResult([2.0, 2.1, 2.2, 2.3, 2.4])
    overlapping = TimingResult([1.2, 1.3, 2.0, 2.1, 2.2])
    assert a.faster_than(b) and not b.faster_than(a)
    assert not a.faster_than(overlapping) and not overlapping.faster_than(a)


def test_warmup_is_discarded_and_does_not_cut_the_repeats():
    """A first call slower than the whole budget: the old pricing (on the first round) left min_repeats."""
    calls = []

    def slow_first():
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.3)

    res = time_functions({"f": slow_first}, budget_s=0.05, min_repeats=2, max_repeats=30, warmup=2)["f"]
    assert len(res.warmup_ms) == 2 and res.warmup_ms[0] >= 250
    assert max(res.times_ms) < 250  # the slow call is not in the statistic
    assert res.repeats > 2  # priced on the second (fast) warm-up round, not the slow first one
    assert len(calls) == 2 + res.repeats


def test_min_repeats_is_a_floor():
    res = time_functions({"slow": lambda: time.sleep(0.01)}, budget_s=0.0, min_repeats=5, max_repeats=9, warmup=1)
    assert res["slow"].repeats == 5 and len(res["slow"].warmup_ms) == 1
    with pytest.raises(ValueError):
        time_functions({"a": lambda: None}, min_repeats=0)


def test_threads_apply_during_the_measurement_and_are_restored():
    before = torch.get_num_threads()
    seen = []
    time_functions({"f": lambda: seen.append(torch.get_num_threads())}, threads=1, min_repeats=4, max_repeats=4)
    assert set(seen) == {1} and len(seen) == 1 + 4 and torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        with torch_threads(0):
            pass
    assert torch.get_num_threads() == before


def test_machine_load_and_busy():
    load = timing.machine_load()
    assert load.cores >= 1 and load.threads == torch.get_num_threads()
    assert load.loadavg is None or load.loadavg >= 0
    assert MachineLoad(5.7, 2, 2).busy and not MachineLoad(1.5, 2, 2).busy and not MachineLoad(None, 2, 1).busy


def test_busy_note():
    calm = {"a": TimingResult([1.0, 1.01, 1.02, 1.03, 1.04]), "b": TimingResult([2.0, 2.01, 2.02, 2.03, 2.04])}
    noisy = dict(calm, c=TimingResult([1.0, 1.0, 2.0, 3.0, 3.0]))
    quiet, busy = MachineLoad(0.5, 2, 1), MachineLoad(7.0, 2, 1)
    assert busy_note(calm, load=quiet) == ""
    note = busy_note(noisy, load=quiet)
    assert note.startswith("Noisy timings:") and "(c)" in note and "load" not in note
    pct = round(100 * noisy["c"].relative_spread)
    assert f"{pct} %" in note
    note = busy_note(calm, load=busy)
    assert note.startswith("Busy machine:") and "load average 7.0 on 2 cores" in note and "spread" not in note
    note = busy_note(noisy, load=busy)
    assert note.startswith("Busy machine:") and "(c)" in note and "load average 7.0" in note
    assert busy_note(calm, load=busy, device="cuda") == ""  # the CPU's load says nothing about a GPU's queue
    assert busy_note({}, load=quiet) == ""
    assert busy_note(noisy, load=quiet, spread=10.0) == ""
