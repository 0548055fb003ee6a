"""yolo_csv reader: Ultralytics results.csv."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from overfit_doctor.errors import InputError
from overfit_doctor.history.load import load_history
from overfit_doctor.history.readers import csv_table, yolo_csv
from overfit_doctor.history.source import read_head
from tests.readers import curve, pairs

FIX = Path(__file__).parent.parent / "fixtures" / "logs" / "yolo_csv"
DETECT = FIX / "abonia_fire_smoke_25ep.csv"  # old padded format, 0-based
CLS = FIX / "alexandor_yolo11_cls_10ep.csv"  # new format with time, 1-based


def test_sniff():
    for f in (DETECT, CLS):
        head = read_head(f)
        assert yolo_csv.sniff(f, head) == 0.95
        assert csv_table.sniff(f, head) < 0.95
    assert yolo_csv.sniff(Path("results.csv"), "epoch,loss\n0,1\n") == 0.0


def test_old_padded_detection_file_with_derived_total_loss():
    h = load_history([DETECT])
    name = "abonia_fire_smoke_25ep"
    info = h.info(name)
    assert info.format == "yolo_csv"
    assert pairs(h, name) == {
        ("train", "box_loss"),
        ("train", "cls_loss"),
        ("train", "dfl_loss"),
        ("train", "loss"),
        ("val", "box_loss"),
        ("val", "cls_loss"),
        ("val", "dfl_loss"),
        ("val", "loss"),
        ("val", "precision_b"),
        ("val", "recall_b"),
        ("val", "map50_b"),
        ("val", "map50_95_b"),
        ("train", "lr_pg0"),
        ("train", "lr_pg1"),
        ("train", "lr_pg2"),
    }
    train = curve(h, name, "train", "loss")
    assert train["epoch"].tolist() == [float(i) for i in range(25)]
    assert train["value"].iloc[0] == pytest.approx(1.6878 + 3.3859 + 2.143)
    val = curve(h, name, "val", "loss")
    assert val["value"].iloc[1] == pytest.approx(2.2896 + 2.6209 + 3.4364)
    assert train["source_key"].iloc[0] == "train/loss"
    assert curve(h, name, "val", "map50_95_b")["value"].iloc[0] == 0.05583
    assert info.notes == (
        "no total loss column: train/loss and val/loss derived as the sum of "
        "box_loss + cls_loss + dfl_loss",
        "epochs as logged (0-based)",
    )


def test_new_classify_file_keeps_its_own_loss_and_1_based_epochs():
    h = load_history([CLS])
    name = "alexandor_yolo11_cls_10ep"
    assert pairs(h, name) == {
        ("train", "loss"),
        ("val", "loss"),
        ("val", "accuracy_top1"),
        ("val", "accuracy_top5"),
        ("train", "lr_pg0"),
        ("train", "lr_pg1"),
        ("train", "lr_pg2"),
    }
    val = curve(h, name, "val", "loss")
    assert val["epoch"].tolist() == [float(i) for i in range(1, 11)]
    assert val["value"].iloc[-1] == 0.0007
    assert h.info(name).notes == ("epochs as logged (1-based)",)
    assert "time" in h.info(name).ignored_keys


def test_results_csv_is_named_after_its_run_folder(tmp_path):
    run_dir = tmp_path / "runs" / "detect" / "train2"
    run_dir.mkdir(parents=True)
    shutil.copyfile(DETECT, run_dir / "results.csv")
    (run_dir / "args.yaml").write_text("epochs: 25\n")
    h = load_history([tmp_path / "runs"])
    assert h.run_names == ["train2"]
    assert len(curve(h, "train2", "val", "loss")) == 25


@pytest.mark.parametrize("ending", ["\r\n", "\r\r\n"])
def test_line_endings(tmp_path, ending):
    path = tmp_path / "results.csv"
    path.write_bytes(DETECT.read_bytes().replace(b"\n", ending.encode()))
    got = yolo_csv.read(path)[0]
    pd.testing.assert_frame_equal(got.events, yolo_csv.read(DETECT)[0].events)


def test_nan_component_makes_total_nan(tmp_path):
    lines = DETECT.read_text().splitlines()
    cells = lines[3].split(",")
    cells[1] = "nan"  # train/box_loss at epoch 2
    lines[3] = ",".join(cells)
    path = tmp_path / "results.csv"
    path.write_text("\n".join(lines) + "\n")
    e = yolo_csv.read(path)[0].events
    at2 = e[(e["epoch"] == 2) & e["key"].isin(["train/box_loss", "train/loss"])]
    assert len(at2) == 2 and at2["value"].map(math.isnan).all()


def test_segment_components_only_common_ones_are_summed(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text(
        "epoch,train/box_loss,train/seg_loss,train/cls_loss,train/dfl_loss,"
        "metrics/mAP50(M),val/box_loss,val/seg_loss,val/cls_loss\n"
        "1,1.0,2.0,3.0,4.0,0.1,1.5,2.5,3.5\n"
    )
    run = yolo_csv.read(path)[0]
    e = run.events.set_index("key")["value"]
    assert e["train/loss"] == 6.0 and e["val/loss"] == 7.5
    assert "box_loss + seg_loss + cls_loss" in run.notes[0]


def test_header_only_results_csv(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text(DETECT.read_text().splitlines()[0] + "\n")
    with pytest.raises(InputError, match="header only"):
        yolo_csv.read(path)
