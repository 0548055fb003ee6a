"""Fault: the classifier ends in nn.Softmax and is trained with nn.CrossEntropyLoss, which applies
log-softmax itself. A common port from Keras (`Dense(10, activation="softmax")`): the loss sees
probabilities as logits, bottoms out near ln(1 + 9/e) = 1.46 nats instead of 0, and its
gradients shrink."""

from common import digits
from torch import nn

from overfit_doctor import Spec

EXPECT: list[str] = ["output_activation_mismatch"]


def make_model() -> nn.Module:
    return nn.Sequential(
        nn.Linear(64, 64),
        nn.ReLU(),
        nn.Linear(64, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
        nn.Softmax(dim=1),  # the bug: CrossEntropyLoss expects raw logits
    )


def spec() -> Spec:
    train, val = digits()
    return Spec(model=make_model, train=train, val=val, loss=nn.CrossEntropyLoss(), batch_size=32)
