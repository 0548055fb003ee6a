"""Memorization and capacity: OD201 (the model cannot overfit one small batch) and the label
randomization test, OD202 (shuffled labels memorized about as fast as real ones), OD203 (real
labels do no better on held-out data than chance) and OD204 (shuffled-label training still
predicts held-out labels). The experiments are in `probes/small_batch.py` and
`probes/label_shuffle.py`; this module only judges their numbers."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from overfit_doctor.checks.analysis import fmt, pct
from overfit_doctor.checks.base import CheckMeta, Context, NotApplicable, finding
from overfit_doctor.checks.spec_base import SpecCheck
from overfit_doctor.checks.stats import clamp
from overfit_doctor.diagnosis import Finding

_NEEDS = frozenset({"model", "train_data"})


# --- OD201: overfit one small batch ----------------------------------------------------------


@dataclass(frozen=True)
class SmallBatchParams:
    max_loss_fraction: float = 0.1  # fitted: loss above its floor <= 10% of where it started
    min_accuracy: float = 1.0  # ... and every sample of the batch classified correctly
    min_r2: float = 0.95  # regression: fitted when the batch R^2 reaches this
    plateau_drop: float = 0.05  # loss fell less than this (relative) over the last quarter: stuck
    stalled_drop: float = 0.05  # loss fell less than this over the whole run: barely moved
    small_update_ratio: float = 1e-4  # first step ||dW||/||W|| below this: learning rate too small
    max_share_without_grad: float = 0.5  # share of parameters without gradient: frozen/disconnected
    min_output_spread: float = 0.1  # outputs vary less than this across samples: input ignored


# (model's last module, loss) pairs that keep the loss from reaching its floor
_CLASSIFICATION_MISMATCH = {
    ("Softmax", "CrossEntropyLoss"): "a final Softmax feeds CrossEntropyLoss, which applies "
    "log-softmax itself (softmax twice); return raw logits",
    ("Sigmoid", "CrossEntropyLoss"): "a final Sigmoid squeezes the logits CrossEntropyLoss "
    "expects into [0, 1]; return raw logits",
    ("Softmax", "NLLLoss"): "a final Softmax feeds NLLLoss, which expects log-probabilities; "
    "use LogSoftmax or CrossEntropyLoss on raw logits",
    ("Sigmoid", "BCEWithLogitsLoss"): "a final Sigmoid feeds BCEWithLogitsLoss, which applies "
    "the sigmoid itself; return raw logits",
    ("Softmax", "BCEWithLogitsLoss"): "a final Softmax feeds BCEWithLogitsLoss; return raw logits",
    ("ReLU", "CrossEntropyLoss"): "a final ReLU clips the logits CrossEntropyLoss expects",
    ("ReLU", "BCEWithLogitsLoss"): "a final ReLU clips the logits BCEWithLogitsLoss expects",
    ("Tanh", "CrossEntropyLoss"): "a final Tanh bounds the logits CrossEntropyLoss expects",
    ("Tanh", "BCEWithLogitsLoss"): "a final Tanh bounds the logits BCEWithLogitsLoss expects",
}
_REGRESSION_RANGE = {  # output activation -> the outputs it can produce
    "Sigmoid": (0.0, 1.0),
    "Tanh": (-1.0, 1.0),
    "Hardtanh": (-1.0, 1.0),
    "ReLU": (0.0, math.inf),
    "Softplus": (0.0, math.inf),
    "Softmax": (0.0, 1.0),
}


def judge_small_batch(pr: dict[str, Any], p: SmallBatchParams) -> dict[str, Any]:
    """Derived measurements and the verdict of the small-batch probe (pure function)."""
    if pr.get("judged") is False:
        return {"judged": False, "reason": pr.get("reason"), "fires": False, "causes": []}
    task = pr["task"]
    init, final, floor = pr["initial_loss"], pr["final_loss"], pr["loss_floor"]
    finite = bool(pr["loss_finite"])
    fit, best_fit = pr["final_fit"], pr["best_fit"]
    span = init - floor if floor is not None and math.isfinite(init) else None
    loss_fraction = (final - floor) / span if span and span > 0 and finite else None
    ref = span if span and span > 0 else abs(init) if math.isfinite(init) and init else None
    min_loss = pr["min_loss"]
    drop = (init - min_loss) / ref if ref and min_loss is not None else None
    lq = pr["last_quarter_drop"]
    out: dict[str, Any] = {
        "loss_fraction": loss_fraction,
        "loss_drop": drop,
        "fitted": False,
        "still_improving": False,
        "fires": False,
        "causes": [],
    }
    if task == "regression":
        if fit is not None:
            fitted = finite and fit >= p.min_r2
        elif loss_fraction is not None:
            fitted = loss_fraction <= p.max_loss_fraction
        else:
            return {
                **out,
                "judged": False,
                "reason": "outputs and targets differ in shape and the loss floor is unknown",
            }
    else:
        acc_ok = fit is not None and fit >= p.min_accuracy
        if fit is None and loss_fraction is None:
            return {
                **out,
                "judged": False,
                "reason": "no accuracy for these outputs and the loss floor is unknown",
            }
        if loss_fraction is None and finite:
            fitted = acc_ok  # a custom loss: its floor is unknown, accuracy decides
        elif fit is None:
            fitted = finite and loss_fraction <= p.max_loss_fraction
        else:
            fitted = finite and acc_ok and loss_fraction <= p.max_loss_fraction
    still = bool(finite and lq is not None and lq >= p.plateau_drop and final < init)
    out.update(judged=True, fitted=bool(fitted), still_improving=bool(not fitted and still))
    out["fires"] = bool(not fitted and not still)
    if out["fires"]:
        out["causes"] = rank_causes(pr, p, loss_fraction, drop, best_fit)
    elif not fitted:
        out["reason"] = (
            f"not at the floor after {pr['steps_run']} steps but still improving "
            f"({pct(lq)} over the last quarter): inconclusive at this budget"
        )
    return out


def rank_causes(
    pr: dict[str, Any],
    p: SmallBatchParams,
    loss_fraction: float | None,
    drop: float | None,
    best_fit: float | None,
) -> list[dict[str, str]]:
    """Likely causes of a failed small-batch test, most likely first, each with its evidence."""
    causes: list[dict[str, str]] = []

    def add(cause: str, reason: str) -> None:
        if all(c["cause"] != cause for c in causes):
            causes.append({"cause": cause, "reason": reason})

    task, loss = pr["task"], pr["loss"]
    share = pr.get("share_without_grad", 0.0) or 0.0
    upd = pr.get("first_update_ratio")
    init, final = pr["initial_loss"], pr["final_loss"]
    if pr["trainable_parameters"] == 0:
        add("frozen-parameters", "the model has no trainable parameters (requires_grad=False)")
    elif share >= p.max_share_without_grad or pr.get("total_update_ratio") == 0:
        none = pr.get("tensors_without_grad") or []
        zero = pr.get("tensors_with_zero_grad") or []
        if len(none) >= len(zero) or pr.get("total_update_ratio") == 0:
            add(
                "frozen-parameters",
                f"{_pct(share)} of the trainable parameters get no gradient"
                f"{_names(none or zero)}: frozen, detached or not connected to the loss",
            )
        else:
            add(
                "zero-gradients",
                f"{_pct(share)} of the trainable parameters get an exactly zero "
                f"gradient{_names(zero)}: dead ReLUs, saturated activations or zeroed weights "
                f"upstream",
            )
    if pr.get("constant_inputs") and pr.get("distinct_targets", 0) > 1:
        add(
            "constant-inputs",
            f"all {pr['samples']} inputs of the batch are identical while "
            f"their targets differ: the data pipeline does not deliver the inputs",
        )
    if not pr["loss_finite"] or pr.get("tensors_with_nonfinite_grad"):
        add(
            "learning-rate-too-large",
            f"the loss became non-finite after {pr['steps_run']} "
            "steps: learning rate too large, or a numerical bug (log of 0, division by 0)",
        )
    elif final > init * 1.01:
        add(
            "learning-rate-too-large",
            f"the loss rose from {fmt(init)} to {fmt(final)}: learning rate too large",
        )
    act = pr.get("output_activation")
    mismatch = _CLASSIFICATION_MISMATCH.get((act, loss)) if task != "regression" else None
    if task == "regression" and act in _REGRESSION_RANGE and pr.get("target_range"):
        lo, hi = _REGRESSION_RANGE[act]
        t_lo, t_hi = pr["target_range"]
        if t_lo < lo or t_hi > hi:
            mismatch = (
                f"a final {act} limits the outputs to [{fmt(lo)}, {fmt(hi)}] but the "
                f"targets span [{fmt(t_lo)}, {fmt(t_hi)}]"
            )
    if mismatch:
        add("loss-wiring", mismatch)
    elif (
        task != "regression"
        and best_fit is not None
        and best_fit >= p.min_accuracy
        and loss_fraction is not None
        and loss_fraction > p.max_loss_fraction
    ):
        add(
            "loss-wiring",
            f"every sample is classified correctly but the loss stays at "
            f"{pct(loss_fraction)} of its start: the outputs cannot reach the loss's floor "
            f"(an activation before {loss}, or targets in the wrong form)",
        )
    blocked = any(c["cause"] in ("frozen-parameters", "zero-gradients") for c in causes)
    tiny = upd is not None and upd < p.small_update_ratio and not blocked
    spread = pr.get("output_spread")
    if spread is not None and spread < p.min_output_spread and not blocked and not tiny:
        add(
            "input-ignored",
            f"the outputs barely differ between samples ({_pct(spread)} of their "
            f"variation is across samples): the input signal does not get through the network "
            f"(vanishing gradients, saturated or dead units, a broken forward)",
        )
    if drop is not None and drop < p.stalled_drop:
        if tiny:
            add(
                "learning-rate-too-small",
                f"the loss moved {_pct(drop)} in {pr['steps_run']} "
                f"steps and one step changes the weights by {fmt(upd)} of their norm "
                f"(healthy: about 1e-3): learning rate too small",
            )
        elif not blocked and not any(c["cause"] == "input-ignored" for c in causes):
            add(
                "loss-wiring",
                f"the weights move ({fmt(upd or 0)} of their norm per step) but "
                f"the loss moved only {_pct(drop)}: the loss hardly depends on the outputs",
            )
    elif tiny:
        add(
            "learning-rate-too-small",
            f"one step changes the weights by {fmt(upd)} of their "
            f"norm (healthy: about 1e-3): learning rate probably too small",
        )
    left = loss_fraction if loss_fraction is not None else 1.0
    add(
        "capacity",
        f"the loss plateaued at {pct(left)} of its start: the model cannot represent "
        f"{pr['samples']} samples, or cannot be optimized to (too small, or hard to train: deep "
        f"saturating stacks, poor initialization)",
    )
    return causes


def _names(names: list[str]) -> str:
    if not names:
        return ""
    return f" ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})"


_CAUSE_CONFIDENCE = {
    "frozen-parameters": 0.95,
    "zero-gradients": 0.9,
    "input-ignored": 0.8,
    "constant-inputs": 0.9,
    "learning-rate-too-large": 0.85,
    "loss-wiring": 0.85,
    "learning-rate-too-small": 0.9,
    "capacity": 0.6,
}
_CAUSE_TITLE = {
    "frozen-parameters": "frozen or disconnected parameters",
    "zero-gradients": "dead or saturated units",
    "input-ignored": "input signal lost in the network",
    "constant-inputs": "constant inputs",
    "learning-rate-too-large": "learning rate too large",
    "loss-wiring": "loss wiring / output activation",
    "learning-rate-too-small": "learning rate too small",
    "capacity": "capacity or trainability",
}


def _pct(x: float) -> str:
    """Percent with two significant digits for small values (0.04%, not 0.0%) and never a
    rounded 100% for a share below 1 (99.9%)."""
    if 0.995 <= x < 1:
        return f"{min(x * 100, 99.9):.1f}%"
    if x == 0:
        return "0%"
    if abs(x) >= 0.001:
        return pct(x)
    return f"{x * 100:.2g}%"


class SmallBatchOverfit(SpecCheck):
    """Train a fresh model on one small batch with regularization off; it should reach the
    loss floor. Failure means a bug in the model, loss or optimizer, ranked by evidence."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="small-batch-overfit",
        codes=("OD201",),
        needs=_NEEDS,
        cost="quick",
        description="A fresh model with regularization off must drive the loss on one small "
        "batch to near its floor.",
    )
    Params = SmallBatchParams

    def measure(self, ctx: Context, params: SmallBatchParams) -> dict[str, Any]:
        pr = ctx.probe("small_batch")
        m = {**pr, **judge_small_batch(pr, params)}
        if not m.get("judged", True) and pr.get("judged") is False:
            raise NotApplicable(pr["reason"])
        return m

    def figures(self, m: dict[str, Any]) -> dict[str, Any]:
        steps, losses = m.get("curve_steps"), m.get("loss_curve")
        if not steps or not losses:
            return {}
        points = [(x, y) for x, y in zip(steps, losses, strict=True) if y is not None]
        series = {
            "training loss on the batch": {"x": [x for x, _ in points], "y": [y for _, y in points]}
        }
        if m.get("loss_floor") is not None and points:
            series["loss floor"] = {
                "x": [points[0][0], points[-1][0]],
                "y": [m["loss_floor"], m["loss_floor"]],
            }
        return {
            "model/small-batch": {
                "kind": "lines",
                "title": f"Overfitting one batch of {m['samples']} training samples "
                f"(regularization off)",
                "x_label": "step",
                "y_label": f"loss ({m['loss']})",
                "log_y": False,
                "series": series,
            }
        }

    def judge(self, m: dict[str, Any], p: SmallBatchParams) -> list[Finding]:
        if not m.get("fires"):
            return []
        causes = m["causes"]
        fit = m["final_fit"]
        metric = "R^2" if m["fit_metric"] == "r2" else "accuracy"
        fit_txt = (
            f", batch {metric} {pct(fit) if metric == 'accuracy' else fmt(fit)}"
            if (fit is not None)
            else ""
        )
        share = (
            f" ({_pct(m['loss_fraction'])} of the way from its floor left)"
            if m["loss_fraction"] is not None
            else ""
        )
        ranked = "; ".join(
            f"{i + 1}. {_CAUSE_TITLE[c['cause']]}" for i, c in enumerate(causes[1:4], start=1)
        )
        message = (
            f"Could not overfit {m['samples']} training samples in {m['steps_run']} steps: loss "
            f"{fmt(m['initial_loss'])} -> {fmt(m['final_loss'])}{share}{fit_txt}. "
            f"Likely cause: {causes[0]['reason']}" + (f" (then {ranked})" if ranked else "") + "."
        )
        evidence = {
            "samples": m["samples"],
            "steps": m["steps_run"],
            "optimizer": m["optimizer"],
            "learning_rate": m["learning_rate"],
            "loss": m["loss"],
            "initial_loss": m["initial_loss"],
            "final_loss": m["final_loss"],
            "min_loss": m["min_loss"],
            "loss_floor": m["loss_floor"],
            "loss_fraction": m["loss_fraction"],
            "loss_drop": m["loss_drop"],
            "last_quarter_drop": m["last_quarter_drop"],
            f"final_batch_{m['fit_metric'] or 'fit'}": fit,
            "first_update_ratio": m["first_update_ratio"],
            "share_without_grad": m.get("share_without_grad"),
            "output_activation": m["output_activation"],
            "dropout_disabled": m["dropout_disabled"],
            "likely_causes": causes,
            "thresholds": asdict(p),
        }
        where = {"model": m["model_class"], "split": "train", "samples": m["samples"]}
        conf = _CAUSE_CONFIDENCE[causes[0]["cause"]]
        return [
            finding(
                "OD201",
                confidence=conf,
                message=message,
                evidence=evidence,
                where=where,
            )
        ]


