"""Memorization and capacity checks: OD201 (overfit one small batch) and the label
randomization test (OD202 memorizes random labels, OD203 labels not learnable, OD204 shuffled
labels score above chance). Real small trainings at budget quick, plus the probe math against
naive references."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes, load_digits
from sklearn.metrics import balanced_accuracy_score, r2_score
from torch import nn

from overfit_doctor import Spec
from overfit_doctor.api import diagnose
from overfit_doctor.checks.memorization import (
    LabelShuffleParams,
    SmallBatchParams,
    chance_se,
    fit_time,
    gain,
    judge_shuffle,
    judge_small_batch,
    rank_causes,
)
from overfit_doctor.probes import label_shuffle, small_batch
from overfit_doctor.probes.context import ProbeContext
from overfit_doctor.spec import load_spec

SPECS = Path(__file__).resolve().parents[2] / "benchmarks" / "faults" / "specs"
CODES = ["OD201", "OD202", "OD203", "OD204"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models: intra-op threads only add contention on a shared CPU (10x slower here)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run(spec, select=CODES, **kw):
    if isinstance(spec, str):
        spec = load_spec(SPECS / f"{spec}.py")
    return diagnose(spec=spec, budget="quick", select=select, **kw)


def codes(d) -> list[str]:
    return sorted(f.code for f in d.findings)


def record(d, check_id):
    return next(r for r in d.checks if r.id == check_id)


def _digits(n_train: int | None = None):
    X, y = load_digits(return_X_y=True)
    X = (X - X.mean(0)) / (X.std(0) + 1e-6)
    X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    tr, va = (X[:1300], y[:1300]), (X[1300:], y[1300:])
    if n_train is not None:
        tr = (tr[0][:n_train], tr[1][:n_train])
    return tr, va


def _mlp(*tail: nn.Module, hidden: int = 64) -> nn.Sequential:
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10), *tail)


# --- fault specs and healthy specs, end to end ------------------------------------------------


def test_healthy_mlp_gets_no_finding_and_fits_the_batch():
    d = run("healthy_mlp")
    assert d.findings == ()
    sb = record(d, "small-batch-overfit")
    assert sb.status == "ran" and sb.measurements["fitted"] is True
    assert sb.measurements["steps_needed"] < 200
    lr = record(d, "label-randomization")
    assert lr.status == "ran" and lr.measurements["judged"] is True
    m = lr.measurements
    # real labels learned and generalize, shuffled labels not memorized in 12 epochs
    assert m["true_held_out"] > 0.85 and m["shuffled_train_gain"] < 0.5
    curves = m["probe"]["runs"][0]
    assert len(curves["true"]["train_score"]) == len(curves["shuffled"]["held_out_score"]) == 12
    plot = d.figures["model/label-shuffle"]
    assert plot["kind"] == "lines" and len(plot["series"]) == 4
    real = plot["series"]["real labels, train"]  # epoch 0 is the untrained model
    assert real["x"] == list(range(13))
    assert real["y"] == [curves["true"]["train_score_at_init"], *curves["true"]["train_score"]]
    assert d.figures["model/small-batch"]["series"]["loss floor"]["y"] == [0.0, 0.0]


def test_tiny_learning_rate_cannot_overfit_a_small_batch():
    d = run("tiny_learning_rate")
    assert codes(d) == ["OD201"]  # OD203 is withheld: the model cannot learn at all
    f = d.findings[0]
    assert f.symptom == "cannot_overfit_small_batch" and f.severity.label == "error"
    assert f.evidence["likely_causes"][0]["cause"] == "learning-rate-too-small"
    assert f.evidence["first_update_ratio"] < 1e-5 and f.evidence["loss_drop"] < 0.01
    assert f.evidence["thresholds"]["small_update_ratio"] == SmallBatchParams().small_update_ratio
    assert "learning rate too small" in f.message
    notes = record(d, "label-randomization").measurements["notes"]
    assert any("OD201" in n for n in notes)


def test_softmax_before_cross_entropy_blames_the_loss_wiring():
    train, val = _digits()
    d = run(Spec(model=lambda: _mlp(nn.Softmax(dim=1)), train=train, val=val), select=["OD201"])
    assert codes(d) == ["OD201"]
    f = d.findings[0]
    assert f.evidence["likely_causes"][0]["cause"] == "loss-wiring"
    assert "Softmax" in f.message and f.evidence["final_batch_accuracy"] == 1.0


def test_label_smoothing_is_not_mistaken_for_a_failure():
    """CrossEntropyLoss(label_smoothing=0.1) cannot go below ~0.5 on 10 classes: its floor."""
    train, val = _digits()
    spec = Spec(model=_mlp, train=train, val=val, loss=nn.CrossEntropyLoss(label_smoothing=0.1))
    d = run(spec, select=["OD201"])
    assert d.findings == ()
    m = record(d, "small-batch-overfit").measurements
    assert m["fitted"] and m["loss_floor"] == pytest.approx(0.5003, abs=1e-3)


def test_labels_shuffled_by_the_pipeline_are_not_learnable():
    d = run("labels_shuffled_by_pipeline")
    assert codes(d) == ["OD203"]
    f = d.findings[0]
    assert f.symptom == "no_generalization" and f.severity.label == "error"
    ev = f.evidence
    assert ev["diagnosis"] == "labels not learnable" and ev["small_batch_fits"] is True
    assert ev["true_held_out"] <= ev["chance_held_out"] + ev["chance_margin"]
    assert ev["train_advantage"] < LabelShuffleParams().min_train_advantage


def test_huge_model_on_100_samples_memorizes_random_labels():
    d = run("huge_model_100_samples", select=["OD202", "OD203", "OD204"])
    assert codes(d) == ["OD202"]
    f = d.findings[0]
    assert f.symptom == "memorization" and f.severity.label == "warning"
    ev = f.evidence
    assert ev["shuffled_train_score"] >= 0.9 and ev["slowdown"] <= 4
    assert ev["parameters"] > 1_000_000 and ev["parameters_per_training_sample"] > 10_000


def test_warm_start_from_weights_that_saw_validation_scores_above_chance():
    d = run("mem_label_leak", select=["OD204"])
    assert codes(d) == ["OD204"]
    f = d.findings[0]
    assert f.symptom == "data_leakage"
    assert f.evidence["held_out_at_init"] > 0.9  # the untrained model already knows the task
    assert f.evidence["shuffled_held_out_mean"] > 0.4 and f.evidence["z"] > 4
    assert "initial weights" in f.message


def test_healthy_regression_gets_no_finding():
    d = run("healthy_regression")
    assert d.findings == ()
    m = record(d, "label-randomization").measurements
    assert m["probe"]["metric"] == "r2" and m["true_held_out"] > 0.2


def test_misaligned_regression_targets_are_not_learnable():
    X, y = load_diabetes(return_X_y=True)
    X, y = (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()
    X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    y_train = y[:330][torch.randperm(330, generator=torch.Generator().manual_seed(0))]

    def model():
        return nn.Sequential(
            nn.Linear(10, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 1)
        )

    d = run(Spec(model=model, train=(X[:330], y_train), val=(X[330:], y[330:])))
    assert codes(d) == ["OD203"]
    ev = d.findings[0].evidence
    assert ev["metric"] == "r2" and ev["true_held_out"] < 0.1 and ev["true_train_score"] > 0.2
    correct = Spec(model=model, train=(X[:330], y[:330]), val=(X[330:], y[330:]))
    assert run(correct, select=["OD203"]).findings == ()


def test_no_validation_split_holds_out_training_rows():
    train, _ = _digits()
    d = run(Spec(model=_mlp, train=train), select=["OD202", "OD203", "OD204"])
    assert d.findings == ()
    pr = record(d, "label-randomization").measurements["probe"]
    assert pr["held_out_source"] == "train holdout" and pr["held_out_samples"] == 325
    assert pr["train_samples_used"] == 512


def test_multi_label_targets_are_judged_on_the_loss_not_on_r2():
    """Float 0/1 targets with four outputs look like regression to the context; R^2 of logits
    would be meaningless, so the small batch is judged on the BCE loss and the shuffle test
    says why it does not score."""
    (X, y), (Xv, yv) = _digits()

    def attributes(t):
        return torch.stack([t >= 5, t % 2 == 0, (t == 0) | (t == 8), (t == 1) | (t == 7)], 1)

    spec = Spec(
        model=lambda: nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4)),
        train=(X, attributes(y).float()),
        val=(Xv, attributes(yv).float()),
        loss=nn.BCEWithLogitsLoss(),
    )
    d = run(spec)
    assert d.findings == ()
    sb = record(d, "small-batch-overfit").measurements
    assert sb["fitted"] and sb["fit_metric"] is None and sb["loss_fraction"] <= 0.1
    shuffle = record(d, "label-randomization")
    assert shuffle.status == "skipped" and "multi-label" in shuffle.reason


def test_a_loss_that_cannot_be_computed_is_not_judged():
    """Targets beyond the model's outputs: both checks run, say why, and report nothing."""
    train, val = _digits()
    d = run(Spec(model=lambda: nn.Linear(64, 5), train=train, val=val))
    assert d.findings == ()
    for check in ("small-batch-overfit", "label-randomization"):
        r = record(d, check)
        assert r.status == "skipped" and "loss cannot be computed" in r.reason


