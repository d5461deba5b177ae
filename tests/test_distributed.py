"""ZCAWhitening under torch.distributed: two gloo processes equal one process on the whole batch.

Two processes on localhost each whiten half of a batch; their batch statistics, outputs, input
gradients, summed parameter gradients and running statistics must equal those of a single process
that sees the concatenated batch (float64, exact methods, so "equal" means to rounding).
"""

from __future__ import annotations

import datetime
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import mathsqrt.nn as mnn

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(180),
    pytest.mark.skipif(
        not dist.is_available() or not dist.is_gloo_available(), reason="torch.distributed with gloo is not available"
    ),
]

WORLD = 2
CASES = {
    "2d": dict(shape=(12, 4), groups=1, method="eigh", backward="eigh", explicit_group=False),
    "4d-groups": dict(shape=(6, 6, 3, 2), groups=2, method="eigh", backward="eigh", explicit_group=True),
    "4d-mpa-lya": dict(shape=(4, 3, 4, 4), groups=1, method="mpa", backward="lyapunov", explicit_group=False),
}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _inputs(case):
    """The full batch, the weights of the loss sum(w * y), and a second batch (same on every process)."""
    g = torch.Generator().manual_seed(1234)
    shape = case["shape"]
    x = torch.randn(*shape, dtype=torch.float64, generator=g)
    x = x + 0.5 * x.roll(1, dims=1) + 2.0  # correlated channels, non-zero mean
    w = torch.randn(*shape, dtype=torch.float64, generator=g)
    x2 = torch.randn(*shape, dtype=torch.float64, generator=g) * 1.5 - 1.0
    return x, w, x2


def _layer(case):
    return mnn.ZCAWhitening(
        case["shape"][1],
        groups=case["groups"],
        eps=1e-3,
        momentum=0.5,
        method=case["method"],
        backward=case["backward"],
    ).double()


def _run_case(case, rank=None, world=1, group=None):
    """Two training steps on this process's slice; returns what the test compares."""
    x, w, x2 = _inputs(case)
    if rank is not None:
        n = x.shape[0] // world
        sl = slice(rank * n, (rank + 1) * n)
        x, w, x2 = x[sl], w[sl], x2[sl]
    torch.manual_seed(0)
    layer = _layer(case)
    if group is not None:
        layer.process_group = group
    with torch.no_grad():
        layer.weight.copy_(torch.linspace(0.5, 1.5, layer.num_features, dtype=torch.float64))
        layer.bias.copy_(torch.linspace(-0.2, 0.2, layer.num_features, dtype=torch.float64))
    x = x.clone().requires_grad_(True)
    X = layer._grouped(x.detach())
    mean, cov, count = layer.batch_statistics(X)
    y = layer(x)
    (y * w).sum().backward()
    layer(x2)  # a second step: running statistics average two global batches
    return {
        "mean": mean.detach(),
        "cov": cov.detach(),
        "count": float(count),
        "y": y.detach(),
        "x_grad": x.grad.detach(),
        "weight_grad": layer.weight.grad.detach(),
        "bias_grad": layer.bias.grad.detach(),
        "running_mean": layer.running_mean.clone(),
        "running_whitening": layer.running_whitening.clone(),
    }


def _worker(rank: int, port: int, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=WORLD,
        timeout=datetime.timedelta(seconds=60),
    )
    try:
        results = {}
        for name, case in CASES.items():
            group = dist.new_group(list(range(WORLD))) if case["explicit_group"] else None
            results[name] = _run_case(case, rank, WORLD, group)
        # eval mode never communicates: a lone process may run it
        layer = _layer(CASES["2d"]).eval()
        results["eval_ok"] = bool(layer(torch.randn(1, 4, dtype=torch.float64)).shape == (1, 4))
        torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def distributed_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    mp.spawn(_worker, args=(_free_port(), str(out)), nprocs=WORLD, join=True)
    return [torch.load(out / f"rank{r}.pt") for r in range(WORLD)]


@pytest.mark.parametrize("name", list(CASES))
def test_two_processes_equal_one_process_on_the_concatenated_batch(distributed_results, name):
    single = _run_case(CASES[name])
    parts = [r[name] for r in distributed_results]
    exact = CASES[name]["method"] == "eigh"
    tol = dict(atol=1e-11, rtol=1e-9) if exact else dict(atol=1e-9, rtol=1e-7)
    for r in parts:
        assert r["count"] == single["count"]
        torch.testing.assert_close(r["mean"], single["mean"], **tol)
        torch.testing.assert_close(r["cov"], single["cov"], **tol)
        torch.testing.assert_close(r["running_mean"], single["running_mean"], **tol)
        torch.testing.assert_close(r["running_whitening"], single["running_whitening"], **tol)
    torch.testing.assert_close(torch.cat([r["y"] for r in parts]), single["y"], **tol)
    torch.testing.assert_close(torch.cat([r["x_grad"] for r in parts]), single["x_grad"], **tol)
    # parameter gradients are per process (DistributedDataParallel sums them): their sum is the total
    torch.testing.assert_close(sum(r["weight_grad"] for r in parts), single["weight_grad"], **tol)
    torch.testing.assert_close(sum(r["bias_grad"] for r in parts), single["bias_grad"], **tol)


def test_eval_mode_does_not_communicate(distributed_results):
    assert all(r["eval_ok"] for r in distributed_results)


def test_single_process_without_distributed_uses_local_statistics():
    assert not dist.is_initialized()
    x, _, _ = _inputs(CASES["2d"])
    layer = _layer(CASES["2d"])
    assert layer._sync_group() is None
    y = layer(x)
    torch.testing.assert_close(y.mean(0).detach(), layer.bias.detach(), atol=1e-12, rtol=0)
