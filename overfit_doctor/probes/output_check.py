"""How the model's output meets the loss: the last operation of the forward pass (read from the
autograd graph, so functional `F.softmax` counts too), the range of the outputs, the output
size against the labels, the targets' dtype and shape, and whether the loss runs at all.

Also home of the small helpers the other model-state probes share (`loss_kind`,
`label_problem`)."""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

import torch
from torch import nn

from overfit_doctor.probes.context import ProbeContext

SAMPLES = 512  # outputs inspected
GRAPH_SAMPLES = 16  # batch of the forward pass run with autograd on (to read the last op)
ROW_SUM_TOL = 1e-3  # |row sum - 1| of a softmax output, |logsumexp| of log-probabilities

_LOSS_KINDS = {
    "CrossEntropyLoss": "cross_entropy",
    "cross_entropy": "cross_entropy",
    "NLLLoss": "nll",
    "nll_loss": "nll",
    "BCEWithLogitsLoss": "bce_logits",
    "binary_cross_entropy_with_logits": "bce_logits",
    "BCELoss": "bce",
    "binary_cross_entropy": "bce",
    "MSELoss": "regression",
    "mse_loss": "regression",
    "L1Loss": "regression",
    "l1_loss": "regression",
    "SmoothL1Loss": "regression",
    "smooth_l1_loss": "regression",
    "HuberLoss": "regression",
    "huber_loss": "regression",
}
_LOSS_CLASSES = (
    (nn.CrossEntropyLoss, "cross_entropy"),
    (nn.NLLLoss, "nll"),
    (nn.BCEWithLogitsLoss, "bce_logits"),
    (nn.BCELoss, "bce"),
    (nn.MSELoss, "regression"),
    (nn.L1Loss, "regression"),
    (nn.SmoothL1Loss, "regression"),
    (nn.HuberLoss, "regression"),
)
# autograd nodes that only move, copy or select values: look through them for the last real op
_PASS_THROUGH = {
    "View", "UnsafeView", "Reshape", "ReshapeAlias", "Squeeze", "Unsqueeze", "Permute",
    "Transpose", "T", "Clone", "Alias", "ToCopy", "Expand", "Select", "Slice", "Index",
    "Contiguous", "Flatten", "Unflatten",
}  # fmt: skip
_OPS = {
    "Softmax": "softmax",
    "LogSoftmax": "log_softmax",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Relu": "relu",
    "Hardtanh": "hardtanh",  # also ReLU6
    "Softplus": "softplus",
    "Threshold": "relu",
}
_MODULE_OPS = (
    (nn.LogSoftmax, "log_softmax"),
    (nn.Softmax, "softmax"),
    (nn.Sigmoid, "sigmoid"),
    (nn.Tanh, "tanh"),
    (nn.ReLU, "relu"),
    (nn.ReLU6, "hardtanh"),
    (nn.Softplus, "softplus"),
)


def loss_kind(ctx: ProbeContext) -> str:
    """cross_entropy | nll | bce_logits | bce | regression | other (a custom callable)."""
    loss = ctx.spec.loss
    if isinstance(loss, type):
        loss = None  # a class: the context instantiates it; its name says the kind
    if isinstance(loss, nn.Module):
        for cls, kind in _LOSS_CLASSES:
            if isinstance(loss, cls):
                return kind
    return _LOSS_KINDS.get(ctx.loss_name, "other")


def label_problem(ctx: ProbeContext, num_outputs: int | None = None) -> str | None:
    """Why class-index targets cannot index the model's outputs (the loss would raise, or on
    CUDA abort the process), or None. Checked before calling the loss."""
    if loss_kind(ctx) not in ("cross_entropy", "nll"):
        return None
    y = ctx.train.y
    if torch.is_floating_point(y) or y.dtype == torch.bool:
        return None
    k = num_outputs if num_outputs is not None else _class_dim_size(ctx.output_shape)
    if k is None:
        return None
    ignore = getattr(ctx.spec.loss, "ignore_index", -100)
    valid = y[y != ignore]
    if len(valid) == 0:
        return None
    lo, hi = int(valid.min()), int(valid.max())
    if hi >= k:
        one_based = " (the labels look 1-based: subtract 1)" if lo == 1 and hi == k else ""
        return f"labels go up to {hi} but the model has {k} output(s){one_based}"
    if lo < 0:
        return f"negative label {lo} (and not the loss's ignore_index {ignore})"
    return None


