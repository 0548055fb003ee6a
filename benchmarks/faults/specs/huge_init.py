"""Fault: a custom init draws every weight from a standard normal (std 1.0, as in from-scratch
NumPy code `np.random.randn(n_in, n_out)`), ignoring the fan-in. With 64 inputs per unit each
ReLU layer multiplies the signal scale by about sqrt(64/2) = 5.7, so the initial logits spread
over hundreds and the loss at initialization is far above ln 10."""

from common import digits
from torch import nn

from overfit_doctor import Spec

EXPECT: list[str] = ["bad_initialization"]


class MLP(nn.Module):
    def __init__(self, n_in: int = 64, hidden: int = 64, n_out: int = 10) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_in, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, n_out),
        )  # fmt: skip
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=1.0)  # the bug: no 1/sqrt(fan_in)
            nn.init.zeros_(module.bias)

    def forward(self, x):
        return self.net(x)


def spec() -> Spec:
    train, val = digits()
    return Spec(model=lambda: MLP(), train=train, val=val, batch_size=32)
