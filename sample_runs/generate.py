"""Generate the bundled sample runs from real, small, seeded trainings.

Every log is written by the framework's own logger (Keras `CSVLogger`, Lightning `CSVLogger`,
`torch.utils.tensorboard.SummaryWriter`), never by hand. Each run's scenario label comes from
how it was trained, and an independent sanity check of the logged numbers (simple statistics
computed here, not overfit-doctor's detectors) must pass before the run is kept.

Usage: `.venv/bin/python sample_runs/generate.py [--only NAME] [--out DIR]`

This module is also the small training library of `tests/fixtures/trainings/generate.py`.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

os.environ["KERAS_BACKEND"] = "torch"  # the venv has no TensorFlow; Keras 3 runs on torch

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_diabetes, load_digits
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
Format = Literal["keras_csv", "lightning_csv", "tensorboard"]
NUM_THREADS = 2


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class DataSpec:
    """Which data a run trains on."""

    dataset: Literal["digits", "diabetes"] = "digits"
    n_train: int | None = None  # None: the full 70 % train split
    n_val: int | None = None  # None: all of the held-out 30 %
    shuffle_labels: bool = False  # permute the training labels (a pipeline bug)
    scale_target: bool = True  # diabetes only: standardize y


@dataclass(frozen=True)
class Split:
    """Arrays of one train/validation split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


def load_split(spec: DataSpec, seed: int) -> Split:
    """Split a bundled sklearn dataset; sizes, shuffling and scaling follow `spec`."""
    if spec.dataset == "digits":
        x, y = load_digits(return_X_y=True)
        x, y = (x / 16.0).astype("float32"), y.astype("int64")
        strat: np.ndarray | None = y
    else:
        x, y = load_diabetes(return_X_y=True)
        x, y = x.astype("float32"), y.astype("float32")
        strat = None
    x_tr, x_va, y_tr, y_va = train_test_split(
        x, y, test_size=0.3, random_state=seed, stratify=strat
    )
    if spec.n_train is not None:
        x_tr, y_tr = x_tr[: spec.n_train], y_tr[: spec.n_train]
    if spec.n_val is not None:
        x_va, y_va = x_va[: spec.n_val], y_va[: spec.n_val]
    if spec.dataset == "diabetes":
        mean, std = x_tr.mean(0), x_tr.std(0)
        x_tr, x_va = (x_tr - mean) / std, (x_va - mean) / std
        if spec.scale_target:
            y_mean, y_std = y_tr.mean(), y_tr.std()
            y_tr, y_va = (y_tr - y_mean) / y_std, (y_va - y_mean) / y_std
        y_tr, y_va = y_tr.reshape(-1, 1), y_va.reshape(-1, 1)
    if spec.shuffle_labels:
        y_tr = np.random.default_rng(seed).permutation(y_tr)
    return Split(*(np.ascontiguousarray(a) for a in (x_tr, y_tr, x_va, y_va)))


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class ModelSpec:
    """A plain MLP: hidden layers, optional dropout and Gaussian input noise."""

    hidden: tuple[int, ...] = (256, 256)
    activation: Literal["relu", "tanh", "linear"] = "relu"
    dropout: float = 0.0
    input_noise: float = 0.0
    n_out: int = 10
    task: Literal["classification", "regression"] = "classification"


@dataclass(frozen=True)
class TrainSpec:
    """Optimizer and loop settings."""

    optimizer: Literal["sgd", "adam", "adamw"] = "adam"
    lr: float = 1e-3
    epochs: int = 30
    batch_size: int = 32  # 0: full batch
    momentum: float = 0.0
    weight_decay: float = 0.0
    cosine: bool = False  # cosine-anneal the LR to 0 over `epochs`
    lr_growth: float = 1.0  # multiply the LR by this every epoch (a runaway warm-up)
    validate: bool = True
    terminate_on_nan: bool = False  # Keras only


