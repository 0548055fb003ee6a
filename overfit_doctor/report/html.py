"""`--format html`: one self-contained page (inline CSS, plots as `data:` images, no script).

The page is rendered by Jinja2 with autoescaping on: every string that comes from a log (metric
names, paths, messages, notes) is escaped by the template. The only markup built here is the
small Markdown subset of the catalogue's own doc pages and remedy summaries, which is escaped
first and then given a fixed set of tags (`markdown_subset`). A Content-Security-Policy forbids
scripts and any network load, so even a bug in escaping could not run code or fetch anything.

Plots are drawn only from `Diagnosis.figures`, by `overfit_doctor.report.plots`, which (with
matplotlib) is imported only when there is a figure to draw.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from overfit_doctor import catalogue
from overfit_doctor.diagnosis import Action, CheckRecord, Diagnosis, Finding
from overfit_doctor.report.text import framework_of, spec_line

_CALM = ("healthy", "still_improving", "insufficient_data")
_TONE = {"healthy": "ok", "still_improving": "info", "insufficient_data": "muted"}
_ICON = {"error": "✖", "warning": "▲", "info": "●"}
_LEAD_SECTIONS = ("What it detects",)
_SHORT_VALUE = 32  # longer evidence values get a row of their own, below the compact table
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'"
)


def render(
    diagnosis: Diagnosis,
    *,
    output: Path | None = None,
    framework: str | None = None,
    plots: bool = True,
    image_format: str = "svg",
    **_: Any,
) -> str:
    """The whole report as one HTML document. `output` is unused: the page needs no companion
    files. `framework` picks the snippet shown first (default: the one that suits the logs)."""
    d = diagnosis
    fw = _framework(d, framework)
    drawn, not_drawn, no_plots = _plots(d, image_format) if plots else ([], [], "")
    anchors = _finding_anchors(d.findings)
    code_anchor: dict[str, str] = {}
    for f, anchor in zip(d.findings, anchors, strict=True):
        code_anchor.setdefault(f.code, anchor)
    figure_anchor = {p["key"]: p["anchor"] for p in drawn}
    action_anchor = {a.remedy: f"action-{i}" for i, a in enumerate(d.actions, 1)}
    context = {
        "css": Markup(_css()),
        "csp": CSP,
        "title": _title(d),
        "version": d.tool_version,
        "schema_version": d.schema_version,
        "subject": _subject(d),
        "verdict": _verdict(d),
        "calm": d.verdict in _CALM,
        "actions": [_action(i, a, fw, code_anchor) for i, a in enumerate(d.actions, 1)],
        "findings": [
            _finding(f, anchors[i], figure_anchor, action_anchor) for i, f in enumerate(d.findings)
        ],
        "plots": drawn,
        "not_drawn": not_drawn,
        "no_plots": no_plots,
        "runs": [_run(r) for r in d.runs],
        "spec": _spec(d.inputs.get("spec")),
        "inputs": rows({k: v for k, v in d.inputs.items() if k != "spec"}),
        "settings": rows(d.settings),
        "checks": [_check(c) for c in _ordered_checks(d.checks)],
        "check_counts": _check_counts(d.checks),
        "framework": catalogue.FRAMEWORKS.get(fw, fw),
    }
    return _env().get_template("report.html.j2").render(**context)


# --------------------------------------------------------------------------- environment


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("overfit_doctor.report", "templates"),
        autoescape=True,  # always, whatever the template's file name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["wbr"] = wbr
    return env


def wbr(text: Any) -> Markup:
    """Escaped text with line-break opportunities after `.`, `_` and `/` (long keys, paths)."""
    return Markup(re.sub(r"([._/])", r"\1<wbr>", str(escape(text))))  # escaped, then <wbr>


@lru_cache(maxsize=1)
def _css() -> str:
    return resources.files(__package__).joinpath("templates", "style.css").read_text("utf-8")


# --------------------------------------------------------------------------- header, verdict


def _framework(d: Diagnosis, framework: str | None) -> str:
    if framework:
        return str(framework)
    found = {framework_of(r.format) for r in d.runs}
    return found.pop() if len(found) == 1 else "pytorch"


def _spec_line(spec: Mapping[str, Any]) -> str:
    try:
        return spec_line(dict(spec))
    except (TypeError, ValueError, AttributeError):  # a hand-edited report
        return "spec: " + ", ".join(
            f"{k} {format_value(v)}" for k, v in spec.items() if not isinstance(v, Mapping)
        )


def _title(d: Diagnosis) -> str:
    names = ", ".join(r.name for r in d.runs[:3]) + (" …" if len(d.runs) > 3 else "")
    what = names or ("model spec" if d.inputs.get("spec") else "")
    return f"overfit-doctor: {human(d.verdict)}" + (f" — {what}" if what else "")


def _subject(d: Diagnosis) -> list[str]:
    lines = []
    spec = d.inputs.get("spec")
    if isinstance(spec, Mapping):
        lines.append(_spec_line(spec))
    paths = d.inputs.get("paths") or []
    if paths:
        lines.append("logs: " + ", ".join(str(p) for p in paths))
    if d.runs:
        n = len(d.runs)
        lines.append(
            f"{n} run{'s' if n != 1 else ''}: "
            + ", ".join(f"{r.name} ({r.format})" for r in d.runs[:6])
            + (f" and {n - 6} more" if n > 6 else "")
        )
    return lines


def human(verdict: str) -> str:
    return verdict.replace("_", " ")


def _verdict(d: Diagnosis) -> dict[str, Any]:
    worst = d.worst()
    tone = _TONE.get(d.verdict)
    if tone is None:
        tone = "error" if worst is not None and worst.label == "error" else "warning"
    top = next((f for f in d.findings if f.severity.label != "info"), None)
    if top is not None:
        message = top.message
    elif d.verdict == "healthy":
        message = "No problem found by the checks that ran."
    elif d.findings:
        message = d.findings[0].message
    else:
        message = ""
    counts = {
        s: sum(f.severity.label == s for f in d.findings) for s in ("error", "warning", "info")
    }
    return {
        "label": human(d.verdict),
        "tone": tone,
        "message": message,
        "counts": counts,
        "runs": [(r.name, human(r.verdict), _TONE.get(r.verdict, "warning")) for r in d.runs]
        if len(d.runs) > 1
        else [],
    }


# --------------------------------------------------------------------------- actions


def _finding_anchors(findings: Iterable[Finding]) -> list[str]:
    return [f"finding-{i}" for i, _ in enumerate(findings, 1)]


def _action(i: int, a: Action, fw: str, code_anchor: dict[str, str]) -> dict[str, Any]:
    return {
        "n": i,
        "anchor": f"action-{i}",
        "title": a.title,
        "effort": a.effort,
        "score": a.score,
        "addresses": [(code, code_anchor.get(code)) for code in a.addresses],
        "summary": inline_markdown(a.summary) if a.summary else "",
        "snippets": snippets(a.how, fw),
        "detailed": i <= 3,
    }


def snippets(how: Mapping[str, str], fw: str) -> list[dict[str, Any]]:
    """The run's framework first (open), then the others in the catalogue's order."""
    known = list(catalogue.FRAMEWORKS)
    keys = [k for k in known if k in how] + sorted(k for k in how if k not in known)
    primary = fw if fw in how else ("pytorch" if "pytorch" in how else (keys[0] if keys else ""))
    ordered = [primary, *[k for k in keys if k != primary]] if primary else []
    return [
        {
            "key": k,
            "name": catalogue.FRAMEWORKS.get(k, k),
            "code": str(how[k]).strip("\n"),
            "primary": k == primary,
        }
        for k in ordered
    ]


# --------------------------------------------------------------------------- findings


def _finding(
    f: Finding, anchor: str, figure_anchor: dict[str, str], action_anchor: dict[str, str]
) -> dict[str, Any]:
    sev = f.severity.label
    try:
        rule = catalogue.rule(f.code)
    except KeyError:
        rule = None
    evidence = rows(f.evidence)
    short = [r for r in evidence if len(r[1]) <= _SHORT_VALUE]
    return {
        "anchor": anchor,
        "code": f.code,
        "severity": sev,
        "icon": _ICON.get(sev, "●"),
        "symptom": human(f.symptom),
        "confidence": f"{f.confidence:.2f}",
        "title": rule.title if rule is not None else human(f.symptom),
        "name": rule.name if rule is not None else "",
        "message": f.message,
        "where": where_line(f.where),
        "evidence": evidence,
        "evidence_rows": side_by_side(short) if len(short) > 6 else [[r] for r in short],
        "evidence_long": [r for r in evidence if len(r[1]) > _SHORT_VALUE],
        "figure": figure_anchor.get(f.figure or ""),
        "figure_key": f.figure,
        "fixes": _fixes(rule, action_anchor) if rule is not None else [],
        "explanation": explanation(f.code) if rule is not None else None,
    }


def _fixes(rule: Any, action_anchor: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for rid in rule.remedies:
        try:
            rem = catalogue.remedy(rid)
        except KeyError:
            continue
        out.append(
            {"title": rem.title, "effort": rem.effort.value, "anchor": action_anchor.get(rid)}
        )
    return out


def side_by_side(items: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Rows of two (key, value) pairs, the first half of the items down the left side."""
    half = (len(items) + 1) // 2
    left, right = items[:half], items[half:]
    return [[a, *([right[i]] if i < len(right) else [])] for i, a in enumerate(left)]


