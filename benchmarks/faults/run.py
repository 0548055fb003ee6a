"""Fault benchmark: does `diagnose --spec` report each injected fault, and stay quiet on
healthy training setups?

    .venv/bin/python benchmarks/faults/run.py [--budget quick] [--only NAME[,NAME...]]
                                              [--write-docs]

Every `benchmarks/faults/specs/*.py` (except `common.py`) is a case: a module with
`spec() -> Spec`, `EXPECT` (symptoms that must be reported) and, for healthy setups,
`HEALTHY = True`. Each case runs `overfit_doctor.api.diagnose(spec=path, budget=...)`.
A symptom counts as detected when a finding with that symptom has severity warning or error
(what a `--fail-on warning` gate sees); any warning or error on a healthy case is a false alarm.
The table goes to stdout; `--write-docs` also writes it into docs/fault-benchmark.md.
Exit status: 0 when every expected symptom is detected and no healthy case has a warning or
error, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import platform
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPECS = Path(__file__).resolve().parent / "specs"
DOC = ROOT / "docs" / "fault-benchmark.md"
_LOAD_AT_START = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
MARK_START, MARK_END = "<!-- fault-benchmark:start -->", "<!-- fault-benchmark:end -->"


@dataclass
class Case:
    name: str
    path: Path
    expect: list[str]
    healthy: bool
    doc: str  # first sentence of the module docstring: how the fault is injected


@dataclass
class CaseResult:
    case: Case
    detected: dict[str, bool] = field(default_factory=dict)  # expected symptom -> reported
    others: list[str] = field(default_factory=list)  # other warnings/errors: "OD504 warning"
    info: list[str] = field(default_factory=list)  # info findings (never a failure)
    errored: list[str] = field(default_factory=list)  # checks that crashed
    seconds: float = 0.0
    error: str | None = None  # the case could not be diagnosed at all

    @property
    def passed(self) -> bool:
        if self.error is not None:
            return False
        if not all(self.detected.values()):
            return False
        return not (self.case.healthy and self.others)


def discover(only: list[str] | None = None) -> list[Case]:
    """Every spec file of the benchmark (sorted: healthy cases first), optionally filtered by
    file stem."""
    cases = []
    for path in sorted(SPECS.glob("*.py")):
        if path.stem == "common" or path.stem.startswith("_"):
            continue
        if only and path.stem not in only:
            continue
        module = _import(path)
        expect = list(getattr(module, "EXPECT", []))
        healthy = bool(getattr(module, "HEALTHY", False))
        doc = " ".join((module.__doc__ or "").split())
        cases.append(Case(path.stem, path, expect, healthy, doc))
    if only:
        missing = sorted(set(only) - {c.name for c in cases})
        if missing:
            raise SystemExit(f"no such case: {', '.join(missing)} (see {SPECS})")
    return sorted(cases, key=lambda c: (not c.healthy, c.name))


def _import(path: Path):
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(f"_fault_case_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def warm_up() -> None:
    """Pay the one-time import costs (torch, its optimizers, sklearn's loaders) before the
    first case is timed, so that each case's time is its own."""
    import torch
    from sklearn.datasets import load_digits  # noqa: F401

    import overfit_doctor.api
    import overfit_doctor.probes.context  # noqa: F401

    torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-3).step()


def expected_codes(case: Case) -> list[str]:
    """The codes whose symptom the case expects. Running only these is enough to tell whether
    the expected symptoms are reported: spec findings carry no run, so no other finding can
    suppress them (`prioritize.suppress` works per run)."""
    from overfit_doctor.catalogue.rules import RULES

    return [r.code for r in RULES if r.symptom in case.expect]


def run_case(
    case: Case, budget: str = "quick", seed: int = 0, select: list[str] | None = None
) -> CaseResult:
    """Diagnose one case with every check (or only the `select`ed codes)."""
    from overfit_doctor.api import diagnose
    from overfit_doctor.catalogue.model import Severity

    result = CaseResult(case)
    start = time.perf_counter()
    try:
        d = diagnose(
            spec=str(case.path), budget=budget, seed=seed, device="cpu", select=select or ()
        )
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        result.detected = dict.fromkeys(case.expect, False)
        result.seconds = time.perf_counter() - start
        return result
    result.seconds = time.perf_counter() - start
    serious = [f for f in d.findings if f.severity >= Severity.WARNING]
    reported = {f.symptom for f in serious}
    result.detected = {s: s in reported for s in case.expect}
    result.others = [
        f"{f.code} {f.severity.label}" for f in serious if f.symptom not in case.expect
    ]
    result.info = [f.code for f in d.findings if f.severity < Severity.WARNING]
    result.errored = [f"{r.id}: {r.reason}" for r in d.checks if r.status == "errored"]
    return result


