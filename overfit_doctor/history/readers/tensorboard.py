"""TensorBoard event files (`events.out.tfevents.*`), read with TensorBoard's own record reader.

Layouts: torch `SummaryWriter` (tags `Loss/train`, `train/loss`; `add_scalars` sub-writers in
`<run>/<tag>_<name>/`), Keras' `TensorBoard` callback (`<run>/train/` and `<run>/validation/`,
tags `epoch_loss`, ...), Lightning `lightning_logs/version_N/`. One run per run folder.
"""

from __future__ import annotations

import math
import os
import struct
from collections import defaultdict
from pathlib import Path

import pandas as pd

from overfit_doctor.errors import InputError
from overfit_doctor.history.build import RawRun
from overfit_doctor.history.keys import KeyMapping, Kind, clean_name, map_key

FORMAT = "tensorboard"
DESCRIPTION = "TensorBoard event files (torch SummaryWriter, Keras TensorBoard, Lightning)"
READS_DIRECTORIES = True

_PREFIX = "events.out.tfevents"
_SPLIT_DIRS = {
    "train": "train",
    "training": "train",
    "validation": "val",
    "val": "val",
    "valid": "val",
    "eval": "val",
    "test": "test",
}
_EPOCH_TAGS = ("epoch", "train/epoch")  # Lightning, HF TensorBoardCallback
_MAX_DEPTH = 5
_MAX_SNIFF_CHILDREN = 50
_SKIP_DIRS = {".git", "__pycache__", "node_modules", ".venv", "venv", "checkpoints"}
_NOT_SCALARS = ("hparams", "text", "histograms", "images", "audio", "pr_curves", "graph_keras")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")
_INSTALL_HINT = (
    "reading TensorBoard event files needs the tensorboard package: "
    "pip install 'overfit-doctor[tensorboard]'"
)


def sniff(path: Path, head: str) -> float:
    """An event file by its name, or a folder holding event files (directly or one level down)."""
    try:
        if path.is_file():
            return 0.95 if path.name.startswith(_PREFIX) else 0.0
        if not path.is_dir():
            return 0.0
        if _has_events(path):
            return 0.95
        children = 0
        for child in path.iterdir():
            if child.is_dir() and not child.is_symlink() and child.name not in _SKIP_DIRS:
                if _has_events(child):
                    return 0.9
                children += 1
                if children >= _MAX_SNIFF_CHILDREN:
                    break
    except OSError:
        return 0.0
    return 0.0


def read(path: Path) -> list[RawRun]:
    if path.is_file():
        files = [path]
        top = path.parent
    else:
        files = _event_files(path)
        top = path
        if not files:
            raise InputError(f"{path}: no TensorBoard event file (events.out.tfevents.*) here")
    loader = _loader()
    groups: dict[Path, list[Path]] = defaultdict(list)
    for file in files:
        groups[_run_root(file.parent, top)].append(file)
    return [_read_run(root, sorted(group), loader) for root, group in sorted(groups.items())]


def _loader() -> _Loader:
    """TensorBoard's record reader and the pieces to decode events (imported lazily)."""
    try:
        from google.protobuf.message import DecodeError
        from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
        from tensorboard.compat import tf
        from tensorboard.compat.proto import event_pb2, types_pb2
        from tensorboard.util import tensor_util
    except ImportError as exc:
        raise InputError(_INSTALL_HINT) from exc
    return _Loader(
        raw_loader=RawEventFileLoader,
        parse=event_pb2.Event.FromString,
        make_ndarray=tensor_util.make_ndarray,
        types=types_pb2,
        errors=(OSError, ValueError, DecodeError, tf.errors.OpError),
    )


class _Loader:
    """Reads the scalar summaries of event files with TensorBoard's own record reader."""

    def __init__(self, *, raw_loader, parse, make_ndarray, types, errors) -> None:
        self.raw_loader = raw_loader
        self.parse = parse
        self.make_ndarray = make_ndarray
        self.errors = errors
        # Common TF2 scalar encodings decoded directly; everything else goes to make_ndarray.
        self.fast = {types.DT_FLOAT: ("float_val", _F32), types.DT_DOUBLE: ("double_val", _F64)}
        self.skip = {
            types.DT_STRING,
            types.DT_VARIANT,
            types.DT_RESOURCE,
            types.DT_INVALID,
            types.DT_COMPLEX64,
            types.DT_COMPLEX128,
        }

    def scalars(self, file: Path) -> tuple[list[int], list[str], list[float]]:
        """(steps, tags, values) of every scalar in one event file, in file order."""
        steps: list[int] = []
        tags: list[str] = []
        values: list[float] = []
        plugins: dict[str, str] = {}  # TF2 writers put metadata on a tag's first event only
        records = 0
        try:
            for record in self.raw_loader(str(file)).Load():
                records += 1
                event = self.parse(record)
                if event.WhichOneof("what") != "summary":
                    continue
                for value in event.summary.value:
                    kind = value.WhichOneof("value")
                    if kind == "simple_value":
                        number = value.simple_value
                    elif kind == "tensor":
                        number = self._tensor_scalar(value, plugins)
                        if number is None:
                            continue
                    else:
                        continue
                    steps.append(event.step)
                    tags.append(value.tag)
                    values.append(number)
        except self.errors as exc:
            text = str(exc).strip()
            reason = text.splitlines()[0][:200] if text else type(exc).__name__
            raise InputError(f"{file}: not a readable TensorBoard event file: {reason}") from exc
        if records == 0 and file.stat().st_size > 0:
            raise InputError(f"{file}: not a TensorBoard event file (no readable record)")
        return steps, tags, values

    def _tensor_scalar(self, value, plugins: dict[str, str]) -> float | None:
        """The number in a TF2 `tf.summary.scalar` tensor; None for any other tensor summary."""
        plugin = value.metadata.plugin_data.plugin_name
        if plugin:
            plugins[value.tag] = plugin
        else:
            plugin = plugins.get(value.tag, "")
        tensor = value.tensor
        if plugin in _NOT_SCALARS or tensor.dtype in self.skip:
            return None
        dims = tensor.tensor_shape.dim
        if dims and math.prod(d.size for d in dims) != 1:
            return None
        fast = self.fast.get(tensor.dtype)
        if fast is not None:
            field, unpack = fast
            listed = getattr(tensor, field)
            if len(listed) == 1:
                return listed[0]
            content = tensor.tensor_content
            if len(content) == unpack.size:
                return unpack.unpack(content)[0]
        try:
            array = self.make_ndarray(tensor)
        except (TypeError, ValueError):
            return None
        if array.size != 1 or array.dtype.kind not in "fiub":
            return None
        return float(array.reshape(-1)[0])


