"""Model-state checks OD401-OD406: a triggering and a non-triggering case per code from real
small models and data (sklearn digits, breast cancer, diabetes; the fault-benchmark specs), plus
the probes' math against naive references."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_breast_cancer, load_diabetes
from torch import nn

from overfit_doctor import Spec
from overfit_doctor.api import diagnose
from overfit_doctor.catalogue.model import Severity
from overfit_doctor.checks.model_state import (
    DeadParams,
    DeadUnits,
    Saturation,
    SaturationParams,
    share_above,
    share_below,
)
from overfit_doctor.probes import activations, determinism, init_loss, output_check, weights
from overfit_doctor.probes.context import ProbeContext
from overfit_doctor.spec import load_spec

SPECS = Path(__file__).resolve().parents[2] / "benchmarks" / "faults" / "specs"
sys.path.insert(0, str(SPECS))
from common import diabetes, digits, mlp  # noqa: E402

CODES = ["OD401", "OD402", "OD403", "OD404", "OD405", "OD406"]


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


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These models are tiny: intra-op threads only spin against each other on a busy 2-core
    machine (10x slower), so this module runs single-threaded and restores the setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits_data():
    return digits()


@pytest.fixture(scope="module")
def cancer():
    bc = load_breast_cancer()
    X = (bc.data - bc.data.mean(0)) / bc.data.std(0)
    return torch.tensor(X, dtype=torch.float32), torch.tensor(bc.target, dtype=torch.float32)


# --- the fault benchmark's cases, through my codes only ---------------------------------------

FAULTS = {
    "huge_init": ("OD401", "bad_initialization"),
    "softmax_before_cross_entropy": ("OD402", "output_activation_mismatch"),
    "state_too_few_outputs": ("OD402", "output_activation_mismatch"),
    "dead_relu_bias": ("OD403", "dead_units"),
    "state_saturated_tanh": ("OD404", "saturated_activations"),
    "state_tiny_init": ("OD405", "weight_anomaly"),
    "dropout_in_eval": ("OD406", "eval_nondeterminism"),
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_spec_is_reported(name):
    code, symptom = FAULTS[name]
    assert symptom in _expect(name)
    findings, _ = _run(name, code)
    assert [f.symptom for f in _serious(findings)] == [symptom], [f.message for f in findings]
    assert _serious(findings)[0].confidence >= 0.6


def _expect(name: str) -> list[str]:
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_ms_{name}", SPECS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EXPECT


HEALTHY = sorted(
    p.stem for p in SPECS.glob("*.py") if p.stem != "common" and "HEALTHY = True" in p.read_text()
)


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_specs_get_no_model_state_warning(name):
    d = diagnose(spec=_spec(name), budget="quick", select=["OD4"])
    assert not _serious(d.findings), [f.message for f in d.findings]
    ran = {r.id for r in d.checks if r.status == "ran"}
    assert {"loss-at-init", "output-activation", "dead-units", "activation-saturation",
            "weight-scale", "eval-determinism"} <= ran  # fmt: skip
    json.dumps([r.to_dict() for r in d.checks])  # measurements are JSON-able


# --- OD401 loss at init -----------------------------------------------------------------------


def test_od401_fires_on_huge_init_with_numbers():
    (f,) = _run("huge_init", "OD401")[0]
    ev = f.evidence
    assert ev["expected"] == pytest.approx(math.log(10), rel=1e-6)
    assert ev["loss_at_init"] > 50 and ev["output_scale"] > 20
    assert ev["models_over_threshold"] == 1.0
    assert [x["layer"] for x in ev["layers_above_he"]]  # where the scale comes from
    assert ev["thresholds"]["max_excess_nats"] == 1.0


def test_od401_quiet_on_healthy_mlp_near_ln_c():
    findings, m = _run("healthy_mlp", "OD401")
    assert findings == []
    assert m["loss_mean"] == pytest.approx(math.log(10), abs=0.1)
    assert m["output_scale_mean"] < 0.5


def test_od401_regression_targets_far_from_zero():
    d = load_diabetes()
    X = torch.tensor((d.data - d.data.mean(0)) / d.data.std(0), dtype=torch.float32)
    y = torch.tensor(d.target, dtype=torch.float32)  # mean 152, never standardized
    (f,) = _run(Spec(model=lambda: mlp(10, 1), train=(X, y)), "OD401")[0]
    assert f.evidence["ratio_to_best_constant"] > 3
    assert "targets average" in f.message
    (train, _) = diabetes()  # standardized targets: no finding
    assert _run(Spec(model=lambda: mlp(10, 1), train=train), "OD401")[0] == []


def test_od401_threshold_is_a_param():
    d = diagnose(spec=_spec("huge_init"), budget="quick", select=["OD401"],
                 params={"loss-at-init": {"max_excess_nats": 1000.0}})  # fmt: skip
    assert d.findings == ()
    d = diagnose(spec=_spec("healthy_mlp"), budget="quick", select=["OD401"],
                 params={"loss-at-init": {"max_excess_nats": 0.001}})  # fmt: skip
    (f,) = d.findings
    assert f.evidence["thresholds"]["max_excess_nats"] == 0.001
    assert f.confidence == pytest.approx(0.95 * f.evidence["models_over_threshold"], abs=0.01)


# --- OD402 output/loss mismatch ---------------------------------------------------------------


def test_od402_softmax_before_cross_entropy():
    (f,) = _run("softmax_before_cross_entropy", "OD402")[0]
    assert f.severity is Severity.ERROR
    assert f.evidence["final_op"] == "softmax" and f.evidence["probabilities"] is True
    assert f.where["layer"] == "5"


def test_od402_too_few_outputs_is_a_finding_not_a_crash():
    (f,) = _run("state_too_few_outputs", "OD402")[0]
    assert f.severity is Severity.ERROR
    assert f.evidence["num_outputs"] == 8 and f.evidence["num_classes"] == 10
    d = diagnose(spec=_spec("state_too_few_outputs"), budget="quick", select=["OD4"])
    assert {r.status for r in d.checks if r.codes[0].startswith("OD4")} == {"ran"}


def test_od402_quiet_on_logits(digits_data):
    assert _run("healthy_mlp", "OD402")[0] == []
    train, _ = digits_data
    spec = Spec(model=lambda: nn.Sequential(mlp(64, 10), nn.LogSoftmax(1)), train=train,
                loss=nn.NLLLoss())  # fmt: skip
    assert _run(spec, "OD402")[0] == []


class _FunctionalSoftmax(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = mlp(64, 10)

    def forward(self, x):
        return F.softmax(self.net(x), dim=-1).squeeze()


def test_od402_sees_functional_softmax_through_views(digits_data):
    train, _ = digits_data
    (f,) = _run(Spec(model=lambda: _FunctionalSoftmax(), train=train), "OD402")[0]
    assert f.evidence["final_op"] == "softmax" and f.evidence["final_module"] is None
    assert "was assumed" in f.message  # no loss in the Spec


def test_od402_raw_scores_into_nll(digits_data):
    train, _ = digits_data
    (f,) = _run(Spec(model=lambda: mlp(64, 10), train=train, loss=nn.NLLLoss()), "OD402")[0]
    assert f.severity is Severity.ERROR and "log-probabilities" in f.message


def test_od402_sigmoid_output_depends_on_the_loss(cancer):
    model = lambda: nn.Sequential(mlp(30, 1), nn.Sigmoid())  # noqa: E731
    (f,) = _run(Spec(model=model, train=cancer), "OD402")[0]  # BCEWithLogits assumed
    assert f.severity is Severity.WARNING
    assert _run(Spec(model=model, train=cancer, loss=nn.BCELoss()), "OD402")[0] == []


def test_od402_float_class_labels_broadcast_in_mse(digits_data):
    (X, y), _ = digits_data
    (f,) = _run(Spec(model=lambda: mlp(64, 10), train=(X, y.float())), "OD402")[0]
    assert f.severity is Severity.ERROR and "int64" in f.message


def test_od402_relu_output_cannot_reach_negative_targets():
    train, _ = diabetes()
    spec = Spec(model=lambda: nn.Sequential(mlp(10, 1), nn.ReLU()), train=train)
    (f,) = _run(spec, "OD402")[0]
    assert f.evidence["targets_out_of_range_share"] > 0.3


# --- OD403 dead ReLU units --------------------------------------------------------------------


def test_od403_fires_on_negative_bias():
    (f,) = _run("dead_relu_bias", "OD403")[0]
    assert [x["dead_share"] for x in f.evidence["layers"]] == [1.0, 1.0]
    assert f.evidence["dead_share_at_init"] == {"1": 1.0, "3": 1.0}


def test_od403_quiet_on_healthy_mlp():
    findings, m = _run("healthy_mlp", "OD403")
    assert findings == []
    assert max(x["dead_share"] for x in m["layers"]) < 0.2


def test_od403_judges_trained_state_and_skips_output_relu():
    m = {
        "model": "M", "samples": 256, "training_steps": 50, "judged_stage": "trained",
        "layers": [
            {"stage": "init", "site": "a", "family": "rectifier", "is_output": False,
             "dead_share": 0.9, "type": "ReLU", "units": 8, "never_active_share": 0.9,
             "pre_activation_std": 1.0},
            {"stage": "trained", "site": "a", "family": "rectifier", "is_output": False,
             "dead_share": 0.1, "type": "ReLU", "units": 8, "never_active_share": 0.1,
             "pre_activation_std": 1.0},
            {"stage": "trained", "site": "out", "family": "rectifier", "is_output": True,
             "dead_share": 1.0, "type": "ReLU", "units": 1, "never_active_share": 1.0,
             "pre_activation_std": 1.0},
        ],
    }  # fmt: skip
    assert DeadUnits().judge(m, DeadParams()) == []  # revived by training; output ReLU skipped
    m["layers"][1]["dead_share"] = 0.75
    (f,) = DeadUnits().judge(m, DeadParams())
    assert 0.6 < f.confidence < 0.95 and f.where["layer"] == "a"


# --- OD404 saturated tanh/sigmoid -------------------------------------------------------------


def test_od404_fires_on_raw_pixels_into_tanh():
    (f,) = _run("state_saturated_tanh", "OD404")[0]
    (layer,) = f.evidence["layers"]
    assert layer["site"] == "1" and layer["saturated_share"] > 0.8 and layer["limit"] == 5.0


def test_od404_quiet_on_standardized_tanh():
    findings, m = _run("state_healthy_tanh_dropout_bn", "OD404")
    assert findings == []
    assert m["layers"] and max(x["saturated_share"] for x in m["layers"]) < 0.1


def test_od404_limits_are_params():
    m = {"model": "M", "samples": 256, "training_steps": 0, "judged_stage": "init",
         "layers": [{"stage": "init", "site": "s", "type": "Sigmoid", "activation": "sigmoid",
                     "units": 4, "is_output": False, "limit": 10.0, "saturated_share": 0.6,
                     "pre_activation_std": 9.0, "abs_pre_activation_median": 11.0}]}  # fmt: skip
    assert len(Saturation().judge(m, SaturationParams())) == 1
    assert Saturation().judge(m, SaturationParams(max_saturated_share=0.7)) == []


# --- OD405 weight scale -----------------------------------------------------------------------


def test_od405_fires_on_tiny_hidden_weights():
    (f,) = _run("state_tiny_init", "OD405")[0]
    assert f.evidence["direction"] == "smaller"
    flagged = [x["layer"] for x in f.evidence["layers"]]
    assert sorted(flagged) == ["0", "2", "4", "6"]  # not the output layer "8"


def _big(std: float, norm: bool = False):
    def make():
        layers = [nn.Linear(64, 64)] + ([nn.BatchNorm1d(64)] if norm else [])
        model = nn.Sequential(*layers, nn.ReLU(), nn.Linear(64, 10))
        nn.init.normal_(model[0].weight, std=std)
        return model

    return make


def test_od405_fires_on_huge_weights_unless_normalized(digits_data):
    train, _ = digits_data
    (f,) = _run(Spec(model=_big(5.0), train=train), "OD405")[0]
    assert f.evidence["direction"] == "larger" and f.where["layer"] == "0"
    assert f.evidence["layers"][0]["ratio_to_largest_reference"] > 10
    assert _run(Spec(model=_big(5.0, norm=True), train=train), "OD405")[0] == []


def test_od405_quiet_on_default_init_and_reports_alpha():
    findings, m = _run("healthy_mlp", "OD405")
    assert findings == []
    hidden = m["layers"][1]
    assert hidden["ratio_to_he"] == pytest.approx(1 / math.sqrt(6), rel=0.1)  # PyTorch default
    assert hidden["alpha_init"]["eigenvalues"] == 64 and hidden["alpha_trained"]["alpha"] > 1
    assert sum(hidden["histogram"]["counts"]) == 64 * 64
    assert m["layers"][2]["alpha_init"] is None  # 10 eigenvalues: too few for a fit


# --- OD406 eval-mode nondeterminism -----------------------------------------------------------


def test_od406_fires_on_functional_dropout():
    (f,) = _run("dropout_in_eval", "OD406")[0]
    assert f.severity is Severity.ERROR and f.where["layer"] == "fc2"
    assert f.evidence["repeat_difference"] > 0.05


def test_od406_quiet_with_dropout_module(digits_data):
    train, _ = digits_data
    model = lambda: nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.5),  # noqa: E731
                                  nn.Linear(64, 10))  # fmt: skip
    findings, m = _run(Spec(model=model, train=train), "OD406")
    assert findings == [] and m["repeat_difference"] == 0.0 and m["dropout_modules"] == ["2"]


def test_od406_batch_statistics_in_eval_are_a_warning(digits_data):
    train, _ = digits_data
    model = lambda: nn.Sequential(nn.Linear(64, 64),  # noqa: E731
                                  nn.BatchNorm1d(64, track_running_stats=False), nn.ReLU(),
                                  nn.Linear(64, 10))  # fmt: skip
    (f,) = _run(Spec(model=model, train=train), "OD406")[0]
    assert f.severity is Severity.WARNING and f.evidence["repeat_difference"] == 0.0


# --- determinism and the user's objects -------------------------------------------------------


def test_results_are_reproducible_and_the_users_data_untouched(digits_data):
    (X, y), val = digits_data
    X0, y0 = X.clone(), y.clone()
    spec = Spec(model=lambda: mlp(64, 10), train=(X, y), val=val)
    a = diagnose(spec=spec, budget="quick", select=["OD4"])
    b = diagnose(spec=spec, budget="quick", select=["OD4"])
    ma = {r.id: r.measurements for r in a.checks if r.status == "ran"}
    mb = {r.id: r.measurements for r in b.checks if r.status == "ran"}
    assert json.dumps(ma, default=str) == json.dumps(mb, default=str)
    assert torch.equal(X, X0) and torch.equal(y, y0)


# --- probe math against naive references ------------------------------------------------------


def _naive_powerlaw(x, min_tail=10):
    x = np.sort(np.asarray(x, float))
    best = None
    for i in range(len(x) - min_tail + 1):
        xmin, tail = x[i], x[i:]
        alpha = 1 + len(tail) / np.sum(np.log(tail / xmin))
        d = 0.0
        for j, v in enumerate(tail):
            fit = 1 - (v / xmin) ** (1 - alpha)
            d = max(d, abs((j + 1) / len(tail) - fit), abs(j / len(tail) - fit))
        if best is None or d < best[1]:
            best = (alpha, d, xmin)
    return best


def test_powerlaw_fit_matches_naive_scan_and_recovers_alpha():
    rng = np.random.default_rng(0)
    x = (1 - rng.random(300)) ** (-1 / 2.0)  # Pareto with pdf exponent alpha = 3
    fit = weights.powerlaw_fit(x)
    alpha, d, xmin = _naive_powerlaw(x)
    assert fit["alpha"] == pytest.approx(alpha) and fit["ks_distance"] == pytest.approx(d)
    assert fit["xmin"] == pytest.approx(xmin)
    assert fit["alpha"] == pytest.approx(3.0, abs=0.35)


def test_references_match_torch_init():
    w = torch.empty(256, 128)
    refs = weights.references(w)
    torch.manual_seed(0)
    assert float(nn.init.kaiming_normal_(w, nonlinearity="relu").std()) == pytest.approx(
        refs["he"], rel=0.02)  # fmt: skip
    assert float(nn.init.xavier_normal_(w).std()) == pytest.approx(refs["xavier"], rel=0.02)
    assert float(nn.Linear(128, 256).weight.detach().std()) == pytest.approx(
        refs["pytorch_default"], rel=0.02)  # fmt: skip


def test_quantile_shares_match_exact_counts():
    rng = np.random.default_rng(1)
    v = torch.tensor(np.concatenate([np.zeros(300), rng.random(700)]))
    q = activations.quantiles(v)
    assert q == pytest.approx(torch.quantile(v, torch.linspace(0, 1, 101, dtype=v.dtype)).tolist())
    assert share_below(q, 0.01) == pytest.approx(float((v < 0.01).double().mean()), abs=0.02)
    assert share_above(q, 0.5) == pytest.approx(float((v > 0.5).double().mean()), abs=0.02)
    assert share_below([0.0] * 101, 0.01) == 1.0 and share_above([0.0] * 101, 0.0) == 0.0


def test_dead_and_saturation_statistics_match_a_naive_loop():
    torch.manual_seed(3)
    x4 = torch.randn(40, 3, 5, 5) - 1.5  # conv-shaped: units are channels
    x4[:, 2] = -1.0  # channel 2 never active
    model = nn.Sequential(nn.Identity(), nn.ReLU(), nn.Tanh())
    ctx = ProbeContext.build(Spec(model=lambda: model, train=(x4, torch.zeros(40).long())),
                             budget="quick")  # fmt: skip
    (relu, tanh) = activations.measure(ctx, model, x4)
    naive_active = [np.mean([bool((x4[n, c] > 0).any()) for n in range(40)]) for c in range(3)]
    assert relu["never_active_share"] == pytest.approx(np.mean([a == 0 for a in naive_active]))
    assert relu["active_share_quantiles"][0] == 0.0
    assert relu["active_share_quantiles"][-1] == pytest.approx(max(naive_active))
    assert tanh["is_output"] and not relu["is_output"]
    relu_out = torch.relu(x4).abs().reshape(-1)
    assert tanh["abs_pre_activation_quantiles"][50] == pytest.approx(float(relu_out.median()),
                                                                      abs=1e-6)  # fmt: skip


def test_output_scale_and_reference_loss():
    torch.manual_seed(0)
    out = torch.randn(500, 10) * 0.5 + 3.0  # a constant offset does not change the spread
    naive = math.sqrt(np.mean([float(r.var(unbiased=False)) for r in out]))
    assert init_loss.output_scale("cross_entropy", out) == pytest.approx(naive, rel=1e-6)
    y = torch.randint(0, 10, (500,))
    ref = F.cross_entropy(init_loss.reference_output("cross_entropy", out), y)
    assert float(ref) == pytest.approx(math.log(10))
    nll = F.nll_loss(init_loss.reference_output("nll", out), y)
    assert float(nll) == pytest.approx(math.log(10))


def test_final_op_looks_through_views_only():
    x = torch.randn(4, 3, requires_grad=True)
    assert output_check.final_op(F.softmax(x, 1).reshape(12))[0] == "softmax"
    assert output_check.final_op(torch.sigmoid(x)[:, 0])[0] == "sigmoid"
    assert output_check.final_op(F.softmax(x, 1) * 2)[0] == "other"
    assert output_check.final_op(x.detach())[0] is None


def test_relative_difference():
    a = torch.tensor([1.0, -2.0, 4.0])
    assert determinism.relative_difference(a, a.clone()) == 0.0
    assert determinism.relative_difference(a, a + torch.tensor([0.0, 0.4, 0.0])) == pytest.approx(
        0.1
    )
    assert determinism.relative_difference(a, a[:2]) == math.inf
