"""Constrained Viterbi over BILUO tags: the best tag sequence that spells only valid entity spans.

Pure numpy: a decode is thousands of steps of a few hundred numbers each, which torch would dispatch as tiny ops,
and some of them (max over a dim) enter torch's OpenMP thread pool each time; beside other busy processes every
such entry waits for a descheduled pool thread (2,611 tokens: 20.7 s instead of 0.1 s).
"""
from typing import List, Sequence, Tuple

import numpy as np

OUTSIDE = "O"


def biluo_labels(entity_types: Sequence[str]) -> List[str]:
    return [OUTSIDE] + [f"{move}-{label}" for label in sorted(entity_types) for move in "BILU"]


def transition_masks(labels: Sequence[str]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(allowed[prev, next], allowed_first, allowed_last) as bool arrays."""
    def parts(tag):
        return (tag, None) if tag == OUTSIDE else tuple(tag.split("-", 1))

    n = len(labels)
    allowed = np.zeros((n, n), dtype=bool)
    for i, prev in enumerate(labels):
        p_move, p_type = parts(prev)
        for j, nxt in enumerate(labels):
            n_move, n_type = parts(nxt)
            if p_move in ("B", "I"):
                allowed[i, j] = n_move in ("I", "L") and n_type == p_type
            else:
                allowed[i, j] = n_move in (OUTSIDE, "B", "U")
    first = np.array([parts(t)[0] in (OUTSIDE, "B", "U") for t in labels], dtype=bool)
    last = np.array([parts(t)[0] in (OUTSIDE, "L", "U") for t in labels], dtype=bool)
    return allowed, first, last


def viterbi(scores: Sequence[np.ndarray], allowed: np.ndarray, first: np.ndarray,
            last: np.ndarray) -> List[List[int]]:
    """The best allowed label ids of each sequence.

    scores (Sequence[np.ndarray]): per sequence, (length, n_labels) log-probabilities.
    allowed (np.ndarray): (n_labels, n_labels) bool, [prev, next] may follow each other.
    first, last (np.ndarray): (n_labels,) bool, may start / end a sequence.

    Sequences are decoded together, longest first, so that step t works on the prefix of sequences still running;
    the loop runs over positions, never over sequences or labels. Ties go to the lowest label id.
    """
    lengths = np.array([len(s) for s in scores], dtype=np.int64)
    paths: List[List[int]] = [[] for _ in scores]
    if not lengths.any():
        return paths
    n_labels = allowed.shape[0]
    dtype = np.result_type(*[s.dtype for s in scores if len(s)], np.float32)
    order = np.argsort(-lengths, kind="stable")
    longest = int(lengths[order[0]])
    running = np.searchsorted(-lengths[order], -np.arange(longest), side="left")  # sequences longer than t
    padded = np.zeros((len(order), longest, n_labels), dtype=dtype)
    for row, index in enumerate(order):
        padded[row, : lengths[index]] = scores[index]
    impossible = np.array(-np.inf, dtype=dtype)
    transition = np.where(allowed, np.array(0, dtype=dtype), impossible)
    best = np.where(first, padded[:, 0], impossible)
    backpointers = np.zeros((longest, len(order), n_labels), dtype=np.int32)
    for t in range(1, longest):
        k = running[t]
        candidates = best[:k, :, None] + transition  # (k, prev, next)
        arg = candidates.argmax(1)
        best[:k] = np.take_along_axis(candidates, arg[:, None, :], 1)[:, 0] + padded[:k, t]
        backpointers[t, :k] = arg
    current = np.where(last, best, impossible).argmax(-1)
    decoded = np.zeros((len(order), longest), dtype=np.int64)
    for t in range(longest - 1, -1, -1):
        k = running[t]
        decoded[:k, t] = current[:k]
        current[:k] = backpointers[t, np.arange(k), current[:k]]
    for row, index in enumerate(order):
        paths[index] = decoded[row, : lengths[index]].tolist()
    return paths
