"""Robust curve statistics shared by the curve checks: smoothing, noise level, trend test."""

from __future__ import annotations

import math

import numpy as np

_MAD_TO_SIGMA = 1.4826


def smooth_window(n: int, default: int = 5) -> int:
    """Odd rolling-median window, shrunk for short curves (a 6-point curve gets 3)."""
    w = min(default, max(1, n // 3))
    return w if w % 2 == 1 else max(1, w - 1)


def smooth(y: np.ndarray, window: int) -> np.ndarray:
    """Centered rolling median (edges use the points available)."""
    n = len(y)
    if window <= 1 or n < 3:
        return y.astype(float).copy()
    half = window // 2
    padded = np.pad(y.astype(float), half, mode="edge")
    view = np.lib.stride_tricks.sliding_window_view(padded, window)
    out = np.median(view, axis=1)
    # Edges: the median of the points that exist, not of repeated edge values.
    for i in range(min(half, n)):
        out[i] = np.median(y[: i + half + 1])
        out[n - 1 - i] = np.median(y[n - 1 - i - half :])
    return out


def noise_sigma(y: np.ndarray) -> float:
    """Noise level of a curve from its second differences (robust to the trend and to spikes).

    For white noise of scale s on a smooth trend, y[i-1] - 2 y[i] + y[i+1] has scale s·√6.
    """
    y = y[np.isfinite(y)]
    if len(y) < 4:
        return float("nan")
    d2 = y[:-2] - 2 * y[1:-1] + y[2:]
    mad = np.median(np.abs(d2 - np.median(d2)))
    sigma = _MAD_TO_SIGMA * mad / math.sqrt(6)
    floor = 1e-9 * max(1.0, float(np.max(np.abs(y))))
    return max(float(sigma), floor)


def mad_sigma(r: np.ndarray) -> float:
    """Robust scale (1.4826·MAD) of residuals."""
    r = r[np.isfinite(r)]
    if len(r) == 0:
        return float("nan")
    return float(_MAD_TO_SIGMA * np.median(np.abs(r - np.median(r))))


def mann_kendall(y: np.ndarray) -> tuple[float, float]:
    """Mann-Kendall trend test: (tau, two-sided p-value). tau > 0 means increasing."""
    y = y[np.isfinite(y)]
    if len(y) > 1000:  # O(n²) test: bin long curves into 500 means first
        y = np.array([b.mean() for b in np.array_split(y, 500)])
    n = len(y)
    if n < 4:
        return 0.0, 1.0
    diff = np.sign(y[None, :] - y[:, None])
    s = float(np.sum(np.triu(diff, k=1)))
    _, counts = np.unique(y, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - np.sum(counts * (counts - 1) * (2 * counts + 5))) / 18
    if var <= 0:
        return 0.0, 1.0
    z = (s - np.sign(s)) / math.sqrt(var) if s != 0 else 0.0
    p = math.erfc(abs(z) / math.sqrt(2))
    tau = s / (n * (n - 1) / 2)
    return tau, p


def clamp(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))