def _read_run(root: Path, files: list[Path], loader: _Loader) -> RawRun:
    parts = []
    key_map: dict[str, KeyMapping] = {}
    keras_layout = False
    for file in files:
        steps, tags, values = loader.scalars(file)
        if not tags:
            continue
        sub = file.parent.name if file.parent != root else ""
        split = _SPLIT_DIRS.get(sub.lower())
        keras_layout |= split is not None
        keys = _keys(tags, sub, split, key_map)
        frame = pd.DataFrame({"step": steps, "key": keys, "value": values}).astype(
            {"step": float, "key": object, "value": float}
        )
        per_epoch = [split is not None and tag.startswith("epoch_") for tag in tags]
        frame.insert(1, "epoch", frame["step"].where(per_epoch, math.nan))
        parts.append(frame)
    events = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({"step": [], "epoch": [], "key": [], "value": []}).astype(
            {"step": float, "epoch": float, "key": object, "value": float}
        )
    )
    notes = [f"read {len(files)} event file(s)"]
    if keras_layout:
        notes.append(
            "Keras TensorBoard layout: train/ and validation/ folders; "
            "epoch_* tags are per epoch (step = 0-based epoch)"
        )
    events, epoch_note = _epoch_from_tag(events)
    notes.extend(epoch_note)
    if events.empty:
        notes.append("no scalar summaries in the event files")
    return RawRun(root.resolve().name or str(root), str(root), FORMAT, events, notes, key_map)


def _keys(tags: list[str], sub: str, split: str | None, key_map: dict) -> list[str]:
    """Keys of one file's tags: the tag itself, or `<folder>/<tag>` for a sub-writer's file."""
    if not sub:
        for tag in set(tags):
            if tag == "hp_metric":  # Lightning's placeholder for the hparams plugin
                key_map[tag] = KeyMapping(Kind.IGNORED)
        return tags
    cache: dict[str, str] = {}
    for tag in set(tags):
        if split is not None:
            key = f"{sub}/{tag}"
            key_map[key] = _split_mapping(tag, split)
        elif sub.startswith(f"{tag}_"):  # add_scalars("Loss", {"train": ...}) -> Loss_train/
            key = f"{tag}/{sub[len(tag) + 1 :]}"
        else:
            key = f"{sub}/{tag}"
        cache[tag] = key
    return [cache[t] for t in tags]


def _split_mapping(tag: str, split: str) -> KeyMapping:
    """What a tag in a Keras `train/` or `validation/` folder means."""
    name = tag.removeprefix("epoch_")
    if name.endswith(("per_second", "_vs_iterations")):  # Keras: val loss again, per iteration
        return KeyMapping(Kind.IGNORED)
    mapped = map_key(name)
    if mapped.kind is Kind.IGNORED:
        return mapped
    metric = mapped.metric if mapped.kind is Kind.METRIC and mapped.metric else clean_name(name)
    if metric == "lr" or metric.startswith("lr_"):
        return KeyMapping(Kind.METRIC, "train", metric)
    return KeyMapping(Kind.METRIC, split, metric)


def _epoch_from_tag(events: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Lightning logs an `epoch` scalar with every step: use it as the epoch of that step."""
    is_epoch = events["key"].isin(_EPOCH_TAGS)
    if not is_epoch.any():
        return events, []
    by_step = events[is_epoch].drop_duplicates("step", keep="last").set_index("step")["value"]
    rest = events[~is_epoch].reset_index(drop=True)
    filled = rest["step"].map(by_step).astype(float)
    rest["epoch"] = rest["epoch"].where(rest["epoch"].notna(), filled)
    return rest, ["epoch taken from the logged `epoch` scalar at the same step"]


def _event_files(root: Path) -> list[Path]:
    found = []
    for folder, dirs, names in os.walk(root):
        depth = len(Path(folder).relative_to(root).parts)
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and depth < _MAX_DEPTH)
        found.extend(Path(folder) / n for n in sorted(names) if n.startswith(_PREFIX))
    return found


def _has_events(folder: Path) -> bool:
    return any(p.name.startswith(_PREFIX) and p.is_file() for p in folder.iterdir())


def _run_root(folder: Path, top: Path) -> Path:
    """The run a folder of event files belongs to (Keras split folders and add_scalars
    sub-writers belong to their parent)."""
    if folder.name.lower() in _SPLIT_DIRS and folder.parent != folder:
        return folder.parent
    parent = folder.parent
    if folder != top and (parent == top or top in parent.parents) and _has_events(parent):
        return parent
    return folder
