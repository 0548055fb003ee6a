"""Terminal report (rich): verdict, "Do this first", findings with evidence, curve sparklines."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console, Group
from rich.padding import Padding
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from overfit_doctor.diagnosis import Diagnosis, Finding

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_ICON = {"error": "✖", "warning": "▲", "info": "●"}
_VERDICT_STYLE = {
    "healthy": "bold green",
    "still_improving": "bold cyan",
    "insufficient_data": "bold magenta",
}
_BARS = "▁▂▃▄▅▆▇█"
_SPARK_WIDTH = 48
_DETAILED_ACTIONS = 3  # actions shown with their summary and snippet; the rest as one line
_FRAMEWORK_NAMES = {
    "pytorch": "PyTorch",
    "lightning": "Lightning",
    "keras": "Keras",
    "huggingface": "Hugging Face",
}


def framework_of(fmt: str) -> str:
    """The framework whose snippets suit a log format."""
    if "lightning" in fmt:
        return "lightning"
    if "hf" in fmt or "huggingface" in fmt:
        return "huggingface"
    if "keras" in fmt or fmt in ("json_history", "plain_text"):
        return "keras"
    return "pytorch"


def render(diagnosis: Diagnosis, console: Console, *, framework: str | None = None) -> None:
    """Print the whole report."""
    d = diagnosis
    frameworks = {framework_of(r.format) for r in d.runs}
    fw = framework or (frameworks.pop() if len(frameworks) == 1 else "pytorch")
    console.print(_header(d))
    console.print(_verdict(d))
    if d.actions:
        console.print()
        calm = d.verdict in ("healthy", "still_improving", "insufficient_data")
        console.print(Text("Suggestions" if calm else "Do this first", style="bold underline"))
        for i, action in enumerate(d.actions, 1):
            console.print(_action(i, action, fw, detailed=i <= _DETAILED_ACTIONS))
    if d.findings:
        console.print()
        console.print(Text(f"Findings ({len(d.findings)})", style="bold underline"))
        for f in d.findings:
            console.print(_finding(f))
    curves = _sparklines(d)
    if curves is not None:
        console.print()
        console.print(Text("Curves", style="bold underline"))
        console.print(curves)
    console.print()
    console.print(_checks_line(d))


def _header(d: Diagnosis) -> Text:
    text = Text(f"overfit-doctor {d.tool_version}", style="bold")
    spec = d.inputs.get("spec")
    if spec:
        text.append(f"\n  {spec_line(spec)}", style="dim")
    for r in d.runs:
        pts = max(r.points.values(), default=0)
        text.append(f"\n  run {r.name}: {r.source} ({r.format}, {pts} points)", style="dim")
        for note in r.notes:
            text.append(f"\n    note: {note}", style="dim")
    return text


def _verdict(d: Diagnosis) -> Text:
    style = _VERDICT_STYLE.get(d.verdict, "bold red" if _worst(d) == "error" else "bold yellow")
    text = Text("\nVerdict: ", style="bold")
    text.append(d.verdict.replace("_", " ").upper(), style=style)
    top = next((f for f in d.findings if f.severity.label != "info"), None)
    if top is not None:
        text.append(f"  {top.message}")
    elif d.verdict == "healthy":
        text.append("  no problem found by the checks that ran.")
    elif d.findings:
        text.append(f"  {d.findings[0].message}")
    if len(d.runs) > 1:
        for r in d.runs:
            text.append(f"\n  {r.name}: {r.verdict.replace('_', ' ')}", style="dim")
    return text


def spec_line(spec: dict[str, Any]) -> str:
    """One line about the model and data the active checks used."""
    if "error" in spec:
        return f"spec: {spec['error']}"
    val = spec.get("val_samples")
    loss = spec.get("loss", "?") + (" (inferred)" if spec.get("loss_inferred") else "")
    classes = f", {spec['num_classes']} classes" if spec.get("num_classes") else ""
    return (
        f"spec: {spec.get('task')}{classes}, {spec.get('trainable_parameters', 0):,} trainable "
        f"parameters, {spec.get('train_samples')} train / {val if val is not None else 'no'} "
        f"val samples, {loss}, budget {spec.get('budget')}"
    )


def _worst(d: Diagnosis) -> str | None:
    w = d.worst()
    return w.label if w is not None else None


def _action(i: int, action: Any, fw: str, detailed: bool) -> Padding:
    head = Text(f"{i}. {action.title}", style="bold")
    head.append(f"  [{action.effort}]  addresses {', '.join(action.addresses)}", style="dim")
    parts: list[Any] = [head]
    if not detailed:
        return Padding(Group(*parts), (0, 0, 0, 1))
    if action.summary:
        parts.append(Padding(Text(action.summary), (0, 0, 0, 3)))
    snippet = action.how.get(fw) or action.how.get("pytorch")
    if snippet:
        name = _FRAMEWORK_NAMES.get(fw if fw in action.how else "pytorch", fw)
        parts.append(Padding(Text(f"{name}:", style="dim"), (0, 0, 0, 3)))
        parts.append(
            Padding(
                Syntax(
                    snippet.strip(),
                    "python",
                    theme="ansi_dark",
                    background_color="default",
                    word_wrap=True,
                ),
                (0, 0, 0, 5),
            )
        )
    return Padding(Group(*parts), (0, 0, 0, 1))


def _finding(f: Finding) -> Padding:
    sev = f.severity.label
    head = Text(f"{_ICON[sev]} {f.code} ", style=_STYLE[sev])
    head.append(f"{f.symptom}", style="bold")
    head.append(f"  {sev}, confidence {f.confidence:.2f}", style="dim")
    if f.where.get("run"):
        head.append(f"  run {f.where['run']}", style="dim")
    body = Text(f.message)
    evidence = _evidence_line(f.evidence)
    parts = [head, Padding(body, (0, 0, 0, 2))]
    if evidence:
        parts.append(Padding(Text(evidence, style="dim"), (0, 0, 0, 2)))
    parts.append(Padding(Text(f"more: overfit-doctor explain {f.code}", style="dim"), (0, 0, 0, 2)))
    return Padding(Group(*parts), (0, 0, 0, 1))


def _evidence_line(evidence: dict[str, Any]) -> str:
    items = []
    for k, v in evidence.items():
        if v is None or isinstance(v, (dict, list)):
            continue
        items.append(f"{k}={_short(v)}")
    return "evidence: " + ", ".join(items) if items else ""


def _short(v: Any) -> str:
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.4g}"
    return str(v)


def _sparklines(d: Diagnosis) -> Table | None:
    keys = _plotted_keys(d)
    if not keys:
        return None
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_column(style="dim")
    for key in keys:
        fig = d.figures[key]
        for split, series in fig["series"].items():
            ys = [float(y) if isinstance(y, (int, float)) else math.nan for y in series["y"]]
            finite = [y for y in ys if math.isfinite(y)]
            if len(finite) < 2:
                continue
            label = (
                f"{fig['run']} {split} {fig['metric']}"
                if len(d.runs) > 1
                else (f"{split} {fig['metric']}")
            )
            rng = f"{_short(finite[0])} → {_short(finite[-1])} (min {_short(min(finite))})"
            table.add_row(label, sparkline(ys), rng)
    return table


def _plotted_keys(d: Diagnosis) -> list[str]:
    """Curves worth showing: those findings point at, else each run's loss."""
    keys = list(
        dict.fromkeys(
            f.figure
            for f in d.findings
            if f.figure in d.figures and d.figures[f.figure].get("kind", "curves") == "curves"
        )
    )
    for r in d.runs:
        key = f"curves/{r.name}/loss"
        if key in d.figures and key not in keys:
            keys.append(key)
    return keys[:6]


