"""Gradient checks: OD301 (gradient check), OD302/OD303 (vanishing / exploding gradients),
OD304/OD305 (parameters without gradient / frozen). Real small models on digits at budget quick
(the fault specs of benchmarks/faults/specs/), plus the probe math against naive references."""

from __future__ import annotations

import copy
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from overfit_doctor import Spec
from overfit_doctor.api import diagnose
from overfit_doctor.checks.gradients import FlowParams, GradCheckParams, GradientCheck, GradientFlow
from overfit_doctor.probes import gradcheck, gradient_flow
from overfit_doctor.probes.context import ProbeContext
from overfit_doctor.spec import load_spec

SPECS = Path(__file__).resolve().parents[2] / "benchmarks" / "faults" / "specs"
CODES = ["OD301", "OD302", "OD303", "OD304", "OD305"]


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny models: one thread is faster and immune to other processes on a shared machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


_CACHE: dict[str, object] = {}


def diag(name: str, **kw):
    """diagnose(spec=benchmarks/faults/specs/<name>.py, budget=quick, select=our codes)."""
    key = f"{name}{sorted(kw.items())}"
    if key not in _CACHE:
        _CACHE[key] = diagnose(
            spec=load_spec(SPECS / f"{name}.py"), budget="quick", select=CODES, device="cpu", **kw
        )
    return _CACHE[key]


def codes(d, severity_at_least: str = "info") -> set[str]:
    order = ["info", "warning", "error"]
    return {
        f.code
        for f in d.findings
        if order.index(f.severity.label) >= order.index(severity_at_least)
    }


def record(d, check_id: str):
    return next(r for r in d.checks if r.id == check_id)


def digits_data(n: int = 256):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X - X.mean(0)) / (X.std(0) + 1e-6)
    return torch.tensor(X[:n], dtype=torch.float32), torch.tensor(y[:n])


def ctx_for(model_factory, budget: str = "quick", **spec_kw) -> ProbeContext:
    spec = Spec(model=model_factory, train=digits_data(), **spec_kw)
    return ProbeContext.build(spec, budget=budget, device="cpu")


# --- healthy: nothing above info from any gradient check -----------------------------------------


@pytest.mark.parametrize("name", ["healthy_mlp", "healthy_cnn", "healthy_regression"])
def test_healthy_specs_get_no_gradient_warning(name):
    d = diag(name)
    assert not codes(d, "warning"), [f.message for f in d.findings]
    for check_id in ("gradient-check", "gradient-flow", "parameter-connectivity"):
        assert record(d, check_id).status == "ran", record(d, check_id).reason
    gc = record(d, "gradient-check").measurements
    assert gc["judged"] and gc["max_rel_error"] < 1e-5


# --- OD301 gradient check ------------------------------------------------------------------------


def test_od301_wrong_custom_backward_is_an_error_localized_to_the_upstream_layers():
    d = diag("wrong_custom_backward")
    f = next(f for f in d.findings if f.code == "OD301")
    assert f.severity.label == "error" and f.symptom == "gradient_error"
    assert f.confidence >= 0.8
    ev = f.evidence
    assert ev["max_rel_error"] > 0.01 and ev["confirmed_directions"] >= 2
    assert ev["thresholds"]["error_rel"] == 0.01
    wrong = {r["module"] for r in ev["wrong_modules"]}
    assert wrong == {"0", "2"}  # upstream of the second buggy Swish; the head (4) is right
    assert ev["correct_modules"] == ["4"]
    assert f.where["layer"] == "2"


def test_od301_not_raised_by_a_detach_which_is_od304s_business():
    d = diag("detach_in_forward")
    gc = record(d, "gradient-check").measurements
    assert gc["judged"] and set(gc["excluded_no_grad"]) == {
        "body.0.weight",
        "body.0.bias",
        "body.2.weight",
        "body.2.bias",
    }
    assert "OD301" not in codes(d)


