"""MLflow file store: `mlruns/<experiment>/<run>/metrics/<name>` files of `timestamp value step`."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from overfit_doctor.errors import InputError
from overfit_doctor.history.build import RawRun
from overfit_doctor.history.source import decode

FORMAT = "mlflow"
DESCRIPTION = "MLflow file store (mlruns/, an experiment or run folder, or its metrics/ folder)"
READS_DIRECTORIES = True

_LINE = re.compile(
    r"^\s*-?\d+\s+([-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf|infinity))"
    r"(?:\s+(-?\d+))?\s*$",
    re.IGNORECASE,
)
_MAX_CHILDREN = 50  # folders looked at per level while sniffing
_SKIP = {".trash", "models", ".git"}


def sniff(path: Path, head: str) -> float:
    """A run folder (has `metrics/`), its `metrics/` folder, an experiment folder or `mlruns/`."""
    try:
        if path.is_file():
            return 0.9 if _in_metrics_dir(path) and _LINE.match(head.split("\n", 1)[0]) else 0.0
        if not path.is_dir():
            return 0.0
        if _is_metrics_dir(path) or _is_run_dir(path):
            return 0.95
        for child in _children(path):
            if _is_run_dir(child):
                return 0.95
            if path.name == "mlruns" and any(_is_run_dir(c) for c in _children(child, limit=5)):
                return 0.95
    except OSError:
        return 0.0
    return 0.0


def read(path: Path) -> list[RawRun]:
    if path.is_file():  # one metric file of a run
        metrics_dir = _in_metrics_dir(path)
        if metrics_dir is None:
            raise InputError(f"{path}: an MLflow metric file lies in a run's metrics/ folder")
        return [_read_run(metrics_dir.parent, metrics_dir, only=path)]
    if not path.is_dir():
        raise InputError(f"{path}: an MLflow run is a folder holding metrics/")
    if _is_run_dir(path):
        return [_read_run(path, path / "metrics")]
    if path.name == "metrics" and _is_metrics_dir(path):
        return [_read_run(path.parent, path)]
    runs = sorted(c for c in _children(path, limit=None) if _is_run_dir(c))
    if not runs:  # mlruns/: one level deeper
        for exp in sorted(_children(path, limit=None)):
            runs.extend(sorted(c for c in _children(exp, limit=None) if _is_run_dir(c)))
    if not runs:
        raise InputError(f"{path}: no MLflow run folder (with metrics/) found")
    return [_read_run(run, run / "metrics") for run in runs]


def _read_run(run_dir: Path, metrics_dir: Path, only: Path | None = None) -> RawRun:
    records: list[tuple[float, str, float]] = []
    files = (
        [only]
        if only
        else sorted(p for p in metrics_dir.rglob("*") if p.is_file() and not p.name.startswith("."))
    )
    for file in files:
        key = file.relative_to(metrics_dir).as_posix()
        records.extend((step, key, value) for step, value in _read_metric(file))
    events = pd.DataFrame(records, columns=["step", "key", "value"]).astype(
        {"step": float, "key": object, "value": float}
    )
    events.insert(1, "epoch", math.nan)
    notes: list[str] = []
    epoch_rows = events["key"] == "epoch"
    if epoch_rows.any():
        by_step = events[epoch_rows].drop_duplicates("step", keep="last").set_index("step")["value"]
        events = events[~epoch_rows].reset_index(drop=True)
        events["epoch"] = events["step"].map(by_step).astype(float)
        notes.append("epoch taken from the logged `epoch` metric at the same step")
    if events.empty:
        notes.append("no metric values logged in this run")
    return RawRun(_run_name(run_dir), str(run_dir), FORMAT, events, notes)


def _read_metric(file: Path) -> list[tuple[float, float]]:
    try:
        text = decode(file.read_bytes())
    except OSError as exc:
        raise InputError(f"{file}: cannot read: {exc.strerror or exc}") from exc
    points = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match is None:
            raise InputError(
                f"{file}:{number}: not an MLflow metric line (timestamp value step): {line[:60]!r}"
            )
        step = float(match.group(2)) if match.group(2) is not None else math.nan
        points.append((step, float(match.group(1))))
    return points


def _run_name(run_dir: Path) -> str:
    tag = run_dir / "tags" / "mlflow.runName"
    try:
        name = decode(tag.read_bytes()).strip() if tag.is_file() else ""
    except OSError:
        name = ""
    return name or run_dir.resolve().name


def _children(path: Path, limit: int | None = _MAX_CHILDREN) -> list[Path]:
    out = []
    for child in path.iterdir():
        if child.is_dir() and child.name not in _SKIP and not child.is_symlink():
            out.append(child)
            if limit is not None and len(out) >= limit:
                break
    return out


def _in_metrics_dir(file: Path) -> Path | None:
    """The `metrics/` folder a metric file lies in (names with `/` are sub-folders)."""
    for parent in list(file.parents)[:4]:
        if parent.name == "metrics":
            return parent
    return None


def _is_run_dir(path: Path) -> bool:
    return _is_metrics_dir(path / "metrics")


def _is_metrics_dir(path: Path) -> bool:
    """A `metrics` folder whose first file holds `<int> <float> <int>` lines."""
    if path.name != "metrics" or not path.is_dir():
        return False
    for file in _first_files(path):
        try:
            with file.open("rb") as fh:
                line = decode(fh.read(256)).split("\n", 1)[0]
        except OSError:
            return False
        if line.strip():
            return bool(_LINE.match(line))
    return (path.parent / "meta.yaml").is_file()  # a run that logged no metric yet


def _first_files(path: Path, depth: int = 0):
    if depth > 3:
        return
    for child in sorted(path.iterdir()):
        if child.name.startswith("."):
            continue
        if child.is_file():
            yield child
        elif child.is_dir():
            yield from _first_files(child, depth + 1)
