"""End-to-end runs as a real process: the installed console script and lazy heavy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OVERFIT = ROOT / "sample_runs" / "keras_overfitting" / "training.log"


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "overfit_doctor.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_diagnose_as_a_process_writes_json_to_stdout_only():
    p = run("diagnose", str(OVERFIT), "--format", "json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["verdict"] == "overfitting"
    assert p.stderr == ""


def test_bad_input_as_a_process(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_bytes(b"\x00\x01\x02garbage")
    p = run("diagnose", str(bad))
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("overfit-doctor")
    assert script.exists()
    p = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.startswith("overfit-doctor")


def test_log_only_diagnosis_never_imports_torch_or_matplotlib():
    code = (
        "import sys\n"
        "from overfit_doctor.cli import app\n"
        "try:\n"
        "    app(['diagnose', sys.argv[1], '--format', 'json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('torch', 'matplotlib') if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code, str(OVERFIT)], capture_output=True, text=True, timeout=120
    )
    assert "HEAVY []" in p.stderr, p.stderr
