"""The value that flows from an encoder to the heads: one vector per spaCy token, docs concatenated."""
from dataclasses import dataclass
from typing import List

import torch


@dataclass
class TokenVectors:
    """Token vectors of a batch of docs.

    data (Tensor, (n_tokens_in_batch, width)): docs one after another, in batch order.
    lengths (List[int]): tokens per doc.
    """

    data: torch.Tensor
    lengths: List[int]

    @property
    def width(self) -> int:
        return self.data.shape[-1]

    def per_doc(self) -> List[torch.Tensor]:
        return list(torch.split(self.data, self.lengths))

    def doc_index(self) -> torch.Tensor:
        """(n_tokens_in_batch,) index of the doc each token belongs to."""
        lengths = torch.tensor(self.lengths, device=self.data.device)
        return torch.repeat_interleave(torch.arange(len(self.lengths), device=self.data.device), lengths)

    def padded(self) -> tuple:
        """(batch, max_tokens, width) tensor and (batch, max_tokens) bool mask."""
        docs = self.per_doc()
        padded = torch.nn.utils.rnn.pad_sequence(docs, batch_first=True) if docs else self.data.new_zeros(0, 0, self.width)
        mask = torch.arange(padded.shape[1], device=self.data.device)[None, :] < torch.tensor(self.lengths, device=self.data.device)[:, None]
        return padded, mask