@dataclass(frozen=True)
class RunSpec:
    """One kind of training and the sanity check its logs must pass."""

    name: str
    fmt: Format
    setup: str
    check: str  # key of CHECKS
    data: DataSpec = field(default_factory=DataSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    log_every_n_steps: int = 5  # Lightning only


# --------------------------------------------------------------------------- curves


@dataclass
class Curves:
    """Per-epoch numbers read back from a written log."""

    train_loss: np.ndarray
    val_loss: np.ndarray | None = None
    train_acc: np.ndarray | None = None
    val_acc: np.ndarray | None = None


def _cells(df: pd.DataFrame, name: str, missing: tuple[str, ...]) -> np.ndarray | None:
    """Floats of a column read as text; `missing` cells (not logged) become NaN.

    A column whose every cell is missing counts as absent. Written `nan`/`inf` stay as they are.
    """
    if name not in df.columns:
        return None
    text = df[name].astype(str).str.strip()
    absent = text.isin(missing)
    if absent.all():
        return None
    return np.where(absent, "nan", text).astype(float)


def read_keras_csv(path: Path) -> Curves:
    """Read a Keras CSVLogger file (it writes `NA` cells when there is no validation)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    train = _cells(df, "loss", ("NA", ""))
    assert train is not None, f"{path}: no loss column"
    return Curves(
        train,
        _cells(df, "val_loss", ("NA", "")),
        _cells(df, "accuracy", ("NA", "")),
        _cells(df, "val_accuracy", ("NA", "")),
    )


def _per_epoch(df: pd.DataFrame, name: str) -> np.ndarray | None:
    """One value per epoch of a Lightning column (empty cells are rows of other metrics)."""
    if name not in df.columns:
        return None
    rows = df[df[name].str.strip() != ""]
    if rows.empty:
        return None
    return rows.groupby(rows["epoch"].astype(int))[name].last().astype(float).to_numpy()


def read_lightning_csv(path: Path) -> Curves:
    """Read the epoch-level curves of a Lightning CSVLogger `metrics.csv`."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    train = _per_epoch(df, "train_loss_epoch")
    assert train is not None, f"{path}: no train_loss_epoch column"
    return Curves(
        train,
        _per_epoch(df, "val_loss"),
        _per_epoch(df, "train_acc"),
        _per_epoch(df, "val_acc"),
    )


def read_tensorboard(log_dir: Path) -> Curves:
    """Read the `Loss/*` and `Accuracy/*` scalars of a SummaryWriter run."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])

    def scalars(tag: str) -> np.ndarray | None:
        if tag not in tags:
            return None
        events = sorted(acc.Scalars(tag), key=lambda e: e.step)
        return np.array([e.value for e in events], dtype=float)

    train = scalars("Loss/train")
    assert train is not None, f"{log_dir}: no Loss/train scalars"
    return Curves(
        train,
        scalars("Loss/val"),
        scalars("Accuracy/train"),
        scalars("Accuracy/val"),
    )


# --------------------------------------------------------------------------- torch pieces


class GaussianNoise(torch.nn.Module):
    """Add N(0, std^2) noise to the inputs while training (like keras.layers.GaussianNoise)."""

    def __init__(self, std: float) -> None:
        super().__init__()
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.std * torch.randn_like(x) if self.training else x


def torch_mlp(spec: ModelSpec, n_in: int) -> torch.nn.Sequential:
    """The torch version of `spec` (used by the Lightning and SummaryWriter runs)."""
    layers: list[torch.nn.Module] = [GaussianNoise(spec.input_noise)] if spec.input_noise else []
    width = n_in
    for units in spec.hidden:
        layers.append(torch.nn.Linear(width, units))
        if spec.activation != "linear":
            layers.append(torch.nn.ReLU() if spec.activation == "relu" else torch.nn.Tanh())
        if spec.dropout:
            layers.append(torch.nn.Dropout(spec.dropout))
        width = units
    layers.append(torch.nn.Linear(width, spec.n_out))
    return torch.nn.Sequential(*layers)


def torch_optimizer(
    params: Any, spec: TrainSpec
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None]:
    """Optimizer and optional per-epoch LR scheduler for `spec`."""
    if spec.optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(
            params, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay
        )
    elif spec.optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay)
    else:
        opt = torch.optim.Adam(params, lr=spec.lr, weight_decay=spec.weight_decay)
    sched: torch.optim.lr_scheduler.LRScheduler | None = None
    if spec.cosine:
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=spec.epochs)
    elif spec.lr_growth != 1.0:
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=spec.lr_growth)
    return opt, sched


def _loss_and_hits(
    out: torch.Tensor, target: torch.Tensor, task: str
) -> tuple[torch.Tensor, torch.Tensor | None]:
    if task == "regression":
        return torch.nn.functional.mse_loss(out, target), None
    return torch.nn.functional.cross_entropy(out, target), (out.argmax(1) == target).float()


def _batch_size(spec: TrainSpec, n: int) -> int:
    return spec.batch_size or n


# --------------------------------------------------------------------------- Keras


def _keras_model(spec: ModelSpec, n_in: int) -> Any:
    import keras

    layers: list[Any] = [keras.Input((n_in,))]
    if spec.input_noise:
        layers.append(keras.layers.GaussianNoise(spec.input_noise))
    for units in spec.hidden:
        act = None if spec.activation == "linear" else spec.activation
        layers.append(keras.layers.Dense(units, activation=act))
        if spec.dropout:
            layers.append(keras.layers.Dropout(spec.dropout))
    layers.append(keras.layers.Dense(spec.n_out))  # logits
    return keras.Sequential(layers)


def _keras_optimizer(spec: TrainSpec, steps_per_epoch: int) -> Any:
    import keras

    lr: Any = spec.lr
    if spec.cosine:
        lr = keras.optimizers.schedules.CosineDecay(spec.lr, spec.epochs * steps_per_epoch)
    if spec.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=spec.momentum)
    if spec.optimizer == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=spec.weight_decay)
    return keras.optimizers.Adam(lr)


def train_keras(run: RunSpec, split: Split, seed: int, out: Path) -> Path:
    """Fit a Keras model; its CSVLogger writes `out/training.log`."""
    import keras

    keras.utils.set_random_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "training.log"
    model = _keras_model(run.model, split.n_features)
    bs = _batch_size(run.train, len(split.x_train))
    if run.model.task == "classification":
        loss: Any = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics = ["accuracy"]
    else:
        loss, metrics = "mse", ["mae"]
    model.compile(
        optimizer=_keras_optimizer(run.train, math.ceil(len(split.x_train) / bs)),
        loss=loss,
        metrics=metrics,
    )
    callbacks: list[Any] = []
    if run.train.lr_growth != 1.0:  # before CSVLogger, so the log gets a learning_rate column
        base, growth = run.train.lr, run.train.lr_growth
        callbacks.append(keras.callbacks.LearningRateScheduler(lambda e: base * growth**e))
    if run.train.terminate_on_nan:
        callbacks.append(keras.callbacks.TerminateOnNaN())
    callbacks.append(keras.callbacks.CSVLogger(str(log)))
    model.fit(
        split.x_train,
        split.y_train,
        validation_data=(split.x_val, split.y_val) if run.train.validate else None,
        epochs=run.train.epochs,
        batch_size=bs,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    return log


# --------------------------------------------------------------------------- Lightning


def _lightning_module_class() -> type:
    import lightning as L

    class LitMLP(L.LightningModule):
        """An MLP that logs like most Lightning tutorials do."""

        def __init__(self, model: dict[str, Any], train: dict[str, Any], n_in: int) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.spec = ModelSpec(**{**model, "hidden": tuple(model["hidden"])})
            self.train_spec = TrainSpec(**train)
            self.net = torch_mlp(self.spec, n_in)

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            loss, hits = _loss_and_hits(self.net(x), y, self.spec.task)
            self.log("train_loss", loss, on_step=True, on_epoch=True)
            if hits is not None:
                self.log("train_acc", hits.mean(), on_step=False, on_epoch=True)
            return loss

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            x, y = batch
            loss, hits = _loss_and_hits(self.net(x), y, self.spec.task)
            self.log("val_loss", loss)
            if hits is not None:
                self.log("val_acc", hits.mean())

        def configure_optimizers(self) -> Any:
            opt, sched = torch_optimizer(self.parameters(), self.train_spec)
            return opt if sched is None else {"optimizer": opt, "lr_scheduler": sched}

    return LitMLP


def _quiet_lightning() -> None:
    warnings.filterwarnings("ignore", module="lightning")
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*log_every_n_steps.*")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)


def train_lightning(run: RunSpec, split: Split, seed: int, out: Path) -> Path:
    """Fit a LightningModule; its CSVLogger writes `out/lightning_logs/version_0/metrics.csv`."""
    from dataclasses import asdict

    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    _quiet_lightning()
    L.seed_everything(seed, verbose=False)
    bs = _batch_size(run.train, len(split.x_train))
    train_dl = DataLoader(
        TensorDataset(torch.from_numpy(split.x_train), torch.from_numpy(split.y_train)),
        batch_size=bs,
        shuffle=True,
    )
    val_dl = DataLoader(
        TensorDataset(torch.from_numpy(split.x_val), torch.from_numpy(split.y_val)),
        batch_size=1024,
    )
    logger = L.pytorch.loggers.CSVLogger(str(out), name="lightning_logs", version=0)
    trainer = L.Trainer(
        max_epochs=run.train.epochs,
        logger=logger,
        log_every_n_steps=run.log_every_n_steps,
        accelerator="cpu",
        devices=1,
        deterministic=True,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    model = asdict(run.model) | {"hidden": list(run.model.hidden)}  # plain YAML in hparams
    module = _lightning_module_class()(model, asdict(run.train), split.n_features)
    trainer.fit(module, train_dl, val_dl if run.train.validate else None)
    return out / "lightning_logs" / "version_0" / "metrics.csv"


# --------------------------------------------------------------------------- SummaryWriter


def _torch_epoch(
    net: torch.nn.Module,
    opt: torch.optim.Optimizer,
    split: Split,
    spec: TrainSpec,
    task: str,
    gen: torch.Generator,
) -> tuple[float, float | None]:
    """One pass over the training data; mean loss and running accuracy, as Keras reports."""
    x, y = torch.from_numpy(split.x_train), torch.from_numpy(split.y_train)
    bs = _batch_size(spec, len(x))
    perm = torch.randperm(len(x), generator=gen)
    net.train()
    total, hits = 0.0, 0.0
    for start in range(0, len(x), bs):
        idx = perm[start : start + bs]
        loss, batch_hits = _loss_and_hits(net(x[idx]), y[idx], task)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
        hits += batch_hits.sum().item() if batch_hits is not None else 0.0
    return total / len(x), (hits / len(x) if task == "classification" else None)


@torch.no_grad()
def _torch_eval(net: torch.nn.Module, split: Split, task: str) -> tuple[float, float | None]:
    net.eval()
    loss, hits = _loss_and_hits(
        net(torch.from_numpy(split.x_val)), torch.from_numpy(split.y_val), task
    )
    return loss.item(), (hits.mean().item() if hits is not None else None)


def train_tensorboard(run: RunSpec, split: Split, seed: int, out: Path) -> Path:
    """A plain torch loop logging `Loss/*` and `Accuracy/*` per epoch with SummaryWriter."""
    from torch.utils.tensorboard import SummaryWriter

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = torch_mlp(run.model, split.n_features)
    opt, sched = torch_optimizer(net.parameters(), run.train)
    writer = SummaryWriter(log_dir=str(out))
    for epoch in range(run.train.epochs):
        loss, acc = _torch_epoch(net, opt, split, run.train, run.model.task, gen)
        writer.add_scalar("Loss/train", loss, epoch)
        if acc is not None:
            writer.add_scalar("Accuracy/train", acc, epoch)
        if run.train.validate:
            val_loss, val_acc = _torch_eval(net, split, run.model.task)
            writer.add_scalar("Loss/val", val_loss, epoch)
            if val_acc is not None:
                writer.add_scalar("Accuracy/val", val_acc, epoch)
        if sched is not None:
            sched.step()
    writer.close()
    return out


# --------------------------------------------------------------------------- sanity


def spike_count(
    values: np.ndarray, window: int = 5, ratio: float = 1.5, floor: float = 0.05
) -> int:
    """Epochs whose value is > `ratio` x the median of the previous `window` epochs (and at
    least `floor` above it, so that wiggles of a near-zero loss do not count)."""
    count = 0
    for t in range(window, len(values)):
        med = float(np.median(values[t - window : t]))
        count += int(values[t] > ratio * med and values[t] - med > floor)
    return count


def _r(x: float) -> float:
    return float(f"{x:.4g}") if math.isfinite(x) else x


def curve_stats(c: Curves) -> dict[str, Any]:
    """Simple statistics of the logged numbers (the run's sanity record)."""
    tr = c.train_loss
    finite = tr[np.isfinite(tr)]
    s: dict[str, Any] = {
        "epochs": len(tr),
        "train_first": _r(tr[0]),
        "train_last": _r(tr[-1]),
        "train_min": _r(float(finite.min())) if len(finite) else None,
        "train_max_finite": _r(float(finite.max())) if len(finite) else None,
        "train_nonfinite": int((~np.isfinite(tr)).sum()),
        "first_nonfinite_epoch": int(np.argmax(~np.isfinite(tr)))
        if not np.isfinite(tr).all()
        else None,
        "train_spikes": spike_count(finite),
    }
    if c.val_loss is not None:
        v = c.val_loss
        best = int(np.nanargmin(v)) if np.isfinite(v).any() else 0
        s |= {
            "val_first": _r(v[0]),
            "val_min": _r(float(np.nanmin(v))) if np.isfinite(v).any() else None,
            "best_val_epoch": best,
            "val_last": _r(v[-1]),
            "train_at_best": _r(tr[best]),
            "train_above_val_epochs": int(np.sum(tr > v)),
        }
    if c.train_acc is not None:
        s["train_acc_last"] = _r(c.train_acc[-1])
    if c.val_acc is not None:
        s |= {"val_acc_max": _r(float(np.nanmax(c.val_acc))), "val_acc_last": _r(c.val_acc[-1])}
    return s


def _need(ok: bool, what: str, fails: list[str]) -> None:
    if not ok:
        fails.append(what)


def check_overfit(c: Curves, s: dict[str, Any]) -> list[str]:
    f: list[str] = []
    n, v = s["epochs"], c.val_loss
    _need(v is not None, "has validation", f)
    if v is None:
        return f
    _need(s["best_val_epoch"] <= 0.6 * n, "argmin(val) <= 0.6*epochs", f)
    _need(s["val_last"] >= 1.15 * s["val_min"], "val_last >= 1.15*val_min", f)
    _need(s["train_last"] < s["train_at_best"], "train keeps falling after best val", f)
    tail = v[int(0.8 * n) :]
    _need(float(np.mean(tail)) >= 1.1 * s["val_min"], "last 20% of val >= 1.1*val_min", f)
    return f


def check_healthy(c: Curves, s: dict[str, Any]) -> list[str]:
    f: list[str] = []
    _need(c.val_loss is not None and np.isfinite(c.val_loss).all(), "finite validation", f)
    _need(s.get("val_last", math.inf) <= 1.05 * s.get("val_min", 0), "val_last <= 1.05*val_min", f)
    _need(s["best_val_epoch"] >= 0.5 * s["epochs"], "best val in second half", f)
    _need(s["train_last"] < 0.5 * s["train_first"], "training loss fell", f)
    _need(s.get("val_acc_last", 1.0) >= 0.9, "val accuracy >= 0.9", f)
    return f


def check_val_below_train(c: Curves, s: dict[str, Any]) -> list[str]:
    f = check_healthy(c, s)
    _need(s["train_above_val_epochs"] == s["epochs"], "train loss > val loss every epoch", f)
    return f


def check_still_improving(c: Curves, s: dict[str, Any]) -> list[str]:
    f: list[str] = []
    v = c.val_loss
    assert v is not None
    _need(bool(np.all(np.diff(v[-6:]) < 0)), "val falls on each of the last 5 epochs", f)
    _need(v[-1] < 0.9 * v[-6], "val fell > 10% over the last 5 epochs", f)
    _need(s.get("val_acc_last", 1.0) >= 0.85, "val accuracy >= 0.85 (learning, not stuck)", f)
    return f


def check_not_learning(c: Curves, s: dict[str, Any]) -> list[str]:
    f: list[str] = []
    rel = abs(s["train_last"] - s["train_first"]) / s["train_first"]
    _need(rel < 0.05, "|train_last-train_first|/train_first < 0.05", f)
    _need(s["train_last"] > 2.0, "loss stays near ln(10)", f)
    _need(s.get("val_acc_max", 0.0) < 0.35, "val accuracy near chance", f)
    return f


def check_tiny_capacity(c: Curves, s: dict[str, Any]) -> list[str]:
    f: list[str] = []
    tr = c.train_loss
    _need(s.get("train_acc_last", 1.0) < 0.6, "train accuracy < 0.6", f)
    _need(abs(s["val_last"] - s["train_last"]) / s["train_last"] < 0.15, "val ~ train (<15%)", f)
    _need(abs(tr[-1] - tr[-21]) / tr[-1] < 0.03, "train plateaued (<3% over 20 epochs)", f)
    _need(s["train_last"] < 0.9 * s["train_first"], "learned a little (not stuck)", f)
    return f


def check_diverging_nan(c: Curves, s: dict[str, Any]) -> list[str]:
    return [] if s["train_nonfinite"] > 0 else ["training loss has non-finite values"]


def check_exploding(c: Curves, s: dict[str, Any]) -> list[str]:
    f: list[str] = []
    _need(s["train_nonfinite"] == 0, "all finite", f)
    _need(s["train_last"] >= 100 * s["train_first"], "train_last >= 100*train_first", f)
    _need(s["train_last"] >= 1000 * s["train_min"], "train_last >= 1000*train_min", f)
    return f


def check_spiky(c: Curves, s: dict[str, Any]) -> list[str]:
    f: list[str] = []
    _need(s["train_spikes"] >= 3, "train spikes (>1.5x running median) >= 3", f)
    _need(s["train_nonfinite"] == 0, "all finite", f)
    _need(float(np.median(c.train_loss[-5:])) < 0.5 * s["train_first"], "still learns overall", f)
    return f


def check_shuffled(c: Curves, s: dict[str, Any]) -> list[str]:
    f: list[str] = []
    _need(s.get("val_acc_max", 1.0) < 0.2, "val accuracy max < 0.2", f)
    _need(s.get("train_acc_last", 0.0) > 0.5, "train accuracy last > 0.5", f)
    _need(s["val_min"] >= 0.99 * s["val_first"], "val loss never below its start", f)
    return f


def check_short(c: Curves, s: dict[str, Any]) -> list[str]:
    return [] if s["epochs"] <= 3 else ["at most 3 epochs"]


def check_train_only(c: Curves, s: dict[str, Any]) -> list[str]:
    f: list[str] = []
    _need(c.val_loss is None, "no validation curve", f)
    _need(s["train_last"] < 0.5 * s["train_first"], "training loss fell", f)
    return f


CHECKS: dict[str, Callable[[Curves, dict[str, Any]], list[str]]] = {
    "overfit": check_overfit,
    "healthy": check_healthy,
    "val_below_train": check_val_below_train,
    "still_improving": check_still_improving,
    "not_learning": check_not_learning,
    "tiny_capacity": check_tiny_capacity,
    "diverging_nan": check_diverging_nan,
    "exploding": check_exploding,
    "spiky": check_spiky,
    "shuffled": check_shuffled,
    "short": check_short,
    "train_only": check_train_only,
}


# --------------------------------------------------------------------------- producing runs

TRAINERS: dict[str, Callable[[RunSpec, Split, int, Path], Path]] = {
    "keras_csv": train_keras,
    "lightning_csv": train_lightning,
    "tensorboard": train_tensorboard,
}
READERS: dict[str, Callable[[Path], Curves]] = {
    "keras_csv": read_keras_csv,
    "lightning_csv": read_lightning_csv,
    "tensorboard": read_tensorboard,
}


@dataclass
class Produced:
    """A written run: where its log is, its sanity numbers, and failed sanity conditions."""

    log: Path
    stats: dict[str, Any]
    failures: list[str]
    seconds: float


def produce(run: RunSpec, seed: int, out: Path) -> Produced:
    """Train `run` with `seed` into a fresh `out`, read the log back and sanity-check it."""
    torch.set_num_threads(NUM_THREADS)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    start = time.perf_counter()
    log = TRAINERS[run.fmt](run, load_split(run.data, seed), seed, out)
    curves = READERS[run.fmt](log)
    stats = curve_stats(curves)
    return Produced(log, stats, CHECKS[run.check](curves, stats), time.perf_counter() - start)


TABLE_KEYS = (
    "epochs", "train_first", "train_last", "val_first", "val_min", "best_val_epoch",
    "val_last", "train_acc_last", "val_acc_max", "train_spikes", "train_nonfinite",
)  # fmt: skip


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def print_table(rows: Sequence[tuple[str, Produced]]) -> None:
    """Print the sanity numbers of produced runs, one line each."""
    header = ["run", *TABLE_KEYS, "sec", "ok"]
    lines = [header]
    for name, p in rows:
        cells = [_cell(p.stats.get(k)) for k in TABLE_KEYS]
        lines.append([name, *cells, f"{p.seconds:.1f}", "ok" if not p.failures else "FAIL"])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))