def sparkline(values: list[float], width: int = _SPARK_WIDTH) -> Text:
    """Values as a one-line bar chart; non-finite points are a red `×`."""
    if len(values) > width:
        step = len(values) / width
        values = [values[int(i * step)] for i in range(width)]
    finite = sorted(v for v in values if math.isfinite(v))
    log = bool(finite) and finite[0] > 0 and finite[-1] / finite[0] > 100
    scale = [math.log(v) for v in finite] if log else finite
    # The top decile is clipped so that a steep first epoch does not flatten the rest.
    lo, hi = (scale[0], scale[int(0.9 * (len(scale) - 1))]) if scale else (0.0, 1.0)
    text = Text()
    for v in values:
        if not math.isfinite(v):
            text.append("×", style="red")
            continue
        u = math.log(v) if log else v
        frac = 1.0 if u >= hi else 0.0 if hi == lo else (u - lo) / (hi - lo)
        text.append(_BARS[max(0, min(len(_BARS) - 1, int(frac * (len(_BARS) - 1))))])
    return text


def _checks_line(d: Diagnosis) -> Text:
    counts = {s: sum(c.status == s for c in d.checks) for s in ("ran", "skipped", "errored")}
    text = Text(
        f"Checks: {counts['ran']} ran, {counts['skipped']} skipped, {counts['errored']} errored",
        style="dim",
    )
    reasons = sorted({c.reason for c in d.checks if c.status == "skipped" and c.reason})
    if reasons:
        text.append(f" (skipped: {'; '.join(reasons)})", style="dim")
    for c in d.checks:
        if c.status == "errored":
            text.append(f"\n  errored: {c.id}: {c.reason}", style="red")
    return text
