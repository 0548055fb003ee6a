"""`--format json`: the Diagnosis as documented in docs/json-schema.md."""

from __future__ import annotations

import json
from typing import Any

from overfit_doctor.diagnosis import Diagnosis


def render(diagnosis: Diagnosis, **_: Any) -> str:
    return json.dumps(diagnosis.to_dict(), indent=2, allow_nan=False) + "\n"
