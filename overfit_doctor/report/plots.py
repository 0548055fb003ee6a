"""Plots for the HTML report, drawn from `Diagnosis.figures` only (see docs/json-schema.md).

matplotlib is imported by this module, and this module is imported only when plots are drawn:
text and JSON reports and `import overfit_doctor.cli` never load it. No pyplot and no global
backend switch: figures are `matplotlib.figure.Figure` objects saved straight to SVG (or PNG),
inside an `rc_context`, so a caller's own matplotlib state is left alone.

Every image comes back as a `data:` URI, so the report stays one self-contained file.
"""

from __future__ import annotations

import base64
import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter
from matplotlib.transforms import blended_transform_factory

from overfit_doctor.history.keys import direction

MAX_PLOTS = 16  # figures drawn per report; the others are listed by name
WIDTH_IN = 6.4
HEIGHT_IN = 3.2
DPI = 100
MAX_BAR_CATEGORIES = 40
MAX_HISTOGRAM_PANELS = 24
LOG_SPAN = 100.0  # positive values spanning this ratio get a log axis

_SPLIT_COLORS = {"train": "#1f77b4", "val": "#e8710a", "test": "#2a9d3f"}
_OTHER_COLORS = ["#7b4fb3", "#8c564b", "#d6409f", "#5f6b76", "#17becf", "#bcbd22"]
_PALETTE = ["#1f77b4", "#e8710a", "#2a9d3f", *_OTHER_COLORS]  # generic series, in order
_ONSET_COLOR = "#c62828"
_STOP_COLOR = "#2e7d32"
_BAD_COLOR = "#c62828"
_MARK_COLORS = ["#6d4c41", "#455a64", "#8e24aa"]
_SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}

_RC = {
    "svg.fonttype": "none",  # text stays text: small files, system fonts
    "svg.hashsalt": "overfit-doctor",  # deterministic ids
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 8.0,
    "axes.titlesize": 9.0,
    "axes.titleweight": "bold",
    "axes.labelsize": 8.0,
    "axes.edgecolor": "#9aa4ae",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e3e7eb",
    "grid.linewidth": 0.6,
    "xtick.color": "#4a5560",
    "ytick.color": "#4a5560",
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "text.color": "#1d2733",
    "axes.labelcolor": "#1d2733",
    "path.simplify": True,
}


@dataclass(frozen=True)
class Plot:
    """One drawn figure, ready to embed."""

    key: str
    kind: str
    title: str
    caption: str  # what the plot shows, in words (also the image's alt text)
    mime: str
    data: bytes
    width_px: int
    height_px: int

    @property
    def uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def drawable(figure: Any) -> bool:
    """Whether `figure` holds data this module can draw (a plot appears only when it does)."""
    if not isinstance(figure, Mapping):
        return False
    kind = figure.get("kind")
    if kind in ("curves", "lines"):
        return any(_finite_count(s.get("y")) > 0 for s in _series_dicts(figure))
    if kind == "bars":
        cats = _list(figure.get("categories"))
        series = figure.get("series") or {}
        return (
            bool(cats)
            and isinstance(series, Mapping)
            and any(_finite_count(v) > 0 for v in series.values())
        )
    if kind == "histograms":
        return any(_panel_ok(p) for p in _list(figure.get("panels")))
    return False


def draw(key: str, figure: Mapping[str, Any], *, fmt: str = "svg") -> Plot | None:
    """Draw one figure; None when it holds nothing drawable or is of an unknown kind."""
    if not drawable(figure):
        return None
    drawer = _DRAWERS[figure["kind"]]
    with matplotlib.rc_context(_RC):
        fig, title, caption = drawer(figure)
        try:
            buf = io.BytesIO()
            if fmt == "svg":
                fig.savefig(buf, format="svg", metadata={"Date": None})
                mime = "image/svg+xml"
            elif fmt == "png":
                fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
                mime = "image/png"
            else:
                raise ValueError(f"unknown image format {fmt!r}")
        finally:
            w, h = fig.get_size_inches()
    return Plot(
        key, figure["kind"], title, caption, mime, buf.getvalue(), round(w * DPI), round(h * DPI)
    )


