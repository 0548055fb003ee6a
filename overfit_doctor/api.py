"""`diagnose(...)`: the one entry point the CLI and Python users call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from overfit_doctor import __version__
from overfit_doctor.checks import all_checks
from overfit_doctor.checks.base import Context
from overfit_doctor.diagnosis import Diagnosis, RunSummary
from overfit_doctor.engine import run_checks
from overfit_doctor.history.keys import KeyMapping, parse_map_option
from overfit_doctor.history.load import load_history
from overfit_doctor.history.model import History
from overfit_doctor.prioritize import actions, rank, suppress, verdict

MAX_PLOT_POINTS = 1000


def diagnose(
    paths: Sequence[str | Path] | str | Path | None = None,
    *,
    history: History | None = None,
    log_format: str | None = None,
    key_map: Mapping[str, str] | Sequence[str] | None = None,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> Diagnosis:
    """Diagnose training logs (`paths`, or an already loaded `history`).

    `key_map` maps unrecognized keys: `{"my_val": "val:loss"}` or `["my_val=val:loss"]`.
    `params` overrides check thresholds: `{"validation-rise": {"min_rise_sigmas": 4}}`.
    """
    if history is None:
        if paths is None:
            raise ValueError("diagnose() needs log paths or a history")
        if isinstance(paths, (str, Path)):
            paths = [paths]
        history = load_history([Path(p) for p in paths], log_format=log_format,
                               key_map=_key_map(key_map))
    ctx = Context(history=history, params={k: dict(v) for k, v in (params or {}).items()})
    select, ignore = [s.upper() for s in select], [i.upper() for i in ignore]
    found, records = run_checks(ctx, all_checks(), select=select, ignore=ignore)
    findings = rank(suppress(found))
    runs = tuple(_run_summary(history, ctx, name, findings) for name in history.run_names)
    return Diagnosis(
        verdict=verdict(findings),
        findings=tuple(findings),
        actions=tuple(actions(findings)),
        checks=tuple(records),
        runs=runs,
        inputs={"paths": [str(p) for p in (paths or [])], "runs": len(runs)},
        settings={"select": list(select), "ignore": list(ignore), "log_format": log_format,
                  "params": dict(params or {})},
        figures=_curve_figures(ctx, findings),
        tool_version=__version__,
    )


def _key_map(key_map: Mapping[str, str] | Sequence[str] | None) -> dict[str, KeyMapping]:
    if not key_map:
        return {}
    items = [f"{k}={v}" for k, v in key_map.items()] if isinstance(key_map, Mapping) else key_map
    return dict(parse_map_option(text) for text in items)


def _run_summary(history: History, ctx: Context, name: str, findings) -> RunSummary:
    info = history.info(name)
    rc = ctx.curves(name)
    points = {c.name: len(c) for c in rc.curves.values()}
    notes = list(info.notes) + rc.notes
    if info.unmapped_keys:
        notes.append("unrecognized keys (use --map KEY=SPLIT:METRIC): "
                     + ", ".join(info.unmapped_keys[:10]))
    own = [f for f in findings if f.where.get("run") == name]
    return RunSummary(name, info.source, info.format, verdict(own), points, tuple(notes))


def _curve_figures(ctx: Context, findings) -> dict[str, Any]:
    """Curve data for plots: per run and metric, train/val series (downsampled) and marks."""
    figures: dict[str, Any] = {}
    for name in ctx.runs:
        rc = ctx.curves(name)
        for metric in dict.fromkeys(m for _, m in rc.curves):
            series = {}
            x_label = None
            for split in ("train", "val", "test"):
                c = rc.curves.get((split, metric))
                if c is None or c.direction is None:
                    continue
                idx = _downsample(len(c))
                series[split] = {"x": c.x[idx].tolist(), "y": c.y[idx].tolist()}
                x_label = x_label or c.x_label
            if not series:
                continue
            key = f"curves/{name}/{metric}"
            marks = {}
            for f in findings:
                if f.figure == key:
                    marks[f.code] = {k: f.evidence.get(k) for k in
                                     ("best_epoch", "best_step", "stop_epoch", "stop_step")
                                     if f.evidence.get(k) is not None}
            figures[key] = {"run": name, "metric": metric, "x_label": x_label,
                            "series": series, "marks": marks}
    return figures


def _downsample(n: int) -> np.ndarray:
    if n <= MAX_PLOT_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_PLOT_POINTS).astype(int))
