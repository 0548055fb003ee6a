"""Fault: the training pipeline shuffles features and labels with two different permutations.

`load_training_data` mixes the rows "so that batches are not sorted by class" by calling
`rng.shuffle` on the features and then on the labels. Each call draws a new permutation, so
after the second call row i of the features no longer goes with label i: the training labels
are effectively random. The validation data are loaded without the shuffle and are correct."""

import numpy as np
import torch
from common import digits, mlp

from overfit_doctor import Spec

EXPECT: list[str] = ["no_generalization"]


def load_training_data(seed: int = 0):
    (X, y), val = digits()
    X, y = X.numpy().copy(), y.numpy().copy()
    rng = np.random.default_rng(seed)
    rng.shuffle(X)  # shuffle the rows in place...
    rng.shuffle(y)  # BUG: ...and the labels with a different permutation
    return (torch.from_numpy(X), torch.from_numpy(y)), val


def spec() -> Spec:
    train, val = load_training_data()
    return Spec(model=lambda: mlp(64, 10, hidden=64), train=train, val=val, batch_size=32)
