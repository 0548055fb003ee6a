"""CSV/TSV tables with one row per logging event: Keras `CSVLogger`, pandas-dumped Keras
histories, fastai `CSVLogger` and generic tables with an epoch/step column.

Also holds the table helpers the other CSV readers share (`load_table`, `find_column`).
"""

from __future__ import annotations

import io
import itertools
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from overfit_doctor.errors import InputError
from overfit_doctor.history.build import RawRun, events_from_table
from overfit_doctor.history.keys import Kind, map_key
from overfit_doctor.history.source import HEAD_BYTES, decode, looks_binary

FORMAT = "csv_table"
ALIASES = ("keras_csv", "fastai_csv", "csv", "tsv")
DESCRIPTION = (
    "CSV/TSV tables: Keras CSVLogger (training.log), pandas-dumped Keras history, "
    "fastai history.csv, any table with an epoch/step column"
)

EPOCH_NAMES = ("epoch", "epochs", "ep")
STEP_NAMES = ("step", "steps", "global_step", "iteration", "iterations", "iter", "it", "_step")
# Cells that mean "not logged" (empty, fastai's #na#, ...); `nan`/`inf` stay logged values.
NA_VALUES = ["", "#na#", "NA", "N/A", "n/a", "na", "None", "none", "null", "NULL", "-"]
_DELIMITERS = (",", "\t", ";")
_ROW_EPOCH = "\x00row_epoch"
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^[-+]?(nan|inf|infinity)$", re.I)


# ---------------------------------------------------------------- shared table helpers


def sniff_delimiter(header: str) -> str:
    """The delimiter of a table from its header line: the most frequent of `,`, tab, `;`."""
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def head_lines(head: str, n: int = 3) -> list[str]:
    """The first `n` non-blank lines of a sniffing head."""
    lines = []
    for line in head.split("\n"):
        if line.strip():
            lines.append(line.rstrip("\r"))
            if len(lines) == n:
                break
    return lines


def header_cells(head: str) -> tuple[list[str], list[str], str]:
    """(header names, first data row cells, delimiter) from a sniffing head."""
    lines = head_lines(head, 2)
    if not lines:
        return [], [], ","
    sep = sniff_delimiter(lines[0])
    header = [c.strip().strip('"').strip() for c in lines[0].split(sep)]
    row = [c.strip().strip('"').strip() for c in lines[1].split(sep)] if len(lines) > 1 else []
    return header, row, sep


def numeric_share(cells: list[str]) -> float:
    """Share of cells that are numbers or missing markers (a data row, not prose)."""
    if not cells:
        return 0.0
    ok = sum(1 for c in cells if c in NA_VALUES or _NUMBER.match(c))
    return ok / len(cells)


