"""`--format json`: the Diagnosis as documented in docs/json-schema.md."""

from __future__ import annotations

import json

from overfit_doctor.diagnosis import Diagnosis


def render(diagnosis: Diagnosis) -> str:
    return json.dumps(diagnosis.to_dict(), indent=2, allow_nan=False) + "\n"
