"""ProbeContext: everything the active experiments share, built once from a Spec.

It turns the user's data into tensors (never modifying them), infers the task and loss, builds
fresh seeded models and optimizers, and offers the small training/evaluation loops the probes
use. Only `probes/` imports torch.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from overfit_doctor.errors import InputError
from overfit_doctor.spec import Spec


@dataclass(frozen=True)
class Budget:
    """How much work each experiment may do (`--budget quick|standard|thorough`)."""

    name: str
    max_samples: int  # per split, for data checks and experiments
    small_batch: int  # samples in the overfit-a-small-batch test
    small_batch_steps: int
    shuffle_samples: int  # training samples of the label-randomization runs
    shuffle_epochs: int
    seeds: int  # repeats of the randomized experiments
    grad_samples: int  # batch of the gradient check
    grad_directions: int  # random directions of the gradient check
    flow_steps: int  # training steps between the two gradient-flow snapshots
    activation_samples: int


BUDGETS = {
    "quick": Budget("quick", 2000, 16, 200, 512, 12, 1, 4, 3, 10, 256),
    "standard": Budget("standard", 10000, 32, 400, 1024, 20, 1, 8, 6, 25, 512),
    "thorough": Budget("thorough", 50000, 64, 1000, 4096, 40, 3, 16, 12, 50, 2048),
}


@dataclass
class Split:
    """One split as tensors (a capped, seeded sample when the data are larger)."""

    X: torch.Tensor
    y: torch.Tensor
    total: int  # samples in the user's data (before capping)
    kind: str  # "tensors", "dataset" or "dataloader"

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class ProbeContext:
    spec: Spec
    budget: Budget
    seed: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    progress: Callable[[str], None] | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    # --- construction ------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        spec: Spec,
        budget: str = "standard",
        seed: int = 0,
        device: str = "auto",
        progress: Callable[[str], None] | None = None,
    ) -> ProbeContext:
        if budget not in BUDGETS:
            raise InputError(f"unknown budget {budget!r} (quick, standard, thorough)")
        ctx = cls(spec, BUDGETS[budget], seed, _device(device), progress)
        ctx.train  # noqa: B018 - materialize now so bad data fails early, with a clear message
        ctx.output_shape  # noqa: B018 - and a model that crashes on a batch
        model = ctx.new_model()
        if any(p.requires_grad for p in model.parameters()):
            ctx.new_optimizer(model)  # the first optimizer imports a lot: pay it while loading
        return ctx

    @contextmanager
    def threads(self) -> Iterator[None]:
        """One CPU thread for small models (faster: less synchronization on tiny matrices),
        restored afterwards."""
        before = torch.get_num_threads()
        small = sum(p.numel() for p in self.new_model().parameters()) < 1_000_000
        if small and self.device.type == "cpu":
            torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    def say(self, what: str) -> None:
        if self.progress is not None:
            self.progress(what)

    # --- data --------------------------------------------------------------------------
    @property
    def train(self) -> Split:
        if "train" not in self.cache:
            self.cache["train"] = to_split(
                self.spec.train, "train", self.budget.max_samples, self.seed
            )
        return self.cache["train"]

    @property
    def val(self) -> Split | None:
        if "val" not in self.cache:
            self.cache["val"] = (
                None
                if self.spec.val is None
                else to_split(self.spec.val, "val", self.budget.max_samples, self.seed)
            )
        return self.cache["val"]

    @property
    def batch_size(self) -> int:
        loader_bs = getattr(self.spec.train, "batch_size", None)
        return (
            int(loader_bs) if isinstance(loader_bs, int) and loader_bs > 0 else self.spec.batch_size
        )

    # --- task and loss -----------------------------------------------------------------
    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of the model's output on a small batch (also proves the model runs)."""
        if "output_shape" not in self.cache:
            model = self.new_model()
            model.eval()
            with torch.no_grad():
                out = self.forward(model, self.train.X[: min(8, len(self.train))])
            self.cache["output_shape"] = tuple(out.shape)
        return self.cache["output_shape"]

    @property
    def task(self) -> str:
        """`classification` (class indices), `binary` (0/1 targets, one output) or
        `regression`."""
        y = self.train.y
        if not torch.is_floating_point(y):
            return "classification"
        out = self.output_shape
        if (len(out) == 1 or out[-1] == 1) and bool(((y == 0) | (y == 1)).all()):
            return "binary"
        return "regression"

    @property
    def num_classes(self) -> int | None:
        if self.task == "classification":
            return int(self.train.y.max().item()) + 1
        return 2 if self.task == "binary" else None

    @property
    def loss_fn(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        if "loss_fn" not in self.cache:
            self.cache["loss_fn"] = self._make_loss()
        return self.cache["loss_fn"]

    @property
    def loss_name(self) -> str:
        self.loss_fn  # noqa: B018
        return self.cache["loss_name"]

    def _make_loss(self):
        loss = self.spec.loss
        if loss is None:
            loss = {
                "classification": nn.CrossEntropyLoss,
                "binary": nn.BCEWithLogitsLoss,
                "regression": nn.MSELoss,
            }[self.task]()
            self.cache["loss_inferred"] = True
        elif isinstance(loss, type) and issubclass(loss, nn.Module):
            loss = loss()
        self.cache.setdefault("loss_inferred", False)
        self.cache["loss_name"] = (
            type(loss).__name__
            if isinstance(loss, nn.Module)
            else getattr(loss, "__name__", type(loss).__name__)
        )

        def call(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            if (
                torch.is_floating_point(target)
                and output.shape != target.shape
                and output.numel() == target.numel()
            ):
                target = target.reshape(output.shape)  # (N,) targets for (N, 1) outputs
            if isinstance(
                loss,
                (
                    nn.BCEWithLogitsLoss,
                    nn.BCELoss,
                    nn.MSELoss,
                    nn.L1Loss,
                    nn.SmoothL1Loss,
                    nn.HuberLoss,
                ),
            ):
                target = target.to(output.dtype)
            return loss(output, target)

        return call

    # --- models ------------------------------------------------------------------------
    def new_model(self, seed_offset: int = 0) -> nn.Module:
        """A fresh model from the user's factory, seeded, on the probe device."""
        torch.manual_seed(self.seed + seed_offset)
        try:
            # A copy, in case the factory hands back a shared instance: never train the user's.
            model = copy.deepcopy(self.spec.model())
        except Exception as exc:
            raise InputError(f"the model factory raised {type(exc).__name__}: {exc}") from None
        if not isinstance(model, nn.Module):
            raise InputError(
                f"the model factory returned a {type(model).__name__}, expected a torch.nn.Module"
            )
        return model.to(self.device)

    def forward(self, model: nn.Module, X: torch.Tensor) -> torch.Tensor:
        try:
            out = model(X.to(self.device))
        except Exception as exc:
            raise InputError(
                f"the model crashed on a batch of shape {tuple(X.shape)}: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        if not isinstance(out, torch.Tensor):
            if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
                return out[0]
            if hasattr(out, "logits"):
                return out.logits
            raise InputError(f"the model returned a {type(out).__name__}; expected a tensor")
        return out

    def new_optimizer(self, model: nn.Module, *, no_weight_decay: bool = False):
        factory = self.spec.optimizer or (lambda p: torch.optim.Adam(p, lr=1e-3))
        try:
            opt = factory(model.parameters())
        except Exception as exc:
            raise InputError(f"the optimizer factory raised {type(exc).__name__}: {exc}") from None
        if no_weight_decay:
            for group in opt.param_groups:
                if "weight_decay" in group:
                    group["weight_decay"] = 0.0
        return opt

    # --- loops -------------------------------------------------------------------------
    def batches(
        self, X: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int, epochs: int = 1
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        g = torch.Generator().manual_seed(seed)
        n = len(y)
        for _ in range(epochs):
            order = torch.randperm(n, generator=g)
            for i in range(0, n, batch_size):
                idx = order[i : i + batch_size]
                yield X[idx].to(self.device), y[idx].to(self.device)

    def train_steps(self, model: nn.Module, optimizer, batches) -> list[float]:
        """Plain training loop; returns the loss of every step (NaN stops it)."""
        model.train()
        losses = []
        for xb, yb in batches:
            optimizer.zero_grad(set_to_none=True)
            loss = self.loss_fn(self.forward(model, xb), yb)
            value = float(loss.detach())
            losses.append(value)
            if not math.isfinite(value):
                break
            loss.backward()
            optimizer.step()
        return losses

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int = 512
    ) -> dict[str, float]:
        """Mean loss, and accuracy for classification tasks, in eval mode."""
        model.eval()
        total, correct, n = 0.0, 0, 0
        for i in range(0, len(y), batch_size):
            xb, yb = X[i : i + batch_size].to(self.device), y[i : i + batch_size].to(self.device)
            out = self.forward(model, xb)
            total += float(self.loss_fn(out, yb)) * len(yb)
            if self.task == "classification" and out.dim() == 2:
                correct += int((out.argmax(1) == yb).sum())
            elif self.task == "binary":
                correct += int(((out.reshape(-1) > 0).float() == yb.reshape(-1).float()).sum())
            n += len(yb)
        result = {"loss": total / max(n, 1)}
        if self.task in ("classification", "binary"):
            result["accuracy"] = correct / max(n, 1)
        return result

    def chance_accuracy(self, y: torch.Tensor | None = None) -> float | None:
        """Accuracy of always predicting the most frequent training class."""
        if self.task not in ("classification", "binary"):
            return None
        y = self.train.y if y is None else y
        _, counts = torch.unique(y, return_counts=True)
        return float(counts.max()) / len(y)


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available")
    if name not in ("cpu", "cuda"):
        raise InputError(f"unknown device {name!r} (auto, cpu, cuda)")
    return torch.device(name)


def to_split(data: Any, name: str, max_samples: int, seed: int) -> Split:
    """Tensors from `(X, y)`, a Dataset or a DataLoader, copied (never the user's storage)."""
    try:
        if isinstance(data, (tuple, list)) and len(data) == 2:
            X, y = _tensor(data[0]), _tensor(data[1])
            kind, total = "tensors", len(y)
            if len(X) != len(y):
                raise InputError(f"{name}: X has {len(X)} rows but y has {len(y)}")
            if total > max_samples:
                idx = torch.randperm(total, generator=torch.Generator().manual_seed(seed))
                X, y = X[idx[:max_samples]], y[idx[:max_samples]]
            return Split(X.clone(), y.clone(), total, kind)
        if isinstance(data, torch.utils.data.DataLoader):
            xs, ys, n = [], [], 0
            for batch in data:
                xb, yb = _pair(batch, name)
                xs.append(_tensor(xb))
                ys.append(_tensor(yb))
                n += len(ys[-1])
                if n >= max_samples:
                    break
            total = len(data.dataset) if hasattr(data.dataset, "__len__") else n
            return Split(
                torch.cat(xs)[:max_samples].clone(),
                torch.cat(ys)[:max_samples].clone(),
                total,
                "dataloader",
            )
        if isinstance(data, torch.utils.data.Dataset):
            total = len(data)
            idx = range(total)
            if total > max_samples:
                perm = torch.randperm(total, generator=torch.Generator().manual_seed(seed))
                idx = perm[:max_samples].tolist()
            pairs = [_pair(data[i], name) for i in idx]
            X = torch.stack([_tensor(p[0]) for p in pairs])
            y = torch.stack([_tensor(p[1]) for p in pairs])
            return Split(X, y, total, "dataset")
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{name} data could not be read: {type(exc).__name__}: {exc}") from None
    raise InputError(
        f"{name} data must be (X, y), a Dataset or a DataLoader; got {type(data).__name__}"
    )


def _pair(batch: Any, name: str) -> tuple[Any, Any]:
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return batch[0], batch[1]
    if isinstance(batch, dict):
        x = next((batch[k] for k in ("x", "input", "inputs", "features") if k in batch), None)
        y = next(
            (batch[k] for k in ("y", "label", "labels", "target", "targets") if k in batch), None
        )
        if x is not None and y is not None:
            return x, y
    raise InputError(f"{name} data: each item must be an (input, target) pair")


def _tensor(a: Any) -> torch.Tensor:
    t = a.detach().cpu() if isinstance(a, torch.Tensor) else torch.as_tensor(a)
    if t.dtype == torch.float64:
        t = t.float()
    return t