def load_table(path: Path) -> pd.DataFrame:
    """Read a delimited text table: empty cells are NaN (not logged), `nan`/`inf` stay text or
    non-finite floats; header names are stripped. Raises InputError for unusable files."""
    data = path.read_bytes()
    if not data.strip():
        raise InputError(f"{path}: the file is empty")
    if looks_binary(data[:HEAD_BYTES]):
        raise InputError(f"{path}: binary data, not a text table")
    text = decode(data)
    lines = head_lines(text[:HEAD_BYTES], 1)
    sep = sniff_delimiter(lines[0]) if lines else ","
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # rows wider than header
            table = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                index_col=False,
                keep_default_na=False,
                na_values=NA_VALUES,
                skipinitialspace=True,
                skip_blank_lines=True,
                low_memory=False,
            )
    except pd.errors.ParserWarning as exc:
        raise InputError(
            f"{path}: not a readable table: rows have more fields than the header"
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{path}: the file is empty") from exc
    except (pd.errors.ParserError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else "parse error"
        raise InputError(f"{path}: not a readable table: {reason}") from exc
    table.columns = [str(c).strip() for c in table.columns]
    if len(table) == 0:
        raise InputError(f"{path}: header only, no data rows")
    return table


def find_column(table: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    """The first column whose lower-cased name is one of `names` (in the order of `names`)."""
    lowered = {c.lower(): c for c in reversed(list(table.columns))}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def require_events(path: Path, events: pd.DataFrame) -> pd.DataFrame:
    if len(events) == 0:
        raise InputError(f"{path}: no numeric values logged in any column")
    return events


# ---------------------------------------------------------------- this reader


def sniff(path: Path, head: str) -> float:
    """Keras/fastai layout (`epoch` first) 0.8; other tables with metric columns 0.55-0.65."""
    try:
        if head.lstrip()[:1] in ("{", "["):  # JSON
            return 0.0
        header, row, _ = header_cells(head)
        if len(header) < 2:
            return 0.0
        metrics = sum(1 for h in header if map_key(h).kind is Kind.METRIC)
        if metrics == 0:
            return 0.0
        if not row:  # header only: claim it so that `read` can say so
            return 0.4
        if len(row) != len(header) or numeric_share(row) < 0.5:
            return 0.1
        lower = [h.lower() for h in header]
        has_step = any(h in STEP_NAMES for h in lower)
        if lower[0] in EPOCH_NAMES and not has_step:
            return 0.8
        if has_step or any(h in EPOCH_NAMES for h in lower):
            return 0.65
        return 0.55
    except Exception:
        return 0.0


def read(path: Path) -> list[RawRun]:
    table = load_table(path)
    notes: list[str] = []
    epoch_col = find_column(table, EPOCH_NAMES)
    step_col = find_column(table, STEP_NAMES)
    first = table.columns[0]
    if (
        epoch_col is None
        and step_col is None
        and first.startswith("Unnamed: 0")
        and _is_row_index(table[first])
    ):
        epoch_col = first
        notes.append("unnamed first column (a DataFrame index) used as epoch (0-based)")
    dialect = _dialect(table.columns)
    if table.columns[-1] == "time" and _looks_clock(table["time"]):
        table = table.drop(columns=["time"])  # fastai `mm:ss` epoch duration
    if epoch_col is None and step_col is None:
        table[_ROW_EPOCH] = np.arange(len(table), dtype=float)
        epoch_col = _ROW_EPOCH
        notes.append("no epoch column: row index used as epoch (0-based)")
    x_col = epoch_col if epoch_col is not None else step_col
    starts, drop = _run_starts(table[x_col], epoch_only=step_col is None)
    segments = _segments(len(table), starts, drop)
    stem = path.stem
    runs = []
    split_note = None
    if len(segments) > 1:
        at = ", ".join(str(s + 1) for s in starts)
        counter = "epoch" if x_col == epoch_col else "step"
        split_note = (
            f"{counter} counter restarted at data row{'s' if len(starts) > 1 else ''} {at}: "
            f"split into {len(segments)} runs"
        )
    for i, rows in enumerate(segments, start=1):
        part = table.iloc[rows]
        events = events_from_table(part, step=step_col, epoch=epoch_col)
        if len(events) == 0:
            continue
        name = stem if len(segments) == 1 else f"{stem}/run{i}"
        run_notes = list(notes)
        if split_note:
            run_notes.append(f"{split_note} (this is run {i})")
        runs.append(RawRun(name, str(path), dialect, events, run_notes))
    if not runs:
        raise InputError(f"{path}: no numeric values logged in any column")
    return runs


def _dialect(columns) -> str:
    """Which writer a table looks like, for the report (and framework-specific advice)."""
    cols = {str(c).strip() for c in columns}
    if {"train_loss", "valid_loss"} <= cols:
        return "fastai_csv"
    if "loss" in cols or "val_loss" in cols:
        return "keras_csv"
    return "csv"


def _is_row_index(col: pd.Series) -> bool:
    values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    return bool(np.array_equal(values, np.arange(len(values), dtype=float)))


def _looks_clock(col: pd.Series) -> bool:
    text = col.dropna().astype(str).head(5)
    return len(text) > 0 and bool(text.str.fullmatch(r"\d+:\d\d(:\d\d)?").all())


def _run_starts(x: pd.Series, *, epoch_only: bool) -> tuple[list[int], np.ndarray]:
    """Row positions where a new run starts (the counter went back), and the mask of rows to
    drop (a header line repeated mid-file)."""
    n = len(x)
    drop = np.zeros(n, dtype=bool)
    if not pd.api.types.is_numeric_dtype(x):
        text = x.astype(str).str.strip().str.lower()
        drop = (text == str(x.name).strip().lower()).fillna(False).to_numpy(dtype=bool)
        x = pd.to_numeric(x.astype(str).str.strip(), errors="coerce")
    values = x.to_numpy(dtype=float)
    prev = pd.Series(values).where(~drop).ffill().shift(1).to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        restart = values < prev
        if epoch_only and n > 1:  # one row per epoch: a repeated first epoch is a restart
            same = values == prev
            if same.any() and np.all(values[same] == values[0]):
                restart |= same
    after_header = np.zeros(n, dtype=bool)
    after_header[1:] = drop[:-1]
    restart = (restart | after_header) & ~drop
    restart[0] = False
    return [int(i) for i in np.flatnonzero(restart)], drop


def _segments(n: int, starts: list[int], drop: np.ndarray) -> list[np.ndarray]:
    bounds = [0, *starts, n]
    keep = ~drop
    out = []
    for a, b in itertools.pairwise(bounds):
        rows = np.arange(a, b)[keep[a:b]]
        if len(rows):
            out.append(rows)
    return out
