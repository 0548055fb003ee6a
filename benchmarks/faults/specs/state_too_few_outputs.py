"""Fault: the output layer was sized for an older label set (8 classes) while the data have 10
digits. CrossEntropyLoss raises "Target 9 is out of bounds" on CPU (a device-side assert on
CUDA) as soon as a batch holds a label 8 or 9."""

from common import digits, mlp

from overfit_doctor import Spec

EXPECT: list[str] = ["output_activation_mismatch"]
N_CLASSES = 8  # the bug: stale constant, the labels go 0..9


def spec() -> Spec:
    train, val = digits()
    return Spec(model=lambda: mlp(64, N_CLASSES, hidden=64), train=train, val=val, batch_size=32)
