"""The report data model. Every renderer reads only this; it round-trips through JSON."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from overfit_doctor.catalogue.model import Severity

SCHEMA_VERSION = "1"


@dataclass(frozen=True)
class Finding:
    """One symptom with its evidence. Fix text is not here: it comes from the catalogue by code."""

    code: str
    symptom: str
    severity: Severity
    confidence: float  # 0..1
    message: str  # one line, with the numbers
    evidence: dict[str, Any]  # the numbers the verdict rests on and the thresholds in force
    where: dict[str, Any]  # run / metric / split / epochs / steps / layer
    figure: str | None = None  # key in Diagnosis.figures

    @property
    def priority(self) -> float:
        return float(self.severity) * self.confidence

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["severity"] = self.severity.label
        d["confidence"] = round(self.confidence, 2)
        d["evidence"] = jsonable(self.evidence)
        d["where"] = jsonable(self.where)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(
            code=d["code"],
            symptom=d["symptom"],
            severity=Severity.parse(d["severity"]),
            confidence=float(d["confidence"]),
            message=d["message"],
            evidence=dict(d.get("evidence") or {}),
            where=dict(d.get("where") or {}),
            figure=d.get("figure"),
        )


@dataclass(frozen=True)
class CheckRecord:
    """What happened to one check: ran, skipped (with the reason) or errored (with the reason)."""

    id: str
    status: str  # "ran" | "skipped" | "errored"
    codes: tuple[str, ...] = ()
    reason: str | None = None
    duration_s: float = 0.0
    measurements: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "codes": list(self.codes),
            "reason": self.reason,
            "duration_s": round(self.duration_s, 4),
            "measurements": jsonable(self.measurements),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckRecord:
        return cls(
            id=d["id"],
            status=d["status"],
            codes=tuple(d.get("codes") or ()),
            reason=d.get("reason"),
            duration_s=float(d.get("duration_s") or 0.0),
            measurements=dict(d.get("measurements") or {}),
        )


@dataclass(frozen=True)
class Action:
    """A remedy merged across the findings that recommend it, ranked."""

    remedy: str
    title: str
    effort: str
    score: float
    addresses: tuple[str, ...]  # finding codes
    summary: str = ""
    how: dict[str, str] = field(default_factory=dict)  # framework -> snippet

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["score"] = round(self.score, 3)
        d["addresses"] = list(self.addresses)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Action:
        return cls(
            d["remedy"],
            d["title"],
            d["effort"],
            float(d["score"]),
            tuple(d["addresses"]),
            d.get("summary", ""),
            dict(d.get("how") or {}),
        )


@dataclass(frozen=True)
class RunSummary:
    """One diagnosed run: where it came from and its own verdict."""

    name: str
    source: str
    format: str
    verdict: str
    points: dict[str, int]  # "train loss" -> number of points
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["notes"] = list(self.notes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSummary:
        return cls(
            d["name"],
            d["source"],
            d["format"],
            d["verdict"],
            dict(d["points"]),
            tuple(d.get("notes") or ()),
        )


@dataclass(frozen=True)
class Diagnosis:
    """Everything a report shows."""

    verdict: str
    findings: tuple[Finding, ...]
    actions: tuple[Action, ...]
    checks: tuple[CheckRecord, ...]
    runs: tuple[RunSummary, ...] = ()
    inputs: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)  # data for plots, keyed by name
    tool_version: str = ""
    schema_version: str = SCHEMA_VERSION

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "tool": {"name": "overfit-doctor", "version": self.tool_version},
            "verdict": self.verdict,
            "findings": [f.to_dict() for f in self.findings],
            "actions": [a.to_dict() for a in self.actions],
            "checks": [c.to_dict() for c in self.checks],
            "runs": [r.to_dict() for r in self.runs],
            "inputs": jsonable(self.inputs),
            "settings": jsonable(self.settings),
            "figures": jsonable(self.figures),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Diagnosis:
        return cls(
            verdict=d["verdict"],
            findings=tuple(Finding.from_dict(f) for f in d.get("findings", [])),
            actions=tuple(Action.from_dict(a) for a in d.get("actions", [])),
            checks=tuple(CheckRecord.from_dict(c) for c in d.get("checks", [])),
            runs=tuple(RunSummary.from_dict(r) for r in d.get("runs", [])),
            inputs=dict(d.get("inputs") or {}),
            settings=dict(d.get("settings") or {}),
            figures=dict(d.get("figures") or {}),
            tool_version=str((d.get("tool") or {}).get("version", "")),
            schema_version=str(d.get("schema_version", SCHEMA_VERSION)),
        )


def jsonable(value: Any) -> Any:
    """Plain JSON types; non-finite floats become the strings "nan", "inf", "-inf"."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalar
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return float(f"{value:.6g}")
    return value
