"""`--format junit`: JUnit XML (Jenkins/Ant conventions) for CI servers.

One `<testsuite>` inside `<testsuites>`; each check is a `<testcase>` (classname
`overfit-doctor.<family>`, name = check id). Findings at or above `--fail-on` make the check a
`<failure type=CODE>` (the most pressing one in `message`, all of them with their evidence in the
body); findings below it go to `<system-out>`; skipped checks are `<skipped message=reason/>`,
errored ones `<error message=reason/>`. At most one `<failure>` and one `<error>` per testcase,
so the counts on the suite are the numbers of those elements and every reader agrees on them.
Built with ElementTree (escaping is automatic); characters XML 1.0 forbids are replaced.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from overfit_doctor.catalogue.model import Severity
from overfit_doctor.diagnosis import CheckRecord, Diagnosis, Finding

SUITE_NAME = "overfit-doctor"
# Characters not allowed in an XML 1.0 document (control characters, lone surrogates, U+FFFE/F).
_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(
    diagnosis: Diagnosis,
    *,
    fail_on: str = "error",
    **_: Any,
) -> str:
    """The whole report as a JUnit XML document (UTF-8 declaration, indented)."""
    d = diagnosis
    threshold = None if fail_on == "never" else Severity.parse(fail_on)
    owner = _owners(d.checks)
    by_check: dict[int, list[Finding]] = {}
    orphans: list[Finding] = []
    for f in d.findings:
        if f.code in owner:
            by_check.setdefault(owner[f.code], []).append(f)
        else:
            orphans.append(f)

    cases = [_check_case(c, by_check.get(i, []), threshold) for i, c in enumerate(d.checks)]
    # A finding no check record owns (e.g. a hand-edited report) still gets its own testcase.
    cases += [_orphan_case(f, threshold) for f in orphans]

    counts = {
        "tests": len(cases),
        "failures": sum(c.find("failure") is not None for c in cases),
        "errors": sum(c.find("error") is not None for c in cases),
        "skipped": sum(c.find("skipped") is not None for c in cases),
    }
    total = f"{sum(float(c.get('time', '0')) for c in cases):.3f}"
    attrs = {"name": SUITE_NAME, **{k: str(v) for k, v in counts.items()}, "time": total}
    # `skipped` is a testsuite attribute only: the Jenkins schema allows no other on testsuites.
    root = ET.Element("testsuites", {k: v for k, v in attrs.items() if k != "skipped"})
    suite = ET.SubElement(root, "testsuite", attrs)
    props = ET.SubElement(suite, "properties")
    for name, value in _properties(d, fail_on):
        ET.SubElement(props, "property", name=name, value=_clean(value))
    suite.extend(cases)
    out = ET.SubElement(suite, "system-out")
    out.text = _clean(_summary(d))
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _owners(checks: tuple[CheckRecord, ...]) -> dict[str, int]:
    """Finding code -> index of the check record that reports it (first one wins)."""
    owner: dict[str, int] = {}
    for i, c in enumerate(checks):
        for code in c.codes:
            owner.setdefault(code, i)
    return owner


def _clean(text: Any) -> str:
    """Text XML 1.0 can carry: forbidden characters become U+FFFD."""
    return _INVALID_XML.sub("\ufffd", str(text))


def _family(codes: tuple[str, ...]) -> str:
    from overfit_doctor.catalogue import rule

    for code in codes:
        try:
            return rule(code).family.value
        except KeyError:
            continue
    return "checks"


def _rule_name(code: str) -> str | None:
    from overfit_doctor.catalogue import rule

    try:
        return rule(code).name
    except KeyError:
        return None


def _check_case(c: CheckRecord, findings: list[Finding], threshold: Severity | None):
    case = ET.Element(
        "testcase",
        {
            "classname": f"{SUITE_NAME}.{_family(c.codes)}",
            "name": _clean(c.id),
            # rounded as in the JSON report first, so a re-rendered report says the same
            "time": f"{round(c.duration_s, 4):.3f}",
        },
    )
    if c.status == "skipped":
        ET.SubElement(case, "skipped", message=_clean(c.reason or "skipped"))
        return case
    if c.status == "errored":
        ET.SubElement(case, "error", message=_clean(c.reason or "errored"), type="errored")
    _add_findings(case, findings, threshold)
    return case


def _orphan_case(f: Finding, threshold: Severity | None):
    case = ET.Element(
        "testcase",
        {
            "classname": f"{SUITE_NAME}.{_family((f.code,))}",
            "name": _clean(f.code),
            "time": "0.000",
        },
    )
    _add_findings(case, [f], threshold)
    return case


def _add_findings(case: ET.Element, findings: list[Finding], threshold: Severity | None) -> None:
    failing = [f for f in findings if threshold is not None and f.severity >= threshold]
    passing = [f for f in findings if f not in failing]
    if failing:
        top = failing[0]  # findings are ranked: the most pressing first
        message = headline(top)
        if len(failing) > 1:
            message += f" (+{len(failing) - 1} more)"
        failure = ET.SubElement(case, "failure", message=_clean(message), type=_clean(top.code))
        failure.text = _clean("\n\n".join(finding_text(f) for f in failing))
    if passing:
        out = ET.SubElement(case, "system-out")
        out.text = _clean("\n\n".join(finding_text(f) for f in passing))


def headline(f: Finding) -> str:
    """`OD106 loss-diverged (error): Train loss became nan at epoch 4 ...`."""
    name = _rule_name(f.code)
    return f"{f.code} {name or f.symptom} ({f.severity.label}): {f.message}"


def finding_text(f: Finding) -> str:
    """A finding as plain text lines: headline, confidence and place, evidence, where to read."""
    lines = [headline(f), f"symptom: {f.symptom}, confidence {f.confidence:.2f}"]
    where = ", ".join(f"{k}={_value(v)}" for k, v in f.where.items() if v is not None)
    if where:
        lines.append(f"where: {where}")
    lines.extend(f"  {k} = {_value(v)}" for k, v in f.evidence.items() if v is not None)
    lines.append(f"more: overfit-doctor explain {f.code}")
    return "\n".join(lines)


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_value(x)}" for k, x in v.items() if x is not None) + "}"
    return str(v)


def _properties(d: Diagnosis, fail_on: str) -> list[tuple[str, str]]:
    props = [
        ("verdict", d.verdict),
        ("tool_version", d.tool_version),
        ("schema_version", d.schema_version),
        ("fail_on", fail_on),
    ]
    props += [(f"run:{r.name}", f"{r.verdict} ({r.source})") for r in d.runs]
    return props


def _summary(d: Diagnosis) -> str:
    from overfit_doctor.report.github import counted

    counts = {s: sum(f.severity is s for f in d.findings) for s in Severity}
    lines = [
        f"overfit-doctor {d.tool_version}: verdict {d.verdict}; findings: "
        + ", ".join(counted(counts[s], s.label) for s in reversed(Severity))
    ]
    if d.actions:
        lines.append("Do this first:")
        lines.extend(
            f"  {i}. {a.title} [{a.effort}] addresses {', '.join(a.addresses)}"
            for i, a in enumerate(d.actions, 1)
        )
    return "\n".join(lines)
