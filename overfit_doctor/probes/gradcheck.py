"""Gradient check of the whole model (CS231n "gradient checks"; CS230): are the gradients that
autograd computes the derivatives of the loss the model actually computes?

A float64 copy of a fresh model and a small training batch (`budget.grad_samples` samples).
Instead of one finite difference per parameter (what `torch.autograd.gradcheck` does: two
forward passes per scalar, hopeless beyond a few thousand parameters), the loss is probed along
`budget.grad_directions` random unit directions v over all trainable parameters: the analytic
directional derivative a = g.v (one backward pass) is compared with the central difference
b = (L(theta + h v) - L(theta - h v)) / 2h (two forward passes). A wrong gradient anywhere shows up
as a disagreement along almost every random direction, at a cost of a few forward passes.

- Relative error per CS231n: |a - b| / max(|a|, |b|), with a floor at the rounding noise of the
  central difference (float64 epsilon x |L| / h, times a margin) so that a direction along which
  the loss is flat cannot produce a large ratio out of rounding noise.
- Kinks (ReLU, max-pool, abs, L1 losses) and float32 islands inside the model make the central
  difference itself wrong when the step crosses a kink or rounding dominates. A direction that
  disagrees at step `H` is measured again at step `H_CHECK`: a real gradient error gives the same
  b at both steps (b converges to the true derivative, a is wrong by a fixed amount), a kink
  crossed by the step or rounding noise does not. A point sitting exactly on a kink (a ReLU
  whose input is exactly 0) gives the same b at every step, but its one-sided differences
  (L(theta + h v) - L(theta)) / h and (L(theta) - L(theta - h v)) / h differ by the change of
  slope, while for a smooth loss they agree to O(h). Only disagreements that pass both tests
  (`confirmed`) count.
- Randomness: every loss evaluation runs under a forked RNG with the same seed (dropout draws
  the same mask every time), and module buffers are restored before each one (batch-norm running
  statistics, spectral-norm vectors). Batch norm stays in training mode, which is deterministic
  given the batch, so the check covers the gradient that training actually uses.
- Parameters whose gradient is None (not in the autograd graph: `.detach()`, unused layers) are
  left out: they are the gradient-flow probe's business (OD304), not a wrong backward.
- When the whole-model test disagrees, the test is repeated with directions restricted to the
  parameters of one module at a time, which localizes the error (the modules upstream of a wrong
  backward are wrong too; the ones downstream are right). Large models are bisected over the
  modules sorted by depth instead of scanned (see `_Setup.localize`).

Two kinds of direction alternate (see `random_direction`): scaled (each tensor's part divided by
its gradient norm, so every tensor moves g.v by the same amount and a wrong gradient in a small
tensor is not drowned out by a big one's) and uniform (every scalar parameter weighs the same).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from overfit_doctor.errors import InputError
from overfit_doctor.probes.context import ProbeContext

SEED_OFFSET = 301
H = 1e-6  # finite-difference step along a unit direction (CS231n, torch gradcheck eps)
H_CHECK = 1e-4  # second step for directions that disagree: tells a real error from a kink
NOISE_MARGIN = 1000.0  # rounding noise of a central difference ~ eps * |L| / h, times this
CONSISTENT = 0.1  # |b(H) - b(H_CHECK)| below this share of |a - b(H)|: a real disagreement
SCREEN_REL = 1e-5  # directions above this relative error are re-measured at H_CHECK
LOCALIZE_DIRECTIONS = {"quick": 1}  # per module, by budget (2 otherwise)
SCALE_FLOOR = 1e-3  # "scaled" directions: tensors with smaller gradients are not boosted further
KINDS = ("scaled", "uniform")  # direction kinds, in turn
FULL_SCAN_MODULES = 12  # localization tests every module up to this many, bisects beyond

_KINK_MODULES = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.RReLU,
    nn.Hardtanh,
    nn.Hardshrink,
    nn.Softshrink,
    nn.Hardsigmoid,
    nn.Hardswish,
    nn.Threshold,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.MaxPool3d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveMaxPool3d,
)
_KINK_LOSSES = ("L1Loss", "SmoothL1Loss", "HuberLoss", "MultiMarginLoss", "HingeEmbeddingLoss")


def run(ctx: ProbeContext) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        result = _check(ctx)
    except _NotJudged as exc:
        result = {"judged": False, "reason": str(exc)}
    result["seconds"] = time.perf_counter() - start
    return result


def _check(ctx: ProbeContext) -> dict[str, Any]:
    setup = _Setup.build(ctx)
    gen = torch.Generator().manual_seed(ctx.seed + SEED_OFFSET)
    dirs = []
    for i in range(ctx.budget.grad_directions):
        kind = KINDS[i % len(KINDS)]
        v = random_direction(setup.grads, gen, kind)
        d = setup.compare(v)
        d["kind"] = kind
        dirs.append(d)
    finite = [d["rel_error"] for d in dirs if math.isfinite(d["rel_error"])]
    confirmed = [d for d in dirs if d["confirmed"]]
    loc = setup.localize(gen) if confirmed else {"strategy": None, "modules_total": 0, "rows": []}
    return {
        "judged": True,
        "model": setup.model_name,
        "dtype": "float64",
        "samples": setup.samples,
        "loss": setup.loss,
        "parameters_checked": setup.numel,
        "tensors_checked": len(setup.params),
        "excluded_no_grad": setup.excluded,
        "h": H,
        "h_check": H_CHECK,
        "noise_floor": setup.noise_floor,
        "directions": dirs,
        "max_rel_error": max(finite, default=math.nan),
        "max_confirmed_rel_error": max((d["rel_error"] for d in confirmed), default=0.0),
        "confirmed_directions": len(confirmed),
        "kink_directions": sum(1 for d in dirs if d["kink"]),
        "nonfinite_directions": sum(1 for d in dirs if not math.isfinite(d["rel_error"])),
        "kinks_possible": setup.kinks,
        "localized": bool(confirmed),
        "localization": loc["strategy"],
        "modules_with_parameters": loc["modules_total"],
        "modules": loc["rows"],
        "forward_passes": setup.forward_passes,
    }


class _NotJudged(Exception):
    pass


def random_direction(
    grads: list[torch.Tensor], gen: torch.Generator, kind: str = "uniform"
) -> list[torch.Tensor]:
    """A random unit vector over tensors shaped like `grads`.

    - `uniform`: i.i.d. Gaussian; every scalar weighs the same, so big tensors dominate;
    - `balanced`: every tensor gets the same share of the length;
    - `scaled`: tensor B gets z_B / max(||g_B||, SCALE_FLOOR * max ||g||), so each tensor adds a
      term of the same size to g.v and a wrong gradient in any one tensor (a small one near the
      input as much as a big one) moves g.v by its own relative error.
    """
    z = [torch.randn(g.shape, generator=gen, dtype=torch.float64).to(g.device) for g in grads]
    if kind == "balanced":
        z = [t / max(float(t.norm()), 1e-300) for t in z]
    elif kind == "scaled":
        norms = [float(g.double().norm()) for g in grads]
        floor = max(SCALE_FLOOR * max(norms, default=0.0), 1e-300)
        z = [t / max(n, floor) for t, n in zip(z, norms, strict=True)]
    elif kind != "uniform":
        raise ValueError(f"unknown direction kind {kind!r}")
    total = math.sqrt(sum(float(t.pow(2).sum()) for t in z))
    return [t / max(total, 1e-300) for t in z]


def relative_error(a: float, b: float, floor: float = 0.0) -> float:
    """CS231n: |a - b| / max(|a|, |b|), never dividing by less than `floor`."""
    denom = max(abs(a), abs(b), floor, 1e-300)
    return abs(a - b) / denom


class _Setup:
    """A float64 model, its batch, the analytic gradient, and loss evaluations along directions."""

    def __init__(self) -> None:
        self.forward_passes = 0

    @classmethod
    def build(cls, ctx: ProbeContext) -> _Setup:
        s = cls()
        s.ctx = ctx
        n = min(ctx.budget.grad_samples, len(ctx.train))
        g = torch.Generator().manual_seed(ctx.seed + SEED_OFFSET)
        idx = torch.randperm(len(ctx.train), generator=g)[:n]
        X, y = ctx.train.X[idx].to(ctx.device), ctx.train.y[idx].to(ctx.device)
        s.X = X.double() if torch.is_floating_point(X) else X
        s.y = y.double() if torch.is_floating_point(y) else y
        s.samples = n
        model32 = ctx.new_model(SEED_OFFSET)
        s.model_name = type(model32).__name__
        model = copy.deepcopy(model32).double()
        model.train()
        s.model = model
        s.buffers = {k: v.detach().clone() for k, v in model.named_buffers()}
        s.rng_seed = ctx.seed + SEED_OFFSET
        s.kinks = sorted(
            {type(m).__name__ for m in model.modules() if isinstance(m, _KINK_MODULES)}
            | ({ctx.loss_name} if ctx.loss_name in _KINK_LOSSES else set())
        )
        named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
        if not named:
            raise _NotJudged("the model has no trainable parameters")
        before = [p.detach().clone() for _, p in named]
        with _float64():
            l0 = s.loss0 = s.loss_value()
            if not math.isfinite(l0):
                raise _NotJudged(f"the float64 loss is not finite ({l0})")
            if s.loss_value() != l0:
                raise _NotJudged("two identical float64 forward passes gave different losses")
            if any(not torch.equal(b, p) for b, (_, p) in zip(before, named, strict=True)):
                raise _NotJudged(
                    "the forward pass changes parameters in place (e.g. Embedding(max_norm=...))"
                )
            order: list[str] = []
            hooks = [
                p.register_hook(lambda grad, name=name: order.append(name)) for name, p in named
            ]
            try:
                loss = s.loss_tensor()
                if not loss.requires_grad:
                    raise _NotJudged("the loss does not depend on any trainable parameter")
                loss.backward()
            finally:
                for h in hooks:
                    h.remove()
        s.loss = float(loss.detach())
        s.params, s.grads, s.names, s.excluded = [], [], [], []
        for name, p in named:
            if p.grad is None:
                s.excluded.append(name)
                continue
            grad = p.grad.to_dense() if p.grad.is_sparse else p.grad
            if not bool(torch.isfinite(grad).all()):
                raise _NotJudged(f"the analytic gradient of {name} is not finite")
            s.params.append(p)
            s.grads.append(grad.detach().clone())
            s.names.append(name)
        if not s.params:
            raise _NotJudged("no trainable parameter receives a gradient")
        s.depth = {name: i for i, name in enumerate(order)}  # 0 = nearest the loss
        s.numel = sum(p.numel() for p in s.params)
        s.noise_floor = NOISE_MARGIN * torch.finfo(torch.float64).eps * max(abs(s.loss), 1.0) / H
        return s

    # --- loss evaluations ------------------------------------------------------------------
    @contextmanager
    def _fixed_state(self) -> Iterator[None]:
        with torch.no_grad():
            for k, buf in self.model.named_buffers():
                if k in self.buffers:
                    buf.copy_(self.buffers[k])
        devices = [self.X.device] if self.X.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.rng_seed)
            yield

    def loss_tensor(self) -> torch.Tensor:
        with self._fixed_state():
            self.forward_passes += 1
            try:
                out = self.ctx.forward(self.model, self.X)
                if torch.is_floating_point(out) and out.dtype != torch.float64:
                    raise _NotJudged(
                        f"the model returns {out.dtype} even as a float64 copy: a numerical "
                        "gradient would be rounding noise"
                    )
                return self.ctx.loss_fn(out, self.y)
            except (InputError, RuntimeError, TypeError, ValueError, IndexError) as exc:
                raise _NotJudged(
                    f"the model or loss does not run in float64: {str(exc).splitlines()[0]}"
                ) from None

    def loss_value(self) -> float:
        with torch.no_grad():
            return float(self.loss_tensor())

    def loss_along(
        self, params: list[nn.Parameter], v: list[torch.Tensor], h: float
    ) -> tuple[float, float]:
        """(L(theta + h v), L(theta - h v)), moving only `params`."""
        saved = [p.detach().clone() for p in params]
        try:
            values = []
            for sign in (1.0, -1.0):
                with torch.no_grad():
                    for p, p0, d in zip(params, saved, v, strict=True):
                        p.copy_(p0 + (sign * h) * d)
                values.append(self.loss_value())
        finally:
            with torch.no_grad():
                for p, p0 in zip(params, saved, strict=True):
                    p.copy_(p0)
        return values[0], values[1]

    def compare(self, v: list[torch.Tensor], which: list[int] | None = None) -> dict[str, Any]:
        """Analytic vs numerical directional derivative along `v` (over tensors `which`).

        A disagreement is `confirmed` when it is not explained by a kink: the central difference
        is the same at steps H and H_CHECK, and the one-sided differences at H agree with each
        other (they differ by the slope change when theta sits exactly on a kink, e.g. a ReLU
        whose input is exactly 0)."""
        which = list(range(len(self.params))) if which is None else which
        params = [self.params[i] for i in which]
        grads = [self.grads[i] for i in which]
        a = float(sum(float((g * d).sum()) for g, d in zip(grads, v, strict=True)))
        with _float64():
            plus, minus = self.loss_along(params, v, H)
            b = (plus - minus) / (2 * H)
            rel = relative_error(a, b, self.noise_floor) if math.isfinite(b) else math.nan
            b2, asym, kink, confirmed = None, None, False, False
            if math.isfinite(rel) and rel > SCREEN_REL and abs(a - b) > self.noise_floor:
                asym = abs((plus - self.loss0) - (self.loss0 - minus)) / H
                p2, m2 = self.loss_along(params, v, H_CHECK)
                b2 = (p2 - m2) / (2 * H_CHECK)
                limit = CONSISTENT * abs(a - b)
                confirmed = math.isfinite(b2) and abs(b - b2) <= limit and asym <= limit
                kink = not confirmed
        return {
            "analytic": a,
            "numerical": b,
            "numerical_check": b2,
            "one_sided_gap": asym,
            "rel_error": rel,
            "confirmed": bool(confirmed),
            "kink": bool(kink),
        }

    # --- localization ----------------------------------------------------------------------
    def _test(self, which: list[int], gen: torch.Generator) -> list[dict[str, Any]]:
        grads = [self.grads[i] for i in which]
        n = LOCALIZE_DIRECTIONS.get(self.ctx.budget.name, 2)
        return [self.compare(random_direction(grads, gen, "scaled"), which) for _ in range(n)]

    def localize(self, gen: torch.Generator) -> dict[str, Any]:
        """Directional checks restricted to one module's parameters at a time.

        Up to `FULL_SCAN_MODULES` modules, every module is tested. Beyond, a wrong backward
        makes every module upstream of it wrong and leaves the ones nearer the loss right, so a
        binary search over the modules sorted by depth (nearest the loss first) finds the wrong
        module nearest the loss (where the error enters) in log2(modules) group tests; that
        module and its neighbours are then tested one by one."""
        owners: dict[str, list[int]] = {}
        for i, name in enumerate(self.names):
            owners.setdefault(name.rpartition(".")[0], []).append(i)
        depth = {
            m: min(self.depth.get(self.names[i], 10**9) for i in which)
            for m, which in owners.items()
        }
        mods = sorted(owners, key=lambda m: depth[m])
        strategy = "every module"
        if len(mods) > FULL_SCAN_MODULES:
            strategy = "bisection"
            lo, hi = 0, len(mods)  # the first `lo` modules are right; the first `hi` are not
            while hi - lo > 1:
                mid = (lo + hi) // 2
                group = [i for m in mods[:mid] for i in owners[m]]
                if any(r["confirmed"] for r in self._test(group, gen)):
                    hi = mid
                else:
                    lo = mid
            entry = hi - 1
            mods = mods[max(0, entry - 2) : entry + 5]
        types = {name: type(m).__name__ for name, m in self.model.named_modules()}
        rows = []
        for module in mods:
            which = owners[module]
            results = self._test(which, gen)
            confirmed = [r["rel_error"] for r in results if r["confirmed"]]
            finite = [r["rel_error"] for r in results if math.isfinite(r["rel_error"])]
            rows.append(
                {
                    "module": module or "(root)",
                    "type": types.get(module, "?"),
                    "depth": depth[module],
                    "parameters": sum(self.params[i].numel() for i in which),
                    "rel_error": max(finite, default=math.nan),
                    "confirmed_rel_error": max(confirmed, default=0.0),
                    "wrong": bool(confirmed),
                }
            )
        rows.sort(key=lambda r: (-r["confirmed_rel_error"], -_finite_or(r["rel_error"], -1.0)))
        return {"strategy": strategy, "modules_total": len(owners), "rows": rows}


def _finite_or(x: float, default: float) -> float:
    return x if math.isfinite(x) else default


@contextmanager
def _float64() -> Iterator[None]:
    """Tensors the model creates inside forward (torch.zeros(...), torch.tensor(1.0)) are
    float64 too while this is active."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)
