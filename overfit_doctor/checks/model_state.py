"""The model's state at initialization and in eval mode (diagnose --spec): OD401 loss at init,
OD402 output/loss mismatch, OD403 dead ReLU units, OD404 saturated tanh/sigmoid units, OD405
weight scale, OD406 eval-mode nondeterminism. Probes: init_loss, output_check, activations,
weights, determinism. No torch import here: the probes run it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from overfit_doctor.catalogue.model import Severity
from overfit_doctor.checks.analysis import fmt, pct
from overfit_doctor.checks.base import CheckMeta, Context, finding
from overfit_doctor.checks.spec_base import SpecCheck
from overfit_doctor.checks.stats import clamp
from overfit_doctor.diagnosis import Finding

_MODEL = frozenset({"model", "train_data"})


def share_below(quantiles: list[float], t: float) -> float:
    """Share of values < t, read from quantiles at 0, 1, ..., 100 % (1 % resolution)."""
    return sum(q < t for q in quantiles) / len(quantiles) if quantiles else 0.0


def share_above(quantiles: list[float], t: float) -> float:
    """Share of values > t, read from quantiles at 0, 1, ..., 100 % (1 % resolution)."""
    return sum(q > t for q in quantiles) / len(quantiles) if quantiles else 0.0


def _where(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, **{k: v for k, v in extra.items() if v is not None}}


# --- OD401 -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InitLossParams:
    max_excess_nats: float = 1.0  # classification: loss at init minus the uninformed loss
    max_regression_ratio: float = 3.0  # regression: loss at init / loss of the best constant
    min_models_share: float = 0.5  # fresh models (seeds) that must exceed the threshold


class InitLoss(SpecCheck):
    """The loss of fresh models is far above the loss of an uninformed prediction."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="loss-at-init",
        codes=("OD401",),
        needs=_MODEL,
        description="Loss of freshly initialized models vs ln C / ln 2 / the target variance.",
    )
    Params = InitLossParams

    def measure(self, ctx: Context, p: InitLossParams) -> dict[str, Any]:
        m = dict(ctx.probe("init_loss"))
        if m.get("error"):
            return {**m, "judged": False, "reason": m["error"]}
        m["layers_above_he"] = []
        ratio = sum(m.get("ratio_to_best_constant") or [0.0]) / max(
            len(m.get("ratio_to_best_constant") or [0.0]), 1
        )
        off = (
            not m["finite"]
            or m.get("excess_mean", 0.0) >= p.max_excess_nats
            or ratio >= p.max_regression_ratio
        )
        if not off:
            return m
        try:  # where the scale comes from: layers far above He scale
            layers = ctx.probe("weights")["layers"]
            m["layers_above_he"] = [
                {"layer": x["name"], "rms": x["rms"], "he": x["references"]["he"],
                 "ratio_to_he": x["ratio_to_he"]}
                for x in sorted(layers, key=lambda x: -x["ratio_to_he"])
                if x["ratio_to_he"] > 3
            ][:3]  # fmt: skip
        except Exception:  # context only
            pass
        return m

    def judge(self, m: dict[str, Any], p: InitLossParams) -> list[Finding]:
        if m.get("judged") is False:
            return []  # the loss cannot run: OD402 reports why
        kind = m["loss_kind"]
        where = _where(m.get("model", "model"), split="train")
        thresholds = asdict(p)
        base = {
            "loss": m["loss"],
            "loss_at_init": m["loss_mean"],
            "losses_per_model": m["losses"],
            "expected": m["expected"],
            "expected_formula": m.get("expected_formula"),
            "output_scale": m["output_scale_mean"],
            "models": m["models"],
            "samples_per_model": m["samples_per_model"],
            "layers_above_he": m["layers_above_he"],
            "thresholds": thresholds,
        }
        if not m["finite"]:
            msg = (
                f"The loss of freshly initialized models is not finite ({m['losses']}): the "
                "initial outputs overflow or the loss gets invalid values."
            )
            return [finding("OD401", confidence=0.9, message=msg, evidence=base, where=where)]
        if kind in ("cross_entropy", "nll", "bce_logits", "bce"):
            excess = m["excess"]
            over = sum(e >= p.max_excess_nats for e in excess) / len(excess)
            mean = m["excess_mean"]
            if mean < p.max_excess_nats or over < p.min_models_share:
                return []
            conf = clamp(0.55 + 0.15 * _log2_ratio(mean, p.max_excess_nats), 0.55, 0.95) * over
            scale = (
                "logit spread (std across classes)"
                if kind in ("cross_entropy", "nll")
                else "logit RMS"
            )
            msg = (
                f"The loss at initialization is {fmt(m['loss_mean'])}, {fmt(mean)} nats above "
                f"the {fmt(m['expected'])} ({m.get('expected_formula')}) of an uninformed "
                f"prediction; the initial {scale} is {fmt(m['output_scale_mean'])} "
                f"(mean of {m['models']} fresh models)."
            )
            ev = {**base, "excess": mean, "excess_per_model": excess, "models_over_threshold": over}
            return [finding("OD401", confidence=conf, message=msg, evidence=ev, where=where)]
        if kind == "regression":
            ratios = m["ratio_to_best_constant"]
            over = sum(r >= p.max_regression_ratio for r in ratios) / len(ratios)
            ratio = sum(ratios) / len(ratios)
            if ratio < p.max_regression_ratio or over < p.min_models_share:
                return []
            conf = clamp(0.55 + 0.15 * _log2_ratio(ratio, p.max_regression_ratio), 0.55, 0.9)
            conf *= over
            zero, best = m["zero_output_loss"], m["best_constant_loss"]
            offset = best > 0 and zero / best >= p.max_regression_ratio
            if offset and m["loss_mean"] <= 2 * zero:
                cause = (
                    f"the targets average {fmt(m['target_mean'])} (std "
                    f"{fmt(m['target_std'])}) while the untrained outputs average "
                    f"{fmt(m['output_mean'])}"
                )
            else:
                cause = (
                    f"the initial outputs are large (RMS {fmt(m['output_scale_mean'])}, "
                    f"targets std {fmt(m['target_std'])})"
                )
            msg = (
                f"The loss at initialization is {fmt(m['loss_mean'])}, {ratio:.1f}x the "
                f"{fmt(best)} of predicting the best constant: {cause}."
            )
            ev = {
                **base,
                "ratio_to_best_constant": ratio,
                "best_constant_loss": best,
                "zero_output_loss": zero,
                "target_mean": m["target_mean"],
                "target_std": m["target_std"],
                "output_mean": m["output_mean"],
                "models_over_threshold": over,
            }
            return [finding("OD401", confidence=conf, message=msg, evidence=ev, where=where)]
        return []  # a custom loss: no expected value to compare with


