"""Label randomization test (Zhang et al. 2017): the same short training twice, from the same
initial weights and in the same batch order, once with the true training labels and once with
a fixed random permutation of them. Both runs are scored every epoch on their own training
labels and on held-out data with its true labels.

What the comparison tells (judged in `checks/memorization.py`):
- real labels do no better on held-out data than shuffled ones: the labels cannot be learned
  from the inputs (a pipeline that misaligns inputs and labels);
- shuffled labels are fitted about as fast as real ones: the model memorizes whatever it is
  given;
- shuffled-label training still predicts held-out labels above chance: the held-out labels are
  predictable without the training labels (leakage).

Regression targets are shuffled the same way and scored by R^2 against the training mean."""

from __future__ import annotations

import math
from typing import Any

import torch

from overfit_doctor.probes.context import ProbeContext
from overfit_doctor.probes.small_batch import batch_fit, r2

SEED_OFFSET = 202
HELD_OUT_MAX = 1000  # held-out samples scored each epoch (binomial SE <= 1.6 points)
HOLDOUT_SHARE = 0.25  # of the training data, when there is no validation split


def run(ctx: ProbeContext) -> dict[str, Any]:
    b = ctx.budget
    train, val = ctx.train, ctx.val
    g = torch.Generator().manual_seed(ctx.seed + SEED_OFFSET)
    order = torch.randperm(len(train), generator=g)
    if val is not None and len(val) > 0:
        source, pool = "val", order
        Xh, yh = val.X, val.y
    else:
        n_hold = min(HELD_OUT_MAX, max(1, int(HOLDOUT_SHARE * len(train))))
        source, pool = "train holdout", order[n_hold:]
        Xh, yh = train.X[order[:n_hold]], train.y[order[:n_hold]]
    if len(yh) > HELD_OUT_MAX:
        keep = torch.randperm(len(yh), generator=g)[:HELD_OUT_MAX]
        Xh, yh = Xh[keep], yh[keep]
    n = min(b.shuffle_samples, len(pool))
    X, y = train.X[pool[:n]], train.y[pool[:n]]
    task = ctx.task
    scorer = Scorer(ctx, task, y)

    runs = []
    for s in range(b.seeds):
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(ctx.seed + 7919 * s + 1))
        y_shuffled = y[perm]
        pair = {"seed": ctx.seed + s}
        for name, labels in (("true", y), ("shuffled", y_shuffled)):
            ctx.say(f"label shuffle: {name} labels" + (f" (seed {s + 1})" if b.seeds > 1 else ""))
            pair[name] = train_run(ctx, scorer, X, labels, Xh, yh, seed_offset=SEED_OFFSET + s)
        pair["labels_unchanged_by_shuffle"] = float((y_shuffled == y).float().mean())
        runs.append(pair)

    return {
        "task": task,
        "metric": scorer.metric,
        "judged": scorer.metric is not None,
        "reason": scorer.reason,
        "train_samples_used": n,
        "train_samples_total": train.total,
        "coverage": n / max(train.total, 1),
        "held_out_source": source,
        "held_out_samples": len(yh),
        "epochs": b.shuffle_epochs,
        "batch_size": ctx.batch_size,
        "seeds": b.seeds,
        "num_classes": ctx.num_classes,
        "chance_train": scorer.chance(y),
        "chance_held_out": scorer.chance(yh),
        "runs": runs,
    }


