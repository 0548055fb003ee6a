"""The canonical training history: one long table that every reader produces."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

COLUMNS = ("run", "step", "epoch", "split", "metric", "value", "source_key")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class RunInfo:
    """What is known about one run besides its numbers."""

    name: str
    source: str  # path the run was read from
    format: str  # reader id, e.g. "keras_csv"
    unmapped_keys: tuple[str, ...] = ()  # keys seen but not understood (shown by `inspect`)
    ignored_keys: tuple[str, ...] = ()  # bookkeeping keys dropped on purpose (runtime, flos...)
    notes: tuple[str, ...] = ()  # how the reader interpreted the file


def empty_frame() -> pd.DataFrame:
    """A History frame with no rows and the canonical dtypes."""
    return pd.DataFrame(
        {
            "run": pd.Series([], dtype=object),
            "step": pd.Series([], dtype="Int64"),
            "epoch": pd.Series([], dtype="Float64"),
            "split": pd.Series([], dtype=object),
            "metric": pd.Series([], dtype=object),
            "value": pd.Series([], dtype="float64"),
            "source_key": pd.Series([], dtype=object),
        }
    )


@dataclass(frozen=True)
class History:
    """Tidy table `run, step, epoch, split, metric, value, source_key` plus per-run info.

    NaN and inf values are kept: they are evidence of divergence.
    """

    frame: pd.DataFrame
    runs: tuple[RunInfo, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        missing = [c for c in COLUMNS if c not in self.frame.columns]
        if missing:
            raise ValueError(f"History frame lacks columns {missing}")

    @property
    def run_names(self) -> list[str]:
        return [r.name for r in self.runs]

    def run(self, name: str) -> pd.DataFrame:
        """Rows of one run."""
        return self.frame[self.frame["run"] == name]

    def info(self, name: str) -> RunInfo:
        for r in self.runs:
            if r.name == name:
                return r
        raise KeyError(name)

    @staticmethod
    def concat(parts: Iterable[History]) -> History:
        """Join histories read from several inputs, keeping run names unique."""
        frames, runs, seen = [], [], set()
        for part in parts:
            renames = {}
            for info in part.runs:
                name, i = info.name, 2
                while name in seen:
                    name, i = f"{info.name}#{i}", i + 1
                seen.add(name)
                renames[info.name] = name
                runs.append(_renamed(info, name))
            frame = part.frame
            if any(k != v for k, v in renames.items()):
                frame = frame.assign(run=frame["run"].map(renames))
            frames.append(frame)
        frame = pd.concat(frames, ignore_index=True) if frames else empty_frame()
        return History(frame=frame, runs=tuple(runs))


def _renamed(info: RunInfo, name: str) -> RunInfo:
    return RunInfo(
        name, info.source, info.format, info.unmapped_keys, info.ignored_keys, info.notes
    )