def test_experiments_are_deterministic_and_leave_the_user_data_alone():
    train, val = _digits(300)
    before = (train[0].clone(), train[1].clone())
    spec = Spec(model=_mlp, train=train, val=val)
    results = []
    for _ in range(2):
        ctx = ProbeContext.build(spec, "quick")
        results.append((label_shuffle.run(ctx), small_batch.run(ctx)))
    assert results[0] == results[1]
    assert torch.equal(train[0], before[0]) and torch.equal(train[1], before[1])


# --- probe math against naive references ---------------------------------------------------------


def test_r2_matches_sklearn():
    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    out = y + rng.normal(scale=0.5, size=50)
    got = small_batch.r2(torch.tensor(out).reshape(-1, 1), torch.tensor(y))
    assert got == pytest.approx(r2_score(y, out))
    center = torch.tensor(0.3, dtype=torch.float64)  # against the training mean instead
    naive = 1 - np.sum((y - out) ** 2) / np.sum((y - 0.3) ** 2)
    assert small_batch.r2(torch.tensor(out), torch.tensor(y), center) == pytest.approx(naive)


def test_balanced_accuracy_accumulated_over_batches_matches_sklearn():
    train, val = _digits(200)
    ctx = ProbeContext.build(Spec(model=_mlp, train=train, val=val), "quick")
    scorer = label_shuffle.Scorer(ctx, train[1])
    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 10, (333,), generator=g)
    y[y == 3] = 4  # a class missing from these labels
    logits = torch.randn(333, 10, generator=g) + 2.0 * nn.functional.one_hot(y, 10)
    parts = sum(scorer.parts(logits[i : i + 50], y[i : i + 50]) for i in range(0, 333, 50))
    balanced, accuracy = scorer.combine(parts)
    pred = logits.argmax(1).numpy()
    assert balanced == pytest.approx(balanced_accuracy_score(y.numpy(), pred))
    assert accuracy == pytest.approx(float((pred == y.numpy()).mean()))
    assert scorer.chance(y) == pytest.approx(1 / 9)


