"""OD101 (validation rises after its best while training improves) and OD102 (a large, growing
train/validation gap while validation stalls)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from overfit_doctor.checks.analysis import CurveStats, curve_stats, fmt, judgeable, pct
from overfit_doctor.checks.base import CheckMeta, PerRunCheck, finding
from overfit_doctor.checks.series import Curve, RunCurves
from overfit_doctor.checks.stats import clamp, mann_kendall, smooth
from overfit_doctor.diagnosis import Finding


@dataclass(frozen=True)
class RiseParams:
    min_points: int = 5  # validation points needed for any verdict
    min_rise_sigmas: float = 3.0  # rise of the tail above the best, in noise units
    min_rise_rel: float = 0.02  # ... and relative to the best value / improvement range
    min_after_fraction: float = 0.1  # points after the best: at least this share of the run
    min_after_points: int = 3
    trend_p: float = 0.05  # Mann-Kendall p-value for a sustained rise
    above_share: float = 0.7  # or this share of post-best points above best + 2 sigma


class ValidationRise(PerRunCheck):
    """Validation reaches its best, then worsens in a sustained way while training improves."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="validation-rise",
        codes=("OD101",),
        needs=frozenset({"history"}),
        description="Validation worsens after its best point while training keeps improving.",
    )
    Params = RiseParams

    def measure(self, rc: RunCurves, p: RiseParams) -> dict:
        val, st = rc.val, judgeable(rc.val, p.min_points)
        if isinstance(st, str):
            return {"judged": False, "reason": st}
        n, b = st.n, st.best
        after = n - 1 - b
        min_after = max(p.min_after_points, math.ceil(p.min_after_fraction * n))
        k = max(2, min(5, after // 2)) if after >= 2 else 1
        rise = st.tail_mean(k) - st.smoothed[b]
        scale = max(abs(st.smoothed[b]), float(np.max(st.smoothed[: b + 1]) - st.smoothed[b]))
        scale = scale if scale > 0 else 1.0
        rise_sigmas = rise / st.sigma if st.sigma > 0 else math.inf
        post = st.y[b:]
        tau, p_trend = mann_kendall(post) if len(post) >= 4 else (0.0, 1.0)
        above = float(np.mean(st.y[b + 1 :] > st.smoothed[b] + 2 * st.sigma)) if after else 0.0
        sustained = (tau > 0 and p_trend < p.trend_p) or above >= p.above_share
        train = _train_change(rc, st)
        m = {
            "judged": True,
            "metric": val.metric,
            "split": val.split,
            "points": n,
            "best_index": b,
            "points_after_best": after,
            "min_points_after_best": min_after,
            "rise": rise,
            "rise_rel": rise / scale,
            "rise_sigmas": rise_sigmas,
            "noise_sigma": st.sigma,
            "trend_tau": tau,
            "trend_p": p_trend,
            "share_above_best": above,
            "train_change_after_best": train,
        }
        train_ok = train is None or train < 0
        m["fires"] = bool(
            after >= min_after
            and rise_sigmas >= p.min_rise_sigmas
            and rise / scale >= p.min_rise_rel
            and sustained
            and train_ok
        )
        return m

    def report(self, rc: RunCurves, m: dict, p) -> Finding:
        val = rc.val
        assert val is not None
        st = curve_stats(val)
        b = st.best_raw
        best_value, last_value = float(val.y[b]), float(val.y[-1])
        gap_best = gap_end = None
        if rc.train_aligned is not None:
            ta = rc.train_aligned
            gap_best, gap_end = _gap(val, ta, b), _gap(val, ta, len(val) - 1)
        conf = clamp(0.55 + 0.05 * (m["rise_sigmas"] - 3), 0.55, 0.95)
        if m["points_after_best"] < 2 * m["min_points_after_best"]:
            conf *= 0.85
        if m["train_change_after_best"] is None:
            conf *= 0.75
        worse = "rose" if val.direction != "max" else "fell"
        train_txt = (
            "while training kept improving"
            if m["train_change_after_best"] is not None
            else "(no training curve to compare)"
        )
        message = (
            f"Validation {val.metric} {worse} from {fmt(best_value)} at its best "
            f"({val.describe(b)}) to {fmt(last_value)} at the end "
            f"({m['rise_sigmas']:.1f}x its noise, {pct(m['rise_rel'])}) over "
            f"{len(val) - 1 - b} more points, {train_txt}."
        )
        evidence = {
            "metric": val.metric,
            "split": val.split,
            "best_epoch": val.at(b)["epoch"],
            "best_step": val.at(b)["step"],
            "best_value": best_value,
            "last_value": last_value,
            "rise": m["rise"],
            "rise_rel": m["rise_rel"],
            "rise_sigmas": m["rise_sigmas"],
            "noise_sigma": m["noise_sigma"],
            "trend_p": m["trend_p"],
            "epochs_after_best": len(val) - 1 - b,
            "gap_at_best": gap_best,
            "gap_at_end": gap_end,
            "train_change_after_best": m["train_change_after_best"],
            "thresholds": {"min_rise_sigmas": p.min_rise_sigmas, "min_rise_rel": p.min_rise_rel},
        }
        where = {
            "run": rc.run,
            "metric": val.metric,
            "split": val.split,
            "from": val.at(b),
            "to": val.at(len(val) - 1),
        }
        return finding(
            "OD101",
            confidence=conf,
            message=message,
            evidence=evidence,
            where=where,
            figure=f"curves/{rc.run}/{val.metric}",
        )


def _train_change(rc: RunCurves, st: CurveStats) -> float | None:
    """Relative change of the (smoothed) training curve from the validation best to the end,
    oriented so that negative = improving. None without a training curve."""
    ta = rc.trend_aligned
    if ta is None or not np.isfinite(ta).all() or rc.train_trend is None:
        return None
    t = -ta if rc.train_trend.direction == "max" else ta
    ts = smooth(t, st.window)
    at_best, end = ts[st.best], float(np.mean(ts[-max(1, min(3, len(ts) - st.best)) :]))
    scale = abs(at_best) if at_best != 0 else 1.0
    return float((end - at_best) / scale)


def _gap(val: Curve, train_aligned: np.ndarray, i: int) -> float | None:
    t = train_aligned[i]
    if not np.isfinite(t):
        return None
    g = float(val.y[i] - t)
    return -g if val.direction == "max" else g


@dataclass(frozen=True)
class GapParams:
    min_points: int = 6
    max_start_ratio: float = 3.0  # val/train at the start beyond this = different quantities
    min_gap_rel: float = 0.5  # end gap relative to the final training loss (losses)
    min_gap_abs_score: float = 0.1  # end gap for bounded scores (accuracy, f1, ...)
    min_growth_sigmas: float = 3.0  # growth of the gap over the second half, in noise units
    max_val_gain_sigmas: float = 2.0  # validation "stalls": improves less than this


class GeneralizationGap(PerRunCheck):
    """A large train/validation gap that keeps growing while validation stalls."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="generalization-gap",
        codes=("OD102",),
        needs=frozenset({"history"}),
        description="The train/validation gap is large and still growing while validation stalls.",
    )
    Params = GapParams

    def measure(self, rc: RunCurves, p: GapParams) -> dict:
        val, ta = rc.val, rc.train_aligned
        if val is None or ta is None or len(val) < p.min_points:
            return {"judged": False, "reason": "needs train and validation of the same metric"}
        if not (np.isfinite(ta).all() and np.isfinite(val.y).all()):
            return {"judged": False, "reason": "non-finite values"}
        v, t = val.y.astype(float), ta.astype(float)
        bounded = val.direction == "max" and np.nanmax(np.abs(v)) <= 1.0
        if val.direction == "min" and t[0] > 0 and v[0] > 0:
            ratio = v[0] / t[0]
            if not (1 / p.max_start_ratio <= ratio <= p.max_start_ratio):
                return {
                    "judged": False,
                    "reason": "train and validation look like different "
                    f"quantities (start ratio {ratio:.2f})",
                }
        gap = v - t if val.direction == "min" else t - v
        st = curve_stats(val)
        gs = smooth(gap, st.window)
        n = len(gs)
        half = n // 2
        growth = float(gs[-1] - gs[half])
        val_gain = float(st.smoothed[half] - st.smoothed[-1])  # oriented: > 0 = improving
        end_gap = float(gs[-1])
        final_train = abs(float(smooth(t, st.window)[-1])) or 1.0
        big = end_gap >= (p.min_gap_abs_score if bounded else p.min_gap_rel * final_train)
        m = {
            "judged": True,
            "gap_end": end_gap,
            "gap_mid": float(gs[half]),
            "gap_growth": growth,
            "gap_growth_sigmas": growth / st.sigma if st.sigma > 0 else math.inf,
            "val_gain_second_half_sigmas": val_gain / st.sigma if st.sigma > 0 else math.inf,
            "gap_rel_to_train": end_gap / final_train,
        }
        m["fires"] = bool(
            big
            and m["gap_growth_sigmas"] >= p.min_growth_sigmas
            and m["val_gain_second_half_sigmas"] < p.max_val_gain_sigmas
        )
        return m

    def report(self, rc: RunCurves, m: dict, p) -> Finding:
        val = rc.val
        assert val is not None
        n = len(val)
        conf = clamp(0.5 + 0.03 * (m["gap_growth_sigmas"] - 3), 0.5, 0.85)
        message = (
            f"The gap between training and validation {val.metric} grew from {fmt(m['gap_mid'])} "
            f"({val.describe(n // 2)}) to {fmt(m['gap_end'])} at the end "
            f"({m['gap_growth_sigmas']:.1f}x the noise) while validation stalled."
        )
        evidence = {
            "metric": val.metric,
            "gap_mid": m["gap_mid"],
            "gap_end": m["gap_end"],
            "gap_growth_sigmas": m["gap_growth_sigmas"],
            "gap_rel_to_train": m["gap_rel_to_train"],
            "val_gain_second_half_sigmas": m["val_gain_second_half_sigmas"],
        }
        where = {"run": rc.run, "metric": val.metric, "from": val.at(n // 2), "to": val.at(n - 1)}
        return finding(
            "OD102",
            confidence=conf,
            message=message,
            evidence=evidence,
            where=where,
            figure=f"curves/{rc.run}/{val.metric}",
        )
