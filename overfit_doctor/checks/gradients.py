"""Gradient checks on a model and its data (diagnose --spec):

- OD301 `gradient-check`: analytic gradients vs float64 central differences along random
  directions over the whole model (CS231n gradient checks), localized per module on failure;
- OD302/OD303 `gradient-flow`: gradients that vanish or explode with depth (AUTOTRAINER's
  first/last ratios, applied to weight gradients and to the back-propagated error), and
  non-finite gradients; update-to-weight ratios are reported alongside;
- OD304/OD305 `parameter-connectivity`: trainable tensors that never get a gradient (or are never
  updated), and tensors frozen on purpose.

The probes (`probes/gradcheck.py`, `probes/gradient_flow.py`) measure; these checks judge with
the thresholds of their `Params`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from overfit_doctor.catalogue.model import Severity
from overfit_doctor.checks.analysis import fmt
from overfit_doctor.checks.base import CheckMeta, Context, finding
from overfit_doctor.checks.spec_base import SpecCheck
from overfit_doctor.checks.stats import clamp
from overfit_doctor.diagnosis import Finding

_NEEDS = frozenset({"model", "train_data"})
_MAX_NAMES = 5


# --- OD301 -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradCheckParams:
    error_rel: float = 1e-2  # CS231n: relative error above this -> the gradient is probably wrong
    suspicious_rel: float = 1e-4  # CS231n: 1e-4..1e-2 is uncomfortable (acceptable with kinks)
    min_suspicious_directions: int = 2  # confirmed directions needed in the suspicious band


class GradientCheck(SpecCheck):
    """Analytic vs numerical gradients of the whole model, in float64."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="gradient-check",
        codes=("OD301",),
        needs=_NEEDS,
        cost="quick",
        description="Autograd gradients agree with float64 finite differences along random "
        "directions (localized per module when they do not).",
    )
    Params = GradCheckParams

    def measure(self, ctx: Context, params: GradCheckParams) -> dict[str, Any]:
        return dict(ctx.probe("gradcheck"))

    def judge(self, m: dict[str, Any], p: GradCheckParams) -> list[Finding]:
        if not m.get("judged"):
            return []
        confirmed = [d for d in m["directions"] if d["confirmed"]]
        if not confirmed:
            return []
        worst = max(d["rel_error"] for d in confirmed)
        wrong = [d for d in confirmed if d["rel_error"] > p.error_rel]
        n_dirs = len(m["directions"])
        if wrong:
            severity = None
            conf = 0.7 + 0.1 * (len(wrong) - 1) + 0.05 * math.log10(worst / p.error_rel)
        elif worst > p.suspicious_rel and len(confirmed) >= min(
            p.min_suspicious_directions, n_dirs
        ):
            severity = Severity.WARNING
            conf = 0.4 + 0.05 * math.log10(worst / p.suspicious_rel)
        else:
            return []
        bad_modules = [r for r in m.get("modules", []) if r["wrong"]]
        if bad_modules:
            conf += 0.05
        ok_modules = [r["module"] for r in m.get("modules", []) if not r["wrong"]]
        where_txt = ""
        if bad_modules:
            where_txt = "; wrong in modules " + ", ".join(
                f"{r['module']} ({r['type']}, {fmt(r['confirmed_rel_error'])})"
                for r in bad_modules[:3]
            )
            entry = min(bad_modules, key=lambda r: r["depth"])
            nearer = [
                r["module"]
                for r in sorted(m.get("modules", []), key=lambda r: -r["depth"])
                if not r["wrong"] and r["depth"] < entry["depth"]
            ]
            if nearer:
                where_txt += (
                    f", right in {', '.join(nearer[:3])} nearer the loss: the wrong gradient "
                    f"enters between {entry['module']} and {nearer[0]}"
                )
        message = (
            f"Autograd gradients disagree with float64 finite differences: relative error up to "
            f"{fmt(worst)} along {len(confirmed)}/{n_dirs} random directions (confirmed at two "
            f"step sizes; threshold {fmt(p.error_rel if wrong else p.suspicious_rel)})"
            f"{where_txt}."
        )
        evidence = {
            "max_rel_error": worst,
            "confirmed_directions": len(confirmed),
            "directions": n_dirs,
            "kink_directions": m["kink_directions"],
            "parameters_checked": m["parameters_checked"],
            "samples": m["samples"],
            "h": m["h"],
            "h_check": m["h_check"],
            "noise_floor": m["noise_floor"],
            "kinks_possible": m["kinks_possible"],
            "wrong_modules": [
                {k: r[k] for k in ("module", "type", "confirmed_rel_error", "depth")}
                for r in bad_modules
            ],
            "correct_modules": ok_modules,
            "excluded_no_grad": m["excluded_no_grad"],
            "thresholds": asdict(p),
        }
        where: dict[str, Any] = {"model": m.get("model")}
        if bad_modules:
            # nearest the loss among the wrong modules: the error enters there or just after it
            entry = min(bad_modules, key=lambda r: r["depth"])
            where["layer"] = entry["module"]
        return [
            finding(
                "OD301",
                confidence=clamp(conf, 0.3, 0.98),
                message=message,
                evidence=evidence,
                where=where,
                severity=severity,
            )
        ]