def test_chance_standard_error_matches_simulated_guessing():
    counts = [40, 10, 25]
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), counts)
    guesses = rng.integers(0, 3, (20000, len(y)))  # a predictor that ignores the input
    recalls = [(guesses[:, y == c] == c).mean(1) for c in range(3)]
    sims = np.mean(recalls, axis=0)  # balanced accuracy of each simulated predictor
    assert balanced_accuracy_score(y, guesses[0]) == pytest.approx(sims[0])
    assert chance_se(counts, 1 / 3) == pytest.approx(np.std(sims), rel=0.03)
    assert chance_se([50], 1.0) is None


def test_label_smoothing_floor_is_the_minimum_of_the_loss():
    loss = nn.CrossEntropyLoss(label_smoothing=0.2)
    floor = small_batch.loss_floor(loss, (8, 5), 8)
    target = torch.tensor([0, 1, 2, 3, 4, 0, 1, 2])
    smoothed = torch.full((8, 5), 0.2 / 5) + 0.8 * nn.functional.one_hot(target, 5)
    assert float(loss(smoothed.log(), target)) == pytest.approx(floor, rel=1e-5)
    logits = torch.zeros(8, 5, requires_grad=True)
    opt = torch.optim.Adam([logits], lr=0.1)
    for _ in range(500):
        opt.zero_grad()
        loss(logits, target).backward()
        opt.step()
    assert float(loss(logits, target).detach()) == pytest.approx(floor, abs=1e-3)
    assert small_batch.loss_floor(nn.MSELoss(), (8, 1), 8) == 0.0
    assert small_batch.loss_floor(lambda o, t: (o - t).abs().mean(), (8, 1), 8) is None


