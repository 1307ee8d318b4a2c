"""The parser's soft targets: a teacher's arc distribution per token (its k likeliest heads), its relation
distribution for the head it chose, and its sentence-start probabilities; and the loss against them.

They carry what the parser's training forward pass reads from gold targets (`heads`, `labelled`, blocks), so
`DependencyParser.scores` runs unchanged: blocks are cut at the teacher's sentence starts, and relations are
scored for the teacher's heads.
"""
from dataclasses import dataclass
from typing import List

import numpy as np
import torch

from .head import LossTerm
from .soft_targets import binary_kl, categorical_kl
from .token_labels import IGNORE


@dataclass
class SoftParserTargets:
    """Per token of the batch, in batch order (positions are batch positions):

    heads (int64, (n,)): the teacher's head, IGNORE where it gave none.
    candidates (int64, (n, k)): the teacher's k likeliest heads, -1 where fewer; candidate_probs (float32, (n, k))
        their probabilities at the temperature.
    label_ids (int64, (n, k2)), label_probs (float32, (n, k2)): the likeliest relations to the teacher's head.
    start_probs (float32, (n,)): probability that a sentence starts at the token; NaN where unknown.
    starts (int64, (n,)): the teacher's sentence starts (1, else 0; IGNORE unknown); blocks are cut at them.
    block_first, block_len (int64): the blocks arcs are scored over, as `cut_blocks` gives them.
    temperature (float): the student's scores are softened by it, as the teacher's were.
    """

    heads: np.ndarray
    candidates: np.ndarray
    candidate_probs: np.ndarray
    label_ids: np.ndarray
    label_probs: np.ndarray
    start_probs: np.ndarray
    starts: np.ndarray
    block_first: np.ndarray
    block_len: np.ndarray
    temperature: float = 1.0

    def _block_bounds(self):
        block_of_token = np.repeat(np.arange(len(self.block_first)), self.block_len)
        first = self.block_first[block_of_token]
        return block_of_token, first, first + self.block_len[block_of_token]

    @property
    def in_block(self) -> np.ndarray:
        """(n, k): candidates the student can score (inside the token's block)."""
        _, first, end = self._block_bounds()
        return (self.candidates >= first[:, None]) & (self.candidates < end[:, None]) & (self.candidate_probs > 0)

    @property
    def usable(self) -> np.ndarray:
        return self.in_block.any(1)

    @property
    def labelled(self) -> np.ndarray:
        _, first, end = self._block_bounds()
        return (self.heads != IGNORE) & (self.heads >= first) & (self.heads < end) & (self.label_probs.sum(1) > 0)

    @property
    def start_known(self) -> np.ndarray:
        return ~np.isnan(self.start_probs)

    @property
    def counts(self) -> List[int]:
        return [int(self.usable.sum()), int(self.labelled.sum()), int(self.start_known.sum())]


def soft_parser_loss(scores, targets: SoftParserTargets) -> List[LossTerm]:
    """scores (ParserScores): the training forward pass over targets' blocks. Three terms, as the gold loss has:
    arcs, relations, sentence starts."""
    T = targets.temperature
    device = scores.starts.device
    block_of_token, first, _ = targets._block_bounds()
    usable, in_block = targets.usable, targets.in_block
    position = np.arange(len(targets.heads)) - first
    rows = scores.arcs[torch.as_tensor(block_of_token[usable], device=device),
                       torch.as_tensor(position[usable], device=device)]
    log_q = torch.log_softmax(rows / T, dim=-1)
    # Candidates outside the block get probability 0 and point at column 0, which is always inside the block.
    mask = in_block[usable]
    relative = np.where(mask, targets.candidates[usable] - first[usable][:, None], 0)
    p = np.where(mask, targets.candidate_probs[usable], 0.0).astype(np.float32)
    p /= np.maximum(p.sum(1, keepdims=True), 1e-12)
    arc_loss = categorical_kl(log_q.gather(1, torch.as_tensor(relative, device=device)),
                              torch.as_tensor(p, device=device)) * T * T
    labelled = targets.labelled
    label_log_q = torch.log_softmax(scores.labels / T, dim=-1)
    label_loss = categorical_kl(label_log_q.gather(1, torch.as_tensor(targets.label_ids[labelled], device=device)),
                                torch.as_tensor(targets.label_probs[labelled], device=device)) * T * T
    known = targets.start_known
    start_loss = binary_kl(scores.starts[torch.as_tensor(np.flatnonzero(known), device=device)] / T,
                           torch.as_tensor(targets.start_probs[known], dtype=torch.float32, device=device)) * T * T
    counts = targets.counts
    return [LossTerm(arc_loss, counts[0]), LossTerm(label_loss, counts[1]), LossTerm(start_loss, counts[2])]
