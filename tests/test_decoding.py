"""Tree and span decoders on random scores: always valid structures."""
import numpy as np
import pytest
import torch

from trftrain.components.parser import cut_blocks
from trftrain.decoding.biluo import biluo_labels, transition_masks, viterbi
from trftrain.decoding.mst import contiguous_segments, decode_forest, decode_tree


def is_tree(heads):
    roots = np.flatnonzero(heads == np.arange(len(heads)))
    if len(roots) != 1:
        return False
    for i in range(len(heads)):
        seen, node = set(), i
        while heads[node] != node:
            if node in seen:
                return False
            seen.add(node)
            node = heads[node]
    return True


@pytest.mark.parametrize("seed", range(60))
def test_decode_tree_gives_one_rooted_tree(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 25))
    scores = rng.normal(size=(n, n)) * rng.choice([0.1, 1, 10])
    heads = decode_tree(scores)
    assert is_tree(heads)
    if n <= 6:  # optimal among all trees, checked by brute force on small inputs
        best = max(_all_trees(n), key=lambda h: scores[np.arange(n), h].sum())
        assert np.isclose(scores[np.arange(n), heads].sum(), scores[np.arange(n), best].sum())


def _all_trees(n):
    import itertools

    for heads in itertools.product(range(n), repeat=n):
        heads = np.array(heads)
        if is_tree(heads):
            yield heads


@pytest.mark.parametrize("seed", range(40))
def test_forest_segments_are_contiguous_and_cover_everything(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    forest = decode_forest(rng.normal(size=(n, n)) * 3)
    segments = contiguous_segments(forest)
    assert segments[0][0] == 0 and segments[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(segments, segments[1:]))
    for start, end in segments:  # every tree lies inside one segment
        for i in range(start, end):
            assert start <= forest[i] < end


def test_blocks_cut_long_docs_at_likely_starts():
    scores = np.zeros(30, np.float32)
    scores[13] = 5.0
    starts, sizes = cut_blocks([30, 4], scores, max_block=16)
    assert sizes.max() <= 16 and sizes.sum() == 34
    assert starts[1] == 13 and starts[-1] == 30


@pytest.mark.parametrize("seed", range(20))
def test_viterbi_spells_valid_biluo(seed):
    labels = biluo_labels(["LOC", "PER"])
    allowed, first, last = transition_masks(labels)
    scores = torch.randn(3, 12, len(labels)).log_softmax(-1)
    mask = torch.tensor([[True] * 12, [True] * 5 + [False] * 7, [True] + [False] * 11])
    for path, length in zip(viterbi(scores, mask, allowed, first, last), [12, 5, 1]):
        assert len(path) == length
        assert first[path[0]] and last[path[-1]]
        assert all(allowed[a, b] for a, b in zip(path, path[1:]))
