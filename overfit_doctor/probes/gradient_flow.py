"""Gradient flow through the layers of a fresh model, at initialization and after
`budget.flow_steps` training steps with the user's optimizer.

Two snapshots (init and after), each on the same `PROBE_BATCHES` training batches, with the
same dropout masks (a forked RNG seeded per batch) and the module buffers restored afterwards:

- per parameter tensor: gradient norm (mean over the batches), whether the gradient is None
  (the tensor is not in the autograd graph), exactly zero, or non-finite; the weight norm, and
  the gradient-to-weight ratio ||g|| / ||w||;
- per module that owns parameters: the norm of the gradient of the loss with respect to the
  module's output (the back-propagated error, delta), in forward order. Ratios of these norms
  measure how the backward pass amplifies or damps the error with depth, independently of the
  scale of the inputs each layer receives (which weight-gradient ratios mix in);
- the order in which parameter gradients arrive during the backward pass: the first to arrive
  is nearest the loss (depth 0), the last is the first layer, whatever the module definitions.

Between the snapshots the model trains for `budget.flow_steps` steps; every step records the
update-to-weight ratio ||delta w|| / ||w|| per tensor (CS231n: about 1e-3 is healthy), whether a
gradient was non-finite, and whether a tensor that had a gradient was changed by the optimizer.

The probe measures; `checks/gradients.py` judges.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager, suppress
from itertools import islice
from typing import Any

import torch
from torch import nn

from overfit_doctor.errors import InputError
from overfit_doctor.probes.context import ProbeContext

SEED_OFFSET = 302
PROBE_BATCHES = 3


def run(ctx: ProbeContext) -> dict[str, Any]:
    start = time.perf_counter()
    model = ctx.new_model(SEED_OFFSET)
    named = list(model.named_parameters())
    trainable = [(n, p) for n, p in named if p.requires_grad]
    frozen = [
        {"name": n, "shape": list(p.shape), "numel": p.numel()}
        for n, p in named
        if not p.requires_grad
    ]
    result: dict[str, Any] = {
        "model": type(model).__name__,
        "parameters": sum(p.numel() for _, p in named),
        "trainable_tensors": len(trainable),
        "trainable_parameters": sum(p.numel() for _, p in trainable),
        "frozen": frozen,
        "frozen_parameters": sum(f["numel"] for f in frozen),
    }
    if not trainable:
        result.update(judged=False, reason="the model has no trainable parameters")
        result["seconds"] = time.perf_counter() - start
        return result

    probe = probe_batches(ctx)
    tracker = _Tracker(model, trainable)
    try:
        try:
            init = tracker.snapshot(ctx, probe, record_order=True)
        except (InputError, RuntimeError, IndexError, ValueError, TypeError) as exc:
            # the loss cannot be computed (wrong output size...): other checks say why
            text = str(exc).splitlines()[0] if str(exc) else ""
            result.update(judged=False, reason=f"{type(exc).__name__}: {text}")
            result["seconds"] = time.perf_counter() - start
            return result
        weight_norms = {n: float(p.detach().norm()) for n, p in trainable}
        steps = _train(ctx, model, trainable, tracker)
        after = tracker.snapshot(ctx, probe)
    finally:
        tracker.remove()

    layers = _layer_table(model, trainable, tracker, init, after, weight_norms, steps)
    modules = _module_table(tracker, init, after)
    result.update(
        judged=True,
        probe_batches=len(probe),
        batch_size=ctx.batch_size,
        flow_steps=ctx.budget.flow_steps,
        steps_done=steps["steps_done"],
        loss_init=init["loss"],
        loss_after=after["loss"],
        loss_detached=init["loss_detached"] and after["loss_detached"],
        training_error=steps["error"],
        layers=layers,
        modules=modules,
        nonfinite_init=[r["layer"] for r in layers if r["status_init"] == "nonfinite"],
        nonfinite_after=[r["layer"] for r in layers if r["status_after"] == "nonfinite"],
        nonfinite_training=steps["nonfinite"],
        nonfinite_loss_step=steps["nonfinite_loss_step"],
        disconnected=[r["layer"] for r in layers if r["connection"] == "none"],
        zero_gradient=[r["layer"] for r in layers if r["connection"] == "zero"],
        not_updated=[r["layer"] for r in layers if r["updated"] is False],
        depth_ratios=depth_ratios(layers, modules),
        median_update_ratio=_median(
            [r["update_ratio"] for r in layers if r["update_ratio"] is not None and r["ndim"] >= 2]
        ),
        seconds=time.perf_counter() - start,
    )
    return result


def probe_batches(ctx: ProbeContext) -> list[tuple[torch.Tensor, torch.Tensor]]:
    train = ctx.train
    seed = ctx.seed + SEED_OFFSET
    return list(islice(ctx.batches(train.X, train.y, ctx.batch_size, seed), PROBE_BATCHES))


class _Tracker:
    """Hooks on the model: the gradient w.r.t. each parameter-owning module's output (while
    `active`) and the order in which parameter gradients arrive in the backward pass."""

    def __init__(self, model: nn.Module, trainable: list[tuple[str, nn.Parameter]]) -> None:
        self.model = model
        self.trainable = trainable
        self.active = False
        self.forward_order: list[str] = []
        self.out_sq: dict[str, float] = {}  # squared norm of d loss / d output, this batch
        self.arrival: list[str] = []
        self.recording_arrival = False
        self.types: dict[str, str] = {}
        self.handles = []
        for name, module in model.named_modules():
            if name and any(True for _ in module.parameters(recurse=False)):
                self.types[name] = type(module).__name__
                # a module that refuses hooks (a scripted one) just has no delta
                with suppress(RuntimeError, AttributeError):
                    self.handles.append(module.register_forward_hook(self._forward_hook(name)))
        for name, p in trainable:
            self.handles.append(p.register_hook(self._param_hook(name)))

    def _forward_hook(self, name: str):
        def hook(module, inputs, output):
            if not self.active:
                return
            out = output[0] if isinstance(output, (tuple, list)) and output else output
            if isinstance(out, torch.Tensor) and out.requires_grad:
                if name not in self.forward_order:
                    self.forward_order.append(name)

                def grad_hook(g: torch.Tensor) -> None:
                    sq = float(g.detach().double().pow(2).sum())
                    self.out_sq[name] = self.out_sq.get(name, 0.0) + sq

                out.register_hook(grad_hook)

        return hook

    def _param_hook(self, name: str):
        def hook(g: torch.Tensor) -> None:
            if self.recording_arrival and name not in self.arrival:
                self.arrival.append(name)

        return hook

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []

    def snapshot(self, ctx: ProbeContext, batches, *, record_order: bool = False) -> dict[str, Any]:
        """Gradients on each batch; the model's parameters and buffers are left as they were."""
        model = self.model
        per_param: dict[str, list[float | None]] = {n: [] for n, _ in self.trainable}
        zero: dict[str, list[bool]] = {n: [] for n, _ in self.trainable}
        out_norms: dict[str, list[float]] = {}
        losses, detached = [], True
        with _kept_buffers(model):
            model.train()
            for i, (xb, yb) in enumerate(batches):
                for _, p in self.trainable:
                    p.grad = None
                self.out_sq = {}
                self.active = True
                self.recording_arrival = record_order and i == 0
                try:
                    with _seeded(ctx.seed + SEED_OFFSET + i, xb.device):
                        loss = ctx.loss_fn(ctx.forward(model, xb), yb)
                        losses.append(float(loss.detach()))
                        if loss.requires_grad:
                            detached = False
                            loss.backward()
                finally:
                    self.active = False
                    self.recording_arrival = False
                for n, p in self.trainable:
                    if p.grad is None:
                        per_param[n].append(None)
                        zero[n].append(False)
                        continue
                    g = p.grad.detach()
                    g = g.to_dense() if g.is_sparse else g
                    per_param[n].append(float(g.double().norm()))
                    zero[n].append(not bool(g.any()))
                for name, sq in self.out_sq.items():
                    out_norms.setdefault(name, []).append(math.sqrt(sq))
            for _, p in self.trainable:
                p.grad = None
        return {
            "grad_norms": per_param,
            "zero": zero,
            "out_norms": out_norms,
            "loss": _mean([v for v in losses if math.isfinite(v)]) if losses else None,
            "loss_nonfinite": any(not math.isfinite(v) for v in losses),
            "loss_detached": detached,
        }


