"""Fault: far more capacity than data. A 3 x 1024 ReLU MLP (about 2.2 million parameters)
trained on 100 digits samples (about 22,000 parameters per sample): it memorizes shuffled
labels almost as fast as the real ones, so nothing but early stopping stands between it and
overfitting."""

from common import digits, mlp
from sklearn.model_selection import train_test_split

from overfit_doctor import Spec

EXPECT: list[str] = ["memorization"]


def spec() -> Spec:
    (X, y), val = digits()
    X_small, _, y_small, _ = train_test_split(X, y, train_size=100, random_state=0, stratify=y)
    return Spec(
        model=lambda: mlp(64, 10, hidden=1024, depth=3),
        train=(X_small, y_small),
        val=val,
        batch_size=32,
    )
