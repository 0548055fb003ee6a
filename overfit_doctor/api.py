"""`diagnose(...)`: the one entry point the CLI and Python users call."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from overfit_doctor import __version__
from overfit_doctor.checks import all_checks
from overfit_doctor.checks.base import Context
from overfit_doctor.diagnosis import Diagnosis, RunSummary
from overfit_doctor.engine import run_checks
from overfit_doctor.errors import UsageError
from overfit_doctor.history.keys import KeyMapping, parse_map_option
from overfit_doctor.history.load import load_history
from overfit_doctor.history.model import History
from overfit_doctor.prioritize import actions, rank, suppress, verdict
from overfit_doctor.spec import Spec, load_spec

MAX_PLOT_POINTS = 1000


def diagnose(
    paths: Sequence[str | Path] | str | Path | None = None,
    *,
    spec: Spec | str | Path | None = None,
    history: History | None = None,
    log_format: str | None = None,
    key_map: Mapping[str, str] | Sequence[str] | None = None,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    params: Mapping[str, Mapping[str, Any]] | None = None,
    budget: str = "standard",
    seed: int = 0,
    device: str = "auto",
    progress: Callable[[str], None] | None = None,
) -> Diagnosis:
    """Diagnose training logs (`paths`, or a loaded `history`) and/or a model with its data
    (`spec`: a Spec, or `"path/to/spec.py[:name]"`); both together give one merged report.

    `key_map` maps unrecognized keys: `{"my_val": "val:loss"}` or `["my_val=val:loss"]`.
    `params` overrides check thresholds: `{"validation-rise": {"min_rise_sigmas": 4}}`.
    `budget` (quick|standard|thorough), `seed` and `device` (auto|cpu|cuda) steer the active
    experiments; `progress` is called with the name of each experiment as it starts.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if history is None and paths:
        history = load_history(
            [Path(p) for p in paths], log_format=log_format, key_map=_key_map(key_map)
        )
    if isinstance(spec, (str, Path)):
        spec = load_spec(spec)
    if history is None and spec is None:
        raise UsageError("nothing to diagnose: give log paths and/or a spec")
    ctx = Context(
        history=history,
        spec=spec,
        probe_settings={"budget": budget, "seed": seed, "device": device, "progress": progress},
        params={k: dict(v) for k, v in (params or {}).items()},
    )
    if spec is not None:
        ctx.probe_context  # noqa: B018 - unusable data or a model that crashes: InputError now
    select, ignore = [s.upper() for s in select], [i.upper() for i in ignore]
    check_figures: dict[str, Any] = {}
    with ctx.probe_context.threads() if spec is not None else nullcontext():
        found, records = run_checks(
            ctx,
            all_checks(),
            select=select,
            ignore=ignore,
            available=ctx.available,
            figures=check_figures,
        )
    findings = rank(suppress(found))
    runs = tuple(_run_summary(history, ctx, name, findings) for name in ctx.runs)
    settings: dict[str, Any] = {
        "select": list(select),
        "ignore": list(ignore),
        "log_format": log_format,
        "params": dict(params or {}),
    }
    inputs: dict[str, Any] = {"paths": [str(p) for p in (paths or [])], "runs": len(runs)}
    present: frozenset[str] = frozenset()
    if spec is not None:
        settings.update(budget=budget, seed=seed, device=device)
        inputs["spec"] = spec_summary(ctx)
        present = frozenset(inputs["spec"].get("regularization_present", ()))
    return Diagnosis(
        verdict=verdict(findings),
        findings=tuple(findings),
        actions=tuple(actions(findings, present=present)),
        checks=tuple(records),
        runs=runs,
        inputs=inputs,
        settings=settings,
        figures={**(_curve_figures(ctx, findings) if history is not None else {}), **check_figures},
        tool_version=__version__,
    )


class UnhealthyTraining(AssertionError):
    """Raised by `assert_healthy` with the text report as its message."""

    def __init__(self, diagnosis: Diagnosis, report: str) -> None:
        super().__init__(report)
        self.diagnosis = diagnosis


def assert_healthy(
    paths: Sequence[str | Path] | str | Path | None = None,
    *,
    spec: Spec | str | Path | None = None,
    fail_on: str = "warning",
    budget: str = "quick",
    **kwargs: Any,
) -> Diagnosis:
    """A CI gate for a project's own pytest suite: diagnose, and raise `UnhealthyTraining`
    (an AssertionError carrying the report) when a finding reaches `fail_on`."""
    from overfit_doctor.catalogue.model import Severity
    from overfit_doctor.report import OutputFormat, render_to_string

    d = diagnose(paths, spec=spec, budget=budget, **kwargs)
    worst = d.worst()
    if worst is not None and worst >= Severity.parse(fail_on):
        raise UnhealthyTraining(d, render_to_string(d, OutputFormat.TEXT, width=100))
    return d


def spec_summary(ctx: Context) -> dict[str, Any]:
    """What the active checks saw: data sizes, task, loss, parameters, regularization."""
    try:
        return ctx.probe("summary")
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


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
        notes.append(
            "unrecognized keys (use --map KEY=SPLIT:METRIC): " + ", ".join(info.unmapped_keys[:10])
        )
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
                    marks[f.code] = {
                        k: f.evidence.get(k)
                        for k in ("best_epoch", "best_step", "stop_epoch", "stop_step")
                        if f.evidence.get(k) is not None
                    }
            figures[key] = {
                "kind": "curves",
                "run": name,
                "metric": metric,
                "x_label": x_label,
                "series": series,
                "marks": marks,
            }
    return figures


def _downsample(n: int) -> np.ndarray:
    if n <= MAX_PLOT_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_PLOT_POINTS).astype(int))
