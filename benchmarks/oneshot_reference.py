"""Our DARTS and GDAS supernets against the authors' NAS-Bench-201 code (xautodl 1.0.0).

Dong & Yang ship DARTS and GDAS on the NAS-Bench-201 space in ``xautodl``
(``models/cell_searchs/search_model_darts.py``, ``search_model_gdas.py``). This script
builds their supernet and ours at the same size, copies their weights and architecture
parameters into ours (a key mapping: both register the stem, each cell's edges in the
order 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2 with the ops in NAS-Bench-201's order, the
residual blocks' conv_a, conv_b, shortcut, the last BN and the classifier; every shape is
checked), feeds both the same batch, and prints the largest absolute differences of

- the loss, the weight gradients and the architecture gradient of DARTS' forward
  (softmax-mixed edges), first order (our ``Darts.first_order_gradients``);
- DARTS' second-order architecture gradient: ours (``Darts.second_order_gradients``,
  ``torch.func``) against the formula of DARTS' ``architect.py`` written here on
  xautodl's model (a deep copy holds the unrolled weights w' = w - lr·(momentum·v +
  ∇w L_train + wd·w); finite differences at w ± eps·∇w' L_val, eps = 0.01/||·||), with
  the same momentum buffers in both optimizers;
- GDAS' forward with one fixed Gumbel draw (the draw both make from the same RNG state):
  the loss, the weight gradients and the architecture gradient.

Both run with affine BN and no running statistics in training mode: xautodl's search
configs use affine=False, whose convolutions then carry a bias that NAS-Bench-201's
(and our) networks do not have.

    /tmp/xa/bin/python benchmarks/oneshot_reference.py --json
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

if __package__ in (None, ""):  # run as a script: make the checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nasbench.oneshot.darts import Darts  # noqa: E402
from nasbench.oneshot.gdas import Gdas  # noqa: E402
from search_spaces.spaces.nasbench201 import OPS, NasBench201Space  # noqa: E402
from search_spaces.supernet import Paths, Supernet  # noqa: E402

TOLERANCE = 1e-5
XAUTODL_NAMES = {"darts": "DARTS-V1", "gdas": "GDAS"}


def their_supernet(method: str, filters: int, cells: int, num_classes: int) -> torch.nn.Module:
    from xautodl.models import get_cell_based_tiny_net

    return get_cell_based_tiny_net({
        "name": XAUTODL_NAMES[method], "C": filters, "N": cells, "max_nodes": 4, "num_classes": num_classes,
        "space": list(OPS), "affine": True, "track_running_stats": False})


def their_weights(model: torch.nn.Module) -> list[tuple[str, torch.nn.Parameter]]:
    """Their shared weights (no architecture parameters), in registration order."""
    return [(key, p) for key, p in model.named_parameters() if key != "arch_parameters"]


def paired_weights(ours: Supernet, theirs: torch.nn.Module) -> list[tuple[torch.nn.Parameter, torch.nn.Parameter]]:
    """(our parameter, their parameter) pairs; raises where a shape does not fit."""
    mine = list(ours.parameters())
    their = their_weights(theirs)
    if len(mine) != len(their):
        raise ValueError(f"{len(mine)} weights in ours, {len(their)} in theirs")
    for index, (a, (key, b)) in enumerate(zip(mine, their)):
        if a.shape != b.shape:
            raise ValueError(f"weight {index}: ours {tuple(a.shape)}, theirs {key} {tuple(b.shape)}")
    return [(a, b) for a, (_, b) in zip(mine, their)]


def build_pair(method: str, filters: int, cells: int, num_classes: int, seed: int, dtype: torch.dtype):
    """Their supernet and our method on a supernet holding their weights and alpha."""
    torch.manual_seed(seed)
    theirs = their_supernet(method, filters, cells, num_classes).to(dtype)
    supernet = Supernet(NasBench201Space(), {"cells_per_stage": cells, "filters": filters},
                        num_classes=num_classes, input_size=32, input_channels=3, seed=seed).to(dtype)
    ours = (Darts if method == "darts" else Gdas)(supernet, seed=seed, momentum=0.9, weight_decay=3e-4, lr=0.025)
    with torch.no_grad():
        for a, b in paired_weights(supernet, theirs):
            a.copy_(b)
        ours.alphas["cell"].data = theirs.arch_parameters.detach().clone()
    theirs.train()
    supernet.train()
    return ours, theirs


def _max_difference(a: Any, b: Any) -> float:
    if isinstance(a, (list, tuple)):
        return max((_max_difference(x, y) for x, y in zip(a, b)), default=0.0)
    return float((a.detach() - b.detach()).abs().max())


def _grads(parameters: list[torch.nn.Parameter]) -> list[torch.Tensor]:
    return [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]


def darts_second_order_theirs(model: torch.nn.Module, optimizer: torch.optim.SGD, train, val) -> torch.Tensor:
    """DARTS' ``architect.py`` unrolled gradient, on xautodl's model."""
    group = optimizer.param_groups[0]
    lr, decay, momentum = group["lr"], group["weight_decay"], group["momentum"]
    weights = [p for key, p in model.named_parameters() if key != "arch_parameters"]
    loss = F.cross_entropy(model(train[0])[1], train[1])
    theta = torch.cat([w.detach().reshape(-1) for w in weights])
    moment = torch.cat([optimizer.state[w]["momentum_buffer"].reshape(-1) for w in weights]) * momentum
    dtheta = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, weights)]) + decay * theta
    unrolled = copy.deepcopy(model)
    unrolled_weights = [p for key, p in unrolled.named_parameters() if key != "arch_parameters"]
    torch.nn.utils.vector_to_parameters(theta - lr * (moment + dtheta), unrolled_weights)
    unrolled.zero_grad()
    F.cross_entropy(unrolled(val[0])[1], val[1]).backward()
    dalpha = unrolled.arch_parameters.grad.clone()
    vector = [w.grad for w in unrolled_weights]
    radius = 0.01 / torch.cat([v.reshape(-1) for v in vector]).norm()
    with torch.no_grad():
        for w, v in zip(weights, vector):
            w.add_(radius * v)
    grads_p = torch.autograd.grad(F.cross_entropy(model(train[0])[1], train[1]), model.arch_parameters)[0]
    with torch.no_grad():
        for w, v in zip(weights, vector):
            w.sub_(2 * radius * v)
    grads_n = torch.autograd.grad(F.cross_entropy(model(train[0])[1], train[1]), model.arch_parameters)[0]
    with torch.no_grad():
        for w, v in zip(weights, vector):
            w.add_(radius * v)
    return dalpha - lr * (grads_p - grads_n) / (2 * radius)


def compare_darts(filters: int, cells: int, batch: int, seed: int, dtype: torch.dtype) -> dict[str, float]:
    ours, theirs = build_pair("darts", filters, cells, 10, seed, dtype)
    generator = torch.Generator().manual_seed(seed + 1)
    train = (torch.randn(batch, 3, 32, 32, generator=generator).to(dtype), torch.randint(10, (batch,), generator=generator))
    val = (torch.randn(batch, 3, 32, 32, generator=generator).to(dtype), torch.randint(10, (batch,), generator=generator))
    pairs = paired_weights(ours.supernet, theirs)
    our_loss = F.cross_entropy(ours.supernet(train[0], Paths(weights=ours.probabilities())), train[1])
    their_loss = F.cross_entropy(theirs(train[0])[1], train[1])
    our_loss.backward()
    their_loss.backward()
    figures = {"loss": _max_difference(our_loss, their_loss),
               "weight_grad": _max_difference(_grads([a for a, _ in pairs]), _grads([b for _, b in pairs])),
               "arch_grad_forward": _max_difference(ours.alphas["cell"].grad, theirs.arch_parameters.grad)}
    ours.supernet.zero_grad()
    theirs.zero_grad()
    first = ours.first_order_gradients(val)["cell"]
    their_first = torch.autograd.grad(F.cross_entropy(theirs(val[0])[1], val[1]), theirs.arch_parameters)[0]
    figures["arch_grad_first_order"] = _max_difference(first, their_first)
    their_optimizer = torch.optim.SGD([b for _, b in pairs], lr=0.025, momentum=0.9, weight_decay=3e-4)
    for a, b in pairs:  # the same momentum buffers, as after some steps
        buffer = 1e-2 * torch.randn(a.shape, generator=generator).to(dtype)
        ours.weight_optimizer.state[a]["momentum_buffer"] = buffer.clone()
        their_optimizer.state[b]["momentum_buffer"] = buffer.clone()
    second = ours.second_order_gradients(train, val)["cell"]
    figures["arch_grad_second_order"] = _max_difference(second, darts_second_order_theirs(theirs, their_optimizer,
                                                                                          train, val))
    figures["arch_grad_second_minus_first"] = _max_difference(second, first)  # the check is not vacuous
    return figures


def compare_gdas(filters: int, cells: int, batch: int, seed: int, dtype: torch.dtype, tau: float = 5.0
                 ) -> dict[str, float]:
    ours, theirs = build_pair("gdas", filters, cells, 10, seed, dtype)
    theirs.set_tau(tau)
    ours.tau = tau
    generator = torch.Generator().manual_seed(seed + 2)
    images = torch.randn(batch, 3, 32, 32, generator=generator).to(dtype)
    labels = torch.randint(10, (batch,), generator=generator)
    pairs = paired_weights(ours.supernet, theirs)
    torch.manual_seed(seed + 3)  # their forward draws its Gumbel noise from the global generator
    their_loss = F.cross_entropy(theirs(images)[1], labels)
    torch.manual_seed(seed + 3)
    gumbels = -torch.empty_like(theirs.arch_parameters).exponential_().log()
    paths = ours.sample(gumbels={"cell": gumbels.to(dtype)})
    our_loss = F.cross_entropy(ours.supernet(images, paths), labels)
    our_loss.backward()
    their_loss.backward()
    return {"loss": _max_difference(our_loss, their_loss),
            "weight_grad": _max_difference(_grads([a for a, _ in pairs]), _grads([b for _, b in pairs])),
            "arch_grad": _max_difference(ours.alphas["cell"].grad, theirs.arch_parameters.grad),
            "ops_sampled": sorted({index for (index,) in paths.active["cell"]})}


def run(filters: int = 8, cells: int = 1, batch: int = 16, seed: int = 0, dtype: str = "float32") -> dict[str, Any]:
    torch_dtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
    darts = compare_darts(filters, cells, batch, seed, torch_dtype)
    gdas = compare_gdas(filters, cells, batch, seed, torch_dtype)
    checked = [v for k, v in darts.items() if k != "arch_grad_second_minus_first"]
    checked += [v for k, v in gdas.items() if k != "ops_sampled"]
    return {"settings": {"filters": filters, "cells_per_stage": cells, "batch": batch, "seed": seed, "dtype": dtype,
                         "input": "3x32x32 normal noise, 10 classes", "xautodl": "1.0.0"},
            "darts": darts, "gdas": gdas, "tolerance": TOLERANCE, "within_tolerance": max(checked) <= TOLERANCE}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filters", type=int, default=8)
    parser.add_argument("--cells", type=int, default=1, help="cells per stage (N)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    report = run(args.filters, args.cells, args.batch, args.seed, args.dtype)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for method in ("darts", "gdas"):
            for key, value in report[method].items():
                print(f"{method:5s} {key:30s} {value if isinstance(value, list) else f'{value:.3e}'}")
        print(f"all within {TOLERANCE:g}: {report['within_tolerance']}")
    return 0 if report["within_tolerance"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
