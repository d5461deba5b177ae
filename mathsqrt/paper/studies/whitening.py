r"""ZCA whitening experiment: a small conv net on scikit-learn's digits, per square-root method, with controls.

A CPU-sized version of the paper's decorrelated-batch-norm experiment ([1]_ Sec. 4.2, appendix
A.2, Table 3, and the Lyapunov-backward ablation of appendix A.7.3, Table 7): a ZCA whitening layer
(:class:`mathsqrt.nn.ZCAWhitening`) is inserted after the first convolution, and the same network
is trained with each square-root method and, as **controls**, with no normalisation there and with
:class:`torch.nn.BatchNorm2d` there. Every run of a seed starts from the same initial weights
(except for the layer under test) and sees the same batches; several seeds give the spread.

Reported per method, over the seeds: the validation error of the last epoch (mean ± sample standard
deviation, and the best seed, as the paper's tables), the validation accuracy per epoch, the number
of runs that failed (a non-finite loss or a failed factorisation), and the time of the square-root
layer (forward + backward, measured around the square-root calls only; the median over training
steps, then over seeds).

Run::

    python -m mathsqrt.paper.studies.whitening            # 15 variants x 5 seeds x 6 epochs: minutes
    python -m mathsqrt.paper.studies.whitening --quick    # one short epoch on a subset, 1 seed: seconds
    python -m mathsqrt.paper.studies.whitening --methods none,batchnorm,mpa-lya --seeds 3 --epochs 4

Results go to ``<out>/results.csv`` (one row per method, seed and epoch) and ``<out>/results.json``
(configuration, per-method summary over seeds and every run's history).

The data (1797 grey 8×8 digits, ``sklearn.datasets.load_digits``) ship with scikit-learn; nothing
is downloaded. The split into training and validation images is fixed (``split_seed``); the seeds
change the initial weights and the order of the batches.

Methods
-------
Names accepted by :func:`run`, :func:`train_method` and ``--methods``:

- every configuration of the method table (:data:`mathsqrt.methods.CONFIGURATIONS`) whose forward is
  a square root, under its one name (:data:`METHODS`): ``mpa-lya`` (the paper's method), ``mtp-lya``,
  ``ns``, ``svd`` (eigh differentiated by autograd, paper Eq. (2)), ``eigh`` (the exact eigenbasis
  backward), the stabilised SVD baselines and the package's additions;
- any other compatible pair ``"forward/backward"`` of the table whose forward is a square root
  (:func:`mathsqrt.paper.plotting.pair_name`), in particular the two rows of the paper's Table 7
  (:data:`TABLE7`): ``eigh/lyapunov-ns`` (*SVD-Lya*) and ``ns/lyapunov-ns`` (*NS-Lya*), the paper's
  Lyapunov backward after the eigendecomposition and after Newton–Schulz;
- the controls (:data:`CONTROLS`): ``none`` and ``batchnorm``.

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
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn

from mathsqrt import methods as method_table
from mathsqrt.nn import ZCAWhitening

from ..data import LYAPUNOV
from ..plotting import PAIR_SEPARATOR, configuration_label, pair_name
from ..timing import TimingResult

__all__ = [
    "METHODS",
    "CONTROLS",
    "TABLE7",
    "DEFAULT_METHODS",
    "DEFAULTS",
    "QUICK",
    "layer_options",
    "method_label",
    "Digits",
    "load_digits_data",
    "SqrtTimer",
    "TimedZCAWhitening",
    "DigitsNet",
    "MethodResult",
    "Summary",
    "train_method",
    "summarise",
    "run",
    "format_table",
    "format_runs",
    "save_results",
    "main",
]

#: Square-root layer of each configuration whose forward is a square root (keywords of :class:`ZCAWhitening`).
METHODS: Dict[str, dict] = {
    name: config.kwargs()
    for name, config in method_table.CONFIGURATIONS.items()
    if method_table.forward_method(config.method).root
}

#: Controls: what the layer after the first convolution is instead of ZCA whitening, by name.
CONTROLS: Dict[str, str] = {
    "none": "no whitening: nothing between the first convolution and its ReLU",
    "batchnorm": "torch.nn.BatchNorm2d (per-channel standardisation, no decorrelation)",
}
_CONTROL_LABELS = {"none": "no whitening", "batchnorm": "BatchNorm"}

#: The paper's Table 7 ([1]_ appendix A.7.3): its Lyapunov backward after the forwards of SVD and of
#: NS, as ``"forward/backward"`` pairs of the method table, with the paper's names.
TABLE7: Dict[str, str] = {
    pair_name(method_table.configuration(base).method, LYAPUNOV): f"{label}-Lya"
    for base, label in (("svd", "SVD"), ("ns", "NS"))
}

#: Methods run by default (CLI): the controls, every configuration of :data:`METHODS`, then :data:`TABLE7`.
DEFAULT_METHODS = tuple(CONTROLS) + tuple(METHODS) + tuple(TABLE7)

#: Default settings of the CLI: full digits (1438 training, 359 validation images), 5 seeds.
DEFAULTS = dict(epochs=6, batch_size=64, lr=0.05, width=16, eps=1e-5, seeds=5, split_seed=0)
#: ``--quick``: one short epoch on a subset, one seed (seconds).
QUICK = dict(epochs=1, n_train=192, n_val=96, seeds=1)


def layer_options(name: str) -> Optional[dict]:
    """What follows the first convolution for method ``name``: square-root keywords, or ``None`` for a control.

    Parameters
    ----------
    name : str
        A key of :data:`METHODS` or :data:`CONTROLS`, or a compatible ``"forward/backward"`` pair of
        the method table whose forward is a square root (:func:`mathsqrt.paper.plotting.pair_name`).

    Returns
    -------
    dict or None
        Keywords of :class:`mathsqrt.nn.ZCAWhitening` (``method``, ``backward``, ...), or ``None``.

    Raises
    ------
    ValueError
        An unknown name, an incompatible pair, or a pair spelled out that has a configuration name.
    """
    if not isinstance(name, str):
        raise ValueError(f"method names are strings, got {name!r}")
    if name in CONTROLS:
        return None
    if name in METHODS:
        return dict(METHODS[name])
    forward, sep, backward = name.partition(PAIR_SEPARATOR)
    if sep and forward in method_table.FORWARDS and backward in method_table.BACKWARDS:
        if not method_table.forward_method(forward).root or not method_table.compatible(forward, backward):
            raise ValueError(f"{name!r}: backward {backward!r} cannot follow method {forward!r} in a whitening layer")
        canonical = pair_name(forward, backward)
        if canonical != name:
            raise ValueError(f"{name!r} is the configuration {canonical!r}: use that name")
        return dict(method=forward, backward=backward)
    raise ValueError(
        f"unknown method {name!r}; choose a control ({', '.join(CONTROLS)}), a configuration "
        f"({', '.join(METHODS)}) or a pair 'forward/backward' of the method table (e.g. {', '.join(TABLE7)})"
    )


def method_label(name: str) -> str:
    """Display label: ``"no whitening"``, ``"BatchNorm"``, the paper's ``"SVD-Lya"``, or the table's label."""
    if name in _CONTROL_LABELS:
        return _CONTROL_LABELS[name]
    if name in TABLE7:
        return TABLE7[name]
    return configuration_label(name)


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

    Returns
    -------
    Digits
        1438 training and 359 validation images by default.
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

    Parameters
    ----------
    width : int
        Channels of the first convolution (the size of the whitened covariance).
    eps : float
        Of the whitening layer (and of the BatchNorm control).
    groups : int
        Of the whitening layer.
    control : {None, "none", "batchnorm"}
        Replace the whitening layer by nothing or by :class:`torch.nn.BatchNorm2d` (:data:`CONTROLS`).
    **sqrt_options
        Square-root keywords of :class:`mathsqrt.nn.ZCAWhitening`.

    Notes
    -----
    The parameters are created in the same order whatever ``control`` is, and the layer under test
    draws no random numbers, so under one seed every variant starts from the same convolutions and
    classifier.
    """

    def __init__(
        self, *, width: int = 16, eps: float = 1e-5, groups: int = 1, control: Optional[str] = None, **sqrt_options
    ) -> None:
        super().__init__()
        if control is not None and control not in CONTROLS:
            raise ValueError(f"control must be one of {', '.join(CONTROLS)}, got {control!r}")
        self.conv1 = nn.Conv2d(1, width, 5, padding=2, bias=False)
        if control == "none":
            self.whiten = nn.Identity()
        elif control == "batchnorm":
            self.whiten = nn.BatchNorm2d(width, eps=eps)
        else:
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
    """Outcome of training with one method and one seed.

    Attributes
    ----------
    name : str
        Method name (see :func:`layer_options`).
    seed : int
        Seed of the initial weights and of the batch order.
    val_accuracy, val_loss, train_loss, epoch_seconds : list of float
        Per epoch.
    sqrt_forward_ms, sqrt_backward_ms, sqrt_ms : float
        Median time of the square root per training step (forward, backward, both), milliseconds:
        the statistic of every timing of :mod:`mathsqrt.paper` (:class:`mathsqrt.paper.timing.TimingResult`),
        so that a step slowed down by another process on a shared machine does not move the figure.
        NaN for a control.
    sqrt_ms_iqr : float
        Its spread: the inter-quartile range of forward + backward per step, milliseconds.
    wall_seconds : float
        Total time of training and evaluation.
    steps : int
        Training steps.
    error : str, optional
        The error message if training stopped (a non-finite loss, a failed factorisation); the
        other fields then hold what was measured before.
    """

    name: str
    seed: int = 0
    val_accuracy: List[float] = field(default_factory=list)
    val_loss: List[float] = field(default_factory=list)
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
        """Validation accuracy after the last epoch (NaN if the run failed)."""
        return self.val_accuracy[-1] if self.val_accuracy and self.error is None else float("nan")

    @property
    def label(self) -> str:
        return method_label(self.name)