def loss_problem(ctx: ProbeContext) -> str | None:
    """Why the loss cannot (or should not) be called on the model's outputs as they are:
    labels that cannot index the outputs, or outputs and targets whose shapes only broadcast."""
    problem = label_problem(ctx)
    if problem is not None:
        return problem
    out, y = tuple(ctx.output_shape[1:]), tuple(ctx.train.y.shape[1:])
    if (
        loss_kind(ctx) in ("regression", "bce", "bce_logits")
        and out != y
        and math.prod(out) != math.prod(y)
    ):
        return f"outputs {list(out)} and targets {list(y)} per sample differ in shape"
    return None


def _class_dim_size(shape: tuple[int, ...]) -> int | None:
    return int(shape[1]) if len(shape) >= 2 else None


def final_op(out: torch.Tensor) -> tuple[str | None, str | None]:
    """(canonical op, raw autograd node name) of the last value-changing operation."""
    fn = out.grad_fn
    seen = 0
    while fn is not None and seen < 50:
        raw = fn.name()
        base = re.sub(r"Backward\d*$", "", raw)
        if base in _PASS_THROUGH:
            nxt = [f for f, _ in fn.next_functions if f is not None]
            if len(nxt) != 1:
                return None, raw
            fn, seen = nxt[0], seen + 1
            continue
        return _OPS.get(base, "other"), raw
    return None, None


def run(ctx: ProbeContext) -> dict[str, Any]:
    kind = loss_kind(ctx)
    train = ctx.train
    g = torch.Generator().manual_seed(ctx.seed + 7)
    idx = torch.randperm(len(train), generator=g)[: min(SAMPLES, len(train))]
    X, y = train.X[idx], train.y[idx]
    model = ctx.new_model(0)
    model.eval()

    # the last op, from the autograd graph of a small batch (eval mode, nothing is trained)
    leaves = _leaf_order(model)
    with torch.enable_grad():
        out_g = ctx.forward(model, X[:GRAPH_SAMPLES])
    for h in leaves["handles"]:
        h.remove()
    op, raw = final_op(out_g)
    final_module = None
    if leaves["calls"] and leaves["calls"][-1][2] is out_g:
        name, mod, _ = leaves["calls"][-1]
        final_module = {"name": name, "type": type(mod).__name__}
        if op is None:  # no graph (frozen model): fall back on the module type
            op = next((o for cls, o in _MODULE_OPS if isinstance(mod, cls)), None)
    del out_g

    with torch.no_grad():
        out = ctx.forward(model, X).detach().float().cpu()
    k = _class_dim_size(tuple(out.shape))
    labels = _labels(ctx)
    result: dict[str, Any] = {
        "model": type(model).__name__,
        "loss": ctx.loss_name,
        "loss_kind": kind,
        "loss_inferred": bool(ctx.cache.get("loss_inferred")),
        "task": ctx.task,
        "samples": len(y),
        "output_shape": list(out.shape[1:]),
        "target_shape": list(y.shape[1:]),
        "target_dtype": str(y.dtype).replace("torch.", ""),
        "final_op": op,
        "final_op_raw": raw,
        "final_module": final_module,
        "num_outputs": k if kind in ("cross_entropy", "nll") else _width(out),
        "outputs": output_stats(out, kind),
        "targets": target_stats(y, labels),
        "num_classes": labels["num_classes"],
        "max_label": labels["max_label"],
    }
    result["label_problem"] = label_problem(ctx, k)
    result.update(_loss_call(ctx, kind, out, y, skip=result["label_problem"]))
    return result


def _width(out: torch.Tensor) -> int:
    return int(out.shape[-1]) if out.dim() >= 2 else 1


def _labels(ctx: ProbeContext) -> dict[str, Any]:
    """Number of classes from the labels of both splits (class-index targets only)."""
    ys = [ctx.train.y] + ([ctx.val.y] if ctx.val is not None else [])
    if any(torch.is_floating_point(t) or t.dim() != 1 for t in ys):
        return {"num_classes": None, "max_label": None}
    hi = max(int(t.max()) for t in ys if len(t))
    return {"num_classes": hi + 1, "max_label": hi}


