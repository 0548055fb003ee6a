"""`--format markdown`: the report as GitHub-flavoured Markdown, for a pull-request comment.

Same content and order as the text report: verdict, "Do this first" (the snippet for the run's
framework in a fenced block, the other frameworks folded in `<details>`), findings with their
evidence as compact tables, curves, then inputs, settings and check records. Everything that
comes from logs or a saved report is escaped, so a metric called `<script>` or `a|b` cannot
break the comment or inject HTML. With an `output` path, plot images are written next to it
(by `overfit_doctor.report.plots.save_figures`, when available) and linked.
"""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from overfit_doctor.catalogue import FRAMEWORKS
from overfit_doctor.diagnosis import Action, CheckRecord, Diagnosis, Finding
from overfit_doctor.report.text import framework_of, sparkline, spec_line

_ICON = {"error": "✖", "warning": "▲", "info": "●"}
_CALM = ("healthy", "still_improving", "insufficient_data")
_DETAILED_ACTIONS = 3  # as in the text report: the rest are one line each
_MAX_CURVES = 6
_MAX_CELL = 200  # nested evidence values are shown as JSON, cut to this many characters

# Backslash-escaped wherever they appear (CommonMark: any ASCII punctuation may be escaped);
# `$` because GitHub renders `$...$` as math.
_INLINE = re.compile(r"([\\`*_\[\]|~$])")
# What would start a heading, list item, thematic break or setext underline at a line start.
_LEADING_MARK = re.compile(r"^([#+\-=])")
_LEADING_NUMBER = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # shown as U+FFFD


def render(
    diagnosis: Diagnosis,
    *,
    output: Path | None = None,
    fail_on: str = "error",
    framework: str | None = None,
    **_: Any,
) -> str:
    """The whole report as Markdown. `output`: where it will be written (images go next to it)."""
    d = diagnosis
    images = _save_images(d, output)
    fw = framework or _framework(d)
    parts: list[str] = ["# overfit-doctor report", _verdict(d)]
    if d.actions:
        title = "Suggestions" if d.verdict in _CALM else "Do this first"
        parts.append(f"## {title}")
        parts.extend(
            _action(i, a, fw, detailed=i <= _DETAILED_ACTIONS) for i, a in enumerate(d.actions, 1)
        )
    if d.findings:
        parts.append(f"## Findings ({len(d.findings)})")
        parts.extend(_finding(f, d, images, output) for f in d.findings)
    curves = _curves(d)
    if curves:
        parts.extend(["## Curves", curves])
    plots = _plots(d, images, output)
    if plots:
        parts.extend(["## Plots", plots])
    parts.extend(["## Inputs and settings", _inputs(d, fail_on, fw)])
    parts.extend(["## Checks", _checks(d)])
    return "\n\n".join(p for p in parts if p) + "\n"


# --- escaping -------------------------------------------------------------------------------


