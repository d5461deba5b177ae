r"""ZCA whitening experiment: a small conv net on scikit-learn's digits, once per square-root method.

A CPU-sized version of the paper's decorrelated-batch-norm experiment ([1]_ Sec. 4.2, appendix
A.2, Table 3): a ZCA whitening layer (:class:`mathsqrt.nn.ZCAWhitening`) is inserted after the
first convolution, and the same network (same initial weights, same batches) is trained with each
square-root method. Reported per method: the time of the square-root layer (forward + backward,
measured around the square-root calls only; the median over training steps), the wall time, and
the validation accuracy per epoch.

Run::

    python -m mathsqrt.paper.studies.whitening            # default: a few minutes on 2 cores
    python -m mathsqrt.paper.studies.whitening --quick    # seconds
    python -m mathsqrt.paper.studies.whitening --methods mpa-lya,ns --epochs 5 --out results/w

Results go to ``<out>/results.csv`` (one row per method and epoch) and ``<out>/results.json``
(configuration, per-method summary and per-epoch history).

The data (1797 grey 8×8 digits, ``sklearn.datasets.load_digits``) ship with scikit-learn; nothing
is downloaded.

Methods
-------
Every configuration of the method table (:data:`mathsqrt.methods.CONFIGURATIONS`) whose forward is a
square root, under its one name: ``mpa-lya`` (the paper's method), ``mtp-lya``, ``ns``, ``svd``
(eigh differentiated by autograd, paper Eq. (2)), ``eigh`` (the exact eigenbasis backward) and the
stabilised SVD baselines ``svd-taylor``, ``svd-pade``, ``svd-pi``.

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
.. [2] L. Huang, D. Yang, B. Lang, J. Deng, "Decorrelated Batch Normalization", CVPR 2018.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn

from mathsqrt import methods as method_table
from mathsqrt.nn import ZCAWhitening

from ..timing import TimingResult

__all__ = [
    "METHODS",
    "DEFAULT_METHODS",
    "Digits",
    "load_digits_data",
    "SqrtTimer",
    "TimedZCAWhitening",
    "DigitsNet",
    "MethodResult",
    "train_method",
    "run",
    "format_table",
    "save_results",
    "main",
]

#: Square-root layer of each configuration whose forward is a square root (keywords of :class:`ZCAWhitening`).
METHODS: Dict[str, dict] = {
    name: config.kwargs()
    for name, config in method_table.CONFIGURATIONS.items()
    if method_table.forward_method(config.method).root
}

#: Methods run by default: all of :data:`METHODS`, in table order.
DEFAULT_METHODS = tuple(METHODS)

#: Default settings: a few minutes on 2 CPU cores for all default methods.
DEFAULTS = dict(epochs=6, batch_size=64, lr=0.05, width=16, eps=1e-5, seed=0)
#: ``--quick``: one short epoch on a subset (seconds).
QUICK = dict(epochs=1, n_train=192, n_val=96)


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------


@dataclass
class Digits:
    """Train/validation split of the digits: images ``(n, 1, 8, 8)`` float32 in [0, 1], labels ``(n,)``."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