def where_line(where: Mapping[str, Any]) -> str:
    """`run training · val loss · epoch 12 → epoch 149`."""
    parts = []
    if where.get("run"):
        parts.append(f"run {where['run']}")
    metric = " ".join(str(where[k]) for k in ("split", "metric") if where.get(k))
    if metric:
        parts.append(metric)
    if isinstance(where.get("from"), Mapping) or isinstance(where.get("to"), Mapping):
        a, b = _point(where.get("from")), _point(where.get("to"))
        if a or b:
            parts.append(f"{a or '…'} → {b or 'end'}")
    if isinstance(where.get("at"), Mapping) and _point(where["at"]):
        parts.append(f"at {_point(where['at'])}")
    for k, v in where.items():
        if k in ("run", "split", "metric", "from", "to", "at") or v is None:
            continue
        parts.append(f"{k} {format_value(v)}")
    return " · ".join(parts)


def _point(p: Any) -> str:
    if not isinstance(p, Mapping):
        return ""
    epoch, step = p.get("epoch"), p.get("step")
    if epoch is not None and step is not None:
        return f"epoch {format_value(epoch)} (step {format_value(step)})"
    if epoch is not None:
        return f"epoch {format_value(epoch)}"
    if step is not None:
        return f"step {format_value(step)}"
    return ", ".join(f"{k} {format_value(v)}" for k, v in p.items() if v is not None)


