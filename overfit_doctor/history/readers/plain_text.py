"""Printed training logs: Keras `model.fit` output, nanoGPT, and `Epoch ... Loss: ...` lines.

Recognized lines (anything else is ignored):
- Keras: an `Epoch i/N` line, then the epoch's summary `... - loss: 0.68 - val_loss: 0.67`
  (progress-bar updates separated by `\\r`/`\\b` are dropped; the last summary of an epoch wins);
- nanoGPT: `step N: train loss X, val loss Y` (estimates) and `iter N: loss X, time ...`;
- generic: a line with an `Epoch [e/E]`, `Step [s/S]` or `Iteration i` marker and `name: value`
  or `name = value` pairs (python-logging prefixes allowed; `%` is stripped from values);
- scikit-learn's `Iteration i, loss = X` with its `Validation score: X` line;
- Hugging Face Trainer's printed dicts `{'loss': 0.33, 'learning_rate': 1e-05, 'epoch': 0.98}`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from overfit_doctor.errors import InputError
from overfit_doctor.history.build import RawRun
from overfit_doctor.history.keys import KeyMapping, Kind
from overfit_doctor.history.source import read_text

FORMAT = "plain_text"
ALIASES = ("keras_console", "nanogpt")
DESCRIPTION = "printed logs: Keras console, nanoGPT, `Epoch [1/50], Loss: ...` lines"

_NUM = r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?)\b"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_PROGRESS = re.compile(r"[\r\b]+")
_NANO_EVAL = re.compile(rf"^\s*step (\d+): train loss ({_NUM}), val loss ({_NUM})", re.IGNORECASE)
_NANO_ITER = re.compile(rf"^\s*iter (\d+): loss ({_NUM})(?![\w.])", re.IGNORECASE)
_KERAS_HEADER = re.compile(r"^\s*Epoch (\d{1,7})/(\d{1,7})\s*$")
_KERAS_PAIR = re.compile(rf"(?:^|\s)-\s+[A-Za-z_][\w/]*:\s*(?:{_NUM})")


def _marker(words: str) -> re.Pattern[str]:
    return re.compile(
        rf"\b(?:{words})\b\s*[:=#]?\s*[\[(]?\s*(\d{{1,9}})(?:\s*(?:/|of)\s*(\d{{1,9}}))?\s*[\])]?",
        re.IGNORECASE,
    )


_EPOCH = _marker("epoch")
_STEP = _marker("step|batch")
_ITER = _marker("iteration|iter")
_PAIR = re.compile(
    r"(?<![\w.])['\"]?(?P<name>[A-Za-z][\w@/.-]*(?: [A-Za-z][\w@/.-]*)?)['\"]?\s*[:=]\s*"
    rf"(?P<value>{_NUM})(?P<pct>%)?(?![\w.])",
    re.IGNORECASE,
)
_SKLEARN_VAL = re.compile(rf"^\s*Validation score: ({_NUM})\s*$")
_DICT_LINE = re.compile(r"^\s*\{.*['\"](?:loss|eval_loss|eval_\w+)['\"]\s*:.*\}\s*$")
_NOT_TEXT_SUFFIXES = {".csv", ".tsv", ".json", ".jsonl", ".yaml", ".yml", ".xml", ".html"}


@dataclass
class _Parsed:
    steps: list[float] = field(default_factory=list)
    epochs: list[float] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    percent: set[str] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)

    def add(self, step: float, epoch: float, key: str, value: float) -> None:
        self.steps.append(step)
        self.epochs.append(epoch)
        self.keys.append(key)
        self.values.append(value)


def sniff(path: Path, head: str) -> float:
    """Confidence from the recognizable lines in the head; 0 for CSV/JSON and unknown text."""
    start = head.lstrip()[:2]
    if path.suffix.lower() in _NOT_TEXT_SUFFIXES or (start[:1] in "{[" and start != "{'"):
        return 0.0  # CSV / JSON; a python dict printed by the HF Trainer starts with {'
    lines = head.split("\n")
    if len(head) >= 16384:
        lines = lines[:-1]  # the last line may be cut
    parsed = _parse(lines)
    if not parsed.keys:
        return 0.0
    if parsed.kinds & {"nanogpt", "keras"}:
        return 0.9
    if parsed.kinds & {"sklearn"}:
        return 0.8
    lines_with_values = len(set(zip(parsed.steps, parsed.epochs, strict=True)))
    return 0.7 if lines_with_values >= 2 else 0.45


def read(path: Path) -> list[RawRun]:
    try:
        text = read_text(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    parsed = _parse(text.split("\n"))
    if not parsed.keys:
        raise InputError(f"{path}: no training metrics recognized in this text log")
    events = pd.DataFrame(
        {"step": parsed.steps, "epoch": parsed.epochs, "key": parsed.keys, "value": parsed.values}
    ).astype({"step": float, "epoch": float, "key": object, "value": float})
    notes = [_KIND_NOTES[k] for k in sorted(parsed.kinds)]
    key_map: dict[str, KeyMapping] = {}
    if "iter loss" in parsed.keys:
        # The per-iteration loss is the dense training curve (where a divergence shows first);
        # the `step N` train estimate is kept beside it as `estimated_loss`.
        key_map["iter loss"] = KeyMapping(Kind.METRIC, "train", "loss")
        key_map["train loss"] = KeyMapping(Kind.METRIC, "train", "estimated_loss")
    if parsed.percent:
        notes.append(f"values printed with % kept in percent: {', '.join(sorted(parsed.percent))}")
    return [RawRun(path.stem or path.name, str(path), FORMAT, events, notes, key_map)]


_KIND_NOTES = {
    "dict": "Hugging Face printed dicts: x = their 'epoch' value",
    "generic": "lines with an Epoch/Step/Iteration marker and name: value pairs",
    "keras": "Keras console: last summary line of each `Epoch i/N` block "
    "(epoch as printed, 1-based)",
    "nanogpt": "nanoGPT: train loss = `iter N` single-batch losses; `step N` lines give the "
    "estimated train loss (train estimated_loss) and val loss (x = iteration)",
    "sklearn": "scikit-learn MLP verbose output (x = iteration)",
}


def _parse(lines: list[str]) -> _Parsed:
    out = _Parsed()
    keras_epoch: float | None = None
    pending: str | None = None
    first_epoch: int | None = None
    last_iteration: float | None = None
    for raw in lines:
        line = _clean(raw)
        if not line.strip():
            continue
        if m := _NANO_EVAL.match(line):
            step = float(m.group(1))
            out.add(step, math.nan, "train loss", float(m.group(2)))
            out.add(step, math.nan, "val loss", float(m.group(3)))
            out.kinds.add("nanogpt")
            continue
        if m := _NANO_ITER.match(line):
            out.add(float(m.group(1)), math.nan, "iter loss", float(m.group(2)))
            out.kinds.add("nanogpt")
            continue
        if m := _KERAS_HEADER.match(line):
            _flush_keras(out, keras_epoch, pending)
            keras_epoch, pending = float(m.group(1)), None
            continue
        if (m := _SKLEARN_VAL.match(line)) and last_iteration is not None:
            out.add(last_iteration, math.nan, "validation score", float(m.group(1)))
            continue
        last_iteration = None
        if _DICT_LINE.match(line):
            _dict_line(out, line)
            continue
        epoch_m, step_m, iter_m = _EPOCH.search(line), _STEP.search(line), _ITER.search(line)
        if epoch_m or step_m or iter_m:
            rest = line
            for mark in (epoch_m, step_m, iter_m):
                if mark:
                    rest = rest.replace(mark.group(0), " | ", 1)
            pairs = _pairs(rest, out)
            if not pairs:
                continue
            epoch = float(epoch_m.group(1)) if epoch_m else math.nan
            if epoch_m and first_epoch is None:
                first_epoch = int(epoch_m.group(1))
            step = _step(epoch_m, step_m or iter_m, first_epoch)
            for key, value in pairs:
                out.add(step, epoch, key, value)
            if iter_m and not epoch_m and line.lstrip().lower().startswith("iteration"):
                out.kinds.add("sklearn")
                last_iteration = step
            else:
                out.kinds.add("generic")
            continue
        if keras_epoch is not None and _KERAS_PAIR.search(line) and "ETA" not in line:
            pending = line
    _flush_keras(out, keras_epoch, pending)
    return out


def _clean(raw: str) -> str:
    """The text a terminal would show last on this line (progress-bar redraws dropped)."""
    line = _ANSI.sub("", raw)
    if "\r" in line or "\b" in line:
        segments = [s for s in _PROGRESS.split(line) if s.strip()]
        line = segments[-1] if segments else ""
    return line


def _pairs(text: str, out: _Parsed, *, markers: bool = False) -> list[tuple[str, float]]:
    """`name: value` pairs; x markers (epoch, step...) are left out unless `markers`."""
    pairs = []
    for m in _PAIR.finditer(text):
        name = m.group("name").strip()
        if not markers and name.lower() in ("epoch", "step", "iteration", "iter", "batch"):
            continue
        if m.group("pct"):
            out.percent.add(name)
        pairs.append((name, float(m.group("value"))))
    return pairs


def _step(epoch_m, step_m, first_epoch: int | None) -> float:
    """The step of a line: as printed, or global when `Step [s/S]` counts within an epoch."""
    if step_m is None:
        return math.nan
    step = float(step_m.group(1))
    per_epoch = step_m.group(2)
    if epoch_m and per_epoch and first_epoch is not None:
        step += (int(epoch_m.group(1)) - first_epoch) * int(per_epoch)
    return step


def _flush_keras(out: _Parsed, epoch: float | None, line: str | None) -> None:
    if epoch is None or line is None:
        return
    pairs = _pairs(line, out)
    for key, value in pairs:
        out.add(math.nan, epoch, key, value)
    if pairs:
        out.kinds.add("keras")


def _dict_line(out: _Parsed, line: str) -> None:
    """`{'loss': 0.33, 'epoch': 0.98}` printed by the HF Trainer; its final summary is skipped."""
    pairs = dict(_pairs(line, out, markers=True))
    if "train_runtime" in pairs or not pairs:
        return
    epoch = pairs.pop("epoch", math.nan)
    step = pairs.pop("step", math.nan)
    for key, value in pairs.items():
        out.add(step, epoch, key, value)
    out.kinds.add("dict")
