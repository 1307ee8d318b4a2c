"""The one place where an annotation run obtains its pipeline: this process, each worker process and each Ray actor
call `load_pipeline` with the same picklable spec."""
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import Errors, TrftrainError


@dataclass(frozen=True)
class PipelineSpec:
    """How to obtain a pipeline, small enough to send to workers.

    name (str): a pipeline folder or an installed package name.
    gpu_id (int): CUDA device to run on; -1 for the CPU.
    precision (Optional[str]): encoder arithmetic (auto, bf16, fp16, off); None keeps the saved setting.
    int8 (bool): quantize the encoder to int8 (CPU).
    threads (Optional[int]): torch threads in this process; None leaves torch's default.
    """
    name: str
    gpu_id: int = -1
    precision: Optional[str] = None
    int8: bool = False
    threads: Optional[int] = None


def check_pipeline_exists(name: str) -> None:
    """Fail early, before any worker starts, when the pipeline cannot be found."""
    from spacy.util import is_package

    path = Path(name)
    if path.exists() and (path / "config.cfg").exists():
        return
    if not path.exists() and is_package(name):
        return
    raise TrftrainError(Errors.E617.format(name=name))


def load_pipeline(spec: PipelineSpec):
    """A loaded pipeline on the spec's device, ready for nlp.pipe.

    spec (PipelineSpec): what to load and where to run it.
    """
    import spacy
    import torch

    from .. import set_inference_precision, to_device
    from ..precision import SETTINGS
    from ..runtime import select_device

    if spec.threads:
        torch.set_num_threads(spec.threads)
    if spec.precision is not None and spec.precision not in SETTINGS:
        raise TrftrainError(Errors.E615.format(option="--precision", rule=f"one of {', '.join(SETTINGS)}",
                                               value=spec.precision))
    device = select_device(spec.gpu_id)
    # A remote encoder (`--remote URL` on a `trftrain serve` server) would be attached here, after loading and
    # instead of moving the pipeline to a device; every runner (in-process, workers, Ray actors) comes through here.
    check_pipeline_exists(spec.name)
    nlp = spacy.load(spec.name)
    to_device(nlp, device)
    if spec.precision is not None:
        set_inference_precision(nlp, spec.precision)
    if spec.int8:
        from ..quantization import quantize_int8

        quantize_int8(nlp)
    return nlp
