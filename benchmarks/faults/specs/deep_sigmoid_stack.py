"""Fault: a deep stack of Linear + Sigmoid layers with PyTorch's default initialization (the
1990s recipe, or a tutorial's `nn.Sigmoid` kept while adding layers). Each sigmoid multiplies
the back-propagated error by at most 0.25, so after 12 layers the first layers get gradients
many orders of magnitude smaller than the last one and barely move."""

from common import digits, mlp
from torch import nn

from overfit_doctor import Spec

EXPECT: list[str] = ["vanishing_gradients"]


def spec() -> Spec:
    train, val = digits()
    return Spec(
        model=lambda: mlp(64, 10, hidden=64, depth=12, act=nn.Sigmoid),
        train=train,
        val=val,
        batch_size=32,
    )