def _gc_measurements(rel_errors: list[float], confirmed: list[bool]) -> dict:
    dirs = [
        {"rel_error": r, "confirmed": c, "kink": False}
        for r, c in zip(rel_errors, confirmed, strict=True)
    ]
    return {
        "judged": True,
        "directions": dirs,
        "kink_directions": 0,
        "parameters_checked": 100,
        "samples": 4,
        "h": 1e-6,
        "h_check": 1e-4,
        "noise_floor": 1e-9,
        "kinks_possible": [],
        "excluded_no_grad": [],
        "modules": [],
        "model": "Net",
    }


def test_od301_judge_bands():
    judge = GradientCheck().judge
    p = GradCheckParams()
    assert judge(_gc_measurements([1e-8, 1e-7, 1e-8], [False] * 3), p) == []
    # a kink: large but unconfirmed disagreement
    assert judge(_gc_measurements([0.5, 1e-8, 1e-8], [False] * 3), p) == []
    [f] = judge(_gc_measurements([0.5, 0.2, 1e-8], [True, True, False]), p)
    assert f.severity.label == "error" and f.evidence["confirmed_directions"] == 2
    # the suspicious band needs two confirmed directions and is only a warning
    assert judge(_gc_measurements([1e-3, 1e-8, 1e-8], [True, False, False]), p) == []
    [f] = judge(_gc_measurements([1e-3, 2e-3, 1e-8], [True, True, False]), p)
    assert f.severity.label == "warning" and f.confidence < 0.6
    assert (
        judge(
            _gc_measurements([1e-3, 2e-3, 1e-8], [True, True, False]),
            replace(p, suspicious_rel=1e-2),
        )
        == []
    )


def test_findings_and_per_layer_tables_are_json():
    for name in ("wrong_custom_backward", "grad_exploding_init", "detach_in_forward"):
        d = diag(name)
        text = json.dumps(d.to_dict(), allow_nan=False)
        assert "gradient-flow" in text
    flow = record(diag("healthy_mlp"), "gradient-flow").measurements
    for row in flow["layers"]:
        assert {"layer", "grad_norm_init", "grad_norm_after", "weight_norm", "update_ratio"} <= set(
            row
        )
    assert [row["layer"] for row in flow["layers"]] == [
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
        "4.weight",
        "4.bias",
    ]
    assert 1e-4 < flow["median_update_ratio"] < 1e-1


def _tiny_mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3)).double()


def _setup_for(model: nn.Module, X, y, loss=None):
    """A gradcheck _Setup on a given float64 model and batch (bypassing the factory copy)."""

    loss = nn.CrossEntropyLoss() if loss is None else loss
    spec = Spec(model=lambda: copy.deepcopy(model).float(), train=(X.float(), y), loss=loss)
    ctx = ProbeContext.build(spec, budget="quick", device="cpu")
    s = gradcheck._Setup.build(ctx)
    s.model, s.X, s.y = model, X, y
    s.buffers = {}
    with gradcheck._float64():
        s.loss0 = s.loss_value()
        for p in model.parameters():
            p.grad = None
        loss = s.loss_tensor()
        loss.backward()
    s.loss = float(loss.detach())
    eps = torch.finfo(torch.float64).eps
    s.noise_floor = gradcheck.NOISE_MARGIN * eps * max(abs(s.loss), 1.0) / gradcheck.H
    s.params = list(model.parameters())
    s.grads = [p.grad.detach().clone() for p in s.params]
    s.names = [n for n, _ in model.named_parameters()]
    return s


