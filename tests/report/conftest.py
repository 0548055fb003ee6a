"""Shared fixtures of the report tests, and `--update-golden`.

Regenerate the golden files after a deliberate change to a renderer or to the sample:

    .venv/bin/python -m pytest tests/report --update-golden
    OVERFIT_DOCTOR_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/report   # same thing

(the option is registered when pytest starts in or above tests/report; the variable always
works). Review the diff of tests/report/golden/ before committing it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from overfit_doctor.diagnosis import Diagnosis

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SAMPLE = HERE / "fixtures" / "sample_diagnosis.json"
GOLDEN = HERE / "golden"
GOLDEN_VERSION = "0.0.0-golden"


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    flag = request.config.getoption("--update-golden", default=False)
    return bool(flag) or os.environ.get("OVERFIT_DOCTOR_UPDATE_GOLDEN", "") not in ("", "0")


@pytest.fixture(scope="session")
def sample_dict() -> dict:
    """The checked-in sample report, as JSON data (see make_sample.py)."""
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


@pytest.fixture
def sample(sample_dict: dict) -> Diagnosis:
    return Diagnosis.from_dict(sample_dict)


@pytest.fixture
def golden_sample(sample: Diagnosis) -> Diagnosis:
    """The sample with its volatile bits fixed: tool version and check durations (the golden
    files then change only when a renderer or the sample's content does)."""
    checks = tuple(
        dataclasses.replace(c, duration_s=0.0 if c.status == "skipped" else 0.0125)
        for c in sample.checks
    )
    return dataclasses.replace(sample, tool_version=GOLDEN_VERSION, checks=checks)
