"""Soft targets: a teacher's probability distributions in place of gold labels, and the loss against them.

Heads take these instead of their gold targets (`Head.loss` tells them apart by type). The loss is the
Kullback-Leibler divergence from the teacher's distribution to the student's, both at temperature T, times T^2
(Hinton et al. 2015: keeps the gradients' size comparable across temperatures). It is 0 when the student
matches the teacher, so a falling loss means a student getting closer.
"""
from dataclasses import dataclass
from typing import List

import torch

from .head import LossTerm

TINY = 1e-12


@dataclass
class SoftTokenTargets:
    """One distribution per token over a head's labels, given by the teacher's k likeliest labels.

    label_ids (long tensor, (n_tokens, k)): label ids, in the student head's label order (the teacher's).
    probs (float tensor, (n_tokens, k)): their probabilities at the temperature; each known row sums to 1 (columns
        a token has no label for hold probability 0).
    known (bool tensor, (n_tokens,)): tokens the teacher gave a distribution for.
    temperature (float): softens the student's scores the same way the teacher's were.
    """

    label_ids: torch.Tensor
    probs: torch.Tensor
    known: torch.Tensor
    temperature: float = 1.0

    @property
    def counts(self) -> List[int]:
        return [int(self.known.sum())]


@dataclass
class SoftDocTargets:
    """probs (float tensor, (n_docs, n_labels)): the teacher's class probabilities at the temperature (softmax
    rows for exclusive classes, independent sigmoids for multi-label); known (bool tensor, (n_docs,)); whether
    the classes are exclusive is multi_label's opposite; temperature as in SoftTokenTargets."""

    probs: torch.Tensor
    known: torch.Tensor
    multi_label: bool
    temperature: float = 1.0

    @property
    def counts(self) -> List[int]:
        n = int(self.known.sum())
        return [n * self.probs.shape[1] if self.multi_label else n]


def categorical_kl(log_q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """sum over rows and columns of p * (log p - log q); log_q already gathered at p's columns."""
    return (p * (torch.log(p.clamp_min(TINY)) - log_q)).sum()


def binary_kl(logits: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Summed KL between Bernoulli(p) and Bernoulli(sigmoid(logits)), per cell."""
    cross = torch.nn.functional.binary_cross_entropy_with_logits(logits, p, reduction="sum")
    entropy = -(p * torch.log(p.clamp_min(TINY)) + (1 - p) * torch.log((1 - p).clamp_min(TINY))).sum()
    return cross - entropy


def token_distillation_loss(logits: torch.Tensor, targets: SoftTokenTargets) -> LossTerm:
    """logits (n_tokens, n_labels): the student's scores for every token of the batch."""
    T = targets.temperature
    known = targets.known.to(logits.device)
    log_q = torch.log_softmax(logits[known].float() / T, dim=-1)
    picked = log_q.gather(1, targets.label_ids.to(logits.device)[known])
    total = categorical_kl(picked, targets.probs.to(logits.device)[known].float()) * T * T
    return LossTerm(total, targets.counts[0])


def doc_distillation_loss(logits: torch.Tensor, targets: SoftDocTargets) -> LossTerm:
    """logits (n_docs, n_labels): the student's class scores."""
    T = targets.temperature
    known = targets.known.to(logits.device)
    p = targets.probs.to(logits.device)[known].float()
    scaled = logits[known].float() / T
    if targets.multi_label:
        total = binary_kl(scaled, p)
    else:
        total = categorical_kl(torch.log_softmax(scaled, dim=-1), p)
    return LossTerm(total * T * T, targets.counts[0])