# --- OD202-OD204: label randomization test -----------------------------------------------------


@dataclass(frozen=True)
class LabelShuffleParams:
    # OD203: the real labels do no better than chance on held-out data
    max_true_gain: float = 0.1  # held-out score closes < 10% of the chance-to-perfect gap
    chance_z: float = 3.0  # ... or stays within this many standard errors of chance
    max_noise_margin: float = 0.35  # chance_z SEs above this share of the gap: too few held-out
    min_held_out: int = 30  # held-out samples needed for OD203 and OD204
    min_samples_per_class: float = 5.0  # training samples per class needed for OD203
    min_train_fit: float = 0.2  # the real-label run must fit its own labels this much (gain)
    min_train_advantage: float = 0.2  # real labels fitted this much better: a transfer problem
    # OD202: shuffled labels memorized about as fast as real ones
    min_shuffled_fit: float = 0.9  # chance-normalized train score reached with shuffled labels
    min_fit_ratio: float = 0.9  # ... relative to the real labels' one
    fit_level: float = 0.9  # chance-normalized train score at which a run counts as fitted
    max_slowdown: float = 6.0  # shuffled labels need at most this many times the epochs
    min_coverage: float = 0.5  # share of the training set the runs used
    # OD204: shuffled-label training scores above chance on held-out data
    leak_min_gain: float = 0.2  # mean held-out score closes >= 20% of the chance-to-perfect gap
    leak_epochs: int = 12  # ... averaged over the shuffled run's first this many epochs
    leak_z: float = 4.0  # ... and is this many standard errors above chance


