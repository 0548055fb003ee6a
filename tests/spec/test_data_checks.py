"""Data checks OD501-OD504: a triggering and a non-triggering case per code from real small
data (sklearn digits, breast cancer, diabetes), plus the probe's math against naive
references."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from overfit_doctor import Spec
from overfit_doctor.api import diagnose
from overfit_doctor.catalogue.model import Severity
from overfit_doctor.checks.data_checks import (
    OverlapParams,
    ScaleParams,
    overlap_measurements,
    scale_problems,
)
from overfit_doctor.probes import data as probe
from overfit_doctor.spec import load_spec

SPECS = Path(__file__).resolve().parents[2] / "benchmarks" / "faults" / "specs"
sys.path.insert(0, str(SPECS))
from common import diabetes, digits, digits_images, mlp  # noqa: E402


def _spec(name: str) -> Spec:
    return load_spec(SPECS / f"{name}.py")


def _run(spec: Spec | str, code: str):
    spec = _spec(spec) if isinstance(spec, str) else spec
    d = diagnose(spec=spec, budget="quick", select=[code])
    record = next(r for r in d.checks if code in r.codes)
    assert record.status == "ran", (record.status, record.reason)
    return [f for f in d.findings if f.code == code], record.measurements


def _serious(findings):
    return [f for f in findings if f.severity >= Severity.WARNING]


def _digits_spec(train, val, model=None, **kw) -> Spec:
    return Spec(model=model or (lambda: mlp(64, 10, hidden=32)), train=train, val=val, **kw)


# --- OD501 train-val duplicates ---------------------------------------------------------------


def test_od501_fires_on_validation_rows_copied_from_train():
    findings, _m = _run("val_rows_copied_from_train", "OD501")
    (f,) = findings
    assert f.severity is Severity.ERROR and f.symptom == "data_leakage"
    assert f.evidence["exact"] == 200 and f.evidence["val_rows"] == 650
    assert f.evidence["share"] == pytest.approx(200 / 650)
    assert f.evidence["same_label_share"] == 1.0
    assert f.evidence["thresholds"]["min_share"] == 0.01
    assert f.confidence >= 0.8 and "30.8%" in f.message


def test_od501_quiet_on_a_clean_split():
    findings, m = _run("healthy_mlp", "OD501")
    assert findings == []
    assert m["exact"] == 0 and m["near"] == 0 and m["fires"] is False


def test_od501_finds_near_duplicates_and_respects_min_rows():
    (Xtr, ytr), (Xva, yva) = digits()
    g = torch.Generator().manual_seed(1)
    copies = Xtr[:40] + 0.002 * torch.randn(Xtr[:40].shape, generator=g)  # re-encoded copies
    spec = _digits_spec((Xtr, ytr), (torch.cat([Xva, copies]), torch.cat([yva, ytr[:40]])))
    (f,) = _run(spec, "OD501")[0]
    assert f.severity is Severity.ERROR
    assert f.evidence["exact"] == 0 and f.evidence["near"] == 40
    # three copied rows (0.6% of validation, under min_rows) are not enough
    few = _digits_spec((Xtr, ytr), (torch.cat([Xva, Xtr[:3]]), torch.cat([yva, ytr[:3]])))
    findings, m = _run(few, "OD501")
    assert findings == [] and m["exact"] == 3


def _binary_features(n: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    X = torch.randint(0, 2, (n, 6), generator=g).float()
    y = (X[:, 0] + X[:, 1] > 1).long()
    return X, y


def test_od501_natural_repeats_of_discrete_inputs_are_only_info():
    # 6 binary features: 64 possible rows, so most rows repeat by chance in both splits
    train, val = _binary_features(600, 0), _binary_features(200, 1)
    spec = Spec(model=lambda: mlp(6, 2, hidden=8), train=train, val=val)
    findings, m = _run(spec, "OD501")
    assert m["repeats_natural"] and m["share"] > 0.9
    assert len(findings) == 1 and findings[0].severity is Severity.INFO
    assert _serious(findings) == []


def test_od501_oversampling_before_the_split_is_an_error():
    # continuous features: repeated rows cannot be chance, so train's own repeats explain nothing
    (Xtr, ytr), (Xva, yva) = digits()
    X = torch.cat([Xtr, Xva, Xtr[:300], Xtr[:300]])  # minority rows oversampled ...
    y = torch.cat([ytr, yva, ytr[:300], ytr[:300]])
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    X, y = X[perm], y[perm]  # ... then shuffled and split
    spec = _digits_spec((X[:1800], y[:1800]), (X[1800:], y[1800:]))
    findings, m = _run(spec, "OD501")
    assert not m["repeats_natural"] and m["train_internal_share"] > 0.1
    (f,) = findings
    assert f.severity is Severity.ERROR and "oversampled" in f.message


# --- OD502 label distribution shift -----------------------------------------------------------


def test_od502_fires_when_a_split_lacks_half_the_classes():
    (f,) = _run("split_missing_half_the_classes", "OD502")[0]
    assert f.symptom == "distribution_shift"
    assert f.evidence["new_in_val"] == ["5", "6", "7", "8", "9"]
    assert set(f.evidence["missing_in_val"]) >= {"0", "1", "2", "3"}
    assert f.confidence >= 0.9


def test_od502_quiet_on_stratified_and_random_splits():
    assert _run("healthy_mlp", "OD502")[0] == []
    # a plain random (unstratified) split: class shares wobble, but not significantly
    (Xtr, ytr), (Xva, yva) = digits()
    X, y = torch.cat([Xtr, Xva]), torch.cat([ytr, yva])
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(3))
    X, y = X[perm], y[perm]
    findings, m = _run(_digits_spec((X[:1400], y[:1400]), (X[1400:], y[1400:])), "OD502")
    assert findings == [] and m["tvd"] < 0.1


def test_od502_fires_on_shifted_class_shares_without_missing_classes():
    (Xtr, ytr), (Xva, yva) = digits()
    keep = (yva < 5) | (torch.arange(len(yva)) % 5 == 0)  # classes 5-9 thinned to a fifth
    findings, m = _run(_digits_spec((Xtr, ytr), (Xva[keep], yva[keep])), "OD502")
    assert m["missing_in_val"] == [] and m["new_in_val"] == []
    (f,) = findings
    assert f.evidence["tvd"] >= 0.1 and f.evidence["chi2_p"] < 1e-3


def test_od502_regression_targets_split_by_value():
    assert _run("healthy_regression", "OD502")[0] == []
    (Xtr, ytr), (Xva, yva) = diabetes()
    X, y = torch.cat([Xtr, Xva]), torch.cat([ytr, yva])
    order = torch.argsort(y)  # sorted by target, split without shuffling
    X, y = X[order], y[order]
    spec = Spec(
        model=lambda: mlp(10, 1, hidden=16),
        train=(X[:330], y[:330]),
        val=(X[330:], y[330:]),
        loss=nn.MSELoss(),
    )
    (f,) = _run(spec, "OD502")[0]
    assert f.evidence["ks_statistic"] > 0.9 and "Kolmogorov" in f.message


# --- OD503 class imbalance --------------------------------------------------------------------


def test_od503_fires_on_a_rare_class():
    (f,) = _run("data_class_imbalance", "OD503")[0]
    assert f.severity is Severity.WARNING and f.symptom == "class_imbalance"
    assert f.evidence["ratio"] == pytest.approx(268 / 16)
    assert f.evidence["thresholds"]["max_ratio"] == 10.0


def test_od503_quiet_on_balanced_classes_and_info_when_the_loss_is_weighted():
    findings, m = _run("healthy_mlp", "OD503")
    assert findings == [] and m["ratio"] < 1.1
    spec = _spec("data_class_imbalance")
    weighted = Spec(
        model=spec.model,
        train=spec.train,
        val=spec.val,
        loss=nn.CrossEntropyLoss(weight=torch.tensor([16.0, 1.0])),
    )
    (f,) = _run(weighted, "OD503")[0]
    assert f.severity is Severity.INFO


def test_od503_skipped_for_regression():
    findings, m = _run("healthy_regression", "OD503")
    assert findings == [] and m["judged"] is False


# --- OD504 unnormalized inputs ----------------------------------------------------------------


def test_od504_fires_on_raw_pixels():
    (f,) = _run("raw_unscaled_features", "OD504")[0]
    assert f.severity is Severity.WARNING and f.symptom == "unnormalized_inputs"
    assert f.evidence["train"]["global_rms"] == pytest.approx(7.75, abs=0.1)
    assert [p["rule"] for p in f.evidence["train_problems"]] == ["max_rms"]
    assert f.where["split"] == "train"


def test_od504_fires_on_features_of_very_different_scales():
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.25, random_state=0)
    t = lambda a, b: (torch.tensor(a, dtype=torch.float32), torch.tensor(b))  # noqa: E731
    spec = Spec(model=lambda: mlp(30, 2, hidden=16), train=t(Xtr, ytr), val=t(Xva, yva))
    (f,) = _run(spec, "OD504")[0]
    assert "max_scale_spread" in [p["rule"] for p in f.evidence["train_problems"]]


@pytest.mark.parametrize("case", ["healthy_mlp", "healthy_cnn", "healthy_regression"])
def test_od504_quiet_on_standardized_inputs(case):
    findings, m = _run(case, "OD504")
    assert findings == [] and m["train_problems"] == []
    assert m["parameters_per_training_sample"] > 0  # context, never a finding


def test_od504_quiet_on_unit_interval_images_and_in_model_scaling():
    (Xtr, ytr), (Xva, yva) = digits(scale=False)
    unit = _digits_spec((Xtr / 16, ytr), (Xva / 16, yva))  # pixels in [0, 1]
    assert _run(unit, "OD504")[0] == []

    class Scaled(nn.Module):  # divides by 16 inside forward: the first layer sees [0, 1]
        def __init__(self):
            super().__init__()
            self.net = mlp(64, 10, hidden=32)

        def forward(self, x):
            return self.net(x / 16.0)

    findings, m = _run(_digits_spec((Xtr, ytr), (Xva, yva), model=lambda: Scaled()), "OD504")
    assert findings == [] and m["measured_at"] == "input of `net.0`"

    bn_first = lambda: nn.Sequential(nn.BatchNorm1d(64), mlp(64, 10, hidden=32))  # noqa: E731
    findings, m = _run(_digits_spec((Xtr, ytr), (Xva, yva), model=bn_first), "OD504")
    assert findings == [] and "normalizes its input" in m["scale_skipped"]


def test_od504_validation_left_unscaled():
    (Xtr, ytr), _ = digits()
    _, (Xva_raw, yva) = digits(scale=False)  # scaler fitted and applied to train only
    (f,) = _run(_digits_spec((Xtr, ytr), (Xva_raw, yva)), "OD504")[0]
    assert f.where["split"] == "val" and "Validation inputs" in f.message


def test_od504_nan_inputs_are_an_error():
    (Xtr, ytr), (Xva, yva) = digits()
    Xtr = Xtr.clone()
    Xtr[5, 3] = float("nan")
    Xtr[9, 0] = float("inf")
    (f,) = _run(_digits_spec((Xtr, ytr), (Xva, yva)), "OD504")[0]
    assert f.severity is Severity.ERROR
    assert f.evidence["non_finite"]["train_inputs"] == 2
    assert f.evidence["non_finite"]["train_input_rows"] == 2


def test_od504_skips_token_ids():
    g = torch.Generator().manual_seed(0)
    X = torch.randint(0, 50, (300, 12), generator=g)
    y = torch.randint(0, 2, (300,), generator=g)

    def model():
        return nn.Sequential(nn.Embedding(50, 8), nn.Flatten(), nn.Linear(96, 2))

    findings, m = _run(Spec(model=model, train=(X, y), val=(X[:50], y[:50])), "OD504")
    assert findings == [] and "integer inputs" in m["scale_skipped"]


# --- probe math against naive references ------------------------------------------------------


def test_near_distances_match_brute_force():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((400, 20)).astype(np.float32)
    B = rng.standard_normal((150, 20)).astype(np.float32)
    B[:60] = A[rng.choice(400, 60, replace=False)] + rng.normal(0, 0.01, (60, 20))
    got = probe.near_distances(A, B, seed=0)
    naive = np.sqrt(((B[:, None, :] - A[None, :, :]) ** 2).mean(2)).min(1)
    close = naive <= probe.NEAR_MAX
    assert close.sum() == 60
    np.testing.assert_allclose(got[close], naive[close], rtol=1e-4, atol=1e-6)
    assert np.all(got[~close] > probe.NEAR_MAX)  # far rows: no candidate or a true distance
    # self-join: a row never matches itself
    self_d = probe.near_distances(A, A, seed=0, self_join=True)
    assert np.all(self_d > 0.1)


def test_natural_collision_matches_naive_counts():
    g = torch.Generator().manual_seed(0)
    X = torch.cat(
        [torch.randint(0, 3, (500, 2), generator=g), torch.randint(0, 7, (500, 3), generator=g)], 1
    ).float()
    n = len(X)
    naive = 0.0
    for j in range(X.shape[1]):
        _, c = torch.unique(X[:, j], return_counts=True)
        naive += math.log10((float((c.double() ** 2).sum()) - n) / (n * (n - 1)))
    assert probe.natural_collision_log10(X) == pytest.approx(naive, rel=1e-9)
    continuous = torch.randn(300, 4, generator=g)
    assert probe.natural_collision_log10(continuous) == -math.inf


def test_row_digests_fold_negative_zero_and_float64():
    a = torch.tensor([[0.0, 1.5], [2.0, 3.0]], dtype=torch.float64)
    b = torch.tensor([[-0.0, 1.5], [2.0, 3.001]], dtype=torch.float32)
    da, db = probe.row_digests(a, integer=False), probe.row_digests(b, integer=False)
    assert da[0] == db[0] and da[1] != db[1]


def test_chi_square_matches_scipy():
    from scipy.stats import chi2_contingency

    a, b = np.array([30.0, 50, 20, 7]), np.array([10.0, 30, 25, 2])
    stat, p, dof = probe.chi_square_homogeneity(a, b)
    ref = chi2_contingency(np.vstack([a, b]), correction=False)
    assert stat == pytest.approx(ref[0]) and p == pytest.approx(ref[1]) and dof == ref[2]


def test_ks_two_sample_matches_scipy():
    from scipy.stats import ks_2samp, kstwobign

    rng = np.random.default_rng(0)
    for shift in (0.0, 0.2, 0.5):
        a, b = rng.normal(0, 1, 300), rng.normal(shift, 1, 120)
        d, p = probe.ks_two_sample(a, b)
        assert d == pytest.approx(ks_2samp(a, b).statistic)
        t = math.sqrt(300 * 120 / 420) * d
        assert p == pytest.approx(kstwobign.sf(t), rel=1e-6, abs=1e-12)


def test_feature_stats_per_channel_match_numpy():
    (Xtr, _), _ = digits_images()
    X = torch.cat([Xtr, 3 * Xtr + 5], 1)  # two channels on different scales
    st = probe.feature_stats(X)
    arr = X.numpy().astype(np.float64)
    ch1 = arr[:, 1].ravel()
    assert st["axis"] == "channels" and st["features"] == 2
    assert st["max_feature_rms"] == pytest.approx(math.sqrt((ch1**2).mean()), rel=1e-9)
    assert st["global_rms"] == pytest.approx(math.sqrt((arr**2).mean()), rel=1e-9)


def test_overlap_share_is_scaled_by_the_training_rows_searched():
    base = {
        "model_class": "M",
        "train_samples": 10000,
        "overlap": {
            "val_rows": 1000,
            "val_total": 1000,
            "exact": 20,
            "exact_same_label": 20,
            "exact_examples": [],
            "examples_are_user_rows": False,
            "near_distances": [0.001, 0.03],
            "train_internal_near_distances": [],
            "train_coverage": 0.2,
            "train_rows_hashed": 2000,
            "train_sample_rows": 2000,
            "train_internal_exact": 0,
            "natural_twin_rate": 0.0,
            "natural_log10_pair": None,
            "integer_inputs": False,
        },
    }
    m = overlap_measurements(base, OverlapParams())
    # 20 exact + 1 near (0.03 > 0.02) among 1000 rows, 20% of training searched -> 10.5%
    assert m["share"] == pytest.approx(21 / 1000 / 0.2)
    assert m["estimated"] and m["fires"]


def test_scale_rules_thresholds():
    st = {
        "global_rms": 1.0,
        "min": -3,
        "max": 3,
        "scale_spread": 1.0,
        "max_feature_rms": 1.0,
        "median_offset_ratio": 0.0,
        "median_abs_mean": 0.0,
        "worst_features": [],
    }
    p = ScaleParams()
    assert scale_problems(st, p) == []
    assert [x["rule"] for x in scale_problems({**st, "global_rms": 4.5}, p)] == ["max_rms"]
    assert [x["rule"] for x in scale_problems({**st, "global_rms": 0.005}, p)] == ["min_rms"]
    offset = {**st, "median_abs_mean": 3.4, "median_offset_ratio": 4.6}  # raw iris-like
    assert [x["rule"] for x in scale_problems(offset, p)] == ["max_offset_ratio"]
    unit = {**st, "median_abs_mean": 0.9, "median_offset_ratio": 3.6}  # bright [0, 1] images
    assert scale_problems(unit, p) == []
