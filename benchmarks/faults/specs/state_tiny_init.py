"""Fault: a custom init copied from a detection head (`normal_(std=0.001)`) applied to every
layer of a deep MLP. Hidden weights are about 70x below any usual scale for fan-in 64, so each
layer shrinks the signal and the gradients of the early layers vanish."""

from common import digits, mlp
from torch import nn

from overfit_doctor import Spec

EXPECT: list[str] = ["weight_anomaly"]


def init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=0.001)  # the bug: fine for one head, not every layer
        nn.init.zeros_(module.bias)


def make_model() -> nn.Module:
    model = mlp(64, 10, hidden=64, depth=4)
    model.apply(init_weights)
    return model


def spec() -> Spec:
    train, val = digits()
    return Spec(model=make_model, train=train, val=val, batch_size=32)
