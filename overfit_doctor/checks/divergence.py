"""OD106: a loss or metric that became NaN/inf, or a training loss that exploded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from overfit_doctor.checks.analysis import fmt
from overfit_doctor.checks.base import CheckMeta, PerRunCheck, finding
from overfit_doctor.checks.series import RunCurves
from overfit_doctor.checks.stats import smooth, smooth_window
from overfit_doctor.diagnosis import Finding
from overfit_doctor.history.keys import is_loss


@dataclass(frozen=True)
class DivergenceParams:
    explode_factor: float = 3.0  # final training loss above this multiple of its minimum ...
    min_points: int = 4  # ... and above its first value, over this many points at least
    tail_points: int = 3


class Divergence(PerRunCheck):
    """NaN/inf values, or a training loss that ends far above both its minimum and its start."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="divergence",
        codes=("OD106",),
        needs=frozenset({"history"}),
        description="Losses or metrics that became NaN/inf, or a training loss that exploded.",
    )
    Params = DivergenceParams

    def measure(self, rc: RunCurves, p: DivergenceParams) -> dict:
        first = None  # (x order key, curve, index)
        for curve in rc.curves.values():
            if curve.direction is None:
                continue
            bad = np.flatnonzero(~np.isfinite(curve.y))
            if bad.size:
                i = int(bad[0])
                key = (0 if curve.split == "train" else 1, curve.x[i])
                if first is None or key < first[0]:
                    first = (key, curve, i)
        if first is not None:
            _, curve, i = first
            return {
                "fires": True,
                "kind": "non_finite",
                "curve": (curve.split, curve.metric),
                "index": i,
                "count": int((~np.isfinite(curve.y)).sum()),
            }
        train = rc.curves.get(("train", "loss")) or next(
            (c for (s, m), c in rc.curves.items() if s == "train" and is_loss(m)), None
        )
        if train is None or len(train) < p.min_points:
            return {"fires": False, "judged": False, "reason": "no training loss to judge"}
        s = smooth(train.y, smooth_window(len(train)))
        k = min(p.tail_points, len(train))
        tail = train.y[-k:]
        lo, start = float(np.min(s)), float(s[0])
        ratio = float(np.min(tail) / lo) if lo > 0 else 0.0
        exploded = lo > 0 and ratio >= p.explode_factor and float(np.min(tail)) > start
        return {
            "fires": bool(exploded),
            "kind": "exploded",
            "curve": ("train", train.metric),
            "min": lo,
            "start": start,
            "end": float(tail[-1]),
            "end_over_min": ratio,
        }

    def report(self, rc: RunCurves, m: dict, p: DivergenceParams) -> Finding:
        curve = rc.curves[m["curve"]]
        if m["kind"] == "non_finite":
            i = m["index"]
            bad = float(curve.y[i])
            prev = curve.y[:i][np.isfinite(curve.y[:i])]
            last_ok = float(prev[-1]) if prev.size else None
            message = (
                f"{curve.name.capitalize()} became {fmt(bad)} at {curve.describe(i)}"
                + (f" (last finite value {fmt(last_ok)})" if last_ok is not None else "")
                + f"; {m['count']} of {len(curve)} points are not finite."
            )
            evidence = {
                "metric": curve.metric,
                "split": curve.split,
                "value": bad,
                "first_nonfinite_epoch": curve.at(i)["epoch"],
                "first_nonfinite_step": curve.at(i)["step"],
                "last_finite_value": last_ok,
                "nonfinite_points": m["count"],
                "points": len(curve),
            }
            where = {"run": rc.run, "metric": curve.metric, "split": curve.split, "at": curve.at(i)}
            conf = 0.99
        else:
            i = int(np.argmin(curve.y))
            message = (
                f"Training {curve.metric} exploded: it reached {fmt(m['min'])} at "
                f"{curve.describe(i)} and ended at {fmt(m['end'])} "
                f"({m['end_over_min']:.1f}x its minimum, above its start {fmt(m['start'])})."
            )
            evidence = {
                "metric": curve.metric,
                "min_value": m["min"],
                "start_value": m["start"],
                "end_value": m["end"],
                "end_over_min": m["end_over_min"],
                "min_epoch": curve.at(i)["epoch"],
                "min_step": curve.at(i)["step"],
                "thresholds": {"explode_factor": p.explode_factor},
            }
            where = {
                "run": rc.run,
                "metric": curve.metric,
                "split": "train",
                "from": curve.at(i),
                "to": curve.at(len(curve) - 1),
            }
            conf = 0.9 if m["end_over_min"] >= 10 else 0.75
        return finding(
            "OD106",
            confidence=conf,
            message=message,
            evidence=evidence,
            where=where,
            figure=f"curves/{rc.run}/{curve.metric}",
        )
