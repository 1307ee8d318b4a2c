"""Base class of trftrain's task heads: a torch module on top of the shared (or a private) encoder.

A head works in four steps, each its own method so that a trainer, a teacher or a server can take one alone:
`targets(examples)` reads what the loss needs from gold annotation (on the CPU, before any forward pass);
`scores(vectors)` is the forward pass; `loss(scores, targets)` gives summed loss terms with their item counts;
`decode(docs, scores)` turns scores into the annotation that `set_annotations` writes.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Union

import torch
from safetensors.torch import load_file, save_file
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from ..encoder.token_encoder import TokenEncoder
from ..encoder.token_vectors import TokenVectors
from ..errors import Errors, TrftrainError
from .torch_pipe import WEIGHTS_FILE, TorchPipe
from .transformer import stored_token_vectors

PRIVATE_ENCODER_DIR = "encoder"
# Builds the head's torch module once the encoder width and the label count are known.
ModelBuilder = Callable[[int, int], torch.nn.Module]


@dataclass
class LossTerm:
    """A loss summed over `count` items (tokens, arcs, docs). The trainer divides by the count of the whole batch,
    across processes in a distributed run, so that N processes compute the gradient one process would compute on
    the union of their batches."""

    total: torch.Tensor
    count: int


class SharedEncoder:
    """Config value meaning "read the transformer component named `upstream`"."""

    def __init__(self, upstream: str):
        self.upstream = upstream


class Head(TorchPipe):
    """A task head. Subclasses say how to read gold labels, compute a loss, decode and annotate.

    model (ModelBuilder): from a registered architecture; called with (encoder width, number of labels).
    encoder (SharedEncoder | TokenEncoder): the shared transformer, or a private one owned by this head.
    loss_weight (float): this head's share of the combined loss.
    """

    def __init__(self, vocab, model: ModelBuilder, name: str, *, encoder: Union[SharedEncoder, TokenEncoder],
                 loss_weight: float = 1.0):
        super().__init__(vocab, name)
        self.build_model = model
        self.encoder = encoder
        self.loss_weight = loss_weight
        self.model: Optional[torch.nn.Module] = None
        self.label_list: List[str] = []
        self.input_width = 0

    # -- what subclasses provide ----------------------------------------------------------------------------
    def collect_labels(self, examples: Iterable[Example]) -> List[str]:
        raise NotImplementedError

    def has_annotation(self, example: Example) -> bool:
        """Whether the gold doc carries anything this head learns from."""
        raise NotImplementedError

    def targets(self, examples: Sequence[Example]) -> Any:
        """What the loss needs from the gold docs of a batch, as CPU arrays; `.counts` gives the number of items
        of each loss term (all 0: nothing in the batch carries this head's annotation)."""
        raise NotImplementedError

    def scores(self, vectors: TokenVectors, targets: Any = None) -> Any:
        """The forward pass. With targets (training), whatever the loss needs; without, what decode needs."""
        raise NotImplementedError

    def loss(self, scores: Any, targets: Any) -> List[LossTerm]:
        """Summed loss terms, one per entry of targets.counts. Targets are gold ones from `targets()`, or a
        teacher's soft targets (components/soft_targets.py, parser_soft_targets.py), told apart by type."""
        raise NotImplementedError

    def decode(self, docs: Sequence[Doc], scores: Any):
        raise NotImplementedError

    # -- shared behaviour -----------------------------------------------------------------------------------
    @property
    def labels(self):
        return tuple(self.label_list)

    @property
    def uses_shared_encoder(self) -> bool:
        return isinstance(self.encoder, SharedEncoder)

    @property
    def private_encoder(self) -> Optional[TokenEncoder]:
        return None if self.uses_shared_encoder else self.encoder

    def torch_modules(self) -> Dict[str, torch.nn.Module]:
        modules = {"head": self.model} if self.model is not None else {}
        if self.private_encoder is not None:
            modules["encoder"] = self.private_encoder
        return modules

    def initialize(self, get_examples: Callable[[], Iterable[Example]], *, nlp: Optional[Language] = None,
                   labels: Optional[List[str]] = None) -> None:
        if self.uses_shared_encoder:
            width = self._shared_width(nlp)
        else:
            if not self.private_encoder.is_loaded:
                self.private_encoder.load_pretrained()
            width = self.private_encoder.width
        self.label_list = list(labels) if labels is not None else self.collect_labels(get_examples())
        if not self.label_list:
            raise TrftrainError(Errors.E704.format(name=self.name))
        self.input_width = width
        self.model = self.build_model(width, len(self.label_list))
        self.to(self.device)

    def _shared_width(self, nlp: Optional[Language]) -> int:
        upstream = self.encoder.upstream
        if nlp is None or upstream not in nlp.pipe_names:
            raise TrftrainError(Errors.E705.format(name=self.name, upstream=upstream,
                                                   names=nlp.pipe_names if nlp else []))
        transformer = nlp.get_pipe(upstream)
        if not transformer.encoder.is_loaded:
            raise TrftrainError(Errors.E706.format(upstream=upstream, name=self.name))
        return transformer.encoder.width

    def token_vectors(self, docs: Sequence[Doc]) -> TokenVectors:
        if self.uses_shared_encoder:
            return stored_token_vectors(docs, self.device, self.name)
        with self.private_encoder.inference_autocast():
            return self.private_encoder(docs)

    def predict(self, docs: Sequence[Doc]):
        for module in self.torch_modules().values():
            module.eval()
        with torch.inference_mode():
            return self.decode(docs, self.scores(self.token_vectors(docs)))

    # -- serialization --------------------------------------------------------------------------------------
    def settings(self) -> dict:
        return {"labels": self.label_list, "input_width": self.input_width}

    def load_settings(self, settings: dict) -> None:
        self.label_list = list(settings["labels"])
        self.input_width = int(settings["input_width"])

    def save_weights(self, path: Path) -> None:
        save_file({k: v.contiguous() for k, v in self.model.state_dict().items()}, str(path / WEIGHTS_FILE))
        if self.private_encoder is not None:
            self.private_encoder.save(path / PRIVATE_ENCODER_DIR)

    def load_weights(self, path: Path) -> None:
        if self.private_encoder is not None:
            self.private_encoder.load_saved(path / PRIVATE_ENCODER_DIR)
        self.model = self.build_model(self.input_width, len(self.label_list))
        self.model.load_state_dict(load_file(str(path / WEIGHTS_FILE)))
        self.to(self.device)
