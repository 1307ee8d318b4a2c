"""Optimizer state as named tensors and JSON: torch AdamW moments keyed by parameter name, thinc Adam moments
keyed by (component, layer index, weight name), the fp16 grad scaler. Names rather than positions or ids, so
that a resumed process, which builds new objects, finds each value's owner; no pickle anywhere."""
from typing import Dict, Tuple

import numpy as np
import torch

from ..errors import Errors, TrftrainError

THINC_FIELDS = ("mom1", "mom2", "averages")


def _thinc_keys(trainer) -> Dict[Tuple[int, str], str]:
    """(thinc node id, weight name) -> a name that stays the same in another process."""
    keys = {}
    for _, proc, _ in trainer.compat:
        for index, node in enumerate(proc.model.walk()):
            for name in node.param_names:
                keys[(node.id, name)] = f"{proc.name}/{index}/{name}"
    return keys


def save_optimizers(trainer) -> dict:
    tensors: Dict[str, torch.Tensor] = {}
    info: dict = {}
    if trainer.optimizer is not None:
        names = trainer.parameter_names()
        for param, state in trainer.optimizer.state.items():
            for key, value in state.items():
                tensors[f"adamw/{names[param]}/{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
    if trainer.scaler is not None:
        info["grad_scaler"] = trainer.scaler.state_dict()
    opt = trainer.thinc_optimizer
    if opt is not None:
        keys = _thinc_keys(trainer)
        for field in THINC_FIELDS:
            for key, array in (getattr(opt, field) or {}).items():
                if key in keys:
                    tensors[f"thinc/{field}/{keys[key]}"] = torch.from_numpy(np.array(array, dtype=np.float32))
        info["thinc"] = {"nr_update": {keys[k]: v for k, v in opt.nr_update.items() if k in keys},
                         "last_seen": {keys[k]: v for k, v in opt.last_seen.items() if k in keys}}
    return {"tensors": tensors, "json": info}


def load_optimizers(trainer, state: dict) -> None:
    tensors, info = state["tensors"], state["json"]
    if trainer.optimizer is not None:
        by_name = {name: param for param, name in trainer.parameter_names().items()}
        loaded = {}
        for key, value in tensors.items():
            if not key.startswith("adamw/"):
                continue
            name, field = key[len("adamw/"):].rsplit("/", 1)
            if name not in by_name:
                raise TrftrainError(Errors.E313.format(path="checkpoint", problem=f"no parameter '{name}'"))
            loaded.setdefault(by_name[name], {})[field] = value
        group_of = {param: group for group in trainer.optimizer.param_groups for param in group["params"]}
        for param, fields in loaded.items():
            group = group_of[param]
            # torch keeps the step count on the parameter's device for its fused and capturable kernels only.
            step_device = param.device if group.get("fused") or group.get("capturable") else torch.device("cpu")
            trainer.optimizer.state[param] = {key: value.to(step_device if key == "step" else param.device)
                                              for key, value in fields.items()}
    if trainer.scaler is not None and "grad_scaler" in info:
        trainer.scaler.load_state_dict(info["grad_scaler"])
    opt = trainer.thinc_optimizer
    if opt is not None and "thinc" in info:
        by_name = {name: key for key, name in _thinc_keys(trainer).items()}
        for field in THINC_FIELDS:
            target = getattr(opt, field)
            if target is None:
                continue
            prefix = f"thinc/{field}/"
            for key, value in tensors.items():
                if key.startswith(prefix) and key[len(prefix):] in by_name:
                    target[by_name[key[len(prefix):]]] = value.numpy().copy()
        for field in ("nr_update", "last_seen"):
            counter = getattr(opt, field)
            for name, value in info["thinc"][field].items():
                if name in by_name:
                    counter[by_name[name]] = int(value)
