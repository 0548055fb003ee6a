"""Label randomization test (Zhang et al. 2017): the same short training twice, from the same
initial weights and in the same batch order, once with the true training labels and once with
a fixed random permutation of them. Both runs are scored every epoch on their own training
labels and on held-out data with its true labels.

What the comparison tells (judged in `checks/memorization.py`):
- real labels do no better on held-out data than chance: the labels cannot be learned from the
  inputs (a pipeline that misaligns inputs and labels), or nothing transfers to held-out data;
- shuffled labels are fitted about as fast as real ones: the model memorizes whatever it is
  given;
- shuffled-label training still predicts held-out labels above chance: the held-out labels are
  predictable without the training labels (leakage).

Classification is scored by balanced accuracy (mean per-class recall; chance = 1/K for any
predictor that ignores the input, whatever the class balance) and plain accuracy; regression
targets are shuffled the same way and scored by R^2 against the training mean (chance 0)."""

from __future__ import annotations

import math
from typing import Any

import torch

from overfit_doctor.probes.context import ProbeContext
from overfit_doctor.probes.small_batch import loss_problem, outputs_are_values

SEED_OFFSET = 202
HELD_OUT_MAX = 1000  # held-out samples scored each epoch (binomial SE <= 1.6 points)
HOLDOUT_SHARE = 0.25  # of the training data, when there is no validation split
EVAL_BATCH = 512
MAX_EPOCH_FACTOR = 2  # small training sets get up to 2x the budget's epochs (same sample passes)


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
    if n < 2 or len(yh) < 1:
        return {"judged": False, "reason": f"too few samples ({len(train)} training)"}
    X, y = train.X[pool[:n]], train.y[pool[:n]]
    scorer = Scorer(ctx, y)
    epochs = run_epochs(b.shuffle_samples, b.shuffle_epochs, n)
    probe_model = ctx.new_model(SEED_OFFSET)
    problem = loss_problem(ctx, probe_model, X[: ctx.batch_size], y[: ctx.batch_size])
    if problem is None:  # the held-out targets too (a class the outputs cannot score)
        problem = loss_problem(ctx, probe_model, Xh, yh)
    if problem is not None:
        return {"model_class": type(probe_model).__name__, "judged": False, "reason": problem}

    runs = []
    for s in range(b.seeds):
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(ctx.seed + 7919 * s + 1))
        y_shuffled = y[perm]
        pair: dict[str, Any] = {"seed": ctx.seed + s}
        for name, labels in (("true", y), ("shuffled", y_shuffled)):
            ctx.say(f"label shuffle: {name} labels" + (f" (seed {s + 1})" if b.seeds > 1 else ""))
            pair[name] = train_run(
                ctx,
                scorer,
                X,
                labels,
                Xh,
                yh,
                SEED_OFFSET + s,
                epochs,
                eval_every=math.ceil(epochs / b.shuffle_epochs),
            )
        pair["labels_unchanged_by_shuffle"] = _unchanged(y, y_shuffled)
        runs.append(pair)

    return {
        "model_class": runs[0]["true"]["model_class"] if runs else None,
        "task": ctx.task,
        "metric": scorer.metric,
        "judged": scorer.metric is not None,
        "reason": scorer.reason,
        "train_samples_used": n,
        "train_samples_total": train.total,
        "coverage": n / max(train.total, 1),
        "held_out_source": source,
        "held_out_samples": len(yh),
        "epochs": epochs,
        "budget_epochs": b.shuffle_epochs,
        "batch_size": ctx.batch_size,
        "seeds": b.seeds,
        "num_classes": scorer.k,
        "train_class_counts": scorer.class_counts(y),
        "held_out_class_counts": scorer.class_counts(yh),
        "chance_train": scorer.chance(y),
        "chance_held_out": scorer.chance(yh),
        "majority_rate_held_out": ctx.chance_accuracy(yh) if scorer.k else None,
        "runs": runs,
    }


