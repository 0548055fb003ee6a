"""Turn what a reader found (`RawRun`: logged events under their original keys) into a History."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from overfit_doctor.history.keys import KeyMapping, Kind, map_key
from overfit_doctor.history.model import History, RunInfo, empty_frame

_MISSING_TEXT = {"", "#na#", "none", "null", "n/a", "na", "-"}
_NAN_TEXT = {"nan", "-nan", "+nan"}


@dataclass
class RawRun:
    """One run as a reader found it.

    `events` has columns `step`, `epoch` (float, NaN when unknown), `key` (the original name) and
    `value` (float). Only values that were logged appear; a logged NaN/inf stays as NaN/inf.
    `key_map` lets a reader state what a key means when the layout says so (a TensorBoard
    `validation/` folder, a detectron2 eval line); it wins over the generic rules.
    """

    name: str
    source: str
    format: str
    events: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    key_map: dict[str, KeyMapping] = field(default_factory=dict)


def events_from_table(
    table: pd.DataFrame, *, step: str | None = None, epoch: str | None = None
) -> pd.DataFrame:
    """Long events from a wide table (one column per key), dropping cells that were not logged.

    Text columns are parsed so that empty / `#na#` cells count as missing while `nan`, `inf`
    literals stay as logged non-finite values.
    """
    x_step = _numeric(table[step]) if step else pd.Series(np.nan, index=table.index)
    x_epoch = _numeric(table[epoch]) if epoch else pd.Series(np.nan, index=table.index)
    parts = []
    for col in table.columns:
        if col in (step, epoch):
            continue
        values, logged = _parse_column(table[col])
        if not logged.any():
            continue
        parts.append(
            pd.DataFrame(
                {
                    "step": x_step[logged].to_numpy(dtype=float),
                    "epoch": x_epoch[logged].to_numpy(dtype=float),
                    "key": str(col),
                    "value": values[logged].to_numpy(dtype=float),
                }
            )
        )
    if not parts:
        return pd.DataFrame({"step": [], "epoch": [], "key": [], "value": []}).astype(
            {"step": float, "epoch": float, "key": object, "value": float}
        )
    return pd.concat(parts, ignore_index=True)


def _numeric(col: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(col):
        return col.astype(float)
    return pd.to_numeric(col.astype(str).str.strip(), errors="coerce")


def _parse_column(col: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(values, logged mask) of one column."""
    if pd.api.types.is_bool_dtype(col):
        return col.astype(float), pd.Series(False, index=col.index)
    if pd.api.types.is_numeric_dtype(col):
        values = col.astype(float)
        return values, values.notna()
    text = col.astype(str).str.strip()
    values = pd.to_numeric(text, errors="coerce")
    lowered = text.str.lower()
    is_nan_literal = lowered.isin(_NAN_TEXT)
    logged = values.notna() | is_nan_literal
    return values, logged & ~lowered.isin(_MISSING_TEXT)


def build_history(raw_runs: Iterable[RawRun], overrides: Mapping[str, KeyMapping] | None = None):
    """Map keys to (split, metric) and assemble the History of all runs."""
    overrides = dict(overrides or {})
    frames, infos = [], []
    for raw in raw_runs:
        frame, info = _build_run(raw, overrides)
        frames.append(frame)
        infos.append(info)
    frame = pd.concat(frames, ignore_index=True) if frames else empty_frame()
    return History(frame=frame, runs=tuple(infos))


def _build_run(raw: RawRun, overrides: Mapping[str, KeyMapping]) -> tuple[pd.DataFrame, RunInfo]:
    events = raw.events
    keys = list(dict.fromkeys(events["key"].tolist())) if len(events) else []
    mapping: dict[str, tuple[str, str]] = {}
    unmapped, ignored, notes = [], [], list(raw.notes)
    taken: dict[tuple[str, str], str] = {}
    for key in keys:
        m = overrides.get(key) or raw.key_map.get(key) or map_key(key)
        if m.kind is Kind.IGNORED:
            ignored.append(key)
            continue
        if m.kind is Kind.UNMAPPED:
            unmapped.append(key)
            continue
        target = (m.split, m.metric)
        if target in taken:  # two keys for one curve: keep the first, rename the other
            other = (m.split, f"{m.metric}__{_slug(key)}")
            notes.append(
                f"{key!r} and {taken[target]!r} both mean {m.split} {m.metric}; "
                f"{key!r} kept as {other[1]!r}"
            )
            target = other
        taken[target] = key
        mapping[key] = target
    _promote_step_only(mapping, taken)
    used = events[events["key"].isin(list(mapping))]
    splits = {k: v[0] for k, v in mapping.items()}
    metrics = {k: v[1] for k, v in mapping.items()}
    n = len(used)
    frame = pd.DataFrame(
        {
            "run": np.full(n, raw.name, dtype=object),
            "step": _int_or_na(used["step"]),
            "epoch": pd.array(used["epoch"].to_numpy(dtype=float), dtype="Float64"),
            "split": used["key"].map(splits).to_numpy(dtype=object),
            "metric": used["key"].map(metrics).to_numpy(dtype=object),
            "value": used["value"].to_numpy(dtype=float),
            "source_key": used["key"].to_numpy(dtype=object),
        }
    )
    # pandas turns NaN epochs into <NA>; keep them missing, which they are.
    info = RunInfo(
        name=raw.name,
        source=raw.source,
        format=raw.format,
        unmapped_keys=tuple(unmapped),
        ignored_keys=tuple(ignored),
        notes=tuple(notes),
    )
    return frame, info


def _promote_step_only(mapping: dict[str, tuple[str, str]], taken: dict) -> None:
    """`train_loss_step` without `train_loss_epoch` is simply the training loss."""
    for key, (split, metric) in list(mapping.items()):
        if metric.endswith("_step"):
            base = (split, metric.removesuffix("_step"))
            if base not in taken:
                mapping[key] = base
                taken[base] = key


def _int_or_na(col: pd.Series) -> pd.arrays.IntegerArray:
    values = col.to_numpy(dtype=float)
    finite = np.isfinite(values)
    ints = np.where(finite, values, 0).astype(np.int64)
    return pd.arrays.IntegerArray(ints, ~finite)


def _slug(key: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in key).strip("_").lower()
