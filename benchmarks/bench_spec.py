"""Benchmark: what the whole `diagnose --spec` suite costs, in epochs of the user's training.

    .venv/bin/python benchmarks/bench_spec.py [--budgets quick,standard] [--repeat 1]
                                              [--write-docs]

For each healthy fault-benchmark spec (MLP and CNN on digits, MLP regression on diabetes):

1. **One epoch**: a fresh model from the spec's factory trained for one pass over the whole
   training set with the spec's optimizer (Adam 1e-3 by default), loss and batch size, in
   shuffled mini-batches: the median of 3 timed epochs after one warm-up epoch.
2. **The suite**: wall time of `overfit_doctor.api.diagnose(spec=path, budget=b)` with every
   check (median of `--repeat` runs), and that time divided by the epoch time.

Torch and the optimizers are imported and warmed up before anything is timed. Results go to
stdout and, with --write-docs, into the bench_spec block of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from docs_block import write_block

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "benchmarks" / "faults" / "specs"
CASES = ("healthy_mlp", "healthy_cnn", "healthy_regression")
_LOAD_AT_START = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0


def epoch_seconds(path: Path, repeat: int = 3) -> tuple[float, float, int, int]:
    """(median wall and CPU seconds of one training epoch, training rows, parameters)."""
    from overfit_doctor.probes.context import ProbeContext, to_split
    from overfit_doctor.spec import load_spec

    spec = load_spec(path)
    ctx = ProbeContext.build(spec, budget="quick", device="cpu")
    full = to_split(spec.train, "train", 10**12, 0)  # every training row, not the budget's sample
    model = ctx.new_model()
    opt = ctx.new_optimizer(model)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    times, cpu = [], []
    for i in range(repeat + 1):
        start, start_cpu = time.perf_counter(), time.process_time()
        ctx.train_steps(model, opt, ctx.batches(full.X, full.y, ctx.batch_size, seed=i))
        if i:  # the first epoch is a warm-up
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    return statistics.median(times), statistics.median(cpu), len(full), params


def suite_seconds(path: Path, budget: str, repeat: int) -> tuple[float, float, list]:
    """(median wall and CPU seconds of diagnose, the costliest checks of the last run)."""
    from overfit_doctor.api import diagnose

    times, cpu, d = [], [], None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        d = diagnose(spec=str(path), budget=budget, device="cpu")
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    assert d is not None
    costly = sorted(
        ((r.id, r.duration_s) for r in d.checks if r.status != "skipped"), key=lambda t: -t[1]
    )[:3]
    return statistics.median(times), statistics.median(cpu), costly


def warm_up() -> None:
    import torch

    import overfit_doctor.api
    import overfit_doctor.probes.context  # noqa: F401

    torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-3).step()


def run(budgets: list[str], repeat: int) -> list[dict]:
    warm_up()
    rows = []
    for name in CASES:
        path = SPECS / f"{name}.py"
        print(f"{name}: epoch ...", file=sys.stderr, flush=True)
        epoch, epoch_cpu, n, params = epoch_seconds(path)
        row = {
            "case": name,
            "epoch": epoch,
            "epoch_cpu": epoch_cpu,
            "rows": n,
            "params": params,
            "suite": {},
        }
        for b in budgets:
            print(f"{name}: diagnose --budget {b} ...", file=sys.stderr, flush=True)
            row["suite"][b] = suite_seconds(path, b, repeat)
        rows.append(row)
    return rows


def table(rows: list[dict], budgets: list[str]) -> str:
    head = "| spec | train rows | parameters | 1 epoch: wall / CPU (s) |"
    rule = "|------|-----------:|-----------:|------------:|"
    for b in budgets:
        head += f" {b}: wall / CPU (s) | {b}: epochs (wall / CPU) |"
        rule += "------:|------:|"
    head += " costliest checks (first budget, wall s) |"
    rule += "------|"
    lines = [head, rule]
    for r in rows:
        line = (
            f"| {r['case']} | {r['rows']} | {r['params']:,} | {r['epoch']:.3f} / "
            f"{r['epoch_cpu']:.3f} |"
        )
        for b in budgets:
            wall, cpu, _ = r["suite"][b]
            line += (
                f" {wall:.1f} / {cpu:.1f} | {wall / r['epoch']:.0f} / "
                f"{cpu / max(r['epoch_cpu'], 1e-9):.0f} |"
            )
        costly = ", ".join(f"{cid} {sec:.1f}" for cid, sec in r["suite"][budgets[0]][2])
        lines.append(line + f" {costly} |")
    return "\n".join(lines)


def machine() -> str:
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{platform.machine()}, {cores} CPU cores (shared), Python "
        f"{platform.python_version()}, torch {torch.__version__}, CPU only{_load()}"
    )


def _load() -> str:
    """The 1-minute load average when the run started and now: a shared machine is noisy."""
    if not hasattr(os, "getloadavg"):
        return ""
    return (
        f", load average {_LOAD_AT_START:.1f} at the start and {os.getloadavg()[0]:.1f} at the end"
    )


def write_docs(text_table: str, command: str) -> None:
    today = datetime.date.today().isoformat()
    block = (
        f"Measured with `{command}` on {machine()}, {today}. One epoch = one "
        "pass over the training set with the spec's optimizer, loss and batch size; the "
        "suite = `diagnose(spec=..., budget=...)` with every check.\n\n"
        f"{text_table}"
    )
    write_block("bench_spec", block, heading="Cost of the active checks (`diagnose --spec`)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="quick,standard")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)"
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    budgets = [b.strip() for b in args.budgets.split(",") if b.strip()]
    rows = run(budgets, args.repeat)
    out = table(rows, budgets)
    print(out)
    if args.write_docs:
        command = (
            f".venv/bin/python benchmarks/bench_spec.py --budgets {','.join(budgets)} "
            f"--repeat {args.repeat}"
            + (f" --threads {args.threads}" if args.threads else "")
            + " --write-docs"
        )
        write_docs(out, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