def test_directional_derivative_matches_naive_per_parameter_differences():
    torch.manual_seed(1)
    X, y = torch.randn(6, 5, dtype=torch.float64), torch.randint(0, 3, (6,))
    model = _tiny_mlp()
    s = _setup_for(model, X, y)
    # naive reference: one central difference per scalar parameter, then the dot product
    h = 1e-6
    naive = []
    with torch.no_grad():
        for p in model.parameters():
            g = torch.zeros_like(p)
            for i in range(p.numel()):
                old = p.view(-1)[i].item()
                p.view(-1)[i] = old + h
                lp = float(nn.functional.cross_entropy(model(X), y))
                p.view(-1)[i] = old - h
                lm = float(nn.functional.cross_entropy(model(X), y))
                p.view(-1)[i] = old
                g.view(-1)[i] = (lp - lm) / (2 * h)
            naive.append(g)
    gen = torch.Generator().manual_seed(0)
    for kind in ("uniform", "scaled", "balanced"):
        v = gradcheck.random_direction(s.grads, gen, kind)
        assert math.isclose(math.sqrt(sum(float((t * t).sum()) for t in v)), 1.0, rel_tol=1e-12)
        r = s.compare(v)
        ref = sum(float((g * d).sum()) for g, d in zip(naive, v, strict=True))
        autograd = sum(float((p.grad * d).sum()) for p, d in zip(s.params, v, strict=True))
        assert r["analytic"] == pytest.approx(autograd, rel=1e-12)
        assert r["numerical"] == pytest.approx(ref, rel=1e-6, abs=1e-9)
        assert r["rel_error"] < 1e-6 and not r["confirmed"]
        # and the relative error is CS231n's formula
        a, b = r["analytic"], r["numerical"]
        assert r["rel_error"] == pytest.approx(
            abs(a - b) / max(abs(a), abs(b), s.noise_floor), rel=1e-9
        )


def test_scaled_direction_gives_each_tensor_weight_inverse_to_its_gradient_norm():
    grads = [
        torch.full((50,), 1.0, dtype=torch.float64),
        torch.full((3,), 100.0, dtype=torch.float64),
        torch.zeros(4, dtype=torch.float64),
    ]
    v = gradcheck.random_direction(grads, torch.Generator().manual_seed(3), "scaled")
    z = gradcheck.random_direction(grads, torch.Generator().manual_seed(3), "uniform")
    gnorms = [float(g.norm()) for g in grads]
    floor = gradcheck.SCALE_FLOOR * max(gnorms)
    ratios = [
        float(vb.norm() / zb.norm()) * max(n, floor) for vb, zb, n in zip(v, z, gnorms, strict=True)
    ]
    assert ratios == pytest.approx([ratios[0]] * 3, rel=1e-9)


def test_relative_error_floor_and_formula():
    assert gradcheck.relative_error(1.0, 1.1) == pytest.approx(0.1 / 1.1)
    assert gradcheck.relative_error(1e-12, -1e-12) == pytest.approx(2.0)
    assert gradcheck.relative_error(1e-12, -1e-12, floor=1e-6) == pytest.approx(2e-6)


def test_wrong_backward_is_confirmed_but_a_kink_is_not():
    class HalfGrad(torch.autograd.Function):  # y = x, dy/dx reported as 0.5
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            return 0.5 * g

    torch.manual_seed(0)
    X, y = torch.randn(4, 5, dtype=torch.float64), torch.randint(0, 3, (4,))
    lin1, lin2 = nn.Linear(5, 4).double(), nn.Linear(4, 3).double()

    class Buggy(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = lin1, lin2

        def forward(self, x):
            return self.b(HalfGrad.apply(self.a(x)))

    s = _setup_for(Buggy(), X, y)
    r = s.compare(gradcheck.random_direction(s.grads, torch.Generator().manual_seed(0)))
    assert r["confirmed"] and r["rel_error"] > 0.1
    assert r["numerical_check"] == pytest.approx(r["numerical"], rel=1e-6)

    # a ReLU whose input is exactly 0 (zero bias, zero inputs): autograd takes the slope 0, the
    # central difference half the slope; consistent across steps, but one-sided differences
    # disagree, so it is a kink, not a wrong gradient
    class AtKink(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.tensor([[2.0]], dtype=torch.float64))
            self.b = nn.Parameter(torch.zeros(1, dtype=torch.float64))

        def forward(self, x):
            return torch.relu(x @ self.w.T + self.b)

    Xk = torch.zeros(3, 1, dtype=torch.float64)
    yk = torch.ones(3, 1, dtype=torch.float64)
    s = _setup_for(AtKink(), Xk, yk, loss=nn.MSELoss())
    r = s.compare(gradcheck.random_direction(s.grads, torch.Generator().manual_seed(0)))
    assert r["rel_error"] > 0.1 and r["kink"] and not r["confirmed"]


def test_gradcheck_probe_is_deterministic_with_dropout_and_batchnorm():
    def make():
        return nn.Sequential(
            nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 10)
        )

    ctx = ctx_for(make)
    a, b = gradcheck.run(ctx), gradcheck.run(ctx)
    assert a["judged"] and a["max_rel_error"] < 1e-5 and a["confirmed_directions"] == 0
    assert [d["numerical"] for d in a["directions"]] == [d["numerical"] for d in b["directions"]]


