"""Fault: a hand-written initialization with the wrong scale. The author initializes every
Linear layer with `nn.init.normal_(w, std=1.0)` (a unit-variance "standard normal" init) instead
of a fan-in-scaled one (He: std = sqrt(2 / fan_in) = 0.18 for 64 inputs). With 8 ReLU layers of
width 64 every layer multiplies the signal by about sqrt(64 / 2) = 5.7 forward and the error by
as much backward: the logits are in the millions and the back-propagated error grows about 10^6
times from the last layer to the first."""

from common import digits, mlp
from torch import nn

from overfit_doctor import Spec

EXPECT: list[str] = ["exploding_gradients"]


def make_model() -> nn.Module:
    model = mlp(64, 10, hidden=64, depth=8)
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=1.0)  # BUG: should be ~ sqrt(2 / fan_in)
            nn.init.zeros_(module.bias)
    return model


def spec() -> Spec:
    train, val = digits()
    return Spec(model=make_model, train=train, val=val, batch_size=32)
