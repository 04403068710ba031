"""Peer for tests/test_optim.cpp: runs torch.optim on the same problem as the
C++ test and prints the trajectories and learning-rate sequences as JSON.

stdin: {"steps": N, "start": [...], "optimizers": [{"name", "kind", "options"}],
        "schedules": [{"name", "kind", "args", "base_lr", "steps"}]}
The problem (same formula as problem_loss in test_optim.cpp):
    f(w) = sum(s * (w - c)^2) + 0.1 * sum(w^4),  c = [1, -2, 0.5],  s = [1, 3, 0.5]
"""
import json
import sys

import torch

torch.set_default_dtype(torch.float64)
spec = json.load(sys.stdin)
c = torch.tensor([1.0, -2.0, 0.5])
s = torch.tensor([1.0, 3.0, 0.5])


def loss(w):
    return (s * (w - c) ** 2).sum() + 0.1 * (w ** 4).sum()


def make_optimizer(kind, params, o):
    o = dict(o)
    if "beta1" in o:
        o["betas"] = (o.pop("beta1"), o.pop("beta2"))
    for flag in ("nesterov", "amsgrad", "centered"):
        if flag in o:
            o[flag] = bool(o[flag])
    classes = {"sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
               "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
    return classes[kind](params, **o)


out = {"trajectories": {}, "lrs": {}}
for entry in spec["optimizers"]:
    w = torch.tensor(spec["start"], requires_grad=True)
    optimizer = make_optimizer(entry["kind"], [w], entry["options"])
    path = []
    for _ in range(spec["steps"]):
        optimizer.zero_grad()
        loss(w).backward()
        optimizer.step()
        path.append(w.detach().tolist())
    out["trajectories"][entry["name"]] = path

S = torch.optim.lr_scheduler
for entry in spec["schedules"]:
    w = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=entry["base_lr"])
    a = entry["args"]
    kind = entry["kind"]
    if kind == "step":
        scheduler = S.StepLR(optimizer, step_size=a["step_size"], gamma=a["gamma"])
    elif kind == "multistep":
        scheduler = S.MultiStepLR(optimizer, milestones=a["milestones"], gamma=a["gamma"])
    elif kind == "exponential":
        scheduler = S.ExponentialLR(optimizer, gamma=a["gamma"])
    elif kind == "cosine":
        scheduler = S.CosineAnnealingLR(optimizer, T_max=a["T_max"], eta_min=a["eta_min"])
    elif kind == "warm_restarts":
        scheduler = S.CosineAnnealingWarmRestarts(optimizer, T_0=a["T_0"], T_mult=a["T_mult"], eta_min=a["eta_min"])
    elif kind == "one_cycle":
        scheduler = S.OneCycleLR(optimizer, max_lr=a["max_lr"], total_steps=a["total_steps"],
                                 pct_start=a["pct_start"], cycle_momentum=False)
    elif kind == "linear_warmup":
        scheduler = S.LinearLR(optimizer, start_factor=a["start_factor"], total_iters=a["warmup_steps"])
    else:
        raise SystemExit("unknown schedule " + kind)
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(entry["steps"]):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    out["lrs"][entry["name"]] = lrs

json.dump(out, sys.stdout)
