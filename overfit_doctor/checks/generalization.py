"""OD110: training fits while validation never gets better than where it started."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from overfit_doctor.checks.analysis import curve_stats, fmt
from overfit_doctor.checks.base import CheckMeta, PerRunCheck, finding
from overfit_doctor.checks.learning import accuracy_curve, score_scale
from overfit_doctor.checks.series import Curve, RunCurves
from overfit_doctor.diagnosis import Finding


@dataclass(frozen=True)
class NoGeneralizationParams:
    min_points: int = 5
    train_loss_drop: float = 0.5  # training loss falls by at least this share ...
    train_accuracy_gain: float = 0.2  # ... or training accuracy rises this much (0..1)
    val_tolerance_rel: float = 0.02  # validation "improves" only beyond max(2 sigma, this)
    min_accuracy_gap: float = 0.3  # train accuracy ends this far above validation ...
    max_accuracy_gain_share: float = 0.1  # ... and val accuracy gained < this share of train's


def _gain(curve: Curve) -> tuple[float, float]:
    """(improvement of the smoothed curve from its start to its best, noise sigma), oriented."""
    st = curve_stats(curve)
    return float(st.smoothed[0] - np.min(st.smoothed)), st.sigma


class NoGeneralization(PerRunCheck):
    """Training improves strongly, validation never does."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="generalization",
        codes=("OD110",),
        needs=frozenset({"history"}),
        description="Training fits while validation never improves beyond its start.",
    )
    Params = NoGeneralizationParams

    def measure(self, rc: RunCurves, p: NoGeneralizationParams) -> dict:
        val, train = rc.val, rc.train_trend
        if val is None or train is None or min(len(val), len(train)) < p.min_points:
            return {"judged": False, "reason": "needs training and validation curves"}
        if not (curve_stats(val).finite and curve_stats(train).finite):
            return {"judged": False, "reason": "non-finite values"}
        t_gain, _ = _gain(train)
        t_start = abs(float(curve_stats(train).smoothed[0])) or 1.0
        if train.direction == "min":
            learned = t_gain / t_start >= p.train_loss_drop
        else:
            learned = t_gain / score_scale(train) >= p.train_accuracy_gain
        v_gain, v_sigma = _gain(val)
        v_start = abs(float(curve_stats(val).smoothed[0]))
        tol = max(2 * v_sigma, p.val_tolerance_rel * v_start)
        m = {
            "judged": True,
            "train_gain": t_gain,
            "val_gain": v_gain,
            "val_tolerance": tol,
            "train_learned": bool(learned),
        }
        stuck = v_gain <= tol
        t_acc, v_acc = accuracy_curve(rc, "train"), accuracy_curve(rc, rc.val.split)
        m["accuracy_checked"] = False
        if (
            t_acc is not None
            and v_acc is not None
            and val.metric != v_acc.metric
            and curve_stats(v_acc).finite
            and len(v_acc) >= p.min_points
        ):
            a_gain, a_sigma = _gain(v_acc)
            a_scale = score_scale(v_acc)
            t_end = float(np.mean(t_acc.y[-3:])) / score_scale(t_acc)
            v_end = float(np.mean(v_acc.y[-3:])) / a_scale
            t_acc_gain = _gain(t_acc)[0] / score_scale(t_acc)
            m.update(
                accuracy_checked=True,
                val_accuracy_gain=a_gain / a_scale,
                train_accuracy_gain=t_acc_gain,
                train_accuracy_end=t_end,
                val_accuracy_end=v_end,
            )
            # Validation accuracy did not move, or moved by a sliver of what training gained.
            small_gain = a_gain <= max(2 * a_sigma, p.val_tolerance_rel * a_scale) or (
                a_gain / a_scale <= p.max_accuracy_gain_share * t_acc_gain
            )
            stuck = stuck and small_gain and t_end - v_end >= p.min_accuracy_gap
        m["fires"] = bool(learned and stuck)
        return m

    def report(self, rc: RunCurves, m: dict, p: NoGeneralizationParams) -> Finding:
        val, train = rc.val, rc.train_trend
        assert val is not None and train is not None
        msg = (
            f"Training {train.metric} went from {fmt(float(train.y[0]))} to "
            f"{fmt(float(train.y[-1]))}, but validation {val.metric} never improved on its start "
            f"({fmt(float(val.y[0]))} at {val.describe(0)}; best gain {fmt(m['val_gain'])} "
            f"<= tolerance {fmt(m['val_tolerance'])})"
        )
        if m["accuracy_checked"]:
            msg += (
                f"; validation accuracy stayed at {m['val_accuracy_end']:.3f} while training "
                f"reached {m['train_accuracy_end']:.3f}."
            )
        else:
            msg += ": nothing learned transfers (or the model overfit from the first epoch)."
        evidence = {k: m[k] for k in ("train_gain", "val_gain", "val_tolerance")}
        evidence.update(
            {k: m.get(k) for k in ("val_accuracy_gain", "train_accuracy_end", "val_accuracy_end")}
        )
        evidence["val_metric"], evidence["train_metric"] = val.metric, train.metric
        where = {
            "run": rc.run,
            "metric": val.metric,
            "split": val.split,
            "from": val.at(0),
            "to": val.at(len(val) - 1),
        }
        conf = 0.85 if m["accuracy_checked"] else 0.55
        return finding(
            "OD110",
            confidence=conf,
            message=msg,
            evidence=evidence,
            where=where,
            figure=f"curves/{rc.run}/{val.metric}",
        )
