"""The whitening experiment runs and writes well-formed results (no timing assertions)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mathsqrt import methods
from mathsqrt.nn import ZCAWhitening
from mathsqrt.paper.studies import whitening as exp

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(300)
def test_quick_run_writes_csv_and_json(tmp_path, capsys):
    out = tmp_path / "w"
    assert exp.main(["--quick", "--out", str(out), "--no-progress", "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    names = list(exp.DEFAULT_METHODS)
    assert {"mpa-lya", "mtp-lya", "ns", "eigh", "svd", "svd-taylor"} <= set(names)
    payload = json.loads((out / "results.json").read_text())
    assert list(payload["methods"]) == names
    assert payload["config"]["quick"] is True and payload["config"]["epochs"] == 1
    for name, entry in payload["methods"].items():
        assert name in printed
        assert entry["error"] is None, entry["error"]
        assert len(entry["val_accuracy"]) == 1 and 0 <= entry["val_accuracy"][0] <= 1
        assert entry["steps"] == 3  # 192 training images in batches of 64
        assert entry["sqrt_ms"] > 0 and entry["sqrt_backward_ms"] > 0
        assert (entry["method"], entry["backward"]) == (
            methods.CONFIGURATIONS[name].method,
            methods.CONFIGURATIONS[name].backward,
        )
        assert entry["label"] == methods.CONFIGURATIONS[name].label
        assert entry["sqrt_ms_iqr"] >= 0
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["method"] for r in rows] == names
    assert all(float(r["sqrt_ms_per_step"]) > 0 and r["epoch"] == "1" for r in rows)


@pytest.mark.timeout(300)
def test_module_entry_point(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mathsqrt.paper.studies.whitening",
            "--quick",
            "--methods",
            "mpa-lya",
            "--out",
            str(tmp_path),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    assert "mpa-lya" in proc.stdout and (tmp_path / "results.json").exists()


def test_methods_are_the_square_root_configurations_of_the_table():
    assert exp.METHODS == {
        n: c.kwargs() for n, c in methods.CONFIGURATIONS.items() if methods.forward_method(c.method).root
    }
    assert "pi" not in exp.METHODS


def test_bad_arguments():
    assert exp.main(["--quick", "--methods", "cholesky", "--out", "unused", "--no-progress"]) == 2
    with pytest.raises(SystemExit):
        exp.main(["--epochs", "0"])


def test_timed_layer_is_the_plain_layer_and_times_both_passes():
    torch.manual_seed(0)
    x = torch.randn(32, 4, 3, 3, requires_grad=True)
    timed = exp.TimedZCAWhitening(4, method="mpa")
    plain = ZCAWhitening(4, method="mpa")
    y = timed(x)
    torch.testing.assert_close(y, plain(x), rtol=0, atol=0)
    y.square().sum().backward()
    assert (
        timed.timer.calls == 1
        and timed.timer.forward > 0
        and len(timed.timer.backward_times) == 1
        and timed.timer.backward > 0
    )


def test_train_method_learns_and_is_reproducible():
    data = exp.load_digits_data(n_train=256, n_val=128)
    assert data.x_train.shape == (256, 1, 8, 8) and float(data.x_train.max()) <= 1.0
    results = [exp.train_method(m, data, epochs=2, progress=False) for m in ("mpa-lya", "eigh", "eigh")]
    for r in results:
        assert r.error is None and r.steps == 8 and len(r.val_accuracy) == 2
        assert r.val_accuracy[-1] > 0.3  # ten classes: chance is 0.1
    # fixed seed: same initial weights and batches, so a rerun is identical
    assert results[1].train_loss == results[2].train_loss and results[1].val_accuracy == results[2].val_accuracy
    assert "mpa-lya" in exp.format_table(results)