def _log2_ratio(value: float, threshold: float) -> float:
    return math.log2(value / threshold) if threshold > 0 and value > threshold else 0.0


# --- OD402 -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputParams:
    probability_tolerance: float = 1e-3  # |row sum - 1| (softmax) or |logsumexp| (log-softmax)
    max_output_ratio: float = 2.0  # outputs / classes above this (and >= 2 extra): a note
    max_out_of_range_share: float = 0.05  # regression targets the output activation can't reach


_SQUASH_RANGE = {"sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0), "tanh": (-1.0, 1.0),
                 "relu": (0.0, math.inf), "softplus": (0.0, math.inf)}  # fmt: skip
_RANGE_KEY = {"sigmoid": "outside_0_1", "softmax": "outside_0_1", "tanh": "outside_pm1",
              "relu": "negative", "softplus": "negative"}  # fmt: skip


class OutputActivation(SpecCheck):
    """The model's output does not fit what the loss expects (activation, size, targets)."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="output-activation",
        codes=("OD402",),
        needs=_MODEL,
        description="Softmax/sigmoid before a logits loss, output size vs classes, "
        "target dtype/shape vs loss.",
    )
    Params = OutputParams

    def measure(self, ctx: Context, p: OutputParams) -> dict[str, Any]:
        return dict(ctx.probe("output_check"))

    def judge(self, m: dict[str, Any], p: OutputParams) -> list[Finding]:
        out = m["outputs"]
        kind, loss = m["loss_kind"], m["loss"]
        fm = m.get("final_module") or {}
        where = _where(m["model"], layer=fm.get("name"), split="train")
        thr = asdict(p)
        ev = {
            "loss": loss,
            "loss_inferred": m["loss_inferred"],
            "final_op": m["final_op"],
            "final_op_autograd": m["final_op_raw"],
            "final_module": fm or None,
            "output_shape": m["output_shape"],
            "target_shape": m["target_shape"],
            "target_dtype": m["target_dtype"],
            "output_min": out["min"],
            "output_max": out["max"],
            "thresholds": thr,
        }
        assumed = (
            (
                f" (the Spec gives no loss, so {loss} was assumed; pass loss=... if you "
                "train with another)"
            )
            if m["loss_inferred"]
            else ""
        )
        found: list[Finding] = []

        def add(
            msg: str,
            conf: float,
            severity: Severity | None = None,
            *,
            about_loss: bool = False,
            **extra: Any,
        ) -> None:
            """`about_loss`: the verdict depends on which loss is used (assumed or given)."""
            if about_loss and m["loss_inferred"]:
                msg += assumed
                if severity is None or severity >= Severity.WARNING:
                    conf *= 0.8
            found.append(
                finding(
                    "OD402",
                    confidence=conf,
                    message=msg,
                    evidence={**ev, **extra},
                    where=where,
                    severity=severity,
                )
            )

        k, c = m["num_outputs"], m["num_classes"]
        if m["label_problem"]:
            problem = m["label_problem"]
            add(
                f"{problem[0].upper()}{problem[1:]}: {loss} cannot score them (it raises on CPU "
                "and aborts with a device-side assert on CUDA).",
                0.95,
                num_outputs=k,
                num_classes=c,
                label_problem=m["label_problem"],
            )
            return found
        if m["shape_mismatch"]:
            hint = ""
            t = m["targets"]
            if t["whole_numbers"] and t["distinct_values"] and t["distinct_values"] <= k:
                hint = (
                    " The targets are whole numbers with "
                    f"{t['distinct_values']} values: if they are class labels, make them "
                    "int64 (torch.long) for CrossEntropyLoss."
                )
            add(
                f"Outputs of shape {m['output_shape']} and targets of shape "
                f"{m['target_shape']} per sample do not match: {loss} broadcasts them "
                f"(or fails).{hint}",
                0.9,
                loss_error=m["loss_error"],
                loss_warnings=m["loss_warnings"],
            )
            return found
        if m["loss_error"]:
            add(
                f"{loss} fails on the model's outputs {m['output_shape']} and targets "
                f"{m['target_shape']} ({m['target_dtype']}): {m['loss_error']}." + _target_hint(m),
                0.95,
                loss_error=m["loss_error"],
            )
            return found

        op = m["final_op"]
        probs = out["rows_sum_to_one"] and (out["row_sum_max_deviation"] or 0) <= (
            p.probability_tolerance
        )
        logp = out["log_probabilities"] and (out["logsumexp_max_deviation"] or 0) <= (
            p.probability_tolerance
        )
        shown = f"outputs in [{fmt(out['min'])}, {fmt(out['max'])}]" + (
            f", rows summing to 1 within {out['row_sum_max_deviation']:.1g}" if probs else ""
        )
        src = f" (module '{fm['name']}', {fm['type']})" if fm else ""
        if kind == "cross_entropy":
            if op in ("softmax", "sigmoid", "tanh") or probs:
                what = op if op in ("softmax", "sigmoid", "tanh") else "a softmax"
                conf = 0.95 if (op is not None and (probs or op != "softmax")) else 0.85
                add(
                    f"{loss} applies log-softmax itself, but the model's output already passes "
                    f"through {what}{src}: {shown}; the loss is squashed and its gradients "
                    "shrink.",
                    conf,
                    probabilities=probs,
                    about_loss=True,
                )
            elif op == "log_softmax" or logp:
                add(
                    f"The model ends in log-softmax{src} before {loss}, which applies it again; "
                    "harmless (log-softmax is idempotent) but redundant.",
                    0.6,
                    severity=Severity.INFO,
                    log_probabilities=logp,
                    about_loss=True,
                )
            elif op in ("relu", "softplus", "hardtanh"):
                add(
                    f"The logits pass through {op}{src} before {loss}: they cannot be "
                    f"negative ({shown}).",
                    0.6,
                    severity=Severity.WARNING,
                    about_loss=True,
                )
        elif kind == "nll":
            if op in ("softmax", "sigmoid") or probs:
                add(
                    f"{loss} expects log-probabilities but the output passes through "
                    f"{op or 'a softmax'}{src}: {shown}; use log_softmax.",
                    0.95,
                    about_loss=True,
                )
            elif op != "log_softmax" and not logp:
                add(
                    f"{loss} expects log-probabilities, but the outputs are not normalized "
                    f"(max |logsumexp| {fmt(out['logsumexp_max_deviation'] or math.nan)}): "
                    "apply log_softmax, or use CrossEntropyLoss on raw logits.",
                    0.85,
                    about_loss=True,
                )
        elif kind == "bce_logits":
            if op in ("sigmoid", "softmax"):
                sev = Severity.WARNING if m["loss_inferred"] else None
                add(
                    f"{loss} applies a sigmoid itself, but the model's output already passes "
                    f"through {op}{src}: {shown}.",
                    0.9,
                    severity=sev,
                    about_loss=True,
                )
        elif kind == "regression" and op in _SQUASH_RANGE:
            lo, hi = _SQUASH_RANGE[op]
            t = m["targets"]
            share = t["share"][_RANGE_KEY[op]]
            if share > p.max_out_of_range_share:
                add(
                    f"The output passes through {op}{src} (range [{fmt(lo)}, {fmt(hi)}]) but "
                    f"the targets span [{fmt(t['min'])}, {fmt(t['max'])}]: "
                    f"{pct(share)} of them cannot be reached.",
                    0.9,
                    targets_out_of_range_share=share,
                )

        if kind in ("cross_entropy", "nll") and c and k >= p.max_output_ratio * c and k - c >= 2:
            add(
                f"The model has {k} outputs for {c} classes (labels 0..{c - 1}): the extra "
                "outputs are never the target.",
                0.5,
                severity=Severity.INFO,
                num_outputs=k,
                num_classes=c,
            )
        t = m["targets"]
        if m["loss_inferred"] and kind == "regression" and t["one_hot"]:
            add(
                f"The targets look one-hot ({m['target_shape']} per sample) and {loss} was "
                "assumed; for classification pass class indices (y.argmax(1), int64) or "
                "loss=nn.CrossEntropyLoss().",
                0.6,
                severity=Severity.INFO,
            )
        return found


def _target_hint(m: dict[str, Any]) -> str:
    t = m["targets"]
    if m["loss_kind"] in ("cross_entropy", "nll"):
        if t["one_hot"] and not t["floating_point"]:
            return " The targets look one-hot: pass class indices (y.argmax(1))."
        if t["floating_point"] and not m["target_shape"]:
            return " The targets are floats: class indices must be int64 (y.long())."
    if m["loss_kind"] == "bce" and not m["outputs"]["in_unit_interval"]:
        return (
            " BCELoss expects probabilities: end the model in a sigmoid, or better give the "
            "raw logits to BCEWithLogitsLoss."
        )
    return ""


# --- OD403 / OD404 -----------------------------------------------------------------------------


def _latest(m: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    if m.get("trained"):
        return m["trained"], f"after {m['training_steps']} training steps"
    return m["init"], "at initialization"


@dataclass(frozen=True)
class DeadParams:
    dead_active_below: float = 0.01  # a unit active on fewer samples than this is dead
    max_dead_share: float = 0.5  # a layer with more dead units than this fires
    min_samples: int = 32


class DeadUnits(SpecCheck):
    """ReLU layers where most units never activate."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="dead-units",
        codes=("OD403",),
        needs=_MODEL,
        description="Share of ReLU units never active, at init and after a short training.",
    )
    Params = DeadParams

    def measure(self, ctx: Context, p: DeadParams) -> dict[str, Any]:
        a = ctx.probe("activations")
        m: dict[str, Any] = {
            "model": a["model"],
            "samples": a["samples"],
            "training_steps": a["training_steps"],
            "training_error": a["training_error"],
            "layers": [],
        }
        for stage in ("init", "trained"):
            for r in a.get(stage) or []:
                if r["family"] in ("rectifier", "soft_rectifier"):
                    m["layers"].append({
                        "stage": stage, "site": r["site"], "type": r["type"],
                        "family": r["family"], "units": r["units"], "is_output": r["is_output"],
                        "dead_share": share_below(r["active_share_quantiles"],
                                                  p.dead_active_below),
                        "never_active_share": r["never_active_share"],
                        "pre_activation_std": r["pre_activation_std"],
                    })  # fmt: skip
        m["judged_stage"] = "trained" if a.get("trained") else "init"
        return m

    def figures(self, m: dict[str, Any]) -> dict[str, Any]:
        layers = m.get("layers") or []
        if not layers:
            return {}
        sites = list(dict.fromkeys(r["site"] for r in layers))
        series = {
            stage: [
                next(
                    (r["dead_share"] for r in layers if r["site"] == s and r["stage"] == stage), 0.0
                )
                for s in sites
            ]
            for stage in ("init", "trained")
            if any(r["stage"] == stage for r in layers)
        }
        return {
            "model/dead-units": {
                "kind": "bars",
                "title": "Dead ReLU units per layer (share of units never active)",
                "y_label": "share dead",
                "log_y": False,
                "categories": sites,
                "series": series,
            }
        }

    def judge(self, m: dict[str, Any], p: DeadParams) -> list[Finding]:
        if m["samples"] < p.min_samples:
            return []
        stage = m["judged_stage"]
        when = (
            f"after {m['training_steps']} training steps"
            if stage == "trained"
            else "at initialization"
        )
        init = {r["site"]: r for r in m["layers"] if r["stage"] == "init"}
        layers = [
            r
            for r in m["layers"]
            if r["stage"] == stage and r["family"] == "rectifier" and not r["is_output"]
        ]
        bad = sorted(
            (r for r in layers if r["dead_share"] > p.max_dead_share),
            key=lambda r: -r["dead_share"],
        )
        if not bad:
            return []
        worst = bad[0]
        s = worst["dead_share"]
        conf = 0.6 + 0.35 * (s - p.max_dead_share) / max(1 - p.max_dead_share, 1e-9)
        init_worst = init.get(worst["site"], {}).get("dead_share")
        if stage == "trained" and init_worst is not None and init_worst <= p.max_dead_share:
            conf *= 0.85  # died during training: one short run is thinner evidence
        names = ", ".join(f"'{r['site']}' {pct(r['dead_share'])}" for r in bad[:4])
        since = (
            ""
            if init_worst is None or stage == "init"
            else f" ({pct(init_worst)} at initialization)"
        )
        msg = (
            f"{len(bad)} of {len(layers)} ReLU layers have most units dead {when} "
            f"(active on < {pct(p.dead_active_below)} of {m['samples']} samples): "
            f"{names}{since}."
        )
        ev = {
            "stage": stage,
            "samples": m["samples"],
            "layers": [{k: r[k] for k in ("site", "type", "units", "dead_share",
                                          "never_active_share", "pre_activation_std")}
                       for r in bad],
            "dead_share_at_init": {k: v["dead_share"] for k, v in init.items()},
            "thresholds": asdict(p),
        }  # fmt: skip
        return [
            finding(
                "OD403",
                confidence=conf,
                message=msg,
                evidence=ev,
                where=_where(m["model"], layer=worst["site"]),
            )
        ]