def test_update_ratio_and_output_spread():
    a = [torch.ones(3, 4), torch.ones(2)]
    b = [torch.ones(3, 4) * 1.1, torch.ones(2)]
    naive = math.sqrt(12 * 0.01) / math.sqrt(14)
    assert small_batch.update_ratio(a, b) == pytest.approx(naive, rel=1e-6)
    same = torch.tensor([[1.0, -2.0], [1.0, -2.0]])
    assert small_batch.output_spread(same, torch.zeros(2), "classification") == 0.0
    y = torch.tensor([0.0, 2.0])
    assert small_batch.output_spread(torch.tensor([[1.0], [2.0]]), y, "regression") == 0.5


def test_fit_time_interpolates_between_epochs():
    run_ = {"train_score_at_init": 0.1, "train_score": [0.1, 0.46, 0.82, 1.0]}
    # chance 0.1: gains 0, 0, 0.4, 0.8, 1.0 at t = 0, 0.5, 1.5, 2.5, 3.5 -> 0.9 at t = 3.0
    assert fit_time(run_, 0.1, "balanced_accuracy", 0.9) == pytest.approx(3.0)
    assert fit_time(run_, 0.1, "balanced_accuracy", 1.01) is None
    assert gain(0.55, 0.1, "balanced_accuracy") == pytest.approx(0.5)
    assert gain(0.3, 0.0, "r2") == 0.3


# --- verdict logic on synthetic measurements ------------------------------------------------------


def _sb(**kw):
    base = {
        "task": "classification",
        "loss": "CrossEntropyLoss",
        "samples": 16,
        "steps_run": 200,
        "initial_loss": 2.3,
        "final_loss": 1.5,
        "min_loss": 1.5,
        "loss_floor": 0.0,
        "loss_finite": True,
        "final_fit": 0.6,
        "best_fit": 0.6,
        "last_quarter_drop": 0.0,
        "trainable_parameters": 1000,
        "share_without_grad": 0.0,
        "first_update_ratio": 1e-2,
        "total_update_ratio": 0.5,
        "output_activation": None,
        "output_spread": 0.8,
        "constant_inputs": False,
        "distinct_targets": 8,
        "target_range": None,
    }
    return {**base, **kw}


def test_small_batch_verdicts():
    p = SmallBatchParams()
    assert judge_small_batch(_sb(final_loss=0.1, min_loss=0.1, final_fit=1.0), p)["fitted"]
    slow = judge_small_batch(_sb(last_quarter_drop=0.2), p)
    assert not slow["fires"] and slow["still_improving"]  # slow but working: inconclusive
    stuck = judge_small_batch(_sb(), p)
    assert stuck["fires"] and stuck["causes"][-1]["cause"] == "capacity"
    strict = judge_small_batch(_sb(last_quarter_drop=0.2), replace(p, plateau_drop=0.5))
    assert strict["fires"]


