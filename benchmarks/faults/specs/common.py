"""Data and models shared by the fault-benchmark specs: real, offline data (sklearn's bundled
digits and diabetes sets), split and scaled the way careful code would do it."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_diabetes, load_digits
from sklearn.model_selection import train_test_split
from torch import nn


def digits(scale: bool = True, seed: int = 0):
    """((X_train, y_train), (X_val, y_val)) of sklearn digits: 64 features, 10 classes."""
    X, y = load_digits(return_X_y=True)
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    if scale:
        # StandardScaler's rule: a feature constant in train (std 0) is centered, not scaled
        # (dividing by a tiny std would blow up validation pixels that are not constant).
        mean, std = Xtr.mean(0), Xtr.std(0)
        std[std == 0] = 1.0
        Xtr, Xva = (Xtr - mean) / std, (Xva - mean) / std
    return _t(Xtr, ytr, torch.long), _t(Xva, yva, torch.long)


def digits_images(seed: int = 0):
    """Digits as 1x8x8 images scaled to [0, 1] then standardized."""
    (Xtr, ytr), (Xva, yva) = digits(scale=False, seed=seed)
    Xtr, Xva = Xtr / 16.0, Xva / 16.0
    mean, std = Xtr.mean(), Xtr.std()
    Xtr, Xva = (Xtr - mean) / std, (Xva - mean) / std
    return (Xtr.reshape(-1, 1, 8, 8), ytr), (Xva.reshape(-1, 1, 8, 8), yva)


def diabetes(seed: int = 0):
    """Standardized diabetes regression data (10 features, float targets)."""
    X, y = load_diabetes(return_X_y=True)
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.25, random_state=seed)
    mx, sx = Xtr.mean(0), Xtr.std(0)
    my, sy = ytr.mean(), ytr.std()
    return (
        _t((Xtr - mx) / sx, (ytr - my) / sy, torch.float32),
        _t((Xva - mx) / sx, (yva - my) / sy, torch.float32),
    )


def mlp(
    n_in: int = 64,
    n_out: int = 10,
    hidden: int = 64,
    depth: int = 2,
    act: type[nn.Module] = nn.ReLU,
) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), act()]
        width = hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def _t(X: np.ndarray, y: np.ndarray, y_dtype: torch.dtype):
    return torch.tensor(X, dtype=torch.float32), torch.tensor(y, dtype=y_dtype)
