"""A Hugging Face encoder that reads spaCy Docs and returns one vector per spaCy token.

Per batch: tokenize the texts once (fast tokenizer, character offsets), cut each text into windows counted
in pieces, hand every window of the batch to the backbone together (backbone.py: the model itself, local or
remote), average the pieces that windows share, then pool pieces into tokens with one weighted scatter.
Nothing loops over tokens in Python.
"""
from pathlib import Path
from typing import Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from spacy.tokens import Doc

from .. import precision
from ..alignment import align, pooling_weights
from ..errors import config_error
from . import loading
from .backbone import FINGERPRINT_FILE, Backbone, HuggingFaceBackbone
from .layer_mix import LAYER_MIXES
from .settings import DEFAULT
from .token_vectors import TokenVectors
from .windows import max_input_length, special_affixes, window_starts

POOLINGS = ("mean", "first", "last")
LAYER_MIX_FILE = "layer_mix.safetensors"


class TokenEncoder(torch.nn.Module):
    """name (str): local directory, installed package that ships a model, or hub name. The other settings and their
    defaults: encoder/settings.py.
    window, stride (int): window length and distance between window starts, in pieces (specials excluded).
    pooling (str): how a token's pieces become its vector: "mean", "first" or "last".
    max_padded_pieces (int): budget of padded pieces (specials included) per encoder call. Windows are sorted
        by length and cut into calls under this budget, so short texts are not padded to the longest in the
        batch, and memory stays bounded on huge texts.
    attention_dropout, hidden_dropout (Optional[float]): training dropout on attention weights and on hidden
        states instead of the encoder's own (None keeps its config). With attention_dropout 0, CPU training can
        use the fused attention kernel (on MiniLM and SST-2: about 10% faster steps).
    inference_precision (str): autocast outside training: "auto" (bf16 on CUDA GPUs and on CPUs with AMX or
        AVX-512 BF16, else fp32), "bf16", "fp16" (CUDA) or "off" (fp32). Training follows
        `training.mixed_precision` instead.
    layers (Optional[int]): keep only the encoder's first `layers` layers, initialised from its weights (None: all).
        The saved encoder has that many, so a saved pipeline reloads as it was trained.
    config_key (str): where this encoder sits in the config, for error messages.
    """

    def __init__(self, name: str, *, window: int = DEFAULT.window, stride: int = DEFAULT.stride,
                 pooling: str = DEFAULT.pooling, max_padded_pieces: int = DEFAULT.max_padded_pieces,
                 attention_dropout: Optional[float] = DEFAULT.attention_dropout,
                 hidden_dropout: Optional[float] = DEFAULT.hidden_dropout,
                 inference_precision: str = DEFAULT.inference_precision, layers: Optional[int] = DEFAULT.layers,
                 layer_mix: str = DEFAULT.layer_mix, config_key: str = "components.transformer.model"):
        super().__init__()
        if pooling not in POOLINGS:
            raise config_error(f"{config_key}.pooling", f"'{pooling}' is not one of {', '.join(POOLINGS)}.")
        if not 0 < stride <= window:
            raise config_error(f"{config_key}.stride", f"{stride} must be > 0 and <= window ({window}).")
        self.name, self.window, self.stride, self.pooling = name, window, stride, pooling
        if max_padded_pieces < 1:
            raise config_error(f"{config_key}.max_padded_pieces", f"{max_padded_pieces} must be >= 1.")
        self.max_padded_pieces = max_padded_pieces
        self.dropout = {key: rate for key, rate in (("attention_dropout", attention_dropout),
                                                      ("hidden_dropout", hidden_dropout)) if rate is not None}
        for key, rate in self.dropout.items():
            if not 0 <= rate < 1:
                raise config_error(f"{config_key}.{key}", f"{rate} must be >= 0 and < 1.")
        if inference_precision not in precision.SETTINGS:
            raise config_error(f"{config_key}.inference_precision",
                               f"'{inference_precision}' is not one of {', '.join(precision.SETTINGS)}.")
        self.inference_precision = inference_precision
        if layers is not None and (not isinstance(layers, int) or layers < 1):
            raise config_error(f"{config_key}.layers", f"{layers!r} must be a whole number >= 1, or null for all layers.")
        self.layers = layers
        if layer_mix not in LAYER_MIXES:
            raise config_error(f"{config_key}.layer_mix", f"'{layer_mix}' is not one of {', '.join(LAYER_MIXES)}.")
        self.layer_mix = layer_mix
        self.config_key = config_key
        # Set when weights load: the part that runs windows of piece ids (local, quantized or remote).
        self.backbone: Optional[Backbone] = None
        self.tokenizer = None

    # -- loading -------------------------------------------------------------------------------------------
    def load_pretrained(self) -> None:
        self._attach(*loading.load_pretrained(self.name, self.dropout, self.config_key, layers=self.layers))

    def load_saved(self, directory: Path) -> None:
        self._attach(*loading.load_saved(directory))
        if self.backbone.mix is not None:
            self.backbone.mix.load_state_dict(load_file(str(Path(directory) / LAYER_MIX_FILE)))

    def save(self, directory: Path) -> None:
        loading.save(self.backbone.model, self.tokenizer, directory)
        if self.backbone.mix is not None:
            save_file(self.backbone.mix.state_dict(), str(Path(directory) / LAYER_MIX_FILE))
        # Fresh, not the backbone's cached value: training changes the weights after a first fingerprint. A remote
        # encoder reads this file to ask the server for these weights without having them.
        (Path(directory) / FINGERPRINT_FILE).write_text(self.backbone.current_fingerprint() + "\n")

    def _attach(self, model, tokenizer) -> None:
        prefix, suffix = self._checked_affixes(model.config, tokenizer)
        pad = tokenizer.pad_token_id
        self.tokenizer = tokenizer
        self.backbone = HuggingFaceBackbone(model, prefix=prefix, suffix=suffix, pad_id=pad if pad is not None else 0,
                                            max_padded_pieces=self.max_padded_pieces, layer_mix=self.layer_mix)

    def _checked_affixes(self, model_config, tokenizer) -> tuple:
        """The tokenizer's (prefix, suffix) special ids, once the window is known to fit the encoder's input."""
        prefix, suffix = special_affixes(tokenizer)
        limit = max_input_length(model_config, tokenizer)
        n_special = len(prefix) + len(suffix)
        if self.window + n_special > limit:
            raise config_error(f"{self.config_key}.window", f"{self.window} pieces plus {n_special} special "
                               f"tokens exceed the encoder's maximum input of {limit}; use window <= {limit - n_special}.")
        return prefix, suffix

    @property
    def is_loaded(self) -> bool:
        return self.backbone is not None

    @property
    def width(self) -> int:
        return self.backbone.width

    @property
    def device(self) -> torch.device:
        return self.backbone.device

    # -- forward -------------------------------------------------------------------------------------------
    def inference_autocast(self):
        """The autocast context for predicting with this encoder (the trainer sets its own for training)."""
        return precision.autocast(self.device, precision.autocast_dtype(self.inference_precision, self.device))

    def predict(self, docs: Sequence[Doc]) -> TokenVectors:
        """Token vectors for prediction: eval mode, no gradients, the inference precision."""
        self.eval()
        with torch.inference_mode(), self.inference_autocast():
            return self(docs)

    def predict_batches(self, batches: Iterable[Sequence[Doc]]) -> Iterator[Tuple[Sequence[Doc], TokenVectors]]:
        """(docs, token vectors) per batch, in order. Here one batch after another; a remote encoder keeps several
        batches in flight so that the caller's work on one overlaps the server's on the next."""
        for docs in batches:
            yield docs, self.predict(docs)

    def forward(self, docs: Sequence[Doc]) -> TokenVectors:
        lengths = [len(doc) for doc in docs]
        encoded = self.tokenize(docs)
        piece_vectors = self.encode_pieces(encoded["input_ids"])
        return self._pool(docs, encoded["offset_mapping"], encoded["input_ids"], piece_vectors, lengths)

    def tokenize(self, docs: Sequence[Doc]) -> dict:
        """The fast tokenizer's piece ids and character offsets per doc (no special tokens)."""
        return self.tokenizer([doc.text for doc in docs], add_special_tokens=False, return_offsets_mapping=True,
                              return_attention_mask=False, return_token_type_ids=False, verbose=False)

    def encode_pieces(self, piece_ids: List[List[int]]) -> torch.Tensor:
        """(n_pieces_in_batch, width): contextual vectors of every piece, overlapping windows averaged."""
        windows, placement = self.cut_windows(piece_ids)
        if not windows:
            return torch.zeros(0, self.width, device=self.device)
        return self.merge_windows(self.backbone(windows), placement)

    def cut_windows(self, piece_ids: List[List[int]]) -> Tuple[List[List[int]], "WindowPlacement"]:
        """The windows of a batch's pieces, and where each window's pieces sit in the batch."""
        windows, targets = [], []
        doc_offset = 0
        for ids in piece_ids:
            for start in window_starts(len(ids), self.window, self.stride):
                chunk = ids[start : start + self.window]
                windows.append(chunk)
                targets.append(np.arange(doc_offset + start, doc_offset + start + len(chunk)))
            doc_offset += len(ids)
        return windows, WindowPlacement(np.concatenate(targets) if targets else np.zeros(0, np.int64), doc_offset)

    def merge_windows(self, hidden: torch.Tensor, placement: "WindowPlacement") -> torch.Tensor:
        """The backbone's rows (one per window piece) -> one row per batch piece, overlapping windows averaged."""
        # In float from here: overlapping windows are averaged, and bf16 would round the sum.
        hidden = hidden.float()
        n_pieces = placement.n_pieces
        target = torch.from_numpy(placement.targets).to(hidden.device)
        summed = hidden.new_zeros(n_pieces, hidden.shape[1]).index_add_(0, target, hidden)
        counts = torch.bincount(target, minlength=n_pieces).clamp_(min=1).to(summed.dtype)
        return summed / counts[:, None]

    def _pool(self, docs, offsets, piece_ids, piece_vectors: torch.Tensor, lengths: List[int]) -> TokenVectors:
        token_rows, piece_rows, weights = [], [], []
        token_offset = piece_offset = 0
        for doc, doc_offsets, ids in zip(docs, offsets, piece_ids):
            bounds = doc.to_array(["IDX", "LENGTH"]).astype(np.int64) if len(doc) else np.zeros((0, 2), np.int64)
            alignment = align(bounds[:, 0] + bounds[:, 1], len(doc.text), np.asarray(doc_offsets).reshape(-1, 2))
            token_rows.append(alignment.token_index + token_offset)
            piece_rows.append(alignment.piece_index + piece_offset)
            weights.append(pooling_weights(alignment, self.pooling))
            token_offset += len(doc)
            piece_offset += len(ids)
        device = piece_vectors.device
        token_index = torch.from_numpy(np.concatenate(token_rows) if token_rows else np.zeros(0, np.int64)).to(device)
        piece_index = torch.from_numpy(np.concatenate(piece_rows) if piece_rows else np.zeros(0, np.int64)).to(device)
        weight = torch.from_numpy(np.concatenate(weights) if weights else np.zeros(0, np.float32)).to(device)
        contributions = piece_vectors[piece_index] * weight[:, None]
        data = contributions.new_zeros(token_offset, self.width).index_add_(0, token_index, contributions)
        return TokenVectors(data, lengths)


class WindowPlacement(NamedTuple):
    """targets (np.ndarray): batch piece index of each window piece, windows in order; n_pieces (int): in the batch."""

    targets: np.ndarray
    n_pieces: int
