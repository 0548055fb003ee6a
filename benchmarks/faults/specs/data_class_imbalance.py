"""Fault: a rare-positive data set. The breast-cancer data are subsampled so that only one
malignant case in ten is kept (as when positives are scarce or were filtered away upstream):
about 17 benign cases per malignant one in training, with a plain unweighted loss."""

import numpy as np
import torch
from common import mlp
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from overfit_doctor import Spec

EXPECT: list[str] = ["class_imbalance"]


def spec() -> Spec:
    X, y = load_breast_cancer(return_X_y=True)  # target 0 = malignant, 1 = benign
    malignant = np.flatnonzero(y == 0)
    keep = np.concatenate([np.flatnonzero(y == 1), malignant[::10]])  # BUG: 1 in 10 positives
    X, y = X[keep], y[keep]
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    mean, std = Xtr.mean(0), Xtr.std(0)
    Xtr, Xva = (Xtr - mean) / std, (Xva - mean) / std
    train = (torch.tensor(Xtr, dtype=torch.float32), torch.tensor(ytr))
    val = (torch.tensor(Xva, dtype=torch.float32), torch.tensor(yva))
    return Spec(model=lambda: mlp(30, 2, hidden=32), train=train, val=val, batch_size=32)
