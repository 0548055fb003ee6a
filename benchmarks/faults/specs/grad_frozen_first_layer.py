"""Healthy, with frozen parameters on purpose: the first Linear layer of a digits MLP is frozen
(`requires_grad_(False)`), as a transfer-learning recipe freezes a pretrained feature extractor.
The model still trains well. Only the informational OD305 may mention it
(`disconnected_parameters` at info severity); no warning or error is allowed."""

from common import digits, mlp

from overfit_doctor import Spec

EXPECT: list[str] = []  # OD305 (info) reports the frozen layer; nothing above info
HEALTHY = True  # no warning or error allowed


def make_model():
    model = mlp(64, 10, hidden=64)
    model[0].requires_grad_(False)  # frozen on purpose
    return model


def spec() -> Spec:
    train, val = digits()
    return Spec(model=make_model, train=train, val=val, batch_size=32)