def draw_all(figures: Mapping[str, Any], keys: Iterable[str], *, fmt: str = "svg") -> list[Plot]:
    """Draw the figures named by `keys`, in that order, leaving out those with no data."""
    plots = []
    for key in keys:
        plot = draw(key, figures[key], fmt=fmt)
        if plot is not None:
            plots.append(plot)
    return plots


def plot_keys(diagnosis: Any) -> list[str]:
    """The drawable figures of a Diagnosis in the order reports show them: those findings point
    at, then each run's loss curves, then the rest (spec figures, other metrics) in the order the
    diagnosis holds them. Reports draw the first MAX_PLOTS and list the others by name."""
    figures = diagnosis.figures
    keys = [f.figure for f in diagnosis.findings if f.figure and f.figure in figures]
    keys += [
        k
        for k, fig in figures.items()
        if isinstance(fig, Mapping) and fig.get("kind") == "curves" and fig.get("metric") == "loss"
    ]
    keys += list(figures)
    return [k for k in dict.fromkeys(keys) if drawable(figures[k])]


def save_figures(diagnosis: Any, folder: str | Path, *, fmt: str = "png") -> dict[str, Path]:
    """Write the first MAX_PLOTS drawable figures of `diagnosis` into `folder` as image files
    (`01-curves_run_loss.png`...), for reports that link their images (Markdown); returns the
    path of each by figure key."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    saved: dict[str, Path] = {}
    for key in plot_keys(diagnosis)[:MAX_PLOTS]:
        plot = draw(key, diagnosis.figures[key], fmt=fmt)
        if plot is None:
            continue
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._-")[:80] or "figure"
        path = folder / f"{len(saved) + 1:02d}-{slug}.{fmt}"
        path.write_bytes(plot.data)
        saved[key] = path
    return saved


# --------------------------------------------------------------------------- values


def number(value: Any) -> float:
    """A plotted value as a float: JSON's "nan"/"inf"/"-inf" strings and None become non-finite."""
    if value is None or isinstance(value, bool):
        return math.nan
    if isinstance(value, (int, float)):
        return float(value)
    if hasattr(value, "item"):
        return number(value.item())
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return math.nan
    return math.nan


def _array(values: Any) -> np.ndarray:
    """Values as floats; anything that is not a sequence of numbers gives an empty array."""
    if values is None or isinstance(values, (str, bytes, Mapping)):
        return np.array([], dtype=float)
    try:
        items = list(values)
    except TypeError:
        return np.array([], dtype=float)
    return np.array([number(v) for v in items], dtype=float)


def _list(values: Any) -> list[Any]:
    if values is None or isinstance(values, (str, bytes, Mapping)):
        return []
    try:
        return list(values)
    except TypeError:
        return []


def _finite_count(values: Any) -> int:
    return int(np.isfinite(_array(values)).sum())