def rows(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """A nested mapping as (key, value) table rows; nested keys are dotted, None left out."""
    out: list[tuple[str, str]] = []
    for k, v in data.items():
        key = f"{prefix}{k}"
        if v is None:
            continue
        if isinstance(v, Mapping):
            if v:
                out.extend(rows(v, prefix=f"{key}."))
            else:
                out.append((key, "—"))
        else:
            out.append((key, format_value(v)))
    return out


def format_value(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10_000 else str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        if v == int(v) and abs(v) < 1e6:
            return str(int(v))
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        if not v:
            return "none"
        items = [format_value(x) for x in v[:8]]
        more = f" … (+{len(v) - 8})" if len(v) > 8 else ""
        if any(isinstance(x, Mapping) for x in v):  # records: one a line
            return "\n".join(items) + more
        return ", ".join(items) + more
    if isinstance(v, Mapping):
        return " · ".join(f"{k}: {format_value(x)}" for k, x in v.items())
    return str(v)


# --------------------------------------------------------------------------- explanations


@lru_cache(maxsize=64)
def explanation(code: str) -> dict[str, Any] | None:
    """The catalogue's doc page for `code`: its lead section(s) and the rest, as safe HTML."""
    try:
        page = catalogue.doc_page(code)
    except (KeyError, FileNotFoundError, OSError):
        return None
    sections = doc_sections(page)
    lead = [(t, markdown_subset(b)) for t, b in sections if t in _LEAD_SECTIONS]
    more = [(t, markdown_subset(b)) for t, b in sections if t not in _LEAD_SECTIONS]
    return {"lead": lead, "more": more, "more_titles": ", ".join(t for t, _ in more)}


def doc_sections(page: str) -> list[tuple[str, str]]:
    """`## Title` sections of a Markdown page, in order (text before the first is dropped)."""
    out: list[tuple[str, str]] = []
    title, body = None, []
    for line in page.splitlines():
        m = re.match(r"^##\s+(.*\S)\s*$", line)
        if m:
            if title is not None:
                out.append((title, "\n".join(body).strip("\n")))
            title, body = m.group(1), []
        elif title is not None:
            body.append(line)
    if title is not None:
        out.append((title, "\n".join(body).strip("\n")))
    return out


_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_EM = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\w*])")
_URL = re.compile(r"\bhttps?://[^\s<>\"'`]+")
_URL_TAIL = re.compile(r"(?:[.,;:)\]]|&#34;|&#39;|&gt;|&lt;)+$")
_LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")


