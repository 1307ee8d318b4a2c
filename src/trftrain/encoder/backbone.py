"""The backbone: windows of piece ids in, one vector per piece out. The one part of an encoder that may run
somewhere else (a quantized copy, another process behind `trftrain serve`); tokenizing, windowing, overlap
averaging and pooling stay with TokenEncoder, on the caller's side."""
import hashlib
from typing import List, Optional, Sequence

import numpy as np
import torch

from .. import precision
from ..padding import padded_groups
from .layer_mix import ScalarMix

# Written next to a saved encoder's weights: the fingerprint of those weights, readable without loading them.
FINGERPRINT_FILE = "fingerprint.txt"


class Backbone(torch.nn.Module):
    """Contract of every backbone.

    forward(windows): windows (Sequence[Sequence[int]]) are piece ids without special tokens; returns a
        (sum of window lengths, width) tensor, the pieces of all windows in order. Adding the model's special
        tokens, padding and batching are the backbone's business.
    width (int): size of a piece vector.
    fingerprint (str): identifies the weights, so that a pipeline is never given another encoder's vectors.
    """

    width: int

    @property
    def fingerprint(self) -> str:
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")


class HuggingFaceBackbone(Backbone):
    """A Hugging Face encoder run in padded calls of length-sorted windows under a padded-piece budget.

    model (torch.nn.Module): the Hugging Face model (AutoModel), or a quantized copy of it.
    prefix, suffix (Sequence[int]): the special ids the tokenizer puts around a text ([CLS] ... [SEP]).
    pad_id (int): id used to pad a call.
    max_padded_pieces (int): budget of padded pieces (specials included) per call; an over-long window runs alone.
    """

    def __init__(self, model: torch.nn.Module, *, prefix: Sequence[int], suffix: Sequence[int], pad_id: int,
                 max_padded_pieces: int, layer_mix: str = "last"):
        super().__init__()
        self.model = model
        # "scalar": the piece vectors are a learned mix of every hidden layer (layer_mix.py), not the last one.
        self.mix = ScalarMix(int(model.config.num_hidden_layers) + 1) if layer_mix == "scalar" else None
        self.prefix, self.suffix = list(prefix), list(suffix)
        self.pad_id = pad_id
        self.max_padded_pieces = max_padded_pieces
        self._fingerprint: Optional[str] = None

    @property
    def width(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def fingerprint(self) -> str:
        """sha256 of the weights' names, shapes and values (first 16 hex digits), computed once. Quantizing keeps
        the fingerprint of the float weights it came from (quantize_int8 reads it first)."""
        if self._fingerprint is None:
            self._fingerprint = self.current_fingerprint()
        return self._fingerprint

    def current_fingerprint(self) -> str:
        """The fingerprint of the weights as they are now (the layer mix included: it changes the vectors)."""
        return weights_fingerprint(self.model if self.mix is None else self)

    def train(self, mode: bool = True) -> "HuggingFaceBackbone":
        if mode:
            self._fingerprint = None  # training is about to change the weights
        return super().train(mode)

    def forward(self, windows: Sequence[Sequence[int]]) -> torch.Tensor:
        if not windows:
            return torch.zeros(0, self.width, device=self.device)
        lengths = np.array([len(w) for w in windows])
        n_special = len(self.prefix) + len(self.suffix)
        # Windows of similar length run together, so short windows are not padded to the longest in the batch.
        order = np.argsort(lengths, kind="stable")
        groups = padded_groups((lengths[order] + n_special).tolist(), self.max_padded_pieces)
        hidden = torch.cat([self._run([windows[i] for i in order[first:end]]) for first, end in groups])
        # Back to the callers' order: piece rows of window order[k] sit in block k of `hidden`.
        starts = np.zeros(len(windows), dtype=np.int64)
        starts[order] = np.concatenate([[0], np.cumsum(lengths[order])[:-1]])
        rows = np.concatenate([np.arange(s, s + n) for s, n in zip(starts, lengths)])
        return hidden[torch.from_numpy(rows).to(hidden.device)]

    def _run(self, windows: List[Sequence[int]]) -> torch.Tensor:
        """One padded call; returns the real pieces' vectors, specials dropped, windows one after another."""
        head, tail = len(self.prefix), len(self.suffix)
        sizes = [head + len(w) + tail for w in windows]
        device = self.device
        longest = precision.padded_length(max(sizes), device)
        # Built in numpy: torch would dispatch a few tiny ops per window.
        ids = np.full((len(windows), longest), self.pad_id, dtype=np.int64)
        for row, window in enumerate(windows):
            ids[row, : sizes[row]] = self.prefix + list(window) + self.suffix
        positions = np.arange(longest)[None, :]
        mask = (positions < np.array(sizes)[:, None]).astype(np.int64)
        output = self.model(input_ids=torch.from_numpy(ids).to(device), attention_mask=torch.from_numpy(mask).to(device),
                            output_hidden_states=self.mix is not None)
        hidden = output.last_hidden_state if self.mix is None else self.mix(output.hidden_states)
        keep = (positions >= head) & (positions < np.array(sizes)[:, None] - tail)
        return hidden[torch.from_numpy(keep).to(device)]


def weights_fingerprint(model: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        if not isinstance(tensor, torch.Tensor):
            continue
        value = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{name}:{tuple(value.shape)}:{value.dtype}".encode())
        digest.update(value.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]
