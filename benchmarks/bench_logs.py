"""Benchmark: parsing + diagnosis of big logs, against the baselines that only parse.

    .venv/bin/python benchmarks/bench_logs.py [--rows 1000000] [--repeat 3] [--write-docs]

1. A Lightning-style metrics CSV with 1,000,000 rows (train loss every step, validation every
   1,000 steps): `pandas.read_csv` alone vs `load_history` vs `diagnose` (parse + all checks).
2. A TensorBoard event file with 1,000,000 scalars (train loss every step, validation every 1,000
   steps), written with TensorBoard's own writer: our reader and `diagnose` vs tbparse and
   EventAccumulator (with size_guidance 0 = keep every scalar) on the same file.

Timings are wall-clock medians of `--repeat` runs in this process; peak RSS is reported from a
separate measurement per case. Results go to stdout and, with --write-docs, to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from docs_block import write_block

ROOT = Path(__file__).resolve().parents[1]
VAL_EVERY = 1000


def make_csv(path: Path, rows: int) -> None:
    """Lightning-CSVLogger-shaped file: `epoch,step,train_loss,val_loss` with sparse val rows."""
    rng = np.random.default_rng(0)
    steps = np.arange(rows)
    train = 2.3 * np.exp(-steps / (rows / 5)) + 0.1 + rng.normal(0, 0.05, rows)
    with path.open("w") as fh:
        fh.write("epoch,step,train_loss,val_loss\n")
        lines = []
        for s in range(rows):
            epoch = s // VAL_EVERY
            if (s + 1) % VAL_EVERY == 0:
                v = 0.3 + 0.5 * ((epoch - 400) / 600) ** 2 + rng.normal(0, 0.01)
                lines.append(f"{epoch},{s},,{v:.6f}\n")
            else:
                lines.append(f"{epoch},{s},{train[s]:.6f},\n")
            if len(lines) >= 100_000:
                fh.writelines(lines)
                lines = []
        fh.writelines(lines)


def make_tfevents(folder: Path, scalars: int) -> Path:
    """Event file written by TensorBoard's EventFileWriter with simple_value scalars."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    rng = np.random.default_rng(0)
    writer = EventFileWriter(str(folder))
    n_val = scalars // VAL_EVERY
    for s in range(scalars):
        if (s + 1) % VAL_EVERY == 0:
            e = s // VAL_EVERY
            v = 0.3 + 0.5 * ((e - 0.4 * n_val) / (0.6 * n_val)) ** 2 + rng.normal(0, 0.01)
            tag = "Loss/val"
        else:
            v = 2.3 * np.exp(-s / (scalars / 5)) + 0.1 + rng.normal(0, 0.05)
            tag = "Loss/train"
        summary = Summary(value=[Summary.Value(tag=tag, simple_value=float(v))])
        writer.add_event(Event(wall_time=1.0 + s, step=s, summary=summary))
    writer.close()
    return next(folder.glob("events.out.tfevents.*"))


_MEMORY_SNIPPETS = {
    "pandas.read_csv alone": "import pandas as pd; pd.read_csv(PATH)",
    "overfit-doctor load_history": (
        "from overfit_doctor.history.load import load_history; load_history([PATH])"
    ),
    "overfit-doctor diagnose (parse + checks)": (
        "from overfit_doctor.api import diagnose; diagnose(PATH)"
    ),
    "tbparse SummaryReader(...).scalars": (
        "from tbparse import SummaryReader; SummaryReader(str(PATH)).scalars"
    ),
    "EventAccumulator (size_guidance scalars=0)": (
        "from tensorboard.backend.event_processing.event_accumulator import EventAccumulator\n"
        "acc = EventAccumulator(str(PATH), size_guidance={'scalars': 0}); acc.Reload()\n"
        "[acc.Scalars(t) for t in acc.Tags()['scalars']]"
    ),
}


def peak_rss_mb(what: str, path: Path) -> float:
    """Peak resident memory (VmHWM) of a fresh process doing one case, Python start included."""
    import subprocess

    code = (
        f"from pathlib import Path\nPATH = Path({str(path)!r})\n{_MEMORY_SNIPPETS[what]}\n"
        # VmHWM belongs to this process image; ru_maxrss would keep the parent's peak across exec
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def timed(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(rows: int, repeat: int) -> list[tuple[str, str, float, float]]:
    import pandas as pd

    from overfit_doctor.api import diagnose
    from overfit_doctor.history.load import load_history

    results: list[tuple[str, str, float, float]] = []

    def case(label: str, what: str, fn: Callable[[], object], path: Path, n: int) -> None:
        results.append((label, what, timed(fn, n), peak_rss_mb(what, path)))

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        csv = tmp_path / "metrics.csv"
        t0 = time.perf_counter()
        make_csv(csv, rows)
        print(
            f"wrote {csv.stat().st_size / 1e6:.1f} MB CSV in {time.perf_counter() - t0:.1f}s",
            file=sys.stderr,
        )
        label = f"CSV, {rows:,} rows"
        case(label, "pandas.read_csv alone", lambda: pd.read_csv(csv), csv, repeat)
        case(label, "overfit-doctor load_history", lambda: load_history([csv]), csv, repeat)
        case(label, "overfit-doctor diagnose (parse + checks)", lambda: diagnose(csv), csv, repeat)

        tb_dir = tmp_path / "tb"
        tb_dir.mkdir()
        t0 = time.perf_counter()
        event_file = make_tfevents(tb_dir, rows)
        print(
            f"wrote {event_file.stat().st_size / 1e6:.1f} MB event file in "
            f"{time.perf_counter() - t0:.1f}s",
            file=sys.stderr,
        )
        label = f"TensorBoard, {rows:,} scalars"
        case(label, "overfit-doctor load_history", lambda: load_history([tb_dir]), tb_dir, repeat)
        case(
            label,
            "overfit-doctor diagnose (parse + checks)",
            lambda: diagnose(tb_dir),
            tb_dir,
            repeat,
        )
        try:
            from tbparse import SummaryReader

            case(
                label,
                "tbparse SummaryReader(...).scalars",
                lambda: SummaryReader(str(tb_dir)).scalars,
                tb_dir,
                max(1, repeat - 2),
            )
        except ImportError:
            print("tbparse not installed: skipped", file=sys.stderr)
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        def accumulate() -> None:
            acc = EventAccumulator(str(tb_dir), size_guidance={"scalars": 0})
            acc.Reload()
            for tag in acc.Tags()["scalars"]:
                acc.Scalars(tag)

        case(
            label,
            "EventAccumulator (size_guidance scalars=0)",
            accumulate,
            tb_dir,
            max(1, repeat - 2),
        )
    return results


def table(results: list[tuple[str, str, float, float]]) -> str:
    lines = ["| input | what | median wall time (s) | peak RSS (MB) |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {t:.2f} | {m:.0f} |" for a, b, t, m in results]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    results = run(args.rows, args.repeat)
    out = table(results)
    print(out)
    if args.write_docs:
        machine = (
            f"{platform.machine()}, {platform.python_implementation()} "
            f"{platform.python_version()}, {_cores()} cores"
        )
        write_block(
            "bench_logs",
            f"Measured with `.venv/bin/python benchmarks/bench_logs.py --rows {args.rows} "
            f"--repeat {args.repeat} --write-docs` on {machine}.\n\n{out}",
            heading="Log parsing and diagnosis",
        )


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    main()
