"""Weights & Biases files: `files/wandb-summary.json` (last value of each key only), legacy
`wandb-history.jsonl` (one dict per `wandb.log` call) and the CSV the W&B UI exports
(`Step`, `<run> - <metric>`, `<run> - <metric>__MIN/__MAX`; several runs per file).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from overfit_doctor.errors import InputError
from overfit_doctor.history.build import RawRun, events_from_table
from overfit_doctor.history.readers.csv_table import header_cells, load_table, require_events
from overfit_doctor.history.readers.json_history import (
    NAN_MARK,
    events_from_records,
    head_keys,
    json_column,
    load_json,
)
from overfit_doctor.history.source import decode

FORMAT = "wandb"
DESCRIPTION = "Weights & Biases wandb-summary.json, legacy wandb-history.jsonl, UI-exported CSV"

SUMMARY_NOTE = (
    "W&B summary holds only the last value of each metric; export the history for a diagnosis"
)
_W_KEYS = {"_runtime", "_timestamp", "_wandb"}
_SEP = " - "


def sniff(path: Path, head: str) -> float:
    """History 0.95, exported CSV 0.92, summary 0.75 (kept below the 0.8 "strong" level so a
    richer log in the same run folder, such as output.log, is not dropped in its favour)."""
    try:
        name = path.name.lower()
        text = head.lstrip()
        if name == "wandb-history.jsonl":
            return 0.95
        if name == "wandb-summary.json":
            return 0.75
        if text.startswith("{"):
            keys = head_keys(head).keys()
            if "_step" not in keys and "_wandb" not in keys:
                return 0.0
            if not (keys & _W_KEYS):
                return 0.0
            lines = [ln for ln in text.split("\n")[:3] if ln.strip()]
            return 0.9 if len(lines) > 1 and lines[1].lstrip().startswith("{") else 0.75
        header, _, _ = header_cells(head)
        if len(header) > 1 and _is_export(header):
            return 0.92
        return 0.0
    except Exception:
        return 0.0


def _is_export(header: list[str]) -> bool:
    return header[0].lower() in ("step", "_step", "epoch") and any(_SEP in h for h in header[1:])


def read(path: Path) -> list[RawRun]:
    with path.open("rb") as fh:
        first = decode(fh.read(64)).lstrip()
    if first.startswith("{"):
        data, is_lines, notes = load_json(path)
        if is_lines:
            return [_history(path, data, notes)]
        if isinstance(data, dict):
            return [_summary(path, data)]
        raise InputError(f"{path}: not a W&B summary or history")
    return _export(path)


def _run_name(path: Path) -> str:
    if path.parent.name == "files" and path.parent.parent.name:
        return path.parent.parent.name  # wandb/run-<date>-<id>/files/
    return path.stem


def _summary(path: Path, data: dict) -> RawRun:
    record = {
        k: v for k, v in data.items() if not isinstance(v, dict | list | str) or v == NAN_MARK
    }
    events = events_from_records(
        [record],
        step="_step" if "_step" in record else None,
        epoch="epoch" if "epoch" in record else None,
    )
    if len(events) == 0:
        raise InputError(f"{path}: the W&B summary holds no numeric values")
    return RawRun(_run_name(path), str(path), FORMAT, events, [SUMMARY_NOTE])


def _history(path: Path, records: list, notes: list[str]) -> RawRun:
    records = [r for r in records if isinstance(r, dict)]
    if not records:
        raise InputError(f"{path}: no JSON objects in the W&B history")
    table = pd.DataFrame.from_records(records)
    step = "_step" if "_step" in table.columns else None
    epoch = "epoch" if "epoch" in table.columns else None
    index_as = None
    if step is None:
        index_as = "step"
        notes = [*notes, "no _step key: line index used as step (0-based)"]
    events = events_from_records(table, step=step, epoch=epoch, index_as=index_as)
    if epoch is not None:
        _, logged = json_column(table[epoch])
        if not logged.all():
            notes = [*notes, "epoch missing on some lines: those values have no epoch"]
    events = require_events(path, events)
    return RawRun(_run_name(path), str(path), FORMAT, events, notes)


def _export(path: Path) -> list[RawRun]:
    table = load_table(path)
    x_col = table.columns[0]
    if not _is_export(list(table.columns)):
        raise InputError(f"{path}: not a W&B export (expected `Step, <run> - <metric>` columns)")
    axis = "epoch" if x_col.lower() == "epoch" else "step"
    columns: dict[str, dict[str, str]] = {}
    for col in table.columns[1:]:
        if col.endswith(("__MIN", "__MAX")) or _SEP not in col:
            continue
        run, _, metric = col.rpartition(_SEP)
        columns.setdefault(run.strip(), {})[col] = metric.strip()
    runs = []
    for run, cols in columns.items():
        part = table[[x_col, *cols]].rename(columns=cols)
        epoch = "epoch" if axis == "step" and "epoch" in cols.values() else None
        x = {"step": x_col, "epoch": epoch} if axis == "step" else {"epoch": x_col}
        events = events_from_table(part, **x)
        if len(events) == 0:
            continue
        notes = [f"W&B UI export: x = {x_col!r}; __MIN/__MAX columns skipped"]
        runs.append(RawRun(run, str(path), FORMAT, events, notes))
    if not runs:
        raise InputError(f"{path}: no numeric values in the W&B export")
    return runs
