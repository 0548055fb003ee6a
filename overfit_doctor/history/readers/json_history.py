"""JSON histories: a Keras `history.history` dump (dict of lists), the PyTorch imitations of it
(`train_loss`/`val_acc` lists plus scalar extras), a JSON list of dicts, and generic JSON Lines.

Also holds the JSON helpers the W&B and Ray Tune readers share (`load_json`,
`events_from_records`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from overfit_doctor.errors import InputError
from overfit_doctor.history.build import RawRun
from overfit_doctor.history.keys import Kind, map_key
from overfit_doctor.history.source import HEAD_BYTES, decode, looks_binary

FORMAT = "json_history"
ALIASES = ("keras_history_json",)
DESCRIPTION = (
    "JSON histories: Keras history.history dumps (dict of lists), lists of dicts, JSON Lines"
)

NAN_MARK = "\x00NaN"  # what a bare `NaN` literal becomes, so that it stays a logged value
EPOCH_KEYS = ("epoch", "epochs")
STEP_KEYS = ("step", "global_step", "iteration", "iter", "_step")
_KEY = re.compile(r'"((?:[^"\\]|\\.){1,200})"\s*:\s*(\[|\{|"|[-+0-9.NIntf])')
_FOREIGN_KEYS = (
    # W&B summary / history
    ({"_step"}, {"_runtime", "_timestamp", "_wandb"}),
    # Ray Tune result.json
    ({"training_iteration"}, {"trial_id", "time_total_s", "time_this_iter_s", "done"}),
    # detectron2 metrics.json
    ({"iteration"}, {"data_time", "eta_seconds", "loss_rpn_cls", "loss_box_reg", "total_loss"}),
)
_FOREIGN_NAMES = {"wandb-summary.json", "wandb-history.jsonl", "trainer_state.json"}


# ---------------------------------------------------------------- shared JSON helpers


def _constant(name: str) -> Any:
    return NAN_MARK if name == "NaN" else float(name.replace("Infinity", "inf"))


_DECODER = json.JSONDecoder(parse_constant=_constant)


def load_json(path: Path) -> tuple[Any, bool, list[str]]:
    """(parsed data, is JSON Lines, notes). Bare NaN becomes `NAN_MARK`, Infinity a float.

    JSON Lines: blank lines are skipped; an incomplete last line (a file still being written)
    is dropped with a note; any other bad line raises InputError.
    """
    data = path.read_bytes()
    if not data.strip():
        raise InputError(f"{path}: the file is empty")
    if looks_binary(data[:HEAD_BYTES]):
        raise InputError(f"{path}: binary data, not JSON")
    text = decode(data).strip()
    try:
        return _DECODER.decode(text), False, []
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise InputError(
                f"{path}: invalid or truncated JSON ({exc.msg} at line {exc.lineno})"
            ) from exc
    except RecursionError as exc:
        raise InputError(f"{path}: JSON nested too deeply") from exc
    return _load_lines(path, text)


def _load_lines(path: Path, text: str) -> tuple[list[Any], bool, list[str]]:
    lines = [ln for ln in text.split("\n") if ln.strip()]
    try:  # one C-level decode of all lines as an array; fall back to line by line
        records = _DECODER.decode("[" + ",".join(lines) + "]")
        if len(records) == len(lines):
            return records, True, []
    except json.JSONDecodeError:
        pass
    records, notes = [], []
    for i, line in enumerate(lines, start=1):
        try:
            records.append(_DECODER.decode(line))
        except json.JSONDecodeError as exc:
            if i == len(lines) and i > 1:
                notes.append(
                    f"last line {i} is incomplete JSON (file still being written?): ignored"
                )
                break
            raise InputError(f"{path}: line {i} is not valid JSON ({exc.msg})") from exc
    return records, True, notes


def _cell(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return np.nan
    return float(v)


def json_column(col: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(values, logged mask) of a column of JSON values: numbers and NaN literals are logged;
    strings, booleans, dicts, lists and absent keys are not."""
    if pd.api.types.is_bool_dtype(col):
        return col.astype(float), pd.Series(False, index=col.index)
    if pd.api.types.is_numeric_dtype(col):
        values = col.astype(float)
        return values, values.notna()
    values = col.map(_cell).astype(float)
    nan_literal = col.map(lambda v: isinstance(v, str) and v == NAN_MARK).astype(bool)
    return values, values.notna() | nan_literal


