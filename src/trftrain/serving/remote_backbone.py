"""A backbone whose windows run on a `trftrain serve` server: piece ids out, piece vectors back, checked against
the fingerprint of the weights the pipeline was saved with."""
from concurrent.futures import Future
from typing import List, Optional, Sequence

import torch

from ..encoder.backbone import Backbone
from ..errors import Errors, TrftrainError
from .client import EncoderClient
from .wire import decode_response, encode_request


class RemoteBackbone(Backbone):
    """client (EncoderClient): the servers; fingerprint (str): the weights this pipeline was trained with.
    width (int): size of a piece vector; pipeline (Optional[str]): the served name to ask for, None to let the
    server find the encoder by fingerprint. wire_dtype (Optional[str]): "fp16", "bf16" or "fp32" on the wire, None
    for the precision the server computes in. max_request_pieces (int): larger batches go as several requests.
    """

    def __init__(self, client: EncoderClient, *, fingerprint: str, width: int, pipeline: Optional[str] = None,
                 wire_dtype: Optional[str] = None, max_request_pieces: int = 16384):
        super().__init__()
        self.client = client
        self._fingerprint = fingerprint
        self.width = width
        self.pipeline, self.wire_dtype = pipeline, wire_dtype
        self.max_request_pieces = max_request_pieces
        # What the last answer said about the server's side, for users who want to know (precision, name).
        self.served: dict = {}

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    def forward(self, windows: Sequence[Sequence[int]]) -> torch.Tensor:
        parts = self._parts(windows)
        if len(parts) == 1:  # in this thread: one request needs no worker
            return self._read(self.client.post(self._request(parts[0])), ", ".join(self.client.urls))
        return self.submit(windows).result()

    def submit(self, windows: Sequence[Sequence[int]]) -> "PendingVectors":
        """Send the windows now (several requests when they exceed max_request_pieces); the vectors come with
        `.result()`."""
        return PendingVectors([self.client.submit(self._request(part)) for part in self._parts(windows)], self)

    def verify(self) -> dict:
        """Ask every server whether it serves this encoder (an empty request); raises the server's refusal."""
        for url in self.client.urls:
            single = EncoderClient([url], token=self.client.token, timeout=self.client.timeout,
                                   retries=self.client.retries, backoff=self.client.backoff,
                                   transport=self.client.transport)
            try:
                self._read(single.post(self._request([])), url)
            finally:
                single.close()
        return self.served

    def _parts(self, windows: Sequence[Sequence[int]]) -> List[Sequence[Sequence[int]]]:
        parts, current, size = [], [], 0
        for window in windows:
            if current and size + len(window) > self.max_request_pieces:
                parts.append(current)
                current, size = [], 0
            current.append(window)
            size += len(window)
        return parts + [current] if current else parts

    def _request(self, windows: Sequence[Sequence[int]]) -> bytes:
        return encode_request(windows, fingerprint=self._fingerprint, pipeline=self.pipeline, dtype=self.wire_dtype)

    def _read(self, body: bytes, url: str) -> torch.Tensor:
        message = decode_response(body, lambda text: TrftrainError(Errors.E415.format(url=url, problem=text)))
        if message.get("fingerprint") != self._fingerprint or message["vectors"].shape[1] != self.width:
            raise TrftrainError(Errors.E415.format(url=url, problem=(
                f"vectors of encoder {message.get('fingerprint')} with width {message['vectors'].shape[1]}, asked "
                f"for {self._fingerprint} with width {self.width}")))
        self.served = {key: message.get(key) for key in ("pipeline", "fingerprint", "precision", "dtype")}
        limit = message.get("max_request_pieces")
        if isinstance(limit, int) and limit >= 1:  # the handshake tells the server's limit: cut requests to fit it
            self.max_request_pieces = min(self.max_request_pieces, limit)
        return message["vectors"]


class PendingVectors:
    """The piece vectors of windows sent with RemoteBackbone.submit; `.result()` waits for every part."""

    def __init__(self, parts: List[Future], backbone: RemoteBackbone):
        self.parts, self.backbone = parts, backbone

    def result(self) -> torch.Tensor:
        urls = ", ".join(self.backbone.client.urls)
        vectors = [self.backbone._read(part.result(), urls) for part in self.parts]
        return torch.cat(vectors) if vectors else torch.zeros(0, self.backbone.width)