def output_stats(out: torch.Tensor, kind: str) -> dict[str, Any]:
    """Range and shape facts of a batch of outputs (class dim = 1 for the classification
    losses, the last dim otherwise)."""
    finite = bool(torch.isfinite(out).all())
    o = torch.nan_to_num(out)
    stats: dict[str, Any] = {
        "finite": finite,
        "min": float(o.min()),
        "max": float(o.max()),
        "mean": float(o.mean()),
        "std": float(o.std()) if o.numel() > 1 else 0.0,
        "in_unit_interval": bool(finite and o.min() >= 0 and o.max() <= 1),
        "strictly_inside_unit_interval": bool(finite and o.min() > 0 and o.max() < 1),
        "zero_share": float((o == 0).float().mean()),
        "rows_sum_to_one": False,
        "row_sum_max_deviation": None,
        "log_probabilities": False,
        "logsumexp_max_deviation": None,
    }
    dim = 1 if kind in ("cross_entropy", "nll") else -1
    if o.dim() >= 2 and o.shape[dim] >= 2 and finite:
        dev = float((o.sum(dim) - 1).abs().max())
        lse = float(torch.logsumexp(o.double(), dim).abs().max())
        stats.update(
            rows_sum_to_one=bool(stats["in_unit_interval"] and dev < ROW_SUM_TOL),
            row_sum_max_deviation=dev,
            log_probabilities=bool(o.max() <= 1e-6 and lse < ROW_SUM_TOL),
            logsumexp_max_deviation=lse,
        )
    return stats


def target_stats(y: torch.Tensor, labels: dict[str, Any]) -> dict[str, Any]:
    yf = y.double()
    whole = bool(torch.isfinite(yf).all() and (yf == yf.round()).all())
    one_hot = bool(
        y.dim() == 2 and y.shape[1] >= 2 and ((y == 0) | (y == 1)).all() and (y.sum(1) == 1).all()
    )
    return {
        "min": float(yf.min()) if y.numel() else None,
        "max": float(yf.max()) if y.numel() else None,
        "mean": float(yf.mean()) if y.numel() else None,
        "std": float(yf.std()) if y.numel() > 1 else None,
        "whole_numbers": whole,
        "one_hot": one_hot,
        "distinct_values": int(torch.unique(y).numel()) if y.numel() <= 1_000_000 else None,
        "floating_point": bool(torch.is_floating_point(y)),
        "max_label": labels["max_label"],
        "share": {  # targets an output activation with this range cannot reach
            "outside_0_1": float(((yf < 0) | (yf > 1)).double().mean()) if y.numel() else 0.0,
            "outside_pm1": float(((yf < -1) | (yf > 1)).double().mean()) if y.numel() else 0.0,
            "negative": float((yf < 0).double().mean()) if y.numel() else 0.0,
        },
    }


def _loss_call(
    ctx: ProbeContext, kind: str, out: torch.Tensor, y: torch.Tensor, skip: str | None
) -> dict[str, Any]:
    """Call the loss on the outputs as the training would (through the context's wrapper),
    recording an exception, warnings, and outputs/targets shapes that only broadcast."""
    res: dict[str, Any] = {"loss_value": None, "loss_error": None, "loss_warnings": []}
    t_shape, o_shape = tuple(y.shape), tuple(out.shape)
    elementwise = kind in ("regression", "bce", "bce_logits")
    res["shape_mismatch"] = bool(elementwise and t_shape != o_shape and y.numel() != out.numel())
    if skip is not None:
        res["loss_error"] = f"not called: {skip}"
        return res
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = ctx.loss_fn(out.to(ctx.device), y.to(ctx.device))
            res["loss_value"] = float(value.detach()) if value.numel() == 1 else None
            if value.numel() != 1:
                res["loss_error"] = f"the loss returned a tensor of shape {tuple(value.shape)}"
        except Exception as exc:  # a loss that cannot run is the finding
            msg = str(exc).strip().splitlines()
            res["loss_error"] = f"{type(exc).__name__}: {msg[0] if msg else ''}"[:300]
    res["loss_warnings"] = sorted({str(w.message)[:200] for w in caught})
    return res


def _leaf_order(model: nn.Module) -> dict[str, Any]:
    """Forward hooks on leaf modules recording (name, module, output) in call order."""
    calls: list[tuple[str, nn.Module, Any]] = []
    handles = []
    for name, mod in model.named_modules():
        if next(mod.children(), None) is not None:
            continue

        def hook(m, inp, outp, _name=name):
            calls.append((_name, m, outp))

        handles.append(mod.register_forward_hook(hook))
    return {"calls": calls, "handles": handles}
