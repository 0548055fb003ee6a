"""OD901 (no validation curve) and OD902 (too few points): say what is missing, don't guess."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from overfit_doctor.checks.base import CheckMeta, PerRunCheck, finding
from overfit_doctor.checks.series import RunCurves
from overfit_doctor.diagnosis import Finding


@dataclass(frozen=True)
class CoverageParams:
    min_points: int = 5


class Coverage(PerRunCheck):
    """Whether a run holds enough to judge generalization at all."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="data-coverage",
        codes=("OD901", "OD902"),
        needs=frozenset({"history"}),
        description="Whether the log holds a validation curve with enough points.",
    )
    Params = CoverageParams

    def measure(self, rc: RunCurves, p: CoverageParams) -> dict:
        scored = {k: len(c) for k, c in rc.curves.items() if c.direction is not None}
        n_val = len(rc.val) if rc.val is not None else 0
        n_train = len(rc.train_trend) if rc.train_trend is not None else 0
        m = {
            "curves": {f"{s} {k}": n for (s, k), n in scored.items()},
            "val_points": n_val,
            "train_points": n_train,
        }
        if not scored:
            m.update(fires=True, code="OD902", reason="no curves")
        elif rc.val is None and n_train >= p.min_points:
            m.update(fires=True, code="OD901", reason="no validation curve")
        elif max(n_val, n_train if rc.val is None else 0) < p.min_points:
            m.update(fires=True, code="OD902", reason="too few points")
        else:
            m["fires"] = False
        return m

    def report(self, rc: RunCurves, m: dict, p: CoverageParams) -> Finding:
        where = {"run": rc.run}
        if m["code"] == "OD901":
            train = rc.train_trend
            assert train is not None
            message = (
                f"Only training curves were logged ({', '.join(m['curves'])}): overfitting "
                f"cannot be judged without a validation curve."
            )
            evidence = {"curves": m["curves"]}
            return finding("OD901", confidence=1.0, message=message, evidence=evidence, where=where)
        if m["reason"] == "no curves":
            message = "The log holds no loss or metric curve at all."
        else:
            which = "validation" if rc.val is not None else "training"
            n = m["val_points"] if rc.val is not None else m["train_points"]
            message = (
                f"Only {n} {which} point(s) were logged (at least {p.min_points} are needed "
                f"to judge a curve)."
            )
        evidence = {"curves": m["curves"], "min_points": p.min_points}
        return finding("OD902", confidence=1.0, message=message, evidence=evidence, where=where)
