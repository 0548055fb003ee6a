"""OD108 (validation still improving at the end) and OD109 (validation too noisy to judge)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from overfit_doctor.checks.analysis import fmt, judgeable
from overfit_doctor.checks.base import CheckMeta, PerRunCheck, finding
from overfit_doctor.checks.series import RunCurves
from overfit_doctor.checks.stats import mann_kendall
from overfit_doctor.diagnosis import Finding


@dataclass(frozen=True)
class StillImprovingParams:
    min_points: int = 5
    best_within: float = 0.1  # the best point lies in this last share of the run
    trend_p: float = 0.05  # Mann-Kendall p-value of the improving trend in the last third
    min_gain_sigmas: float = 2.0  # the last third improves by more than this many sigmas


class StillImproving(PerRunCheck):
    """Validation is still getting better when training stops: train longer."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="convergence",
        codes=("OD108",),
        needs=frozenset({"history"}),
        description="Validation is still improving at the end of training.",
    )
    Params = StillImprovingParams

    def measure(self, rc: RunCurves, p: StillImprovingParams) -> dict:
        st = judgeable(rc.val, p.min_points)
        if isinstance(st, str):
            return {"judged": False, "reason": st}
        n = st.n
        last = max(4, n // 3)
        tau, p_trend = mann_kendall(st.y[-last:])
        gain = float(st.smoothed[-last] - st.smoothed[-1])
        near_end = st.best >= n - max(2, math.ceil(p.best_within * n))
        m = {
            "judged": True,
            "best_index": st.best,
            "trend_tau": tau,
            "trend_p": p_trend,
            "last_third_gain": gain,
            "gain_sigmas": gain / st.sigma if st.sigma else 0.0,
            "points": n,
        }
        m["fires"] = bool(
            near_end and tau < 0 and p_trend < p.trend_p and m["gain_sigmas"] > p.min_gain_sigmas
        )
        return m

    def report(self, rc: RunCurves, m: dict, p: StillImprovingParams) -> Finding:
        val = rc.val
        assert val is not None
        n = len(val)
        last = max(4, n // 3)
        message = (
            f"Validation {val.metric} was still improving when training stopped: "
            f"{fmt(float(val.y[-last]))} at {val.describe(n - last)} -> {fmt(float(val.y[-1]))} "
            f"at {val.describe(n - 1)} (trend p={m['trend_p']:.3f})."
        )
        evidence = {
            "metric": val.metric,
            "trend_tau": m["trend_tau"],
            "trend_p": m["trend_p"],
            "last_third_gain": m["last_third_gain"],
            "gain_sigmas": m["gain_sigmas"],
            "last_epoch": val.at(n - 1)["epoch"],
            "last_step": val.at(n - 1)["step"],
        }
        where = {
            "run": rc.run,
            "metric": val.metric,
            "split": val.split,
            "from": val.at(n - last),
            "to": val.at(n - 1),
        }
        conf = 0.9 if m["trend_p"] < 0.01 else 0.7
        return finding(
            "OD108",
            confidence=conf,
            message=message,
            evidence=evidence,
            where=where,
            figure=f"curves/{rc.run}/{val.metric}",
        )


@dataclass(frozen=True)
class NoiseParams:
    min_points: int = 6
    max_noise_ratio: float = 0.5  # noise sigma relative to the improvement from start to best
    min_noise_rel: float = 0.01  # ignore noise below this share of the curve's level


class ValidationNoise(PerRunCheck):
    """Validation noise as large as the changes a verdict would rest on."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="validation-noise",
        codes=("OD109",),
        needs=frozenset({"history"}),
        description="Validation is too noisy to tell a rise or a fall from noise.",
    )
    Params = NoiseParams

    def measure(self, rc: RunCurves, p: NoiseParams) -> dict:
        st = judgeable(rc.val, p.min_points)
        if isinstance(st, str):
            return {"judged": False, "reason": st}
        improvement = float(st.smoothed[0] - np.min(st.smoothed))
        level = float(np.median(np.abs(st.y))) or 1.0
        ratio = st.sigma / improvement if improvement > 0 else math.inf
        m = {
            "judged": True,
            "noise_sigma": st.sigma,
            "improvement": improvement,
            "noise_ratio": ratio,
            "noise_rel_level": st.sigma / level,
        }
        m["fires"] = bool(ratio > p.max_noise_ratio and st.sigma / level > p.min_noise_rel)
        return m

    def report(self, rc: RunCurves, m: dict, p: NoiseParams) -> Finding:
        val = rc.val
        assert val is not None
        ratio = m["noise_ratio"]
        ratio_txt = "larger than" if not math.isfinite(ratio) else f"{ratio:.1f}x"
        message = (
            f"Validation {val.metric} moves by about {fmt(m['noise_sigma'])} from one evaluation "
            f"to the next, {ratio_txt} its whole improvement ({fmt(m['improvement'])}): "
            f"too noisy to tell overfitting from noise."
        )
        evidence = {
            "metric": val.metric,
            "noise_sigma": m["noise_sigma"],
            "improvement": m["improvement"],
            "noise_ratio": ratio if math.isfinite(ratio) else None,
            "thresholds": {"max_noise_ratio": p.max_noise_ratio},
        }
        where = {"run": rc.run, "metric": val.metric, "split": val.split}
        return finding(
            "OD109",
            confidence=0.7,
            message=message,
            evidence=evidence,
            where=where,
            figure=f"curves/{rc.run}/{val.metric}",
        )