def _warm_up(layer: TimedZCAWhitening) -> None:
    """One untimed square root, forward and backward, so that one-off costs (the exact Padé
    coefficients are derived with sympy on first use, kernels are loaded) are not timed."""
    c = layer.num_features // layer.groups
    A = (torch.eye(c) + 0.1 * torch.ones(c, c)).expand(layer.groups, c, c).clone().requires_grad_(True)
    layer.matrix_sqrt(A).sum().backward()
    layer.timer.reset()


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512):
    """Accuracy and mean cross-entropy of ``model`` (in eval mode: running statistics) on ``(x, y)``."""
    model.eval()
    correct, loss = 0, 0.0
    for i in range(0, len(y), batch_size):
        logits = model(x[i : i + batch_size])
        correct += int((logits.argmax(1) == y[i : i + batch_size]).sum())
        loss += float(nn.functional.cross_entropy(logits, y[i : i + batch_size], reduction="sum"))
    return correct / len(y), loss / len(y)


def train_method(
    name: str,
    data: Digits,
    *,
    epochs: int = DEFAULTS["epochs"],
    batch_size: int = DEFAULTS["batch_size"],
    lr: float = DEFAULTS["lr"],
    width: int = DEFAULTS["width"],
    eps: float = DEFAULTS["eps"],
    seed: int = 0,
    progress: bool = False,
) -> MethodResult:
    """Train :class:`DigitsNet` with method ``name`` (see :func:`layer_options`) and return its measurements.

    The initial weights and the order of the batches depend on ``seed`` only, so every method
    starts from the same network and sees the same batches. SGD with momentum 0.9, weight decay
    5e-4, cosine learning-rate schedule.
    """
    options = layer_options(name)
    torch.manual_seed(seed)
    if options is None:
        model = DigitsNet(width=width, eps=eps, control=name)
    else:
        model = DigitsNet(width=width, eps=eps, **options)
    steps_per_epoch = math.ceil(len(data.y_train) / batch_size)
    total = epochs * steps_per_epoch
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total, 1))
    gen = torch.Generator().manual_seed(seed)
    result = MethodResult(name, seed)
    timer = getattr(model.whiten, "timer", None)
    if timer is not None:
        _warm_up(model.whiten)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=f"{name} s{seed}", leave=False, file=sys.stderr, dynamic_ncols=True)
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
            if not losses or not math.isfinite(sum(losses)):
                raise FloatingPointError("the training loss is not finite")
            result.train_loss.append(sum(losses) / len(losses))
            accuracy, val_loss = evaluate(model, data.x_val, data.y_val)
            if not math.isfinite(val_loss):
                raise FloatingPointError("the validation loss is not finite")
            result.val_accuracy.append(accuracy)
            result.val_loss.append(val_loss)
            result.epoch_seconds.append(time.perf_counter() - epoch_start)
    except (ValueError, FloatingPointError, RuntimeError) as exc:  # LinAlgError is a RuntimeError
        result.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        if bar is not None:
            bar.close()
    result.wall_seconds = time.perf_counter() - start
    if timer is not None:
        fw, bw = timer.forward_times, timer.backward_times
        if fw and len(fw) == len(bw):
            both = TimingResult([1000 * (f + b) for f, b in zip(fw, bw)])
            result.sqrt_forward_ms = TimingResult([1000 * f for f in fw]).median
            result.sqrt_backward_ms = TimingResult([1000 * b for b in bw]).median
            result.sqrt_ms, result.sqrt_ms_iqr = both.median, both.iqr
    return result