def load_digits_data(
    *, seed: int = 0, val_fraction: float = 0.2, n_train: Optional[int] = None, n_val: Optional[int] = None
) -> Digits:
    """scikit-learn's 8×8 digits (shipped, not downloaded), split with a fixed seed.

    Parameters
    ----------
    seed : int
        Seed of the random permutation that splits train and validation.
    val_fraction : float
        Fraction held out for validation (stratification is not needed at this size).
    n_train, n_val : int, optional
        Keep only the first ``n_train`` / ``n_val`` examples of each split (quick runs).
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(digits.target, dtype=torch.long)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_hold = int(round(val_fraction * len(y)))
    val, train = perm[:n_hold], perm[n_hold:]
    if n_train is not None:
        train = train[:n_train]
    if n_val is not None:
        val = val[:n_val]
    return Digits(x[train], y[train], x[val], y[val])


# ----------------------------------------------------------------------------------------------
# model with a timed whitening layer
# ----------------------------------------------------------------------------------------------


@dataclass
class SqrtTimer:
    """Wall time of each square-root call, forward and backward (seconds)."""

    forward_times: List[float] = field(default_factory=list)
    backward_times: List[float] = field(default_factory=list)
    _start: float = field(default=0.0, repr=False)

    @property
    def calls(self) -> int:
        return len(self.forward_times)

    @property
    def forward(self) -> float:
        """Total forward time."""
        return sum(self.forward_times)

    @property
    def backward(self) -> float:
        """Total backward time."""
        return sum(self.backward_times)

    def reset(self) -> None:
        self.forward_times.clear()
        self.backward_times.clear()


class TimedZCAWhitening(ZCAWhitening):
    r"""A :class:`ZCAWhitening` that times its square root, forward and backward.

    Forward: wall time of :meth:`matrix_sqrt`. Backward: the time between the gradient reaching
    the square root's output and leaving for its input ``A``, taken by two tensor hooks. ``A`` is
    used by the square root only, and the autograd engine runs the nodes created after ``A`` (the
    square root's) before those created before it, so nothing else runs in between on the CPU.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.timer = SqrtTimer()

    def matrix_sqrt(self, A: torch.Tensor) -> torch.Tensor:
        timer = self.timer
        start = time.perf_counter()
        S = super().matrix_sqrt(A)
        timer.forward_times.append(time.perf_counter() - start)
        if S.requires_grad and A.requires_grad:

            def _start(grad):
                timer._start = time.perf_counter()

            def _stop(grad):
                timer.backward_times.append(time.perf_counter() - timer._start)

            S.register_hook(_start)
            A.register_hook(_stop)
        return S


class DigitsNet(nn.Module):
    """conv 5×5 (1→width) → ZCA whitening → ReLU → conv 3×3 stride 2 (→2·width) → BN → ReLU → linear.

    The whitening layer follows the first convolution, as in the paper's ResNets ([1]_ Fig. 3a).
    The 5×5 kernel sees 25 pixels, so the ``width <= 25`` channels of the first layer can be
    linearly independent and their covariance is well defined.
    """

    def __init__(self, *, width: int = 16, eps: float = 1e-5, groups: int = 1, **sqrt_options) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 5, padding=2, bias=False)
        self.whiten = TimedZCAWhitening(width, groups=groups, eps=eps, **sqrt_options)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * width)
        self.fc = nn.Linear(2 * width * 16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.whiten(self.conv1(x)))
        x = torch.relu(self.bn2(self.conv2(x)))
        return self.fc(x.flatten(1))


# ----------------------------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------------------------


@dataclass
class MethodResult:
    """Outcome of training with one method.

    Attributes
    ----------
    name : str
        Configuration name (a key of :data:`METHODS`).
    val_accuracy, train_loss, epoch_seconds : list of float
        Per epoch.
    sqrt_forward_ms, sqrt_backward_ms, sqrt_ms : float
        Median time of the square root per training step (forward, backward, both), milliseconds:
        the statistic of every timing of :mod:`mathsqrt.paper` (:class:`mathsqrt.paper.timing.TimingResult`),
        so that a step slowed down by another process on a shared machine does not move the figure.
    sqrt_ms_iqr : float
        Its spread: the inter-quartile range of forward + backward per step, milliseconds.
    wall_seconds : float
        Total time of training and evaluation.
    steps : int
        Training steps.
    error : str, optional
        The error message if training stopped (e.g. a failed factorisation); the other fields then
        hold what was measured before.
    """

    name: str
    val_accuracy: List[float] = field(default_factory=list)
    train_loss: List[float] = field(default_factory=list)
    epoch_seconds: List[float] = field(default_factory=list)
    sqrt_forward_ms: float = float("nan")
    sqrt_backward_ms: float = float("nan")
    sqrt_ms: float = float("nan")
    sqrt_ms_iqr: float = float("nan")
    wall_seconds: float = 0.0
    steps: int = 0
    error: Optional[str] = None

    @property
    def final_accuracy(self) -> float:
        return self.val_accuracy[-1] if self.val_accuracy else float("nan")


