"""Curves of one run taken out of the History, and train values aligned on validation points."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from overfit_doctor.history.keys import direction, is_loss
from overfit_doctor.history.model import History


@dataclass(frozen=True, eq=False)
class Curve:
    """One logged curve: `y` against `x` (step when every point has one, else epoch, else order)."""

    run: str
    metric: str
    split: str
    direction: str | None  # "min", "max" or None when unknown
    x: np.ndarray
    y: np.ndarray
    epoch: np.ndarray  # as logged; NaN where unknown
    step: np.ndarray  # as logged; NaN where unknown
    x_label: str  # "step", "epoch" or "index"
    source_key: str

    def __len__(self) -> int:
        return len(self.y)

    @cached_property
    def oriented(self) -> np.ndarray:
        """Values with lower = better (higher-is-better metrics are negated)."""
        return -self.y if self.direction == "max" else self.y

    def at(self, i: int) -> dict[str, float | int | None]:
        """`{"epoch": ..., "step": ...}` of point i, as numbered in the log."""
        return {"epoch": _num(self.epoch[i]), "step": _int(self.step[i])}

    def describe(self, i: int) -> str:
        e, s = _num(self.epoch[i]), _int(self.step[i])
        if e is not None:
            return f"epoch {_fmt_epoch(e)}"
        if s is not None:
            return f"step {s}"
        return f"point {i + 1}"

    @property
    def name(self) -> str:
        return f"{self.split} {self.metric}"


@dataclass(eq=False)
class RunCurves:
    """What the curve checks need about one run."""

    run: str
    curves: dict[tuple[str, str], Curve]  # (split, metric) -> curve
    val: Curve | None = None  # primary validation curve (test used when there is no val)
    train: Curve | None = None  # training curve of the same metric as `val`
    train_trend: Curve | None = None  # training curve to judge "training keeps improving"
    notes: list[str] = field(default_factory=list)

    @cached_property
    def train_aligned(self) -> np.ndarray | None:
        """Training values of `val`'s metric averaged between consecutive validation points."""
        if self.val is None or self.train is None:
            return None
        return align(self.train, self.val)

    @cached_property
    def trend_aligned(self) -> np.ndarray | None:
        if self.val is None or self.train_trend is None:
            return None
        return align(self.train_trend, self.val)

    @property
    def primary_train(self) -> Curve | None:
        return self.train_trend

    def metric_curves(self, split: str) -> list[Curve]:
        return [c for (s, _), c in self.curves.items() if s == split]


def run_curves(history: History, run: str) -> RunCurves:
    """Extract every curve of a run and pick the primary validation and training curves."""
    rows = history.run(run)
    curves: dict[tuple[str, str], Curve] = {}
    for (split, metric), group in rows.groupby(["split", "metric"], sort=False):
        curve = _curve(run, str(split), str(metric), group)
        if curve is not None and len(curve):
            curves[(curve.split, curve.metric)] = curve
    rc = RunCurves(run=run, curves=curves)
    val_split = "val" if any(s == "val" for s, _ in curves) else "test"
    if val_split == "test" and any(s == "test" for s, _ in curves):
        rc.notes.append("no validation split: the test curve is used as validation")
    val_metrics = [m for s, m in curves if s == val_split and direction(m) is not None]
    train_metrics = [m for s, m in curves if s == "train" and direction(m) is not None]
    val_metric = _primary(val_metrics, prefer=set(train_metrics))
    if val_metric is not None:
        rc.val = curves[(val_split, val_metric)]
        rc.train = curves.get(("train", val_metric))
    train_metric = _primary(train_metrics, prefer={val_metric} if val_metric else set())
    if rc.train is not None:
        rc.train_trend = rc.train
    elif train_metric is not None:
        rc.train_trend = curves[("train", train_metric)]
    return rc


def _primary(metrics: list[str], prefer: set[str]) -> str | None:
    """The metric a verdict rests on: `loss`, else a loss, else another scored metric;
    among equals, one that also exists in `prefer` (the other split)."""
    if not metrics:
        return None

    def rank(m: str) -> tuple[int, int, int]:
        kind = 0 if m == "loss" else 1 if is_loss(m) else 2 if "acc" in m else 3
        return (kind, 0 if m in prefer else 1, metrics.index(m))

    return min(metrics, key=rank)


def _curve(run: str, split: str, metric: str, group: pd.DataFrame) -> Curve | None:
    step = group["step"].to_numpy(dtype=float, na_value=np.nan)
    epoch = group["epoch"].to_numpy(dtype=float, na_value=np.nan)
    y = group["value"].to_numpy(dtype=float)
    if np.isfinite(step).all():
        x, label = step, "step"
    elif np.isfinite(epoch).all():
        x, label = epoch, "epoch"
    else:
        x, label = np.arange(len(y), dtype=float), "index"
    order = np.argsort(x, kind="stable")
    x, y, step, epoch = x[order], y[order], step[order], epoch[order]
    if len(x) > 1:  # one value per x: the last one logged
        keep = np.append(x[1:] != x[:-1], True)
        x, y, step, epoch = x[keep], y[keep], step[keep], epoch[keep]
    return Curve(
        run=run,
        metric=metric,
        split=split,
        direction=direction(metric),
        x=x,
        y=y,
        epoch=epoch,
        step=step,
        x_label=label,
        source_key=str(group["source_key"].iloc[0]),
    )


def align(train: Curve, val: Curve) -> np.ndarray | None:
    """Train values at each validation point: the mean of the training values logged since the
    previous validation point (per-step losses become one value per evaluation)."""
    axis = _common_axis(train, val)
    if axis is None:
        if len(train) == len(val):
            return train.y.astype(float).copy()
        return None
    tx, vx = axis
    out = np.full(len(vx), np.nan)
    order = np.argsort(tx, kind="stable")
    tx, ty = tx[order], train.y[order]
    hi = np.searchsorted(tx, vx, side="right")
    lo = np.concatenate([[0], hi[:-1]])
    csum = np.concatenate([[0.0], np.cumsum(ty)])
    for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
        if b > a:
            out[i] = (csum[b] - csum[a]) / (b - a)
        elif b > 0:
            out[i] = ty[b - 1]
    return out


def _common_axis(train: Curve, val: Curve) -> tuple[np.ndarray, np.ndarray] | None:
    for attr in ("step", "epoch"):
        t, v = getattr(train, attr), getattr(val, attr)
        if np.isfinite(t).all() and np.isfinite(v).all():
            return t, v
    return None


def _num(v: float) -> float | int | None:
    if v is None or not math.isfinite(v):
        return None
    return int(v) if float(v).is_integer() else round(float(v), 4)


def _int(v: float) -> int | None:
    return int(v) if v is not None and math.isfinite(v) else None


def _fmt_epoch(e: float | int) -> str:
    return str(e) if isinstance(e, int) else f"{e:.2f}"