# ----------------------------------------------------------------------------------------------
# summary over seeds
# ----------------------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def _std(values: Sequence[float]) -> float:
    """Sample standard deviation (the paper's "mean ± std"); 0 for one value, NaN for none."""
    if not values:
        return float("nan")
    return statistics.stdev(values) if len(values) > 1 else 0.0


@dataclass
class Summary:
    """One method over its seeds.

    Attributes
    ----------
    name, label : str
    seeds : list of int
        Every seed run.
    failed : list of int
        Seeds whose run failed; they are left out of every statistic below.
    final_accuracy : list of float
        Validation accuracy after the last epoch, per successful seed.
    accuracy_mean, accuracy_std : list of float
        Per epoch, over the successful seeds.
    sqrt_ms : float
        Median over the successful seeds of each run's median square-root time per step (NaN for a control).
    """

    name: str
    label: str
    seeds: List[int]
    failed: List[int]
    final_accuracy: List[float]
    accuracy_mean: List[float]
    accuracy_std: List[float]
    sqrt_ms: float

    @property
    def error_mean(self) -> float:
        """Validation error of the last epoch, percent: mean over the successful seeds."""
        return 100 * (1 - _mean(self.final_accuracy))

    @property
    def error_std(self) -> float:
        """Its sample standard deviation over the seeds, percent."""
        return 100 * _std(self.final_accuracy)

    @property
    def error_min(self) -> float:
        """The best seed's validation error, percent."""
        return 100 * (1 - max(self.final_accuracy)) if self.final_accuracy else float("nan")