def _train(ctx: ProbeContext, model: nn.Module, trainable, tracker: _Tracker) -> dict[str, Any]:
    """`budget.flow_steps` steps of the user's optimizer, with per-step update ratios."""
    steps = ctx.budget.flow_steps
    train = ctx.train
    epochs = math.ceil(steps * ctx.batch_size / max(len(train), 1)) + 1
    batches = islice(
        ctx.batches(train.X, train.y, ctx.batch_size, ctx.seed + SEED_OFFSET + 1, epochs), steps
    )
    ratios: dict[str, list[float]] = {n: [] for n, _ in trainable}
    had_grad = {n: False for n, _ in trainable}
    changed = {n: False for n, _ in trainable}
    nonfinite: list[dict[str, Any]] = []
    out: dict[str, Any] = {"nonfinite_loss_step": None, "error": None, "steps_done": 0}
    try:
        optimizer = ctx.new_optimizer(model)
        model.train()
        for step, (xb, yb) in enumerate(batches):
            optimizer.zero_grad(set_to_none=True)
            loss = ctx.loss_fn(ctx.forward(model, xb), yb)
            if not math.isfinite(float(loss.detach())):
                out["nonfinite_loss_step"] = step
                break
            if not loss.requires_grad:
                out["steps_done"] = step + 1
                continue
            loss.backward()
            bad = []
            for n, p in trainable:
                if p.grad is not None:
                    g = p.grad.to_dense() if p.grad.is_sparse else p.grad
                    if not bool(torch.isfinite(g).all()):
                        bad.append(n)
                    elif bool(g.any()):
                        had_grad[n] = True
            if bad and len(nonfinite) < 3:
                nonfinite.append({"step": step, "layers": bad})
            before = [p.detach().clone() for _, p in trainable]
            optimizer.step()
            for (n, p), p0 in zip(trainable, before, strict=True):
                delta = float((p.detach() - p0).double().norm())
                if delta > 0:
                    changed[n] = True
                w = float(p0.double().norm())
                if w > 0 and math.isfinite(delta):
                    ratios[n].append(delta / w)
            out["steps_done"] = step + 1
    except Exception as exc:  # an optimizer that needs a closure, a model that breaks mid-way
        out["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    out.update(ratios=ratios, had_grad=had_grad, changed=changed, nonfinite=nonfinite)
    return out


def _layer_table(model, trainable, tracker, init, after, weight_norms, steps) -> list[dict]:
    depth = {n: i for i, n in enumerate(tracker.arrival)}
    rows = []
    for n, p in trainable:
        module = n.rpartition(".")[0]
        gi, ga = init["grad_norms"][n], after["grad_norms"][n]
        none_everywhere = all(v is None for v in gi + ga) and not steps["had_grad"].get(n)
        zero_everywhere = (
            not none_everywhere
            and all(
                v is None or z
                for v, z in zip(gi + ga, init["zero"][n] + after["zero"][n], strict=True)
            )
            and not steps["had_grad"].get(n)
        )
        w = weight_norms[n]
        g_init = _mean_finite(gi)
        r = steps["ratios"].get(n) or []
        updated = None
        if steps["had_grad"].get(n) and steps["steps_done"] > 0:
            updated = bool(steps["changed"].get(n))
        rows.append(
            {
                "layer": n,
                "module": module or "(root)",
                "module_type": type(model.get_submodule(module)).__name__,
                "shape": list(p.shape),
                "ndim": p.dim(),
                "numel": p.numel(),
                "depth": depth.get(n),
                "grad_norm_init": g_init,
                "grad_norm_after": _mean_finite(ga),
                "weight_norm": w,
                "grad_to_weight_init": g_init / w if g_init is not None and w > 0 else None,
                "update_ratio": _mean(r) if r else None,
                "status_init": _status(gi, init["zero"][n]),
                "status_after": _status(ga, after["zero"][n]),
                "connection": "none" if none_everywhere else "zero" if zero_everywhere else "ok",
                "updated": updated,
            }
        )
    return rows


def _module_table(tracker: _Tracker, init, after) -> list[dict]:
    rows = []
    for i, name in enumerate(tracker.forward_order):
        rows.append(
            {
                "module": name,
                "type": tracker.types.get(name, "?"),
                "order": i,
                "out_grad_norm_init": _mean_finite(init["out_norms"].get(name, [])),
                "out_grad_norm_after": _mean_finite(after["out_norms"].get(name, [])),
            }
        )
    return rows


def depth_ratios(layers: list[dict], modules: list[dict]) -> dict[str, Any]:
    """First-to-last ratios at init and after training:

    - `weight_first_last`: ||g|| of the first layer's weight over the last layer's (AUTOTRAINER);
      the first and last weights (tensors with 2+ dimensions) by backward arrival order, among
      those with a finite, non-zero gradient in both snapshots;
    - `delta_first_last` / `delta_max_last` / `delta_min_last`: norms of the gradient w.r.t. the
      output of the first (resp. largest, smallest) parameter-owning module over the last one's,
      in forward order, among modules with a non-zero one in both snapshots.
    The same tensors and modules are compared in both snapshots."""
    out: dict[str, Any] = {}
    weights = [r for r in layers if r["ndim"] >= 2 and r["depth"] is not None]
    weights.sort(key=lambda r: r["depth"])
    usable = [r for r in weights if _positive(r["grad_norm_init"], r["grad_norm_after"])]
    if len(usable) >= 2:
        last, first = usable[0], usable[-1]
        out["weight_first"], out["weight_last"] = first["layer"], last["layer"]
        for when in ("init", "after"):
            key = f"grad_norm_{when}"
            out[f"weight_first_last_{when}"] = first[key] / last[key]
    else:
        out["weight_first"] = out["weight_last"] = None
        out["weight_first_last_init"] = out["weight_first_last_after"] = None
    usable_m = [m for m in modules if _positive(m["out_grad_norm_init"], m["out_grad_norm_after"])]
    if len(usable_m) >= 2:
        first_m, last_m = usable_m[0], usable_m[-1]
        out["delta_first"], out["delta_last"] = first_m["module"], last_m["module"]
        for when in ("init", "after"):
            key = f"out_grad_norm_{when}"
            top = max(usable_m[:-1], key=lambda m: m[key])
            low = min(usable_m[:-1], key=lambda m: m[key])
            out[f"delta_first_last_{when}"] = first_m[key] / last_m[key]
            out[f"delta_max_last_{when}"] = top[key] / last_m[key]
            out[f"delta_min_last_{when}"] = low[key] / last_m[key]
            out[f"delta_max_module_{when}"] = top["module"]
            out[f"delta_min_module_{when}"] = low["module"]
    else:
        out["delta_first"] = out["delta_last"] = None
        for when in ("init", "after"):
            for k in ("first_last", "max_last", "min_last"):
                out[f"delta_{k}_{when}"] = None
    return out


def _positive(*values: float | None) -> bool:
    return all(v is not None and math.isfinite(v) and v > 0 for v in values)


@contextmanager
def _kept_buffers(model: nn.Module):
    saved = {k: v.detach().clone() for k, v in model.named_buffers()}
    try:
        yield
    finally:
        with torch.no_grad():
            for k, v in model.named_buffers():
                if k in saved:
                    v.copy_(saved[k])


@contextmanager
def _seeded(seed: int, device: torch.device):
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _status(norms: list[float | None], zeros: list[bool]) -> str:
    if all(v is None for v in norms):
        return "none"
    if any(v is not None and not math.isfinite(v) for v in norms):
        return "nonfinite"
    if all(v is None or z for v, z in zip(norms, zeros, strict=True)):
        return "zero"
    return "ok"


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _mean_finite(values: list[float | None]) -> float | None:
    return _mean([v for v in values if v is not None and math.isfinite(v)])


def _median(values: list[float]) -> float | None:
    values = sorted(v for v in values if math.isfinite(v))
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
