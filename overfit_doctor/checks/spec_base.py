"""Shared pieces of the checks that judge probe results (diagnose --spec)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from overfit_doctor.checks.base import CheckMeta, Context, Outcome


class SpecCheck:
    """A check on the model and its data: `measure` reads probe results (via `ctx.probe`),
    `judge` turns the measurements into findings. Findings' `where` name the `model` (and a
    `layer` or `split` where it applies) instead of a run."""

    meta: ClassVar[CheckMeta]
    Params: ClassVar[type]

    def run(self, ctx: Context) -> Outcome:
        params = ctx.params_for(self)
        m = self.measure(ctx, params)
        figures = self.figures(m)
        findings = list(self.judge(m, params))
        if len(figures) == 1:  # point each finding without a plot at the check's only plot
            key = next(iter(figures))
            findings = [f if f.figure else replace(f, figure=key) for f in findings]
        return Outcome(measurements=m, findings=findings, figures=figures)

    def figures(self, m: dict[str, Any]) -> dict[str, Any]:
        """Plot data for reports (kinds `lines`, `bars`, `histograms`; docs/json-schema.md)."""
        return {}

    def measure(self, ctx: Context, params: Any) -> dict[str, Any]:
        raise NotImplementedError

    def judge(self, m: dict[str, Any], params: Any) -> list:
        raise NotImplementedError
