"""What the active checks see: data sizes, task, loss, model size, and a regularization audit
(which of dropout, weight decay, normalization layers and augmentation are already in place,
so the remedies for overfitting skip them)."""

from __future__ import annotations

from typing import Any

from torch import nn

from overfit_doctor.probes.context import ProbeContext

_NORM_LAYERS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm)


def run(ctx: ProbeContext) -> dict[str, Any]:
    model = ctx.new_model()
    params = list(model.parameters())
    trainable = sum(p.numel() for p in params if p.requires_grad)
    train, val = ctx.train, ctx.val
    audit = regularization(ctx, model)
    return {
        "train_samples": train.total,
        "val_samples": val.total if val is not None else None,
        "samples_used": {"train": len(train), "val": len(val) if val is not None else None},
        "data_kind": train.kind,
        "input_shape": list(train.X.shape[1:]),
        "output_shape": list(ctx.output_shape[1:]),
        "task": ctx.task,
        "num_classes": ctx.num_classes,
        "loss": ctx.loss_name,
        "loss_inferred": bool(ctx.cache.get("loss_inferred")),
        "parameters": sum(p.numel() for p in params),
        "trainable_parameters": trainable,
        "parameters_per_training_sample": trainable / max(train.total, 1),
        "batch_size": ctx.batch_size,
        "budget": ctx.budget.name,
        "seed": ctx.seed,
        "device": str(ctx.device),
        "regularization": audit,
        "regularization_present": [k for k, v in _present(audit).items() if v],
    }


def regularization(ctx: ProbeContext, model: nn.Module) -> dict[str, Any]:
    dropout = [
        name
        for name, m in model.named_modules()
        if isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0
    ]
    norms = [name for name, m in model.named_modules() if isinstance(m, _NORM_LAYERS)]
    opt = ctx.new_optimizer(model)
    decay = max((float(g.get("weight_decay", 0.0) or 0.0) for g in opt.param_groups), default=0.0)
    dataset = getattr(ctx.spec.train, "dataset", ctx.spec.train)
    transform = getattr(dataset, "transform", None) or getattr(dataset, "transforms", None)
    return {
        "dropout_layers": dropout,
        "normalization_layers": norms,
        "weight_decay": decay,
        "optimizer": type(opt).__name__,
        "augmentation": "transform found" if transform is not None else "none found",
    }


def _present(audit: dict[str, Any]) -> dict[str, bool]:
    """Remedy ids already applied by this model and data."""
    return {
        "dropout": bool(audit["dropout_layers"]),
        "weight-decay": audit["weight_decay"] > 0,
        "batch-normalization": bool(audit["normalization_layers"]),
        "data-augmentation": audit["augmentation"] != "none found",
    }
