"""Benchmark: wall time of a whole `overfit-doctor diagnose` process on a small log.

    .venv/bin/python benchmarks/bench_startup.py [--repeat 7] [--write-docs]

Reports the median wall time of `python -c pass` (the interpreter alone), of
`overfit-doctor --version`, and of a full text diagnosis of `sample_runs/keras_overfitting`,
so the tool's own cost is the difference. A log-only diagnosis must not import torch or
matplotlib (tests/test_subprocess.py checks that).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from docs_block import write_block

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_runs" / "keras_overfitting" / "training.log"


def median_wall(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=False, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    py = sys.executable
    rows = [
        ("python -c pass", median_wall([py, "-c", "pass"], args.repeat)),
        (
            "overfit-doctor --version",
            median_wall([py, "-m", "overfit_doctor.cli", "--version"], args.repeat),
        ),
        (
            "overfit-doctor diagnose sample_runs/keras_overfitting (text)",
            median_wall([py, "-m", "overfit_doctor.cli", "diagnose", str(SAMPLE)], args.repeat),
        ),
        (
            "overfit-doctor diagnose sample_runs/keras_overfitting --format json",
            median_wall(
                [py, "-m", "overfit_doctor.cli", "diagnose", str(SAMPLE), "--format", "json"],
                args.repeat,
            ),
        ),
    ]
    table = "\n".join(
        ["| command | median wall time (s) |", "|---|---|"]
        + [f"| `{c}` | {t:.2f} |" for c, t in rows]
    )
    print(table)
    if args.write_docs:
        write_block(
            "bench_startup",
            f"Measured with `.venv/bin/python benchmarks/bench_startup.py --repeat {args.repeat} "
            f"--write-docs` (median of {args.repeat} runs).\n\n{table}",
            heading="Start-up and a small diagnosis",
        )


if __name__ == "__main__":
    main()
