"""The torch modules behind the heads. Sizes in, logits out; no spaCy here."""
from typing import Sequence

import numpy as np
import torch
from torch import nn


def feed_forward(width: int, hidden_width: int, n_out: int, dropout: float) -> nn.Module:
    """Dropout -> [Linear -> GELU -> Dropout] -> Linear; the hidden layer only when hidden_width > 0."""
    if hidden_width <= 0:
        return nn.Sequential(nn.Dropout(dropout), nn.Linear(width, n_out))
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(width, hidden_width), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(hidden_width, n_out))


class TokenClassifier(nn.Module):
    """(n_tokens, width) -> (n_tokens, n_labels) logits."""

    def __init__(self, width: int, n_labels: int, *, hidden_width: int = 0, dropout: float = 0.1):
        super().__init__()
        self.layers = feed_forward(width, hidden_width, n_labels, dropout)

    def forward(self, vectors: torch.Tensor) -> torch.Tensor:
        return self.layers(vectors)


class PooledClassifier(nn.Module):
    """Token vectors of each doc -> one vector per doc (mean, or mean and max) -> (n_docs, n_labels) logits."""

    def __init__(self, width: int, n_labels: int, *, pooling: str = "mean", hidden_width: int = 0,
                 dropout: float = 0.1):
        super().__init__()
        self.pooling = pooling
        pooled_width = width * (2 if pooling == "mean_max" else 1)
        self.layers = feed_forward(pooled_width, hidden_width, n_labels, dropout)

    def forward(self, vectors: torch.Tensor, doc_index: torch.Tensor, n_docs: int) -> torch.Tensor:
        sums = vectors.new_zeros(n_docs, vectors.shape[1]).index_add_(0, doc_index, vectors)
        counts = torch.bincount(doc_index, minlength=n_docs).clamp(min=1).to(vectors.dtype)
        pooled = sums / counts[:, None]
        if self.pooling == "mean_max":
            maxes = vectors.new_full((n_docs, vectors.shape[1]), float("-inf"))
            maxes = maxes.index_reduce_(0, doc_index, vectors, "amax", include_self=True)
            pooled = torch.cat([pooled, torch.where(torch.isinf(maxes), torch.zeros_like(maxes), maxes)], dim=1)
        return self.layers(pooled)


class BiaffineParser(nn.Module):
    """Deep biaffine arc scorer with a label classifier and a sentence-start classifier.

    Input: padded sentences (n_sents, length, width). Output of `arcs`: (n_sents, length, length) where
    [s, i, j] scores token j as the head of token i, and j == i means "i is the root".

    previous_token_starts: the start classifier reads the previous token's vector beside the token's own. Whether a
    sentence starts mostly depends on what ends before it; with that vector at hand the classifier learns in 150
    steps what it otherwise had not learned by then (EWT dev SENTS F 34.8 -> 67.4 after the demo, bench/RESULTS.md).
    Off only in BiaffineParser.v1, which pipelines saved before it still name.
    """

    def __init__(self, width: int, n_labels: int, *, arc_width: int = 256, label_width: int = 128,
                 dropout: float = 0.1, previous_token_starts: bool = True):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.arc_dep = nn.Sequential(nn.Linear(width, arc_width), nn.GELU(), nn.Dropout(dropout))
        self.arc_head = nn.Sequential(nn.Linear(width, arc_width), nn.GELU(), nn.Dropout(dropout))
        self.arc_bilinear = nn.Parameter(torch.zeros(arc_width, arc_width))
        self.head_bias = nn.Linear(arc_width, 1, bias=False)
        self.root = nn.Linear(arc_width, 1)
        self.label_dep = nn.Sequential(nn.Linear(width, label_width), nn.GELU(), nn.Dropout(dropout))
        self.label_head = nn.Sequential(nn.Linear(width, label_width), nn.GELU(), nn.Dropout(dropout))
        self.label_out = nn.Linear(2 * label_width, n_labels)
        # Bilinear term: which relation depends on how dependent and head interact, not only on each alone.
        self.label_bilinear = nn.Parameter(torch.zeros(n_labels, label_width, label_width))
        self.previous_token_starts = previous_token_starts
        self.sent_start = nn.Linear(2 * width if previous_token_starts else width, 1)

    def arcs(self, sentences: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.dropout(sentences)
        dep, head = self.arc_dep(x), self.arc_head(x)  # (n_sents, length, arc_width)
        scores = torch.einsum("sia,ab,sjb->sij", dep, self.arc_bilinear, head) + self.head_bias(head).transpose(1, 2)
        # In place: these (n_sents, length, length) tensors are the parser's largest, so no extra copies.
        scores.diagonal(dim1=1, dim2=2).copy_(self.root(dep).squeeze(-1))
        return scores.masked_fill_(~mask[:, None, :], float("-inf"))

    def labels(self, dependents: torch.Tensor, heads: torch.Tensor) -> torch.Tensor:
        """dependents, heads: (n, width) vectors of each dependent and its head -> (n, n_labels)."""
        dep, head = self.label_dep(dependents), self.label_head(heads)
        # The bilinear term goes through an (n, n_labels, label_width) intermediate: in row chunks, so a
        # batch of long docs does not hold hundreds of MB for it at once.
        bilinear = torch.cat([torch.einsum("nd,lde,ne->nl", dep[i : i + 1024], self.label_bilinear, head[i : i + 1024])
                              for i in range(0, len(dep), 1024)]) if len(dep) else dep.new_zeros(0, len(self.label_bilinear))
        return self.label_out(torch.cat([dep, head], dim=-1)) + bilinear

    def sentence_starts(self, vectors: torch.Tensor, lengths: Sequence[int]) -> torch.Tensor:
        """vectors: (n_tokens, width), docs one after another with the given lengths -> (n_tokens,) logits."""
        x = self.dropout(vectors)
        if self.previous_token_starts:
            previous = torch.zeros_like(x)
            previous[1:] = x[:-1]
            # A doc's first token has no previous token: zeros, not the last token of the doc before it.
            firsts = np.cumsum([0] + list(lengths[:-1]))
            firsts = torch.as_tensor(firsts[firsts < len(x)], dtype=torch.long, device=x.device)
            x = torch.cat([x, previous.index_fill(0, firsts, 0.0)], dim=1)
        return self.sent_start(x).squeeze(-1)
