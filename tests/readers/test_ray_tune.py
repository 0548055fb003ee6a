"""ray_tune reader. The trial folder fixture is HAND-WRITTEN from the documented layout
(no real Ray Tune output in the corpus); see tests/fixtures/logs/README.md."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from overfit_doctor.errors import InputError
from overfit_doctor.history.load import find_logs, load_history
from overfit_doctor.history.readers import csv_table, json_history, ray_tune
from overfit_doctor.history.source import read_head
from tests.readers import curve, pairs

TRIAL = next((Path(__file__).parent.parent / "fixtures" / "logs" / "ray_tune").iterdir())
RESULT = TRIAL / "result.json"
PROGRESS = TRIAL / "progress.csv"


def test_fixture_is_the_trial_folder():
    assert TRIAL.name.startswith("train_fn_39f11_00000_0_lr=0.001")


def test_sniff():
    assert ray_tune.sniff(TRIAL, "") == 0.95
    assert ray_tune.sniff(TRIAL.parent, "") == 0.0
    for f in (RESULT, PROGRESS):
        assert ray_tune.sniff(f, read_head(f)) == 0.95
    assert json_history.sniff(RESULT, read_head(RESULT)) < 0.3
    assert csv_table.sniff(PROGRESS, read_head(PROGRESS)) < 0.95
    not_ray = "epoch,train_loss,test_loss\n0,1.0,1.1\n"  # a custom progress.csv
    assert ray_tune.sniff(Path("progress.csv"), not_ray) == 0.0


def test_trial_folder_through_load_is_one_run():
    found = find_logs(TRIAL)
    assert [(f.path, f.reader.FORMAT) for f in found] == [(TRIAL, "ray_tune")]
    h = load_history([TRIAL])
    name = TRIAL.name
    assert h.run_names == [name]
    assert pairs(h, name) == {("train", "loss"), ("val", "loss"), ("train", "mean_accuracy")}
    val = curve(h, name, "val", "loss")
    assert val["step"].tolist() == [1, 2, 3, 4]
    assert val["epoch"].tolist() == [0, 1, 2, 3]
    assert val["value"].tolist() == [1.3012, 1.1456, 1.1893, 1.2675]
    info = h.info(name)
    assert info.notes == (
        "x = training_iteration (1-based count of Tune reports), kept as the step",
        "read result.json",
    )
    assert "time_total_s" in info.ignored_keys and "pid" in info.ignored_keys
    assert not any(k.startswith("config") for k in info.ignored_keys + info.unmapped_keys)


def test_progress_csv_alone_matches_result_json():
    from_csv = ray_tune.read(PROGRESS)[0]
    from_json = ray_tune.read(RESULT)[0]
    assert from_csv.name == from_json.name == TRIAL.name
    assert "2 config/ columns (hyper-parameters) skipped" in from_csv.notes
    keys = ["loss", "val_loss", "mean_accuracy"]
    a = from_csv.events[from_csv.events["key"].isin(keys)].reset_index(drop=True)
    b = from_json.events[from_json.events["key"].isin(keys)].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_experiment_folder_gives_one_run_per_trial(tmp_path):
    exp = tmp_path / "my_experiment"
    exp.mkdir()
    shutil.copytree(TRIAL, exp / "train_fn_a_00000")
    second = exp / "train_fn_a_00001"
    second.mkdir()
    shutil.copyfile(PROGRESS, second / "progress.csv")  # no result.json in this one
    (exp / "experiment_state-2023-03-28_10-08-57.json").write_text('{"checkpoints": []}')
    h = load_history([exp])
    assert sorted(h.run_names) == ["train_fn_a_00000", "train_fn_a_00001"]
    assert h.info("train_fn_a_00001").notes[1] == "read progress.csv"
    assert len(curve(h, "train_fn_a_00001", "train", "loss")) == 4


@pytest.mark.parametrize("ending", [b"\r\n", b"\r\r\n"])
def test_line_endings(tmp_path, ending):
    trial = tmp_path / "trial_x"
    trial.mkdir()
    for f in (RESULT, PROGRESS):
        (trial / f.name).write_bytes(f.read_bytes().replace(b"\n", ending))
    got = ray_tune.read(trial)[0]
    assert got.name == "trial_x"
    pd.testing.assert_frame_equal(got.events, ray_tune.read(RESULT)[0].events)


def test_truncated_last_line_and_nan(tmp_path):
    lines = RESULT.read_text().splitlines()
    lines[1] = lines[1].replace('"val_loss": 1.1456', '"val_loss": NaN')
    trial = tmp_path / "trial_y"
    trial.mkdir()
    (trial / "result.json").write_text("\n".join(lines[:3]) + "\n" + lines[3][:40])
    run = ray_tune.read(trial)[0]
    assert run.notes[0] == "last line 4 is incomplete JSON (file still being written?): ignored"
    val = run.events[run.events["key"] == "val_loss"]["value"].tolist()
    assert len(val) == 3 and math.isnan(val[1])


def test_unusable(tmp_path):
    empty = tmp_path / "empty_trial"
    empty.mkdir()
    (empty / "result.json").write_text("")
    assert ray_tune.sniff(empty, "") == 0.0
    with pytest.raises(InputError, match=r"no result\.json or progress\.csv"):
        ray_tune.read(empty)
    broken = tmp_path / "result.json"
    broken.write_text('{"loss": 1.0, "training_iteration": 1}\n{"loss": 0.5, "tra\n{"loss"\n')
    with pytest.raises(InputError, match="line 2 is not valid JSON"):
        ray_tune.read(broken)
