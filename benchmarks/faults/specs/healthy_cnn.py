"""Healthy: a small convolutional network on the digits as standardized 1x8x8 images,
Adam 1e-3. No finding above info."""

from common import digits_images
from torch import nn

from overfit_doctor import Spec

EXPECT: list[str] = []  # symptoms that must be reported
HEALTHY = True  # no warning or error allowed


def make_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 8 x 4 x 4
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 16 x 2 x 2
        nn.Flatten(),
        nn.Linear(64, 10),
    )


def spec() -> Spec:
    train, val = digits_images()
    return Spec(model=make_cnn, train=train, val=val, batch_size=32)
