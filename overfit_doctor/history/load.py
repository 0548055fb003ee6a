"""Find the logs in the paths a user gives, pick a reader for each and build one History."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from overfit_doctor.errors import InputError
from overfit_doctor.history.build import RawRun, build_history
from overfit_doctor.history.keys import KeyMapping
from overfit_doctor.history.model import History
from overfit_doctor.history.readers import all_readers, reader_for
from overfit_doctor.history.source import HEAD_BYTES, decode, looks_binary

MIN_CONFIDENCE = 0.3
_MAX_DEPTH = 6
_MAX_FILES = 2000
_SKIP_DIRS = {".git", "__pycache__", "node_modules", ".venv", "venv", "artifacts", "weights"}
_LOG_SUFFIXES = {".csv", ".tsv", ".json", ".jsonl", ".log", ".txt", ".out", ""}


@dataclass(frozen=True)
class Found:
    """A log located on disk and the reader chosen for it."""

    path: Path
    reader: ModuleType
    confidence: float


def load_history(
    paths: Sequence[Path],
    *,
    log_format: str | None = None,
    key_map: Mapping[str, KeyMapping] | None = None,
) -> History:
    """Read every log found under `paths` into one History (one run per log or more)."""
    raw: list[RawRun] = []
    for path in paths:
        for found in find_logs(Path(path), log_format=log_format):
            raw.extend(_read(found))
    if not raw:
        raise InputError(f"no training log found in {', '.join(str(p) for p in paths)}")
    _unique_names(raw)
    return build_history(raw, key_map)


def _read(found: Found) -> list[RawRun]:
    try:
        runs = found.reader.read(found.path)
    except InputError:
        raise
    except (ValueError, KeyError, IndexError, TypeError, UnicodeError, OSError) as exc:
        raise InputError(
            f"{found.path}: could not read as {found.reader.FORMAT}: {_short(exc)}"
        ) from exc
    return runs


def find_logs(path: Path, *, log_format: str | None = None) -> list[Found]:
    """The logs at `path`: the file itself, or the logs a run directory holds."""
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if log_format:
        return [Found(path, reader_for(log_format), 1.0)]
    if path.is_file():
        found = _sniff(path)
        if found is None:
            raise InputError(f"{path}: not a training log overfit-doctor can read{_why(path)}")
        return [found]
    return _search_dir(path)


def _search_dir(root: Path) -> list[Found]:
    readers = all_readers()
    dir_readers = [r for r in readers if getattr(r, "READS_DIRECTORIES", False)]
    found: list[Found] = []
    claimed: list[Path] = []
    for directory in _walk_dirs(root):
        if any(_inside(directory, c) for c in claimed):
            continue
        best = _best(directory, "", dir_readers)
        if best is not None:
            found.append(best)
            claimed.append(directory)
    files = [
        f
        for f in _walk_files(root)
        if not any(_inside(f, c) for c in claimed) and f.suffix.lower() in _LOG_SUFFIXES
    ]
    for f in files:
        hit = _sniff(f, readers)
        if hit is not None:
            found.append(hit)
    found = _prefer_specific(found)
    if not found:
        raise InputError(f"{root}: no training log found in this directory")
    return found


def _prefer_specific(found: list[Found]) -> list[Found]:
    """Within one directory, drop generic guesses (a stray .txt) when a specific log exists,
    and keep only the newest HF checkpoint state when several checkpoint-N/ folders exist."""
    strong = [f for f in found if f.confidence >= 0.8]
    result = strong if strong else found
    hf = [f for f in result if f.reader.FORMAT == "hf_trainer_state"]
    if len(hf) > 1:
        groups: dict[Path, list[Found]] = {}
        for f in hf:
            in_checkpoint = f.path.parent.name.startswith("checkpoint-")
            out_dir = f.path.parent.parent if in_checkpoint else f.path.parent
            groups.setdefault(out_dir, []).append(f)
        keep = []
        for members in groups.values():
            top = [f for f in members if not f.path.parent.name.startswith("checkpoint-")]
            keep.extend(top or [max(members, key=lambda f: _checkpoint_step(f.path))])
        result = [f for f in result if f.reader.FORMAT != "hf_trainer_state" or f in keep]
    return result


def _checkpoint_step(path: Path) -> int:
    name = path.parent.name
    digits = name.rsplit("-", 1)[-1]
    return int(digits) if digits.isdigit() else -1


def _sniff(path: Path, readers: Iterable[ModuleType] | None = None) -> Found | None:
    try:
        with path.open("rb") as fh:
            head_bytes = fh.read(HEAD_BYTES)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {_short(exc)}") from exc
    if path.name.startswith("events.out.tfevents"):
        head = ""
    elif looks_binary(head_bytes):
        return None
    else:
        head = decode(head_bytes)
    return _best(path, head, readers if readers is not None else all_readers())


def _best(path: Path, head: str, readers: Iterable[ModuleType]) -> Found | None:
    best: Found | None = None
    for reader in readers:
        try:
            score = float(reader.sniff(path, head))
        except Exception:  # a sniffer must never break discovery
            score = 0.0
        if score >= MIN_CONFIDENCE and (best is None or score > best.confidence):
            best = Found(path, reader, score)
    return best


def _walk_dirs(root: Path) -> list[Path]:
    out = [root]
    for depth_dir in _iter_tree(root):
        if depth_dir.is_dir():
            out.append(depth_dir)
    return out


def _walk_files(root: Path) -> list[Path]:
    return sorted(p for p in _iter_tree(root) if p.is_file())[:_MAX_FILES]


def _iter_tree(root: Path, depth: int = 0):
    if depth > _MAX_DEPTH:
        return
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name in _SKIP_DIRS or entry.is_symlink():
            continue
        yield entry
        if entry.is_dir():
            yield from _iter_tree(entry, depth + 1)


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def _unique_names(raw: list[RawRun]) -> None:
    seen: dict[str, int] = {}
    for run in raw:
        if run.name in seen:
            seen[run.name] += 1
            run.name = f"{run.name}#{seen[run.name]}"
        else:
            seen[run.name] = 1


def _why(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError:
        return ""
    if not head:
        return " (the file is empty)"
    if looks_binary(head):
        return " (binary data)"
    return " (no recognizable columns or keys; see `overfit-doctor formats`, or use --map)"


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