class Scorer:
    """Accuracy (classification, binary) or R^2 against the training-label mean (regression)."""

    def __init__(self, ctx: ProbeContext, task: str, y_train: torch.Tensor) -> None:
        self.ctx, self.task = ctx, task
        self.center = y_train.double().mean(0) if task == "regression" else None
        out = ctx.output_shape
        self.reason = None
        if task == "regression":
            self.metric = "r2" if math.prod(out[1:]) == math.prod(y_train.shape[1:]) else None
            if self.metric is None:
                self.reason = f"model outputs {list(out[1:])} do not match targets"
        elif task == "classification" and (len(out) < 2 or out[2:] != tuple(y_train.shape[1:])):
            self.metric, self.reason = None, f"model outputs {list(out[1:])} are not class scores"
        else:
            self.metric = "accuracy"

    def chance(self, y: torch.Tensor) -> float | None:
        """Score of the best label-independent constant: the majority-class rate, or 0 for R^2."""
        if self.metric == "r2":
            return 0.0
        return self.ctx.chance_accuracy(y) if self.metric else None

    def score(self, out: torch.Tensor, y: torch.Tensor) -> float | None:
        if self.metric == "r2":
            return r2(out, y, self.center)
        return batch_fit(self.task, out, y) if self.metric else None

    def parts(self, out: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        """Additive pieces of the score over batches: (correct, count) for accuracy,
        (squared error, squared deviation from the training mean) for R^2."""
        if self.metric == "r2":
            o, t = out.reshape(y.shape).double(), y.double()
            return float(((t - o) ** 2).sum()), float(((t - self.center) ** 2).sum())
        s = self.score(out, y)
        return (s * len(y), len(y)) if s is not None else (math.nan, len(y))

    def combine(self, num: float, den: float) -> float | None:
        if self.metric is None or den <= 0:
            return None
        return 1.0 - num / den if self.metric == "r2" else num / den

    @torch.no_grad()
    def evaluate(self, model, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float | None]:
        """Mean loss and score on (X, y) in eval mode."""
        model.eval()
        outs, total = [], 0.0
        for i in range(0, len(y), 512):
            xb, yb = X[i : i + 512].to(self.ctx.device), y[i : i + 512].to(self.ctx.device)
            out = self.ctx.forward(model, xb)
            total += float(self.ctx.loss_fn(out, yb)) * len(yb)
            outs.append(out.cpu())
        model.train()
        return total / max(len(y), 1), self.score(torch.cat(outs), y)


def train_run(ctx, scorer: Scorer, X, y, Xh, yh, seed_offset: int) -> dict[str, Any]:
    """One short training on (X, y); per-epoch curves on the training labels and held-out."""
    model = ctx.new_model(seed_offset)
    optimizer = ctx.new_optimizer(model)
    h_loss0, h_score0 = scorer.evaluate(model, Xh, yh)
    curves: dict[str, list] = {k: [] for k in ("train_loss", "train_score", "held_out_loss",
                                               "held_out_score")}
    diverged = False
    for epoch in range(ctx.budget.shuffle_epochs):
        model.train()
        loss_sum, seen, num, den = 0.0, 0, 0.0, 0.0
        for xb, yb in ctx.batches(X, y, ctx.batch_size, ctx.seed + seed_offset + epoch):
            optimizer.zero_grad(set_to_none=True)
            out = ctx.forward(model, xb)
            loss = ctx.loss_fn(out, yb)
            value = float(loss.detach())
            if not math.isfinite(value):
                diverged = True
                break
            loss.backward()
            optimizer.step()
            if scorer.metric is not None:
                a, c = scorer.parts(out.detach(), yb)
                num, den = num + a, den + c
            loss_sum += value * len(yb)
            seen += len(yb)
        if diverged:
            break
        h_loss, h_score = scorer.evaluate(model, Xh, yh)
        curves["train_loss"].append(loss_sum / seen)
        curves["train_score"].append(_num(scorer.combine(num, den)))
        curves["held_out_loss"].append(_num(h_loss))
        curves["held_out_score"].append(_num(h_score))
    fit_loss, fit_score = scorer.evaluate(model, X, y) if not diverged else (math.nan, None)
    return {
        "diverged": diverged,
        "epochs_run": len(curves["train_loss"]),
        "held_out_loss_at_init": _num(h_loss0),
        "held_out_score_at_init": _num(h_score0),
        **curves,
        "final_train_loss": _num(fit_loss),
        "final_train_score": _num(fit_score),  # eval mode, on the labels it was trained on
        "final_held_out_score": curves["held_out_score"][-1] if curves["held_out_score"] else None,
    }


def _num(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)