def run_epochs(budget_samples: int, budget_epochs: int, n: int) -> int:
    """Epochs of each run: the budget's sample passes (samples x epochs) spread over the
    training samples actually used, so a small training set gets more epochs (random labels
    need many steps to be memorized), between the budget's epochs and MAX_EPOCH_FACTOR times
    them."""
    passes = budget_samples * budget_epochs
    return max(budget_epochs, min(MAX_EPOCH_FACTOR * budget_epochs, passes // max(n, 1)))


class Scorer:
    """Balanced accuracy and accuracy (classification, binary) or R^2 against the training-label
    mean (regression), accumulated over batches."""

    def __init__(self, ctx: ProbeContext, y_train: torch.Tensor) -> None:
        self.ctx, self.task = ctx, ctx.task
        out = ctx.output_shape
        self.k: int | None = None
        self.reason: str | None = None
        self.center = None
        if self.task == "regression":
            self.metric = "r2" if math.prod(out[1:]) == math.prod(y_train.shape[1:]) else None
            self.center = y_train.double().mean(0)
            if self.metric is None:
                self.reason = f"model outputs {list(out[1:])} do not match the targets"
            elif not outputs_are_values(ctx.spec.loss):
                self.metric = None
                self.reason = (
                    f"float targets with {ctx.loss_name} (multi-label or soft "
                    f"labels): the outputs are not scored"
                )
        elif self.task == "binary":
            self.metric, self.k = "balanced_accuracy", 2
        elif len(out) >= 2 and tuple(out[2:]) == tuple(y_train.shape[1:]):
            self.metric, self.k = "balanced_accuracy", max(int(out[1]), ctx.num_classes or 0)
        else:
            self.metric = None
            self.reason = f"model outputs {list(out[1:])} are not class scores for these targets"

    def _labels(self, out: torch.Tensor | None, y: torch.Tensor):
        """(predicted, true) class indices, flattened, restricted to valid targets."""
        t = y.reshape(-1).long() if self.task != "binary" else y.reshape(-1).round().long()
        if out is None:
            p = None
        elif self.task == "binary":
            p = (out.reshape(-1) > 0).long()
        else:
            p = out.argmax(1).reshape(-1)
        valid = (t >= 0) & (t < self.k)
        return (None if p is None else p[valid]), t[valid]

    def class_counts(self, y: torch.Tensor) -> list[int] | None:
        if self.k is None:
            return None
        _, t = self._labels(None, y)
        return torch.bincount(t, minlength=self.k).tolist()

    def chance(self, y: torch.Tensor) -> float | None:
        """Expected score of any predictor that ignores the input: 1/K for balanced accuracy
        (K = classes present), 0 for R^2."""
        if self.metric == "r2":
            return 0.0
        if self.k is None:
            return None
        present = sum(1 for c in self.class_counts(y) if c > 0)
        return 1.0 / present if present else None

    def parts(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Additive pieces of the score: per-class correct counts then per-class counts, or
        (squared error, squared deviation from the training mean) for R^2."""
        if self.metric == "r2":
            o, t = out.reshape(y.shape).double().cpu(), y.double().cpu()
            return torch.tensor(
                [float(((t - o) ** 2).sum()), float(((t - self.center) ** 2).sum())]
            )
        p, t = self._labels(out.detach().cpu(), y.cpu())
        correct = torch.bincount(t[p == t], minlength=self.k)
        return torch.cat([correct, torch.bincount(t, minlength=self.k)]).double()

    def combine(self, parts: torch.Tensor | None) -> tuple[float | None, float | None]:
        """(score, plain accuracy) from summed parts."""
        if parts is None or self.metric is None:
            return None, None
        if self.metric == "r2":
            sse, sst = float(parts[0]), float(parts[1])
            return (1.0 - sse / sst if sst > 0 else None), None
        correct, counts = parts[: self.k], parts[self.k :]
        present = counts > 0
        if not bool(present.any()):
            return None, None
        balanced = float((correct[present] / counts[present]).mean())
        return balanced, float(correct.sum() / counts.sum())

    @torch.no_grad()
    def evaluate(self, model, X: torch.Tensor, y: torch.Tensor) -> dict[str, float | None]:
        """Mean loss, score and accuracy on (X, y) in eval mode."""
        model.eval()
        total, parts = 0.0, None
        for i in range(0, len(y), EVAL_BATCH):
            xb = X[i : i + EVAL_BATCH].to(self.ctx.device)
            yb = y[i : i + EVAL_BATCH].to(self.ctx.device)
            out = self.ctx.forward(model, xb)
            total += float(self.ctx.loss_fn(out, yb)) * len(yb)
            if self.metric is not None:
                piece = self.parts(out, yb)
                parts = piece if parts is None else parts + piece
        model.train()
        score, acc = self.combine(parts)
        return {"loss": _num(total / max(len(y), 1)), "score": _num(score), "accuracy": _num(acc)}


def train_run(
    ctx, scorer: Scorer, X, y, Xh, yh, seed_offset: int, epochs: int, eval_every: int = 1
) -> dict[str, Any]:
    """One short training on (X, y); per-epoch curves on its training labels and, every
    `eval_every` epochs and at the last one, on held-out data (None in between)."""
    model = ctx.new_model(seed_offset)
    optimizer = ctx.new_optimizer(model)
    held0, train0 = scorer.evaluate(model, Xh, yh), scorer.evaluate(model, X, y)
    names = (
        "train_loss",
        "train_score",
        "train_accuracy",
        "held_out_loss",
        "held_out_score",
        "held_out_accuracy",
    )
    curves: dict[str, list] = {k: [] for k in names}
    diverged = False
    for epoch in range(epochs):
        model.train()
        loss_sum, seen, parts = 0.0, 0, None
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
                piece = scorer.parts(out.detach(), yb)
                parts = piece if parts is None else parts + piece
            loss_sum += value * len(yb)
            seen += len(yb)
        if diverged:
            break
        score, acc = scorer.combine(parts)
        if (epoch + 1) % eval_every == 0 or epoch == epochs - 1:
            held = scorer.evaluate(model, Xh, yh)
        else:
            held = {"loss": None, "score": None, "accuracy": None}
        curves["train_loss"].append(_num(loss_sum / max(seen, 1)))
        curves["train_score"].append(_num(score))
        curves["train_accuracy"].append(_num(acc))
        curves["held_out_loss"].append(held["loss"])
        curves["held_out_score"].append(held["score"])
        curves["held_out_accuracy"].append(held["accuracy"])
    fit = scorer.evaluate(model, X, y) if not diverged else {"loss": None, "score": None}
    return {
        "model_class": type(model).__name__,
        "diverged": diverged,
        "epochs_run": len(curves["train_loss"]),
        "train_loss_at_init": train0["loss"],
        "train_score_at_init": train0["score"],
        "held_out_loss_at_init": held0["loss"],
        "held_out_score_at_init": held0["score"],
        **curves,  # train_*: running means over each epoch's steps, in train mode
        "final_train_loss": fit["loss"],
        "final_train_score": fit["score"],  # eval mode, on the labels it was trained on
        "final_held_out_score": next(
            (v for v in reversed(curves["held_out_score"]) if v is not None), None
        ),
    }


def _unchanged(y: torch.Tensor, y_shuffled: torch.Tensor) -> float:
    same = (y == y_shuffled).reshape(len(y), -1).all(1) if y.dim() > 1 else y == y_shuffled
    return float(same.float().mean())


def _num(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)