def inline_markdown(text: str) -> Markup:
    """Escape `text`, then turn `code`, **bold**, *emphasis* and bare http(s) URLs into tags."""
    out = []
    for i, part in enumerate(_CODE_SPAN.split(text)):
        if i % 2:
            out.append(f"<code>{escape(part)}</code>")
            continue
        s = str(escape(part))
        s = _BOLD.sub(r"<strong>\1</strong>", s)
        s = _EM.sub(r"<em>\1</em>", s)
        s = _URL.sub(_link, s)
        out.append(s)
    return Markup("".join(out))


def _link(m: re.Match[str]) -> str:
    url = m.group(0)
    tail = _URL_TAIL.search(url)
    rest = ""
    if tail:
        url, rest = url[: tail.start()], url[tail.start() :]
    if not url.split("://", 1)[1]:
        return m.group(0)
    return f'<a href="{url}" rel="noopener noreferrer">{url}</a>{rest}'


def markdown_subset(md: str) -> Markup:
    """Paragraphs, headings, (nested) lists, tables and fenced code of trusted catalogue
    Markdown, with every piece of text escaped. Anything else is shown as escaped text."""
    lines = md.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif _FENCE.match(line):
            fence = _FENCE.match(line).group(1)  # type: ignore[union-attr]
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                body.append(lines[i])
                i += 1
            i += 1
            out.append(f"<pre><code>{escape(chr(10).join(body))}</code></pre>")
        elif _HEADING.match(line):
            m = _HEADING.match(line)
            assert m is not None
            out.append(f"<h5>{inline_markdown(m.group(2))}</h5>")
            i += 1
        elif line.lstrip().startswith("|"):
            table = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                table.append(lines[i])
                i += 1
            out.append(_table(table))
        elif _LIST_ITEM.match(line):
            items: list[list[Any]] = []
            while i < len(lines):
                cur = lines[i]
                m = _LIST_ITEM.match(cur)
                if m:
                    tag = "ol" if m.group(2)[0].isdigit() else "ul"
                    items.append([len(m.group(1)), tag, m.group(3)])
                elif cur.strip() and cur.startswith((" ", "\t")) and items:
                    items[-1][2] += " " + cur.strip()
                elif (
                    not cur.strip()
                    and i + 1 < len(lines)
                    and (_LIST_ITEM.match(lines[i + 1]) or lines[i + 1].startswith("  "))
                ):
                    pass  # a blank line inside the list
                else:
                    break
                i += 1
            out.append(_list(items))
        else:
            para = []
            while (
                i < len(lines)
                and lines[i].strip()
                and not (
                    _FENCE.match(lines[i])
                    or _HEADING.match(lines[i])
                    or lines[i].lstrip().startswith("|")
                    or _LIST_ITEM.match(lines[i])
                )
            ):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{inline_markdown(' '.join(para))}</p>")
    return Markup("\n".join(out))


def _list(items: list[list[Any]]) -> str:
    out: list[str] = []
    stack: list[tuple[int, str]] = []
    for indent, tag, text in items:
        while stack and indent < stack[-1][0]:
            out.append(f"</li></{stack.pop()[1]}>")
        if stack and indent == stack[-1][0]:
            if tag == stack[-1][1]:
                out.append("</li>")
            else:
                out.append(f"</li></{stack.pop()[1]}>")
        if not stack or indent > stack[-1][0]:
            out.append(f"<{tag}>")
            stack.append((indent, tag))
        out.append(f"<li>{inline_markdown(text)}")
    while stack:
        out.append(f"</li></{stack.pop()[1]}>")
    return "".join(out)