def escape(value: Any) -> str:
    """`value` as Markdown inline text that renders as itself: no HTML, no markup, one line,
    safe in a table cell."""
    text = str(value).replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    text = _CONTROL.sub("\ufffd", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _INLINE.sub(r"\\\1", text)


def paragraph(value: Any) -> str:
    """`value` escaped to stand at the start of a line: nothing in it may open a block
    (heading, list item, indented code, thematic break)."""
    text = escape(value).lstrip()
    text = _LEADING_MARK.sub(r"\\\1", text)
    return _LEADING_NUMBER.sub(r"\1\\\2", text)


def fence(code: str, lang: str = "") -> str:
    """A fenced code block longer than any backtick run inside `code`."""
    longest = max((len(m) for m in re.findall(r"`+", code)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{code.rstrip()}\n{ticks}"


def _details(summary: str, body: str) -> str:
    """A folded block GitHub renders; the blank lines let Markdown work inside it. `summary`
    is plain text (it sits in raw HTML, where only HTML escaping applies)."""
    summary = html.escape(" ".join(summary.split()))
    return f"<details><summary>{summary}</summary>\n\n{body}\n\n</details>"


def _fmt(v: Any) -> str:
    """One value for a table cell or a line of text (escaped)."""
    if isinstance(v, bool) or v is None:
        return escape(v)
    if isinstance(v, float):
        return escape(str(v) if not math.isfinite(v) else f"{v:.4g}")
    if isinstance(v, (dict, list, tuple)):
        text = json.dumps(v, separators=(",", ": "), ensure_ascii=False, default=str)
        if len(text) > _MAX_CELL:
            text = text[: _MAX_CELL - 1] + "…"
        return escape(text)
    return escape(v)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Cells must already be escaped."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines)


# --- sections -------------------------------------------------------------------------------


def _framework(d: Diagnosis) -> str:
    frameworks = {framework_of(r.format) for r in d.runs}
    return frameworks.pop() if len(frameworks) == 1 else "pytorch"


def _worst(d: Diagnosis) -> str | None:
    w = d.worst()
    return w.label if w is not None else None


def _verdict(d: Diagnosis) -> str:
    icon = "✔" if d.verdict == "healthy" else _ICON.get(_worst(d) or "", "●")
    line = f"{icon} **Verdict: {escape(d.verdict.replace('_', ' ').upper())}**"
    top = next((f for f in d.findings if f.severity.label != "info"), None)
    if top is not None:
        line += f" — {escape(top.message)}"
    elif d.verdict == "healthy":
        line += " — no problem found by the checks that ran."
    elif d.findings:
        line += f" — {escape(d.findings[0].message)}"
    if len(d.runs) > 1:
        line += "\n\n" + "\n".join(
            f"- run {escape(r.name)}: {escape(r.verdict.replace('_', ' '))}" for r in d.runs
        )
    return line


def _action(i: int, action: Action, fw: str, detailed: bool) -> str:
    addresses = ", ".join(escape(c) for c in action.addresses)
    if not detailed:
        return (
            f"**{i}\\. {escape(action.title)}** `[{_code_text(action.effort)}]` "
            f"addresses {addresses}"
        )
    parts = [
        f"### {i}\\. {escape(action.title)}",
        f"`{_code_text(action.effort)}` · addresses {addresses}",
    ]
    if action.summary:
        parts.append(paragraph(action.summary))
    shown = fw if fw in action.how else "pytorch"
    snippet = action.how.get(shown)
    if snippet:
        parts.append(f"{escape(FRAMEWORKS.get(shown, shown))}:")
        parts.append(fence(snippet.strip(), "python"))
    others = [k for k in FRAMEWORKS if k in action.how and k != shown]
    others += sorted(k for k in action.how if k not in FRAMEWORKS and k != shown)
    parts.extend(
        _details(FRAMEWORKS.get(k, k), fence(action.how[k].strip(), "python")) for k in others
    )
    return "\n\n".join(parts)


def _code_text(value: Any) -> str:
    """Text for inside a single-backtick code span that cannot end it or split a table."""
    return str(value).replace("`", "'").replace("|", "/").replace("\n", " ")


def rule_name(code: str) -> str | None:
    """The catalogue name of a code (`loss-diverged`), or None for a code it does not know."""
    from overfit_doctor.catalogue import rule

    try:
        return rule(code).name
    except KeyError:
        return None


def _finding(f: Finding, d: Diagnosis, images: dict[str, Path], output: Path | None) -> str:
    sev = f.severity.label
    name = rule_name(f.code)
    title = f"### {_ICON.get(sev, '●')} {escape(f.code)} {escape(f.symptom)}"
    if name:
        title += f" ({escape(name)})"
    meta = f"{sev}, confidence {f.confidence:.2f}"
    if f.where.get("run") is not None:
        meta += f", run {escape(f.where['run'])}"
    parts = [title, f"*{meta}*", paragraph(f.message)]
    rows = [(escape(k), _fmt(v)) for k, v in f.evidence.items() if v is not None]
    if rows:
        parts.append(_table(("evidence", "value"), rows))
    where = _where(f.where)
    if where:
        parts.append(f"Where: {where}")
    more = f"More: `overfit-doctor explain {_code_text(f.code)}`"
    if f.figure and f.figure in images:
        more += f" · plot: [{escape(f.figure)}]({_link(images[f.figure], output)})"
    parts.append(more)
    return "\n\n".join(parts)


def _where(where: dict[str, Any]) -> str:
    items = []
    for k, v in where.items():
        if v is None:
            continue
        if isinstance(v, dict) and set(v) <= {"epoch", "step"}:
            point = ", ".join(f"{unit} {_fmt(n)}" for unit, n in v.items() if n is not None)
            if point:
                items.append(f"{escape(k)} {point}")
            continue
        items.append(f"{escape(k)} {_fmt(v)}")
    return "; ".join(items)


def _plotted_keys(d: Diagnosis) -> list[str]:
    """Curves worth showing (as in the text report): those findings point at, else each run's
    loss."""
    keys = [k for k in dict.fromkeys(f.figure for f in d.findings) if k in d.figures]
    keys = [k for k in keys if (d.figures[k] or {}).get("kind", "curves") == "curves"]
    for r in d.runs:
        key = f"curves/{r.name}/loss"
        if key in d.figures and key not in keys:
            keys.append(key)
    return keys[:_MAX_CURVES]


def _curves(d: Diagnosis) -> str:
    rows = []
    for key in _plotted_keys(d):
        fig = d.figures[key]
        for split, series in (fig.get("series") or {}).items():
            ys = [float(y) if isinstance(y, (int, float)) else math.nan for y in series["y"]]
            finite = [y for y in ys if math.isfinite(y)]
            if len(finite) < 2:
                continue
            label = (
                f"{fig.get('run')} {split} {fig.get('metric')}"
                if len(d.runs) > 1
                else f"{split} {fig.get('metric')}"
            )
            spark = sparkline(ys).plain
            rng = f"{_fmt(finite[0])} → {_fmt(finite[-1])} (min {_fmt(min(finite))})"
            rows.append((escape(label), f"`{spark}`", rng))
    return _table(("curve", "shape", "first → last"), rows) if rows else ""


def _save_images(d: Diagnosis, output: Path | None) -> dict[str, Path]:
    """Plot images written next to `output` ({stem}_files/), by figure key; none without an
    output path or while the plotting module is not available."""
    if output is None or not d.figures:
        return {}
    try:
        from overfit_doctor.report.plots import save_figures
    except (ImportError, AttributeError):
        return {}
    output = Path(output)
    if not output.parent.is_dir():
        return {}
    folder = output.parent / f"{output.stem}_files"
    folder.mkdir(exist_ok=True)
    try:
        saved = save_figures(d, folder)
    except ImportError:  # matplotlib missing
        return {}
    return {k: Path(p) for k, p in (saved or {}).items()}


def _link(path: Path, output: Path | None) -> str:
    """A relative URL from the report to a companion file."""
    base = Path(output).parent if output is not None else Path.cwd()
    try:
        rel = Path(path).resolve().relative_to(base.resolve())
    except ValueError:
        rel = Path(path)
    return quote(rel.as_posix())


def _plots(d: Diagnosis, images: dict[str, Path], output: Path | None) -> str:
    """Every saved image, in the order the plotting module chose (the HTML report's)."""
    return "\n\n".join(
        f"![{escape(_plot_title(d, key))}]({_link(path, output)})" for key, path in images.items()
    )


def _plot_title(d: Diagnosis, key: str) -> str:
    fig = d.figures.get(key) or {}
    if fig.get("kind", "curves") == "curves" and fig.get("metric"):
        return f"{fig.get('run')} {fig.get('metric')}"
    return str(fig.get("title") or key)


def _inputs(d: Diagnosis, fail_on: str, fw: str) -> str:
    lines = [f"- overfit-doctor {escape(d.tool_version)}"]
    spec = d.inputs.get("spec")
    if spec:
        lines.append(f"- {escape(spec_line(spec))}")
    for r in d.runs:
        pts = max(r.points.values(), default=0)
        lines.append(
            f"- run {escape(r.name)}: {escape(r.source)} ({escape(r.format)}, {pts} points)"
        )
        lines.extend(f"  - note: {escape(note)}" for note in r.notes)
    paths = d.inputs.get("paths")
    if paths:
        lines.append("- paths: " + ", ".join(escape(p) for p in paths))
    shown = ", ".join(
        f"{escape(k)}={_fmt(v)}" for k, v in d.settings.items() if v not in (None, [], {}, "")
    )
    lines.append(
        f"- settings: {shown or 'defaults'}; fail on: {escape(fail_on)}; "
        f"snippets: {escape(FRAMEWORKS.get(fw, fw))}"
    )
    return "\n".join(lines)


def _checks(d: Diagnosis) -> str:
    counts = {s: sum(c.status == s for c in d.checks) for s in ("ran", "skipped", "errored")}
    parts = [f"{counts['ran']} ran, {counts['skipped']} skipped, {counts['errored']} errored"]
    errored = [c for c in d.checks if c.status == "errored"]
    if errored:
        parts.append(
            "\n".join(f"- ✖ errored: {escape(c.id)}: {escape(c.reason or '')}" for c in errored)
        )
    if d.checks:
        parts.append(_details(f"Check records ({len(d.checks)})", _check_table(d.checks)))
    return "\n\n".join(parts)


def _check_table(checks: tuple[CheckRecord, ...]) -> str:
    rows = [
        (
            escape(c.id),
            escape(c.status),
            escape(", ".join(c.codes)),
            f"{round(c.duration_s, 4):.3f}",
            escape(c.reason or ""),
        )
        for c in checks
    ]
    return _table(("check", "status", "codes", "seconds", "reason"), rows)
