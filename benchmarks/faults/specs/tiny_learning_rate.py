"""Fault: a learning rate four orders of magnitude too small. A healthy digits MLP, but the
optimizer is `Adam(lr=1e-7)` (a typo for 1e-3, or a schedule that starts at its floor): the
weights barely move, so not even one small batch can be overfit."""

import torch
from common import digits, mlp

from overfit_doctor import Spec

EXPECT: list[str] = ["cannot_overfit_small_batch"]


def spec() -> Spec:
    train, val = digits()
    return Spec(
        model=lambda: mlp(64, 10, hidden=64),
        train=train,
        val=val,
        optimizer=lambda p: torch.optim.Adam(p, lr=1e-7),
        batch_size=32,
    )
