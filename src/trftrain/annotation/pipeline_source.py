"""The one place where an annotation run obtains its pipeline: this process, each worker process and each Ray actor
call `load_pipeline` with the same picklable spec."""
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

from ..errors import Errors, TrftrainError


@dataclass(frozen=True)
class PipelineSpec:
    """How to obtain a pipeline, small enough to send to workers.

    name (str): a pipeline folder or an installed package name.
    gpu_id (int): CUDA device to run on; -1 for the CPU.
    precision (Optional[str]): encoder arithmetic (auto, bf16, fp16, off); None keeps the saved setting.
    int8 (bool): quantize the encoder to int8 (CPU).
    threads (Optional[int]): torch threads in this process; None leaves torch's default.
    remote (Tuple[str, ...]): URLs of `trftrain serve` servers that run the encoder; empty runs it here. The bearer
        token comes from TRFTRAIN_SERVE_TOKEN in each worker's environment, so it never travels in the spec.
    """
    name: str
    gpu_id: int = -1
    precision: Optional[str] = None
    int8: bool = False
    threads: Optional[int] = None
    remote: Tuple[str, ...] = ()


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
    check_pipeline_exists(spec.name)
    if spec.remote:
        return _load_with_remote_encoder(spec)
    device = select_device(spec.gpu_id)
    nlp = spacy.load(spec.name)
    to_device(nlp, device)
    if spec.precision is not None:
        set_inference_precision(nlp, spec.precision)
    if spec.int8:
        from ..quantization import quantize_int8

        quantize_int8(nlp)
    return nlp


def _load_with_remote_encoder(spec: PipelineSpec):
    """The pipeline with its encoder on the servers: the heads run in this process, on its CPU. Every runner
    (in-process, worker processes, Ray actors) comes through here, so each keeps its own requests in flight."""
    from ..serving.load_remote import load_remote

    # The server decides the encoder's device and arithmetic; options that would change them here mean nothing.
    for option, given in (("--gpu", spec.gpu_id >= 0), ("--precision", spec.precision is not None),
                          ("--int8", spec.int8)):
        if given:
            raise TrftrainError(Errors.E621.format(option=option))
    return load_remote(spec.name, urls=list(spec.remote))
