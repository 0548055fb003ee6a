"""The CLI through typer's CliRunner: commands, formats, exit codes and bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from overfit_doctor.catalogue.rules import RULES
from overfit_doctor.cli import app

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_runs"
LOGS = ROOT / "tests" / "fixtures" / "logs"
OVERFIT = SAMPLES / "keras_overfitting" / "training.log"
DIVERGING = SAMPLES / "keras_diverging" / "training.log"
HEALTHY = SAMPLES / "lightning_healthy"

runner = CliRunner()


def invoke(*args: str, code: int | None = None):
    result = runner.invoke(app, [str(a) for a in args])
    if code is not None:
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    return result


def assert_clean_usage_error(result) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("overfit-doctor: error:")
    assert "Traceback" not in result.stderr + result.stdout


def test_diagnose_overfitting_sample_text_report():
    r = invoke("diagnose", OVERFIT, code=0)  # overfitting is a warning; default --fail-on error
    out = r.stdout
    assert "Verdict: OVERFITTING" in out
    assert "Do this first" in out
    assert "OD101" in out
    assert "early" in out.lower()


def test_fail_on_warning_turns_overfitting_into_exit_1():
    invoke("diagnose", OVERFIT, "--fail-on", "warning", code=1)
    invoke("diagnose", OVERFIT, "--fail-on", "never", code=0)


def test_diverging_sample_fails_the_gate_by_default():
    r = invoke("diagnose", DIVERGING, code=1)
    assert "DIVERGING" in r.stdout and "OD106" in r.stdout


def test_json_report_is_valid_and_carries_the_contract_fields():
    r = invoke("diagnose", OVERFIT, "--format", "json", code=0)
    report = json.loads(r.stdout)
    assert report["schema_version"] == "1"
    assert report["verdict"] == "overfitting"
    od101 = next(f for f in report["findings"] if f["code"] == "OD101")
    assert set(od101) >= {
        "code",
        "symptom",
        "severity",
        "confidence",
        "message",
        "evidence",
        "where",
    }
    assert od101["symptom"] == "overfitting" and od101["severity"] == "warning"
    assert isinstance(od101["evidence"]["best_epoch"], int)
    assert {c["status"] for c in report["checks"]} <= {"ran", "skipped", "errored"}
    assert report["actions"] and "OD101" in report["actions"][0]["addresses"]


def test_select_and_ignore():
    r = invoke("diagnose", OVERFIT, "--format", "json", "--ignore", "OD101", code=0)
    codes = {f["code"] for f in json.loads(r.stdout)["findings"]}
    assert "OD101" not in codes
    r = invoke("diagnose", OVERFIT, "--format", "json", "--select", "OD9", code=0)
    assert all(f["code"].startswith("OD9") for f in json.loads(r.stdout)["findings"])


def test_healthy_run_directory():
    r = invoke("diagnose", HEALTHY, "--format", "json", code=0)
    report = json.loads(r.stdout)
    assert report["verdict"] in ("healthy", "still_improving")
    assert not [f for f in report["findings"] if f["severity"] != "info"]


def test_output_file_is_written_and_never_over_an_input(tmp_path):
    out = tmp_path / "report.json"
    invoke("diagnose", OVERFIT, "--format", "json", "--output", out, code=0)
    assert json.loads(out.read_text())["verdict"] == "overfitting"
    victim = tmp_path / "training.log"
    victim.write_bytes(OVERFIT.read_bytes())
    before = victim.read_bytes()
    r = invoke("diagnose", victim, "--output", victim)
    assert_clean_usage_error(r)
    assert victim.read_bytes() == before


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.csv", b""),
        ("trainer_state.json", b'{"log_history": [{"loss": 0.5, "st'),
        ("garbage.bin", bytes(range(256)) * 8),
        ("columns.csv", b"foo,bar,baz\n1,2,3\n4,5,6\n"),
        ("history.json", b"{not json at all"),
    ],
)
def test_bad_inputs_exit_2_with_one_line(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    assert_clean_usage_error(invoke("diagnose", path))
    assert path.read_bytes() == content  # never touched


def test_missing_path_and_no_path():
    assert_clean_usage_error(invoke("diagnose", "/no/such/run"))
    assert_clean_usage_error(invoke("diagnose"))


def test_map_option_makes_unknown_keys_usable(tmp_path):
    src = OVERFIT.read_text().splitlines()
    header = src[0].replace("val_loss", "holdout_objective")
    path = tmp_path / "renamed.csv"
    path.write_text("\n".join([header, *src[1:]]) + "\n")
    r = invoke("diagnose", path, "--format", "json", "--map", "holdout_objective=val:loss", code=0)
    assert json.loads(r.stdout)["verdict"] == "overfitting"
    assert_clean_usage_error(invoke("diagnose", path, "--map", "nonsense"))


def test_explain_every_code_and_unknown_code():
    for rule in RULES:
        r = invoke("explain", rule.code, code=0)
        assert rule.name in r.stdout and "## What it detects" in r.stdout
    assert_clean_usage_error(invoke("explain", "OD999"))


def test_checks_lists_every_code():
    r = invoke("checks", code=0)
    for rule in RULES:
        assert rule.code in r.stdout


def test_inspect_shows_runs_curves_and_unmapped_keys():
    r = invoke(
        "inspect",
        LOGS / "csv_table" / "akshatsharma_brain_tumor_appended_runs.csv",
        "--format",
        "json",
        code=0,
    )
    runs = json.loads(r.stdout)["runs"]
    assert len(runs) == 4
    assert {(c["split"], c["metric"]) for c in runs[0]["curves"]} >= {
        ("train", "loss"),
        ("val", "loss"),
    }
    r = invoke(
        "inspect", LOGS / "lightning_csv" / "radutuodr_forest_cover_underfit_7ep.csv", code=0
    )
    assert "train" in r.stdout and "val" in r.stdout


def test_formats_lists_readers():
    r = invoke("formats", code=0)
    for fmt in ("hf_trainer_state", "lightning_csv", "tensorboard", "mlflow", "yolo_csv"):
        assert fmt in r.stdout


def test_version():
    assert invoke("--version", code=0).stdout.startswith("overfit-doctor ")
