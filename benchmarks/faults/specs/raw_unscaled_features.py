"""Fault: the digits pixels are fed raw (gray levels 0..16) instead of standardized: the
scaler was fitted but its output never used. Inputs have an overall RMS near 8 where the
default initialization expects about 1."""

from common import digits, mlp

from overfit_doctor import Spec

EXPECT: list[str] = ["unnormalized_inputs"]


def spec() -> Spec:
    train, val = digits(scale=False)  # BUG: raw 0..16 pixel values reach the model
    return Spec(model=lambda: mlp(64, 10, hidden=64), train=train, val=val, batch_size=32)
