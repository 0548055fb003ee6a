"""Underfitting: OD104 (training does not learn at all) and OD105 (training accuracy plateaus
low with no gap to validation)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from overfit_doctor.checks.analysis import curve_stats, fmt, pct
from overfit_doctor.checks.base import CheckMeta, PerRunCheck, finding
from overfit_doctor.checks.series import Curve, RunCurves
from overfit_doctor.diagnosis import Finding


def score_scale(curve: Curve) -> float:
    """1 for scores in 0..1, 100 for percentages."""
    finite = curve.y[np.isfinite(curve.y)]
    return 100.0 if finite.size and np.nanmax(np.abs(finite)) > 1.5 else 1.0


def accuracy_curve(rc: RunCurves, split: str) -> Curve | None:
    """The run's accuracy-like curve of a split (`accuracy` first)."""
    cands = [c for c in rc.metric_curves(split) if c.direction == "max" and "acc" in c.metric]
    cands.sort(key=lambda c: (c.metric != "accuracy", c.metric))
    return cands[0] if cands else None


@dataclass(frozen=True)
class NotLearningParams:
    min_points: int = 5
    min_improvement_rel: float = 0.05  # of the initial training loss
    min_accuracy_gain: float = 0.02  # on a 0..1 scale, when no loss is logged
    learned_accuracy: float = 0.9  # a training accuracy this high means it learned


