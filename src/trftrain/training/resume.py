"""What a checkpoint holds besides the pipeline, and the check that a resumed run has the config it started with."""
from typing import Dict, Iterable, List

import numpy as np
import torch
import torch.distributed as dist
from confection import Config

from ..errors import Errors, TrftrainError
from ..versions import library_versions
from . import rng

# Keys whose change cannot alter the weights a run reaches; any other change has to be accepted by name.
ALWAYS_ALLOWED = ("training.logger", "training.checkpoint_frequency", "training.eval_batch_size")


def flatten(node, prefix: str = "") -> Dict[str, str]:
    flat = {}
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = repr(value)
    return flat


def changed_keys(old: Config, new: Config) -> List[str]:
    a, b = flatten(old), flatten(new)
    return sorted(key for key in set(a) | set(b) if a.get(key) != b.get(key))


def check_config(saved_text: str, current: Config, allowed: Iterable[str]) -> None:
    """Refuse to resume under another config, unless each changed `section.key` is accepted (or under an accepted
    section)."""
    saved = Config().from_str(saved_text, interpolate=False)
    accepted = tuple(allowed) + ALWAYS_ALLOWED
    refused = [key for key in changed_keys(saved, current)
               if not any(key == a or key.startswith(a + ".") for a in accepted)]
    if refused:
        raise TrftrainError(Errors.E309.format(
            keys=", ".join(f"`{key}`" for key in refused),
            flags=" ".join(f"--allow-change {key}" for key in refused)))


def rng_states(process) -> Dict[str, torch.Tensor]:
    """Every process's random generators, gathered so that rank 0 can save them all."""
    mine = rng.capture()
    if not process.distributed:
        return {f"rng/0/{key}": value for key, value in mine.items()}
    gathered = {}
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    for key, value in sorted(mine.items()):
        flat = value.reshape(-1).contiguous()
        as_bytes = flat.view(torch.uint8).to(device)
        parts = [torch.empty_like(as_bytes) for _ in range(process.world_size)]
        dist.all_gather(parts, as_bytes)
        for rank, part in enumerate(parts):
            gathered[f"rng/{rank}/{key}"] = part.cpu().view(flat.dtype).reshape(value.shape)
    return gathered


def restore_rng(tensors: Dict[str, torch.Tensor], rank: int) -> None:
    prefix = f"rng/{rank}/"
    mine = {key[len(prefix):]: value for key, value in tensors.items() if key.startswith(prefix)}
    if not mine:
        raise TrftrainError(Errors.E313.format(path="checkpoint", problem=f"no random state for process {rank} "
                                               "(was it written by a run with fewer processes?)"))
    rng.restore(mine)


def restore_losses(saved: dict) -> Dict[str, float]:
    """The loss sums since the last evaluation, as the types they had (spaCy's components sum in float32)."""
    return {name: np.float32(value) if was_float32 else value for name, (value, was_float32) in saved.items()}


def snapshot(trainer, state, stream, process) -> tuple:
    """(tensors, info) to write beside the pipeline."""
    optimizers = trainer.state_dict()
    tensors = {**optimizers["tensors"], **rng_states(process)}
    info = {"state": state.state_dict(), "stream": stream.state_dict(), "optimizers": optimizers["json"],
            "losses": {name: [float(value), isinstance(value, np.float32)] for name, value in trainer.losses.items()},
            "world_size": process.world_size, "versions": library_versions()}
    return tensors, info