def _cells(line: str) -> list[str]:
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|"):
        s = s[:-1]
    return [c.strip() for c in s.split("|")]


def _table(lines: list[str]) -> str:
    rows_ = [_cells(x) for x in lines]
    head: list[str] | None = None
    align: list[str] = []
    if len(rows_) >= 2 and all(re.fullmatch(r":?-+:?", c or "-") for c in rows_[1]):
        head = rows_[0]
        align = ["right" if c.endswith(":") and not c.startswith(":") else "" for c in rows_[1]]
        rows_ = rows_[2:]

    def cell(tag: str, text: str, j: int) -> str:
        cls = ' class="num"' if j < len(align) and align[j] == "right" else ""
        return f"<{tag}{cls}>{inline_markdown(text)}</{tag}>"

    out = ['<table class="md">']
    if head is not None:
        out.append(
            "<thead><tr>" + "".join(cell("th", c, j) for j, c in enumerate(head)) + "</tr></thead>"
        )
    out.append("<tbody>")
    for r in rows_:
        out.append("<tr>" + "".join(cell("td", c, j) for j, c in enumerate(r)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


# --------------------------------------------------------------------------- plots


def _plots(d: Diagnosis, image_format: str) -> tuple[list[dict[str, Any]], list[str], str]:
    """(plots drawn, keys of those left out, why no plot could be drawn at all)."""
    if not d.figures:
        return [], [], ""
    try:
        from overfit_doctor.report import plots  # matplotlib: only when there is a figure to draw
    except ImportError as exc:
        return [], [], f"matplotlib is not installed ({exc}): pip install matplotlib"
    keys = plots.plot_keys(d)
    shown, rest = keys[: plots.MAX_PLOTS], keys[plots.MAX_PLOTS :]
    drawn = []
    for i, p in enumerate(plots.draw_all(d.figures, shown, fmt=image_format), 1):
        drawn.append(
            {
                "anchor": f"fig-{i}",
                "key": p.key,
                "kind": p.kind,
                "title": p.title,
                "caption": p.caption,
                "uri": p.uri,
                "width": p.width_px,
                "height": p.height_px,
            }
        )
    return drawn, rest, ""


# --------------------------------------------------------------------------- inputs, checks


def _run(r: Any) -> dict[str, Any]:
    return {
        "name": r.name,
        "source": r.source,
        "format": r.format,
        "verdict": human(r.verdict),
        "tone": _TONE.get(r.verdict, "warning"),
        "points": ", ".join(f"{k} {v}" for k, v in r.points.items()),
        "notes": list(r.notes),
    }


def _spec(spec: Any) -> dict[str, Any] | None:
    if not isinstance(spec, Mapping):
        return None
    items = rows(spec)
    return {
        "line": spec_line(dict(spec)),
        "rows": side_by_side(items) if len(items) > 6 else [[r] for r in items],
    }


_STATUS_ORDER = {"errored": 0, "ran": 1, "skipped": 2}


def _ordered_checks(checks: Iterable[CheckRecord]) -> list[CheckRecord]:
    return sorted(checks, key=lambda c: _STATUS_ORDER.get(c.status, 3))


def _check(c: CheckRecord) -> dict[str, Any]:
    return {
        "id": c.id,
        "status": c.status,
        "codes": ", ".join(c.codes),
        "reason": c.reason or "",
        "duration": _duration(c.duration_s),
    }


def _duration(s: float) -> str:
    if s <= 0:
        return "—"
    if s < 1:
        return f"{s * 1000:.0f} ms" if s >= 0.001 else "<1 ms"
    return f"{s:.1f} s"


def _check_counts(checks: Iterable[CheckRecord]) -> dict[str, Any]:
    checks = list(checks)
    counts: dict[str, Any] = {
        s: sum(c.status == s for c in checks) for s in ("ran", "skipped", "errored")
    }
    counts["total_time"] = _duration(sum(c.duration_s for c in checks))
    return counts
