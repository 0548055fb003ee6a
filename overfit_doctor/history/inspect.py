"""`overfit-doctor inspect`: how a log was read (runs, curves, splits, unrecognized keys)."""

from __future__ import annotations

from typing import Any

import numpy as np

from overfit_doctor.history.keys import direction
from overfit_doctor.history.model import History


def describe(history: History) -> dict[str, Any]:
    """Per run: source, format, curves (split, metric, key, points, x range), keys not used."""
    runs = []
    for info in history.runs:
        rows = history.run(info.name)
        curves = []
        for (split, metric, key), g in rows.groupby(["split", "metric", "source_key"], sort=False):
            values = g["value"].to_numpy(dtype=float)
            epochs = g["epoch"].to_numpy(dtype=float, na_value=np.nan)
            steps = g["step"].to_numpy(dtype=float, na_value=np.nan)
            curves.append(
                {
                    "split": split,
                    "metric": metric,
                    "source_key": key,
                    "points": len(g),
                    "direction": direction(str(metric)),
                    "epochs": _span(epochs),
                    "steps": _span(steps),
                    "non_finite": int((~np.isfinite(values)).sum()),
                }
            )
        runs.append(
            {
                "name": info.name,
                "source": info.source,
                "format": info.format,
                "curves": curves,
                "unmapped_keys": list(info.unmapped_keys),
                "ignored_keys": list(info.ignored_keys),
                "notes": list(info.notes),
            }
        )
    return {"runs": runs}


def _span(x: np.ndarray) -> list[float] | None:
    x = x[np.isfinite(x)]
    if not x.size:
        return None
    return [_num(x.min()), _num(x.max())]


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else round(float(v), 4)


def describe_text(history: History) -> str:
    lines = []
    for run in describe(history)["runs"]:
        lines.append(f"run {run['name']}  ({run['format']}, {run['source']})")
        lines.append(
            f"  {'split':6} {'metric':24} {'points':>7}  {'epochs':>14}  {'steps':>16}  key"
        )
        for c in run["curves"]:
            ep = "-" if c["epochs"] is None else f"{c['epochs'][0]}..{c['epochs'][1]}"
            st = "-" if c["steps"] is None else f"{c['steps'][0]}..{c['steps'][1]}"
            flag = f"  ({c['non_finite']} non-finite)" if c["non_finite"] else ""
            lines.append(
                f"  {c['split']:6} {c['metric']:24} {c['points']:>7}  {ep:>14}  {st:>16}  "
                f"{c['source_key']}{flag}"
            )
        if run["unmapped_keys"]:
            lines.append(
                "  unrecognized keys (map with --map KEY=SPLIT:METRIC): "
                + ", ".join(run["unmapped_keys"])
            )
        if run["ignored_keys"]:
            lines.append("  ignored bookkeeping keys: " + ", ".join(run["ignored_keys"]))
        for note in run["notes"]:
            lines.append(f"  note: {note}")
        lines.append("")
    return "\n".join(lines)