# --------------------------------------------------------------------------- the samples

DIGITS_SMALL = DataSpec(n_train=200, n_val=500)
WIDE = ModelSpec(hidden=(512, 512))
REGULARIZED = ModelSpec(hidden=(256, 256), dropout=0.3)

SAMPLES: dict[str, RunSpec] = {
    "keras_overfitting": RunSpec(
        "keras_overfitting",
        "keras_csv",
        "Keras 2x512 ReLU MLP, no regularization, Adam 3e-3, 150 epochs, "
        "200 digits train / 500 val",
        "overfit",
        DIGITS_SMALL,
        WIDE,
        TrainSpec("adam", 3e-3, 150),
    ),
    "lightning_healthy": RunSpec(
        "lightning_healthy",
        "lightning_csv",
        "Lightning 2x256 MLP, dropout 0.3, AdamW 1e-3 wd 5e-2, cosine LR, 40 epochs, "
        "full digits split (1257/540), CSVLogger, train loss per step",
        "healthy",
        DataSpec(),
        REGULARIZED,
        TrainSpec("adamw", 1e-3, 40, batch_size=64, weight_decay=5e-2, cosine=True),
    ),
    "tensorboard_underfitting": RunSpec(
        "tensorboard_underfitting",
        "tensorboard",
        "torch 2x256 MLP, SGD lr 1e-5, 40 epochs, full digits split, SummaryWriter",
        "not_learning",
        DataSpec(),
        ModelSpec(hidden=(256, 256)),
        TrainSpec("sgd", 1e-5, 40),
    ),
    "keras_diverging": RunSpec(
        "keras_diverging",
        "keras_csv",
        "Keras 3x256 MLP, SGD whose LR grows 2x per epoch from 0.05 (runaway warm-up), "
        "no clipping, 20 epochs, full digits split",
        "diverging_nan",
        DataSpec(),
        ModelSpec(hidden=(256, 256, 256)),
        TrainSpec("sgd", 0.05, 20, lr_growth=2.0),
    ),
}


def generate_samples(out_root: Path, only: str | None = None) -> list[tuple[str, Produced]]:
    """Train every sample (or just `only`) into `out_root/<name>/`; fail on a bad sanity check."""
    rows: list[tuple[str, Produced]] = []
    for name, run in SAMPLES.items():
        if only and name != only:
            continue
        produced = produce(run, 0, out_root / name)
        rows.append((name, produced))
        if produced.failures:
            print_table(rows)
            raise SystemExit(f"{name}: sanity check failed: {produced.failures}")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SAMPLES), help="generate one sample run")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: here)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = generate_samples(args.out, args.only)
    print_table(rows)
    print(f"generated {len(rows)} sample run(s) in {time.perf_counter() - start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
