"""Shared builders for the report tests: hand-written figures of every kind, hostile logs, and an
HTML tag collector."""

from __future__ import annotations

import base64
import itertools
import math
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from overfit_doctor.catalogue.model import Severity
from overfit_doctor.diagnosis import Action, CheckRecord, Diagnosis, Finding, RunSummary

REPO = Path(__file__).resolve().parents[2]
OVERFITTING = REPO / "sample_runs" / "keras_overfitting"
DIVERGING = REPO / "sample_runs" / "keras_diverging"
ARTIFACTS = REPO / "test-artifacts"

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"


def hostile_log(root: Path) -> Path:
    """A Keras CSVLogger file in a folder named with `<b>`, whose columns hold `<script>` and
    `<img onerror>` markup: a real log for the escaping tests."""
    run = root / "run<b>bold"  # (a folder name cannot hold the '/' of a closing tag)
    run.mkdir(parents=True, exist_ok=True)
    lines = [f"epoch,loss,val_loss,{SCRIPT},val_{SCRIPT},acc{IMG}"]
    for e in range(40):
        train = 1 / (1 + e) ** 1.2
        val = 0.6 + 0.004 * (e - 10) ** 2 / 10
        lines.append(f"{e},{train:.5f},{val:.5f},{2 * train:.5f},{2 * val:.5f},{0.5 + e / 100:.3f}")
    path = run / "training.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return run


def spec_like_figures() -> dict[str, Any]:
    """One hand-written figure of every kind the spec checks emit (schema: docs/json-schema.md),
    with the awkward values real data has: nan, inf, zeros on a log axis, a missing reference."""
    steps = list(range(0, 200, 5))
    layers = [f"encoder.layers.{i}.linear.weight" for i in range(6)] + ["head.weight"]
    return {
        "small_batch/loss": {
            "kind": "lines",
            "title": "Small-batch overfit: training loss on 8 examples",
            "x_label": "step",
            "y_label": "loss",
            "log_y": True,
            "series": {
                "loss": {"x": steps, "y": [2.3 * math.exp(-s / 30) + 1e-3 for s in steps]},
            },
        },
        "label_randomization/curves": {
            "kind": "lines",
            "title": "True vs shuffled labels: training accuracy",
            "x_label": "epoch",
            "y_label": "accuracy",
            "log_y": False,
            "series": {
                "true labels": {
                    "x": list(range(20)),
                    "y": [min(1, 0.1 + 0.08 * e) for e in range(20)],
                },
                "shuffled labels": {
                    "x": list(range(20)),
                    "y": [0.1 + 0.01 * e for e in range(19)] + ["nan"],
                },
            },
        },
        "gradient_flow/norms": {
            "kind": "bars",
            "title": "Gradient norm per layer",
            "y_label": "gradient L2 norm",
            "log_y": True,
            "categories": layers,
            "series": {"grad norm": [1e-7, 3e-6, 1e-4, 2e-3, 0.05, "inf", 0.0]},
        },
        "activations/fractions": {
            "kind": "bars",
            "title": "Dead and saturated units per layer",
            "y_label": "fraction of units",
            "log_y": False,
            "categories": layers[:4],
            "series": {"dead": [0.02, 0.4, 0.75, 0.1], "saturated": [0.0, 0.05, 0.1, "nan"]},
        },
        "weights/histograms": {
            "kind": "histograms",
            "title": "Weights per layer against the He/Xavier reference",
            "panels": [
                _panel(name, std, ref)
                for name, std, ref in (
                    (layers[0], 0.05, 0.05),
                    (layers[1], 0.5, 0.06),
                    (layers[2], 0.01, 0.06),
                    ("head.weight", 0.1, None),
                )
            ],
        },
    }


def _panel(name: str, std: float, ref: float | None) -> dict[str, Any]:
    edges = [std * (-4 + 8 * i / 24) for i in range(25)]
    centers = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
    width = edges[1] - edges[0]
    counts = [
        round(4096 * width * math.exp(-0.5 * (c / std) ** 2) / (std * math.sqrt(2 * math.pi)))
        for c in centers
    ]
    return {"name": name, "edges": edges, "counts": counts, "reference_std": ref, "std": std}