def summarise(results: Sequence[MethodResult]) -> List[Summary]:
    """Group runs by method (in order of first appearance) and summarise them over seeds."""
    groups: Dict[str, List[MethodResult]] = {}
    for r in results:
        groups.setdefault(r.name, []).append(r)
    out = []
    for name, runs in groups.items():
        ok = [r for r in runs if r.error is None and r.val_accuracy]
        epochs = min((len(r.val_accuracy) for r in ok), default=0)
        per_epoch = [[r.val_accuracy[e] for r in ok] for e in range(epochs)]
        times = [r.sqrt_ms for r in ok if math.isfinite(r.sqrt_ms)]
        out.append(
            Summary(
                name=name,
                label=method_label(name),
                seeds=[r.seed for r in runs],
                failed=[r.seed for r in runs if r not in ok],
                final_accuracy=[r.final_accuracy for r in ok],
                accuracy_mean=[_mean(v) for v in per_epoch],
                accuracy_std=[_std(v) for v in per_epoch],
                sqrt_ms=statistics.median(times) if times else float("nan"),
            )
        )
    return out


# ----------------------------------------------------------------------------------------------
# reporting
# ----------------------------------------------------------------------------------------------


def format_table(results: Sequence[MethodResult]) -> str:
    """Per method over seeds: validation error (mean ± std, best seed), failed runs, square-root ms per step."""
    summaries = summarise(results)
    header = f"{'method':<17} {'val. error % (mean ± std)':>25} {'best':>6} {'failed':>7} {'sqrt ms/step':>13}"
    lines = [
        "validation error after the last epoch over seeds; square-root layer: median FP+BP ms per step",
        header,
        "-" * len(header),
    ]
    for s in summaries:
        spread = f"{s.error_mean:6.2f} ± {s.error_std:4.2f}" if s.final_accuracy else "—"
        best = f"{s.error_min:6.2f}" if s.final_accuracy else "—"
        ms = f"{s.sqrt_ms:13.3f}" if math.isfinite(s.sqrt_ms) else f"{'—':>13}"
        lines.append(f"{s.label:<17} {spread:>25} {best:>6} {f'{len(s.failed)}/{len(s.seeds)}':>7} {ms}")
    return "\n".join(lines)


def format_runs(results: Sequence[MethodResult]) -> str:
    """One line per run: method, seed, square-root ms per step (FP, BP, FP+BP), wall time, accuracy per epoch."""
    header = f"{'method':<17} {'seed':>4} {'sqrt FP ms':>10} {'sqrt BP ms':>10} {'FP+BP ms':>9} {'wall s':>7}"
    header += "  val acc per epoch"
    lines = [header, "-" * len(header)]
    for r in results:
        epochs = " ".join(f"{a:.3f}" for a in r.val_accuracy)
        lines.append(
            f"{r.label:<17} {r.seed:>4} {r.sqrt_forward_ms:>10.3f} {r.sqrt_backward_ms:>10.3f} {r.sqrt_ms:>9.3f} "
            f"{r.wall_seconds:>7.1f}  {epochs}" + (f"  [{r.error}]" if r.error else "")
        )
    return "\n".join(lines)


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