@dataclass(frozen=True)
class SaturationParams:
    tanh_limit: float = 5.0  # |pre-activation| beyond which tanh' < 2e-4 (DeepDiagnosis)
    sigmoid_limit: float = 10.0  # the same flatness for sigmoid (sigmoid(x) = (1+tanh(x/2))/2)
    max_saturated_share: float = 0.5  # share of a layer's pre-activations beyond the limit


class Saturation(SpecCheck):
    """tanh/sigmoid layers whose inputs mostly sit in the flat tails."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="activation-saturation",
        codes=("OD404",),
        needs=_MODEL,
        description="Share of tanh/sigmoid pre-activations in the flat range, at init and "
        "after a short training.",
    )
    Params = SaturationParams

    def measure(self, ctx: Context, p: SaturationParams) -> dict[str, Any]:
        a = ctx.probe("activations")
        m: dict[str, Any] = {
            "model": a["model"],
            "samples": a["samples"],
            "training_steps": a["training_steps"],
            "training_error": a["training_error"],
            "layers": [],
        }
        for stage in ("init", "trained"):
            for r in a.get(stage) or []:
                if r["family"] == "saturating":
                    limit = p.tanh_limit if r["activation"] == "tanh" else p.sigmoid_limit
                    m["layers"].append({
                        "stage": stage, "site": r["site"], "type": r["type"],
                        "activation": r["activation"], "units": r["units"],
                        "is_output": r["is_output"], "limit": limit,
                        "saturated_share": share_above(r["abs_pre_activation_quantiles"],
                                                       limit),
                        "pre_activation_std": r["pre_activation_std"],
                        "abs_pre_activation_median": r["abs_pre_activation_quantiles"][50],
                    })  # fmt: skip
        m["judged_stage"] = "trained" if a.get("trained") else "init"
        return m

    def figures(self, m: dict[str, Any]) -> dict[str, Any]:
        layers = m.get("layers") or []
        if not layers:
            return {}
        sites = list(dict.fromkeys(r["site"] for r in layers))
        series = {
            stage: [
                next(
                    (
                        r["saturated_share"]
                        for r in layers
                        if r["site"] == s and r["stage"] == stage
                    ),
                    0.0,
                )
                for s in sites
            ]
            for stage in ("init", "trained")
            if any(r["stage"] == stage for r in layers)
        }
        return {
            "model/saturation": {
                "kind": "bars",
                "title": "Saturated tanh/sigmoid pre-activations per layer",
                "y_label": "share saturated",
                "log_y": False,
                "categories": sites,
                "series": series,
            }
        }

    def judge(self, m: dict[str, Any], p: SaturationParams) -> list[Finding]:
        stage = m["judged_stage"]
        when = (
            f"after {m['training_steps']} training steps"
            if stage == "trained"
            else "at initialization"
        )
        init = {r["site"]: r for r in m["layers"] if r["stage"] == "init"}
        layers = [r for r in m["layers"] if r["stage"] == stage and not r["is_output"]]
        bad = sorted(
            (r for r in layers if r["saturated_share"] > p.max_saturated_share),
            key=lambda r: -r["saturated_share"],
        )
        if not bad:
            return []
        worst = bad[0]
        s = worst["saturated_share"]
        conf = 0.6 + 0.35 * (s - p.max_saturated_share) / max(1 - p.max_saturated_share, 1e-9)
        init_worst = init.get(worst["site"], {}).get("saturated_share")
        if stage == "trained" and init_worst is not None and init_worst <= p.max_saturated_share:
            conf *= 0.85
        names = ", ".join(
            f"'{r['site']}' ({r['activation']}) {pct(r['saturated_share'])} beyond "
            f"±{fmt(r['limit'])}"
            for r in bad[:4]
        )
        msg = (
            f"{len(bad)} of {len(layers)} tanh/sigmoid layers are saturated {when}: "
            f"{names} (median |pre-activation| {fmt(worst['abs_pre_activation_median'])})."
        )
        ev = {
            "stage": stage,
            "samples": m["samples"],
            "layers": [{k: r[k] for k in ("site", "type", "activation", "units", "limit",
                                          "saturated_share", "pre_activation_std",
                                          "abs_pre_activation_median")} for r in bad],
            "saturated_share_at_init": {k: v["saturated_share"] for k, v in init.items()},
            "thresholds": asdict(p),
        }  # fmt: skip
        return [
            finding(
                "OD404",
                confidence=conf,
                message=msg,
                evidence=ev,
                where=_where(m["model"], layer=worst["site"]),
            )
        ]


# --- OD405 -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightScaleParams:
    max_ratio: float = 10.0  # RMS above this x the largest reference (He, Xavier, ...)
    min_ratio: float = 0.1  # RMS below this x the smallest reference (hidden layers only)


class WeightScale(SpecCheck):
    """Initial weights far from every usual initialization scale for their fan-in."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="weight-scale",
        codes=("OD405",),
        needs=_MODEL,
        description="Per-layer weight RMS vs He / Xavier / LeCun / PyTorch-default scale; "
        "histograms, norm growth and spectral alpha as measurements.",
    )
    Params = WeightScaleParams

    def measure(self, ctx: Context, p: WeightScaleParams) -> dict[str, Any]:
        return dict(ctx.probe("weights"))

    def figures(self, m: dict[str, Any]) -> dict[str, Any]:
        panels = []
        for layer in m.get("layers") or []:
            hist = layer.get("histogram")
            if not hist:
                continue
            refs = layer.get("references") or {}
            panels.append(
                {
                    "name": f"{layer['name']} ({layer['type']})",
                    "edges": hist["edges"],
                    "counts": hist["counts"],
                    "std": layer.get("std"),
                    "reference_std": refs.get("he"),
                    "reference_name": "He",
                }
            )
        if not panels:
            return {}
        return {
            "model/weights": {
                "kind": "histograms",
                "title": "Weights per layer against the He initialization scale",
                "panels": panels[:12],
            }
        }

    def judge(self, m: dict[str, Any], p: WeightScaleParams) -> list[Finding]:
        high, low, bad = [], [], []
        for x in m["layers"]:
            if not x["finite"]:
                bad.append(x)
            elif not x["called"] or x["followed_by_normalization"]:
                continue
            elif x["ratio_to_largest_reference"] > p.max_ratio:
                high.append(x)
            elif (
                x["ratio_to_smallest_reference"] < p.min_ratio
                and not x["output_layer"]
                and x["zero_share"] < 1.0
            ):
                low.append(x)
        n = len(m["layers"])
        found = []
        thr = asdict(p)

        def row(x: dict[str, Any]) -> dict[str, Any]:
            return {
                "layer": x["name"],
                "type": x["type"],
                "shape": x["shape"],
                "rms": x["rms"],
                "references": x["references"],
                "ratio_to_largest_reference": x["ratio_to_largest_reference"],
                "ratio_to_smallest_reference": x["ratio_to_smallest_reference"],
                "norm_growth": x.get("norm_growth"),
            }

        if bad:
            msg = (
                f"{len(bad)} of {n} weight layers hold NaN or inf at initialization: "
                + ", ".join(f"'{x['name']}'" for x in bad[:4])
                + "."
            )
            found.append(
                finding(
                    "OD405",
                    confidence=0.95,
                    message=msg,
                    evidence={"layers": [x["name"] for x in bad], "thresholds": thr},
                    where=_where(m["model"], layer=bad[0]["name"]),
                )
            )
        for group, word, key, limit in (
            (high, "larger", "ratio_to_largest_reference", p.max_ratio),
            (low, "smaller", "ratio_to_smallest_reference", p.min_ratio),
        ):
            if not group:
                continue
            group.sort(key=lambda x: x[key] if word == "smaller" else -x[key])
            w = group[0]
            r = w[key] / limit if word == "larger" else limit / max(w[key], 1e-12)
            conf = clamp(0.6 + 0.3 * math.log10(r), 0.6, 0.9)
            ref = (
                max(w["references"].values()) if word == "larger" else min(w["references"].values())
            )
            ref_name = (
                max(w["references"], key=w["references"].get)
                if word == "larger"
                else min(w["references"], key=w["references"].get)
            )
            msg = (
                f"{len(group)} of {n} weight layers start far {word} than any usual "
                f"initialization: '{w['name']}' ({w['type']} {w['shape']}) has RMS "
                f"{fmt(w['rms'])}, "
                + (f"{w['rms'] / ref:.3g}x" if word == "larger" else f"1/{ref / w['rms']:.3g} of")
                + f" the {ref_name} scale {fmt(ref)} for fan-in {w['fan_in']}."
            )
            ev = {
                "direction": word,
                "layers": [row(x) for x in group],
                "thresholds": thr,
                "alpha_note": "spectral alpha is reported in the measurements, not judged",
            }
            found.append(
                finding(
                    "OD405",
                    confidence=conf,
                    message=msg,
                    evidence=ev,
                    where=_where(m["model"], layer=w["name"]),
                )
            )
        return found