def gain(score: float | None, chance: float | None, metric: str | None) -> float | None:
    """Chance-normalized score: 0 = what a predictor that ignores the input gets, 1 = perfect.
    For R^2 (chance 0) the score itself."""
    if score is None or chance is None:
        return None
    if metric == "r2":
        return score
    return (score - chance) / (1 - chance) if chance < 1 else 0.0


def chance_se(class_counts: list[int] | None, chance: float | None) -> float | None:
    """Standard error of balanced accuracy for a predictor that guesses class c with
    probability 1/K, independently of the input: (1/K) sqrt(sum_c p(1-p)/n_c), p = 1/K."""
    if not class_counts or chance is None:
        return None
    present = [n for n in class_counts if n > 0]
    k = len(present)
    if k < 2:
        return None
    p = 1.0 / k
    return math.sqrt(sum(p * (1 - p) / n for n in present)) / k


def fit_time(
    run: dict[str, Any], chance: float | None, metric: str | None, level: float
) -> float | None:
    """Epochs until the run's training score first reaches `level` (chance-normalized),
    interpolated linearly; epoch e's running score is placed at e - 0.5, the score at
    initialization at 0. None when it never gets there."""
    points = [(0.0, gain(run["train_score_at_init"], chance, metric))]
    points += [(e + 0.5, gain(s, chance, metric)) for e, s in enumerate(run["train_score"])]
    prev = None
    for t, g in points:
        if g is None:
            prev = None
            continue
        if g >= level:
            if prev is None:
                return t
            t0, g0 = prev
            return t0 + (level - g0) / (g - g0) * (t - t0)
        prev = (t, g)
    return None


