"""Ultralytics YOLO `runs/<task>/<name>/results.csv` (old width-23 padded and new formats).

Detection/segmentation/pose runs log loss components only (`train/box_loss`, ...); a total
`train/loss` / `val/loss` is derived as the sum of the components logged for both splits.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from overfit_doctor.errors import InputError
from overfit_doctor.history.build import RawRun, events_from_table
from overfit_doctor.history.readers.csv_table import header_cells, load_table, require_events

FORMAT = "yolo_csv"
DESCRIPTION = "Ultralytics YOLO results.csv (detect, segment, pose, classify; old and new)"

_COMPONENT = re.compile(r"^(train|val)/(\w+_loss)$")
_MARKERS = ("train/box_loss", "train/seg_loss", "train/pose_loss", "lr/pg0", "metrics/mAP50(B)")


def sniff(path: Path, head: str) -> float:
    """0.95 when the header holds Ultralytics column names."""
    try:
        header, _, _ = header_cells(head)
        if "epoch" not in header:
            return 0.0
        names = set(header)
        if names.intersection(_MARKERS):
            return 0.95
        if {"train/loss", "val/loss"} <= names and any(h.startswith("metrics/") for h in names):
            return 0.95
        if path.name == "results.csv" and any(h.startswith(("train/", "val/")) for h in names):
            return 0.85
        return 0.0
    except Exception:
        return 0.0


def read(path: Path) -> list[RawRun]:
    table = load_table(path)
    if "epoch" not in table.columns:
        raise InputError(f"{path}: no `epoch` column (not an Ultralytics results.csv)")
    notes = []
    events = events_from_table(table, epoch="epoch")
    derived, common = _derived_total_loss(table)
    if common:
        events = pd.concat([events, derived], ignore_index=True)
        notes.append(
            "no total loss column: train/loss and val/loss derived as the sum of "
            + " + ".join(common)
        )
    epochs = pd.to_numeric(table["epoch"], errors="coerce")
    if len(epochs.dropna()):
        notes.append(f"epochs as logged ({int(epochs.min())}-based)")
    events = require_events(path, events)
    return [RawRun(_run_name(path), str(path), FORMAT, events, notes)]


def _run_name(path: Path) -> str:
    if path.name == "results.csv" and path.parent.name:
        return path.parent.name
    return path.stem


def _derived_total_loss(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Events of `train/loss`, `val/loss` = sum of the components present in both splits,
    at the epochs where every component was logged (a logged NaN makes the sum NaN)."""
    if "train/loss" in table.columns or "val/loss" in table.columns:
        return pd.DataFrame(), []
    val_parts = {m.group(2) for c in table.columns if (m := _COMPONENT.match(c)) and m[1] == "val"}
    common = [c for c in _ordered(table, "train") if c in val_parts]
    if not common:
        return pd.DataFrame(), []
    epochs = pd.to_numeric(table["epoch"], errors="coerce").to_numpy(dtype=float)
    parts = []
    for split in ("train", "val"):
        cols = [table[f"{split}/{c}"] for c in common]
        logged = np.logical_and.reduce([c.notna().to_numpy() for c in cols])
        values = np.sum(
            [pd.to_numeric(c, errors="coerce").to_numpy(dtype=float) for c in cols], axis=0
        )
        parts.append(
            pd.DataFrame(
                {
                    "step": np.nan,
                    "epoch": epochs[logged],
                    "key": f"{split}/loss",
                    "value": values[logged],
                }
            )
        )
    return pd.concat(parts, ignore_index=True), common


def _ordered(table: pd.DataFrame, split: str) -> list[str]:
    out = []
    for col in table.columns:
        m = _COMPONENT.match(col)
        if m and m.group(1) == split:
            out.append(m.group(2))
    return out
