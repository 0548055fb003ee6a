"""Loading a spec, its failure modes (one clear line, exit 2), the Python API and the gate."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from overfit_doctor import Spec, UnhealthyTraining, assert_healthy, diagnose
from overfit_doctor.cli import app
from overfit_doctor.errors import InputError
from overfit_doctor.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "benchmarks" / "faults" / "specs"
HEALTHY = SPECS / "healthy_mlp.py"
LOG = ROOT / "sample_runs" / "keras_overfitting" / "training.log"
runner = CliRunner()

HEADER = "import torch\nfrom torch import nn\nfrom overfit_doctor import Spec\n"
DATA = "X = torch.randn(64, 4)\ny = torch.randint(0, 2, (64,))\n"


def write(tmp_path: Path, body: str, name: str = "spec.py") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + DATA + textwrap.dedent(body))
    return path


BROKEN = {
    "syntax": ("def spec(:\n", "SyntaxError"),
    "raises on import": ("raise RuntimeError('no data here')\n", "RuntimeError: no data here"),
    "no attribute": ("other = 1\n", "no attribute 'spec'"),
    "wrong type": ("spec = 42\n", "expected overfit_doctor.Spec"),
    "callable raises": ("def spec():\n    raise ValueError('bad path')\n", "ValueError: bad path"),
    "factory returns non-module": (
        "spec = Spec(model=lambda: 'not a model', train=(X, y))\n",
        "expected a torch.nn.Module",
    ),
    "model crashes on a batch": (
        "spec = Spec(model=lambda: nn.Linear(5, 2), train=(X, y))\n",
        "crashed on a batch",
    ),
    "model instance": ("spec = Spec(model=nn.Linear(4, 2), train=(X, y))\n", "model instance"),
    "mismatched rows": ("spec = Spec(model=lambda: nn.Linear(4, 2), train=(X, y[:10]))\n", "rows"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_specs_exit_2_with_one_named_line(tmp_path, case):
    body, needle = BROKEN[case]
    path = write(tmp_path, body)
    result = runner.invoke(app, ["diagnose", "--spec", str(path), "--budget", "quick"])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [
        ln
        for ln in result.stderr.splitlines()
        if ln.strip() and not ln.startswith("overfit-doctor: running")
    ]
    assert len(lines) == 1 and lines[0].startswith("overfit-doctor: error:"), result.stderr
    assert needle in lines[0]
    assert "Traceback" not in result.stderr


def test_spec_name_after_colon_and_callable(tmp_path):
    path = write(
        tmp_path, "def other():\n    return Spec(model=lambda: nn.Linear(4, 2), train=(X, y))\n"
    )
    spec = load_spec(f"{path}:other")
    assert isinstance(spec, Spec)
    with pytest.raises(InputError):
        load_spec(f"{path}:missing")


def test_spec_file_imports_siblings_like_a_script(tmp_path):
    (tmp_path / "mydata.py").write_text(
        "import torch\nX = torch.randn(32, 3)\ny = torch.randint(0, 3, (32,))\n"
    )
    path = tmp_path / "s.py"
    path.write_text(
        "from torch import nn\nfrom mydata import X, y\n"
        "from overfit_doctor import Spec\n"
        "spec = Spec(model=lambda: nn.Linear(3, 3), train=(X, y))\n"
    )
    assert load_spec(path).train[0].shape == (32, 3)


def test_user_objects_are_never_mutated():
    spec = load_spec(HEALTHY)
    X, y = spec.train
    X0, y0 = X.clone(), y.clone()
    calls = []

    def factory():
        calls.append(1)
        return spec.model()

    d = diagnose(spec=Spec(model=factory, train=(X, y), val=spec.val), budget="quick")
    assert torch.equal(X, X0) and torch.equal(y, y0)
    assert len(calls) >= 2  # every experiment builds its own model
    assert d.inputs["spec"]["train_samples"] == len(y)


def test_logs_and_spec_merge_into_one_report():
    d = diagnose(LOG, spec=HEALTHY, budget="quick")
    assert any(f.code == "OD101" for f in d.findings)  # from the log
    assert "spec" in d.inputs and d.runs  # both inputs are in the report
    ran = {c.id for c in d.checks if c.status == "ran"}
    assert "validation-rise" in ran


def test_json_report_with_spec_is_clean_json_on_stdout():
    result = runner.invoke(
        app, ["diagnose", "--spec", str(HEALTHY), "--budget", "quick", "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["inputs"]["spec"]["task"] == "classification"
    assert report["settings"]["budget"] == "quick"


def test_a_crashing_check_is_errored_and_the_others_still_run(monkeypatch):
    import overfit_doctor.probes.summary as summary

    def boom(ctx):
        raise RuntimeError("probe exploded")

    monkeypatch.setattr(summary, "run", boom)
    d = diagnose(LOG, spec=HEALTHY, budget="quick")
    assert "error" in d.inputs["spec"]  # the summary itself is reported as unavailable
    assert any(c.status == "ran" for c in d.checks)


def test_assert_healthy_gate():
    assert assert_healthy(spec=HEALTHY).verdict in ("healthy", "still_improving")
    with pytest.raises(UnhealthyTraining) as info:
        assert_healthy(LOG, fail_on="warning")
    assert "OD101" in str(info.value)


def test_a_model_class_is_a_valid_factory_but_an_instance_is_not():
    X, y = torch.randn(16, 4), torch.randint(0, 2, (16,))

    class Net(torch.nn.Linear):
        def __init__(self):
            super().__init__(4, 2)

    assert Spec(model=Net, train=(X, y)).model is Net
    with pytest.raises(InputError, match="instance"):
        Spec(model=Net(), train=(X, y))
