"""Data-parallel training on torch.distributed, started by torchrun (NCCL on GPUs, gloo on CPUs).

Gradients are summed by one explicit all-reduce per optimizer step rather than by DistributedDataParallel's
hooks: a head whose annotation a process's batch lacks computes nothing there, and DDP would wait for its
gradients ("Expected to have finished reduction", pytorch#68862) or need find_unused_parameters, a graph walk
every step. Here every process reduces the same parameters in the same order, zeros where it had no gradient,
so no rank can hang on another; the thinc weights of spaCy components on the listener join the same reduction.
"""
import datetime
import os
from dataclasses import dataclass
from typing import Iterable, List

import numpy as np
import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Process:
    """Where this process stands: rank (int) among world_size (int); local_rank (int) on its machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def start(use_cuda: bool) -> Process:
    """Join the process group torchrun describes in the environment; a single process without it."""
    if not launched_by_torchrun():
        return Process()
    if not dist.is_initialized():
        backend = "nccl" if use_cuda else "gloo"
        # Rank 0 evaluates and saves while the others wait at the next collective: allow for a long evaluation.
        dist.init_process_group(backend, timeout=datetime.timedelta(hours=2))
    return Process(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier(process: Process) -> None:
    if process.distributed:
        dist.barrier()


def sum_(values: torch.Tensor, process: Process) -> torch.Tensor:
    """Element-wise sum over processes (the tensor itself in a single process)."""
    if process.distributed:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def broadcast_flag(value: bool, process: Process, device: torch.device) -> bool:
    """Rank 0's decision, for every rank (to stop together)."""
    if not process.distributed:
        return value
    flag = torch.tensor([1.0 if value else 0.0], device=device)
    dist.broadcast(flag, src=0)
    return bool(flag.item())


def broadcast_parameters(params: List[torch.nn.Parameter], process: Process) -> None:
    """Every process starts from rank 0's weights (initialisation draws random numbers)."""
    if process.distributed:
        with torch.no_grad():
            for param in params:
                dist.broadcast(param.data, src=0)


def all_reduce_gradients(params: List[torch.nn.Parameter], process: Process) -> None:
    """Sum every parameter's gradient over processes in one flat buffer per dtype (zeros where a process had none)."""
    if not process.distributed or not params:
        return
    by_dtype = {}
    for param in params:
        by_dtype.setdefault(param.dtype, []).append(param)
    for group in by_dtype.values():
        flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in group])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        offset = 0
        for param in group:
            size = param.numel()
            param.grad = flat[offset : offset + size].view_as(param).clone()
            offset += size


def all_reduce_thinc_gradients(models: Iterable, process: Process, device: torch.device) -> None:
    """Sum the gradients of thinc models (spaCy components on the listener) over processes: spaCy's parser, NER
    and tagger do not divide their gradients by the batch size, so one process on the union of the batches sums
    them too. Where no process has a gradient for a weight, none is set, as in a single process."""
    if not process.distributed:
        return
    slots = []
    for model in models:
        for node in model.walk():
            for name in node.param_names:
                if node.has_param(name):
                    slots.append((node, name, node.get_param(name)))
    if not slots:
        return
    grads, present = [], []
    for node, name, param in slots:
        has = node.has_grad(name)
        # ops.to_numpy copies a GPU (cupy) gradient to the host, where np.asarray would refuse it; set_grad
        # below puts the sum back on the component's own device through ops.asarray.
        grads.append(np.asarray(node.ops.to_numpy(node.get_grad(name)), dtype=np.float32).ravel() if has
                     else np.zeros(param.size, dtype=np.float32))
        present.append(1.0 if has else 0.0)
    flat = torch.from_numpy(np.concatenate(grads + [np.asarray(present, dtype=np.float32)])).to(device)
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat = flat.cpu().numpy()
    anyone = flat[-len(slots):] > 0
    offset = 0
    for (node, name, param), keep in zip(slots, anyone):
        size = param.size
        if keep:
            node.set_grad(name, node.ops.asarray(flat[offset : offset + size].reshape(param.shape)))
        offset += size