# --- OD406 -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeterminismParams:
    repeat_tolerance: float = 1e-4  # max |difference| / max |output| of two identical passes
    batch_tolerance: float = 1e-2  # the same samples evaluated in a batch of half the size


class EvalDeterminism(SpecCheck):
    """Eval-mode outputs change between identical forward passes or with the batch."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="eval-determinism",
        codes=("OD406",),
        needs=_MODEL,
        description="Two eval-mode forward passes on the same batch must agree.",
    )
    Params = DeterminismParams

    def measure(self, ctx: Context, p: DeterminismParams) -> dict[str, Any]:
        return dict(ctx.probe("determinism"))

    def judge(self, m: dict[str, Any], p: DeterminismParams) -> list[Finding]:
        ev = {
            "repeat_difference": m["repeat_difference"],
            "batch_difference": m["batch_difference"],
            "samples": m["samples"],
            "first_differing_module": m["first_differing_module"],
            "dropout_modules": m["dropout_modules"],
            "thresholds": asdict(p),
        }
        first = m["first_differing_module"]
        at = (
            f"; they first differ at the output of '{first}' (the randomness is there or "
            "just before it)"
            if first
            else ""
        )
        where = _where(m["model"], layer=first, split="train")
        d = m["repeat_difference"]
        if d > p.repeat_tolerance:
            conf = 0.95 if d > 100 * p.repeat_tolerance else 0.8
            msg = (
                f"Two forward passes in eval mode (model.eval(), no_grad) on the same "
                f"{m['samples']} samples differ by up to {_rel(d)} of the output scale"
                f"{at}: dropout or noise stays active at evaluation."
            )
            return [finding("OD406", confidence=conf, message=msg, evidence=ev, where=where)]
        b = m["batch_difference"]
        if b is not None and b > p.batch_tolerance:
            conf = 0.9 if b > 10 * p.batch_tolerance else 0.7
            msg = (
                f"In eval mode a sample's output depends on its batch: the same "
                f"{m['samples'] // 2} samples change by up to {_rel(b)} of the output scale "
                f"when evaluated without the other {m['samples'] - m['samples'] // 2} "
                "(batch statistics used at evaluation)."
            )
            return [
                finding(
                    "OD406",
                    confidence=conf,
                    message=msg,
                    evidence=ev,
                    where=where,
                    severity=Severity.WARNING,
                )
            ]
        return []


def _rel(x: float) -> str:
    return "inf" if math.isinf(x) else pct(x)


CHECKS = (InitLoss(), OutputActivation(), DeadUnits(), Saturation(), WeightScale(),
          EvalDeterminism())  # fmt: skip