def spec_like_diagnosis(*, hostile: bool = False) -> Diagnosis:
    """A Diagnosis of a model spec with a figure of every kind; `hostile` puts markup in every
    string a log or a model could control."""
    figures = spec_like_figures()
    tag = f" {SCRIPT}{IMG}" if hostile else ""
    metric = SCRIPT if hostile else "loss"
    curve = f"curves/run{tag}/{metric}"
    figures[curve] = {
        "kind": "curves",
        "run": f"run{tag}",
        "metric": metric,
        "x_label": "epoch",
        "series": {
            "train": {"x": list(range(30)), "y": [1 / (1 + e) for e in range(30)]},
            "val": {
                "x": list(range(30)),
                "y": [0.5 + 0.002 * (e - 8) ** 2 for e in range(28)] + ["nan", "inf"],
            },
        },
        "marks": {"OD101": {"best_epoch": 8}, "OD103": {"best_epoch": 8, "stop_epoch": 14}},
    }
    findings = (
        Finding(
            "OD201",
            "cannot_overfit_small_batch",
            Severity.ERROR,
            0.9,
            f"Loss on 8 examples stayed at 0.91 after 200 steps{tag}.",
            {"final_loss": 0.91, "steps": 200, f"note{tag}": f"value{tag}"},
            {"run": "spec"},
            "small_batch/loss",
        ),
        Finding(
            "OD302",
            "vanishing_gradients",
            Severity.WARNING,
            0.7,
            f"Gradients of the first layers are 1e-7{tag}.",
            {"min_norm": 1e-7, "ratio": float("inf"), "layers": ["a", "b"]},
            {"layer": f"encoder.layers.0{tag}"},
            "gradient_flow/norms",
        ),
        Finding(
            "OD101",
            "overfitting",
            Severity.WARNING,
            0.8,
            f"Validation {metric} rose after epoch 8{tag}.",
            {"best_epoch": 8, "thresholds": {"min_rise_sigmas": 3.0}},
            {
                "run": f"run{tag}",
                "metric": metric,
                "split": "val",
                "from": {"epoch": 8, "step": None},
                "to": {"epoch": 29, "step": None},
            },
            curve,
        ),
    )
    actions = (
        Action(
            "early-stopping",
            "Stop early",
            "config",
            2.0,
            ("OD101",),
            f"Monitor `val_loss`{tag}.",
            {"pytorch": f"print('hi'){tag}", "keras": "pass"},
        ),
        Action("check-loss", f"Check the loss{tag}", "code", 1.0, ("OD201", "OD999"), "", {}),
    )
    checks = (
        CheckRecord("small-batch-overfit", "ran", ("OD201",), None, 2.5),
        CheckRecord("gradient-flow", "errored", ("OD302",), f"boom{tag}", 0.2),
        CheckRecord("validation-rise", "skipped", ("OD101",), f"needs a log{tag}", 0.0),
    )
    runs = (
        RunSummary(
            f"run{tag}",
            f"/tmp/x{tag}/log.csv",
            "keras_csv",
            "overfitting",
            {"train loss": 30},
            (f"note{tag}",),
        ),
    )
    spec = {
        "task": "classification",
        "num_classes": 10,
        "trainable_parameters": 8970,
        "train_samples": 1347,
        "val_samples": 450,
        "loss": f"CrossEntropyLoss{tag}",
        "budget": "quick",
        "regularization": {"dropout_layers": [], "optimizer": "Adam"},
    }
    return Diagnosis(
        "cannot_overfit_small_batch",
        findings,
        actions,
        checks,
        runs,
        inputs={"paths": [f"/tmp/x{tag}"], "runs": 1, "spec": spec},
        settings={"select": [], "params": {"OD101": {"min_rise_sigmas": 3}}},
        figures=figures,
        tool_version="0.1.0",
    )


class Tags(HTMLParser):
    """Every start tag of a document with its attributes, and its visible text (not the
    contents of <head>, <style> or <script>)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self._hidden = 0
        self._glue = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag == "wbr":  # a line-break opportunity inside a word: the text goes on
            self._glue = True
        if tag in ("head", "style", "script"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "style", "script"):
            self._hidden -= 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._glue and self.text:
            self.text[-1] += data
        else:
            self.text.append(data)
        self._glue = False

    def named(self, name: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == name]


def plot_images(html: str) -> list[tuple[str, bytes, dict[str, str]]]:
    """(mime, decoded bytes, attributes) of every plot image of a report."""
    out = []
    for attrs in Tags(html).named("img"):
        src = attrs.get("src", "")
        head, _, data = src.partition(",")
        assert head.startswith("data:") and head.endswith(";base64"), src[:80]
        out.append((head[5:-7], base64.b64decode(data, validate=True), attrs))
    return out
