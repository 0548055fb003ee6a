"""plain_text reader: Keras console, nanoGPT and generic printed training logs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from overfit_doctor.errors import InputError
from overfit_doctor.history.load import load_history
from overfit_doctor.history.readers import plain_text, reader_for
from overfit_doctor.history.source import read_head

FIX = Path(__file__).parent.parent / "fixtures" / "logs" / "plain_text"
KERAS = FIX / "antoinedw_cat_dog_keras_console_40ep.txt"  # Keras 2, verbose=2 style, 40 epochs
NANO = FIX / "chenzihua_nanogpt_shakespeare_nan.log"  # loss turns nan at iter 425


def curve(history, split, metric):
    f = history.frame
    return f[(f["split"] == split) & (f["metric"] == metric)]


def pairs(history):
    return set(zip(history.frame["split"], history.frame["metric"], strict=True))


def write(tmp_path: Path, text: str, name: str = "train.log") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_aliases():
    assert reader_for("keras_console") is plain_text
    assert reader_for("nanogpt") is plain_text


def test_sniff_scores():
    assert plain_text.sniff(KERAS, read_head(KERAS)) == 0.9
    assert plain_text.sniff(NANO, read_head(NANO)) == 0.9
    generic = "Epoch 1/200 | Loss: 0.6924\nEpoch 2/200 | Loss: 0.6801\n"
    assert plain_text.sniff(Path("log.txt"), generic) == 0.7
    # never CSV or JSON, and nothing for text without a recognizable pattern
    assert plain_text.sniff(Path("x.csv"), generic) == 0.0
    assert plain_text.sniff(Path("h.json"), '{"loss": [0.5]}') == 0.0
    assert plain_text.sniff(Path("log.txt"), '{"epoch": 1, "loss": 0.5}\n') == 0.0
    assert (
        plain_text.sniff(Path("training.log"), "epoch,loss,val_loss\n0,0.9,1.0\n1,0.8,0.9\n") == 0
    )
    prose = "This is a readme.\nThe model reached loss: 0.5 eventually.\nSee epoch notes.\n"
    assert plain_text.sniff(Path("README.txt"), prose) == 0.0
    ckpt = "Epoch 00003: val_loss improved from 0.50000 to 0.40000, saving model to w.h5\n"
    assert plain_text.sniff(Path("log.txt"), ckpt) == 0.0


def test_real_keras_console():
    h = load_history([KERAS])
    assert h.run_names == ["antoinedw_cat_dog_keras_console_40ep"]
    assert pairs(h) == {
        ("train", "loss"),
        ("train", "accuracy"),
        ("val", "loss"),
        ("val", "accuracy"),
    }
    val = curve(h, "val", "loss")
    assert len(val) == 40
    assert val["epoch"].tolist() == [float(e) for e in range(1, 41)]
    assert val[val["epoch"] == 1]["value"].tolist() == [0.6710]
    assert curve(h, "val", "accuracy").set_index("epoch")["value"][40.0] == 0.8488
    assert curve(h, "train", "loss").set_index("epoch")["value"][39.0] == 0.3190
    assert h.frame["step"].isna().all()


def test_real_nanogpt_keeps_the_nan():
    h = load_history([NANO])
    run = "chenzihua_nanogpt_shakespeare_nan"
    assert h.run_names == [run]
    train = curve(h, "train", "loss").set_index("step")["value"]
    assert len(train) == 91  # iter 0, 5, ..., 450
    assert train[420] == 3.5023
    assert math.isnan(train[425]) and math.isnan(train[450])
    assert train.loc[:420].notna().all()
    val = curve(h, "val", "loss").set_index("step")["value"]
    assert val.index.tolist() == [0, 100, 200, 300, 400]
    assert val[200] == 3.4427
    estimate = curve(h, "train", "estimated_loss").set_index("step")["value"]
    assert estimate[400] == 3.3296
    assert any("nanoGPT" in n for n in h.info(run).notes)


def test_keras_verbose1_progress_bars(tmp_path):
    text = (
        "Found 20000 images belonging to 2 classes.\r\n"
        "Epoch 1/2\r\n"
        "\r 1/10 [==>....] - ETA: 5s - loss: 0.9000 - acc: 0.1000"
        "\r 5/10 [====>...] - ETA: 2s - loss: 0.8000 - acc: 0.2000"
        "\r10/10 [==========] - 3s 300ms/step - loss: 0.7000 - acc: 0.3000"
        " - val_loss: 0.7500 - val_acc: 0.2500\r\n"
        "Epoch 2/2\r\n"
        " 1/10 [==>....] - ETA: 5s - loss: 0.6000" + "\b" * 40 + "10/10 [==========] - 3s "
        "300ms/step - loss: 0.5000 - acc: 0.4000 - val_loss: nan - val_acc: 0.3500\r\n"
        "Test accuracy: 0.91\r\n"
    )
    h = load_history([write(tmp_path, text)])
    assert curve(h, "train", "loss")["value"].tolist() == [0.7, 0.5]
    assert curve(h, "train", "accuracy")["value"].tolist() == [0.3, 0.4]
    val = curve(h, "val", "loss")["value"].tolist()
    assert val[0] == 0.75 and math.isnan(val[1])
    assert 0.91 not in h.frame["value"].tolist()


def test_keras3_alphabetical_with_ansi_codes(tmp_path):
    text = (
        "Epoch 1/2\n"
        "\x1b[1m  1/313\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m 5:00 1s/step - "
        "accuracy: 0.1 - loss: 2.3"
        "\r\x1b[1m313/313\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m \x1b[1m351s\x1b[0m 1s/step - "
        "accuracy: 0.5609 - loss: 0.6855 - val_accuracy: 0.5822 - val_loss: 0.6710 - "
        "learning_rate: 1.0000e-03\n"
        "Epoch 2/2\n"
        "313/313 - 3s - 9ms/step - accuracy: 0.6 - loss: 0.6 - "
        "val_accuracy: 0.61 - val_loss: 0.62\n"
    )
    h = load_history([write(tmp_path, text)])
    assert curve(h, "train", "loss")["value"].tolist() == [0.6855, 0.6]
    assert curve(h, "val", "accuracy")["value"].tolist() == [0.5822, 0.61]
    assert curve(h, "train", "lr")["value"].tolist() == [0.001]


def test_python_logging_lines_with_percent(tmp_path):
    text = (
        "2025-04-24 21:17:50,001 - INFO - Loading data from /data/fer2013\n"
        "2025-04-24 21:17:53,828 - INFO - Epoch [1/50], Train Loss: 1.9463, Train Acc: 20.34%, "
        "Val Loss: 1.9097, Val Acc: 17.37%\n"
        "2025-04-24 21:18:53,828 - INFO - Epoch [2/50], Train Loss: 1.8000, Train Acc: 25.00%, "
        "Val Loss: 1.8500, Val Acc: 22.00%\n"
        "2025-04-24 21:18:54,000 - INFO - Saved best model (val acc 22.00%)\n"
    )
    h = load_history([write(tmp_path, text, "training.log")])
    assert pairs(h) == {
        ("train", "loss"),
        ("train", "accuracy"),
        ("val", "loss"),
        ("val", "accuracy"),
    }
    acc = curve(h, "val", "accuracy")
    assert acc["value"].tolist() == [17.37, 22.0] and acc["epoch"].tolist() == [1.0, 2.0]
    assert acc["source_key"].tolist() == ["Val Acc", "Val Acc"]
    assert any("percent" in n and "Val Acc" in n for n in h.info("training").notes)


def test_minimal_epoch_lines_ignore_final_score(tmp_path):
    text = "Epoch 1/200 | Loss: 0.6924\nEpoch 2/200 | Loss: 0.6801\nIoU Score: 0.4253\n"
    h = load_history([write(tmp_path, text)])
    loss = curve(h, "train", "loss")
    assert loss["value"].tolist() == [0.6924, 0.6801] and loss["epoch"].tolist() == [1.0, 2.0]
    assert len(h.frame) == 2


def test_sklearn_mlp_verbose(tmp_path):
    text = (
        "Iteration 1, loss = 0.69314718\nValidation score: 0.512000\n"
        "Iteration 2, loss = 0.52000000\nValidation score: 0.700000\n"
        "Validation score did not improve more than tol=0.000100 for 10 consecutive epochs.\n"
    )
    assert plain_text.sniff(Path("out.txt"), text) == 0.8
    h = load_history([write(tmp_path, text, "out.txt")])
    loss = curve(h, "train", "loss")
    assert loss["value"].tolist() == [0.69314718, 0.52] and loss["step"].tolist() == [1, 2]
    assert curve(h, "val", "score")["value"].tolist() == [0.512, 0.7]


def test_step_lines_within_epochs_get_a_global_step(tmp_path):
    text = (
        "Epoch [1/3], Step [100/12942], Loss: 4.7777, Perplexity: 118.8320\n"
        "Epoch [1/3], Step [200/12942], Loss: 4.1000, Perplexity: 60.3000\n"
        "Epoch [2/3], Step [100/12942], Loss: 3.0000, Perplexity: 20.1000\n"
    )
    h = load_history([write(tmp_path, text)])
    loss = curve(h, "train", "loss")
    assert loss["step"].tolist() == [100, 200, 13042]
    assert loss["epoch"].tolist() == [1.0, 1.0, 2.0]


def test_tqdm_segments_keep_the_last(tmp_path):
    text = (
        "Epoch 1: 100%|██████████| 313/313 [00:10<00:00, 30.1it/s, loss=0.5]"
        "\rEpoch 1: 100%|██████████| 313/313 [00:10<00:00, 30.1it/s, loss=0.45, val_loss=0.6]\n"
        "Epoch 2: 100%|██████████| 313/313 [00:10<00:00, 30.1it/s, loss=0.4, val_loss=0.55]\n"
    )
    h = load_history([write(tmp_path, text)])
    assert curve(h, "train", "loss")["value"].tolist() == [0.45, 0.4]
    assert curve(h, "val", "loss")["value"].tolist() == [0.6, 0.55]


def test_hf_printed_dicts_skip_the_summary(tmp_path):
    text = (
        "***** Running training *****\n"
        "{'loss': 0.6931, 'grad_norm': 3.83, 'learning_rate': 1.5e-05, 'epoch': 0.5}\n"
        "{'eval_loss': 0.65, 'eval_accuracy': 0.7, 'eval_runtime': 1.2, 'epoch': 1.0}\n"
        "{'train_runtime': 100.0, 'train_loss': 0.55, 'epoch': 1.0}\n"
    )
    h = load_history([write(tmp_path, text)])
    assert curve(h, "train", "loss")["value"].tolist() == [0.6931]
    assert curve(h, "val", "loss")["epoch"].tolist() == [1.0]
    assert 0.55 not in h.frame["value"].tolist()


def test_text_without_metrics_is_an_input_error(tmp_path):
    path = write(tmp_path, "hello\nworld\n")
    with pytest.raises(InputError, match="no training metrics recognized"):
        plain_text.read(path)
    with pytest.raises(InputError):
        load_history([path])
