"""Data-parallel one-shot training: two gloo ranks in two processes (no Ray) agree on
every collective operation; DARTS' unrolled gradient and a weight step averaged over the
two halves of a batch equal one process's on the whole batch; and after an epoch's steps
on different halves of each batch the ranks' supernets and architectures are still
equal, for every method."""
from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from nasbench.oneshot import OneShotRecipe
from nasbench.oneshot.collective import SingleProcess, TorchDistributed, shard
from nasbench.oneshot.data import epoch_batches
from nasbench.core.candidate import derive_seed
from nasbench.core.budget import Budget
from search_spaces.spaces import make_space
from search_spaces.supernet import Paths

DATA = {"name": "digits", "seed": 0, "train_fraction": 0.05}
METHODS = (("darts", {"order": 1}), ("darts", {"order": 2}), ("gdas", {}), ("enas", {}), ("spos", {}))


def _flat_state(search) -> torch.Tensor:
    """Every float tensor of the method's state (supernet weights, alphas, controller)."""
    tensors = [p.detach().reshape(-1) for p in search.supernet.parameters()]
    tensors += [a.detach().reshape(-1) for a in getattr(search.method, "alphas", {}).values()]
    policy = getattr(search.method, "policy", None)
    if policy is not None:
        tensors += [p.detach().reshape(-1) for p in policy.controller.parameters()]
    return torch.cat(tensors)


def _darts_second_order(device: str = "cpu"):
    """DARTS with the unrolled gradient, its supernet in eval mode: each example's loss
    is then independent of the others in its batch (batch norm's running statistics), so
    two ranks' averaged gradients must equal one process's gradient on the whole batch."""
    recipe = OneShotRecipe("darts", make_space("nasbench201"), {}, DATA, 0, {"batch_size": 16, "order": 2})
    search = recipe.build(device=device)
    search.supernet.eval()
    return search


def _unrolled_gradients_and_weight_step(search, take) -> torch.Tensor:
    """DARTS' unrolled architecture gradient on the first batch, then one weight step."""
    train, val = next(epoch_batches(search.splits, 16, torch.Generator().manual_seed(5)))
    method = search.method
    method.begin_epoch(0)
    grads = method.second_order_gradients(take(train), take(val))
    method.collective.average(list(grads.values()))
    method.weight_step(take(train), Paths(weights={k: p.detach() for k, p in method.probabilities().items()}))
    return torch.cat([g.reshape(-1) for g in grads.values()] + [p.detach().reshape(-1) for p in
                                                               search.supernet.parameters()])


def _rank(rank: int, world_size: int, init_file: str, out_dir: str, device: str = "cpu") -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    collective = TorchDistributed(torch.device(device))
    results = {}
    values = [torch.tensor([1.0, 2.0], device=device) * (rank + 1), None, torch.tensor([[float(rank)]], device=device)]
    collective.average(values)
    results["average"] = torch.cat([values[0], values[2].reshape(-1)]).cpu()
    results["sum"] = torch.tensor(collective.sum([rank + 1, 0.5]))
    results["any"] = torch.tensor([collective.any(rank == 1), collective.any(False)])
    results["broadcast"] = torch.tensor(collective.broadcast([7, rank] if rank == 0 else None))
    search = _darts_second_order(device)
    search.distribute(collective)
    results["unrolled"] = _unrolled_gradients_and_weight_step(search, lambda batch: shard(batch, collective)).cpu()
    for name, params in METHODS:
        recipe = OneShotRecipe(name, make_space("nasbench201"), {}, DATA, 0, {"batch_size": 16, **params})
        search = recipe.build(device=device)
        search.distribute(collective)
        generator = torch.Generator().manual_seed(derive_seed(0, "oneshot-epoch", 0))
        steps = search._steps(0, Budget(trials=1), 0.0, generator)
        results[f"{name}{params}"] = _flat_state(search).cpu()
        results[f"{name}{params}-count"] = torch.tensor([steps.count, steps.steps])
    torch.save(results, f"{out_dir}/rank{rank}.pt")
    dist.destroy_process_group()


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=[
    pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")])])
def test_two_ranks_agree_and_keep_equal_weights(tmp_path, device):
    """On CUDA both ranks share the one GPU (gloo moves CUDA tensors; NCCL wants a GPU per rank)."""
    mp.spawn(_rank, args=(2, str(tmp_path / "init"), str(tmp_path), device), nprocs=2, join=True)
    first, second = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert torch.equal(first["average"], torch.tensor([1.5, 3.0, 0.5])) and torch.equal(first["average"],
                                                                                         second["average"])
    assert first["sum"].tolist() == second["sum"].tolist() == [3.0, 1.0]
    assert first["any"].tolist() == second["any"].tolist() == [True, False]
    assert first["broadcast"].tolist() == second["broadcast"].tolist() == [7, 0]
    whole = _unrolled_gradients_and_weight_step(_darts_second_order(device), lambda batch: batch).cpu()
    tolerance = {"rtol": 1e-4, "atol": 1e-6} if device == "cpu" else {"rtol": 1e-2, "atol": 1e-4}  # TF32 on GPUs
    torch.testing.assert_close(first["unrolled"], whole, **tolerance)
    torch.testing.assert_close(second["unrolled"], whole, **tolerance)
    for name, params in METHODS:
        key = f"{name}{params}"
        assert first[f"{key}-count"].tolist() == [48, 3], key  # 3 steps of 16 over both ranks, 8 each
        assert torch.equal(first[key], second[key]), key


def test_a_rank_takes_its_slice_of_each_batch():
    images, labels = torch.arange(8).reshape(8, 1).float(), torch.arange(8)

    class Rank:
        def __init__(self, rank):
            self.rank, self.world_size = rank, 2

    assert shard((images, labels), SingleProcess())[1].tolist() == list(range(8))
    assert shard((images, labels), Rank(0))[1].tolist() == [0, 1, 2, 3]
    assert shard((images, labels), Rank(1))[1].tolist() == [4, 5, 6, 7]
