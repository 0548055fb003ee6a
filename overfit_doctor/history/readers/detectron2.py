"""detectron2 `metrics.json`: JSON Lines from `JSONWriter`, one dict per logging period."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from overfit_doctor.errors import InputError
from overfit_doctor.history.build import RawRun
from overfit_doctor.history.keys import KeyMapping, Kind, clean_name
from overfit_doctor.history.source import read_text

FORMAT = "detectron2"
DESCRIPTION = "detectron2 metrics.json (JSON Lines with iteration, total_loss, bbox/AP ...)"

# Evaluator result groups (`bbox/AP`, `segm/AP50`, `sem_seg/mIoU`, `<dataset>/bbox/AP`):
# validation metrics computed by an EvalHook.
_EVAL_TASKS = {"bbox", "segm", "keypoints", "sem_seg", "panoptic_seg", "panoptic", "box_proposals"}
# Sampling statistics of the detection heads: bookkeeping, not curves.
_STAT_PREFIXES = ("roi_head/num_", "rpn/num_")


def sniff(path: Path, head: str) -> float:
    """JSON Lines whose first object has `iteration` and a detectron2 loss or eval key."""
    text = head.lstrip()
    if not text.startswith("{"):
        return 0.0
    line = text.split("\n", 1)[0]
    try:
        first = json.loads(line)
    except (ValueError, RecursionError):
        return 0.0
    if not isinstance(first, dict) or "iteration" not in first:
        return 0.0
    keys = set(first)
    if "total_loss" in keys or any(k.startswith("loss_") for k in keys) or _eval_keys(keys):
        return 0.95
    return 0.5 if path.name == "metrics.json" else 0.35


def read(path: Path) -> list[RawRun]:
    try:
        lines = read_text(path).splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    records: list[tuple[float, str, float]] = []
    notes: list[str] = []
    skipped: set[str] = set()
    numbered = [(i, line) for i, line in enumerate(lines, 1) if line.strip()]
    for n, (number, line) in enumerate(numbered):
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError) as exc:
            if n == len(numbered) - 1 and n > 0:  # a run killed while writing its last line
                notes.append(f"line {number} is truncated and was skipped")
                break
            raise InputError(f"{path}:{number}: not a JSON Lines record: {_reason(exc)}") from exc
        if not isinstance(entry, dict):
            raise InputError(f"{path}:{number}: expected one JSON object per line")
        step = _number(entry.get("iteration"))
        step = math.nan if step is None else step
        for key, value in entry.items():
            if key == "iteration":
                continue
            number_value = _number(value)
            if number_value is None:
                skipped.add(key)
                continue
            records.append((step, key, number_value))
    if not numbered:
        raise InputError(f"{path}: the file is empty")
    if skipped:
        notes.append(f"skipped non-numeric entries: {', '.join(sorted(skipped))}")
    events = pd.DataFrame(records, columns=["step", "key", "value"]).astype(
        {"step": float, "key": object, "value": float}
    )
    events.insert(1, "epoch", math.nan)
    key_map = _key_map(set(events["key"]))
    if any(m.split == "val" for m in key_map.values()):
        notes.append("evaluator results (bbox/AP, segm/AP, ...) read as validation metrics")
    name = path.resolve().parent.name or path.stem
    return [RawRun(name, str(path), FORMAT, events, notes, key_map)]


def _key_map(keys: set[str]) -> dict[str, KeyMapping]:
    out = {}
    for key in keys:
        if key.startswith(_STAT_PREFIXES):
            out[key] = KeyMapping(Kind.IGNORED)
        elif _eval_keys({key}):
            parts = key.split("/")
            task = next(i for i, p in enumerate(parts) if p in _EVAL_TASKS)
            out[key] = KeyMapping(Kind.METRIC, "val", clean_name("_".join(parts[task:])))
    return out


def _eval_keys(keys: set[str]) -> bool:
    return any(len(p := k.split("/")) > 1 and _EVAL_TASKS.intersection(p[:-1]) for k in keys)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer too large for a float
        return None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    return type(exc).__name__
