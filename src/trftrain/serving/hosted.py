"""The encoders a server hosts: each trained pipeline's shared transformer, loaded from a folder or package, named,
fingerprinted, and run on batches of windows at the pipeline's inference precision."""
from pathlib import Path
from typing import List, Optional, Tuple

import torch

from .. import precision
from ..components.transformer import Transformer
from ..encoder.backbone import HuggingFaceBackbone
from ..encoder.windows import max_input_length
from ..errors import Errors, TrftrainError
from .batching import Job
from .wire import EncodeRequest, WireError, encode_response, vector_bytes, wire_dtype


class HostedEncoder:
    """One served encoder.

    name (str): what clients may ask for; source (str): the pipeline folder or package it came from.
    backbone (HuggingFaceBackbone): the loaded model; autocast (Optional[torch.dtype]): its arithmetic.

    max_input (int): the longest input the encoder takes, specials included.
    """

    def __init__(self, name: str, source: str, backbone: HuggingFaceBackbone, autocast: Optional[torch.dtype],
                 max_input: int):
        self.name, self.source = name, source
        self.backbone = backbone
        self.autocast = autocast
        self.fingerprint = backbone.fingerprint
        self.vocab_size = int(backbone.model.config.vocab_size)
        self.n_special = len(backbone.prefix) + len(backbone.suffix)
        self.max_window = max_input - self.n_special

    @property
    def precision(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.autocast]

    def describe(self) -> dict:
        return {"name": self.name, "fingerprint": self.fingerprint, "source": self.source,
                "precision": self.precision, "device": str(self.backbone.device), "width": self.backbone.width,
                "max_batch_pieces": self.backbone.max_padded_pieces}

    def check(self, request: EncodeRequest) -> None:
        """Refuse (400) piece ids the embedding table lacks and windows longer than the encoder's input, before
        they can fail a batch that other clients' requests share."""
        if request.ids.size and (request.ids.min() < 0 or request.ids.max() >= self.vocab_size):
            bad = int(request.ids[(request.ids < 0) | (request.ids >= self.vocab_size)][0])
            raise WireError(400, Errors.E407.format(index="?", name=self.name,
                                                    problem=f"piece id {bad} is outside 0..{self.vocab_size - 1}"))
        if request.lengths.size and request.lengths.max() > self.max_window:
            index = int(request.lengths.argmax())
            raise WireError(400, Errors.E407.format(
                index=index, name=self.name, problem=f"{int(request.lengths[index])} pieces, over the encoder's "
                f"{self.max_window} (its input limit less {self.n_special} special tokens)"))

    def run(self, jobs: List[Job]) -> List[bytes]:
        """Encode the windows of every job in one go; one msgpack response per job."""
        windows = [window for job in jobs for window in job.windows]
        with torch.inference_mode(), precision.autocast(self.backbone.device, self.autocast):
            hidden = self.backbone(windows)
        hidden = hidden.to("cpu")
        native = wire_dtype(hidden.dtype)
        responses = []
        for job, rows in zip(jobs, hidden.split([job.pieces for job in jobs])):
            dtype = job.dtype or native
            responses.append(encode_response(pipeline=self.name, fingerprint=self.fingerprint,
                                             precision=self.precision, dtype=dtype, rows=rows.shape[0],
                                             width=rows.shape[1], data=vector_bytes(rows, dtype)))
        return responses


def parse_spec(spec: str) -> Tuple[Optional[str], str]:
    """"NAME=PATH" -> (NAME, PATH); a plain folder or package name -> (None, spec)."""
    name, sep, source = spec.partition("=")
    if sep and name and "/" not in name and "\\" not in name and not Path(spec).exists():
        return name, source
    return None, spec


def load_hosted(specs: List[str], *, device: torch.device, precision_setting: Optional[str] = None,
                max_batch_pieces: Optional[int] = None) -> List[HostedEncoder]:
    """Load the shared transformers of the pipelines in `specs` (folder, package name or NAME=PATH).

    precision_setting (Optional[str]): "auto", "bf16", "fp16" or "off" for every encoder; None keeps each
        pipeline's own `inference_precision`.
    max_batch_pieces (Optional[int]): padded pieces per encoder call; None keeps each pipeline's max_padded_pieces.
    """
    import spacy

    hosted: List[HostedEncoder] = []
    for spec in specs:
        name, source = parse_spec(spec)
        if not (Path(source) / "config.cfg").exists() and not spacy.util.is_package(source):
            raise TrftrainError(Errors.E401.format(spec=spec))
        nlp = spacy.load(source)
        transformers = [(component, proc) for component, proc in nlp.pipeline if isinstance(proc, Transformer)]
        if not transformers:
            raise TrftrainError(Errors.E402.format(source=source, components=nlp.pipe_names))
        base = name or f"{nlp.lang}_{nlp.meta.get('name', 'pipeline')}"
        for component, proc in transformers:
            encoder = proc.encoder
            if not isinstance(encoder.backbone, HuggingFaceBackbone):
                raise TrftrainError(Errors.E402.format(source=source, components=nlp.pipe_names)
                                    + f" ('{component}' is itself remote or not a Hugging Face model.)")
            proc.to(device)
            encoder.eval()
            if max_batch_pieces is not None:
                encoder.backbone.max_padded_pieces = max_batch_pieces
            setting = precision_setting or encoder.inference_precision
            served = base if len(transformers) == 1 else f"{base}/{component}"
            hosted.append(HostedEncoder(served, str(source), encoder.backbone,
                                        precision.autocast_dtype(setting, torch.device(device)),
                                        max_input_length(encoder.backbone.model.config, encoder.tokenizer)))
    seen = {}
    for encoder in hosted:
        if encoder.name in seen:
            raise TrftrainError(Errors.E403.format(name=encoder.name, first=seen[encoder.name], second=encoder.source))
        seen[encoder.name] = encoder.source
    return hosted
