"""OD107: a training loss that keeps jumping up (spikes or repeated jumps well above its
recent level) without diverging."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from overfit_doctor.checks.analysis import fmt
from overfit_doctor.checks.base import CheckMeta, PerRunCheck, finding
from overfit_doctor.checks.series import Curve, RunCurves
from overfit_doctor.checks.stats import mad_sigma
from overfit_doctor.diagnosis import Finding


@dataclass(frozen=True)
class InstabilityParams:
    min_points: int = 10
    window: int = 5  # trailing window of the recent level
    spike_sigmas: float = 6.0  # spike: above the recent median by this many robust sigmas ...
    spike_rel: float = 0.25  # ... and by this share of it
    jump_rel: float = 0.5  # jump (per-epoch curves): 50% above the minimum of the last 3 ...
    jump_range_share: float = 0.05  # ... and by 5% of the curve's whole range
    min_events: int = 3  # separate spike/jump events needed


def binned(curve: Curve, n_bins: int) -> Curve:
    """A per-step curve averaged over consecutive bins: its smoothed level."""
    if len(curve) <= n_bins:
        return curve
    parts = np.array_split(np.arange(len(curve)), n_bins)
    pick = np.array([idx[-1] for idx in parts])
    return replace(
        curve,
        y=np.array([curve.y[idx].mean() for idx in parts]),
        x=curve.x[pick],
        epoch=curve.epoch[pick],
        step=curve.step[pick],
    )


def trailing_median(y: np.ndarray, window: int) -> np.ndarray:
    """Median of the `window` points before each point (NaN for the first point)."""
    out = np.full(len(y), np.nan)
    for i in range(1, len(y)):
        out[i] = np.median(y[max(0, i - window) : i])
    return out


def excursions(y: np.ndarray, p: InstabilityParams, jumps: bool) -> list[int]:
    """Indices where a spike or jump event starts. A spike stands out from the recent median by
    many robust sigmas (in log units for positive losses, whose noise scales with their level);
    a jump (per-epoch curves only) rises well above the recent minimum."""
    base = trailing_median(y, p.window)
    positive = bool(np.all(y > 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.log(y) - np.log(base) if positive else y - base
    sigma = mad_sigma(r[3:]) if len(r) > 3 else np.nan
    rel = np.log1p(p.spike_rel) if positive else p.spike_rel * np.abs(base)
    flag = np.zeros(len(y), dtype=bool)
    flag[3:] = (r[3:] > p.spike_sigmas * max(sigma, 1e-12)) & (
        r[3:] > rel if positive else r[3:] > rel[3:]
    )
    if jumps:
        span = float(np.max(y) - np.min(y))
        for i in range(1, len(y)):
            low = float(np.min(y[max(0, i - 3) : i]))
            if y[i] >= (1 + p.jump_rel) * low and y[i] - low >= p.jump_range_share * span:
                flag[i] = True
    return [int(i) for i in np.flatnonzero(flag) if i == 0 or not flag[i - 1]]


class Instability(PerRunCheck):
    """Repeated spikes or jumps in the training loss."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="instability",
        codes=("OD107",),
        needs=frozenset({"history"}),
        description="The training loss spikes or jumps up repeatedly without diverging.",
    )
    Params = InstabilityParams

    def measure(self, rc: RunCurves, p: InstabilityParams) -> dict:
        curve = rc.train_trend
        if curve is None or len(curve) < p.min_points or curve.direction != "min":
            return {"judged": False, "fires": False, "reason": "no training loss to judge"}
        if not np.isfinite(curve.y).all():
            return {"judged": False, "fires": False, "reason": "non-finite values (diverged)"}
        per_step = rc.val is not None and len(curve) >= 3 * len(rc.val)
        if per_step:  # a per-step minibatch loss is noisy by nature: judge its smoothed level
            curve = binned(curve, max(p.min_points, min(len(curve) // 4, 200)))
        starts = excursions(curve.y.astype(float), p, jumps=not per_step)
        base = trailing_median(curve.y, p.window)
        ratios = [float(curve.y[i] / base[i]) for i in starts if base[i] > 0]
        m = {
            "judged": True,
            "curve": [curve.split, curve.metric],
            "per_step": per_step,
            "events": len(starts),
            "fires": len(starts) >= p.min_events,
        }
        if m["fires"]:
            m.update(
                at=[curve.at(i) for i in starts[:20]],
                described=[curve.describe(i) for i in starts[:5]],
                max_ratio=max(ratios) if ratios else None,
                typical=float(np.median(curve.y)),
            )
        return m

    def report(self, rc: RunCurves, m: dict, p: InstabilityParams) -> Finding:
        split, metric = m["curve"]
        where_txt = ", ".join(m["described"])
        more = "" if m["events"] <= 5 else f" and {m['events'] - 5} more"
        ratio = f"; the largest is {m['max_ratio']:.1f}x the recent level" if m["max_ratio"] else ""
        level = " (binned per-step values)" if m["per_step"] else ""
        message = (
            f"Training {metric}{level} jumped up {m['events']} times well above its recent level "
            f"(at {where_txt}{more}){ratio}, without diverging."
        )
        evidence = {
            "metric": metric,
            "split": split,
            "events": m["events"],
            "event_epochs": [a["epoch"] for a in m["at"]],
            "event_steps": [a["step"] for a in m["at"]],
            "max_ratio_to_recent_level": m["max_ratio"],
            "typical_value": fmt(m["typical"]),
            "thresholds": {
                "spike_sigmas": p.spike_sigmas,
                "spike_rel": p.spike_rel,
                "jump_rel": p.jump_rel,
                "min_events": p.min_events,
            },
        }
        where = {
            "run": rc.run,
            "metric": metric,
            "split": split,
            "from": m["at"][0],
            "to": m["at"][-1],
        }
        conf = min(0.95, 0.6 + 0.07 * (m["events"] - p.min_events))
        return finding(
            "OD107",
            confidence=conf,
            message=message,
            evidence=evidence,
            where=where,
            figure=f"curves/{rc.run}/{metric}",
        )
