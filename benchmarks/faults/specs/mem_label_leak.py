"""Fault: a warm start from weights that have already seen the validation set.

An earlier experiment fitted the MLP on the whole digits data set, before it was split; the
model factory of the new experiment starts every model from those weights ("it converges
faster"). The validation score then measures recall of rows the weights were trained on. The
label randomization test exposes it: trained on shuffled labels, which carry no information,
the model still predicts the validation labels far above chance."""

import torch
from common import digits, mlp
from torch import nn

from overfit_doctor import Spec

EXPECT: list[str] = ["data_leakage"]


def earlier_experiment(seed: int = 123, epochs: int = 20) -> dict[str, torch.Tensor]:
    """The earlier run: trained on train + val together (the leak), weights kept."""
    (Xtr, ytr), (Xva, yva) = digits()
    X, y = torch.cat([Xtr, Xva]), torch.cat([ytr, yva])
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = mlp(64, 10, hidden=64)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        for idx in torch.randperm(len(y), generator=g).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
            opt.step()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def spec() -> Spec:
    train, val = digits()
    warm_start = earlier_experiment()

    def make_model() -> nn.Module:
        model = mlp(64, 10, hidden=64)
        model.load_state_dict(warm_start)
        return model

    return Spec(model=make_model, train=train, val=val, batch_size=32)