class NotLearning(PerRunCheck):
    """Training loss stays near its initial value."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="training-progress",
        codes=("OD104",),
        needs=frozenset({"history"}),
        description="Training loss (or accuracy) barely moves from its initial value.",
    )
    Params = NotLearningParams

    def measure(self, rc: RunCurves, p: NotLearningParams) -> dict:
        train = rc.train_trend
        if train is None or len(train) < p.min_points:
            return {"judged": False, "reason": "too few training points"}
        st = curve_stats(train)
        if not st.finite:
            return {"judged": False, "reason": "non-finite training values"}
        start = float(st.smoothed[0])
        gain = start - float(np.min(st.smoothed))  # oriented: > 0 = improved
        m = {
            "judged": True,
            "metric": train.metric,
            "start": start,
            "gain": gain,
            "noise_sigma": st.sigma,
        }
        if train.direction == "min":
            rel = gain / abs(start) if start else 0.0
            m["gain_rel"] = rel
            stuck = rel < p.min_improvement_rel
        else:
            rel = gain / score_scale(train)
            m["gain_abs"] = rel
            stuck = rel < p.min_accuracy_gain
        acc = accuracy_curve(rc, "train")
        if acc is not None and np.isfinite(acc.y).all():
            best_acc = float(np.max(acc.y)) / score_scale(acc)
            m["train_accuracy_max"] = best_acc
            stuck = stuck and best_acc < p.learned_accuracy
        val = rc.val
        if stuck and val is not None and len(val) >= p.min_points:
            vs = curve_stats(val)
            if vs.finite:
                v_gain = float(vs.smoothed[0] - np.min(vs.smoothed))
                m["val_gain_sigmas"] = v_gain / vs.sigma if vs.sigma > 0 else 0.0
                # Validation that clearly improves shows the model learns.
                stuck = m["val_gain_sigmas"] < 3 or v_gain < 0.05 * abs(vs.smoothed[0])
        m["fires"] = bool(stuck)
        m["flat_in_noise"] = bool(gain < 3 * st.sigma)
        return m

    def report(self, rc: RunCurves, m: dict, p: NotLearningParams) -> Finding:
        train = rc.train_trend
        assert train is not None
        n = len(train)
        if "gain_rel" in m:
            change = f"improved only {pct(m['gain_rel'])}"
        else:
            change = f"gained only {m['gain_abs']:.3f}"
        message = (
            f"Training {train.metric} {change} over {n} points "
            f"({fmt(float(train.y[0]))} at {train.describe(0)} -> {fmt(float(train.y[-1]))} at "
            f"{train.describe(n - 1)}): the model is not learning."
        )
        evidence = {
            "metric": train.metric,
            "first_value": float(train.y[0]),
            "last_value": float(train.y[-1]),
            "best_value": float(np.min(train.y) if train.direction == "min" else np.max(train.y)),
            "improvement_rel": m.get("gain_rel"),
            "improvement_abs": m.get("gain_abs"),
            "noise_sigma": m["noise_sigma"],
            "train_accuracy_max": m.get("train_accuracy_max"),
            "thresholds": {
                "min_improvement_rel": p.min_improvement_rel,
                "min_accuracy_gain": p.min_accuracy_gain,
            },
        }
        where = {
            "run": rc.run,
            "metric": train.metric,
            "split": "train",
            "from": train.at(0),
            "to": train.at(n - 1),
        }
        conf = 0.9 if m["flat_in_noise"] else 0.75
        return finding(
            "OD104",
            confidence=conf,
            message=message,
            evidence=evidence,
            where=where,
            figure=f"curves/{rc.run}/{train.metric}",
        )


@dataclass(frozen=True)
class PlateauParams:
    min_points: int = 6
    low_accuracy: float = 0.6  # 0..1 scale
    plateau_gain: float = 0.01  # last third improves less than this (0..1 scale) ...
    max_gap: float = 0.05  # ... and validation accuracy is this close to training


class LowPlateau(PerRunCheck):
    """Training accuracy levels off low while validation matches it: capacity-bound."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="accuracy-plateau",
        codes=("OD105",),
        needs=frozenset({"history"}),
        description="Training accuracy plateaus at a low level with no gap to validation.",
    )
    Params = PlateauParams

    def measure(self, rc: RunCurves, p: PlateauParams) -> dict:
        acc = accuracy_curve(rc, "train")
        if acc is None or len(acc) < p.min_points:
            return {"judged": False, "reason": "no training accuracy curve"}
        st = curve_stats(acc)
        if not st.finite:
            return {"judged": False, "reason": "non-finite values"}
        scale = score_scale(acc)
        s = -st.smoothed / scale  # back to "higher is better", 0..1
        third = max(2, len(s) // 3)
        end = float(np.mean(acc.y[-3:])) / scale
        late_gain = float(s[-1] - s[-third])
        m = {
            "judged": True,
            "metric": acc.metric,
            "train_end": end,
            "late_gain": late_gain,
            "noise_sigma": st.sigma / scale,
        }
        val = rc.curves.get(("val", acc.metric)) or rc.curves.get(("test", acc.metric))
        gap = None
        if val is not None and np.isfinite(val.y).all() and len(val) >= 3:
            gap = end - float(np.mean(val.y[-3:])) / score_scale(val)
        m["gap_end"] = gap
        # Levelled off, or creeping so slowly that twice the training would not reach the bar.
        plateau = late_gain < max(p.plateau_gain, 2 * m["noise_sigma"]) or (
            end + 2 * late_gain < p.low_accuracy
        )
        m["fires"] = bool(
            end < p.low_accuracy and plateau and (gap is None or abs(gap) <= p.max_gap)
        )
        return m

    def report(self, rc: RunCurves, m: dict, p: PlateauParams) -> Finding:
        acc = accuracy_curve(rc, "train")
        assert acc is not None
        n = len(acc)
        gap_txt = (
            f"validation is level with it (gap {m['gap_end']:+.3f})"
            if m["gap_end"] is not None
            else "no validation accuracy to compare"
        )
        message = (
            f"Training {acc.metric} levelled off at {m['train_end']:.3f} (last third gained "
            f"{m['late_gain']:+.3f}) and {gap_txt}: the model underfits."
        )
        evidence = {
            "metric": acc.metric,
            "train_end": m["train_end"],
            "late_gain": m["late_gain"],
            "gap_end": m["gap_end"],
            "thresholds": {"low_accuracy": p.low_accuracy, "max_gap": p.max_gap},
        }
        where = {
            "run": rc.run,
            "metric": acc.metric,
            "split": "train",
            "from": acc.at(0),
            "to": acc.at(n - 1),
        }
        conf = 0.75 if m["gap_end"] is not None else 0.5
        return finding(
            "OD105",
            confidence=conf,
            message=message,
            evidence=evidence,
            where=where,
            figure=f"curves/{rc.run}/{acc.metric}",
        )
