"""lightning_csv reader: Lightning CSVLogger metrics.csv."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from overfit_doctor.errors import InputError
from overfit_doctor.history.load import find_logs, load_history
from overfit_doctor.history.readers import csv_table, lightning_csv
from overfit_doctor.history.source import read_head
from tests.readers import curve, pairs

FIX = Path(__file__).parent.parent / "fixtures" / "logs" / "lightning_csv"
MNIST = FIX / "hcdescamps_mnist_steps.csv"  # CRLF, post-fit validate/test rows
OPAL = FIX / "evening_opal_v2_lrmonitor_8ep.csv"  # CRLF, lr-Adam rows, slash names
EUROSAT = FIX / "juliocontreras_eurosat_valonly_10ep.csv"  # LF, val only
FOREST = FIX / "radutuodr_forest_cover_underfit_7ep.csv"  # LF, *_0 duplicate keys


def test_sniff_beats_csv_table():
    for f in (MNIST, OPAL, FOREST):
        head = read_head(f)
        assert lightning_csv.sniff(f, head) == 0.9
        assert lightning_csv.sniff(f, head) > csv_table.sniff(f, head)
    assert lightning_csv.sniff(EUROSAT, read_head(EUROSAT)) == 0.7
    assert lightning_csv.sniff(Path("metrics.csv"), read_head(EUROSAT)) == 0.95
    assert lightning_csv.sniff(Path("x.csv"), "epoch,loss\n0,1\n") == 0.0


def test_post_fit_validate_and_test_rows_are_dropped():
    h = load_history([MNIST])
    name = "hcdescamps_mnist_steps"
    assert h.run_names == [name]
    info = h.info(name)
    assert info.format == "lightning_csv"
    assert pairs(h, name) == {("train", "loss"), ("val", "accuracy"), ("val", "loss")}
    val = curve(h, name, "val", "loss")
    assert val["epoch"].tolist() == [0, 1, 2, 3, 4]
    assert val["step"].tolist() == [1718, 3437, 5156, 6875, 8594]
    assert val["value"].iloc[0] == 0.07106363773345947
    assert 0.01422041654586792 not in h.frame["value"].tolist()  # the post-fit val row
    assert "test" not in set(h.frame["split"])
    assert info.notes == (
        "dropped 2 rows logged after training ended (epoch 5 after the last training epoch 4; "
        "trainer.validate()/test() results, not part of the curve): "
        "test_loss, val_accuracy, val_loss",
    )
    train = curve(h, name, "train", "loss")
    assert len(train) == 171
    assert train["step"].iloc[0] == 49 and train["value"].iloc[0] == 0.634955883026123


def test_lr_monitor_rows_get_epoch_and_slash_names():
    h = load_history([OPAL])
    name = "evening_opal_v2_lrmonitor_8ep"
    assert pairs(h, name) == {("train", "lr_adam"), ("train", "nll_loss"), ("val", "rmse_loss")}
    lr = curve(h, name, "train", "lr_adam")
    assert len(lr) == 108
    assert lr["epoch"].notna().all()
    row = lr[lr["step"] == 699]
    assert row["epoch"].tolist() == [1] and row["value"].tolist() == [0.029107964601769912]
    assert len(curve(h, name, "val", "rmse_loss")) == 8
    assert h.info(name).notes == (
        "108 rows without epoch (e.g. LearningRateMonitor) took the epoch of the rows logged "
        "at the same step",
    )


def test_val_only_file():
    h = load_history([EUROSAT])
    name = "juliocontreras_eurosat_valonly_10ep"
    assert pairs(h, name) == {("val", "loss")}
    val = curve(h, name, "val", "loss")
    assert val["step"].tolist() == [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]
    assert val["value"].iloc[-1] == 1.876805067062378
    assert h.info(name).notes == ()


def test_suffixed_duplicate_keys_and_epoch_rows():
    run = lightning_csv.read(FOREST)[0]
    counts = run.events.groupby("key").size().to_dict()
    assert counts == {
        "train_accuracy": 7,
        "train_loss": 47,
        "train_loss_0": 7,
        "valid_accuracy": 7,
        "valid_loss": 7,
        "valid_loss_0": 7,
    }
    assert run.notes == []  # the epoch-end train rows after the val rows are not post-fit
    h = load_history([FOREST])
    assert ("val", "loss_0") in pairs(h, run.name)


def test_version_folder_names_the_run_and_directory_search_finds_it(tmp_path):
    version = tmp_path / "lightning_logs" / "version_3"
    version.mkdir(parents=True)
    shutil.copyfile(MNIST, version / "metrics.csv")
    (version / "hparams.yaml").write_text("lr: 0.001\n")
    found = find_logs(tmp_path / "lightning_logs")
    assert [(f.path.name, f.reader.FORMAT) for f in found] == [("metrics.csv", "lightning_csv")]
    assert found[0].confidence >= 0.9
    h = load_history([tmp_path / "lightning_logs"])
    assert h.run_names == ["version_3"]


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r\r\n"])
def test_line_endings_give_the_same_history(tmp_path, ending):
    text = MNIST.read_bytes().decode().replace("\r\n", "\n")
    path = tmp_path / "metrics.csv"
    path.write_bytes(text.replace("\n", ending).encode())
    got = lightning_csv.read(path)[0]
    want = lightning_csv.read(MNIST)[0]
    assert got.name == tmp_path.name
    assert got.notes == want.notes
    pd.testing.assert_frame_equal(got.events, want.events)


def test_without_epoch_column_a_repeated_step_after_training_is_dropped(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text(
        "step,train_loss,val_loss\n49,0.9,\n99,0.7,\n99,,0.8\n149,0.6,\n199,,0.75\n199,,0.74\n"
    )
    run = lightning_csv.read(path)[0]
    val = run.events[run.events["key"] == "val_loss"]
    assert val["value"].tolist() == [0.8, 0.75]
    assert run.notes[0].startswith("dropped 1 row logged after training ended")


def test_nan_loss_is_kept(tmp_path):
    text = OPAL.read_bytes().decode().replace("0,,649,0.013015090086109647,", "0,,649,nan,")
    path = tmp_path / "metrics.csv"
    path.write_text(text)
    run = lightning_csv.read(path)[0]
    e = run.events
    value = e[(e["key"] == "train/nll_loss") & (e["step"] == 649)]["value"].tolist()
    assert len(value) == 1 and math.isnan(value[0])
    assert e[e["key"] == "train/nll_loss"].shape[0] == 108


def test_unusable_files(tmp_path):
    header_only = tmp_path / "metrics.csv"
    header_only.write_text("epoch,step,train_loss\r\n")
    with pytest.raises(InputError, match="header only"):
        lightning_csv.read(header_only)
    no_x = tmp_path / "other.csv"
    no_x.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="no `step` or `epoch` column"):
        lightning_csv.read(no_x)
    nothing = tmp_path / "empty_cells.csv"
    nothing.write_text("epoch,step,train_loss\n0,1,\n")
    with pytest.raises(InputError, match="no numeric values"):
        lightning_csv.read(nothing)