def events_from_records(
    records: list[dict] | pd.DataFrame,
    *,
    step: str | None = None,
    epoch: str | None = None,
    index_as: str | None = None,
) -> pd.DataFrame:
    """Long events from JSON records (dicts): one event per numeric value that was logged.

    `index_as` ("step" or "epoch") uses the record position (0-based) as that x value.
    """
    table = records if isinstance(records, pd.DataFrame) else pd.DataFrame.from_records(records)
    n = len(table)
    xs = {"step": np.full(n, np.nan), "epoch": np.full(n, np.nan)}
    for axis, key in (("step", step), ("epoch", epoch)):
        if key is not None and key in table.columns:
            values, logged = json_column(table[key])
            xs[axis] = np.where(logged, values, np.nan)
    if index_as:
        xs[index_as] = np.arange(n, dtype=float)
    parts = []
    for col in table.columns:
        if col in (step, epoch):
            continue
        values, logged = json_column(table[col])
        mask = logged.to_numpy(dtype=bool)
        if not mask.any():
            continue
        parts.append(
            pd.DataFrame(
                {
                    "step": xs["step"][mask],
                    "epoch": xs["epoch"][mask],
                    "key": str(col),
                    "value": values.to_numpy(dtype=float)[mask],
                }
            )
        )
    if not parts:
        return pd.DataFrame({"step": [], "epoch": [], "key": [], "value": []}).astype(
            {"step": float, "epoch": float, "key": object, "value": float}
        )
    return pd.concat(parts, ignore_index=True)


def first_key(keys: Any, names: tuple[str, ...]) -> str | None:
    present = set(keys)
    return next((k for k in names if k in present), None)


def head_keys(head: str) -> dict[str, str]:
    """JSON keys seen in a sniffing head -> the first character of their value."""
    out: dict[str, str] = {}
    for m in _KEY.finditer(head):
        out.setdefault(m.group(1), m.group(2))
    return out


def is_foreign(path: Path, head: str, keys: dict[str, str]) -> bool:
    """Whether the head is a format another JSON reader owns (W&B, Ray, detectron2, HF)."""
    if path.name.lower() in _FOREIGN_NAMES or '"log_history"' in head:
        return True
    return any(need <= keys.keys() and any_of & keys.keys() for need, any_of in _FOREIGN_KEYS)


# ---------------------------------------------------------------- this reader


def sniff(path: Path, head: str) -> float:
    """Dict of lists 0.85, list of dicts 0.75, JSON Lines 0.7; foreign JSON formats 0.05."""
    try:
        text = head.lstrip()
        if not text or text[0] not in "{[":
            return 0.0
        keys = head_keys(head)
        if is_foreign(path, head, keys):
            return 0.05
        metrics = [k for k, v in keys.items() if v != "{" and map_key(k).kind is Kind.METRIC]
        if not metrics:
            return 0.0
        if text[0] == "[":
            return 0.75 if text[1:].lstrip().startswith("{") else 0.0
        if any(keys[k] == "[" for k in metrics):
            return 0.85
        lines = [ln for ln in text.split("\n")[:3] if ln.strip()]
        if len(lines) > 1 and lines[1].lstrip().startswith("{"):
            return 0.7
        return 0.2  # one dict of scalars: a summary, not a history
    except Exception:
        return 0.0


def read(path: Path) -> list[RawRun]:
    data, is_lines, notes = load_json(path)
    if is_lines:
        records = [r for r in data if isinstance(r, dict)]
        events, more = _from_records(path, records, "line")
    elif isinstance(data, list):
        records = [r for r in data if isinstance(r, dict)]
        events, more = _from_records(path, records, "list item")
    elif isinstance(data, dict):
        events, more = _from_dict_of_lists(path, data)
    else:
        raise InputError(f"{path}: JSON holds a {type(data).__name__}, not a history")
    if len(events) == 0:
        raise InputError(f"{path}: no numeric values logged")
    return [RawRun(path.stem, str(path), FORMAT, events, notes + more)]


def _from_records(path: Path, records: list[dict], what: str) -> tuple[pd.DataFrame, list[str]]:
    if not records:
        raise InputError(f"{path}: no JSON objects to read")
    table = pd.DataFrame.from_records(records)
    step = first_key(table.columns, STEP_KEYS)
    epoch = first_key(table.columns, EPOCH_KEYS)
    notes = []
    index_as = None
    if step is None and epoch is None:
        index_as = "epoch"
        notes.append(f"no epoch/step key: {what} index used as epoch (0-based)")
    return events_from_records(table, step=step, epoch=epoch, index_as=index_as), notes


def _curve(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(v is None or v == NAN_MARK or isinstance(v, int | float) for v in value)
        and any(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )


def _from_dict_of_lists(path: Path, data: dict) -> tuple[pd.DataFrame, list[str]]:
    curves = {k: v for k, v in data.items() if _curve(v)}
    if not curves and isinstance(data.get("history"), dict):
        return _from_dict_of_lists(path, data["history"])
    if not curves:
        raise InputError(f"{path}: no lists of numbers (not a Keras-style history)")
    longest = max(len(v) for v in curves.values())
    kept = {k: v for k, v in curves.items() if len(v) == longest or map_key(k).kind is Kind.METRIC}
    skipped = [k for k in data if k not in kept]
    epoch = first_key(kept, EPOCH_KEYS)
    table = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in kept.items()})
    notes = []
    if epoch is None:
        notes.append("no epoch key: list index used as epoch (0-based)")
    if skipped:
        notes.append("skipped entries that are not curves: " + ", ".join(skipped))
    index_as = None if epoch else "epoch"
    return events_from_records(table, epoch=epoch, index_as=index_as), notes
