"""Per-layer weight statistics of a fresh model: scale against the He, Xavier, LeCun and
PyTorch-default expectations for the layer's fan-in, histograms, a WeightWatcher-style power-law
exponent of the eigenvalues of WᵀW, and how the norms move in a short training.

Also home of `short_training`, the few training steps the model-state probes share."""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from overfit_doctor.probes.context import ProbeContext
from overfit_doctor.probes.output_check import loss_problem

# training steps of the shared short training, per budget
STEPS = {"quick": 50, "standard": 100, "thorough": 200}
HIST_BINS = 30
MIN_EIGENVALUES = 50  # power-law fits need at least this many (WeightWatcher README)
# largest weight matrix (elements) whose spectrum is computed, per budget
MAX_SVD_ELEMENTS = {"quick": 1_000_000, "standard": 4_000_000, "thorough": 16_000_000}
NORM_LAYERS = (
    nn.modules.batchnorm._BatchNorm,
    nn.modules.instancenorm._InstanceNorm,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.LocalResponseNorm,
)
_TRANSPARENT = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
                nn.Identity, nn.Flatten, nn.Unflatten)  # fmt: skip


@dataclass
class ShortTraining:
    """A fresh model (seed offset 0) after a few steps of the user's optimizer and loss."""

    model: nn.Module | None
    steps: int
    losses: list[float] = field(default_factory=list)
    error: str | None = None


def short_training(ctx: ProbeContext) -> ShortTraining:
    """Train `STEPS[budget]` steps once per diagnosis; shared by the activation and weight
    probes (cached in the context)."""
    key = "model_state.short_training"
    if key in ctx.cache:
        return ctx.cache[key]
    steps = STEPS.get(ctx.budget.name, 50)
    problem = loss_problem(ctx)
    if problem is not None:
        st = ShortTraining(None, 0, error=f"not trained: {problem}")
    else:
        model = ctx.new_model(0)
        opt = ctx.new_optimizer(model)
        train, bs = ctx.train, ctx.batch_size
        epochs = max(1, math.ceil(steps * bs / max(len(train), 1)))
        batches = itertools.islice(
            ctx.batches(train.X, train.y, bs, seed=ctx.seed + 11, epochs=epochs), steps
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the loss's warnings are OD402's business
                losses = ctx.train_steps(model, opt, batches)
            st = ShortTraining(model, len(losses), losses)
        except Exception as exc:  # recorded; the init measurements still count
            st = ShortTraining(None, 0, error=f"training failed: {type(exc).__name__}: {exc}")
    ctx.cache[key] = st
    return st


def leaf_order(model: nn.Module, forward) -> list[str]:
    """Names of the leaf modules in the order one forward pass calls them."""
    order: list[str] = []
    handles = []
    for name, mod in model.named_modules():
        if next(mod.children(), None) is None:
            handles.append(mod.register_forward_hook(lambda m, i, o, _n=name: order.append(_n)))
    try:
        forward()
    finally:
        for h in handles:
            h.remove()
    return order


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [
        (name, m)
        for name, m in model.named_modules()
        if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd))
        and isinstance(getattr(m, "weight", None), torch.Tensor)
        and m.weight.dim() >= 2
        and not isinstance(m.weight, nn.parameter.UninitializedParameter)
    ]


def references(w: torch.Tensor) -> dict[str, float]:
    """Expected weight standard deviation of common initializations for this fan-in/out."""
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(w)
    fan_in, fan_out = max(fan_in, 1), max(fan_out, 1)
    return {
        "he": math.sqrt(2.0 / fan_in),
        "xavier": math.sqrt(2.0 / (fan_in + fan_out)),
        "lecun": math.sqrt(1.0 / fan_in),
        "pytorch_default": 1.0 / math.sqrt(3.0 * fan_in),
    }


def run(ctx: ProbeContext) -> dict[str, Any]:
    model = ctx.new_model(0)
    model.eval()
    sample = ctx.train.X[: min(8, len(ctx.train))]
    with torch.no_grad():
        order = leaf_order(model, lambda: ctx.forward(model, sample))
    modules = dict(model.named_modules())
    layers = weight_layers(model)
    called = [n for n in order if n in dict(layers)]
    output_layer = called[-1] if called else (layers[-1][0] if layers else None)
    max_svd = MAX_SVD_ELEMENTS.get(ctx.budget.name, 1_000_000)

    trained = short_training(ctx)
    after = dict(weight_layers(trained.model)) if trained.model is not None else {}

    out = []
    for name, m in layers:
        w = m.weight.detach().float().cpu()
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(w)
        refs = references(w)
        stats = tensor_stats(w)
        nxt = _next_module(order, name, modules)
        entry: dict[str, Any] = {
            "name": name,
            "type": type(m).__name__,
            "shape": list(w.shape),
            "fan_in": fan_in,
            "fan_out": fan_out,
            **stats,
            "references": refs,
            "ratio_to_largest_reference": stats["rms"] / max(refs.values()),
            "ratio_to_smallest_reference": stats["rms"] / min(refs.values()),
            "ratio_to_he": stats["rms"] / refs["he"],
            "bias": tensor_stats(m.bias.detach().float().cpu(), hist=False)
            if isinstance(getattr(m, "bias", None), torch.Tensor)
            else None,
            "called": name in order,
            "next_module": nxt,
            "followed_by_normalization": bool(
                nxt is not None and isinstance(modules[nxt], NORM_LAYERS)
            ),
            "output_layer": name == output_layer,
            "alpha_init": spectral_alpha(w, max_svd),
        }
        if name in after:
            w2 = after[name].weight.detach().float().cpu()
            entry["norm_after_training"] = float(w2.norm())
            entry["norm_growth"] = float(w2.norm()) / entry["norm"] if entry["norm"] > 0 else None
            entry["alpha_trained"] = spectral_alpha(w2, max_svd)
        out.append(entry)
    return {
        "model": type(model).__name__,
        "layers": out,
        "training_steps": trained.steps,
        "training_error": trained.error,
        "training_loss_first_last": [trained.losses[0], trained.losses[-1]]
        if trained.losses
        else None,
        "skipped_modules": sorted(
            {
                type(m).__name__
                for _, m in model.named_modules()
                if isinstance(m, (nn.Embedding, nn.RNNBase, nn.MultiheadAttention))
            }
        ),
    }


