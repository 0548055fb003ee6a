"""wandb reader. The summary is a real file; wandb-history.jsonl and the UI export CSV are
HAND-WRITTEN from the documented layout (see tests/fixtures/logs/README.md)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from overfit_doctor.errors import InputError
from overfit_doctor.history.load import load_history
from overfit_doctor.history.readers import csv_table, json_history, wandb
from overfit_doctor.history.source import read_head
from tests.readers import curve, pairs

FIX = Path(__file__).parent.parent / "fixtures" / "logs" / "wandb"
SUMMARY = FIX / "nicetea17_cifar10_resnet18_wandb-summary.json"
HISTORY = FIX / "wandb-history.jsonl"  # hand-written
EXPORT = FIX / "wandb_export_val_loss.csv"  # hand-written


def test_sniff():
    assert wandb.sniff(SUMMARY, read_head(SUMMARY)) == 0.75
    assert wandb.sniff(Path("s.json"), read_head(SUMMARY)) == 0.75  # by content
    assert wandb.sniff(HISTORY, read_head(HISTORY)) == 0.95
    assert wandb.sniff(Path("h.jsonl"), read_head(HISTORY)) == 0.9
    assert wandb.sniff(EXPORT, read_head(EXPORT)) == 0.92
    assert csv_table.sniff(EXPORT, read_head(EXPORT)) < 0.92
    assert json_history.sniff(HISTORY, read_head(HISTORY)) < 0.3
    assert wandb.sniff(Path("h.json"), '{"loss": [1, 2], "val_loss": [2, 3]}') == 0.0
    assert wandb.sniff(Path("x.csv"), "epoch,loss\n0,1\n") == 0.0


def test_summary_gives_single_points_and_a_note():
    h = load_history([SUMMARY])
    name = "nicetea17_cifar10_resnet18_wandb-summary"
    assert h.run_names == [name]
    info = h.info(name)
    assert info.format == "wandb"
    assert info.notes == (
        "W&B summary holds only the last value of each metric; export the history for a diagnosis",
    )
    f = h.run(name)
    assert f.groupby(["split", "metric"]).size().eq(1).all()
    assert {("train", "loss"), ("val", "loss"), ("train", "accuracy"), ("val", "accuracy")} <= (
        pairs(h, name)
    )
    val = curve(h, name, "val", "loss")
    assert val["value"].tolist() == [0.295663556432724]
    assert val["step"].tolist() == [49] and val["epoch"].tolist() == [49]
    assert "_runtime" in info.ignored_keys and "_wandb" not in info.ignored_keys


def test_summary_in_run_folder_and_nan_literal(tmp_path):
    files = tmp_path / "wandb" / "run-20221124_103000-3kx2b9q1" / "files"
    files.mkdir(parents=True)
    (files / "wandb-summary.json").write_text(
        '{"train_loss": 2.203125, "_timestamp": 1669388959.95518, "_runtime": 31.12, '
        '"_step": 12, "epoch": 1, "val_loss": 2.646484375, "val_klue_re_micro_f1": 0.0, '
        '"val_klue_re_auprc": NaN, "runtime(Min)": 0.0366, "_wandb": {"runtime": 30}}'
    )
    run = wandb.read(files / "wandb-summary.json")[0]
    assert run.name == "run-20221124_103000-3kx2b9q1"
    e = run.events.set_index("key")["value"]
    assert math.isnan(e["val_klue_re_auprc"]) and e["val_klue_re_micro_f1"] == 0.0
    assert run.events["step"].eq(12).all()


def test_legacy_history_jsonl():
    h = load_history([HISTORY])
    name = "wandb-history"
    assert h.info(name).format == "wandb"
    assert pairs(h, name) == {("train", "loss"), ("val", "loss"), ("val", "accuracy")}
    loss = curve(h, name, "train", "loss")
    assert loss["step"].tolist() == [0, 1, 3, 4]
    assert loss["epoch"].tolist() == [0, 0, 1, 1]
    assert math.isnan(loss["value"].iloc[-1])  # bare NaN kept as a logged value
    assert curve(h, name, "val", "loss")["value"].tolist() == [1.934, 1.613]
    assert "examples" not in set(h.frame["source_key"])  # media dict skipped
    assert h.info(name).unmapped_keys == ()


def test_export_csv_one_run_per_run_name():
    h = load_history([EXPORT])
    assert h.run_names == ["glorious-sun-12", "dainty-moon-13"]
    assert pairs(h, "glorious-sun-12") == {("train", "loss"), ("val", "loss")}
    assert pairs(h, "dainty-moon-13") == {("val", "loss")}
    sun = curve(h, "glorious-sun-12", "val", "loss")
    assert sun["step"].tolist() == [0, 1, 2, 3, 4]
    assert sun["value"].tolist() == [0.912, 0.803, 0.781, 0.799, 0.845]
    moon = curve(h, "dainty-moon-13", "val", "loss")
    assert moon["step"].tolist() == [0, 2, 4]
    assert not any("__M" in k for k in h.frame["source_key"])
    assert h.info("dainty-moon-13").notes == (
        "W&B UI export: x = 'Step'; __MIN/__MAX columns skipped",
    )


@pytest.mark.parametrize("ending", [b"\r\n", b"\r\r\n"])
@pytest.mark.parametrize("source", [SUMMARY, HISTORY, EXPORT])
def test_line_endings(tmp_path, ending, source):
    path = tmp_path / source.name
    path.write_bytes(source.read_bytes().replace(b"\n", ending))
    got, want = wandb.read(path), wandb.read(source)
    assert [r.name for r in got] == [r.name for r in want]
    for a, b in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(a.events, b.events)


def test_run_folder_search_finds_the_summary(tmp_path):
    files = tmp_path / "run-20251021_011500-abc123" / "files"
    files.mkdir(parents=True)
    shutil.copyfile(SUMMARY, files / "wandb-summary.json")
    (files / "config.yaml").write_text("lr: 0.0003\n")
    h = load_history([tmp_path])
    assert h.run_names == ["run-20251021_011500-abc123"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("wandb-summary.json", b'{"_step": 3, "_runtime": 1', "invalid or truncated JSON"),
        ("wandb-summary.json", b'{"_wandb": {"runtime": 1}, "name": "x"}', "no numeric values"),
        ("wandb-summary.json", b"", "empty"),
        ("export.csv", b'"Step","a - loss"\n', "header only"),
        ("export.csv", b"epoch,loss\n0,1\n", "not a W&B export"),
    ],
)
def test_unusable_files(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=reason):
        wandb.read(path)
