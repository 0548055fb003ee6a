"""What the activation modules see, at initialization and after the shared short training:
per call site, how often each rectifier unit is active (dead ReLUs) and how the pre-activations
of tanh/sigmoid units are spread (saturation).

Only activation *modules* are seen (forward pre-hooks on nn.ReLU, nn.Tanh, ...); activations
called as functions inside `forward` (`F.relu`, `torch.tanh`) are invisible here.

A unit is a feature of a 2-D output, a channel (dim 1) of a 4-D/5-D convolution output, and the
last dim of a 3-D output (the sequence convention); a unit counts as active on a sample when any
of its positions is > 0. Per layer the probe stores 101 quantiles (0, 1, ..., 100 %) of the
units' active share and of |pre-activation|, so a check can apply any threshold."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from overfit_doctor.probes.context import ProbeContext
from overfit_doctor.probes.weights import short_training

BATCH = 256
MAX_QUANTILE_VALUES = 200_000  # |pre-activation| values kept (seeded subsample) per layer
LEVELS = 101

# dead units: no gradient at all for inputs <= 0
RECTIFIERS: tuple[tuple[type[nn.Module], str], ...] = ((nn.ReLU, "relu"), (nn.ReLU6, "relu6"))
# measured for plots only: a gradient survives for negative inputs
SOFT_RECTIFIERS: tuple[tuple[type[nn.Module], str], ...] = (
    (nn.LeakyReLU, "leaky_relu"),
    (nn.PReLU, "prelu"),
    (nn.ELU, "elu"),
    (nn.CELU, "celu"),
    (nn.SELU, "selu"),
    (nn.GELU, "gelu"),
    (nn.SiLU, "silu"),
    (nn.Mish, "mish"),
    (nn.Hardswish, "hardswish"),
)
SATURATING: tuple[tuple[type[nn.Module], str], ...] = ((nn.Tanh, "tanh"), (nn.Sigmoid, "sigmoid"))


def activation_kind(m: nn.Module) -> tuple[str, str] | None:
    """(family, name): family is rectifier | soft_rectifier | saturating."""
    for family, table in (
        ("rectifier", RECTIFIERS),
        ("saturating", SATURATING),
        ("soft_rectifier", SOFT_RECTIFIERS),
    ):
        for cls, name in table:
            if isinstance(m, cls):
                return family, name
    return None


def unit_view(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(N, units, positions) view of an activation input, and the unit axis used."""
    if x.dim() <= 1:
        return x.reshape(-1, 1, 1), -1
    axis = x.dim() - 1 if x.dim() == 3 else 1
    v = x.movedim(axis, 1)
    return v.reshape(v.shape[0], v.shape[1], -1), axis


class _Site:
    """Running statistics of one call site of one activation module."""

    def __init__(self, name: str, module: nn.Module, family: str, act: str, gen: torch.Generator):
        self.name, self.module, self.family, self.act, self.gen = name, module, family, act, gen
        self.samples = 0
        self.active: torch.Tensor | None = None  # per unit: samples with any position > 0
        self.count = 0
        self.sum = 0.0
        self.sumsq = 0.0
        self.abs_values: list[torch.Tensor] = []
        self.kept = 0
        self.unit_axis = 1
        self.is_output = False
        self.shape: list[int] = []

    def add(self, x: torch.Tensor) -> None:
        x = x.detach().float()
        v, self.unit_axis = unit_view(x)
        self.shape = list(x.shape[1:])
        self.samples += v.shape[0]
        self.count += v.numel()
        self.sum += float(v.sum(dtype=torch.float64))
        self.sumsq += float(v.double().pow(2).sum())
        if self.family != "saturating":
            act = (v > 0).any(-1).sum(0).to(torch.int64).cpu()
            self.active = act if self.active is None else self.active + act
        else:
            a = v.abs().reshape(-1).cpu()
            room = MAX_QUANTILE_VALUES - self.kept
            if a.numel() > room > 0:
                a = a[torch.randperm(a.numel(), generator=self.gen)[:room]]
            if room > 0:
                self.abs_values.append(a)
                self.kept += a.numel()

    def result(self) -> dict[str, Any]:
        mean = self.sum / max(self.count, 1)
        var = max(self.sumsq / max(self.count, 1) - mean * mean, 0.0)
        r: dict[str, Any] = {
            "site": self.name,
            "type": type(self.module).__name__,
            "family": self.family,
            "activation": self.act,
            "shape": self.shape,
            "unit_axis": self.unit_axis,
            "samples": self.samples,
            "pre_activation_mean": mean,
            "pre_activation_std": var**0.5,
            "is_output": self.is_output,
        }
        if self.active is not None:
            share = self.active.double() / max(self.samples, 1)
            r["units"] = int(share.numel())
            r["never_active_share"] = float((self.active == 0).double().mean())
            r["active_share_quantiles"] = quantiles(share)
        if self.abs_values:
            a = torch.cat(self.abs_values).double()
            r["units"] = int(self.shape[self.unit_axis - 1]) if self.shape else 1
            r["abs_pre_activation_quantiles"] = quantiles(a)
        return r


