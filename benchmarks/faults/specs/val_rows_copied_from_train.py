"""Fault: the validation set is topped up with training rows. The code wanted "a bigger
validation set" and appended the first 200 training rows to it (the same slip as
`val = train[:200]`, or as splitting after oversampling): 31% of the validation rows are
rows the model trains on, so validation accuracy rewards memorization."""

import torch
from common import digits, mlp

from overfit_doctor import Spec

EXPECT: list[str] = ["data_leakage"]


def spec() -> Spec:
    (Xtr, ytr), (Xva, yva) = digits()
    Xva = torch.cat([Xva, Xtr[:200]])  # BUG: validation rows copied from the training set
    yva = torch.cat([yva, ytr[:200]])
    return Spec(
        model=lambda: mlp(64, 10, hidden=64), train=(Xtr, ytr), val=(Xva, yva), batch_size=32
    )
