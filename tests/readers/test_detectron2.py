"""detectron2 reader: output/metrics.json (JSON Lines)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from overfit_doctor.errors import InputError
from overfit_doctor.history.load import load_history
from overfit_doctor.history.readers import detectron2, json_history
from overfit_doctor.history.source import read_head

FIX = Path(__file__).parent.parent / "fixtures" / "logs" / "detectron2"
MASKRCNN = FIX / "levimagny_detectron2_maskrcnn_metrics.json"  # 15 lines, iterations 19..299


def curve(history, split, metric):
    f = history.frame
    return f[(f["split"] == split) & (f["metric"] == metric)].sort_values("step")


def test_sniff_json_lines_not_a_json_document():
    head = read_head(MASKRCNN)
    with pytest.raises(json.JSONDecodeError):
        json.loads(MASKRCNN.read_text())
    assert detectron2.sniff(MASKRCNN, head) == 0.95
    assert detectron2.sniff(MASKRCNN, head) > json_history.sniff(MASKRCNN, head)
    ray = '{"loss": 1.8, "training_iteration": 4, "trial_id": "39f11_00000"}\n'
    assert detectron2.sniff(Path("result.json"), ray) == 0.0
    assert detectron2.sniff(Path("x.csv"), "iteration,loss\n1,2\n") == 0.0


def test_real_mask_rcnn_metrics():
    h = load_history([MASKRCNN])
    assert h.run_names == ["detectron2"]  # the folder holding metrics.json
    loss = curve(h, "train", "loss")
    assert loss["source_key"].unique().tolist() == ["total_loss"]
    assert len(loss) == 15
    assert loss["step"].tolist() == list(range(19, 300, 20))
    assert loss["value"].iloc[0] == 2.0359768134658225
    assert loss["value"].iloc[-1] == 0.26559973329131026
    assert loss["epoch"].isna().all()
    pairs = set(zip(h.frame["split"], h.frame["metric"], strict=True))
    assert {("train", "loss_cls"), ("train", "loss_mask"), ("train", "lr")} <= pairs
    assert "val" not in set(h.frame["split"])  # no evaluation in this run
    info = h.info("detectron2")
    assert {"time", "data_time", "eta_seconds", "roi_head/num_fg_samples"} <= set(info.ignored_keys)


def _lines(*entries):
    return "".join(json.dumps(e) + "\n" for e in entries)


def test_eval_lines_are_validation_metrics(tmp_path):
    out = tmp_path / "output"
    out.mkdir()
    path = out / "metrics.json"
    path.write_text(
        _lines(
            {"iteration": 19, "total_loss": 2.0, "loss_cls": 0.7, "lr": 0.001},
            {"iteration": 39, "total_loss": float("nan"), "loss_cls": 0.6, "lr": 0.002},
            {
                "iteration": 39,
                "bbox/AP": 12.5,
                "bbox/AP50": 30.1,
                "segm/AP": 10.0,
                "bbox/AP-person": 11.0,
                "my_val/bbox/AP": 9.0,
            },
            {"iteration": 39, "validation_loss": 1.9},
        )
    )
    h = load_history([out])
    assert h.run_names == ["output"]
    assert curve(h, "val", "bbox_ap")["value"].tolist() == [12.5]
    assert curve(h, "val", "bbox_ap50")["value"].tolist() == [30.1]
    assert curve(h, "val", "segm_ap")["value"].tolist() == [10.0]
    assert curve(h, "val", "bbox_ap_person")["value"].tolist() == [11.0]
    assert curve(h, "val", "loss")["value"].tolist() == [1.9]
    train = curve(h, "train", "loss")["value"].tolist()
    assert train[0] == 2.0 and math.isnan(train[1])
    assert any("validation metrics" in n for n in h.info("output").notes)


def test_truncated_last_line_is_skipped_with_a_note(tmp_path):
    path = tmp_path / "metrics.json"
    text = _lines({"iteration": 19, "total_loss": 2.0}, {"iteration": 39, "total_loss": 1.0})
    path.write_text(text + '{"iteration": 59, "total_lo')
    run = detectron2.read(path)[0]
    assert run.events["value"].tolist() == [2.0, 1.0]
    assert any("line 3 is truncated" in n for n in run.notes)


def test_broken_line_in_the_middle_is_an_input_error(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text('{"iteration": 19, "total_loss": 2.0}\n{oops\n{"iteration": 39}\n')
    with pytest.raises(InputError, match=r"metrics.json:2: not a JSON Lines record"):
        load_history([path])
    path.write_text('{"iteration": 19, "total_loss": 2.0}\n[1, 2]\n')
    with pytest.raises(InputError, match="one JSON object per line"):
        detectron2.read(path)
