"""What a check is: metadata, thresholds, and a `run` that measures then judges."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar, Protocol

from overfit_doctor.catalogue.rules import rule
from overfit_doctor.checks.series import RunCurves, run_curves
from overfit_doctor.diagnosis import Finding
from overfit_doctor.history.model import History


@dataclass(frozen=True)
class CheckMeta:
    id: str  # kebab-case measurement name, e.g. "validation-rise"
    codes: tuple[str, ...]  # codes this check may emit (each code has one owner)
    needs: frozenset[str]  # "history", "model", "train_data", "val_data"
    cost: str = "quick"  # quick | standard | thorough
    description: str = ""


@dataclass
class Outcome:
    """Measurements (always reported) and findings of one check."""

    measurements: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # a part that failed; the rest still counts
    figures: dict[str, Any] = field(default_factory=dict)  # plot data, see docs/json-schema.md


class NotApplicable(Exception):
    """Raised by a check when its inputs exist but it cannot say anything (a skip, with reason)."""


class Check(Protocol):
    meta: ClassVar[CheckMeta]

    def run(self, ctx: Context) -> Outcome: ...


class PerRunCheck:
    """A history check judged run by run: `measure` each run, `report` the ones that fire.

    A run whose measurement raises is recorded as an error; the other runs are still judged.
    """

    meta: ClassVar[CheckMeta]
    Params: ClassVar[type]

    def run(self, ctx: Context) -> Outcome:
        params = ctx.params_for(self)
        out = Outcome()
        for run in ctx.runs:
            try:
                rc = ctx.curves(run)
                m = self.measure(rc, params)
                out.measurements[run] = m
                if m.get("fires"):
                    out.findings.append(self.report(rc, m, params))
            except Exception as exc:
                out.errors.append(f"run {run}: {type(exc).__name__}: {exc}")
        return out

    def measure(self, rc: RunCurves, params: Any) -> dict[str, Any]:
        raise NotImplementedError

    def report(self, rc: RunCurves, m: dict[str, Any], params: Any) -> Finding:
        raise NotImplementedError


@dataclass
class Context:
    """Inputs of a diagnosis and the derived data checks share (curves per run)."""

    history: History | None = None
    spec: Any = None  # overfit_doctor.Spec, for the active checks
    probe_settings: dict[str, Any] = field(default_factory=dict)  # budget, seed, device, progress
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # check id -> overrides
    _curves: dict[str, RunCurves] = field(default_factory=dict)
    _probe_ctx: Any = None
    _probes: dict[str, Any] = field(default_factory=dict)

    @property
    def available(self) -> frozenset[str]:
        """What the inputs provide, matched against each check's `needs`."""
        have = set()
        if self.history is not None:
            have.add("history")
        if self.spec is not None:
            have |= {"model", "train_data"}
            if self.spec.val is not None:
                have.add("val_data")
        return frozenset(have)

    @property
    def probe_context(self) -> Any:
        """The ProbeContext (imports torch on first use only)."""
        if self._probe_ctx is None:
            from overfit_doctor.probes.context import ProbeContext

            self._probe_ctx = ProbeContext.build(self.spec, **self.probe_settings)
        return self._probe_ctx

    def probe(self, name: str) -> Any:
        """Result of the experiment `overfit_doctor.probes.<name>.run`, run once and shared."""
        if name not in self._probes:
            import importlib

            module = importlib.import_module(f"overfit_doctor.probes.{name}")
            pctx = self.probe_context
            pctx.say(name.replace("_", " "))
            self._probes[name] = module.run(pctx)
        return self._probes[name]

    def curves(self, run: str) -> RunCurves:
        if run not in self._curves:
            assert self.history is not None
            self._curves[run] = run_curves(self.history, run)
        return self._curves[run]

    def params_for(self, check: Any) -> Any:
        """The check's `Params` with the user's overrides applied (unknown names are errors)."""
        defaults = check.Params()
        overrides = self.params.get(check.meta.id, {})
        known = {f.name for f in fields(defaults)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"unknown parameter(s) for {check.meta.id}: {sorted(unknown)}")
        return replace(defaults, **overrides)

    @property
    def runs(self) -> list[str]:
        return self.history.run_names if self.history is not None else []


def finding(
    code: str,
    *,
    confidence: float,
    message: str,
    evidence: dict[str, Any],
    where: dict[str, Any],
    severity=None,
    figure: str | None = None,
) -> Finding:
    """A Finding whose symptom and default severity come from the catalogue."""
    r = rule(code)
    return Finding(
        code=r.code,
        symptom=r.symptom,
        severity=severity if severity is not None else r.severity,
        confidence=round(max(0.0, min(1.0, confidence)), 2),
        message=message,
        evidence=evidence,
        where=where,
        figure=figure,
    )
