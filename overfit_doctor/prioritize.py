"""Suppress superseded findings, rank the rest, merge their remedies into ranked actions, and
name the verdict."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from overfit_doctor.catalogue.model import Severity
from overfit_doctor.catalogue.remedies import remedy
from overfit_doctor.catalogue.rules import rule
from overfit_doctor.diagnosis import Action, Finding

MAX_ACTIONS = 5


def _place(f: Finding) -> str:
    return str(f.where.get("run", ""))


def suppress(findings: Iterable[Finding]) -> list[Finding]:
    """Drop findings made redundant by another finding about the same run (e.g. a diverged
    loss makes 'validation rising' meaningless)."""
    findings = list(findings)
    present = {(_place(f), f.code) for f in findings}
    dropped = set()
    for f in findings:
        for code in rule(f.code).supersedes:
            if (_place(f), code) in present and code != f.code:
                dropped.add((_place(f), code))
    return [f for f in findings if (_place(f), f.code) not in dropped]


def rank(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.priority, f.code, _place(f)))


def actions(
    findings: Iterable[Finding], limit: int = MAX_ACTIONS, present: frozenset[str] = frozenset()
) -> list[Action]:
    """Remedies scored by the findings that recommend them: each finding adds its priority,
    discounted by the remedy's rank in that rule's list; cheaper efforts win ties. Remedies
    the model already applies (`present`, from the regularization audit) are left out."""
    findings = list(findings)
    present_codes = {f.code for f in findings}
    score: dict[str, float] = defaultdict(float)
    codes: dict[str, list[str]] = defaultdict(list)
    for f in findings:
        weight_base = f.priority
        if f.severity < Severity.WARNING and f.symptom == "insufficient_data":
            weight_base *= 0.5
        if present_codes.intersection(rule(f.code).explained_by):
            weight_base *= 0.25  # a cause was found: fixing it comes before generic advice
        for r, remedy_id in enumerate(rule(f.code).remedies):
            score[remedy_id] += weight_base / (1 + r)
            if f.code not in codes[remedy_id]:
                codes[remedy_id].append(f.code)
    for rid in present:
        score.pop(rid, None)
    ranked = sorted(score, key=lambda rid: (-round(score[rid], 6), remedy(rid).effort.rank, rid))
    out = []
    for rid in ranked[:limit]:
        r = remedy(rid)
        out.append(
            Action(
                rid, r.title, r.effort.value, score[rid], tuple(codes[rid]), r.summary, dict(r.how)
            )
        )
    return out


def verdict(findings: Iterable[Finding]) -> str:
    """The symptom of the most pressing finding; `healthy` when nothing is wrong."""
    findings = rank(findings)
    serious = [f for f in findings if f.severity >= Severity.WARNING]
    if serious:
        return serious[0].symptom
    symptoms = {f.symptom for f in findings}
    if "still_improving" in symptoms:
        return "still_improving"
    if "insufficient_data" in symptoms:
        return "insufficient_data"
    return "healthy"
