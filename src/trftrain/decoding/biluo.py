"""Constrained Viterbi over BILUO tags: the best tag sequence that spells only valid entity spans."""
from typing import List, Sequence

import torch

OUTSIDE = "O"


def biluo_labels(entity_types: Sequence[str]) -> List[str]:
    return [OUTSIDE] + [f"{move}-{label}" for label in sorted(entity_types) for move in "BILU"]


def transition_masks(labels: Sequence[str]):
    """(allowed[prev, next], allowed_first, allowed_last) as bool tensors."""
    def parts(tag):
        return (tag, None) if tag == OUTSIDE else tuple(tag.split("-", 1))

    n = len(labels)
    allowed = torch.zeros(n, n, dtype=torch.bool)
    for i, prev in enumerate(labels):
        p_move, p_type = parts(prev)
        for j, nxt in enumerate(labels):
            n_move, n_type = parts(nxt)
            if p_move in ("B", "I"):
                allowed[i, j] = n_move in ("I", "L") and n_type == p_type
            else:
                allowed[i, j] = n_move in (OUTSIDE, "B", "U")
    first = torch.tensor([parts(t)[0] in (OUTSIDE, "B", "U") for t in labels])
    last = torch.tensor([parts(t)[0] in (OUTSIDE, "L", "U") for t in labels])
    return allowed, first, last


def viterbi(scores: torch.Tensor, mask: torch.Tensor, allowed: torch.Tensor, first: torch.Tensor,
            last: torch.Tensor) -> List[List[int]]:
    """scores: (batch, length, n_labels) log-probabilities; mask: (batch, length) real tokens.

    Returns the best allowed label ids per sequence. Sequences are decoded together: the loop runs over
    positions, never over docs or labels.
    """
    batch, length, _ = scores.shape
    if length == 0:
        return [[] for _ in range(batch)]
    impossible = torch.tensor(float("-inf"), device=scores.device)
    transition = torch.where(allowed.to(scores.device), 0.0, impossible)
    best = torch.where(first.to(scores.device), scores[:, 0], impossible)
    backpointers = []
    lengths = mask.sum(1)
    for t in range(1, length):
        candidates = best[:, :, None] + transition[None]  # (batch, prev, next)
        top, arg = candidates.max(1)
        step = top + scores[:, t]
        live = mask[:, t][:, None]
        best = torch.where(live, step, best)
        backpointers.append(torch.where(live, arg, torch.arange(arg.shape[1], device=arg.device)[None]))
    best = best + torch.where(last.to(scores.device), 0.0, impossible)
    current = best.argmax(-1)
    path = [current]
    for pointer in reversed(backpointers):
        current = pointer.gather(1, current[:, None]).squeeze(1)
        path.append(current)
    path = torch.stack(path[::-1], dim=1).cpu().tolist()
    return [row[: int(n)] for row, n in zip(path, lengths.cpu())]
