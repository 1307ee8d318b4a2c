"""A TokenEncoder whose backbone runs on `trftrain serve`: tokenizing, windowing, overlap averaging and pooling
stay here, so a pipeline saved with a local encoder loads remote with only its tokenizer files and fingerprint."""
import contextlib
import contextvars
from collections import deque
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

import torch
from spacy.tokens import Doc

from ..encoder import loading
from ..encoder.backbone import FINGERPRINT_FILE, weights_fingerprint
from ..encoder.token_encoder import TokenEncoder
from ..encoder.token_vectors import TokenVectors
from ..errors import Errors, TrftrainError, config_error
from .client import EncoderClient
from .remote_backbone import RemoteBackbone
from .wire import DTYPES

# A token handed to load_remote travels here rather than in the config, which a saved pipeline would write out.
LOAD_TOKEN: contextvars.ContextVar = contextvars.ContextVar("trftrain_remote_token", default=None)
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class RemoteTokenEncoder(TokenEncoder):
    """TokenEncoder settings (window, stride, pooling) as the pipeline was trained with, plus:

    urls (List[str]): servers of `trftrain serve`, spread over. pipeline (Optional[str]): served name to ask for;
        None finds the encoder by its fingerprint. token (Optional[str]): bearer token (else TRFTRAIN_SERVE_TOKEN).
    timeout (float), retries (int): per request. in_flight (int): batches `nlp.pipe` keeps at the servers.
    wire_dtype (Optional[str]): "fp16", "bf16" or "fp32" for the vectors on the wire; None for the precision the
        server computes in (the pipeline's inference precision, on the server's hardware).
    max_request_pieces (int): a batch with more pieces goes as several requests.
    verify (bool): when loading, ask every server whether it serves this encoder.
    """

    def __init__(self, name: str, *, urls: List[str], pipeline: Optional[str] = None, token: Optional[str] = None,
                 timeout: float = 60.0, retries: int = 3, in_flight: int = 4, wire_dtype: Optional[str] = None,
                 max_request_pieces: int = 16384, verify: bool = True, config_key: str = "components.transformer.model",
                 **encoder_settings):
        super().__init__(name, config_key=config_key, **encoder_settings)
        if not urls:
            raise TrftrainError(Errors.E417.format(key=config_key))
        if wire_dtype is not None and wire_dtype not in DTYPES:
            raise config_error(f"{config_key}.wire_dtype", f"'{wire_dtype}' is not one of {', '.join(DTYPES)} or null.")
        for key, value, low in (("in_flight", in_flight, 1), ("retries", retries, 0),
                                ("max_request_pieces", max_request_pieces, 1)):
            if value < low:
                raise config_error(f"{config_key}.{key}", f"{value} must be >= {low}.")
        self.urls, self.pipeline, self.in_flight = list(urls), pipeline, in_flight
        self.wire_dtype, self.max_request_pieces, self.verify = wire_dtype, max_request_pieces, verify
        self.client = EncoderClient(self.urls, token=token or LOAD_TOKEN.get(), timeout=timeout, retries=retries,
                                    max_in_flight=in_flight)
        self.model_config = None

    # -- loading: tokenizer, config and fingerprint; never the weights --------------------------------------------
    def load_pretrained(self) -> None:
        raise TrftrainError(Errors.E416.format(key=self.config_key))

    def load_saved(self, directory: Path) -> None:
        from transformers import AutoConfig, AutoTokenizer

        with loading.quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
            model_config = AutoConfig.from_pretrained(directory, local_files_only=True)
        self._checked_affixes(model_config, tokenizer)
        self.tokenizer, self.model_config = tokenizer, model_config
        self.backbone = RemoteBackbone(self.client, fingerprint=saved_fingerprint(Path(directory)),
                                       width=int(model_config.hidden_size), pipeline=self.pipeline,
                                       wire_dtype=self.wire_dtype, max_request_pieces=self.max_request_pieces)
        if self.verify:
            self.backbone.verify()

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with loading.quiet_transformers():
            self.tokenizer.save_pretrained(directory)
            self.model_config.save_pretrained(directory)
        (directory / FINGERPRINT_FILE).write_text(self.backbone.fingerprint + "\n")

    def inference_autocast(self):
        # The server computes in its precision; what is left here (averaging, pooling) stays in float32.
        return contextlib.nullcontext()

    # -- prediction: several batches at the servers while the caller works ---------------------------------------
    def predict_batches(self, batches: Iterable[Sequence[Doc]]) -> Iterator[Tuple[Sequence[Doc], TokenVectors]]:
        pending = deque()
        for docs in batches:
            pending.append(self._send(docs))
            if len(pending) >= self.in_flight:
                yield self._receive(*pending.popleft())
        while pending:
            yield self._receive(*pending.popleft())

    def _send(self, docs: Sequence[Doc]):
        encoded = self.tokenize(docs)
        windows, placement = self.cut_windows(encoded["input_ids"])
        return docs, encoded, placement, self.backbone.submit(windows)

    def _receive(self, docs, encoded, placement, vectors) -> Tuple[Sequence[Doc], TokenVectors]:
        with torch.no_grad():
            pieces = self.merge_windows(vectors.result(), placement)
            lengths = [len(doc) for doc in docs]
            return docs, self._pool(docs, encoded["offset_mapping"], encoded["input_ids"], pieces, lengths)


def saved_fingerprint(directory: Path) -> str:
    """The fingerprint a saved encoder recorded; for pipelines saved before fingerprints were, computed from the
    weights when they are there."""
    recorded = directory / FINGERPRINT_FILE
    if recorded.exists():
        return recorded.read_text().strip()
    if any((directory / name).exists() for name in _WEIGHT_FILES):
        model, _ = loading.load_saved(directory)
        return weights_fingerprint(model)
    raise TrftrainError(Errors.E418.format(path=directory))
