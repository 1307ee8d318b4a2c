"""Random number generator states (python, numpy, torch CPU and CUDA) as plain tensors, so that a checkpoint
stores them in safetensors rather than pickle, and a resumed run draws the same dropout masks."""
import random
from typing import Dict

import numpy as np
import torch


def capture() -> Dict[str, torch.Tensor]:
    version, internal, gauss = random.getstate()
    kind, keys, position, has_gauss, cached = np.random.get_state()
    state = {
        "python": torch.tensor([version, *internal], dtype=torch.int64),
        "python_gauss": torch.tensor([float("nan") if gauss is None else gauss], dtype=torch.float64),
        "numpy": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
        "numpy_extra": torch.tensor([position, has_gauss], dtype=torch.int64),
        "numpy_gauss": torch.tensor([cached], dtype=torch.float64),
        "torch": torch.get_rng_state().clone(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for index, cuda_state in enumerate(torch.cuda.get_rng_state_all()):
            state[f"cuda{index}"] = cuda_state.clone()
    return state


def restore(state: Dict[str, torch.Tensor]) -> None:
    python = state["python"].tolist()
    gauss = float(state["python_gauss"][0])
    random.setstate((python[0], tuple(python[1:]), None if np.isnan(gauss) else gauss))
    position, has_gauss = state["numpy_extra"].tolist()
    np.random.set_state(("MT19937", state["numpy"].numpy().astype(np.uint32), position, has_gauss,
                         float(state["numpy_gauss"][0])))
    torch.set_rng_state(state["torch"].to(torch.uint8))
    cuda_states = [state[f"cuda{i}"] for i in range(len(state)) if f"cuda{i}" in state]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.to(torch.uint8) for s in cuda_states])
