"""The pipeline's trainable torch parts as one module: shared encoders and heads, `forward(docs, targets)` -> the
loss terms of every head. One object for a distributed wrapper or a compiler to take; the spaCy components
around it keep their annotation code."""
from typing import Any, Dict, List, Sequence, Set, Tuple

import torch
from spacy.tokens import Doc

from .. import precision
from ..components.head import Head, LossTerm
from ..components.transformer import Transformer
from ..encoder.token_vectors import TokenVectors


def _key(name: str) -> str:
    return name.replace(".", "_")  # ModuleDict keys cannot hold dots


class MultiTaskModel(torch.nn.Module):
    """transformers: the pipeline's transformer components by name; heads: the heads being trained;
    frozen: names of components trained no further (a frozen transformer runs without gradients);
    autocast_dtype: mixed precision of the encoders (None: fp32)."""

    def __init__(self, transformers: Dict[str, Transformer], heads: Sequence[Head], frozen: Set[str],
                 device: torch.device, autocast_dtype=None):
        super().__init__()
        self.encoders = torch.nn.ModuleDict({_key(name): t.encoder for name, t in transformers.items()})
        self.head_modules = torch.nn.ModuleDict({_key(h.name): torch.nn.ModuleDict(h.torch_modules()) for h in heads})
        self.transformer_names = list(transformers)
        self.heads = list(heads)
        self.frozen = set(frozen)
        self.device = device
        self.autocast_dtype = autocast_dtype

    def encode(self, name: str, docs: Sequence[Doc]) -> TokenVectors:
        """Mixed precision covers the encoders only; their token vectors come out in fp32 and the heads stay
        there. Heads are a small part of the arithmetic, and in bf16 on the CPU every new matrix shape (the
        parser's arc scores are tokens x tokens of each doc) built and kept another oneDNN kernel: peak memory
        of 240 EWT steps grew from 1.9 to 3.5 GB."""
        with torch.set_grad_enabled(name not in self.frozen and torch.is_grad_enabled()):
            with precision.autocast(self.device, self.autocast_dtype):
                return self.encoders[_key(name)](docs)

    def _private_encode(self, head: Head, docs: Sequence[Doc]) -> TokenVectors:
        with precision.autocast(self.device, self.autocast_dtype):
            return head.private_encoder(docs)

    def forward(self, docs: Sequence[Doc], targets: Dict[str, Any],
                listened: Set[str] = frozenset()) -> Tuple[Dict[str, List[LossTerm]], Dict[str, TokenVectors]]:
        """targets: per head name, the head's targets for these docs; heads without an entry are skipped (nothing
        in the batch carries their annotation). listened: transformers that spaCy components read as well.
        Returns the loss terms per head, and the shared encoders' outputs (for the listener path)."""
        active = [h for h in self.heads if h.name in targets]
        wanted = {h.encoder.upstream for h in active if h.uses_shared_encoder} | set(listened)
        outputs = {name: self.encode(name, docs) for name in self.transformer_names if name in wanted}
        terms = {}
        for head in active:
            vectors = outputs[head.encoder.upstream] if head.uses_shared_encoder else self._private_encode(head, docs)
            terms[head.name] = head.loss(head.scores(vectors, targets[head.name]), targets[head.name])
        return terms, outputs
