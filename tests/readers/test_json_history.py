"""json_history reader: Keras history dumps, PyTorch imitations, lists of dicts, JSON Lines."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from overfit_doctor.errors import InputError
from overfit_doctor.history.load import load_history
from overfit_doctor.history.readers import json_history
from overfit_doctor.history.source import read_head
from tests.readers import curve, pairs

FIX = Path(__file__).parent.parent / "fixtures" / "logs" / "json_history"
KERAS = FIX / "aleenaterasa_covid_cnn_3ep_keras.json"
TORCH = FIX / "drunkmacintosh_fer2013_effnetb0_pytorch_90ep.json"  # indent=2, percent acc
LOSS_ONLY = FIX / "hassanali_iris_keras_lossonly.json"
WANDB_SUMMARY = FIX.parent / "wandb" / "nicetea17_cifar10_resnet18_wandb-summary.json"


def test_keras_history_dump_through_load():
    h = load_history([KERAS])
    name = "aleenaterasa_covid_cnn_3ep_keras"
    assert h.run_names == [name]
    assert h.info(name).format == "json_history"
    assert pairs(h, name) == {
        ("train", "accuracy"),
        ("train", "loss"),
        ("val", "accuracy"),
        ("val", "loss"),
    }
    val = curve(h, name, "val", "loss")
    assert val["epoch"].tolist() == [0, 1, 2]
    assert val["value"].tolist() == [0.34643110632896423, 0.24302169680595398, 0.22086215019226074]
    assert val["step"].isna().all()
    assert h.info(name).notes == ("no epoch key: list index used as epoch (0-based)",)


def test_pytorch_history_skips_scalars_and_metadata():
    h = load_history([TORCH])
    name = "drunkmacintosh_fer2013_effnetb0_pytorch_90ep"
    assert pairs(h, name) == {
        ("train", "loss"),
        ("train", "accuracy"),
        ("val", "loss"),
        ("val", "accuracy"),
    }
    acc = curve(h, name, "train", "accuracy")
    assert len(acc) == 90
    assert acc["value"].iloc[0] == 35.575473729543496  # percent, kept as logged
    assert curve(h, name, "val", "accuracy")["value"].iloc[-1] == 77.7858527131783
    assert 77.6542402441683 not in h.frame["value"].tolist()  # test_acc scalar
    assert h.info(name).notes[1] == (
        "skipped entries that are not curves: timestamp, backbone, img_size, classes, "
        "phase_starts, phase_labels, test_acc"
    )
    assert h.info(name).unmapped_keys == ()


def test_loss_only_history():
    h = load_history([LOSS_ONLY])
    name = "hassanali_iris_keras_lossonly"
    assert pairs(h, name) == {("train", "loss"), ("val", "loss")}
    assert len(curve(h, name, "train", "loss")) == 10
    assert curve(h, name, "train", "loss")["value"].iloc[-1] == 0.027373559772968292


def test_sniff_scores_and_foreign_formats():
    for f in (KERAS, TORCH, LOSS_ONLY):
        assert json_history.sniff(f, read_head(f)) == 0.85
    assert json_history.sniff(WANDB_SUMMARY, read_head(WANDB_SUMMARY)) < 0.3
    hf = '{\n  "best_metric": 0.6,\n  "log_history": [\n    {\n      "loss": 0.3,\n'
    assert json_history.sniff(Path("trainer_state.json"), hf) < 0.3
    assert json_history.sniff(Path("state.json"), hf) < 0.3
    d2 = (
        '{"data_time": 0.0087, "eta_seconds": 5065.5, "fast_rcnn/cls_accuracy": 0.39, '
        '"iteration": 19, "loss_box_reg": 0.54, "loss_cls": 0.72, "lr": 1.6e-05, '
        '"total_loss": 2.1}\n{"data_time": 0.0081, "iteration": 39, "total_loss": 1.9}\n'
    )
    assert json_history.sniff(Path("metrics.json"), d2) < 0.3
    ray = '{"loss": 1.8, "training_iteration": 4, "trial_id": "39f11_00000", "done": true}\n'
    assert json_history.sniff(Path("result.json"), ray) < 0.3
    assert json_history.sniff(Path("c.json"), '{"name": "x", "layers": [1, 2]}') == 0.0
    assert json_history.sniff(Path("s.json"), '{"loss": 0.5, "accuracy": 0.9}') < 0.3


def test_list_of_dicts(tmp_path):
    path = tmp_path / "history.json"
    records = [{"epoch": 1, "train_loss": 0.9, "val_loss": 1.0, "lr": 0.1, "note": "warm"}]
    records += [{"epoch": 2, "train_loss": 0.7, "val_loss": 0.95, "lr": 0.1, "cfg": {"a": 1}}]
    path.write_text(json.dumps(records, indent=1))
    assert json_history.sniff(path, read_head(path)) == 0.75
    h = load_history([path])
    assert pairs(h, "history") == {("train", "loss"), ("val", "loss"), ("train", "lr")}
    assert curve(h, "history", "val", "loss")["epoch"].tolist() == [1, 2]
    assert h.info("history").notes == ()


def test_json_lines_with_step_and_nan_literals(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text(
        '{"step": 100, "loss": 2.5}\n'
        '{"step": 200, "loss": NaN, "val_loss": 2.4}\n'
        "\n"
        '{"step": 300, "loss": Infinity, "media": {"_type": "image"}}\n'
    )
    assert json_history.sniff(path, read_head(path)) == 0.7
    h = load_history([path])
    loss = curve(h, "log", "train", "loss")
    assert loss["step"].tolist() == [100, 200, 300]
    assert math.isnan(loss["value"].iloc[1]) and loss["value"].iloc[2] == math.inf
    assert loss["epoch"].isna().all()
    assert curve(h, "log", "val", "loss")["step"].tolist() == [200]
    assert "media" not in set(h.frame["source_key"])


def test_json_lines_without_x_use_line_index(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"loss": 3}\n{"loss": 2}\n{"loss": 1, "val_loss": 1.5}\n')
    run = json_history.read(path)[0]
    assert run.notes == ["no epoch/step key: line index used as epoch (0-based)"]
    e = run.events
    assert e[e["key"] == "val_loss"]["epoch"].tolist() == [2.0]
    assert e[e["key"] == "loss"]["value"].tolist() == [3.0, 2.0, 1.0]


def test_nested_history_and_unequal_lists(tmp_path):
    path = tmp_path / "model_history.json"
    path.write_text(
        json.dumps(
            {
                "params": {"epochs": 4},
                "history": {"loss": [4, 3, 2, 1], "val_loss": [5, 4], "best_epoch": 3},
            }
        )
    )
    run = json_history.read(path)[0]
    e = run.events
    assert e[e["key"] == "val_loss"]["epoch"].tolist() == [0.0, 1.0]  # mapped: kept
    assert "skipped entries that are not curves: best_epoch" in run.notes


@pytest.mark.parametrize("ending", [b"\r\n", b"\r\r\n"])
def test_line_endings(tmp_path, ending):
    path = tmp_path / "training_history.json"
    path.write_bytes(TORCH.read_bytes().replace(b"\n", ending))
    pd.testing.assert_frame_equal(
        json_history.read(path)[0].events, json_history.read(TORCH)[0].events
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b'{"loss": [0.5, 0.4', "invalid or truncated JSON"),
        (b"\x00\x01\xfe\xff" * 50, "binary"),
        (b'{"name": "resnet", "depth": 18}', "no lists of numbers"),
        (b'"just a string"', "not a history"),
        (b"[1, 2, 3]", "no JSON objects"),
    ],
)
def test_unusable_files_raise_input_error(tmp_path, content, reason):
    path = tmp_path / "history.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=reason):
        json_history.read(path)