def _next_module(order: list[str], name: str, modules: dict[str, nn.Module]) -> str | None:
    """The leaf called right after `name` (dropout, identity and flatten skipped)."""
    if name not in order:
        return None
    i = order.index(name) + 1
    while i < len(order) and isinstance(modules.get(order[i]), _TRANSPARENT):
        i += 1
    return order[i] if i < len(order) else None


def tensor_stats(t: torch.Tensor, hist: bool = True) -> dict[str, Any]:
    t = t.reshape(-1).double()
    finite = bool(torch.isfinite(t).all())
    tf = t[torch.isfinite(t)] if not finite else t
    n = tf.numel()
    stats: dict[str, Any] = {
        "finite": finite,
        "mean": float(tf.mean()) if n else 0.0,
        "std": float(tf.std()) if n > 1 else 0.0,
        "rms": float(tf.pow(2).mean().sqrt()) if n else 0.0,
        "min": float(tf.min()) if n else 0.0,
        "max": float(tf.max()) if n else 0.0,
        "norm": float(tf.norm()) if n else 0.0,
        "zero_share": float((tf == 0).double().mean()) if n else 1.0,
    }
    if hist and n:
        lo, hi = stats["min"], stats["max"]
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        counts = torch.histc(tf, bins=HIST_BINS, min=lo, max=hi)
        stats["histogram"] = {
            "counts": [int(c) for c in counts],
            "edges": [lo + (hi - lo) * i / HIST_BINS for i in range(HIST_BINS + 1)],
        }
    return stats


def spectral_alpha(w: torch.Tensor, max_elements: int) -> dict[str, Any] | None:
    """Power-law exponent of the eigenvalues of WᵀW (conv kernels reshaped to
    out x in*k*k), or None when the layer has too few eigenvalues or is too large."""
    m = w.reshape(w.shape[0], -1)
    n_eig = min(m.shape)
    if n_eig < MIN_EIGENVALUES or m.numel() > max_elements or not torch.isfinite(m).all():
        return None
    s = torch.linalg.svdvals(m.float()).double()
    evals = (s * s).numpy()
    fit = powerlaw_fit(evals)
    if fit is None:
        return None
    fit["eigenvalues"] = int(n_eig)
    fit["lambda_max"] = float(evals.max())
    fit["stable_rank"] = float(evals.sum() / evals.max()) if evals.max() > 0 else None
    return fit


def powerlaw_fit(x: np.ndarray, min_tail: int = 10, max_candidates: int = 500) -> dict | None:
    """Continuous power-law fit p(x) ∝ x^-alpha for x >= xmin (Clauset, Shalizi & Newman
    2009): alpha by maximum likelihood, xmin by the smallest Kolmogorov-Smirnov distance."""
    x = np.sort(np.asarray(x, dtype=float))
    x = x[x > 0]
    n = len(x)
    if n < min_tail + 1:
        return None
    last = n - min_tail  # candidates keep at least `min_tail` points in the tail
    cand = np.arange(last + 1)
    if len(cand) > max_candidates:
        cand = np.unique(np.linspace(0, last, max_candidates).round().astype(int))
    logs = np.log(x)
    csum = np.concatenate([[0.0], np.cumsum(logs[::-1])])[::-1]  # csum[i] = sum(logs[i:])
    best = None
    for i in cand:
        xmin, k = x[i], n - i
        denom = csum[i] - k * logs[i]
        if denom <= 0:
            continue
        alpha = 1.0 + k / denom
        tail = x[i:]
        cdf_fit = 1.0 - (tail / xmin) ** (1.0 - alpha)
        emp_hi = np.arange(1, k + 1) / k
        emp_lo = np.arange(0, k) / k
        d = float(max(np.max(np.abs(emp_hi - cdf_fit)), np.max(np.abs(emp_lo - cdf_fit))))
        if best is None or d < best["ks_distance"]:
            best = {"alpha": float(alpha), "xmin": float(xmin), "tail": int(k), "ks_distance": d}
    return best
