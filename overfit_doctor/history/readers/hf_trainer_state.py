"""Hugging Face Trainer `trainer_state.json`: the `log_history` list of train and eval entries."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from overfit_doctor.errors import InputError
from overfit_doctor.history.build import RawRun
from overfit_doctor.history.source import read_text

FORMAT = "hf_trainer_state"
DESCRIPTION = "Hugging Face Trainer trainer_state.json (log_history; also inside checkpoint-N/)"

# Keys of the final summary entry `Trainer.train()` appends: `train_loss` there is the run mean.
_SUMMARY_MARKERS = ("train_runtime", "train_samples_per_second", "train_steps_per_second")
_BEST_KEYS = ("best_metric", "metric_for_best_model", "best_model_checkpoint", "best_global_step")


def sniff(path: Path, head: str) -> float:
    """`trainer_state.json`, or any JSON object whose head has a `log_history` key."""
    text = head.lstrip()
    if not text.startswith("{"):
        return 0.0
    if '"log_history"' in text:
        return 0.95
    if path.name == "trainer_state.json":
        return 0.6
    return 0.0


def read(path: Path) -> list[RawRun]:
    state = _load(path)
    history = state.get("log_history")
    if not isinstance(history, list):
        raise InputError(f"{path}: no log_history list in this trainer_state.json")
    notes = _best_notes(state)
    records: list[tuple[float, float, str, float]] = []
    seen: set[tuple[float, str]] = set()
    skipped: set[str] = set()
    repeated: list[float] = []  # steps of entries that only repeat values already logged
    for entry in history:
        if not isinstance(entry, dict):
            continue
        step, epoch = _x(entry.get("step")), _x(entry.get("epoch"))
        if _is_summary(entry):
            notes.append(_summary_note(entry))
            continue
        duplicate = False
        for key, value in entry.items():
            if key in ("step", "epoch"):
                continue
            number = _number(value)
            if number is None:
                if value is not None:
                    skipped.add(key)
                continue
            if (step, key) in seen:
                duplicate = True
                continue
            seen.add((step, key))
            records.append((step, epoch, key, number))
        if duplicate:
            repeated.append(step)
    if repeated:
        steps = ", ".join(f"{s:g}" for s in repeated)
        notes.append(
            f"dropped values logged a second time at step {steps} "
            "(trainer.evaluate() after training repeats the last eval)"
        )
    if skipped:
        notes.append(f"skipped non-scalar entries: {', '.join(sorted(skipped))}")
    if not history:
        notes.append("log_history is empty (logging_steps > max_steps?)")
    events = pd.DataFrame(records, columns=["step", "epoch", "key", "value"]).astype(
        {"step": float, "epoch": float, "key": object, "value": float}
    )
    return [RawRun(_run_name(path), str(path), FORMAT, events, notes)]


def _load(path: Path) -> dict:
    try:
        text = read_text(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        state = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise InputError(f"{path}: invalid JSON: nested too deeply") from exc
    if not isinstance(state, dict):
        raise InputError(f"{path}: expected a JSON object with a log_history list")
    return state


def _number(value: object) -> float | None:
    """A logged number as float; None for text, lists, booleans and null."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer too large for a float
        return None


def _x(value: object) -> float:
    number = _number(value)
    return math.nan if number is None else number


def _is_summary(entry: dict) -> bool:
    return any(k in entry for k in _SUMMARY_MARKERS) or (
        "train_loss" in entry and "total_flos" in entry
    )


def _summary_note(entry: dict) -> str:
    parts = [f"{k} = {entry[k]}" for k in ("train_loss", "train_runtime") if k in entry]
    detail = f" ({', '.join(parts)})" if parts else ""
    return f"final summary entry dropped{detail}: its train_loss is the mean over the run"


def _best_notes(state: dict) -> list[str]:
    found = [f"{k} = {state[k]}" for k in _BEST_KEYS if state.get(k) is not None]
    return [", ".join(found)] if found else []


def _run_name(path: Path) -> str:
    """The output dir (`<output_dir>/[checkpoint-N/]trainer_state.json`); a renamed file's stem."""
    if path.name != "trainer_state.json":
        return path.stem
    folder = path.resolve().parent
    if folder.name.startswith("checkpoint-") and folder.parent.name:
        folder = folder.parent
    return folder.name or path.stem
