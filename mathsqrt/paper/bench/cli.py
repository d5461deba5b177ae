r"""Command line of the benchmark: options, machine metadata, CSV/JSON/Markdown output.

Output folder (``--out``, default ``results/bench``): ``<sweep>.csv`` for each sweep run,
``metadata.json`` (machine, versions, threads, date, command line, settings) and, when the
``headline`` sweep ran, ``headline.md`` (the table for the README). Files of sweeps not run are left
untouched, so sweeps can be refreshed one at a time; ``metadata.json`` lists the sweeps of each run
under ``runs``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

import torch

from mathsqrt import methods

from ..data import PROPOSED
from ..plotting import configuration_label
from ..timing import resolve_device
from .sweeps import SWEEPS, BenchConfig, run_sweep

__all__ = ["main", "run", "machine_metadata", "write_csv", "headline_markdown", "DEFAULT_OUT"]

DEFAULT_OUT = Path("results") / "bench"

#: The configuration every speed ratio of the headline table is relative to: the paper's own method.
REFERENCE = methods.configuration(PROPOSED).name


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_metadata(cfg: BenchConfig, argv: Optional[Sequence[str]] = None) -> Dict[str, object]:
    """What the numbers depend on: versions, device, threads, date, load, command line and settings."""
    import mathsqrt

    dev = cfg.device
    meta = {
        "mathsqrt_version": mathsqrt.__version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else _cpu_model(),
        "cuda_version": torch.version.cuda,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "omp_num_threads_env": os.environ.get("OMP_NUM_THREADS"),
        "date_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command_line": " ".join(
            [Path(sys.executable).name, "-m", "mathsqrt.paper.bench", *(sys.argv[1:] if argv is None else argv)]
        ),
        "quick": cfg.quick,
        "dtype": str(cfg.dtype).replace("torch.", ""),
        "repeats_max": cfg.repeats,
        "repeats_min": cfg.min_repeats,
        "warmup": cfg.warmup,
        "budget_s_per_point": cfg.budget_s,
        "seed": cfg.seed,
        "statistic": "median of round-robin repeats after warm-up (time_ms), inter-quartile range (time_iqr_ms)",
        "timer": "CUDA events + synchronize" if dev.type == "cuda" else "time.perf_counter",
        "forwards": list(methods.FORWARDS),
        "backwards": list(methods.BACKWARDS),
        "configurations": {name: c.label for name, c in methods.CONFIGURATIONS.items()},
        "inputs": (
            "random_covariance (X X^T / 2n, Gaussian X) unless family=spd "
            "(random_spd, log-spaced spectrum of given cond)"
        ),
    }
    try:
        meta["load_average_start"] = os.getloadavg()
    except OSError:
        meta["load_average_start"] = None
    return meta


def _busy(meta: Dict[str, object]) -> bool:
    """Whether other work competed for the CPUs: 1-minute load average above half the CPUs before the run,
    or above the CPUs plus a half after it (the benchmark itself keeps up to all CPUs busy)."""
    cpus = meta.get("cpu_count") or 1
    start, end = meta.get("load_average_start"), meta.get("load_average_end")
    return bool((start and start[0] > 0.5 * cpus) or (end and end[0] > cpus + 0.5))


def write_csv(rows: List[dict], path: Path) -> None:
    """Write dict rows to ``path``; the header is the union of keys in order of first appearance."""
    fields: List[str] = []
    for row in rows:
        for key in row:
            if key not in fields:
                fields.append(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def headline_markdown(rows: List[dict], meta: Dict[str, object]) -> str:
    """Markdown tables of the ``headline`` sweep: FP+BP ms, speed ratios to :data:`REFERENCE`, ratios to the floors.

    Rows are keyed by configuration name (``method``); columns show the table's labels.
    """
    points = []
    for r in rows:
        key = (r["batch"], r["n"])
        if key not in points:
            points.append(key)
    names = []
    for r in rows:
        if r["method"] not in names:
            names.append(r["method"])
    label = {name: configuration_label(name) for name in names}
    others = [m for m in names if m != REFERENCE]
    at = {(r["batch"], r["n"], r["method"]): r for r in rows}
    lines = [
        f"FP+BP of `sqrtm` (float32), median ms; machine: {meta.get('device_name')} "
        f"({meta.get('torch_threads')} threads), torch {meta.get('torch_version')}, {meta.get('date_utc')}.",
        f"Command: `{meta.get('command_line')}`.",
        "",
        "| input | "
        + " | ".join(label[m] for m in names)
        + " | "
        + " | ".join(f"{label[m]} / {label.get(REFERENCE, REFERENCE)}" for m in others)
        + " |",
        "|---|" + "---:|" * (len(names) + len(others)),
    ]
    for b, n in points:
        t = {m: float(at[(b, n, m)]["time_ms"]) for m in names if (b, n, m) in at}
        ref = t.get(REFERENCE)
        ratios = [f"{t[k] / ref:.2f}×" if ref and k in t else "" for k in others]
        lines.append(
            f"| {b}×{n}×{n} | "
            + " | ".join(f"{t[m]:.2f}" if m in t else "" for m in names)
            + " | "
            + " | ".join(ratios)
            + " |"
        )
    lines += [
        "",
        "Time / matmul floor ((forward + backward matmuls, counted) × one warm `torch.bmm` of the same shape), "
        "and / op floor (adds the counted Cholesky, solves, eigh):",
        "",
        "| input | " + " | ".join(label[m] for m in names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for b, n in points:
        cells = []
        for m in names:
            r = at.get((b, n, m))
            cells.append(
                f"{float(r['ratio_to_matmul_floor']):.2f} / {float(r['ratio_to_op_floor']):.2f}"
                if r and r["ratio_to_matmul_floor"] != ""
                else ""
            )
        lines.append(f"| {b}×{n}×{n} | " + " | ".join(cells) + " |")
    counts = [f"{label[m]}: {at[points[0] + (m,)]['fw_matmul']}+{at[points[0] + (m,)]['bw_matmul']}" for m in names]
    lines += ["", "Matmuls counted (forward+backward): " + ", ".join(counts) + "."]
    return "\n".join(lines) + "\n"


def _progress_factory(enabled: bool):
    from tqdm.auto import tqdm

    def progress(iterable, desc):
        items = list(iterable)
        return tqdm(items, desc=f"{desc:>10}", disable=not enabled, leave=True, file=sys.stderr, dynamic_ncols=True)

    return progress


def run(
    cfg: BenchConfig, sweeps: Iterable[str], out: Path, *, progress: bool = True, argv: Optional[Sequence[str]] = None
) -> Dict[str, List[dict]]:
    """Run the named sweeps, write their CSV files, ``metadata.json`` (and ``headline.md``) to ``out``."""
    sweeps = list(sweeps)
    for name in sweeps:
        if name not in SWEEPS:
            raise ValueError(f"unknown sweep {name!r}; choose from {', '.join(SWEEPS)} or 'all'")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta = machine_metadata(cfg, argv)
    bar = _progress_factory(progress)
    results: Dict[str, List[dict]] = {}
    seconds = {}
    for name in sweeps:
        start = time.perf_counter()
        results[name] = run_sweep(name, cfg, bar)
        seconds[name] = round(time.perf_counter() - start, 2)
        write_csv(results[name], out / f"{name}.csv")
    try:
        meta["load_average_end"] = os.getloadavg()
    except OSError:
        meta["load_average_end"] = None
    meta["sweeps"] = sweeps
    meta["sweep_seconds"] = seconds
    meta["busy"] = _busy(meta)
    if meta["busy"]:
        print(
            f"warning: the machine was busy (load average {meta['load_average_start']} -> "
            f"{meta['load_average_end']} on "
            f"{meta['cpu_count']} CPUs): timings are noisy; rerun on an idle machine",
            file=sys.stderr,
        )
    meta["files"] = [f"{name}.csv" for name in sweeps]
    previous = {}
    if (out / "metadata.json").exists():
        try:
            previous = json.loads((out / "metadata.json").read_text())
        except (OSError, ValueError):
            previous = {}
    runs = previous.get("runs", {}) if isinstance(previous, dict) else {}
    for name in sweeps:
        runs[name] = {"date_utc": meta["date_utc"], "quick": cfg.quick, "command_line": meta["command_line"]}
    meta["runs"] = runs
    (out / "metadata.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
    if "headline" in results:
        (out / "headline.md").write_text(headline_markdown(results["headline"], meta))
    return results


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m mathsqrt.paper.bench",
        description="Speed/accuracy benchmark of mathsqrt (Song, Sebe & Wang, ICLR 2022, Sec. 4.1): "
        "one CSV per sweep + metadata.json.",
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda[:k] (default cpu)")
    p.add_argument("--quick", action="store_true", help="tiny sizes and few repeats (CI, seconds)")
    p.add_argument("--sweeps", default="all", help=f"comma-separated subset of: {', '.join(SWEEPS)} (default all)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    p.add_argument("--repeats", type=int, default=None, help="maximum timed repeats per point (default 25, quick 5)")
    p.add_argument("--min-repeats", type=int, default=None, help="minimum timed repeats per point (default 3, quick 2)")
    p.add_argument("--warmup", type=int, default=None, help="untimed calls per method first (default 2, quick 1)")
    p.add_argument(
        "--budget", type=float, default=None, help="target seconds of timed repeats per point (default 3, quick 0.2)"
    )
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"], help="dtype of the timed inputs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``python -m mathsqrt.paper.bench``; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        resolve_device(args.device)
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    previous_threads = torch.get_num_threads()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        return _main(args, argv)
    finally:
        torch.set_num_threads(previous_threads)


def _main(args, argv) -> int:
    device = resolve_device(args.device)
    quick = args.quick

    def choose(value, full, fast):
        return value if value is not None else (fast if quick else full)

    cfg = BenchConfig(
        device=device,
        dtype=getattr(torch, args.dtype),
        quick=quick,
        repeats=choose(args.repeats, 25, 5),
        min_repeats=choose(args.min_repeats, 3, 2),
        warmup=choose(args.warmup, 2, 1),
        budget_s=choose(args.budget, 3.0, 0.2),
        seed=args.seed,
    )
    sweeps = list(SWEEPS) if args.sweeps.strip() == "all" else [s.strip() for s in args.sweeps.split(",") if s.strip()]
    try:
        results = run(cfg, sweeps, args.out, progress=not args.no_progress, argv=argv)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {', '.join(f'{s}.csv' for s in results)} and metadata.json to {args.out}")
    if "headline" in results:
        print((Path(args.out) / "headline.md").read_text())
    return 0
