"""Ray Tune trial folders: `result.json` (JSON Lines, one dict per report, nested `config`) and
`progress.csv` (the same results flattened, `config/<param>` columns).

The x-axis is `training_iteration` (1-based count of reports), kept as the step; a reported
`epoch` key is kept as the epoch. A trial folder is one run named after the folder.
"""

from __future__ import annotations

from pathlib import Path

from overfit_doctor.errors import InputError
from overfit_doctor.history.build import RawRun, events_from_table
from overfit_doctor.history.readers.csv_table import header_cells, load_table, require_events
from overfit_doctor.history.readers.json_history import (
    events_from_records,
    head_keys,
    load_json,
)
from overfit_doctor.history.source import decode, read_head

FORMAT = "ray_tune"
DESCRIPTION = "Ray Tune trial folder (result.json JSON Lines and/or progress.csv)"
READS_DIRECTORIES = True

X_KEY = "training_iteration"
_FILES = ("result.json", "progress.csv")
_RAY_KEYS = {"trial_id", "time_total_s", "time_this_iter_s", "experiment_id", "done"}
_NOTE = "x = training_iteration (1-based count of Tune reports), kept as the step"


def sniff(path: Path, head: str) -> float:
    """0.95 for a trial folder or its result.json / progress.csv; 0.9 for other Ray tables."""
    try:
        if path.is_dir():
            return 0.95 if _trial_file(path) is not None else 0.0
        if X_KEY not in head:
            return 0.0
        is_json = head.lstrip().startswith("{")
        keys = set(head_keys(head)) if is_json else set(header_cells(head)[0])
        if X_KEY not in keys:
            return 0.0
        if path.name in _FILES:
            return 0.95
        return 0.9 if keys & _RAY_KEYS else 0.0
    except Exception:
        return 0.0


def _trial_file(folder: Path) -> Path | None:
    """The file to read in a trial folder: result.json first (every key), else progress.csv."""
    for name in _FILES:
        f = folder / name
        try:
            if f.is_file() and f.stat().st_size > 0 and X_KEY in read_head(f, 4096):
                return f
        except OSError:
            continue
    return None


def read(path: Path) -> list[RawRun]:
    if path.is_dir():
        found = _trial_file(path)
        if found is None:
            raise InputError(f"{path}: no result.json or progress.csv with training_iteration")
        name, path = path.name, found
    else:
        name = path.parent.name or path.stem
    with path.open("rb") as fh:
        is_json = decode(fh.read(64)).lstrip().startswith("{")
    run = _read_json(path) if is_json else _read_csv(path)
    run.name = name
    return [run]


def _read_json(path: Path) -> RawRun:
    data, is_lines, notes = load_json(path)
    records = data if is_lines else [data]
    records = [r for r in records if isinstance(r, dict)]
    if not records:
        raise InputError(f"{path}: no results in this Ray Tune result.json")
    if not any(X_KEY in r for r in records):
        raise InputError(f"{path}: no training_iteration key (not a Ray Tune result.json)")
    epoch = "epoch" if any("epoch" in r for r in records) else None
    events = events_from_records(records, step=X_KEY, epoch=epoch)  # nested config: skipped
    events = require_events(path, events)
    return RawRun(path.stem, str(path), FORMAT, events, [*notes, _NOTE, f"read {path.name}"])


def _read_csv(path: Path) -> RawRun:
    table = load_table(path)
    if X_KEY not in table.columns:
        raise InputError(f"{path}: no training_iteration column (not a Ray Tune progress.csv)")
    config = [c for c in table.columns if c.startswith("config/")]
    table = table.drop(columns=config)
    epoch = "epoch" if "epoch" in table.columns else None
    events = require_events(path, events_from_table(table, step=X_KEY, epoch=epoch))
    notes = [_NOTE, f"read {path.name}"]
    if config:
        notes.append(f"{len(config)} config/ columns (hyper-parameters) skipped")
    return RawRun(path.stem, str(path), FORMAT, events, notes)
