"""The loss of freshly initialized models (Karpathy's "verify loss @ init"), next to the loss an
uninformed prediction gets, and the scale of the initial outputs.

Several fresh models (seed offsets 0..k-1) each see their first few training batches, in train
mode without gradients (what the first training step sees, batch norm included). The reference
is computed by the user's own loss on a reference output, so class weights, label smoothing or
`pos_weight` are accounted for: zero logits (uniform prediction: ln C for C outputs with
cross-entropy, ln 2 with BCEWithLogits), uniform log-probabilities for NLLLoss, 0.5 for BCELoss,
and for regression losses both zero outputs and the best constant (target mean or median)."""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import torch

from overfit_doctor.probes.context import ProbeContext
from overfit_doctor.probes.output_check import loss_kind, loss_problem

MODELS = {"quick": 3, "standard": 5, "thorough": 10}  # fresh models averaged
SAMPLES = {"quick": 128, "standard": 256, "thorough": 512}  # training samples per model


def reference_output(kind: str, out: torch.Tensor) -> torch.Tensor:
    """The output of a model that knows nothing (for regression: predicts zero)."""
    if kind == "nll" and out.dim() >= 2:
        return torch.full_like(out, -math.log(out.shape[1]))
    if kind == "bce":
        return torch.full_like(out, 0.5)
    return torch.zeros_like(out)


def output_scale(kind: str, out: torch.Tensor) -> float:
    """Scale of the initial outputs: for cross-entropy/NLL the spread of a row's logits (std
    across classes, RMS over rows), which is what moves the loss away from ln C; for BCE the RMS
    logit; otherwise the RMS output."""
    out = out.double()
    if kind in ("cross_entropy", "nll") and out.dim() >= 2 and out.shape[1] >= 2:
        return float(out.var(dim=1, unbiased=False).mean().sqrt())
    if kind == "bce":
        p = out.clamp(1e-7, 1 - 1e-7)
        out = torch.log(p / (1 - p))
    return float(out.pow(2).mean().sqrt())


def run(ctx: ProbeContext) -> dict[str, Any]:
    kind = loss_kind(ctx)
    n_models = MODELS.get(ctx.budget.name, 3)
    per_model = SAMPLES.get(ctx.budget.name, 128)
    train = ctx.train
    result: dict[str, Any] = {
        "loss": ctx.loss_name,
        "loss_kind": kind,
        "task": ctx.task,
        "models": n_models,
        "error": None,
    }
    problem = loss_problem(ctx)
    if problem is not None:
        result["error"] = f"the loss cannot run: {problem}"
        return result
    if torch.is_floating_point(train.X) and not bool(torch.isfinite(train.X).all()):
        result["error"] = "the training inputs contain NaN or inf"
        return result
    bs = max(ctx.batch_size, 8)
    n_batches = max(1, math.ceil(per_model / bs))
    y_all = train.y.double()
    mean_y = y_all.mean(0) if y_all.dim() > 1 else y_all.mean()
    median_y = y_all.median(0).values if y_all.dim() > 1 else y_all.median()

    losses, refs, consts, scales, outs = [], [], [], [], []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # OD402 reports what the loss warns about
            for i in range(n_models):
                batches = itertools.islice(
                    ctx.batches(train.X, train.y, bs, seed=ctx.seed + 100 + i), n_batches
                )
                model = ctx.new_model(i)
                result["model"] = type(model).__name__
                r = _one_model(ctx, kind, model, batches, (mean_y, median_y))
                losses.append(r["loss"])
                refs.append(r["ref"])
                consts.append(r["const"])
                scales.append(output_scale(kind, r["out"]))
                outs.append(r["out"])
    except Exception as exc:  # OD402 reports a loss that cannot run
        msg = str(exc).strip().splitlines()
        result["error"] = f"{type(exc).__name__}: {msg[0] if msg else ''}"[:300]
        return result

    finite = all(math.isfinite(v) for v in losses)
    result.update(
        samples_per_model=int(min(n_batches * bs, len(train))),
        losses=losses,
        loss_mean=_mean(losses),
        loss_std=_std(losses),
        expected=_mean(refs),
        finite=finite,
        output_scale=scales,
        output_scale_mean=_mean(scales),
        num_outputs=int(outs[0].shape[1]) if outs[0].dim() >= 2 else 1,
        outputs_finite=all(bool(torch.isfinite(o).all()) for o in outs),
    )
    if kind in ("cross_entropy", "nll", "bce_logits", "bce"):
        result["excess"] = [a - b for a, b in zip(losses, refs, strict=True)]
        result["excess_mean"] = _mean(result["excess"])
        if kind in ("cross_entropy", "nll"):
            result["expected_formula"] = f"ln {result['num_outputs']}"
        else:
            result["expected_formula"] = "ln 2"
    elif kind == "regression":
        y = train.y.double()
        result.update(
            zero_output_loss=_mean(refs),
            best_constant_loss=_mean(consts),
            ratio_to_best_constant=[
                a / b if b > 0 else math.inf for a, b in zip(losses, consts, strict=True)
            ],
            ratio_to_zero_output=[
                a / b if b > 0 else math.inf for a, b in zip(losses, refs, strict=True)
            ],
            target_mean=float(y.mean()),
            target_std=float(y.std()) if y.numel() > 1 else 0.0,
            output_mean=float(torch.cat(outs).double().mean()),
            expected_formula="loss of predicting 0 (and of the best constant)",
        )
    return result


@torch.no_grad()
def _one_model(ctx: ProbeContext, kind: str, model, batches, constants) -> dict[str, Any]:
    """Mean loss, reference loss and best-constant loss of one fresh model (train mode)."""
    model.train()
    tot = {"loss": 0.0, "ref": 0.0, "const": 0.0}
    n, outs = 0, []
    for xb, yb in batches:
        out = ctx.forward(model, xb)
        nb = len(yb)
        tot["loss"] += float(ctx.loss_fn(out, yb)) * nb
        tot["ref"] += float(ctx.loss_fn(reference_output(kind, out), yb)) * nb
        if kind == "regression":
            tot["const"] += min(float(ctx.loss_fn(_constant(out, v), yb)) for v in constants) * nb
        n += nb
        outs.append(out.detach().float().cpu())
    return {**{k: v / max(n, 1) for k, v in tot.items()}, "out": torch.cat(outs)}


def _constant(out: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    v = value.to(out.dtype).to(out.device)
    if v.dim() == 0 or (out.dim() >= 1 and v.shape == out.shape[-1:]):
        return torch.zeros_like(out) + v
    return torch.full_like(out, float(v.mean()))


def _mean(v: list[float]) -> float:
    return float(sum(v) / len(v)) if v else math.nan


def _std(v: list[float]) -> float:
    if len(v) < 2:
        return 0.0
    m = _mean(v)
    return float(math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)))
