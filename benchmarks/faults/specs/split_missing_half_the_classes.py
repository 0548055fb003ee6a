"""Fault: the samples are stored grouped by class (as when files are read folder by folder)
and split without shuffling (`train_test_split(..., shuffle=False)`): training sees classes
0-4 only and validation classes 5-9 only."""

import numpy as np
import torch
from common import mlp
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from overfit_doctor import Spec

EXPECT: list[str] = ["distribution_shift"]


def spec() -> Spec:
    X, y = load_digits(return_X_y=True)
    order = np.argsort(y, kind="stable")  # rows grouped by class, as read from class folders
    X, y = X[order], y[order]
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.5, shuffle=False)  # BUG: no shuffle
    mean, std = Xtr.mean(0), Xtr.std(0)
    std[std == 0] = 1.0
    Xtr, Xva = (Xtr - mean) / std, (Xva - mean) / std
    train = (torch.tensor(Xtr, dtype=torch.float32), torch.tensor(ytr))
    val = (torch.tensor(Xva, dtype=torch.float32), torch.tensor(yva))
    return Spec(model=lambda: mlp(64, 10, hidden=64), train=train, val=val, batch_size=32)