# --- OD302 vanishing gradients -------------------------------------------------------------------


def test_od302_deep_sigmoid_stack():
    d = diag("deep_sigmoid_stack")
    assert "OD302" in codes(d, "warning")
    f = next(f for f in d.findings if f.code == "OD302")
    ev = f.evidence
    assert ev["weight_first_last_init"] < 1e-6 and ev["delta_first_last_init"] < 1e-6
    assert ev["first_layer"] == "0.weight" and ev["last_layer"] == "24.weight"
    assert ev["thresholds"] == {"vanishing_ratio": 1e-3, "min_weight_layers": 3}
    assert f.where["layer"] == "0.weight"
    assert "OD303" not in codes(d) and "OD301" not in codes(d)


def test_od302_threshold_is_a_param():
    d = diag("deep_sigmoid_stack", params={"gradient-flow": {"vanishing_ratio": 1e-14}})
    assert "OD302" not in codes(d)


def test_od302_not_raised_for_tiny_inputs_or_a_zero_initialized_head():
    """Tiny inputs shrink the first weight gradient (delta ratio stays healthy); a zero head
    zeroes the earlier gradients at step 0 only."""

    def zero_head():
        m = nn.Sequential(
            nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)
        )
        nn.init.zeros_(m[4].weight)
        nn.init.zeros_(m[4].bias)
        return m

    X, y = digits_data()
    for spec in (
        Spec(
            model=lambda: nn.Sequential(
                nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)
            ),
            train=(X * 1e-5, y),
        ),
        Spec(model=zero_head, train=(X, y)),
    ):
        d = diagnose(spec=spec, budget="quick", select=CODES, device="cpu")
        assert not codes(d, "warning"), [f.message for f in d.findings]


# --- OD303 exploding gradients -------------------------------------------------------------------


def test_od303_huge_init_scale():
    d = diag("grad_exploding_init")
    f = next(f for f in d.findings if f.code == "OD303")
    assert f.severity.label == "warning" and f.confidence >= 0.8
    ev = f.evidence
    assert ev["delta_max_last_init"] > 1e4 and ev["corroborated"]
    assert ev["thresholds"]["exploding_ratio"] == 70
    # AUTOTRAINER's weight-gradient ratio would not see it
    assert 0.01 < ev["weight_first_last_init"] < 70
    assert "OD302" not in codes(d)


def test_od303_nonfinite_gradient_with_a_finite_loss():
    class AbsNet(nn.Module):
        """A hand-written |h| = sqrt(h * h) of gated inputs: its gradient is 0 * inf = NaN
        wherever h is exactly 0 (digits has constant pixels, exactly 0 once standardized)."""

        def __init__(self):
            super().__init__()
            self.gate = nn.Parameter(torch.ones(64))
            self.a, self.b = nn.Linear(64, 32), nn.Linear(32, 10)

        def forward(self, x):
            h = self.gate * x
            return self.b(torch.relu(self.a(torch.sqrt(h * h))))

    d = diagnose(
        spec=Spec(model=lambda: AbsNet(), train=digits_data()),
        budget="quick",
        select=["OD303"],
        device="cpu",
    )
    f = next(f for f in d.findings if f.code == "OD303")
    assert f.confidence == 0.9 and "Non-finite" in f.message
    assert f.evidence["nonfinite_init"] == ["gate"]
    assert math.isfinite(f.evidence["loss_init"])


