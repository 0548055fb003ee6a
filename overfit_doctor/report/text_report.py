"""`--format text`: the rich terminal report rendered to a string."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from overfit_doctor.diagnosis import Diagnosis
from overfit_doctor.report import text


def render(
    diagnosis: Diagnosis,
    *,
    width: int = 100,
    color: bool = False,
    framework: str | None = None,
    **_: Any,
) -> str:
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
    )
    text.render(diagnosis, console, framework=framework)
    return buf.getvalue()
