"""`--format github`: GitHub Actions workflow commands, so findings show as annotations.

One line per finding (`::error` / `::warning` / `::notice` for info) with `title=` and, when the
run's log is known, `file=` (relative to the working directory when it lies below it); one
`::warning` per errored check; a final `::notice` summary. Values are escaped per the
workflow-command rules, so a message from a log cannot end the command or start another one.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from overfit_doctor.catalogue.model import Severity
from overfit_doctor.diagnosis import Diagnosis, Finding

_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}
TOOL = "overfit-doctor"


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def escape_data(text: Any) -> str:
    """The message part of a workflow command. Other control characters (an ANSI escape from a
    log would restyle the job log) become U+FFFD."""
    text = _CONTROL.sub("\ufffd", str(text))
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: Any) -> str:
    """A property value (`file=`, `title=`): data escaping plus `:` and `,`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **properties: Any) -> str:
    """`::kind prop=value,...::message` with everything escaped; None properties are left out."""
    props = ",".join(f"{k}={escape_property(v)}" for k, v in properties.items() if v is not None)
    return f"::{kind}{' ' + props if props else ''}::{escape_data(message)}"


def render(
    diagnosis: Diagnosis,
    *,
    fail_on: str = "error",
    **_: Any,
) -> str:
    d = diagnosis
    sources = {r.name: r.source for r in d.runs}
    lines = [_finding(f, sources) for f in d.findings]
    lines += [
        command(
            "warning",
            f"check {c.id} errored: {c.reason or 'no reason given'}",
            title=f"{TOOL} check errored {c.id}",
        )
        for c in d.checks
        if c.status == "errored"
    ]
    lines.append(command("notice", _summary(d, fail_on), title=f"{TOOL} summary"))
    return "\n".join(lines) + "\n"


def _finding(f: Finding, sources: dict[str, str]) -> str:
    from overfit_doctor.catalogue import rule

    try:
        name = rule(f.code).name
    except KeyError:
        name = f.symptom
    run = f.where.get("run")
    source = sources.get(run) if run is not None else None
    if source is None and len(set(sources.values())) == 1:
        source = next(iter(sources.values()))
    body = [f.message]
    evidence = ", ".join(
        f"{k}={_short(v)}"
        for k, v in f.evidence.items()
        if v is not None and not isinstance(v, (dict, list))
    )
    if evidence:
        body.append(f"evidence: {evidence}")
    place = f"run {run}, " if run is not None else ""
    body.append(
        f"{place}{f.severity.label}, confidence {f.confidence:.2f}; more: {TOOL} explain {f.code}"
    )
    return command(
        _COMMAND.get(f.severity.label, "notice"),
        "\n".join(body),
        file=relative(source) if source else None,
        title=f"{TOOL} {f.code} {name}",
    )


def relative(path: str) -> str:
    """`path` relative to the working directory when it lies below it (GitHub resolves `file=`
    against the workspace), else as given; always with `/`."""
    p = Path(path)
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return p.as_posix() if not p.is_absolute() else os.fspath(p)


def _short(v: Any) -> str:
    if isinstance(v, float):
        return str(v) if not math.isfinite(v) else f"{v:.4g}"
    return str(v)


def counted(n: int, label: str) -> str:
    """`1 error`, `2 warnings`, `3 info`."""
    return f"{n} {label}{'s' if n != 1 and label != 'info' else ''}"


def _summary(d: Diagnosis, fail_on: str) -> str:
    counts = {s: sum(f.severity is s for f in d.findings) for s in Severity}
    found = ", ".join(counted(counts[s], s.label) for s in reversed(Severity))
    checks = {s: sum(c.status == s for c in d.checks) for s in ("ran", "skipped", "errored")}
    gate = ""
    if fail_on != "never":
        fails = any(f.severity >= Severity.parse(fail_on) for f in d.findings)
        gate = f"; {'fails' if fails else 'passes'} --fail-on {fail_on}"
    text = (
        f"verdict {d.verdict.replace('_', ' ').upper()}: {found}{gate}; checks "
        f"{checks['ran']} ran, {checks['skipped']} skipped, {checks['errored']} errored"
    )
    if d.actions:
        first = d.actions[0]
        text += f"\nDo this first: {first.title} (addresses {', '.join(first.addresses)})"
    return text
