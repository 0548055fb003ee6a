"""PyTorch Lightning `CSVLogger` files: `lightning_logs/version_N/metrics.csv`.

Rows are sparse (one per `log_metrics` call, empty cells = not logged). Rows that
`trainer.validate()` / `trainer.test()` append after `fit()` are not part of the curve and are
dropped (see `_post_fit_rows`). LearningRateMonitor rows have an empty epoch; they get the epoch
of the other rows logged at the same step.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from overfit_doctor.errors import InputError
from overfit_doctor.history.build import RawRun, events_from_table
from overfit_doctor.history.keys import Kind, map_key
from overfit_doctor.history.readers.csv_table import (
    header_cells,
    load_table,
    numeric_share,
    require_events,
)

FORMAT = "lightning_csv"
DESCRIPTION = "PyTorch Lightning CSVLogger metrics.csv (lightning_logs/version_N/)"

_VERSION = re.compile(r"version_\d+")


def sniff(path: Path, head: str) -> float:
    """`metrics.csv` with a `step` column 0.95; an epoch+step table with sparse rows 0.9."""
    try:
        header, row, sep = header_cells(head)
        lower = [h.lower() for h in header]
        if "step" not in lower or len(header) < 2:
            return 0.0
        if row and numeric_share(row) < 0.5:
            return 0.0
        has_metric = any(map_key(h).kind is Kind.METRIC for h in header)
        named = path.name.lower() == "metrics.csv"
        if named and (has_metric or "epoch" in lower):
            return 0.95 if has_metric else 0.5
        if "epoch" in lower and has_metric:
            return 0.9 if _sparse(head, sep) else 0.7
        return 0.0
    except Exception:
        return 0.0


def _sparse(head: str, sep: str) -> bool:
    """Whether the first data rows have empty cells (Lightning's interleaved rows)."""
    lines = [ln.rstrip("\r") for ln in head.split("\n")[1:20] if ln.strip()]
    double = sep + sep
    return any(double in ln or ln.startswith(sep) or ln.endswith(sep) for ln in lines)


def read(path: Path) -> list[RawRun]:
    table = load_table(path)
    lower = {c.lower(): c for c in table.columns}
    step_col, epoch_col = lower.get("step"), lower.get("epoch")
    if step_col is None and epoch_col is None:
        raise InputError(f"{path}: no `step` or `epoch` column (not a Lightning metrics.csv)")
    notes: list[str] = []
    post = _post_fit_rows(table, step_col, epoch_col)
    if post.any():
        dropped = table[post]
        keys = [
            c for c in table.columns if c not in (step_col, epoch_col) and dropped[c].notna().any()
        ]
        why = _post_fit_reason(table, post, epoch_col)
        notes.append(
            f"dropped {int(post.sum())} row{'s' if post.sum() > 1 else ''} logged after training "
            f"ended ({why}; trainer.validate()/test() results, not part of the curve): "
            + ", ".join(keys)
        )
        table = table[~post]
    if epoch_col is not None and step_col is not None:
        table, filled = _fill_epochs(table, step_col, epoch_col)
        if filled:
            notes.append(
                f"{filled} row{'s' if filled > 1 else ''} without epoch (e.g. LearningRateMonitor) "
                "took the epoch of the rows logged at the same step"
            )
    events = require_events(path, events_from_table(table, step=step_col, epoch=epoch_col))
    return [RawRun(_run_name(path), str(path), FORMAT, events, notes)]


def _run_name(path: Path) -> str:
    parent = path.parent.name
    if _VERSION.fullmatch(parent) or (path.name.lower() == "metrics.csv" and parent):
        return parent
    return path.stem


def _train_columns(table: pd.DataFrame, skip: tuple[str | None, ...]) -> list[str]:
    out = []
    for col in table.columns:
        if col in skip:
            continue
        m = map_key(col)
        if m.kind is Kind.METRIC and m.split == "train" and not (m.metric or "").startswith("lr"):
            out.append(col)
    return out


def _post_fit_rows(table: pd.DataFrame, step_col: str | None, epoch_col: str | None) -> np.ndarray:
    """Rows after the last training row that were logged after `fit()` ended.

    Rule: among the rows that follow the last row holding a training value, a row is post-fit
    when its epoch is greater than the last training epoch (Lightning sets epoch = max_epochs
    after fit), or when it repeats a key already logged at the same step.
    """
    n = len(table)
    post = np.zeros(n, dtype=bool)
    train_cols = _train_columns(table, (step_col, epoch_col))
    if not train_cols:
        return post
    has_train = table[train_cols].notna().any(axis=1).to_numpy()
    if not has_train.any():
        return post
    last = int(np.flatnonzero(has_train)[-1])
    after = np.arange(n) > last
    if not after.any():
        return post
    if epoch_col is not None:
        epochs = pd.to_numeric(table[epoch_col], errors="coerce").to_numpy(dtype=float)
        last_epoch = np.nanmax(np.where(has_train, epochs, np.nan)) if has_train.any() else np.nan
        with np.errstate(invalid="ignore"):
            post |= after & (epochs > last_epoch)
    if step_col is not None:
        steps = pd.to_numeric(table[step_col], errors="coerce")
        for col in table.columns:
            if col in (step_col, epoch_col):
                continue
            logged = table[col].notna().to_numpy()
            dup = steps[logged].duplicated(keep="first").to_numpy()
            mask = np.zeros(n, dtype=bool)
            mask[np.flatnonzero(logged)[dup]] = True
            post |= after & mask
    return post


def _post_fit_reason(table: pd.DataFrame, post: np.ndarray, epoch_col: str | None) -> str:
    if epoch_col is None:
        return "a step that was already logged"
    epochs = pd.to_numeric(table[epoch_col], errors="coerce")
    kept = epochs[~post].max()
    return f"epoch {_fmt(epochs[post].max())} after the last training epoch {_fmt(kept)}"


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _fill_epochs(table: pd.DataFrame, step_col: str, epoch_col: str) -> tuple[pd.DataFrame, int]:
    epochs = pd.to_numeric(table[epoch_col], errors="coerce")
    steps = pd.to_numeric(table[step_col], errors="coerce")
    missing = epochs.isna() & steps.notna()
    if not missing.any():
        return table, 0
    by_step = epochs[~epochs.isna()].groupby(steps[~epochs.isna()]).first()
    fill = steps[missing].map(by_step)
    filled = int(fill.notna().sum())
    if not filled:
        return table, 0
    table = table.copy()
    table[epoch_col] = epochs.where(~missing, steps.map(by_step))
    return table, filled
