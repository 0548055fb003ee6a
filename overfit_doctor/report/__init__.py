"""Renderers: each reads only a Diagnosis. One per OutputFormat."""

from __future__ import annotations

from enum import StrEnum


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def render_to_string(diagnosis, fmt: OutputFormat, *, width: int = 100, color: bool = False,
                     framework: str | None = None) -> str:
    """Render a Diagnosis in a format, as text."""
    if fmt is OutputFormat.JSON:
        from overfit_doctor.report import json_report

        return json_report.render(diagnosis)
    if fmt is OutputFormat.TEXT:
        import io

        from rich.console import Console

        from overfit_doctor.report import text

        buf = io.StringIO()
        console = Console(file=buf, width=width, force_terminal=color, color_system=(
            "standard" if color else None), highlight=False)
        text.render(diagnosis, console, framework=framework)
        return buf.getvalue()
    raise ValueError(f"no renderer for {fmt}")
