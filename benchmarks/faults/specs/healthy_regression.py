"""Healthy: a small ReLU MLP regressing the standardized diabetes target from standardized
features, MSE loss, Adam 1e-3. No finding above info."""

from common import diabetes, mlp
from torch import nn

from overfit_doctor import Spec

EXPECT: list[str] = []  # symptoms that must be reported
HEALTHY = True  # no warning or error allowed


def spec() -> Spec:
    train, val = diabetes()
    return Spec(
        model=lambda: mlp(10, 1, hidden=32), train=train, val=val, loss=nn.MSELoss(), batch_size=32
    )
