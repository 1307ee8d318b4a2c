"""Checkpoints a run can resume from: the pipeline, the training state's tensors (safetensors) and the rest
(JSON), written atomically (atomic_folders.py); and reading them back."""
import json
from pathlib import Path
from typing import Dict

import torch
from safetensors.torch import load_file, save_file

from ..atomic_folders import save_atomically
from ..errors import Errors, TrftrainError

CHECKPOINT = "checkpoint-last"
STATE_TENSORS = "state.safetensors"
STATE_JSON = "state.json"
RUN_CONFIG = "run_config.cfg"
PIPELINE = "pipeline"


def write_checkpoint(target: Path, nlp, tensors: Dict[str, torch.Tensor], info: dict, run_config: str) -> None:
    """The pipeline, the training state's tensors (safetensors) and the rest (JSON): nothing needs unpickling."""
    def write(folder: Path) -> None:
        nlp.to_disk(folder / PIPELINE)
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(folder / STATE_TENSORS))
        # The standard library's json: its floats round-trip exactly (srsly's ujson rounds the last digits).
        (folder / STATE_JSON).write_text(json.dumps(info), encoding="utf8")
        (folder / RUN_CONFIG).write_text(run_config, encoding="utf8")

    save_atomically(write, target)


def read_checkpoint(folder: Path) -> tuple:
    """(pipeline folder, tensors, info, run config text) of a checkpoint written by write_checkpoint."""
    folder = Path(folder)
    for name in (PIPELINE, STATE_TENSORS, STATE_JSON, RUN_CONFIG):
        if not (folder / name).exists():
            raise TrftrainError(Errors.E313.format(path=folder, problem=f"{name} is missing"))
    try:
        tensors = load_file(str(folder / STATE_TENSORS))
        info = json.loads((folder / STATE_JSON).read_text(encoding="utf8"))
    except Exception as err:  # a damaged file: safetensors and json raise several types
        raise TrftrainError(Errors.E313.format(path=folder, problem=err)) from None
    return folder / PIPELINE, tensors, info, (folder / RUN_CONFIG).read_text(encoding="utf8")
