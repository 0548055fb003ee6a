"""Healthy: a small ReLU MLP on standardized digits, Adam 1e-3. No finding above info."""

from common import digits, mlp

from overfit_doctor import Spec

EXPECT: list[str] = []  # symptoms that must be reported
HEALTHY = True  # no warning or error allowed


def spec() -> Spec:
    train, val = digits()
    return Spec(model=lambda: mlp(64, 10, hidden=64), train=train, val=val, batch_size=32)
