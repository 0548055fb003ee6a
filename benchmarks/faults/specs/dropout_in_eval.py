"""Fault: `forward` calls `F.dropout(h, p=0.3, training=True)`, so dropout stays on after
model.eval() (the functional call ignores the module's mode unless it is passed
`training=self.training`). Validation numbers become random and checkpoints incomparable."""

import torch.nn.functional as F
from common import digits
from torch import nn

from overfit_doctor import Spec

EXPECT: list[str] = ["eval_nondeterminism"]


class DropoutMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 64)
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        h = F.dropout(h, p=0.3, training=True)  # the bug: should be training=self.training
        h = F.relu(self.fc2(h))
        return self.out(h)


def spec() -> Spec:
    train, val = digits()
    return Spec(model=lambda: DropoutMLP(), train=train, val=val, batch_size=32)
