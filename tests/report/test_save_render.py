"""`diagnose --save FORMAT=PATH`, `overfit-doctor render report.json`, and the lossless
JSON -> Diagnosis -> JSON round trip they rest on. Bad values and bad reports: one line on
stderr, exit 2, no traceback, no file written or destroyed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from overfit_doctor.api import diagnose
from overfit_doctor.catalogue.model import Severity
from overfit_doctor.cli import app
from overfit_doctor.diagnosis import CheckRecord, Diagnosis, Finding
from overfit_doctor.errors import OverfitDoctorError
from overfit_doctor.report import OutputFormat, render_to_string

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_runs"
OVERFIT = SAMPLES / "keras_overfitting" / "training.log"
DIVERGING = SAMPLES / "keras_diverging" / "training.log"
LOGS = ROOT / "tests" / "fixtures" / "logs"
NOT_HTML = [f for f in OutputFormat if f is not OutputFormat.HTML]

runner = CliRunner()


def invoke(*args, code: int | None = None):
    result = runner.invoke(app, [str(a) for a in args])
    if code is not None:
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    return result


def assert_clean_usage_error(result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("overfit-doctor: error:")
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def html_available() -> bool:
    from overfit_doctor.diagnosis import Diagnosis as D

    try:
        render_to_string(D("healthy", (), (), ()), OutputFormat.HTML)
    except NotImplementedError:
        return False
    return True


# --- the JSON round trip ------------------------------------------------------------------


def _real_inputs() -> list[Path]:
    found = sorted(p for p in SAMPLES.iterdir() if p.is_dir())
    for folder in sorted(p for p in LOGS.iterdir() if p.is_dir()):
        found += sorted(
            p
            for p in folder.iterdir()
            if not p.name.startswith(".") and p.suffix not in (".py", ".md")
        )
    return found


@pytest.mark.parametrize("path", _real_inputs(), ids=lambda p: p.name)
def test_json_round_trip_is_lossless_on_real_diagnoses(path: Path):
    try:
        d = diagnose(path)
    except OverfitDoctorError as exc:  # an input the readers refuse on purpose
        pytest.skip(f"not diagnosable: {exc}")
    first = json.dumps(d.to_dict(), allow_nan=False)
    again = Diagnosis.from_dict(json.loads(first))
    assert json.dumps(again.to_dict(), allow_nan=False) == first
    assert render_to_string(again, OutputFormat.JSON) == render_to_string(d, OutputFormat.JSON)
    assert again.worst() == d.worst() and again.verdict == d.verdict


def test_round_trip_of_the_sample_keeps_non_finite_numbers_as_strings(sample_dict: dict):
    text = json.dumps(sample_dict, indent=2)
    assert '"nan"' in text  # the diverging run: nan in evidence and curves
    d = Diagnosis.from_dict(sample_dict)
    assert d.to_dict() == sample_dict
    od106 = next(f for f in d.findings if f.code == "OD106")
    assert od106.evidence["value"] == "nan"


def test_non_finite_floats_become_strings_and_stay_strings():
    nan, inf = float("nan"), float("inf")
    d = Diagnosis(
        verdict="diverging",
        findings=(
            Finding(
                "OD106",
                "diverging",
                Severity.ERROR,
                0.99,
                "loss became nan",
                {"value": nan, "peak": inf, "low": -inf, "list": [1.0, nan]},
                {"run": "r"},
            ),
        ),
        actions=(),
        checks=(
            CheckRecord(
                "divergence", "ran", ("OD106",), None, 0.01, {"r": {"end": inf, "ratio": nan}}
            ),
        ),
        figures={
            "curves/r/loss": {"kind": "curves", "series": {"train": {"x": [1, 2], "y": [0.5, nan]}}}
        },
        tool_version="0.1.0",
    )
    data = d.to_dict()
    text = json.dumps(data, allow_nan=False)  # valid JSON: no NaN literals
    assert data["findings"][0]["evidence"] == {
        "value": "nan",
        "peak": "inf",
        "low": "-inf",
        "list": [1.0, "nan"],
    }
    assert data["checks"][0]["measurements"]["r"] == {"end": "inf", "ratio": "nan"}
    back = Diagnosis.from_dict(json.loads(text))
    assert json.dumps(back.to_dict(), allow_nan=False) == text
    assert all(
        not (isinstance(v, float) and math.isnan(v)) for v in back.findings[0].evidence.values()
    )


# --- --save -------------------------------------------------------------------------------


def test_save_writes_several_formats_from_one_run(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    files = {fmt: tmp_path / f"report.{fmt.value}" for fmt in NOT_HTML}
    saves = [a for fmt, p in files.items() for a in ("--save", f"{fmt.value}={p}")]
    r = invoke("diagnose", DIVERGING, *saves, code=1)  # the exit code is diagnose's own
    assert "Verdict: DIVERGING" in r.stdout  # the normal report still goes to stdout
    for fmt, path in files.items():
        assert path.is_file(), fmt
    report = json.loads(files[OutputFormat.JSON].read_text())
    assert report["verdict"] == "diverging"
    # each saved file is what `render` makes of the saved JSON: one diagnosis, many formats
    (tmp_path / "again").mkdir()
    for fmt, path in files.items():
        again = tmp_path / "again" / path.name  # same name: same companion-file links
        invoke("render", files[OutputFormat.JSON], "--format", fmt.value, "-o", again, code=0)
        assert again.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), fmt
    assert not list(tmp_path.glob(".*.tmp*"))  # atomic writes leave no temporary files


def test_save_with_output_and_fail_on(tmp_path):
    out, xml = tmp_path / "report.md", tmp_path / "junit.xml"
    invoke(
        "diagnose",
        OVERFIT,
        "--format",
        "markdown",
        "--output",
        out,
        "--fail-on",
        "warning",
        "--save",
        f"junit={xml}",
        code=1,
    )
    assert out.read_text().startswith("# overfit-doctor report")
    assert 'failures="2"' in xml.read_text()  # --fail-on shapes the JUnit failures too


def test_save_html(tmp_path):
    if not html_available():
        pytest.skip("HTML renderer not written yet")
    page = tmp_path / "report.html"
    invoke("diagnose", OVERFIT, "--save", f"html={page}", code=0)
    assert "<html" in page.read_text().lower()


def _bad_saves(tmp_path: Path) -> list[tuple[str, ...]]:
    victim = tmp_path / "training.log"
    (tmp_path / "folder").mkdir()
    return [
        ("--save", "bogus=x.txt"),
        ("--save", "json"),
        ("--save", "=x.json"),
        ("--save", "json="),
        ("--save", f"json={tmp_path / 'missing' / 'x.json'}"),
        ("--save", f"json={tmp_path / 'folder'}"),
        ("--save", f"json={victim}"),
        ("--save", f"json={tmp_path / 'a'}", "--save", f"markdown={tmp_path / 'a'}"),
        ("--output", str(tmp_path / "a"), "--save", f"json={tmp_path / 'a'}"),
    ]


@pytest.mark.parametrize("case", range(9))
def test_bad_save_values_are_usage_errors_and_write_nothing(tmp_path, case):
    victim = tmp_path / "training.log"
    victim.write_bytes(OVERFIT.read_bytes())
    args = _bad_saves(tmp_path)[case]
    before = sorted(p.name for p in tmp_path.iterdir())
    line = assert_clean_usage_error(invoke("diagnose", victim, *args))
    assert "--save" in line or "--output" in line
    assert victim.read_bytes() == OVERFIT.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


# --- render -------------------------------------------------------------------------------


@pytest.fixture
def saved_report(tmp_path) -> Path:
    path = tmp_path / "report.json"
    invoke("diagnose", OVERFIT, "--save", f"json={path}", code=0)
    return path


@pytest.mark.parametrize("fmt", NOT_HTML, ids=str)
def test_render_equals_the_original_run(fmt, tmp_path, monkeypatch):
    """The live Diagnosis and the one read back from its JSON render the same."""
    monkeypatch.chdir(ROOT)
    saved = tmp_path / "report.json"
    direct = invoke(
        "diagnose", DIVERGING, OVERFIT, "--format", fmt.value, "--save", f"json={saved}", code=1
    ).stdout
    assert invoke("render", saved, "--format", fmt.value, code=0).stdout == direct


def test_render_to_output_and_save(saved_report, tmp_path):
    out, md = tmp_path / "r.xml", tmp_path / "r.md"
    r = invoke(
        "render",
        saved_report,
        "-f",
        "junit",
        "-o",
        out,
        "--save",
        f"markdown={md}",
        "--fail-on",
        "warning",
        code=0,
    )  # render exits 0: diagnose is the gate
    assert r.stdout == ""
    assert out.read_text().startswith("<?xml") and 'failures="2"' in out.read_text()
    assert md.read_text().startswith("# overfit-doctor report")


def test_render_html(saved_report, tmp_path):
    if not html_available():
        pytest.skip("HTML renderer not written yet")
    out = tmp_path / "r.html"
    invoke("render", saved_report, "--format", "html", "--output", out, code=0)
    assert "<html" in out.read_text().lower()


def _bad_reports(good: str) -> dict[str, bytes]:
    data = json.loads(good)
    wrong_version = dict(data, schema_version="2")
    no_tool = {k: v for k, v in data.items() if k != "tool"}
    bad_finding = json.loads(good)
    bad_finding["findings"] = [{"code": "OD101"}]
    bad_severity = json.loads(good)
    bad_severity["findings"][0]["severity"] = "fatal"
    bad_type = dict(data, checks=[{"id": "x", "status": "ran", "duration_s": "slow"}])
    return {
        "truncated": good[: len(good) // 2].encode(),
        "empty": b"",
        "not JSON": b"Epoch 1/10 - loss: 0.5\n",
        "binary": bytes(range(256)),
        "JSON list": b"[1, 2, 3]",
        "other JSON": b'{"log_history": []}',
        "wrong schema_version": json.dumps(wrong_version).encode(),
        "no tool": json.dumps(no_tool).encode(),
        "finding without fields": json.dumps(bad_finding).encode(),
        "unknown severity": json.dumps(bad_severity).encode(),
        "wrong type": json.dumps(bad_type).encode(),
    }


BAD_REPORTS = [
    "truncated",
    "empty",
    "not JSON",
    "binary",
    "JSON list",
    "other JSON",
    "wrong schema_version",
    "no tool",
    "finding without fields",
    "unknown severity",
    "wrong type",
]


def test_bad_report_cases_are_all_tested(saved_report):
    assert list(_bad_reports(saved_report.read_text())) == BAD_REPORTS


@pytest.mark.parametrize("case", BAD_REPORTS)
def test_bad_render_inputs_are_usage_errors_and_destroy_nothing(saved_report, tmp_path, case):
    content = _bad_reports(saved_report.read_text())[case]
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    out = tmp_path / "report.md"
    out.write_text("the previous report\n")
    line = assert_clean_usage_error(invoke("render", bad, "--format", "markdown", "-o", out))
    assert "bad.json" in line
    if case == "wrong schema_version":
        assert "schema_version" in line
    assert bad.read_bytes() == content
    assert out.read_text() == "the previous report\n"


def test_render_missing_file_directory_and_self_overwrite(saved_report, tmp_path):
    assert_clean_usage_error(invoke("render", tmp_path / "nope.json"))
    assert_clean_usage_error(invoke("render", tmp_path))
    before = saved_report.read_bytes()
    assert_clean_usage_error(invoke("render", saved_report, "--output", saved_report))
    assert_clean_usage_error(invoke("render", saved_report, "--save", f"text={saved_report}"))
    assert_clean_usage_error(invoke("render", saved_report, "--save", "pdf=x.pdf"))
    assert saved_report.read_bytes() == before


def test_help_lists_save_and_render():
    assert "--save" in invoke("diagnose", "--help", code=0).stdout
    text = invoke("render", "--help", code=0).stdout
    assert "--format" in text and "--output" in text
