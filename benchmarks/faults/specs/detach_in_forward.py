"""Fault: `.detach()` in forward. The feature extractor's output is detached before the
classifier head, a copy-paste from feature-caching or logging code (`h = self.body(x).detach()`).
Only the head trains; the body stays at its random initialization, and the model still reaches a
respectable accuracy on digits (a linear head on random ReLU features), so the curves look
merely mediocre."""

from common import digits
from torch import nn

from overfit_doctor import Spec

EXPECT: list[str] = ["disconnected_parameters"]


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        h = self.body(x).detach()  # BUG: cuts the graph, the body never receives a gradient
        return self.head(h)


def spec() -> Spec:
    train, val = digits()
    return Spec(model=lambda: Net(), train=train, val=val, batch_size=32)
