"""Is the model a function in eval mode? Two forward passes on the same batch (model.eval(),
torch.no_grad(), the global RNG seeded differently before each) must agree, and a sample's
output must not depend on the other samples of its batch.

Dropout left on (`F.dropout(h, p, training=True)`), noise drawn in `forward`, or batch statistics
used at evaluation make validation numbers noisy and checkpoints incomparable. Leaf-module
outputs are fingerprinted in both passes to name the first module whose output differs."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from overfit_doctor.probes.context import ProbeContext

SAMPLES = 32
FINGERPRINT_VALUES = 4096  # leading values of each leaf output compared between the passes


def _fingerprint(out: Any) -> torch.Tensor | None:
    if not isinstance(out, torch.Tensor) or not out.is_floating_point():
        return None
    return out.detach().reshape(-1)[:FINGERPRINT_VALUES].double().cpu().clone()


def forward_recorded(ctx: ProbeContext, model: nn.Module, X: torch.Tensor, seed: int):
    """Model output and (leaf name, fingerprint) in call order, with the RNG at `seed`."""
    prints: list[tuple[str, torch.Tensor | None]] = []
    handles = []
    for name, mod in model.named_modules():
        if next(mod.children(), None) is None:
            handles.append(
                mod.register_forward_hook(
                    lambda m, i, o, _n=name: prints.append((_n, _fingerprint(o)))
                )
            )
    torch.manual_seed(seed)
    try:
        with torch.no_grad():
            out = ctx.forward(model, X).detach().double().cpu()
    finally:
        for h in handles:
            h.remove()
    return out, prints


def relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| relative to the output's scale (max |a|, at least 1e-6)."""
    if a.shape != b.shape:
        return float("inf")
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        same = torch.equal(torch.nan_to_num(a), torch.nan_to_num(b))
        return 0.0 if same else float("inf")
    scale = max(float(a.abs().max()) if a.numel() else 0.0, 1e-6)
    return float((a - b).abs().max()) / scale if a.numel() else 0.0


def first_difference(p1, p2, tol: float) -> str | None:
    for (n1, f1), (n2, f2) in zip(p1, p2, strict=False):
        if n1 != n2:
            return n1
        if f1 is None or f2 is None:
            continue
        if relative_difference(f1, f2) > tol:
            return n1
    return None


def run(ctx: ProbeContext) -> dict[str, Any]:
    train = ctx.train
    n = min(SAMPLES, len(train))
    X = train.X[:n]
    model = ctx.new_model(0)
    model.eval()
    out1, p1 = forward_recorded(ctx, model, X, ctx.seed + 1001)
    out2, p2 = forward_recorded(ctx, model, X, ctx.seed + 2002)
    repeat = relative_difference(out1, out2)
    half = n // 2
    batch = None
    if half >= 1:
        out3, _ = forward_recorded(ctx, model, X[:half], ctx.seed + 1001)
        batch = relative_difference(out1[:half], out3)
    still_eval = not any(m.training for m in model.modules())
    return {
        "model": type(model).__name__,
        "samples": n,
        "repeat_difference": repeat,
        "batch_difference": batch,
        "first_differing_module": first_difference(p1, p2, 1e-6) if repeat > 0 else None,
        "output_scale": float(out1.abs().max()) if out1.numel() else 0.0,
        "eval_mode_kept": still_eval,
        "dropout_modules": [
            name
            for name, m in model.named_modules()
            if isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0
        ],
    }
