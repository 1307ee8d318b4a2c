"""The wire format between a remote encoder's client and `trftrain serve`: msgpack maps whose arrays travel as raw
little-endian bytes with their dtype and shape. Nothing is unpickled; msgpack is read without extension hooks.

Request:  {"v": 1, "fingerprint": str, "pipeline": str | None, "ids": int32 bytes, "lengths": int32 bytes,
           "dtype": "fp32" | "fp16" | "bf16" | None}   (windows of piece ids, no special tokens, flattened)
Response: {"v": 1, "pipeline": str, "fingerprint": str, "precision": str, "dtype": str, "shape": [rows, width],
           "data": bytes}   (one vector per piece, windows in order)
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
import torch
from srsly import msgpack

from ..errors import Errors

VERSION = 1
CONTENT_TYPE = "application/x-msgpack"
ENCODE_PATH = "/v1/encode"
# Wire names of the float dtypes and how their bytes are read on either side.
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
_NUMPY_BYTES = {"fp32": "<f4", "fp16": "<f2", "bf16": "<u2"}  # numpy has no bf16: its bits travel as uint16
_REQUEST_KEYS = {"v", "fingerprint", "pipeline", "ids", "lengths", "dtype"}


class WireError(Exception):
    """A request the server refuses before it reaches the queue: HTTP status and the message for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class EncodeRequest:
    """A decoded request. ids (np.ndarray): int32 piece ids of all windows; lengths (np.ndarray): pieces per window."""

    fingerprint: str
    pipeline: Optional[str]
    ids: np.ndarray
    lengths: np.ndarray
    dtype: Optional[str]

    def windows(self) -> List[List[int]]:
        ends = np.cumsum(self.lengths)
        flat = self.ids.tolist()
        return [flat[end - n : end] for n, end in zip(self.lengths.tolist(), ends.tolist())]


# -- client side ---------------------------------------------------------------------------------------------------


def encode_request(windows: Sequence[Sequence[int]], *, fingerprint: str, pipeline: Optional[str] = None,
                   dtype: Optional[str] = None) -> bytes:
    """windows (Sequence[Sequence[int]]): piece ids without specials; dtype (Optional[str]): the wire dtype wanted
    for the vectors, None for the one the server computes in."""
    lengths = np.fromiter((len(w) for w in windows), dtype="<i4", count=len(windows))
    ids = np.fromiter((i for w in windows for i in w), dtype="<i4", count=int(lengths.sum()))
    return msgpack.packb({"v": VERSION, "fingerprint": fingerprint, "pipeline": pipeline, "ids": ids.tobytes(),
                          "lengths": lengths.tobytes(), "dtype": dtype}, use_bin_type=True)


def decode_response(body: bytes, problem) -> dict:
    """The response map, its "data" turned into a float32 (rows, width) tensor. `problem(str)` builds the error
    raised for a response that does not parse."""
    message = _unpack(body, lambda text: problem(text))
    try:
        rows, width = (int(n) for n in message["shape"])
        raw = np.frombuffer(message["data"], dtype=_NUMPY_BYTES[message["dtype"]])
        if raw.size != rows * width:
            raise ValueError(f"{raw.size} values for shape {rows} x {width}")
    except (KeyError, TypeError, ValueError) as err:
        raise problem(f"bad vectors ({err})") from None
    if message["dtype"] == "bf16":
        # bf16 is the upper half of a float32: widen the bits instead of going through a torch bf16 copy.
        vectors = torch.from_numpy((raw.astype(np.uint32) << 16).view(np.float32))
    else:
        vectors = torch.from_numpy(raw.astype(np.float32))
    message["vectors"] = vectors.reshape(rows, width)
    return message


# -- server side ---------------------------------------------------------------------------------------------------


