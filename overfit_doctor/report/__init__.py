"""Renderers: each reads only a Diagnosis. One module per OutputFormat, imported on demand."""

from __future__ import annotations

import importlib
from enum import StrEnum
from pathlib import Path
from typing import Any


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"
    HTML = "html"
    JUNIT = "junit"
    GITHUB = "github"


# format -> module in this package; each module defines `render(diagnosis, **options) -> str`.
RENDERERS: dict[OutputFormat, str] = {
    OutputFormat.TEXT: "text_report",
    OutputFormat.JSON: "json_report",
    OutputFormat.MARKDOWN: "markdown",
    OutputFormat.HTML: "html",
    OutputFormat.JUNIT: "junit",
    OutputFormat.GITHUB: "github",
}


def render_to_string(
    diagnosis: Any,
    fmt: OutputFormat,
    *,
    output: Path | None = None,
    width: int = 100,
    color: bool = False,
    framework: str | None = None,
    fail_on: str = "error",
) -> str:
    """Render a Diagnosis in one format. `output` is where the report will be written (some
    formats write companion files next to it, e.g. Markdown plot images)."""
    if fmt not in RENDERERS:
        raise ValueError(f"no renderer for {fmt}")
    module = importlib.import_module(f"{__name__}.{RENDERERS[fmt]}")
    return module.render(
        diagnosis, output=output, width=width, color=color, framework=framework, fail_on=fail_on
    )
