"""Benchmark: rendering reports (text, JSON, HTML with every plot) from a finished diagnosis.

    .venv/bin/python benchmarks/bench_render.py [--repeat 5] [--write-docs]

Cases: the overfitting sample run (`sample_runs/keras_overfitting`, 150 epochs, two curve plots)
and a spec-like figure set (one figure of every kind a spec diagnosis emits: lines, bars,
histograms, and a curve; built as in tests/report/). For each format it reports

- `cold`: the first render in a fresh Python process (imports included: Jinja2 and, for HTML,
  matplotlib), which is what one `overfit-doctor diagnose --format html` pays;
- `warm`: the median of `--repeat` further renders in the same process;
- the size of the output.

It also times the whole command `overfit-doctor diagnose sample_runs/keras_overfitting --format
FORMAT --output FILE` (median of `--repeat` processes). Results go to stdout and, with
--write-docs, into the bench_render block of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from docs_block import write_block

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_runs" / "keras_overfitting"
FORMATS = ("text", "json", "html", "html-png")
EXT = {"text": "txt"}

# Runs in a fresh process: builds the diagnosis (not timed), renders once cold and then
# `repeat` times warm, prints JSON.
CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
case, fmt, repeat = sys.argv[2], sys.argv[3], int(sys.argv[4])
if case == "overfitting":
    from overfit_doctor import api
    d = api.diagnose(sys.argv[5])
else:
    from tests.report import spec_like_diagnosis
    d = spec_like_diagnosis()
from overfit_doctor.report import OutputFormat, render_to_string

def once():
    if fmt == "html-png":
        from overfit_doctor.report import html
        return html.render(d, image_format="png")
    return render_to_string(d, OutputFormat(fmt))

t0 = time.perf_counter(); out = once(); cold = time.perf_counter() - t0
warm = []
for _ in range(repeat):
    t0 = time.perf_counter(); once(); warm.append(time.perf_counter() - t0)
print(json.dumps({"cold": cold, "warm": warm, "bytes": len(out.encode()),
                  "figures": len(d.figures)}))
"""


def child(case: str, fmt: str, repeat: int) -> dict | str:
    """The timings, or the last line of the error when that renderer failed."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT), case, fmt, str(repeat), str(SAMPLE)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if out.returncode != 0:
        return (out.stderr.strip().splitlines() or ["failed"])[-1]
    return json.loads(out.stdout.strip().splitlines()[-1])


def cli(fmt: str, repeat: int) -> float:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / f"report.{EXT.get(fmt, fmt)}"
        cmd = [
            sys.executable,
            "-m",
            "overfit_doctor.cli",
            "diagnose",
            str(SAMPLE),
            "--format",
            fmt,
            "--output",
            str(target),
        ]
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=False, cwd=ROOT)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()

    rows = []
    for case, label in (
        ("overfitting", "sample_runs/keras_overfitting"),
        ("spec", "spec-like figure set"),
    ):
        for fmt in FORMATS:
            r = child(case, fmt, args.repeat)
            if isinstance(r, str):
                rows.append(f"| {label} | {fmt} | | failed: `{r[:120]}` | | |")
                print(f"{label:32} {fmt:9} FAILED: {r}", flush=True)
                continue
            warm = statistics.median(r["warm"])
            rows.append(
                f"| {label} | {fmt} | {r['figures']} | {r['cold']:.3f} | {warm:.3f} | "
                f"{r['bytes'] / 1024:.0f} |"
            )
            print(
                f"{label:32} {fmt:9} cold {r['cold']:.3f} s  warm {warm:.3f} s  "
                f"{r['bytes'] / 1024:.0f} KiB",
                flush=True,
            )
    commands = []
    for fmt in ("text", "json", "html"):
        t = cli(fmt, args.repeat)
        commands.append((fmt, t))
        print(f"overfit-doctor diagnose ... --format {fmt}: {t:.2f} s", flush=True)

    table = "\n".join(
        [
            "| input | format | figures | cold render (s) | warm render (s) | size (KiB) |",
            "|---|---|--:|--:|--:|--:|",
            *rows,
        ]
    )
    cmd_table = "\n".join(
        ["| command | median wall time (s) |", "|---|--:|"]
        + [
            f"| `overfit-doctor diagnose sample_runs/keras_overfitting --format {fmt} "
            f"--output report.{EXT.get(fmt, fmt)}` | {t:.2f} |"
            for fmt, t in commands
        ]
    )
    print()
    print(table)
    print()
    print(cmd_table)
    if args.write_docs:
        write_docs(table, cmd_table, args.repeat)


def write_docs(table: str, cmd_table: str, repeat: int) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    if hasattr(os, "getloadavg"):
        machine += f", load average {os.getloadavg()[1]:.1f} over the run"
    block = (
        f"Measured with `.venv/bin/python benchmarks/bench_render.py --repeat {repeat} "
        f"--write-docs` ({machine}; a machine shared with other work, so expect noise). "
        "`cold` is the first render in a fresh process, imports included (matplotlib alone "
        "is most of the HTML figure); `warm` the median of the next renders. `html` embeds the "
        "plots as SVG (the default), `html-png` as PNG at 100 dpi. The diagnosis itself is not "
        "timed here.\n\n"
        f"{table}\n\n"
        "The whole command, diagnosis and process start-up included:\n\n"
        f"{cmd_table}"
    )
    write_block("bench_render", block, heading="Rendering reports")
    print("wrote the bench_render block of docs/benchmarks.md")


if __name__ == "__main__":
    main()