def _series_dicts(figure: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    series = figure.get("series") or {}
    if not isinstance(series, Mapping):
        return []
    return [s for s in series.values() if isinstance(s, Mapping)]


def _xy(series: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    y = _array(series.get("y"))
    x = _array(series.get("x")) if series.get("x") is not None else np.arange(len(y), dtype=float)
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    keep = np.isfinite(x)
    return x[keep], y[keep]


def _panel_ok(panel: Any) -> bool:
    if not isinstance(panel, Mapping):
        return False
    edges, counts = _array(panel.get("edges")), _array(panel.get("counts"))
    return (
        len(counts) > 0
        and len(edges) == len(counts) + 1
        and bool(np.isfinite(edges).all())
        and bool(np.all(np.diff(edges) > 0))
        and _finite_count(counts) > 0
    )


def wants_log(values: Iterable[np.ndarray]) -> bool:
    """Log scale when all finite values are positive and span orders of magnitude."""
    finite = [v[np.isfinite(v)] for v in values]
    finite = [v for v in finite if len(v)]
    if not finite:
        return False
    allv = np.concatenate(finite)
    lo, hi = float(allv.min()), float(allv.max())
    return lo > 0 and hi / lo >= LOG_SPAN


def fmt_value(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.4g}"


def plain(text: Any) -> str:
    """Text for matplotlib, never parsed as mathtext (a `$` in a metric name stays a `$`)."""
    return str(text).replace("\\", "\\\\").replace("$", r"\$")


def _short(text: str, n: int = 48) -> str:
    return text if len(text) <= n else "…" + text[-(n - 1) :]


# --------------------------------------------------------------------------- drawing helpers


def _new(height: float = HEIGHT_IN) -> tuple[Figure, Any]:
    # Fixed margins, no layout engine: constrained layout would measure every text twice and
    # cost more than the drawing itself.
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI)
    return fig, fig.add_subplot()


def _finish(fig: Figure, ax: Any, *, left_in: float = 0.78) -> None:
    """Margins in inches, and the legend in rows of three below the axes."""
    width, height = fig.get_size_inches()
    handles, labels = ax.get_legend_handles_labels()
    rows = math.ceil(len(handles) / 3)
    bottom_in = 0.52 + (0.06 + 0.17 * rows if handles else 0.0)
    if handles:
        fig.legend(
            handles,
            labels,
            loc="lower center",
            bbox_to_anchor=(0.5, 0.02),
            ncols=min(len(handles), 3),
            handlelength=1.8,
            columnspacing=1.4,
        )
    fig.subplots_adjust(
        left=left_in / width,
        right=1 - 0.18 / width,
        top=1 - 0.32 / height,
        bottom=bottom_in / height,
    )


def _log_axis(axis: Any) -> None:
    """Log axis ticks as plain numbers (`0.001`, `1e-05`): mathtext labels are slow to lay out."""
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _mark_nonfinite(ax: Any, x: np.ndarray, y: np.ndarray, labelled: list[bool]) -> int:
    """Non-finite values as red crosses along the top edge (the line has a gap there)."""
    bad = ~np.isfinite(y)
    if not bad.any():
        return 0
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    ax.plot(
        x[bad],
        np.full(int(bad.sum()), 0.97),
        linestyle="none",
        marker="x",
        markersize=5,
        markeredgewidth=1.4,
        color=_BAD_COLOR,
        transform=trans,
        clip_on=False,
        zorder=5,
        label=None if labelled[0] else "non-finite value (nan/inf)",
    )
    labelled[0] = True
    return int(bad.sum())


def _line(ax: Any, x: np.ndarray, y: np.ndarray, color: str, label: str) -> None:
    finite = np.where(np.isfinite(y), y, np.nan)
    few = np.isfinite(finite).sum() <= 30
    ax.plot(
        x,
        finite,
        color=color,
        linewidth=1.5,
        label=label,
        marker="o" if few else None,
        markersize=2.8,
    )


def _color(i: int) -> str:
    return _OTHER_COLORS[i % len(_OTHER_COLORS)]


def _integer_ticks(ax: Any, xs: Iterable[np.ndarray]) -> None:
    """Whole-number ticks when every x is a whole number (epochs, steps)."""
    finite = [x[np.isfinite(x)] for x in xs]
    if finite and all(np.all(x == np.round(x)) for x in finite):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


# --------------------------------------------------------------------------- curves


def _curves(figure: Mapping[str, Any]) -> tuple[Figure, str, str]:
    metric = str(figure.get("metric", "value"))
    run = str(figure.get("run", ""))
    x_label = str(figure.get("x_label") or "epoch")
    raw = figure.get("series") or {}
    order = [s for s in ("train", "val", "test") if s in raw] + [
        s for s in raw if s not in ("train", "val", "test")
    ]
    series = {s: _xy(raw[s]) for s in order if isinstance(raw[s], Mapping)}
    series = {s: xy for s, xy in series.items() if len(xy[0])}
    fig, ax = _new()
    caption: list[str] = []
    log = wants_log(y for _, y in series.values())
    if log:
        ax.set_yscale("log")
        _log_axis(ax.yaxis)
        caption.append("log scale")
    labelled = [False]
    bad_total = 0
    for i, (split, (x, y)) in enumerate(series.items()):
        color = _SPLIT_COLORS.get(split, _color(i))
        _line(ax, x, y, color, _SPLIT_NAMES.get(split, split))
        bad_total += _mark_nonfinite(ax, x, y, labelled)
    if bad_total:
        caption.append(f"{bad_total} non-finite value(s) marked ×")

    if "train" in series and "val" in series:
        _shade_gap(ax, series["train"], series["val"])

    ref_split = next((s for s in ("val", "test") if s in series), None)
    if ref_split is not None:
        best = _best_point(metric, *series[ref_split])
        if best is not None:
            bx, by = best
            name = _SPLIT_NAMES.get(ref_split, ref_split)
            ax.plot(
                [bx],
                [by],
                linestyle="none",
                marker="*",
                markersize=11,
                color="#f2b705",
                markeredgecolor="#5c4400",
                markeredgewidth=0.7,
                zorder=6,
                label=f"best {name} {fmt_value(by)} ({x_label} {fmt_value(bx)})",
            )
            caption.append(f"best {name} {metric} {fmt_value(by)} at {x_label} {fmt_value(bx)}")

    _integer_ticks(ax, (x for x, _ in series.values()))
    caption.extend(_draw_marks(ax, figure.get("marks") or {}, x_label))
    title = f"{metric} — {run}" if run else metric
    ax.set_title(plain(_short(title, 70)), loc="left")
    ax.set_xlabel(plain(x_label))
    ax.set_ylabel(plain(_short(metric, 30)))
    _finish(fig, ax)
    splits = ", ".join(_SPLIT_NAMES.get(s, s) for s in series)
    text = f"{metric} per {x_label} ({splits})" + (f", run {run}" if run else "")
    return fig, title, "; ".join([text, *caption])


def _shade_gap(
    ax: Any, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray]
) -> None:
    """Shade between the curves, on the validation points that the training curve spans."""
    tx, ty = train
    vx, vy = val
    ok = np.isfinite(ty)
    if ok.sum() < 2:
        return
    tx, ty = tx[ok], ty[ok]
    order = np.argsort(tx, kind="stable")
    tx, ty = tx[order], ty[order]
    inside = np.isfinite(vy) & (vx >= tx[0]) & (vx <= tx[-1])
    if inside.sum() < 2:
        return
    t_on_v = np.interp(vx, tx, ty)
    ax.fill_between(
        vx,
        t_on_v,
        vy,
        where=inside,
        interpolate=False,
        color="#e8710a",
        alpha=0.12,
        linewidth=0,
        label="train/validation gap",
    )


