"""mlflow reader: MLflow file store (mlruns/<exp>/<run>/metrics/<name>)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from overfit_doctor.errors import InputError
from overfit_doctor.history.load import find_logs, load_history
from overfit_doctor.history.readers import mlflow
from tests.readers import curve

FIX = Path(__file__).parent.parent / "fixtures" / "logs" / "mlflow"
DIPLO = FIX / "christiandagatti_dl_diplo_run"  # train_loss + test_loss, 3 steps
SWAHILI = FIX / "swahili_stt_keras_autolog"  # Keras autolog: loss only, step = epoch


def test_sniff_run_metrics_and_parent_folders():
    assert mlflow.sniff(DIPLO, "") == 0.95
    assert mlflow.sniff(DIPLO / "metrics", "") == 0.95
    assert mlflow.sniff(FIX, "") == 0.95  # a folder of runs, like an experiment
    assert mlflow.sniff(FIX.parent, "") == 0.0
    assert mlflow.sniff(SWAHILI / "metrics" / "loss", "1628697792090 332.68 0\n") == 0.9
    assert mlflow.sniff(Path("loss"), "1628697792090 332.68 0\n") == 0.0


def test_real_run_with_test_loss_as_validation():
    h = load_history([DIPLO])
    assert h.run_names == ["christiandagatti_dl_diplo_run"]
    assert set(zip(h.frame["split"], h.frame["metric"], strict=True)) == {
        ("train", "loss"),
        ("test", "loss"),
    }
    run = "christiandagatti_dl_diplo_run"
    test = curve(h, run, "test", "loss")
    assert test["step"].tolist() == [0, 1, 2]
    assert test["value"].tolist() == [0.5485490583166291, 0.5294241656230975, 0.5126287703272663]
    assert curve(h, run, "train", "loss")["value"].iloc[-1] == 0.5120998127772786
    assert h.frame["epoch"].isna().all()


def test_metrics_folder_and_single_file_are_accepted():
    h = load_history([DIPLO / "metrics"])
    assert h.run_names == ["christiandagatti_dl_diplo_run"] and len(h.frame) == 6
    h = load_history([SWAHILI / "metrics" / "loss"])
    assert h.run_names == ["swahili_stt_keras_autolog"]
    loss = curve(h, "swahili_stt_keras_autolog", "train", "loss")
    assert len(loss) == 10 and loss["step"].tolist() == list(range(10))
    assert loss[loss["step"] == 9]["value"].tolist() == [234.7978057861328]


def test_folder_of_runs_gives_one_run_each():
    found = find_logs(FIX)
    assert [(f.path, f.reader.FORMAT) for f in found] == [(FIX, "mlflow")]
    h = load_history([FIX])
    assert sorted(h.run_names) == ["christiandagatti_dl_diplo_run", "swahili_stt_keras_autolog"]
    assert len(h.frame) == 16


def _write_run(exp: Path, run_id: str, metrics: dict[str, list[str]], name: str | None = None):
    run = exp / run_id
    (run / "metrics").mkdir(parents=True)
    (run / "meta.yaml").write_text(f"run_id: {run_id}\n")
    for key, lines in metrics.items():
        file = run / "metrics" / key
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text("".join(f"{line}\n" for line in lines))
    if name:
        (run / "tags").mkdir()
        (run / "tags" / "mlflow.runName").write_text(name)
    return run


@pytest.fixture
def mlruns(tmp_path):
    root = tmp_path / "mlruns"
    (root / "0").mkdir(parents=True)
    (root / "0" / "meta.yaml").write_text("name: Default\n")
    (root / ".trash").mkdir()
    exp = root / "1"
    _write_run(
        exp,
        "a1b2",
        {
            "loss": ["1700000000000 0.9 0", "1700000000100 0.5 10", "1700000000200 nan 20"],
            "eval/accuracy": ["1700000000050 0.7 10", "1700000000250 0.8 20"],
            "epoch": ["1700000000000 0.0 0", "1700000000100 0.5 10", "1700000000200 1.0 20"],
        },
        name="bert-lr3e-5",
    )
    _write_run(exp, "c3d4", {"val_loss": ["1700000000000 -inf 0", "1700000000000 1.5e-3 1"]})
    return root


def test_mlruns_tree(mlruns):
    h = load_history([mlruns])
    assert sorted(h.run_names) == ["bert-lr3e-5", "c3d4"]  # tag name, else run folder
    loss = curve(h, "bert-lr3e-5", "train", "loss")
    assert loss["step"].tolist() == [0, 10, 20]
    assert math.isnan(loss["value"].iloc[2])  # logged nan kept
    assert loss["epoch"].tolist() == [0.0, 0.5, 1.0]  # filled from the epoch metric
    acc = curve(h, "bert-lr3e-5", "val", "accuracy")
    assert acc["source_key"].tolist() == ["eval/accuracy", "eval/accuracy"]
    assert acc["epoch"].tolist() == [0.5, 1.0]
    assert "epoch" not in h.frame["source_key"].tolist()
    assert any("epoch metric" in n or "`epoch`" in n for n in h.info("bert-lr3e-5").notes)
    val = curve(h, "c3d4", "val", "loss")
    assert val["value"].tolist() == [-math.inf, 0.0015]
    assert val["epoch"].isna().all()


def test_experiment_folder(mlruns):
    assert mlflow.sniff(mlruns / "1", "") == 0.95
    runs = mlflow.read(mlruns / "1")
    assert sorted(r.name for r in runs) == ["bert-lr3e-5", "c3d4"]


def test_malformed_metric_line_names_file_and_line(mlruns):
    bad = mlruns / "1" / "c3d4" / "metrics" / "val_loss"
    bad.write_text("1700000000000 0.5 0\nnot a metric line\n")
    with pytest.raises(InputError, match=r"val_loss:2: not an MLflow metric line"):
        load_history([mlruns / "1" / "c3d4"])


def test_folder_without_runs_is_not_mlflow(tmp_path):
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "loss").write_text("epoch,loss\n0,1\n")
    assert mlflow.sniff(tmp_path, "") == 0.0
    assert mlflow.sniff(tmp_path / "metrics", "") == 0.0
    with pytest.raises(InputError):
        mlflow.read(tmp_path / "nothing")