def decode_request(body: bytes, max_pieces: int) -> EncodeRequest:
    """Parse and check a request body; raises WireError (400 malformed, 413 too many pieces)."""
    message = _unpack(body, lambda text: WireError(400, Errors.E405.format(problem=text)))
    if not isinstance(message, dict):
        raise WireError(400, Errors.E405.format(problem=f"the body is a {type(message).__name__}, not a map"))
    unknown = set(message) - _REQUEST_KEYS
    if message.get("v") != VERSION or unknown:
        raise WireError(400, Errors.E405.format(
            problem=f"version {message.get('v')!r} (this server speaks {VERSION})" if not unknown
            else f"unknown keys {sorted(map(str, unknown))}"))
    fingerprint, pipeline, dtype = message.get("fingerprint"), message.get("pipeline"), message.get("dtype")
    if not isinstance(fingerprint, str) or not 0 < len(fingerprint) <= 128:
        raise WireError(400, Errors.E405.format(problem="`fingerprint` must be the encoder's fingerprint string"))
    if pipeline is not None and (not isinstance(pipeline, str) or len(pipeline) > 200):
        raise WireError(400, Errors.E405.format(problem="`pipeline` must be a name or null"))
    if dtype is not None and dtype not in DTYPES:
        raise WireError(400, Errors.E405.format(problem=f"`dtype` {dtype!r} is not one of {', '.join(DTYPES)}"))
    ids = _int32_array(message.get("ids"), "ids")
    lengths = _int32_array(message.get("lengths"), "lengths")
    if ids.size > max_pieces:
        raise WireError(413, Errors.E406.format(size=ids.size, unit="pieces", limit=max_pieces,
                                                option="--max-request-pieces"))
    if lengths.size and (lengths.min() < 1 or int(lengths.sum()) != ids.size):
        raise WireError(400, Errors.E405.format(
            problem=f"`lengths` must be positive and add up to the {ids.size} ids"))
    if not lengths.size and ids.size:
        raise WireError(400, Errors.E405.format(problem="ids without `lengths`"))
    return EncodeRequest(fingerprint, pipeline, ids, lengths, dtype)


def vector_bytes(vectors: torch.Tensor, dtype: str) -> bytes:
    """(rows, width) tensor -> raw little-endian bytes of the wire dtype."""
    converted = vectors.detach().to(device="cpu", dtype=DTYPES[dtype]).contiguous()
    if dtype == "bf16":
        return np.ascontiguousarray(converted.view(torch.int16).numpy(), dtype="<i2").tobytes()
    return np.ascontiguousarray(converted.numpy(), dtype=_NUMPY_BYTES[dtype]).tobytes()


def encode_response(*, pipeline: str, fingerprint: str, precision: str, dtype: str, rows: int, width: int,
                    data: bytes, max_request_pieces: Optional[int] = None) -> bytes:
    """max_request_pieces: the server's limit, sent in the handshake so that clients cut their requests to fit."""
    message = {"v": VERSION, "pipeline": pipeline, "fingerprint": fingerprint, "precision": precision,
               "dtype": dtype, "shape": [rows, width], "data": data}
    if max_request_pieces is not None:
        message["max_request_pieces"] = max_request_pieces
    return msgpack.packb(message, use_bin_type=True)


def wire_dtype(tensor_dtype: torch.dtype) -> str:
    """The wire name of a torch float dtype."""
    return next(name for name, dtype in DTYPES.items() if dtype == tensor_dtype)


# -- both ----------------------------------------------------------------------------------------------------------


def _unpack(body: bytes, error):
    try:
        # object_pairs_hook keeps srsly's extension decoders (numpy) out: only plain msgpack types come back.
        return msgpack.unpackb(body, raw=False, object_pairs_hook=dict, strict_map_key=True)
    except Exception as err:  # msgpack raises several unrelated types for truncated or invalid input
        raise error(f"the body is not msgpack ({type(err).__name__})") from None


def _int32_array(value, key: str) -> np.ndarray:
    if not isinstance(value, bytes) or len(value) % 4:
        raise WireError(400, Errors.E405.format(problem=f"`{key}` must be bytes of little-endian int32"))
    return np.frombuffer(value, dtype="<i4")
