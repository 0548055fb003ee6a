"""csv_table reader: Keras CSVLogger, pandas-dumped histories, fastai, generic tables."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from overfit_doctor.errors import InputError
from overfit_doctor.history.load import load_history
from overfit_doctor.history.readers import csv_table
from overfit_doctor.history.source import read_head
from tests.readers import curve, pairs

FIX = Path(__file__).parent.parent / "fixtures" / "logs" / "csv_table"
BRATS = FIX / "ahmetcakmak_brats2020_unet_training.log"  # CRLF
APPENDED = FIX / "akshatsharma_brain_tumor_appended_runs.csv"  # CRLF, 4 runs
OLD_ACC = FIX / "amineechraibi_braincnn_acc_trainonly.log"  # CRLF, acc, no val
FER = FIX / "ashishbatham_fer_2ep.csv"  # \r\r\n
NO_EPOCH = FIX / "ivanlopes_birds_history_noepochcol.csv"  # LF, no epoch column


def test_keras_training_log_through_load():
    h = load_history([BRATS])
    assert h.run_names == ["ahmetcakmak_brats2020_unet_training"]
    info = h.info("ahmetcakmak_brats2020_unet_training")
    assert info.format == "keras_csv"
    assert pairs(h, info.name) == {
        ("train", m) for m in ("accuracy", "dice_coef", "loss", "lr", "mean_io_u_5", "precision")
    } | {("val", m) for m in ("accuracy", "dice_coef", "loss", "mean_io_u_5", "precision")}
    loss = curve(h, info.name, "val", "loss")
    assert len(loss) == 24
    assert loss["epoch"].tolist() == [float(i) for i in range(24)]
    lr = curve(h, info.name, "train", "lr")
    assert lr["value"].iloc[4] == 0.00020000001
    assert loss["value"].iloc[0] == 0.05463637784123421
    assert loss["step"].isna().all()


def test_sniff_scores():
    for f in (BRATS, APPENDED, OLD_ACC, FER):
        assert csv_table.sniff(f, read_head(f)) == 0.8
    assert csv_table.sniff(NO_EPOCH, read_head(NO_EPOCH)) == 0.55
    assert csv_table.sniff(Path("x.csv"), "") == 0.0
    assert csv_table.sniff(Path("h.json"), '{"loss": [0.5, 0.4], "val_loss": [0.6, 0.5]}') == 0.0
    assert csv_table.sniff(Path("training.log"), "epoch,loss,val_loss\r\n") == 0.4  # header only
    assert csv_table.sniff(Path("x.txt"), "Epoch 1/40, loss: 0.5\nsomething else\n") < 0.3


def test_appended_runs_split_on_epoch_restart():
    runs = csv_table.read(APPENDED)
    stem = "akshatsharma_brain_tumor_appended_runs"
    assert [r.name for r in runs] == [f"{stem}/run{i}" for i in range(1, 5)]
    lengths = [int(r.events.query("key == 'loss'").shape[0]) for r in runs]
    assert lengths == [5, 4, 10, 5]
    assert runs[0].notes == [
        "epoch counter restarted at data rows 6, 10, 20: split into 4 runs (this is run 1)"
    ]
    run3 = runs[2].events
    last = run3[(run3["key"] == "val_loss") & (run3["epoch"] == 9)]
    assert last["value"].tolist() == [0.5412417054176331]
    first4 = runs[3].events
    assert first4[(first4["key"] == "loss") & (first4["epoch"] == 0)]["value"].iloc[0] == (
        1.245796799659729
    )


def test_appended_runs_through_load_keep_notes():
    h = load_history([APPENDED])
    assert len(h.runs) == 4
    assert all("split into 4 runs" in r.notes[0] for r in h.runs)
    assert pairs(h, h.run_names[1]) == {
        ("train", "accuracy"),
        ("train", "lr"),
        ("train", "loss"),
        ("val", "accuracy"),
        ("val", "loss"),
    }


def test_old_keras_acc_train_only():
    h = load_history([OLD_ACC])
    name = "amineechraibi_braincnn_acc_trainonly"
    assert pairs(h, name) == {("train", "accuracy"), ("train", "loss")}
    acc = curve(h, name, "train", "accuracy")
    assert len(acc) == 25
    assert acc["value"].iloc[0] == 0.92483332578688859
    assert acc["source_key"].iloc[0] == "acc"


def test_double_cr_line_endings_real_file():
    h = load_history([FER])
    name = "ashishbatham_fer_2ep"
    assert curve(h, name, "val", "loss")["value"].tolist() == [
        1.8923871517181396,
        1.8913871049880981,
    ]
    assert curve(h, name, "train", "accuracy")["value"].tolist() == [0.1919821798801422, 0.3125]


def test_no_epoch_column_row_index_is_epoch():
    h = load_history([NO_EPOCH])
    name = "ivanlopes_birds_history_noepochcol"
    assert h.info(name).notes == ("no epoch column: row index used as epoch (0-based)",)
    val = curve(h, name, "val", "accuracy")
    assert val["epoch"].tolist() == [float(i) for i in range(10)]
    assert val["value"].iloc[1] == 0.9245283007621765


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r\r\n"])
def test_line_endings_give_the_same_history(tmp_path, ending):
    text = BRATS.read_bytes().decode().replace("\r\n", "\n")
    path = tmp_path / "training.log"
    path.write_bytes(text.replace("\n", ending).encode())
    runs = csv_table.read(path)
    expected = csv_table.read(BRATS)[0].events
    assert runs[0].name == "training"
    pd.testing.assert_frame_equal(runs[0].events, expected)


def test_unnamed_index_column_used_as_epoch(tmp_path):
    table = pd.read_csv(NO_EPOCH)
    path = tmp_path / "history.csv"
    table.to_csv(path)  # index=True: unnamed first column
    run = csv_table.read(path)[0]
    assert run.notes == ["unnamed first column (a DataFrame index) used as epoch (0-based)"]
    assert sorted(run.events["key"].unique()) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert run.events["epoch"].max() == 9


def test_fastai_history_with_na_and_time_and_restart(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(
        "epoch,train_loss,valid_loss,accuracy,error_rate,time\n"
        "0,0.532816,#na#,0.866000,0.134000,00:05\n"
        "1,0.401204,0.391275,0.881000,0.119000,00:05\n"
        "0,0.350000,0.380000,0.890000,0.110000,00:07\n"
        "1,0.300000,0.370000,0.900000,0.100000,01:02\n"
    )
    assert csv_table.sniff(path, read_head(path)) == 0.8
    h = load_history([path])
    assert h.run_names == ["history/run1", "history/run2"]
    assert pairs(h, "history/run1") == {
        ("train", "loss"),
        ("val", "loss"),
        ("train", "accuracy"),
        ("train", "error"),
    }
    val = curve(h, "history/run1", "val", "loss")
    assert val["epoch"].tolist() == [1.0]  # #na# is "not logged"
    assert curve(h, "history/run2", "train", "loss")["value"].tolist() == [0.35, 0.3]
    assert "time" not in h.frame["source_key"].tolist()


def test_nan_literal_kept_empty_cell_dropped(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("epoch,loss,val_loss\n0,1.0,1.1\n1,nan,\n2,inf,0.9\n")
    run = csv_table.read(path)[0]
    loss = run.events[run.events["key"] == "loss"]["value"].tolist()
    assert math.isnan(loss[1]) and loss[2] == math.inf
    assert run.events[run.events["key"] == "val_loss"]["epoch"].tolist() == [0.0, 2.0]


@pytest.mark.parametrize("sep", ["\t", ";"])
def test_tsv_and_semicolon_tables_with_step_column(tmp_path, sep):
    path = tmp_path / "train.tsv"
    rows = [["step", "train_loss", "val_loss"], ["100", "2.5", "2.6"], ["200", "2.0", "2.4"]]
    path.write_text("\n".join(sep.join(r) for r in rows) + "\n")
    assert csv_table.sniff(path, read_head(path)) == 0.65
    h = load_history([path])
    loss = curve(h, "train", "val", "loss")
    assert loss["step"].tolist() == [100, 200]
    assert loss["epoch"].isna().all()
    assert loss["value"].tolist() == [2.6, 2.4]


def test_repeated_header_starts_a_new_run(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("epoch,loss\n0,1.0\n1,0.5\nepoch,loss\n2,0.4\n3,0.3\n")
    runs = csv_table.read(path)
    assert [r.name for r in runs] == ["log/run1", "log/run2"]
    assert runs[1].events["value"].tolist() == [0.4, 0.3]


def test_unmapped_columns_are_reported(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("epoch,loss,foo_bar\n0,1.0,3\n1,0.5,4\n")
    h = load_history([path])
    assert h.info("log").unmapped_keys == ("foo_bar",)


def test_non_utf8_bytes_are_read(tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes("epoch,loss,val_loss,caf\xe9\n0,1.0,1.2,x\n".encode("latin-1"))
    h = load_history([path])
    assert curve(h, "log", "val", "loss")["value"].tolist() == [1.2]


def test_junk_csv_is_not_a_training_log(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("name,age,city\nBob,31,Paris\nAda,36,London\n")
    assert csv_table.sniff(path, read_head(path)) == 0.0
    with pytest.raises(InputError, match="not a training log"):
        load_history([path])


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"epoch,loss,val_loss\r\n", "header only"),
        (b"", "empty"),
        (b"\x00\x01\x02\xff" * 100, "binary"),
        (b"epoch,loss\n0,1,2,3\n1,2\n", "more fields than the header"),
        (b"epoch,loss\n0,1\n1,2,5,6\n", "not a readable table"),
    ],
)
def test_unusable_files_raise_input_error(tmp_path, content, reason):
    path = tmp_path / "training.log"
    path.write_bytes(content)
    with pytest.raises(InputError, match=reason):
        csv_table.read(path)


@pytest.mark.slow
def test_million_rows_are_all_read(tmp_path):
    """Every row of a big file becomes events (speed is measured in benchmarks/bench_logs.py)."""
    n = 1_000_000
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"epoch": np.arange(n), "loss": rng.random(n), "val_loss": rng.random(n)})
    path = tmp_path / "big.csv"
    table.to_csv(path, index=False)
    runs = csv_table.read(path)
    assert len(runs) == 1 and len(runs[0].events) == 2 * n
    assert runs[0].events["value"].iloc[-1] == pytest.approx(table["val_loss"].iloc[-1])