def _warm_up(layer: TimedZCAWhitening) -> None:
    """One untimed square root, forward and backward, so that one-off costs (the exact Padé
    coefficients are derived with sympy on first use, kernels are loaded) are not timed."""
    c = layer.num_features // layer.groups
    A = (torch.eye(c) + 0.1 * torch.ones(c, c)).expand(layer.groups, c, c).clone().requires_grad_(True)
    layer.matrix_sqrt(A).sum().backward()
    layer.timer.reset()


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512) -> float:
    """Accuracy of ``model`` (in eval mode: running whitening statistics) on ``(x, y)``."""
    model.eval()
    correct = 0
    for i in range(0, len(y), batch_size):
        correct += int((model(x[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum())
    return correct / len(y)


def train_method(
    name: str,
    data: Digits,
    *,
    epochs: int = DEFAULTS["epochs"],
    batch_size: int = DEFAULTS["batch_size"],
    lr: float = DEFAULTS["lr"],
    width: int = DEFAULTS["width"],
    eps: float = DEFAULTS["eps"],
    seed: int = DEFAULTS["seed"],
    progress: bool = True,
) -> MethodResult:
    """Train :class:`DigitsNet` with the square-root method ``name`` and return its measurements.

    The initial weights and the order of the batches depend on ``seed`` only, so every method
    starts from the same network and sees the same batches. SGD with momentum 0.9, weight decay
    5e-4, cosine learning-rate schedule.
    """
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    torch.manual_seed(seed)
    model = DigitsNet(width=width, eps=eps, **METHODS[name])
    steps_per_epoch = math.ceil(len(data.y_train) / batch_size)
    total = epochs * steps_per_epoch
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total, 1))
    gen = torch.Generator().manual_seed(seed)
    result = MethodResult(name)
    timer = model.whiten.timer
    _warm_up(model.whiten)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=f"{name:>10}", leave=True, file=sys.stderr, dynamic_ncols=True)
    start = time.perf_counter()
    try:
        for _ in range(epochs):
            epoch_start = time.perf_counter()
            model.train()
            perm = torch.randperm(len(data.y_train), generator=gen)
            losses = []
            for i in range(0, len(perm), batch_size):
                idx = perm[i : i + batch_size]
                if len(idx) < 2:
                    continue
                loss = nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                losses.append(float(loss.detach()))
                result.steps += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
            if not losses or not math.isfinite(sum(losses)):
                raise FloatingPointError("the training loss is not finite")
            result.train_loss.append(sum(losses) / len(losses))
            result.val_accuracy.append(evaluate(model, data.x_val, data.y_val))
            result.epoch_seconds.append(time.perf_counter() - epoch_start)
            if bar is not None:
                bar.set_postfix(loss=f"{result.train_loss[-1]:.3f}", val=f"{result.val_accuracy[-1]:.3f}")
    except (ValueError, FloatingPointError, torch.linalg.LinAlgError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        if bar is not None:
            bar.close()
    result.wall_seconds = time.perf_counter() - start
    fw, bw = timer.forward_times, timer.backward_times
    if fw and len(fw) == len(bw):
        both = TimingResult([1000 * (f + b) for f, b in zip(fw, bw)])
        result.sqrt_forward_ms = TimingResult([1000 * f for f in fw]).median
        result.sqrt_backward_ms = TimingResult([1000 * b for b in bw]).median
        result.sqrt_ms, result.sqrt_ms_iqr = both.median, both.iqr
    return result


# ----------------------------------------------------------------------------------------------
# reporting
# ----------------------------------------------------------------------------------------------


def format_table(results: Sequence[MethodResult]) -> str:
    """A plain-text table: method, sqrt ms/step (FP, BP, FP+BP; medians), wall time, validation accuracy."""
    header = (
        f"{'method':<11} {'sqrt FP ms':>10} {'sqrt BP ms':>10} {'FP+BP ms':>9} {'wall s':>7} {'val acc':>8}  per epoch"
    )
    lines = ["square-root layer: median ms per training step; val acc: last epoch", header, "-" * len(header)]
    for r in results:
        epochs = " ".join(f"{a:.3f}" for a in r.val_accuracy)
        lines.append(
            f"{r.name:<11} {r.sqrt_forward_ms:>10.3f} {r.sqrt_backward_ms:>10.3f} {r.sqrt_ms:>9.3f} "
            f"{r.wall_seconds:>7.1f} {r.final_accuracy:>8.3f}  {epochs}" + (f"  [{r.error}]" if r.error else "")
        )
    return "\n".join(lines)


def save_results(results: Sequence[MethodResult], out: str, config: dict) -> Dict[str, str]:
    """Write ``results.csv`` (method × epoch rows) and ``results.json`` under ``out``; return their paths."""
    os.makedirs(out, exist_ok=True)
    csv_path = os.path.join(out, "results.csv")
    json_path = os.path.join(out, "results.json")
    fields = [
        "method",
        "epoch",
        "train_loss",
        "val_accuracy",
        "epoch_seconds",
        "sqrt_forward_ms_per_step",
        "sqrt_backward_ms_per_step",
        "sqrt_ms_per_step",
        "sqrt_ms_per_step_iqr",
        "wall_seconds",
    ]
    with open(csv_path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for r in results:
            for e, (loss, acc, sec) in enumerate(zip(r.train_loss, r.val_accuracy, r.epoch_seconds), start=1):
                writer.writerow(
                    dict(
                        method=r.name,
                        epoch=e,
                        train_loss=f"{loss:.6f}",
                        val_accuracy=f"{acc:.6f}",
                        epoch_seconds=f"{sec:.4f}",
                        sqrt_forward_ms_per_step=f"{r.sqrt_forward_ms:.5f}",
                        sqrt_backward_ms_per_step=f"{r.sqrt_backward_ms:.5f}",
                        sqrt_ms_per_step=f"{r.sqrt_ms:.5f}",
                        sqrt_ms_per_step_iqr=f"{r.sqrt_ms_iqr:.5f}",
                        wall_seconds=f"{r.wall_seconds:.4f}",
                    )
                )

    def _clean(v):
        return None if isinstance(v, float) and not math.isfinite(v) else v

    payload = {
        "experiment": "zca-whitening-digits",
        "config": config,
        "environment": {
            "torch": torch.__version__,
            "python": platform.python_version(),
            "threads": torch.get_num_threads(),
            "machine": platform.machine(),
        },
        "methods": {
            r.name: {
                **{k: (_clean(v) if not isinstance(v, list) else v) for k, v in asdict(r).items() if k != "name"},
                "final_val_accuracy": _clean(r.final_accuracy),
                "label": method_table.CONFIGURATIONS[r.name].label,
                **METHODS[r.name],
            }
            for r in results
        },
    }
    with open(json_path, "w") as fh:
        json.dump(payload, fh, indent=2)
    return {"csv": csv_path, "json": json_path}


def run(
    methods: Optional[Sequence[str]] = None,
    *,
    epochs: Optional[int] = None,
    seed: int = DEFAULTS["seed"],
    quick: bool = False,
    out: Optional[str] = "results/whitening",
    threads: Optional[int] = None,
    progress: bool = True,
    **train_options,
) -> List[MethodResult]:
    """Train once per method, print the table, save the results (unless ``out`` is ``None``).

    Parameters
    ----------
    methods : sequence of str, optional
        Keys of :data:`METHODS` (default: :data:`DEFAULT_METHODS`).
    epochs : int, optional
        Default 6, or 1 with ``quick``.
    seed : int
        Seed of the split, the initial weights and the batch order.
    quick : bool
        One epoch on a subset (192 training, 96 validation images): seconds.
    out : str or None
        Output folder.
    threads : int, optional
        ``torch.set_num_threads`` for the run.
    progress : bool
        Show a tqdm progress bar per method.
    **train_options
        ``batch_size``, ``lr``, ``width``, ``eps`` of :func:`train_method`.
    """
    if methods is None:
        methods = DEFAULT_METHODS
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    if threads is not None:
        torch.set_num_threads(int(threads))
    if epochs is None:
        epochs = QUICK["epochs"] if quick else DEFAULTS["epochs"]
    data = load_digits_data(seed=seed, **({"n_train": QUICK["n_train"], "n_val": QUICK["n_val"]} if quick else {}))
    results = [train_method(m, data, epochs=epochs, seed=seed, progress=progress, **train_options) for m in methods]
    print(format_table(results))
    if out is not None:
        config = dict(
            DEFAULTS,
            **train_options,
            epochs=epochs,
            seed=seed,
            quick=quick,
            methods=list(methods),
            n_train=len(data.y_train),
            n_val=len(data.y_val),
            threads=torch.get_num_threads(),
        )
        paths = save_results(results, out, config)
        print(f"saved {paths['csv']} and {paths['json']}")
    return results


def _parse(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m mathsqrt.paper.studies.whitening",
        description="Train a small conv net with a ZCA whitening layer on scikit-learn's digits, once per "
        "square-root method; report the square-root layer's time and the validation accuracy.",
    )
    p.add_argument("--methods", default=None, help=f"comma-separated, from: {', '.join(METHODS)} (default: all)")
    p.add_argument(
        "--epochs", type=int, default=None, help=f"epochs per method (default {DEFAULTS['epochs']}, 1 with --quick)"
    )
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="seed of split, weights and batches (default 0)")
    p.add_argument("--quick", action="store_true", help="one short epoch on a subset (seconds)")
    p.add_argument("--out", default="results/whitening", help="output folder (default results/whitening)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    p.add_argument("--eps", type=float, default=DEFAULTS["eps"], help="whitening epsilon")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        p.error("--epochs must be >= 1")
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be >= 1")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parse(argv)
    methods = None if args.methods is None else [m.strip() for m in args.methods.split(",") if m.strip()]
    try:
        run(
            methods,
            epochs=args.epochs,
            seed=args.seed,
            quick=args.quick,
            out=args.out,
            threads=args.threads,
            progress=not args.no_progress,
            batch_size=args.batch_size,
            lr=args.lr,
            eps=args.eps,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