# --- OD302 / OD303 -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowParams:
    vanishing_ratio: float = 1e-3  # AUTOTRAINER beta1: ||g_first|| / ||g_last|| below this
    exploding_ratio: float = 70.0  # AUTOTRAINER beta3: the ratio above this
    grad_to_weight_high: float = 1.0  # ||g|| / ||w|| above this corroborates an explosion
    min_weight_layers: int = 3  # weight tensors needed to speak of depth


class GradientFlow(SpecCheck):
    """Per-layer gradient norms at init and after a few training steps."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="gradient-flow",
        codes=("OD302", "OD303"),
        needs=_NEEDS,
        cost="quick",
        description="Per-layer gradient norms, back-propagated error and update ratios at "
        "initialization and after a few steps: vanishing, exploding or non-finite gradients.",
    )
    Params = FlowParams

    def measure(self, ctx: Context, params: FlowParams) -> dict[str, Any]:
        return dict(ctx.probe("gradient_flow"))

    def figures(self, m: dict[str, Any]) -> dict[str, Any]:
        rows = [r for r in m.get("layers") or [] if r.get("ndim", 2) >= 2]
        if not rows:
            return {}
        series = {
            label: [max(float(r.get(key) or 0.0), 1e-30) for r in rows]
            for label, key in (
                ("at initialization", "grad_norm_init"),
                (f"after {m.get('steps_done', 0)} steps", "grad_norm_after"),
            )
        }
        return {
            "model/gradient-norms": {
                "kind": "bars",
                "title": "Gradient norm per weight tensor (input layer first)",
                "y_label": "gradient L2 norm",
                "log_y": True,
                "categories": [r["layer"] for r in rows],
                "series": series,
            }
        }

    def judge(self, m: dict[str, Any], p: FlowParams) -> list[Finding]:
        if not m.get("judged"):
            return []
        out = []
        f = _vanishing(m, p)
        if f is not None:
            out.append(f)
        f = _exploding(m, p)
        if f is not None:
            out.append(f)
        return out


def _weights(m: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in m["layers"] if r["ndim"] >= 2]


def _update_summary(m: dict[str, Any]) -> dict[str, Any]:
    return {
        "median_update_ratio": m.get("median_update_ratio"),
        "flow_steps": m.get("steps_done"),
        "loss_init": m.get("loss_init"),
        "loss_after": m.get("loss_after"),
    }


def _vanishing(m: dict[str, Any], p: FlowParams) -> Finding | None:
    d = m["depth_ratios"]
    w_init, w_after = d.get("weight_first_last_init"), d.get("weight_first_last_after")
    e_init, e_after = d.get("delta_first_last_init"), d.get("delta_first_last_after")
    if len(_weights(m)) < p.min_weight_layers or w_init is None or w_after is None:
        return None
    weight_low = w_init < p.vanishing_ratio and w_after < p.vanishing_ratio
    # the back-propagated error must vanish too: a tiny first-layer gradient can also come from
    # tiny inputs, which is an input-scaling problem, not a vanishing gradient
    delta_known = e_init is not None and e_after is not None
    delta_low = delta_known and e_init < p.vanishing_ratio and e_after < p.vanishing_ratio
    if not weight_low or (delta_known and not delta_low):
        return None
    worst = max(w_init, w_after)
    orders = math.log10(p.vanishing_ratio / worst)
    conf = clamp(0.6 + 0.1 * orders, 0.5, 0.95) * (1.0 if delta_known else 0.8)
    first, last = d["weight_first"], d["weight_last"]
    rows = {r["layer"]: r for r in m["layers"]}
    last_norm = rows[last]["grad_norm_init"]
    below = [
        r["layer"]
        for r in _weights(m)
        if r["grad_norm_init"] is not None
        and last_norm
        and r["grad_norm_init"] / last_norm < p.vanishing_ratio
    ]
    message = (
        f"Gradients vanish with depth: the first layer ({first}) gets {fmt(w_init)}x the "
        f"gradient norm of the last ({last}) at initialization and {fmt(w_after)}x after "
        f"{m['steps_done']} training steps (threshold {fmt(p.vanishing_ratio)}); "
        f"{len(below)} of {len(_weights(m))} weight tensors are below it."
    )
    evidence = {
        "weight_first_last_init": w_init,
        "weight_first_last_after": w_after,
        "delta_first_last_init": e_init,
        "delta_first_last_after": e_after,
        "first_layer": first,
        "last_layer": last,
        "first_grad_norm_init": rows[first]["grad_norm_init"],
        "last_grad_norm_init": last_norm,
        "layers_below": below,
        **_update_summary(m),
        "thresholds": {
            "vanishing_ratio": p.vanishing_ratio,
            "min_weight_layers": p.min_weight_layers,
        },
    }
    return finding(
        "OD302",
        confidence=conf,
        message=message,
        evidence=evidence,
        where={"model": m.get("model"), "layer": first},
    )


def _exploding(m: dict[str, Any], p: FlowParams) -> Finding | None:
    d = m["depth_ratios"]
    thresholds = {
        "exploding_ratio": p.exploding_ratio,
        "grad_to_weight_high": p.grad_to_weight_high,
    }
    nonfinite = m["nonfinite_init"] or m["nonfinite_after"]
    during = m["nonfinite_training"]
    if nonfinite or during:
        loss_step = m.get("nonfinite_loss_step")
        if m["nonfinite_init"]:
            names, conf = m["nonfinite_init"], 0.9
            when = "at initialization"
        elif during:
            names, conf = during[0]["layers"], 0.8
            when = f"at training step {during[0]['step'] + 1} (the loss was still finite)"
        elif loss_step is not None:
            names, conf = m["nonfinite_after"], 0.7
            when = (
                f"after the loss became non-finite at training step {loss_step + 1} with the "
                "configured optimizer (the weights diverged)"
            )
        else:
            names, conf = m["nonfinite_after"], 0.75
            when = f"after {m['steps_done']} training steps"
        message = (
            f"Non-finite (inf/NaN) gradients {when} in {len(names)} parameter tensor(s): "
            f"{_names(names)}."
        )
        evidence = {
            "nonfinite_init": m["nonfinite_init"],
            "nonfinite_training": during,
            "nonfinite_after": m["nonfinite_after"],
            "loss_init": m.get("loss_init"),
            "nonfinite_loss_step": m.get("nonfinite_loss_step"),
            "delta_max_last_init": d.get("delta_max_last_init"),
            **_update_summary(m),
            "thresholds": thresholds,
        }
        return finding(
            "OD303",
            confidence=conf,
            message=message,
            evidence=evidence,
            where={"model": m.get("model"), "layer": names[0]},
        )
    e_init, e_after = d.get("delta_max_last_init"), d.get("delta_max_last_after")
    if e_init is None or e_after is None:
        return None
    if not (e_init > p.exploding_ratio and e_after > p.exploding_ratio):
        return None
    g2w = [
        (r["grad_to_weight_init"], r["layer"])
        for r in _weights(m)
        if r["grad_to_weight_init"] is not None
    ]
    top_g2w, top_layer = max(g2w, default=(None, None))
    w_init = d.get("weight_first_last_init")
    corroborated = (top_g2w is not None and top_g2w > p.grad_to_weight_high) or (
        w_init is not None and w_init > p.exploding_ratio
    )
    orders = math.log10(min(e_init, e_after) / p.exploding_ratio)
    conf = clamp(0.55 + 0.1 * orders + (0.2 if corroborated else 0.0), 0.45, 0.95)
    module = d.get("delta_max_module_init")
    types = {r["module"]: r["type"] for r in m.get("modules", [])}
    last = d.get("delta_last")
    message = (
        f"Gradients explode with depth: the back-propagated error at module {module} "
        f"({types.get(module, '?')}) is {fmt(e_init)}x the one at the last layer, {last} "
        f"({types.get(last, '?')}), at initialization "
        f"and {fmt(e_after)}x after {m['steps_done']} training steps (threshold "
        f"{fmt(p.exploding_ratio)})"
        + (f"; gradient/weight norm up to {fmt(top_g2w)} ({top_layer})" if top_g2w else "")
        + "."
    )
    evidence = {
        "delta_max_last_init": e_init,
        "delta_max_last_after": e_after,
        "delta_max_module": module,
        "last_module": d.get("delta_last"),
        "weight_first_last_init": w_init,
        "weight_first_last_after": d.get("weight_first_last_after"),
        "max_grad_to_weight": top_g2w,
        "max_grad_to_weight_layer": top_layer,
        "corroborated": corroborated,
        **_update_summary(m),
        "thresholds": thresholds,
    }
    return finding(
        "OD303",
        confidence=conf,
        message=message,
        evidence=evidence,
        where={"model": m.get("model"), "layer": module},
    )


# --- OD304 / OD305 -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectivityParams:
    report_zero_gradient: bool = True  # in the graph but exactly zero on every probed batch
    report_not_updated: bool = True  # gets a gradient, but the optimizer never changes it


class ParameterConnectivity(SpecCheck):
    """Trainable parameters that never get a gradient; parameters frozen on purpose."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="parameter-connectivity",
        codes=("OD304", "OD305"),
        needs=_NEEDS,
        cost="quick",
        description="Trainable parameters with no (or always-zero) gradient or never updated "
        "by the optimizer; frozen parameters.",
    )
    Params = ConnectivityParams

    def measure(self, ctx: Context, params: ConnectivityParams) -> dict[str, Any]:
        flow = ctx.probe("gradient_flow")
        keys = (
            "judged",
            "reason",
            "model",
            "parameters",
            "trainable_tensors",
            "trainable_parameters",
            "frozen",
            "frozen_parameters",
            "disconnected",
            "zero_gradient",
            "not_updated",
            "loss_detached",
            "steps_done",
            "probe_batches",
            "training_error",
        )
        m = {k: flow[k] for k in keys if k in flow}
        sizes = {r["layer"]: r["numel"] for r in flow.get("layers", [])}
        listed = [*m.get("disconnected", []), *m.get("zero_gradient", [])]
        m["sizes"] = {n: sizes[n] for n in [*listed, *m.get("not_updated", [])]}
        return m

    def judge(self, m: dict[str, Any], p: ConnectivityParams) -> list[Finding]:
        out = []
        where = {"model": m.get("model")}
        frozen = m.get("frozen") or []
        if frozen:
            n = m["frozen_parameters"]
            share = n / max(m["parameters"], 1)
            names = [f["name"] for f in frozen]
            out.append(
                finding(
                    "OD305",
                    confidence=0.95,
                    message=(
                        f"{len(frozen)} parameter tensor(s) ({n:,} values, {share:.0%} of the "
                        f"model) are frozen (requires_grad=False): {_names(names)}."
                    ),
                    evidence={
                        "frozen": names,
                        "frozen_parameters": n,
                        "share": share,
                        "trainable_parameters": m["trainable_parameters"],
                    },
                    where={**where, "layer": names[0]},
                )
            )
        if not m.get("judged"):
            return out
        sizes = m["sizes"]
        groups = [("none", m["disconnected"], 0.95)]
        if p.report_zero_gradient:
            groups.append(("zero", m["zero_gradient"], 0.7))
        if p.report_not_updated:
            groups.append(("not_updated", m["not_updated"], 0.85))
        groups = [g for g in groups if g[1]]
        if not groups:
            return out
        _, names, conf = groups[0]
        all_names = [n for _, ns, _ in groups for n in ns]
        values = sum(sizes.get(n, 0) for n in all_names)
        everything = len(m["disconnected"]) == m["trainable_tensors"]
        if m.get("loss_detached") or everything:
            text = (
                "the loss does not depend on any trainable parameter (the graph is cut "
                "between the parameters and the loss)"
            )
        else:
            parts = []
            if m["disconnected"]:
                parts.append(
                    f"{len(m['disconnected'])} get no gradient at all (None: not in the "
                    f"autograd graph of the loss): {_names(m['disconnected'])}"
                )
            if p.report_zero_gradient and m["zero_gradient"]:
                parts.append(
                    f"{len(m['zero_gradient'])} get an exactly-zero gradient on every probed "
                    f"batch (usually units downstream that are all dead, see OD403, or a zero "
                    f"multiplier): {_names(m['zero_gradient'])}"
                )
            if p.report_not_updated and m["not_updated"]:
                parts.append(
                    f"{len(m['not_updated'])} get gradients but the optimizer never changes "
                    f"them: {_names(m['not_updated'])}"
                )
            text = "; ".join(parts)
        message = (
            f"{len(all_names)} of {m['trainable_tensors']} trainable parameter tensors "
            f"({values:,} values) are not being trained: {text}."
        )
        evidence = {
            "disconnected": m["disconnected"],
            "zero_gradient": m["zero_gradient"] if p.report_zero_gradient else [],
            "not_updated": m["not_updated"] if p.report_not_updated else [],
            "values": values,
            "trainable_tensors": m["trainable_tensors"],
            "probe_batches": m.get("probe_batches"),
            "flow_steps": m.get("steps_done"),
            "loss_detached": m.get("loss_detached"),
            "thresholds": asdict(p),
        }
        # exactly-zero gradients alone are the trace of another cause (dead units, zero weights
        # downstream), which other checks name better: information, not a warning
        zero_only = all(kind == "zero" for kind, _, _ in groups)
        out.append(
            finding(
                "OD304",
                confidence=0.6 if zero_only else conf,
                message=message,
                evidence=evidence,
                where={**where, "layer": names[0]},
                severity=Severity.INFO if zero_only else None,
            )
        )
        return out


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_NAMES])
    return shown + (f" and {len(names) - _MAX_NAMES} more" if len(names) > _MAX_NAMES else "")


CHECKS = (GradientCheck(), GradientFlow(), ParameterConnectivity())