def save_results(results: Sequence[MethodResult], out: str, config: dict) -> Dict[str, str]:
    """Write ``results.csv`` (method × seed × epoch rows) and ``results.json`` under ``out``; return their paths."""
    os.makedirs(out, exist_ok=True)
    csv_path = os.path.join(out, "results.csv")
    json_path = os.path.join(out, "results.json")
    fields = [
        "method",
        "seed",
        "epoch",
        "train_loss",
        "val_loss",
        "val_accuracy",
        "epoch_seconds",
        "sqrt_forward_ms_per_step",
        "sqrt_backward_ms_per_step",
        "sqrt_ms_per_step",
        "sqrt_ms_per_step_iqr",
        "wall_seconds",
        "error",
    ]
    with open(csv_path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for r in results:
            rows = zip(r.train_loss, r.val_loss, r.val_accuracy, r.epoch_seconds)
            for e, (loss, val_loss, acc, sec) in enumerate(rows, start=1):
                writer.writerow(
                    dict(
                        method=r.name,
                        seed=r.seed,
                        epoch=e,
                        train_loss=f"{loss:.6f}",
                        val_loss=f"{val_loss:.6f}",
                        val_accuracy=f"{acc:.6f}",
                        epoch_seconds=f"{sec:.4f}",
                        sqrt_forward_ms_per_step=f"{r.sqrt_forward_ms:.5f}",
                        sqrt_backward_ms_per_step=f"{r.sqrt_backward_ms:.5f}",
                        sqrt_ms_per_step=f"{r.sqrt_ms:.5f}",
                        sqrt_ms_per_step_iqr=f"{r.sqrt_ms_iqr:.5f}",
                        wall_seconds=f"{r.wall_seconds:.4f}",
                        error=r.error or "",
                    )
                )

    payload = {
        "experiment": "zca-whitening-digits",
        "config": config,
        "environment": {
            "torch": torch.__version__,
            "python": platform.python_version(),
            "threads": torch.get_num_threads(),
            "machine": platform.machine(),
        },
        "methods": {},
    }
    runs: Dict[str, List[MethodResult]] = {}
    for r in results:
        runs.setdefault(r.name, []).append(r)
    for s in summarise(results):
        options = layer_options(s.name)
        payload["methods"][s.name] = {
            "label": s.label,
            "kind": "control" if options is None else "whitening",
            **(options or {}),
            "seeds": s.seeds,
            "failed": s.failed,
            "val_error_percent_mean": _clean(s.error_mean),
            "val_error_percent_std": _clean(s.error_std),
            "val_error_percent_min": _clean(s.error_min),
            "val_accuracy_mean": _clean(s.accuracy_mean),
            "val_accuracy_std": _clean(s.accuracy_std),
            "sqrt_ms": _clean(s.sqrt_ms),
            "runs": [{k: _clean(v) for k, v in asdict(r).items() if k != "name"} for r in runs[s.name]],
        }
    with open(json_path, "w") as fh:
        json.dump(payload, fh, indent=2)
    return {"csv": csv_path, "json": json_path}


def run(
    methods: Optional[Sequence[str]] = None,
    *,
    epochs: Optional[int] = None,
    seeds: Optional[Sequence[int]] = None,
    split_seed: int = DEFAULTS["split_seed"],
    quick: bool = False,
    n_train: Optional[int] = None,
    n_val: Optional[int] = None,
    out: Optional[str] = "results/whitening",
    threads: Optional[int] = None,
    progress: bool = True,
    verbose: bool = True,
    **train_options,
) -> List[MethodResult]:
    """Train once per method and seed, print the summary, save the results (unless ``out`` is ``None``).

    Runs are interleaved: for each seed, every method in turn, so that a slow spell of a shared
    machine hits all methods alike.

    Parameters
    ----------
    methods : sequence of str, optional
        Names (see :func:`layer_options`; default :data:`DEFAULT_METHODS`).
    epochs : int, optional
        Default 6, or 1 with ``quick``.
    seeds : sequence of int, optional
        Seeds of the initial weights and the batch order (default ``0..4``, or ``0`` with ``quick``).
    split_seed : int
        Seed of the training/validation split (fixed across seeds).
    quick : bool
        One epoch on a subset (192 training, 96 validation images), one seed: seconds.
    n_train, n_val : int, optional
        Use only that many training / validation images.
    out : str or None
        Output folder.
    threads : int, optional
        ``torch.set_num_threads`` for the run.
    progress : bool
        Show a tqdm progress bar over the runs.
    verbose : bool
        Print the summary table.
    **train_options
        ``batch_size``, ``lr``, ``width``, ``eps`` of :func:`train_method`.

    Returns
    -------
    list of MethodResult
        One per method and seed, seed-major.
    """
    methods = list(DEFAULT_METHODS if methods is None else methods)
    for name in methods:
        layer_options(name)  # raises ValueError on an unknown name, before anything runs
    if not methods:
        raise ValueError("no method to run")
    if threads is not None:
        torch.set_num_threads(int(threads))
    if epochs is None:
        epochs = QUICK["epochs"] if quick else DEFAULTS["epochs"]
    if seeds is None:
        seeds = range(QUICK["seeds"] if quick else DEFAULTS["seeds"])
    seeds = [int(s) for s in seeds]
    if quick:
        n_train = QUICK["n_train"] if n_train is None else n_train
        n_val = QUICK["n_val"] if n_val is None else n_val
    data = load_digits_data(seed=split_seed, n_train=n_train, n_val=n_val)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(methods) * len(seeds), desc="runs", file=sys.stderr, dynamic_ncols=True)
    results = []
    for seed in seeds:
        for name in methods:
            if bar is not None:
                bar.set_postfix_str(f"{name}, seed {seed}")
            results.append(train_method(name, data, epochs=epochs, seed=seed, **train_options))
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    if verbose:
        print(format_table(results))
    if out is not None:
        config = dict(
            DEFAULTS,
            **train_options,
            epochs=epochs,
            seeds=seeds,
            split_seed=split_seed,
            quick=quick,
            methods=methods,
            n_train=len(data.y_train),
            n_val=len(data.y_val),
            threads=torch.get_num_threads(),
        )
        paths = save_results(results, out, config)
        if verbose:
            print(f"saved {paths['csv']} and {paths['json']}")
    return results


