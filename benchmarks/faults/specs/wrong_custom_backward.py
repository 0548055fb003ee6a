"""Fault: a hand-written Swish activation (x * sigmoid(x)) as a custom autograd Function whose
backward forgets the product rule: it returns grad * sigmoid(x) instead of
grad * (sigmoid(x) + x * sigmoid(x) * (1 - sigmoid(x))). The model still trains (the wrong
gradient is positively correlated with the right one), so nothing in the loss curve gives it
away; the gradient check does."""

import torch
from common import digits
from torch import nn

from overfit_doctor import Spec

EXPECT: list[str] = ["gradient_error"]


class SwishFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * torch.sigmoid(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(x)
        return grad_output * s  # BUG: d/dx [x s(x)] = s + x s (1 - s); the second term is missing


class Swish(nn.Module):
    def forward(self, x):
        return SwishFn.apply(x)


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 64), Swish(), nn.Linear(64, 64), Swish(), nn.Linear(64, 10))


def spec() -> Spec:
    train, val = digits()
    return Spec(model=make_model, train=train, val=val, batch_size=32)
