"""Fault: a tanh MLP fed raw 8-bit pixel intensities (0-255, the digits rescaled the way image
files store them) without scaling to [0, 1] or standardizing. The first layer's
pre-activations spread over tens, so almost every tanh unit sits in its flat tails where the
gradient vanishes."""

from common import digits, mlp
from torch import nn

from overfit_doctor import Spec

EXPECT: list[str] = ["saturated_activations"]


def spec() -> Spec:
    (Xtr, ytr), (Xva, yva) = digits(scale=False)
    to_8bit = 255.0 / 16.0  # sklearn digits hold 0..16; image files hold 0..255
    return Spec(
        model=lambda: mlp(64, 10, hidden=64, act=nn.Tanh),
        train=(Xtr * to_8bit, ytr),
        val=(Xva * to_8bit, yva),
        batch_size=32,
    )