def test_small_batch_causes_are_ranked_by_evidence():
    p = SmallBatchParams()

    def top(**kw):
        return rank_causes(_sb(**kw), p, 0.6, 0.3, kw.get("best_fit", 0.6))[0]["cause"]

    assert top(share_without_grad=0.99, tensors_without_grad=["0.weight"]) == "frozen-parameters"
    assert top(share_without_grad=0.99, tensors_with_zero_grad=["0.weight"]) == "zero-gradients"
    assert top(constant_inputs=True) == "constant-inputs"
    assert top(loss_finite=False) == "learning-rate-too-large"
    assert top(output_activation="Sigmoid", loss="BCEWithLogitsLoss") == "loss-wiring"
    assert top(best_fit=1.0) == "loss-wiring"
    assert top(output_spread=0.01) == "input-ignored"
    assert top(first_update_ratio=1e-6) == "learning-rate-too-small"
    assert top() == "capacity"
    regression = _sb(
        task="regression", loss="MSELoss", output_activation="Sigmoid", target_range=[-2.0, 3.0]
    )
    assert rank_causes(regression, p, 0.6, 0.3, None)[0]["cause"] == "loss-wiring"


def _shuffle_probe(true_ho, shuffled_ho, true_fit=0.99, shuffled_fit=0.3, at_init=0.1):
    def run_(ho, fit, init):
        return {
            "train_score_at_init": 0.1,
            "train_score": [0.1 + (fit - 0.1) * e / 11 for e in range(1, 13)],
            "final_train_score": fit,
            "held_out_score": [ho] * 12,
            "final_held_out_score": ho,
            "held_out_score_at_init": init,
            "diverged": False,
        }

    return {
        "judged": True,
        "metric": "balanced_accuracy",
        "chance_train": 0.1,
        "chance_held_out": 0.1,
        "held_out_samples": 450,
        "held_out_class_counts": [45] * 10,
        "train_samples_used": 512,
        "coverage": 1.0,
        "num_classes": 10,
        "runs": [
            {
                "true": run_(true_ho, true_fit, 0.1),
                "shuffled": run_(shuffled_ho, shuffled_fit, at_init),
            }
        ],
    }


def test_shuffle_verdicts_on_synthetic_runs():
    p = LabelShuffleParams()
    fits = {"fires": False}
    assert judge_shuffle(_shuffle_probe(0.95, 0.1), fits, p)["fires"] == []
    assert judge_shuffle(_shuffle_probe(0.12, 0.11, 0.4, 0.4), fits, p)["fires"] == ["OD203"]
    # the same numbers when the model cannot fit a small batch: withheld
    assert judge_shuffle(_shuffle_probe(0.12, 0.11, 0.4, 0.4), {"fires": True}, p)["fires"] == []
    # shuffled-label training 35 points above chance on held-out data: OD204
    leak = judge_shuffle(_shuffle_probe(0.95, 0.45), fits, p)
    assert leak["fires"] == ["OD204"] and leak["shuffled_z"] > 4
    # 0.2 of the gap is the line: just below it, nothing
    assert judge_shuffle(_shuffle_probe(0.95, 0.27), fits, p)["fires"] == []
    # memorized as fast as the real labels, on the whole training set: OD202
    mem = judge_shuffle(_shuffle_probe(0.9, 0.1, 1.0, 0.99), fits, p)
    assert mem["fires"] == ["OD202"] and mem["slowdown"] == pytest.approx(1.0, abs=0.1)
    subset = _shuffle_probe(0.9, 0.1, 1.0, 0.99) | {"coverage": 0.3}
    assert judge_shuffle(subset, fits, p)["fires"] == []
