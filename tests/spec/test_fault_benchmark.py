"""The fault benchmark as a test: every spec in benchmarks/faults/specs/ at budget quick.
A faulty case must have each EXPECT symptom reported as a warning or error; a healthy case
(`HEALTHY = True`) must get no warning or error from any check, so it runs every check. A
faulty case runs only the checks whose codes can report its expected symptoms, which is
equivalent for detection (spec findings are never suppressed by other codes) and several
times faster; `benchmarks/faults/run.py` runs everything, other findings included."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[2] / "benchmarks" / "faults" / "run.py"


def _runner():
    spec = importlib.util.spec_from_file_location("_fault_benchmark_runner", RUNNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


bench = _runner()
CASES = bench.discover()


def test_the_benchmark_has_faults_and_healthy_cases():
    names = {c.name for c in CASES}
    assert {"healthy_mlp", "healthy_cnn", "healthy_regression"} <= names
    assert sum(c.healthy for c in CASES) >= 3 and sum(bool(c.expect) for c in CASES) >= 4
    for c in CASES:
        assert c.healthy != bool(c.expect), f"{c.name}: healthy XOR expects symptoms"
        assert c.doc, f"{c.name}: say in the docstring how the fault is injected"


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault_case(case):
    select = None if case.healthy else bench.expected_codes(case)
    if not case.healthy:
        assert select, f"{case.name}: no code reports {case.expect}"
    r = bench.run_case(case, budget="quick", select=select)
    assert r.error is None, r.error
    missed = [s for s, ok in r.detected.items() if not ok]
    assert not missed, f"{case.name}: not reported: {missed} (other findings: {r.others})"
    if case.healthy:
        assert not r.others, f"{case.name}: false alarm(s) on a healthy setup: {r.others}"
