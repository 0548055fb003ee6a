"""Overfit one small batch (Karpathy 2019, CS231n, CS230): a fresh model, regularization off,
the user's optimizer, the same `budget.small_batch` training samples at every step for up to
`budget.small_batch_steps` steps. A healthy model and training loop drive the loss on so few
samples to almost nothing; when it cannot, the measurements below say why (loss wiring,
learning rate, frozen parameters, constant inputs, capacity).

The probe measures and stops early; the check (`checks/memorization.py`) judges with its own
thresholds, so the probe stops only when the loss is clearly at its floor (`FLOOR_FRACTION`)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from overfit_doctor.probes.context import ProbeContext

SEED_OFFSET = 201
FLOOR_FRACTION = 0.01  # stop once the loss is below 1% of its start (and the batch is fitted)
FLOOR_R2 = 0.999  # regression: stop once the batch R^2 reaches this
MAX_CURVE_POINTS = 200  # the loss curve is thinned to at most this many points in the result

# The model's last module, when it is one of these, bounds the outputs the loss sees.
_OUTPUT_ACTIVATIONS = (
    nn.Softmax,
    nn.LogSoftmax,
    nn.Sigmoid,
    nn.Tanh,
    nn.ReLU,
    nn.Softplus,
    nn.Hardtanh,
    nn.Softmin,
)


def run(ctx: ProbeContext) -> dict[str, Any]:
    train = ctx.train
    n = min(ctx.budget.small_batch, len(train))
    g = torch.Generator().manual_seed(ctx.seed + SEED_OFFSET)
    idx = torch.randperm(len(train), generator=g)[:n]
    X, y = train.X[idx].to(ctx.device), train.y[idx].to(ctx.device)

    model = ctx.new_model(SEED_OFFSET)
    problem = loss_problem(ctx, model, X, y)
    if problem is not None:
        return {"model_class": type(model).__name__, "judged": False, "reason": problem}
    dropout_disabled = disable_dropout(model)
    optimizer = ctx.new_optimizer(model, no_weight_decay=True)
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    start = [p.detach().clone() for _, p in named]
    task = ctx.task
    fit_task = task if task != "regression" or outputs_are_values(ctx.spec.loss) else "none"
    floor = loss_floor(ctx.spec.loss, ctx.output_shape, n)

    model.train()
    losses: list[float] = []
    fits: list[float | None] = []  # batch accuracy (classification) or R^2 (regression)
    grad_audit: dict[str, Any] = {}
    first_update_ratio = None
    steps = ctx.budget.small_batch_steps
    reached_floor = False
    steps_needed = None
    outputs = None
    for step in range(steps + 1):  # step k measures the model after k updates
        optimizer.zero_grad(set_to_none=True)
        out = ctx.forward(model, X)
        loss = ctx.loss_fn(out, y)
        value = float(loss.detach())
        losses.append(value)
        fits.append(batch_fit(fit_task, out.detach(), y))
        outputs = out.detach()
        if not math.isfinite(value):
            break
        if at_floor(task, losses[0], value, fits[-1], floor):
            reached_floor, steps_needed = True, step
            break
        if step == steps:
            break
        loss.backward()
        if step == 0:
            grad_audit = audit_gradients(named)
            before = [p.detach().clone() for _, p in named]
        optimizer.step()
        if step == 0:
            first_update_ratio = update_ratio(before, [p for _, p in named])

    total_change = update_ratio(start, [p for _, p in named])
    finite = [v for v in losses if math.isfinite(v)]
    last_quarter = losses[-max(2, len(losses) // 4) :]
    return {
        "model_class": type(model).__name__,
        "samples": n,
        "max_steps": steps,
        "steps_run": len(losses) - 1,
        "steps_needed": steps_needed,
        "reached_floor": reached_floor,
        "floor_fraction": FLOOR_FRACTION,
        "loss_floor": floor,
        "task": task,
        "loss": ctx.loss_name,
        "optimizer": type(optimizer).__name__,
        "learning_rate": _learning_rate(optimizer),
        "dropout_disabled": dropout_disabled,
        "initial_loss": losses[0],
        "final_loss": losses[-1],
        "min_loss": min(finite) if finite else None,
        "loss_finite": all(math.isfinite(v) for v in losses),
        "initial_fit": fits[0],
        "final_fit": fits[-1],
        "best_fit": max((f for f in fits if f is not None), default=None),
        "fit_metric": {"regression": "r2", "none": None}.get(fit_task, "accuracy"),
        # relative loss decrease over the last quarter of the steps: ~0 = plateau
        "last_quarter_drop": _rel_drop(last_quarter[0], last_quarter[-1]),
        "target_variance": _target_variance(task, y),
        "target_range": _range(y.float()) if task == "regression" else None,
        "constant_inputs": bool(len(X) > 1 and torch.all(X[:1] == X).item()),
        "distinct_targets": int(torch.unique(y).numel()),
        "output_activation": output_activation(model),
        "output_range": _range(outputs),
        "output_spread": output_spread(outputs, y, task),
        "trainable_parameters": sum(p.numel() for _, p in named),
        "trainable_tensors": len(named),
        **grad_audit,
        "first_update_ratio": first_update_ratio,
        "total_update_ratio": total_change,
        "curve_steps": thin(list(range(len(losses))), MAX_CURVE_POINTS),
        "loss_curve": thin(losses, MAX_CURVE_POINTS),
        "fit_curve": thin(fits, MAX_CURVE_POINTS),
    }


def loss_problem(
    ctx: ProbeContext, model: nn.Module, X: torch.Tensor, y: torch.Tensor
) -> str | None:
    """Why the loss cannot be computed on the model's outputs for these targets (targets out of
    the outputs' range, shapes the loss rejects), or None. Reported as "not judged", since a
    check that needs the loss has nothing to measure; other checks name the mismatch."""
    try:
        with torch.no_grad():
            ctx.loss_fn(ctx.forward(model, X), y)
    except (IndexError, RuntimeError, ValueError) as exc:
        msg = str(exc).strip().splitlines()
        return f"the loss cannot be computed: {type(exc).__name__}: {msg[0] if msg else ''}"
    return None


def disable_dropout(model: nn.Module) -> list[str]:
    """Zero every dropout probability of this (fresh) model; return the layers changed."""
    changed = []
    for name, m in model.named_modules():
        if isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0:
            m.p = 0.0
            changed.append(name)
        elif isinstance(m, nn.MultiheadAttention) and m.dropout > 0:
            m.dropout = 0.0
            changed.append(name)
    return changed


def batch_fit(task: str, out: torch.Tensor, y: torch.Tensor) -> float | None:
    """Accuracy on the batch (classification, binary) or R^2 (regression); None if the shapes
    do not say how to compare outputs with targets (or for task "none")."""
    if task == "none":
        return None
    if task == "classification":
        if out.dim() >= 2 and out.shape[0] == y.shape[0] and out.shape[2:] == y.shape[1:]:
            return float((out.argmax(1) == y).float().mean())
        return None
    if task == "binary":
        if out.numel() != y.numel():
            return None
        return float(((out.reshape(-1) > 0).float() == y.reshape(-1).float()).float().mean())
    return r2(out, y)


# Losses whose inputs are not predictions of the targets (logits, log-probabilities, a mean and
# a variance): float targets with such a loss (multi-label 0/1, soft labels) are not scored by R^2.
_NON_VALUE_LOSSES = (
    nn.BCELoss,
    nn.BCEWithLogitsLoss,
    nn.CrossEntropyLoss,
    nn.NLLLoss,
    nn.KLDivLoss,
    nn.MultiLabelSoftMarginLoss,
    nn.MultiLabelMarginLoss,
    nn.SoftMarginLoss,
    nn.PoissonNLLLoss,
    nn.GaussianNLLLoss,
)
_NON_VALUE_FUNCTIONS = {
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "nll_loss",
    "kl_div",
    "poisson_nll_loss",
    "gaussian_nll_loss",
    "multilabel_soft_margin_loss",
}


def outputs_are_values(loss) -> bool:
    """Whether a regression-task model's outputs predict the targets themselves, so that R^2
    applies: true for the inferred MSE loss, value losses and custom losses; false for
    cross-entropy-like losses on float targets (multi-label, soft labels)."""
    if isinstance(loss, type):
        return not issubclass(loss, _NON_VALUE_LOSSES)
    if isinstance(loss, _NON_VALUE_LOSSES):
        return False
    return getattr(loss, "__name__", None) not in _NON_VALUE_FUNCTIONS


def r2(out: torch.Tensor, y: torch.Tensor, center: torch.Tensor | None = None) -> float | None:
    """1 - SSE / SS around `center` (the targets' own mean by default); None on shape mismatch
    or constant targets."""
    if out.numel() != y.numel():
        return None
    o, t = out.reshape(y.shape).double(), y.double()
    c = t.mean(0) if center is None else center.double()
    ss = float(((t - c) ** 2).sum())
    if ss <= 0:
        return None
    return 1.0 - float(((t - o) ** 2).sum()) / ss


def at_floor(
    task: str, initial: float, value: float, fit: float | None, floor: float | None
) -> bool:
    """Clearly at the floor: the probe may stop (the check judges with its own thresholds)."""
    if task == "regression":
        return fit is not None and fit >= FLOOR_R2
    if floor is None or fit is None or fit < 1.0:
        return False
    return value - floor <= FLOOR_FRACTION * (initial - floor)


# Losses (modules or functions) whose minimum is 0 for hard targets.
_ZERO_FLOOR = (
    nn.CrossEntropyLoss,
    nn.NLLLoss,
    nn.BCELoss,
    nn.BCEWithLogitsLoss,
    nn.MSELoss,
    nn.L1Loss,
    nn.SmoothL1Loss,
    nn.HuberLoss,
    nn.MultiMarginLoss,
    nn.MultiLabelSoftMarginLoss,
    nn.SoftMarginLoss,
)
_ZERO_FLOOR_FUNCTIONS = {
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
}


def loss_floor(loss, output_shape: tuple[int, ...], n: int) -> float | None:
    """The smallest value the loss can take on hard targets: 0 for the usual losses, the
    entropy of the smoothed target for label smoothing; None when unknown (custom losses)."""
    if loss is None:
        return 0.0  # inferred: CrossEntropyLoss, BCEWithLogitsLoss or MSELoss
    if isinstance(loss, type):
        loss = loss() if issubclass(loss, nn.Module) else loss
    if isinstance(loss, nn.CrossEntropyLoss):
        eps = float(getattr(loss, "label_smoothing", 0.0) or 0.0)
        if eps == 0:
            return 0.0
        if loss.weight is not None or len(output_shape) != 2 or loss.reduction == "none":
            return None
        c = output_shape[1]
        hi, lo = 1 - eps + eps / c, eps / c
        h = -(hi * math.log(hi) + (c - 1) * lo * math.log(lo))
        return h * n if loss.reduction == "sum" else h
    if isinstance(loss, _ZERO_FLOOR):
        return 0.0
    if getattr(loss, "__name__", None) in _ZERO_FLOOR_FUNCTIONS and getattr(
        loss, "__module__", ""
    ).startswith("torch"):
        return 0.0
    return None


def audit_gradients(named: list[tuple[str, torch.Tensor]]) -> dict[str, Any]:
    """Which trainable tensors got no gradient (None) or an all-zero one after a backward."""
    none = [n for n, p in named if p.grad is None]
    zero = [n for n, p in named if p.grad is not None and not bool(p.grad.abs().sum() > 0)]
    nonfinite = [n for n, p in named if p.grad is not None and not bool(p.grad.isfinite().all())]
    total = sum(p.numel() for _, p in named)
    dead = sum(p.numel() for n, p in named if n in set(none) | set(zero))
    norm = math.sqrt(
        sum(
            float(p.grad.double().pow(2).sum())
            for n, p in named
            if p.grad is not None and n not in nonfinite
        )
    )
    return {
        "tensors_without_grad": none,
        "tensors_with_zero_grad": zero,
        "tensors_with_nonfinite_grad": nonfinite,
        "share_without_grad": dead / total if total else 1.0,
        "grad_norm": norm,
    }


def update_ratio(before: list[torch.Tensor], after: list[torch.Tensor]) -> float | None:
    """||theta_after - theta_before|| / ||theta_before|| over all trainable parameters."""
    if not before:
        return None
    diff = math.sqrt(
        sum(
            float((a.detach() - b).double().pow(2).sum())
            for a, b in zip(after, before, strict=True)
        )
    )
    base = math.sqrt(sum(float(b.double().pow(2).sum()) for b in before))
    return diff / base if base > 0 else (math.inf if diff > 0 else 0.0)


def output_activation(model: nn.Module) -> str | None:
    """Class name of the model's last module when it is an output activation."""
    last = None
    for m in model.modules():
        if not list(m.children()):
            last = m
    return type(last).__name__ if isinstance(last, _OUTPUT_ACTIVATIONS) else None


def output_spread(out: torch.Tensor | None, y: torch.Tensor, task: str) -> float | None:
    """How much the outputs differ between samples. Classification: ||out - mean over samples||
    / ||out|| (the share of the logits that is not common to every sample). Regression: the
    same spread relative to the targets' spread. Near 0: every sample gets the same output, the
    input does not get through. None when undefined (one sample, non-finite, all zero)."""
    if out is None or len(out) < 2 or not bool(out.isfinite().all()):
        return None
    o = out.detach().double().reshape(len(out), -1)
    across = float((o - o.mean(0)).norm())
    if task == "regression":
        t = y.detach().double().reshape(len(y), -1)
        ref = float((t - t.mean(0)).norm())
    else:
        ref = float(o.norm())
    return across / ref if ref > 0 else None


def thin(values: list, limit: int) -> list:
    """At most `limit` evenly spaced points, always keeping the first and the last."""
    if len(values) <= limit:
        return [_json(v) for v in values]
    step = (len(values) - 1) / (limit - 1)
    return [_json(values[round(i * step)]) for i in range(limit)]


def _json(v: float | None) -> float | None:
    return v if v is None or math.isfinite(v) else None


def _rel_drop(a: float, b: float) -> float | None:
    if not (math.isfinite(a) and math.isfinite(b)) or a == 0:
        return None
    return (a - b) / abs(a)


def _target_variance(task: str, y: torch.Tensor) -> float | None:
    if task != "regression":
        return None
    return float(y.double().var(0, unbiased=False).mean())


def _range(out: torch.Tensor | None) -> list[float] | None:
    if out is None or out.numel() == 0 or not bool(out.isfinite().all()):
        return None
    return [float(out.min()), float(out.max())]


def _learning_rate(optimizer) -> float | None:
    lrs = [g.get("lr") for g in optimizer.param_groups]
    lrs = [float(v) for v in lrs if isinstance(v, (int, float)) or torch.is_tensor(v)]
    return max(lrs) if lrs else None