def _parse(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m mathsqrt.paper.studies.whitening",
        description="Train a small conv net with a ZCA whitening layer on scikit-learn's digits, once per "
        "square-root method and seed, with two controls (no whitening, BatchNorm); report the validation "
        "error over seeds and the square-root layer's time.",
    )
    p.add_argument(
        "--methods",
        default=None,
        help=f"comma-separated: controls ({', '.join(CONTROLS)}), configurations ({', '.join(METHODS)}) "
        f"or forward/backward pairs ({', '.join(TABLE7)} are the paper's Table 7); default: all of these",
    )
    p.add_argument(
        "--epochs", type=int, default=None, help=f"epochs per run (default {DEFAULTS['epochs']}, 1 with --quick)"
    )
    p.add_argument(
        "--seeds",
        type=int,
        default=None,
        help=f"number of seeds 0..N-1 (initial weights and batch order; default {DEFAULTS['seeds']}, 1 with --quick)",
    )
    p.add_argument("--split-seed", type=int, default=DEFAULTS["split_seed"], help="seed of the train/val split")
    p.add_argument("--quick", action="store_true", help="one short epoch on a subset, one seed (seconds)")
    p.add_argument("--out", default="results/whitening", help="output folder (default results/whitening)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: the network is too small to gain from a second thread, which only "
        "waits for a busy core on a shared machine)",
    )
    p.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    p.add_argument("--eps", type=float, default=DEFAULTS["eps"], help="whitening epsilon")
    p.add_argument("--runs", action="store_true", help="also print one line per run")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        p.error("--epochs must be >= 1")
    if args.seeds is not None and args.seeds < 1:
        p.error("--seeds must be >= 1")
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be >= 1")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parse(argv)
    methods = None if args.methods is None else [m.strip() for m in args.methods.split(",") if m.strip()]
    start = time.perf_counter()
    try:
        results = run(
            methods,
            epochs=args.epochs,
            seeds=None if args.seeds is None else range(args.seeds),
            split_seed=args.split_seed,
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
    if args.runs:
        print(format_runs(results))
    print(f"{len(results)} runs in {time.perf_counter() - start:.0f} s with {torch.get_num_threads()} threads")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