def test_od303_weights_diverged_under_a_huge_learning_rate():
    X, y = digits_data()
    spec = Spec(
        model=lambda: nn.Sequential(
            nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)
        ),
        train=(X, y),
        optimizer=lambda p: torch.optim.SGD(p, lr=1e4),
    )
    d = diagnose(spec=spec, budget="quick", select=["OD303"], device="cpu")
    [f] = d.findings
    assert f.confidence == 0.7 and "the weights diverged" in f.message
    assert f.evidence["nonfinite_loss_step"] is not None and not f.evidence["nonfinite_init"]
    spec.optimizer = lambda p: torch.optim.SGD(p, lr=0.1)
    assert not diagnose(spec=spec, budget="quick", select=["OD303"], device="cpu").findings


def test_od303_judge_needs_the_ratio_at_both_snapshots():
    m = {
        "judged": True,
        "layers": [],
        "nonfinite_init": [],
        "nonfinite_after": [],
        "nonfinite_training": [],
        "steps_done": 10,
        "depth_ratios": {"delta_max_last_init": 500.0, "delta_max_last_after": 20.0},
    }
    assert GradientFlow().judge(m, FlowParams()) == []
    m["depth_ratios"]["delta_max_last_after"] = 300.0
    [f] = GradientFlow().judge(m, FlowParams())
    assert f.code == "OD303" and not f.evidence["corroborated"] and f.confidence < 0.8


# --- gradient-flow probe math ---------------------------------------------------------------------


def test_flow_tables_match_naive_hooks_and_update_ratios():
    def make():
        return nn.Sequential(
            nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10)
        )

    lr = 0.05
    ctx = ctx_for(make, optimizer=lambda p: torch.optim.SGD(p, lr=lr))
    ctx.budget = replace(ctx.budget, flow_steps=1)
    r = gradient_flow.run(ctx)

    # naive reference on the same fresh model and probe batches
    model = ctx.new_model(gradient_flow.SEED_OFFSET)
    batches = gradient_flow.probe_batches(ctx)
    grad_norms = {n: [] for n, _ in model.named_parameters()}
    out_norms = {"0": [], "2": [], "4": []}
    for xb, yb in batches:
        model.zero_grad()
        outs = {}
        h = xb
        for name, layer in model.named_children():
            h = layer(h)
            if name in out_norms:
                h.retain_grad()
                outs[name] = h
        nn.functional.cross_entropy(h, yb).backward()
        for n, p in model.named_parameters():
            grad_norms[n].append(float(p.grad.norm()))
        for name, t in outs.items():
            out_norms[name].append(float(t.grad.norm()))
    rows = {row["layer"]: row for row in r["layers"]}
    for n, values in grad_norms.items():
        assert rows[n]["grad_norm_init"] == pytest.approx(sum(values) / len(values), rel=1e-5)
    mods = {m["module"]: m for m in r["modules"]}
    assert [m["module"] for m in r["modules"]] == ["0", "2", "4"]
    for name, values in out_norms.items():
        assert mods[name]["out_grad_norm_init"] == pytest.approx(sum(values) / 3, rel=1e-5)
    ratios = r["depth_ratios"]
    assert ratios["weight_first"] == "0.weight" and ratios["weight_last"] == "4.weight"
    assert ratios["weight_first_last_init"] == pytest.approx(
        rows["0.weight"]["grad_norm_init"] / rows["4.weight"]["grad_norm_init"]
    )
    assert ratios["delta_max_last_init"] == pytest.approx(
        max(mods["0"]["out_grad_norm_init"], mods["2"]["out_grad_norm_init"])
        / mods["4"]["out_grad_norm_init"]
    )
    assert rows["4.weight"]["depth"] < rows["2.weight"]["depth"] < rows["0.weight"]["depth"]

    # one SGD step: ||dw|| / ||w|| = lr * ||g|| / ||w|| on the first training batch
    model = ctx.new_model(gradient_flow.SEED_OFFSET)
    w0 = {n: p.detach().clone() for n, p in model.named_parameters()}
    xb, yb = next(
        ctx.batches(
            ctx.train.X, ctx.train.y, ctx.batch_size, ctx.seed + gradient_flow.SEED_OFFSET + 1
        )
    )
    nn.functional.cross_entropy(model(xb), yb).backward()
    for n, p in model.named_parameters():
        expected = lr * float(p.grad.norm()) / float(w0[n].norm())
        assert rows[n]["update_ratio"] == pytest.approx(expected, rel=1e-4)


