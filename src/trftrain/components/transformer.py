"""The shared transformer: runs once per batch and leaves one vector per token on each Doc."""
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, Optional, Sequence

import numpy as np
import torch
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

from ..encoder.token_encoder import TokenEncoder
from ..encoder.token_vectors import TokenVectors
from ..errors import Errors, TrftrainError
from ..listener import connect_listeners
from .doc_vectors import set_vector_hooks
from .torch_pipe import TorchPipe

ENCODER_DIR = "encoder"

if not Doc.has_extension("trf_vectors"):
    # (n_tokens, width) float32 array: the transformer's output aligned to spaCy tokens.
    Doc.set_extension("trf_vectors", default=None)

class Transformer(TorchPipe):
    """Runs a TokenEncoder over batches of Docs and stores the aligned token vectors on `doc._.trf_vectors`.

    set_doc_vectors (bool): make doc/span/token `.vector` and `.similarity` use the transformer's output.
    """

    def __init__(self, vocab, model: TokenEncoder, name: str = "transformer", *, set_doc_vectors: bool = True):
        super().__init__(vocab, name)
        self.model = model
        self.set_doc_vectors = set_doc_vectors

    @property
    def encoder(self) -> TokenEncoder:
        return self.model

    def torch_modules(self) -> Dict[str, torch.nn.Module]:
        return {"encoder": self.model}

    def initialize(self, get_examples: Callable[[], Iterable], *, nlp: Optional[Language] = None) -> None:
        if not self.model.is_loaded:
            self.model.load_pretrained()
            self.model.to(self.device)
        if nlp is not None:
            connect_listeners(nlp, self.name, self.model.width)

    def predict(self, docs: Sequence[Doc]) -> TokenVectors:
        return self.model.predict(docs)

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        # The encoder takes the whole stream of batches, so a remote one can keep several in flight while the heads
        # work on the batch before.
        for docs, vectors in self.model.predict_batches(minibatch(stream, size=batch_size)):
            self.set_annotations(docs, vectors)
            yield from docs

    def set_annotations(self, docs: Sequence[Doc], vectors: TokenVectors) -> None:
        store_token_vectors(docs, vectors, self.set_doc_vectors)

    def save_weights(self, path: Path) -> None:
        self.model.save(path / ENCODER_DIR)

    def load_weights(self, path: Path) -> None:
        self.model.load_saved(path / ENCODER_DIR)
        self.model.to(self.device)


def store_token_vectors(docs: Sequence[Doc], vectors: TokenVectors, set_doc_vectors: bool) -> None:
    """Keep each doc's token vectors as a CPU float32 array: picklable, DocBin-friendly, no device memory held."""
    data = vectors.data.detach().float().cpu().numpy()
    start = 0
    for doc, length in zip(docs, vectors.lengths):
        doc._.trf_vectors = data[start : start + length]
        start += length
        if set_doc_vectors:
            set_vector_hooks(doc)


def stored_token_vectors(docs: Sequence[Doc], device: torch.device, reader: str) -> TokenVectors:
    """Rebuild TokenVectors from what the transformer left on the docs."""
    arrays = []
    for doc in docs:
        if doc._.trf_vectors is None:
            raise TrftrainError(Errors.E713.format(reader=f"'{reader}'"))
        arrays.append(doc._.trf_vectors)
    data = torch.from_numpy(np.concatenate(arrays)) if arrays else torch.zeros(0, 0)
    return TokenVectors(data.to(device), [len(doc) for doc in docs])
