"""tensorboard reader: event files from torch SummaryWriter, Keras TensorBoard, Lightning, TF2."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from overfit_doctor.errors import InputError
from overfit_doctor.history.load import find_logs, load_history
from overfit_doctor.history.readers import tensorboard
from tests.readers import curve, pairs

pytest.importorskip("tensorboard")
SummaryWriter = pytest.importorskip("torch.utils.tensorboard").SummaryWriter

FIX = Path(__file__).parent.parent / "fixtures" / "logs" / "tensorboard"  # see make_fixtures.py
TORCH = FIX / "torch_mlp_digits"
KERAS = FIX / "keras_digits"
LIGHTNING = FIX / "lightning_digits"
TF2 = FIX / "tf2_tensor_digits"


FOUR = {("train", "loss"), ("val", "loss"), ("train", "accuracy"), ("val", "accuracy")}


def test_sniff():
    event_file = next(TORCH.iterdir())
    assert tensorboard.sniff(event_file, "") == 0.95
    assert tensorboard.sniff(TORCH, "") == 0.95
    assert tensorboard.sniff(KERAS, "") == 0.9  # events one level down (train/, validation/)
    assert tensorboard.sniff(FIX / "make_fixtures.py", "") == 0.0
    assert tensorboard.sniff(LIGHTNING, "") == 0.0  # two levels down: found from lightning_logs/
    assert tensorboard.sniff(LIGHTNING / "lightning_logs", "") == 0.9


def test_torch_summary_writer_fixture():
    h = load_history([TORCH])
    run = "torch_mlp_digits"
    assert h.run_names == [run]
    assert pairs(h, run) == FOUR  # the weight histogram is not a scalar
    val = curve(h, run, "val", "loss")
    assert val["step"].tolist() == [0, 1, 2, 3, 4, 5]
    assert val["value"].iloc[0] == pytest.approx(0.6663404107093811, rel=1e-7)
    assert val["value"].iloc[5] == pytest.approx(0.1364763230085373, rel=1e-7)
    assert val["source_key"].iloc[0] == "Loss/val"


def test_keras_callback_layout_is_one_run_with_train_and_val():
    h = load_history([KERAS])
    run = "keras_digits"
    assert h.run_names == [run]
    assert pairs(h, run) == FOUR | {("train", "lr")}
    val = curve(h, run, "val", "loss")
    assert val["source_key"].tolist() == ["validation/epoch_loss"] * 6
    assert val["epoch"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert val["value"].iloc[1] == pytest.approx(0.2504996657371521, rel=1e-7)
    info = h.info(run)
    assert "validation/evaluation_loss_vs_iterations" in info.ignored_keys
    assert any("Keras TensorBoard layout" in n for n in info.notes)


def test_lightning_version_folder_with_epoch_scalar():
    h = load_history([LIGHTNING])
    run = "version_0"
    assert h.run_names == [run]
    assert pairs(h, run) == {("train", "loss"), ("val", "loss"), ("val", "accuracy")}
    train = curve(h, run, "train", "loss")
    assert train["step"].tolist() == [22, 45, 68, 91, 114, 137]
    assert train["epoch"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]  # from the `epoch` scalar
    assert train["value"].iloc[0] == pytest.approx(1.4929841756820679, rel=1e-7)
    assert "epoch" not in h.frame["source_key"].tolist()


def test_tf2_tensor_summaries():
    h = load_history([TF2])
    run = "tf2_tensor_digits"
    assert pairs(h, run) == FOUR
    acc = curve(h, run, "val", "accuracy")
    assert acc["value"].tolist() == pytest.approx(
        [0.5722222328, 0.8277778029, 0.8861111402, 0.9305555820, 0.9472222328, 0.9499999881]
    )


def test_fixture_folder_holds_four_runs():
    found = find_logs(FIX)
    assert [(f.path, f.reader.FORMAT) for f in found] == [(FIX, "tensorboard")]
    h = load_history([FIX])
    assert sorted(h.run_names) == [
        "keras_digits",
        "tf2_tensor_digits",
        "torch_mlp_digits",
        "version_0",
    ]


def test_event_file_given_directly_in_a_split_folder():
    file = next((KERAS / "validation").iterdir())
    h = load_history([file])
    assert h.run_names == ["keras_digits"]
    assert set(h.frame["split"]) == {"val"}


def test_summary_writer_tags_nan_inf_and_every_point(tmp_path):
    run_dir = tmp_path / "runs" / "exp1"
    writer = SummaryWriter(str(run_dir))
    n = 12_000  # more than EventAccumulator's default 10,000-scalar sample
    for i in range(n):
        writer.add_scalar("train/loss", 1.0 / (i + 1), i)
    for i, v in enumerate([0.9, float("nan"), float("inf")]):
        writer.add_scalar("Loss/val", v, i * 100)
    writer.add_scalars("Acc", {"train": 0.5, "val": 0.4}, 0)  # sub-writers Acc_train/, Acc_val/
    writer.add_text("note", "hello", 0)
    writer.close()
    h = load_history([tmp_path / "runs"])
    assert h.run_names == ["exp1"]
    train = curve(h, "exp1", "train", "loss")
    assert len(train) == n
    assert train["value"].iloc[-1] == pytest.approx(1.0 / n, rel=1e-6)
    val = curve(h, "exp1", "val", "loss")["value"].tolist()
    assert val[0] == pytest.approx(0.9) and math.isnan(val[1]) and val[2] == math.inf
    acc = curve(h, "exp1", "val", "accuracy")
    assert acc["source_key"].tolist() == ["Acc/val"] and acc["value"].iloc[0] == pytest.approx(0.4)
    assert curve(h, "exp1", "train", "accuracy")["value"].iloc[0] == pytest.approx(0.5)


def test_keras_layout_imitation_with_summary_writer(tmp_path):
    """SummaryWriter imitation of keras' train/ + validation/ layout (the real one is a fixture)."""
    for sub, losses in (("train", [1.0, 0.5, 0.2]), ("validation", [1.1, 0.7, 0.9])):
        writer = SummaryWriter(str(tmp_path / "logs" / sub))
        for epoch, loss in enumerate(losses):
            writer.add_scalar("epoch_loss", loss, epoch)
        writer.close()
    h = load_history([tmp_path / "logs"])
    assert h.run_names == ["logs"]
    val = curve(h, "logs", "val", "loss")
    assert val["value"].tolist() == pytest.approx([1.1, 0.7, 0.9])
    assert val["epoch"].tolist() == [0.0, 1.0, 2.0]


def test_two_runs_in_one_folder(tmp_path):
    for name in ("a", "b"):
        writer = SummaryWriter(str(tmp_path / name))
        writer.add_scalar("loss", 1.0, 0)
        writer.close()
    h = load_history([tmp_path])
    assert sorted(h.run_names) == ["a", "b"]


def test_garbage_event_file_is_an_input_error(tmp_path):
    bad = tmp_path / "events.out.tfevents.123.host"
    bad.write_bytes(b"this is not a TFRecord file at all, just text" * 10)
    with pytest.raises(InputError, match="not a TensorBoard event file"):
        load_history([bad])


def test_missing_tensorboard_package_is_an_input_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard.backend.event_processing.event_file_loader", None)
    with pytest.raises(InputError, match=r"pip install 'overfit-doctor\[tensorboard\]'"):
        tensorboard.read(TORCH)
