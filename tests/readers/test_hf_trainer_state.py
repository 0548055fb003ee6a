"""hf_trainer_state reader: Hugging Face Trainer trainer_state.json."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from overfit_doctor.errors import InputError
from overfit_doctor.history.load import find_logs, load_history
from overfit_doctor.history.readers import hf_trainer_state, json_history
from overfit_doctor.history.source import read_head

FIX = Path(__file__).parent.parent / "fixtures" / "logs" / "hf_trainer_state"
JAYPEE = FIX / "jaypee_customer_sentiment_3ep.json"  # grad_norm, 3 epoch-end evals
FRANCIS = FIX / "francis_weibo_rumor_100ep_trainonly.json"  # no eval, summary entry
ELEANOR = FIX / "eleanorgit_flaubert_multilabel_4ep.json"  # list values, duplicated final eval
EMPTY = FIX / "muntasir64_sarcasm_empty_log_history.json"  # log_history: []


def curve(history, split, metric):
    f = history.frame
    rows = f[(f["split"] == split) & (f["metric"] == metric)]
    return rows.sort_values("step")


def pairs(history):
    return set(zip(history.frame["split"], history.frame["metric"], strict=True))


def at_step(rows, step):
    return rows[rows["step"] == step]["value"].tolist()


def test_sniff_real_files_and_rejects_others():
    for f in (JAYPEE, FRANCIS, ELEANOR, EMPTY):
        head = read_head(f)
        assert hf_trainer_state.sniff(f, head) == 0.95
        assert hf_trainer_state.sniff(f, head) > json_history.sniff(f, head)
    assert hf_trainer_state.sniff(Path("trainer_state.json"), '{\n  "epoch": 1.0,') == 0.6
    assert hf_trainer_state.sniff(Path("x.csv"), "epoch,loss\n0,1\n") == 0.0
    assert hf_trainer_state.sniff(Path("a.json"), '{"loss": [1, 2]}') == 0.0


def test_jaypee_train_and_eval_curves():
    h = load_history([JAYPEE])
    assert h.run_names == ["jaypee_customer_sentiment_3ep"]
    assert {
        ("train", "loss"),
        ("train", "lr"),
        ("train", "grad_norm"),
        ("val", "loss"),
        ("val", "accuracy"),
        ("val", "f1_macro"),
    } <= pairs(h)
    train = curve(h, "train", "loss")
    val = curve(h, "val", "loss")
    assert len(train) == 48 and len(val) == 3
    assert at_step(train, 800) == [0.33516613006591794]
    assert train[train["step"] == 800]["epoch"].iloc[0] == pytest.approx(0.9815950920245399)
    assert at_step(val, 815) == [0.3252468705177307]
    assert val["epoch"].tolist() == [1.0, 2.0, 3.0]
    assert at_step(curve(h, "val", "accuracy"), 2445) == [0.9180227202947497]
    info = h.info("jaypee_customer_sentiment_3ep")
    assert "eval_runtime" in info.ignored_keys
    assert any(
        "best_metric = 0.6534430847919005" in n and "checkpoint-2445" in n for n in info.notes
    )


def test_summary_entry_is_not_the_training_curve():
    h = load_history([FRANCIS])
    train = curve(h, "train", "loss")
    assert len(train) == 51
    assert train["step"].max() == 25500
    assert at_step(train, 25500) == [0.1636]
    assert 0.3071320072440214 not in h.frame["value"].tolist()  # the run mean
    assert "train_loss" not in h.frame["source_key"].tolist()
    assert set(h.frame["split"]) == {"train"}  # no eval at all
    notes = h.info("francis_weibo_rumor_100ep_trainonly").notes
    assert any("summary entry dropped" in n and "0.3071320072440214" in n for n in notes)


def test_duplicated_final_eval_and_list_values():
    h = load_history([ELEANOR])
    val = curve(h, "val", "loss")
    assert val["step"].tolist() == [240, 480, 720, 960]  # the repeat after the summary is dropped
    assert at_step(val, 960) == [0.16397254168987274]
    assert at_step(curve(h, "val", "roc_auc"), 960) == [0.8371074829931973]
    assert curve(h, "train", "loss")["value"].tolist() == [0.2919, 0.1799, 0.1441, 0.118]
    assert not any("thresholds" in k for k in h.frame["source_key"])
    notes = h.info("eleanorgit_flaubert_multilabel_4ep").notes
    assert any("eval_thresholds" in n for n in notes)
    assert any("second time at step 960" in n for n in notes)
    assert any("best_metric = 0.7432675044883303" in n for n in notes)


def test_empty_log_history_gives_an_empty_run():
    h = load_history([EMPTY])
    assert h.run_names == ["muntasir64_sarcasm_empty_log_history"]
    assert len(h.frame) == 0
    notes = h.info("muntasir64_sarcasm_empty_log_history").notes
    assert "log_history is empty (logging_steps > max_steps?)" in notes


def _state(log_history, **top):
    return {"best_metric": None, "global_step": 30, "log_history": log_history, **top}


def test_nan_and_infinity_literals_are_kept(tmp_path):
    out = tmp_path / "my_model"
    out.mkdir()
    text = json.dumps(
        _state(
            [
                {"epoch": 0.5, "loss": 2.0, "step": 10},
                {"epoch": 1.0, "loss": float("nan"), "step": 20},
                {"epoch": 1.0, "eval_loss": float("inf"), "step": 20},
            ]
        )
    )
    assert "NaN" in text and "Infinity" in text
    (out / "trainer_state.json").write_text(text)
    h = load_history([out / "trainer_state.json"])
    assert h.run_names == ["my_model"]
    train = curve(h, "train", "loss")
    assert train["value"].iloc[0] == 2.0 and math.isnan(train["value"].iloc[1])
    assert at_step(curve(h, "val", "loss"), 20) == [math.inf]


def test_newest_checkpoint_state_is_read(tmp_path):
    out = tmp_path / "results"
    for step in (100, 200, 50):
        ckpt = out / f"checkpoint-{step}"
        ckpt.mkdir(parents=True)
        history = [{"epoch": s / 100, "loss": 1 / s, "step": s} for s in range(10, step + 1, 10)]
        (ckpt / "trainer_state.json").write_text(json.dumps(_state(history), indent=2))
    found = find_logs(out)
    assert [f.path.parent.name for f in found] == ["checkpoint-200"]
    h = load_history([out])
    assert h.run_names == ["results"]  # the output dir, not checkpoint-200
    assert curve(h, "train", "loss")["step"].max() == 200


def test_top_level_state_wins_over_checkpoints(tmp_path):
    out = tmp_path / "run"
    (out / "checkpoint-10").mkdir(parents=True)
    small = _state([{"epoch": 1.0, "loss": 1.0, "step": 10}])
    full = _state(
        [{"epoch": 1.0, "loss": 1.0, "step": 10}, {"epoch": 2.0, "loss": 0.5, "step": 20}]
    )
    (out / "checkpoint-10" / "trainer_state.json").write_text(json.dumps(small))
    (out / "trainer_state.json").write_text(json.dumps(full))
    h = load_history([out])
    assert curve(h, "train", "loss")["value"].tolist() == [1.0, 0.5]


def test_truncated_json_names_the_position(tmp_path):
    cut = tmp_path / "trainer_state.json"
    cut.write_bytes(JAYPEE.read_bytes()[:3000])
    with pytest.raises(InputError, match=r"invalid JSON: .* at line \d+ column \d+"):
        hf_trainer_state.read(cut)
    with pytest.raises(InputError, match="invalid JSON"):
        load_history([cut])


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[{"log_history": []}]', "expected a JSON object"),
        ('{"epoch": 3.0, "global_step": 3}', "no log_history list"),
        ('{"log_history": {"loss": 1}}', "no log_history list"),
    ],
)
def test_unusable_states_raise_input_error(tmp_path, text, reason):
    path = tmp_path / "trainer_state.json"
    path.write_text(text)
    with pytest.raises(InputError, match=reason):
        hf_trainer_state.read(path)


def test_copy_keeps_run_name_from_file_stem(tmp_path):
    copy = tmp_path / "renamed_state.json"
    shutil.copy(JAYPEE, copy)
    assert [r.name for r in hf_trainer_state.read(copy)] == ["renamed_state"]