def _best_point(metric: str, x: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    ok = np.isfinite(y)
    if not ok.any():
        return None
    sense = direction(metric) or "min"
    idx = np.flatnonzero(ok)
    i = idx[np.argmax(y[ok])] if sense == "max" else idx[np.argmin(y[ok])]
    return float(x[i]), float(y[i])


def _mark_x(mark: Mapping[str, Any], kind: str, x_label: str) -> float | None:
    """The x of a `best`/`stop` mark in the plot's own units (epochs or steps)."""
    units = {"step": ("step",), "epoch": ("epoch",)}.get(x_label, ("epoch", "step"))
    for unit in units:
        v = number(mark.get(f"{kind}_{unit}"))
        if math.isfinite(v):
            return v
    return None


def _draw_marks(ax: Any, marks: Mapping[str, Any], x_label: str) -> list[str]:
    """OD101's best point is the overfitting onset; OD103's stop is where early stopping would
    have ended the run. Other codes' marks are drawn as thin lines named by code."""
    notes = []
    other = 0
    for code, mark in marks.items():
        if not isinstance(mark, Mapping):
            continue
        if code == "OD101":
            x = _mark_x(mark, "best", x_label)
            if x is not None:
                ax.axvline(
                    x,
                    color=_ONSET_COLOR,
                    linestyle="--",
                    linewidth=1.1,
                    zorder=4,
                    label=f"overfitting onset (OD101, {x_label} {fmt_value(x)})",
                )
                notes.append(f"overfitting onset (OD101) at {x_label} {fmt_value(x)}")
        elif code == "OD103":
            x = _mark_x(mark, "stop", x_label)
            if x is not None:
                ax.axvline(
                    x,
                    color=_STOP_COLOR,
                    linestyle=":",
                    linewidth=1.6,
                    zorder=4,
                    label=f"early stop (OD103, {x_label} {fmt_value(x)})",
                )
                notes.append(f"early stopping (OD103) would stop at {x_label} {fmt_value(x)}")
        else:
            for kind in ("best", "stop"):
                x = _mark_x(mark, kind, x_label)
                if x is None:
                    continue
                ax.axvline(
                    x,
                    color=_MARK_COLORS[other % len(_MARK_COLORS)],
                    linestyle="-.",
                    linewidth=1.0,
                    zorder=4,
                    label=f"{plain(code)} {kind} ({x_label} {fmt_value(x)})",
                )
                notes.append(f"{code} {kind} at {x_label} {fmt_value(x)}")
                other += 1
    return notes


# --------------------------------------------------------------------------- lines


def _lines(figure: Mapping[str, Any]) -> tuple[Figure, str, str]:
    title = str(figure.get("title") or "")
    x_label = str(figure.get("x_label") or "")
    y_label = str(figure.get("y_label") or "")
    raw = figure.get("series") or {}
    series = {str(n): _xy(s) for n, s in raw.items() if isinstance(s, Mapping)}
    series = {n: xy for n, xy in series.items() if len(xy[0])}
    fig, ax = _new()
    caption = []
    log = bool(figure.get("log_y")) and wants_log_ok(y for _, y in series.values())
    if log:
        ax.set_yscale("log")
        _log_axis(ax.yaxis)
        caption.append("log scale")
    labelled = [False]
    bad = 0
    for i, (name, (x, y)) in enumerate(series.items()):
        color = _SPLIT_COLORS.get(name, _PALETTE[i % len(_PALETTE)])
        _line(ax, x, y, color, plain(_short(name, 40)))
        bad += _mark_nonfinite(ax, x, y, labelled)
    _integer_ticks(ax, (x for x, _ in series.values()))
    if bad:
        caption.append(f"{bad} non-finite value(s) marked ×")
    ax.set_title(plain(_short(title, 70)), loc="left")
    ax.set_xlabel(plain(x_label))
    ax.set_ylabel(plain(_short(y_label, 30)))
    _finish(fig, ax)
    text = f"{title}: {', '.join(series)}" if title else ", ".join(series)
    return fig, title or "lines", "; ".join([text, *caption])


def wants_log_ok(values: Iterable[np.ndarray]) -> bool:
    """A requested log axis is honoured only when there are positive values to show."""
    return any(bool((v[np.isfinite(v)] > 0).any()) for v in values)


# --------------------------------------------------------------------------- bars


def _bars(figure: Mapping[str, Any]) -> tuple[Figure, str, str]:
    title = str(figure.get("title") or "")
    y_label = str(figure.get("y_label") or "")
    cats = [str(c) for c in _list(figure.get("categories"))]
    raw = figure.get("series") or {}
    caption = []
    if len(cats) > MAX_BAR_CATEGORIES:
        caption.append(f"first {MAX_BAR_CATEGORIES} of {len(cats)} categories")
        cats = cats[:MAX_BAR_CATEGORIES]
    series = {}
    for name, values in raw.items():
        v = _array(values)[: len(cats)]
        series[str(name)] = np.concatenate([v, np.full(len(cats) - len(v), np.nan)])
    n, k = len(cats), max(len(series), 1)
    height = max(2.4, min(12.0, 1.3 + n * (0.18 + 0.07 * k)))
    fig, ax = _new(height)
    ax.grid(axis="y", visible=False)
    log = bool(figure.get("log_y")) and wants_log_ok(series.values())
    if log:
        ax.set_xscale("log")
        _log_axis(ax.xaxis)
        caption.append("log scale")
    pos = np.arange(n, dtype=float)
    h = 0.8 / k
    trans = blended_transform_factory(ax.transAxes, ax.transData)
    labelled = False
    bad = 0
    for i, (name, v) in enumerate(series.items()):
        y = pos - 0.4 + h * (i + 0.5)
        ok = np.isfinite(v) & ((v > 0) if log else True)
        ax.barh(
            y[ok],
            v[ok],
            height=h * 0.92,
            color=_PALETTE[i % len(_PALETTE)],
            label=plain(_short(name, 40)) if k > 1 else None,
        )
        if log:  # zeros and negatives have no place on a log axis: say so
            for yy in y[np.isfinite(v) & (v <= 0)]:
                ax.text(
                    0.005,
                    yy,
                    "0",
                    transform=trans,
                    va="center",
                    ha="left",
                    fontsize=7,
                    color="#5f6b76",
                )
        nonfinite = ~np.isfinite(v)
        if nonfinite.any():
            bad += int(nonfinite.sum())
            ax.plot(
                np.full(int(nonfinite.sum()), 0.01),
                y[nonfinite],
                linestyle="none",
                marker="x",
                color=_BAD_COLOR,
                markersize=5,
                markeredgewidth=1.4,
                transform=trans,
                clip_on=False,
                label=None if labelled else "non-finite value (nan/inf)",
            )
            labelled = True
    if bad:
        caption.append(f"{bad} non-finite value(s) marked ×")
    ticks = [_short(c, 36) for c in cats]
    ax.set_yticks(pos, [plain(t) for t in ticks])
    ax.invert_yaxis()  # first category on top
    ax.set_title(plain(_short(title, 70)), loc="left")
    ax.set_xlabel(plain(y_label))
    _finish(fig, ax, left_in=min(2.8, 0.3 + 0.058 * max(map(len, ticks), default=4)))
    text = f"{title}: {len(cats)} categories ({', '.join(series)})"
    return fig, title or "bars", "; ".join([text, *caption])


# --------------------------------------------------------------------------- histograms


def _histograms(figure: Mapping[str, Any]) -> tuple[Figure, str, str]:
    title = str(figure.get("title") or "")
    panels = [p for p in _list(figure.get("panels")) if _panel_ok(p)]
    caption = []
    if len(panels) > MAX_HISTOGRAM_PANELS:
        caption.append(f"first {MAX_HISTOGRAM_PANELS} of {len(panels)} panels")
        panels = panels[:MAX_HISTOGRAM_PANELS]
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    top_in, bottom_in, row_in = (0.72 if title else 0.45), 0.62, 1.75
    height = top_in + bottom_in + row_in * rows
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI)
    axes = fig.subplots(rows, cols, squeeze=False)
    fig.subplots_adjust(
        left=0.62 / WIDTH_IN,
        right=1 - 0.15 / WIDTH_IN,
        top=1 - top_in / height,
        bottom=bottom_in / height,
        hspace=0.62 / (row_in - 0.62),
        wspace=0.32,
    )
    ref_drawn = False
    for ax, panel in zip(axes.flat, panels, strict=False):
        edges = _array(panel["edges"])
        counts = np.nan_to_num(_array(panel["counts"]), nan=0.0, posinf=0.0, neginf=0.0)
        ax.stairs(counts, edges, fill=True, color="#1f77b4", alpha=0.55)
        ax.stairs(counts, edges, color="#1f77b4", linewidth=0.8)
        top = float(counts.max()) * 1.3 if counts.max() > 0 else 1.0
        ref = number(panel.get("reference_std"))
        std = number(panel.get("std"))
        sub = []
        if math.isfinite(std):
            sub.append(f"std {std:.3g}")
        if math.isfinite(ref) and ref > 0:
            xs = np.linspace(edges[0], edges[-1], 200)
            width = float(np.mean(np.diff(edges)))
            pdf = np.exp(-0.5 * (xs / ref) ** 2) / (ref * math.sqrt(2 * math.pi))
            ax.plot(
                xs,
                counts.sum() * width * pdf,
                color=_ONSET_COLOR,
                linewidth=1.1,
                linestyle="--",
                label=None if ref_drawn else "reference normal (He/Xavier)",
            )
            ref_drawn = True
            sub.append(f"ref {ref:.3g}")
        ax.set_ylim(0, top)  # the histogram stays readable; a far taller reference is clipped
        name = plain(_short(str(panel.get("name", "")), 34))
        ax.set_title(
            name + ("\n" + ", ".join(sub) if sub else ""),
            fontsize=7.5,
            fontweight="normal",
            loc="left",
        )
        ax.tick_params(labelsize=6.5)
        ax.grid(axis="x", visible=False)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(
            plain(_short(title, 80)),
            x=0.62 / WIDTH_IN,
            y=1 - 0.1 / height,
            ha="left",
            va="top",
            fontsize=9,
            fontweight="bold",
        )
    if ref_drawn:
        handles, labels = axes.flat[0].get_legend_handles_labels()
        for ax in axes.flat:
            h, lab = ax.get_legend_handles_labels()
            if h:
                handles, labels = h, lab
                break
        fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.01))
        caption.append("dashed: the reference normal density scaled to the counts")
    text = f"{title}: {len(panels)} histogram(s)" if title else f"{len(panels)} histogram(s)"
    return fig, title or "histograms", "; ".join([text, *caption])


_DRAWERS = {"curves": _curves, "lines": _lines, "bars": _bars, "histograms": _histograms}
