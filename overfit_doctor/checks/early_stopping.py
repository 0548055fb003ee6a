"""OD103: where `EarlyStopping(patience, min_delta)` would have stopped, and what to keep."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from overfit_doctor.checks.analysis import fmt, judgeable
from overfit_doctor.checks.base import CheckMeta, PerRunCheck, finding
from overfit_doctor.checks.series import RunCurves
from overfit_doctor.diagnosis import Finding


@dataclass(frozen=True)
class EarlyStopParams:
    min_points: int = 8
    patience: int | None = None  # default: max(3, 10% of the validation points)
    min_delta: float = 0.0  # as in Keras; the curve's noise is tolerated separately below
    min_saved_fraction: float = 0.2  # report only when stopping saves this share of the run
    max_loss_sigmas: float = 2.0  # ...and loses at most this much (noise units) of the best
    min_cost_sigmas: float = 2.0  # ...and the run's end is worse than the best by this much
    min_cost_rel: float = 0.01  # ...and by this share of the best value


def simulate_early_stopping(y, patience: int, min_delta: float) -> tuple[int, int]:
    """Keras EarlyStopping on values where lower is better: (stop index, best index)."""
    best, best_i, wait = y[0], 0, 0
    for i in range(1, len(y)):
        if y[i] < best - min_delta:
            best, best_i, wait = y[i], i, 0
        else:
            wait += 1
            if wait >= patience:
                return i, best_i
    return len(y) - 1, best_i


class EarlyStoppingPoint(PerRunCheck):
    """Simulates early stopping on the validation curve."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="early-stopping",
        codes=("OD103",),
        needs=frozenset({"history"}),
        description="Where EarlyStopping(patience, min_delta) would have stopped the run.",
    )
    Params = EarlyStopParams

    def measure(self, rc: RunCurves, p: EarlyStopParams) -> dict:
        st = judgeable(rc.val, p.min_points)
        if isinstance(st, str):
            return {"judged": False, "reason": st}
        n = st.n
        patience = p.patience or max(3, round(0.1 * n))
        stop, best = simulate_early_stopping(st.y, patience, p.min_delta)
        later_best = float(st.y[stop + 1 :].min()) if stop + 1 < n else math.inf
        lost = float(st.y[best] - later_best)  # > 0: the rest of the run found better
        saved = n - 1 - stop
        tail = st.tail_mean(max(2, min(5, saved // 2))) if saved else float(st.y[-1])
        cost = float(tail - st.y[best])  # > 0: training on made validation worse
        return {
            "judged": True,
            "patience": patience,
            "min_delta": p.min_delta,
            "stop_index": stop,
            "best_index": best,
            "points_saved": saved,
            "saved_fraction": saved / n,
            "improvement_missed": lost,
            "improvement_missed_sigmas": lost / st.sigma if st.sigma > 0 else 0.0,
            "cost_of_continuing": cost,
            "cost_sigmas": cost / st.sigma if st.sigma > 0 else 0.0,
            "fires": bool(
                saved >= p.min_saved_fraction * n
                and lost <= p.max_loss_sigmas * st.sigma
                and cost >= p.min_cost_sigmas * st.sigma
                and cost >= p.min_cost_rel * max(abs(float(st.y[best])), 1e-12)
            ),
        }

    def report(self, rc: RunCurves, m: dict, p: EarlyStopParams) -> Finding:
        val = rc.val
        assert val is not None
        stop, best = m["stop_index"], m["best_index"]
        message = (
            f"EarlyStopping(monitor={val.split}_{val.metric}, patience={m['patience']}) would "
            f"have stopped at {val.describe(stop)}, {m['points_saved']} of {len(val)} evaluations "
            f"earlier, restoring {val.describe(best)} ({val.metric} {fmt(float(val.y[best]))})."
        )
        evidence = {
            "monitor": f"{val.split}_{val.metric}",
            "patience": m["patience"],
            "min_delta": m["min_delta"],
            "stop_epoch": val.at(stop)["epoch"],
            "stop_step": val.at(stop)["step"],
            "best_epoch": val.at(best)["epoch"],
            "best_step": val.at(best)["step"],
            "best_value": float(val.y[best]),
            "evaluations_saved": m["points_saved"],
            "saved_fraction": m["saved_fraction"],
            "improvement_missed_sigmas": m["improvement_missed_sigmas"],
            "cost_of_continuing": m["cost_of_continuing"],
        }
        where = {"run": rc.run, "metric": val.metric, "split": val.split, "at": val.at(stop)}
        conf = 0.9 if m["saved_fraction"] >= 0.4 else 0.75
        return finding(
            "OD103",
            confidence=conf,
            message=message,
            evidence=evidence,
            where=where,
            figure=f"curves/{rc.run}/{val.metric}",
        )
