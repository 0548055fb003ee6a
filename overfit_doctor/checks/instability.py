"""OD107: loss spikes well above the curve's own noise (training that does not diverge but
keeps jumping)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from overfit_doctor.checks.analysis import fmt
from overfit_doctor.checks.base import CheckMeta, PerRunCheck, finding
from overfit_doctor.checks.series import Curve, RunCurves
from overfit_doctor.checks.stats import mad_sigma, smooth
from overfit_doctor.diagnosis import Finding


@dataclass(frozen=True)
class InstabilityParams:
    min_points: int = 10
    spike_sigmas: float = 6.0  # above the rolling median by this many robust sigmas ...
    spike_rel: float = 0.25  # ... and by this share of the local level
    min_spikes: int = 3  # separate spike events needed
    window: int = 5  # rolling-median window for per-epoch curves (wider for per-step ones)


def binned(curve: Curve, n_bins: int) -> Curve:
    """A per-step curve averaged over consecutive bins: its smoothed level."""
    if len(curve) <= n_bins:
        return curve
    parts = np.array_split(np.arange(len(curve)), n_bins)
    pick = np.array([idx[-1] for idx in parts])
    return replace(curve, y=np.array([curve.y[idx].mean() for idx in parts]), x=curve.x[pick],
                   epoch=curve.epoch[pick], step=curve.step[pick])


def find_spikes(curve: Curve, p: InstabilityParams) -> tuple[list[int], float, np.ndarray]:
    """Indices where a spike event starts, the residual sigma (in log units for positive
    losses, whose noise scales with their level), and the local baseline."""
    y = curve.oriented.astype(float)
    base = smooth(y, p.window)
    positive = bool(np.all(y > 0))
    r = np.log(y) - np.log(base) if positive else y - base
    sigma = mad_sigma(r)
    rel = np.log1p(p.spike_rel) if positive else p.spike_rel * np.abs(base)
    is_spike = (r > p.spike_sigmas * max(sigma, 1e-12)) & (r > rel)
    starts = [int(i) for i in np.flatnonzero(is_spike) if i == 0 or not is_spike[i - 1]]
    return starts, sigma, base


class Instability(PerRunCheck):
    """Repeated loss spikes in the training or validation curve."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="instability",
        codes=("OD107",),
        needs=frozenset({"history"}),
        description="Loss spikes well above the curve's noise floor, repeatedly.",
    )
    Params = InstabilityParams

    def measure(self, rc: RunCurves, p: InstabilityParams) -> dict:
        m: dict = {"judged": False, "curves": {}}
        worst = None
        for curve in (rc.train_trend, rc.val):
            if curve is None or len(curve) < p.min_points or not np.isfinite(curve.y).all():
                continue
            if curve.direction != "min":
                continue  # spikes are judged on losses
            if rc.val is not None and len(curve) >= 3 * len(rc.val):
                # A per-step minibatch loss is noisy by nature: judge its smoothed level.
                curve = binned(curve, max(p.min_points, min(len(curve) // 4, 200)))
            starts, sigma, base = find_spikes(curve, p)
            m["judged"] = True
            ratios = [float(curve.y[i] / base[i]) for i in starts if base[i] > 0]
            m["curves"][curve.name] = {"spikes": len(starts), "sigma": sigma}
            if len(starts) >= p.min_spikes and (worst is None or len(starts) > worst[1]):
                worst = (curve, len(starts), starts, ratios)
        m["fires"] = worst is not None
        if worst:
            curve, count, starts, ratios = worst
            m.update(curve=(curve.split, curve.metric), count=count,
                     at=[curve.at(i) for i in starts[:20]],
                     described=[curve.describe(i) for i in starts[:5]],
                     max_ratio=max(ratios) if ratios else None)
        return m

    def report(self, rc: RunCurves, m: dict, p: InstabilityParams) -> Finding:
        curve = rc.curves[tuple(m["curve"])]
        where_txt = ", ".join(m["described"])
        more = "" if m["count"] <= 5 else f" and {m['count'] - 5} more"
        ratio = f"; the largest is {m['max_ratio']:.1f}x the local level" if m["max_ratio"] else ""
        message = (
            f"{curve.name.capitalize()} spiked {m['count']} times above its running level "
            f"(at {where_txt}{more}){ratio}."
        )
        evidence = {
            "metric": curve.metric,
            "split": curve.split,
            "spikes": m["count"],
            "spike_epochs": [a["epoch"] for a in m["at"]],
            "spike_steps": [a["step"] for a in m["at"]],
            "max_spike_ratio": m["max_ratio"],
            "typical_value": fmt(float(np.median(curve.y))),
            "thresholds": {"spike_sigmas": p.spike_sigmas, "spike_rel": p.spike_rel,
                           "min_spikes": p.min_spikes},
        }
        where = {"run": rc.run, "metric": curve.metric, "split": curve.split,
                 "from": m["at"][0], "to": m["at"][-1]}
        conf = min(0.95, 0.6 + 0.07 * (m["count"] - p.min_spikes))
        return finding("OD107", confidence=conf, message=message, evidence=evidence,
                       where=where, figure=f"curves/{rc.run}/{curve.metric}")
