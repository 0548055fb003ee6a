"""Healthy: a tanh MLP with BatchNorm and nn.Dropout (switched off by model.eval()) on
standardized digits, Xavier-initialized. No model-state finding above info."""

from common import digits
from torch import nn

from overfit_doctor import Spec

EXPECT: list[str] = []
HEALTHY = True


def make_model() -> nn.Module:
    model = nn.Sequential(
        nn.Linear(64, 128), nn.BatchNorm1d(128), nn.Tanh(), nn.Dropout(0.3),
        nn.Linear(128, 64), nn.BatchNorm1d(64), nn.Tanh(), nn.Dropout(0.3),
        nn.Linear(64, 10),
    )  # fmt: skip
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def spec() -> Spec:
    train, val = digits()
    return Spec(model=make_model, train=train, val=val, batch_size=32)
