"""Curve checks judged on real training runs.

`tests/fixtures/trainings/` holds logs of real small trainings (made by its generate.py with
Keras, Lightning and TensorBoard's own loggers); `manifest.json` says, from how each run was set
up, which symptoms must and must not be reported. The public logs under tests/fixtures/logs/
come from real projects; their expected verdicts were read off their curves by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from overfit_doctor.api import diagnose
from overfit_doctor.catalogue.rules import RULES

ROOT = Path(__file__).resolve().parents[1]
TRAININGS = ROOT / "tests" / "fixtures" / "trainings"
LOGS = ROOT / "tests" / "fixtures" / "logs"
MANIFEST = json.loads((TRAININGS / "manifest.json").read_text())


def _id(entry: dict) -> str:
    return entry["path"]


@pytest.mark.parametrize("entry", MANIFEST, ids=_id)
def test_training_fixture_verdicts(entry):
    d = diagnose(TRAININGS / entry["path"])
    symptoms = {f.symptom for f in d.findings}
    missing = set(entry["expect"]) - symptoms
    forbidden = set(entry["forbid"]) & symptoms
    report = [(f.code, f.message) for f in d.findings]
    assert not missing, f"missed {missing}; got {report}"
    assert not forbidden, f"false alarm {forbidden}; got {report}"
    assert not [c for c in d.checks if c.status == "errored"]


HEALTHY = [e for e in MANIFEST if e["scenario"].startswith("healthy")]


def test_no_warning_on_any_healthy_training():
    for entry in HEALTHY:
        d = diagnose(TRAININGS / entry["path"])
        warnings = [(f.code, f.message) for f in d.findings if f.severity.label != "info"]
        assert not warnings, (entry["path"], warnings)


def _scenario_paths(scenario: str) -> list[str]:
    return [f"trainings/{e['path']}" for e in MANIFEST if e["scenario"] == scenario]


def _first(scenario: str) -> str:
    paths = _scenario_paths(scenario)
    assert paths, f"no fixture for scenario {scenario}"
    return paths[0]


def _trigger_table() -> dict[str, tuple[str, str]]:
    healthy = _first("healthy_regularized")
    return {
        "OD101": (_first("overfit_small_data"), healthy),
        "OD102": (_first("overfit_small_data"), _first("healthy_val_below_train")),
        "OD103": (_first("overfit_small_data"), _first("healthy_short_still_improving")),
        "OD104": (_first("not_learning_tiny_lr"), healthy),
        "OD105": ("logs/lightning_csv/radutuodr_forest_cover_underfit_7ep.csv", healthy),
        "OD106": (_first("diverging_nan"), healthy),
        "OD107": (_first("unstable_spiky"), healthy),
        "OD108": (_first("healthy_short_still_improving"), _first("overfit_small_data")),
        "OD109": (_scenario_paths("unstable_spiky")[1], healthy),
        "OD110": (_first("shuffled_labels"), healthy),
        "OD901": (_first("train_only"), healthy),
        "OD902": (_first("short_run"), healthy),
    }


LOG_CODES = [r.code for r in RULES if r.family.value in ("curves", "meta")]


@pytest.mark.parametrize("code", LOG_CODES)
def test_every_code_fires_on_a_real_run_and_stays_quiet_on_another(code):
    table = _trigger_table()
    assert code in table, f"{code} has no trigger / non-trigger case"
    fires, quiet = table[code]
    fired = {f.code for f in diagnose(ROOT / "tests" / "fixtures" / fires).findings}
    assert code in fired, (fires, fired)
    quiet_codes = {f.code for f in diagnose(ROOT / "tests" / "fixtures" / quiet).findings}
    assert code not in quiet_codes, (quiet, quiet_codes)


# Public logs: verdicts read off the curves by hand (see tests/fixtures/logs/README.md).
PUBLIC = [
    ("plain_text/chenzihua_nanogpt_shakespeare_nan.log", {"diverging"}, set()),
    ("lightning_csv/radutuodr_forest_cover_underfit_7ep.csv", {"underfitting"}, {"overfitting"}),
    ("csv_table/amineechraibi_braincnn_acc_trainonly.log", {"insufficient_data"}, {"overfitting"}),
    ("csv_table/ashishbatham_fer_2ep.csv", {"insufficient_data"}, {"overfitting"}),
    (
        "hf_trainer_state/muntasir64_sarcasm_empty_log_history.json",
        {"insufficient_data"},
        {"overfitting", "underfitting"},
    ),
    ("wandb/nicetea17_cifar10_resnet18_wandb-summary.json", {"insufficient_data"}, {"overfitting"}),
    (
        "hf_trainer_state/francis_weibo_rumor_100ep_trainonly.json",
        {"insufficient_data"},
        {"overfitting"},
    ),
]


@pytest.mark.parametrize(("path", "expect", "forbid"), PUBLIC, ids=[p[0] for p in PUBLIC])
def test_public_logs(path, expect, forbid):
    d = diagnose(LOGS / path)
    symptoms = {f.symptom for f in d.findings}
    assert expect <= symptoms, [(f.code, f.message) for f in d.findings]
    assert not (forbid & symptoms), [(f.code, f.message) for f in d.findings]