def table(results: list[CaseResult]) -> str:
    lines = [
        "| case | expected | detected | other warnings/errors | info | time (s) | result |",
        "|------|----------|----------|-----------------------|------|---------:|--------|",
    ]
    for r in results:
        c = r.case
        expected = ", ".join(c.expect) if c.expect else "(healthy)" if c.healthy else "-"
        if r.error:
            detected = f"could not run: {r.error}"
        elif c.expect:
            detected = ", ".join(f"{'✓' if ok else '✗'} {s}" for s, ok in r.detected.items())
        else:
            detected = "-"
        others = ", ".join(r.others) if r.others else "-"
        if c.healthy and r.others:
            others = "**false alarm:** " + others
        if r.errored:
            others += f" (errored checks: {'; '.join(r.errored)})"
        info = ", ".join(sorted(set(r.info))) or "-"
        verdict = "pass" if r.passed else "**FAIL**"
        lines.append(
            f"| {c.name} | {expected} | {detected} | {_cell(others)} | {info} "
            f"| {r.seconds:.1f} | {verdict} |"
        )
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def summary(results: list[CaseResult]) -> str:
    expected = sum(len(r.detected) for r in results)
    found = sum(sum(r.detected.values()) for r in results)
    healthy = [r for r in results if r.case.healthy]
    alarms = sum(1 for r in healthy if r.others)
    total = sum(r.seconds for r in results)
    return (
        f"{len(results)} cases: {found}/{expected} expected symptoms detected, "
        f"{alarms}/{len(healthy)} healthy cases with a false alarm, {total:.0f} s in all."
    )


def machine() -> str:
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{platform.machine()}, {cores} CPU cores, Python {platform.python_version()}, "
        f"torch {torch.__version__}, CPU only{_load()}"
    )


def _load() -> str:
    """The 1-minute load average when the run started and now: a shared machine is noisy."""
    if not hasattr(os, "getloadavg"):
        return ""
    return (
        f", load average {_LOAD_AT_START:.1f} at the start and {os.getloadavg()[0]:.1f} at the end"
    )


def case_list(results: list[CaseResult]) -> str:
    """One line per case: its name, what it expects, and how the fault is injected (the first
    two sentences of the spec file's docstring)."""
    lines = []
    for r in results:
        c = r.case
        sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z`(])", c.doc)
        what = " ".join(sentences[:2])
        tag = "healthy" if c.healthy else ", ".join(f"`{s}`" for s in c.expect)
        lines.append(f"- **{c.name}** ({tag}): {what}")
    return "\n".join(lines)


def write_docs(results: list[CaseResult], budget: str, command: str) -> None:
    today = datetime.date.today().isoformat()
    block = (
        f"{MARK_START}\nMeasured with `{command}` on {machine()}, {today}.\n\n"
        f"{table(results)}\n\n{summary(results)}\n\n### The cases\n\n"
        f"{case_list(results)}\n{MARK_END}"
    )
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Fault benchmark\n"
    if MARK_START in text:
        head, rest = text.split(MARK_START, 1)
        text = head + block + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Results\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default="quick", choices=["quick", "standard", "thorough"])
    parser.add_argument(
        "--only",
        action="append",
        default=None,
        help="case name (file stem); repeat or comma-separate for several",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--write-docs", action="store_true", help="write the table into docs/fault-benchmark.md"
    )
    args = parser.parse_args(argv)
    only = (
        [n.strip() for item in args.only for n in item.split(",") if n.strip()]
        if args.only
        else None
    )
    cases = discover(only)
    warm_up()
    results = []
    for case in cases:
        print(f"{case.name} ...", file=sys.stderr, flush=True)
        r = run_case(case, args.budget, args.seed)
        print(f"  {'pass' if r.passed else 'FAIL'} in {r.seconds:.1f} s", file=sys.stderr)
        results.append(r)
    print(table(results))
    print()
    print(summary(results))
    if args.write_docs:
        command = "  ".join(
            [".venv/bin/python benchmarks/faults/run.py", f"--budget {args.budget}"]
        ).replace("  ", " ")
        if only:
            command += " --only " + ",".join(only)
        write_docs(results, args.budget, command + " --write-docs")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
