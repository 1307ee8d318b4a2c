"""Let spaCy's own components (ner, parser, spancat, ...) read the shared transformer through a thinc layer.

This is the compatibility path. At inference the layer reads `doc._.trf_vectors`. In training the trainer
hands it the batch's live token vectors explicitly (`training_batch`), keyed by the layer itself, not by a
batch id; the gradients spaCy's component sends back are summed into the shared encoder's backward pass.
"""
from contextlib import contextmanager
from typing import Dict, List, Optional, Set

import numpy as np
import torch
from spacy.tokens import Doc
from thinc.api import Model

from .encoder.token_vectors import TokenVectors
from .errors import Errors, TrftrainError

LISTENER_NAME = "trftrain_listener"


class ListenerBatch:
    """The docs of one training batch, their token vectors (with grad), and the gradient sent back."""

    def __init__(self, docs: List[Doc], vectors: TokenVectors):
        self.docs = docs
        self.vectors = vectors
        self.gradient: Optional[torch.Tensor] = None

    def matches(self, docs: List[Doc]) -> bool:
        return len(docs) == len(self.docs) and all(a is b for a, b in zip(docs, self.docs))

    def add_gradient(self, d_arrays) -> None:
        flat = np.concatenate([np.asarray(d, dtype=np.float32) for d in d_arrays]) if len(d_arrays) else None
        if flat is None or flat.size == 0:
            return
        grad = torch.from_numpy(flat).to(self.vectors.data.device)
        self.gradient = grad if self.gradient is None else self.gradient + grad


_ACTIVE: Dict[int, ListenerBatch] = {}
# Listeners whose component is being initialized: spaCy runs them on sample Docs that have no transformer
# output yet, only to infer shapes, so they may answer with zeros until initialization ends.
_INITIALIZING: Set[int] = set()


def build_listener(upstream: str = "transformer", width: Optional[int] = None) -> Model:
    """A thinc layer Docs -> List[Floats2d] that yields the shared transformer's token vectors."""
    return Model(LISTENER_NAME, _forward, dims={"nO": width}, attrs={"upstream": upstream})


def _forward(model: Model, docs: List[Doc], is_train: bool):
    batch = _ACTIVE.get(model.id) if is_train else None
    if batch is not None and batch.matches(docs):
        arrays = [model.ops.asarray2f(x.detach().float().cpu().numpy()) for x in batch.vectors.per_doc()]

        def backprop(d_arrays):
            batch.add_gradient(d_arrays)
            return []

        return arrays, backprop
    arrays = []
    for doc in docs:
        if doc._.trf_vectors is None and model.id in _INITIALIZING:
            arrays.append(model.ops.alloc2f(len(doc), model.get_dim("nO")))
            continue
        if doc._.trf_vectors is None:
            raise TrftrainError(Errors.E713.format(reader=f"A listener for '{model.attrs['upstream']}'"))
        arrays.append(model.ops.asarray2f(doc._.trf_vectors))
    return arrays, lambda d_arrays: []


def listeners_of(nlp, upstream: str) -> Dict[str, List[Model]]:
    """Listener layers reading `upstream`, by component name."""
    found: Dict[str, List[Model]] = {}
    for name, proc in nlp.pipeline:
        model = getattr(proc, "model", None)
        if isinstance(model, Model):
            nodes = [n for n in model.walk() if n.name == LISTENER_NAME and n.attrs["upstream"] in (upstream, "*")]
            if nodes:
                found[name] = nodes
    return found


def connect_listeners(nlp, upstream: str, width: int) -> None:
    """Give every listener of `upstream` its width before spaCy initializes the component around it."""
    for nodes in listeners_of(nlp, upstream).values():
        for node in nodes:
            if not node.has_dim("nO"):
                node.set_dim("nO", width)
            _INITIALIZING.add(node.id)


def finish_initialization(nlp) -> None:
    """From now on a listener fed a Doc without transformer output is an error, not a shape probe."""
    for _, proc in nlp.pipeline:
        model = getattr(proc, "model", None)
        if isinstance(model, Model):
            for node in model.walk():
                _INITIALIZING.discard(node.id)


@contextmanager
def training_batch(nodes: List[Model], batch: ListenerBatch):
    """Within the block, `nodes` read `batch` in training mode."""
    for node in nodes:
        _ACTIVE[node.id] = batch
    try:
        yield batch
    finally:
        for node in nodes:
            _ACTIVE.pop(node.id, None)
