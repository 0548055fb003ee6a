"""Fault: a custom init sets every bias to -10 (meant as a "sparse start", copied from a gating
trick). With standardized inputs and default weights the pre-activations are about N(-10, 0.6),
so every ReLU unit is off for every sample: no gradient reaches the hidden layers and the network
can only learn the output bias."""

from common import digits
from torch import nn

from overfit_doctor import Spec

EXPECT: list[str] = ["dead_units"]


def init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.constant_(module.bias, -10.0)  # the bug


def make_model() -> nn.Module:
    model = nn.Sequential(
        nn.Linear(64, 64), nn.ReLU(),
        nn.Linear(64, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )  # fmt: skip
    model.apply(init_weights)
    return model


def spec() -> Spec:
    train, val = digits()
    return Spec(model=make_model, train=train, val=val, batch_size=32)