def test_flow_probe_is_deterministic_and_leaves_user_data_alone():
    X, y = digits_data()
    X0, y0 = X.clone(), y.clone()
    spec = Spec(
        model=lambda: nn.Sequential(
            nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 10)
        ),
        train=(X, y),
    )
    a = gradient_flow.run(ProbeContext.build(spec, budget="quick", device="cpu"))
    b = gradient_flow.run(ProbeContext.build(spec, budget="quick", device="cpu"))
    assert a["layers"] == b["layers"] and a["modules"] == b["modules"]
    assert torch.equal(X, X0) and torch.equal(y, y0)


# --- OD304 / OD305 --------------------------------------------------------------------------------


def test_od304_detach_in_forward_names_the_body():
    d = diag("detach_in_forward")
    f = next(f for f in d.findings if f.code == "OD304")
    assert f.severity.label == "warning" and f.confidence >= 0.9
    assert f.evidence["disconnected"] == [
        "body.0.weight",
        "body.0.bias",
        "body.2.weight",
        "body.2.bias",
    ]
    assert "head.weight" not in f.message and "body.0.weight" in f.message
    assert not {"OD302", "OD303", "OD301"} & codes(d)


def test_od304_optimizer_that_ignores_parameters():
    """The optimizer factory drops the head (e.g. built from a stale parameter list)."""
    X, y = digits_data()
    spec = Spec(
        model=lambda: nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)),
        train=(X, y),
        optimizer=lambda p: torch.optim.Adam(list(p)[:2], lr=1e-3),
    )
    d = diagnose(spec=spec, budget="quick", select=["OD304"], device="cpu")
    f = next(f for f in d.findings if f.code == "OD304")
    assert f.evidence["not_updated"] == ["2.weight", "2.bias"]
    assert f.evidence["disconnected"] == []


def test_od304_whole_graph_cut():
    class AllDetached(nn.Module):
        def __init__(self):
            super().__init__()
            self.f = nn.Linear(64, 10)

        def forward(self, x):
            return self.f(x).detach()

    spec = Spec(model=lambda: AllDetached(), train=digits_data())
    d = diagnose(spec=spec, budget="quick", select=["OD304"], device="cpu")
    f = next(f for f in d.findings if f.code == "OD304")
    assert "does not depend on any trainable parameter" in f.message


def test_od304_exactly_zero_gradients_from_dead_units_are_information_only():
    d = diag("dead_relu_bias")
    [f] = [f for f in d.findings if f.code == "OD304"]
    assert f.severity.label == "info" and f.confidence == 0.6
    assert "0.weight" in f.evidence["zero_gradient"] and f.evidence["disconnected"] == []
    assert "OD303" not in codes(d) and "OD302" not in codes(d)


def test_probes_skip_a_loss_that_cannot_be_computed():
    d = diag("state_too_few_outputs")  # 8 outputs for 10 classes: cross-entropy raises
    for check_id in ("gradient-flow", "parameter-connectivity"):
        r = record(d, check_id)
        assert r.status == "ran" and r.measurements["judged"] is False
        assert "out of bounds" in r.measurements["reason"]
    assert not codes(d)


def test_od305_frozen_layer_is_info_only():
    d = diag("grad_frozen_first_layer")
    assert codes(d) == {"OD305"}
    f = d.findings[0]
    assert f.severity.label == "info" and f.symptom == "disconnected_parameters"
    assert f.evidence["frozen"] == ["0.weight", "0.bias"]
    assert f.evidence["frozen_parameters"] == 64 * 64 + 64
    assert "OD305" not in codes(diag("healthy_mlp"))