def _tail_mean(values: list[float]) -> float | None:
    """Mean of the second half of a curve."""
    if not values:
        return None
    tail = values[len(values) // 2 :]
    return sum(tail) / len(tail)


def _mean(values: list[Any]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def summarize_shuffle(pr: dict[str, Any], p: LabelShuffleParams) -> dict[str, Any]:
    """The label-shuffle probe reduced to the numbers the verdicts use (means over seeds)."""
    metric, ct, ch = pr["metric"], pr["chance_train"], pr["chance_held_out"]
    rows = []
    for run in pr["runs"]:
        t, s = run["true"], run["shuffled"]
        t_time = fit_time(t, ct, metric, p.fit_level)
        s_time = fit_time(s, ct, metric, p.fit_level)
        s_gain = gain(s["final_train_score"], ct, metric)
        if s_time is None and s_gain is not None and s_gain >= p.fit_level:
            s_time = float(len(s["train_score"]))  # fitted by the end (eval mode): at the end
        t_ho = [v for v in t["held_out_score"] if v is not None]
        s_ho = [v for v in s["held_out_score"] if v is not None]
        if s_time is None:
            slowdown = None  # the shuffled labels were never fitted
        elif t_time is None or t_time == 0:
            slowdown = 1.0 if t_time is None else s_time / 0.5
        else:
            slowdown = s_time / t_time
        rows.append(
            {
                "true_train_score": t["final_train_score"],
                "shuffled_train_score": s["final_train_score"],
                "true_held_out": _tail_mean(t_ho),
                "true_held_out_final": t["final_held_out_score"],
                "shuffled_held_out": _tail_mean(s_ho),
                "shuffled_held_out_mean": _mean(s["held_out_score"][: p.leak_epochs]),
                "shuffled_held_out_final": s["final_held_out_score"],
                "held_out_at_init": s["held_out_score_at_init"],
                "true_fit_epochs": t_time,
                "shuffled_fit_epochs": s_time,
                "slowdown": slowdown,
            }
        )
    out: dict[str, Any] = {k: _mean([r[k] for r in rows]) for k in rows[0]}
    if any(r["slowdown"] is None for r in rows):
        out["slowdown"] = None  # some seed never fitted the shuffled labels
    out["diverged"] = any(r["true"]["diverged"] or r["shuffled"]["diverged"] for r in pr["runs"])
    out["true_train_gain"] = gain(out["true_train_score"], ct, metric)
    out["shuffled_train_gain"] = gain(out["shuffled_train_score"], ct, metric)
    out["true_held_out_gain"] = gain(out["true_held_out"], ch, metric)
    out["shuffled_held_out_gain"] = gain(out["shuffled_held_out_mean"], ch, metric)
    out["held_out_at_init_gain"] = gain(out["held_out_at_init"], ch, metric)
    out["held_out_se"] = chance_se(pr.get("held_out_class_counts"), ch) if metric != "r2" else None
    return out


def judge_shuffle(
    pr: dict[str, Any], sb: dict[str, Any] | None, p: LabelShuffleParams
) -> dict[str, Any]:
    """Verdicts of the label randomization test (pure function). `sb` is the small-batch
    verdict: labels are called unlearnable only when the model can fit a small batch."""
    if not pr.get("judged") or not pr.get("runs"):
        return {"judged": False, "reason": pr.get("reason") or "no runs", "fires": []}
    metric, ch = pr["metric"], pr["chance_held_out"]
    s = summarize_shuffle(pr, p)
    m: dict[str, Any] = {"judged": True, **s, "fires": [], "notes": []}
    if s["diverged"]:
        m["notes"].append("a run diverged (non-finite loss): no verdict")
        return m
    if ch is None:
        m["notes"].append("the held-out labels have a single class: no held-out verdict")
    se = s["held_out_se"]
    gap = 1.0 - ch if metric != "r2" and ch is not None else 1.0
    noise = p.chance_z * se if se is not None else 0.0
    m["noise_margin"] = noise
    held_ok = ch is not None and pr["held_out_samples"] >= p.min_held_out
    if held_ok and noise > p.max_noise_margin * gap:
        m["notes"].append(
            f"held-out noise ({p.chance_z:g} SE = {noise:.3f}) is too large to "
            f"judge: too few held-out samples per class"
        )
        held_ok = False
    elif ch is not None and pr["held_out_samples"] < p.min_held_out:
        m["notes"].append(f"only {pr['held_out_samples']} held-out samples: no held-out verdict")

    # OD203: the real labels do no better than chance on held-out data
    margin = max(p.max_true_gain * gap, noise)
    m["chance_margin"] = margin
    at_chance = bool(
        held_ok and s["true_held_out"] is not None and s["true_held_out"] <= ch + margin
    )
    m["true_at_chance"] = at_chance
    tg, sg = s["true_train_gain"], s["shuffled_train_gain"]
    m["train_advantage"] = tg - sg if tg is not None and sg is not None else None
    od203 = at_chance
    k = pr.get("num_classes")
    per_class = pr["train_samples_used"] / k if metric != "r2" and k else math.inf
    if od203 and per_class < p.min_samples_per_class:
        m["notes"].append(f"{per_class:.1f} training samples per class: too few for OD203")
        od203 = False
    if od203 and sb is not None and sb.get("fires"):
        m["notes"].append("the model cannot overfit a small batch (OD201): OD203 withheld")
        od203 = False
    if od203 and (tg is None or tg < p.min_train_fit):
        m["notes"].append(
            f"the real-label run hardly fitted its own training labels (gain "
            f"{0 if tg is None else tg:.2f} < {p.min_train_fit}): the runs are too "
            f"short for this model to learn anything, OD203 withheld"
        )
        od203 = False
    if od203:
        m["fires"].append("OD203")

    # OD202: shuffled labels memorized about as fast as real ones
    slow = s["slowdown"]
    m["fit_ratio"] = sg / tg if tg and sg is not None and tg > 0 else None
    od202 = bool(
        not at_chance
        and tg is not None
        and tg >= p.fit_level
        and sg is not None
        and sg >= p.min_shuffled_fit
        and m["fit_ratio"] is not None
        and m["fit_ratio"] >= p.min_fit_ratio
        and slow is not None
        and slow <= p.max_slowdown
    )
    if od202 and pr["coverage"] < p.min_coverage:
        m["notes"].append(
            f"the runs used {pct(pr['coverage'])} of the training set: "
            f"memorizing a subset says little about the whole (OD202 withheld)"
        )
        od202 = False
    if od202:
        m["fires"].append("OD202")

    # OD204: shuffled-label training still predicts the held-out labels
    sh = s["shuffled_held_out_mean"]
    z = (sh - ch) / se if sh is not None and ch is not None and se else None
    m["shuffled_z"] = z
    sgain = s["shuffled_held_out_gain"]
    if held_ok and sgain is not None and sgain >= p.leak_min_gain and (z is None or z >= p.leak_z):
        m["fires"].append("OD204")
    return m


class LabelRandomization(SpecCheck):
    """Zhang et al. (2017): train briefly on the real and on shuffled training labels and
    compare how fast each is fitted and how each does on held-out data."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="label-randomization",
        codes=("OD202", "OD203", "OD204"),
        needs=_NEEDS,
        cost="quick",
        description="Short trainings on real and on shuffled labels: are the labels learnable, "
        "memorized regardless, or predictable without them?",
    )
    Params = LabelShuffleParams

    def measure(self, ctx: Context, params: LabelShuffleParams) -> dict[str, Any]:
        pr = ctx.probe("label_shuffle")
        try:
            sb_check = SmallBatchOverfit()
            sb = judge_small_batch(ctx.probe("small_batch"), ctx.params_for(sb_check))
        except Exception as exc:  # the gate is supporting evidence only
            sb = {"fires": False, "error": f"{type(exc).__name__}: {exc}"}
        summary = ctx.probe("summary")
        m = judge_shuffle(pr, sb, params)
        if not m["judged"]:
            raise NotApplicable(m["reason"])
        return {
            **m,
            "probe": pr,
            "small_batch_fits": (
                None if "error" in sb or sb.get("judged") is False else not sb.get("fires")
            ),
            "parameters": summary.get("trainable_parameters"),
            "parameters_per_training_sample": summary.get("parameters_per_training_sample"),
        }

    def figures(self, m: dict[str, Any]) -> dict[str, Any]:
        pr = m.get("probe") or {}
        if not pr.get("runs"):
            return {}
        run = pr["runs"][0]
        series = {}
        for key, label in (("true", "real labels"), ("shuffled", "shuffled labels")):
            for curve, where in (("train_score", "train"), ("held_out_score", "held-out")):
                ys = [run[key][f"{curve}_at_init"], *run[key][curve]]  # epoch 0: untrained
                pts = [(e, y) for e, y in enumerate(ys) if y is not None]
                if pts:
                    series[f"{label}, {where}"] = {
                        "x": [x for x, _ in pts],
                        "y": [y for _, y in pts],
                    }
        metric = "R^2" if pr["metric"] == "r2" else "balanced accuracy"
        return {
            "model/label-shuffle": {
                "kind": "lines",
                "title": f"Real vs shuffled training labels ({pr['train_samples_used']} samples; "
                f"held-out: {pr['held_out_source']})",
                "x_label": "epoch",
                "y_label": metric,
                "log_y": False,
                "series": series,
            }
        }

    def judge(self, m: dict[str, Any], p: LabelShuffleParams) -> list[Finding]:
        if not m.get("judged"):
            return []
        pr = m["probe"]
        where = {"model": pr["model_class"], "split": pr["held_out_source"]}
        base = {
            "metric": pr["metric"],
            "train_samples_used": pr["train_samples_used"],
            "train_samples_total": pr["train_samples_total"],
            "epochs": pr["epochs"],
            "seeds": pr["seeds"],
            "held_out_source": pr["held_out_source"],
            "held_out_samples": pr["held_out_samples"],
            "chance_train": pr["chance_train"],
            "chance_held_out": pr["chance_held_out"],
            "majority_rate_held_out": pr.get("majority_rate_held_out"),
        }
        out = []
        for code in m["fires"]:
            maker = {"OD202": _od202, "OD203": _od203, "OD204": _od204}[code]
            message, conf, evidence = maker(m, pr, p)
            evidence = {**base, **evidence, "thresholds": asdict(p)}
            out.append(
                finding(
                    code,
                    confidence=conf,
                    message=message,
                    evidence=evidence,
                    where=where,
                )
            )
        return out


def _name(metric: str) -> str:
    return "R^2" if metric == "r2" else "balanced accuracy"


def _score(v: float | None, metric: str) -> str:
    if v is None:
        return "n/a"
    return f"{v:.2f}" if metric == "r2" else pct(v)


def _od203(m, pr, p):
    metric, ch = pr["metric"], pr["chance_held_out"]
    adv = m["train_advantage"]
    transfer = adv is not None and adv >= p.min_train_advantage
    half = pr["epochs"] - pr["epochs"] // 2
    head = (
        f"Real labels do no better than chance on held-out data: held-out {_name(metric)} "
        f"{_score(m['true_held_out'], metric)} with the real training labels vs "
        f"{_score(m['shuffled_held_out'], metric)} with shuffled ones (chance "
        f"{_score(ch, metric)}, margin {_score(m['chance_margin'], metric)}; mean of the "
        f"last {half} of {pr['epochs']} epochs on {pr['train_samples_used']} samples)"
    )
    if transfer:
        tail = (
            f"; yet the real labels are fitted far better than shuffled ones (train "
            f"{_score(m['true_train_score'], metric)} vs "
            f"{_score(m['shuffled_train_score'], metric)}): what is learned on the training "
            f"data does not transfer to the held-out data"
        )
        conf = 0.8
    else:
        tail = (
            f"; the real labels are fitted no faster than shuffled ones (train "
            f"{_score(m['true_train_score'], metric)} vs "
            f"{_score(m['shuffled_train_score'], metric)}): the training labels do not "
            f"match their inputs"
        )
        conf = 0.9
    if not m.get("small_batch_fits"):
        conf *= 0.85  # the small-batch gate could not be checked
    evidence = {
        "true_held_out": m["true_held_out"],
        "true_held_out_final": m["true_held_out_final"],
        "shuffled_held_out": m["shuffled_held_out"],
        "chance_margin": m["chance_margin"],
        "held_out_standard_error": m["held_out_se"],
        "true_train_score": m["true_train_score"],
        "shuffled_train_score": m["shuffled_train_score"],
        "train_advantage": adv,
        "diagnosis": "no transfer to held-out data" if transfer else "labels not learnable",
        "small_batch_fits": m.get("small_batch_fits"),
    }
    return head + tail + ".", conf, evidence


def _od202(m, pr, p):
    metric, slow = pr["metric"], m["slowdown"]
    per_sample = m.get("parameters_per_training_sample")
    size = (
        f"; {m['parameters']:,} parameters, {per_sample:,.0f} per training sample"
        if m.get("parameters") is not None and per_sample is not None
        else ""
    )
    message = (
        f"Shuffled labels are memorized about as fast as real ones: train {_name(metric)} "
        f"{_score(m['shuffled_train_score'], metric)} on {pr['train_samples_used']} shuffled "
        f"labels vs {_score(m['true_train_score'], metric)} on the real ones after "
        f"{pr['epochs']} epochs, {pct(p.fit_level)} of a perfect fit reached {slow:.1f}x later"
        f"{size}: nothing in the model keeps it from memorizing its training set."
    )
    conf = 0.55 + 0.4 * clamp((p.max_slowdown - slow) / (p.max_slowdown - 1), 0.0, 1.0)
    if pr["coverage"] < 1:
        conf *= 0.85
    evidence = {
        "true_train_score": m["true_train_score"],
        "shuffled_train_score": m["shuffled_train_score"],
        "fit_ratio": m["fit_ratio"],
        "true_fit_epochs": m["true_fit_epochs"],
        "shuffled_fit_epochs": m["shuffled_fit_epochs"],
        "slowdown": slow,
        "coverage": pr["coverage"],
        "true_held_out": m["true_held_out"],
        "shuffled_held_out": m["shuffled_held_out"],
        "parameters": m.get("parameters"),
        "parameters_per_training_sample": per_sample,
    }
    return message, conf, evidence


def _od204(m, pr, p):
    metric, ch = pr["metric"], pr["chance_held_out"]
    z = m["shuffled_z"]
    ztxt = f", {z:.1f} standard errors above" if z is not None else ""
    message = (
        f"Trained on shuffled labels, the model still scores {_name(metric)} "
        f"{_score(m['shuffled_held_out_mean'], metric)} on held-out data on average over its "
        f"first {min(p.leak_epochs, pr['epochs'])} epochs (chance {_score(ch, metric)}{ztxt}): "
        f"the held-out labels are "
        f"predictable without the training labels"
    )
    init_gain = m["held_out_at_init_gain"]
    if init_gain is not None and init_gain >= p.leak_min_gain:
        message += (
            f"; the untrained model from the factory already scores "
            f"{_score(m['held_out_at_init'], metric)} there: its initial weights know this task "
            f"(leakage if they were fitted on data that include these rows)"
        )
        conf = 0.7
    else:
        conf = 0.6
    evidence = {
        "shuffled_held_out_mean": m["shuffled_held_out_mean"],
        "shuffled_held_out_final": m["shuffled_held_out_final"],
        "held_out_at_init": m["held_out_at_init"],
        "z": z,
        "held_out_standard_error": m["held_out_se"],
        "true_held_out": m["true_held_out"],
    }
    return message + ".", conf, evidence


CHECKS = (SmallBatchOverfit(), LabelRandomization())
