"""Build the sample diagnosis the report tests render: `python tests/report/make_sample.py`.

Real inputs: the bundled Keras samples that overfit (OD101/OD102 warnings, OD103 info) and diverge
(OD106 error), with their curve figures. Without a --spec the model/data checks are skipped. One
history check (`convergence`) is made to crash, so the sample has an errored check too; its
message carries the characters renderers must escape (`<script>`, `|`, backticks, `%`, `:`,
`,`, a newline).

Writes tests/report/fixtures/sample_diagnosis.json. After changing it, regenerate the golden
files: `pytest tests/report --update-golden` (or OVERFIT_DOCTOR_UPDATE_GOLDEN=1).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "sample_diagnosis.json"
RUNS = ["sample_runs/keras_overfitting", "sample_runs/keras_diverging"]
CRASH = "simulated crash: <script>alert(1)</script> | `tick` 100% a:b,c\nsecond line"


def build():
    """The sample Diagnosis, from the real sample runs (paths relative to the repository)."""
    sys.path.insert(0, str(ROOT))
    from overfit_doctor.api import diagnose
    from overfit_doctor.checks.progress import StillImproving

    def crash(self, rc, params):
        raise RuntimeError(CRASH)

    old = Path.cwd()
    os.chdir(ROOT)  # relative sources in the report, whoever runs this
    try:
        with mock.patch.object(StillImproving, "measure", crash):
            return diagnose(RUNS)
    finally:
        os.chdir(old)


def main() -> None:
    d = build()
    labels = {f.severity.label for f in d.findings}
    statuses = {c.status for c in d.checks}
    assert labels == {"info", "warning", "error"}, labels
    assert statuses == {"ran", "skipped", "errored"}, statuses
    assert any(f.get("kind") == "curves" for f in d.figures.values())
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(d.to_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    print(f"wrote {FIXTURE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