def quantiles(t: torch.Tensor) -> list[float]:
    """Quantiles at 0, 1, ..., 100 % (linear interpolation)."""
    t = t.reshape(-1).double()
    if t.numel() == 0:
        return []
    q = torch.linspace(0, 1, LEVELS, dtype=torch.float64)
    s = torch.sort(t).values
    pos = q * (len(s) - 1)
    lo = pos.floor().long()
    hi = pos.ceil().long()
    frac = pos - lo.double()
    return [float(v) for v in s[lo] * (1 - frac) + s[hi] * frac]


def measure(ctx: ProbeContext, model: nn.Module, X: torch.Tensor) -> list[dict[str, Any]]:
    """Statistics of every activation call site over X (train mode, no gradients: what a
    training step sees, without updating anything but batch-norm running statistics)."""
    sites: dict[str, _Site] = {}
    calls: dict[str, int] = {}
    outputs: dict[int, str] = {}  # storage address of an activation's output -> site
    kept: list[torch.Tensor] = []
    gen = torch.Generator().manual_seed(ctx.seed + 13)
    handles = []
    for name, mod in model.named_modules():
        kind = activation_kind(mod)
        if kind is None:
            continue

        def pre(m, inp, _name=name, _kind=kind):
            if not inp or not isinstance(inp[0], torch.Tensor):
                return
            k = calls.get(_name, 0)
            calls[_name] = k + 1
            key = _name if k == 0 else f"{_name}#{k}"
            if key not in sites:
                sites[key] = _Site(key, m, _kind[0], _kind[1], gen)
            sites[key].add(inp[0])

        def post(m, inp, out, _name=name):
            if isinstance(out, torch.Tensor):
                k = calls.get(_name, 1) - 1
                kept.append(out)  # alive until the model returns: storages stay distinct
                outputs[_storage(out)] = _name if k == 0 else f"{_name}#{k}"

        handles.append(mod.register_forward_pre_hook(pre))
        handles.append(mod.register_forward_hook(post))
    model.train()
    try:
        with torch.no_grad():
            for i in range(0, len(X), BATCH):
                calls.clear()
                outputs.clear()
                kept.clear()
                out = ctx.forward(model, X[i : i + BATCH])
                site = outputs.get(_storage(out))  # the output, or a view of it
                if site in sites:
                    sites[site].is_output = True
                kept.clear()
    finally:
        for h in handles:
            h.remove()
    return [s.result() for s in sites.values()]


def _storage(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


def run(ctx: ProbeContext) -> dict[str, Any]:
    train = ctx.train
    n = min(ctx.budget.activation_samples, len(train))
    g = torch.Generator().manual_seed(ctx.seed + 17)
    X = train.X[torch.randperm(len(train), generator=g)[:n]]
    model = ctx.new_model(0)
    result: dict[str, Any] = {
        "model": type(model).__name__,
        "samples": n,
        "mode": "train mode, no gradients",
        "init": measure(ctx, model, X),
    }
    result["activation_modules"] = len({r["site"].split("#")[0] for r in result["init"]})
    trained = short_training(ctx)
    result["training_steps"] = trained.steps
    result["training_error"] = trained.error
    result["trained"] = measure(ctx, trained.model, X) if trained.model is not None else None
    return result
