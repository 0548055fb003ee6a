"""Per-curve statistics computed once and shared by the checks (smoothing, noise, best point)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from overfit_doctor.checks.series import Curve
from overfit_doctor.checks.stats import noise_sigma, smooth, smooth_window


@dataclass(frozen=True)
class CurveStats:
    """Statistics of a curve oriented so that lower is better."""

    y: np.ndarray  # oriented raw values
    smoothed: np.ndarray
    sigma: float  # noise level of the raw values
    best: int  # index of the smoothed minimum
    best_raw: int  # index of the raw minimum near the smoothed one (the checkpoint to keep)
    window: int
    finite: bool  # False when the curve has NaN/inf (divergence is judged elsewhere)

    @property
    def n(self) -> int:
        return len(self.y)

    def tail_mean(self, k: int) -> float:
        return float(np.mean(self.y[-k:]))

    @property
    def range(self) -> float:
        """Spread of the smoothed curve."""
        return float(np.max(self.smoothed) - np.min(self.smoothed))


@lru_cache(maxsize=256)
def curve_stats(curve: Curve) -> CurveStats:
    y = curve.oriented.astype(float)
    finite = bool(np.isfinite(y).all())
    if not finite:
        y = y[np.isfinite(y)] if np.isfinite(y).any() else np.zeros(1)
    w = smooth_window(len(y))
    s = smooth(y, w)
    best = int(np.argmin(s))
    lo, hi = max(0, best - w // 2), min(len(y), best + w // 2 + 1)
    best_raw = lo + int(np.argmin(y[lo:hi]))
    return CurveStats(y, s, noise_sigma(y), best, best_raw, w, finite)


def judgeable(curve: Curve | None, min_points: int) -> CurveStats | str:
    """The curve's statistics, or why no verdict can rest on it."""
    if curve is None or len(curve) < min_points:
        return f"too few {curve.split if curve is not None else 'validation'} points"
    st = curve_stats(curve)
    return st if st.finite else f"non-finite {curve.split} values"


def pct(x: float) -> str:
    return f"{x:.0%}" if abs(x) >= 0.1 else f"{x:.1%}"


def fmt(v: float) -> str:
    """Short number for messages."""
    if v != v:  # NaN
        return "nan"
    a = abs(v)
    if a != 0 and (a < 1e-3 or a >= 1e5):
        return f"{v:.3g}"
    return f"{v:.4g}"
