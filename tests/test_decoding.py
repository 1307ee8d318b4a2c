"""Tree and span decoders on random scores: always valid structures."""
import numpy as np
import pytest
import torch

from trftrain.components.parser import DependencyParser, cut_blocks
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


def test_a_forest_tree_starts_a_sentence_only_where_the_start_classifier_allows_it():
    """Tokens 0-1 and 2-3 form two trees of the forest; token 2 starts a sentence only when it is a possible start
    (the classifier's probability at least tree_start_threshold) or a likely one (at least sentence_threshold)."""
    scores = np.full((4, 4), -10.0)
    scores[0, 0] = scores[1, 0] = scores[2, 2] = scores[3, 2] = 0.0  # 0 and 2 are roots; 1 -> 0, 3 -> 2
    scores[2, 0] = -2.0  # token 2 under token 0 is the best way to make one tree of the block
    none, at_two = np.zeros(4, bool), np.array([False, False, True, False])
    for likely, possible, expected in ((none, at_two, [0, 0, 2, 2]), (none, none, [0, 0, 0, 2]),
                                       (at_two, none, [0, 0, 2, 2])):
        assert DependencyParser._decode_words(scores, likely, possible).tolist() == expected


def test_whitespace_tokens_hang_from_the_word_before_them_and_never_start_a_sentence():
    """Tokens 0, 2 and 5 are whitespace (before the first word, between words 1 and 3, after the last). Even where
    the scores make token 2 every token's best head and a root, and the classifier calls every token a start,
    whitespace hangs from the word before it (the one after, at the block's start) and the words 1, 3 and 4 are
    parsed without it."""
    is_space = np.array([True, False, True, False, False, True])
    scores = np.full((6, 6), -10.0)
    scores[:, 2] = 0.0  # every token's best head is the whitespace token 2, itself a root
    scores[1, 1] = scores[3, 1] = scores[4, 3] = -1.0  # among the words: 1 is the root, 3 -> 1, 4 -> 3
    everywhere = np.ones(6, bool)
    heads = DependencyParser._decode_block(scores, np.zeros(6, bool), everywhere, is_space)
    assert heads.tolist() == [1, 1, 1, 1, 3, 4]
    # With a sentence start at every token, each word is its own sentence, and each whitespace token still
    # belongs to a word's sentence rather than making one of its own.
    heads = DependencyParser._decode_block(scores, everywhere, everywhere, is_space)
    assert heads.tolist() == [1, 1, 1, 3, 4, 4]
    assert DependencyParser._decode_block(scores[:1, :1], everywhere[:1], everywhere[:1], is_space[:1]).tolist() == [0]


def _valid(path, allowed, first, last) -> bool:
    return bool(first[path[0]] and last[path[-1]] and all(allowed[a, b] for a, b in zip(path, path[1:])))


@pytest.mark.parametrize("seed", range(20))
def test_viterbi_spells_valid_biluo(seed):
    labels = biluo_labels(["LOC", "PER"])
    allowed, first, last = transition_masks(labels)
    torch.manual_seed(seed)
    scores = [torch.randn(n, len(labels)).log_softmax(-1).numpy() for n in (12, 5, 1, 0)]
    paths = viterbi(scores, allowed, first, last)
    assert [len(path) for path in paths] == [12, 5, 1, 0]
    assert all(_valid(path, allowed, first, last) for path in paths[:3])
    assert viterbi([], allowed, first, last) == [] and viterbi([scores[3]] * 2, allowed, first, last) == [[], []]


@pytest.mark.parametrize("seed", range(30))
def test_viterbi_finds_the_best_valid_path(seed):
    """Against every label sequence of small random inputs: the decoded path is valid and scores highest."""
    import itertools

    rng = np.random.default_rng(seed)
    labels = biluo_labels(["LOC", "PER"][: 1 + seed % 2])
    allowed, first, last = transition_masks(labels)
    lengths = rng.integers(1, 6 if len(labels) == 5 else 5, size=3)
    scores = [np.log(rng.dirichlet(np.ones(len(labels)), size=n)).astype(np.float32) for n in lengths]
    for doc_scores, path in zip(scores, viterbi(scores, allowed, first, last)):
        n = len(doc_scores)
        valid = [p for p in itertools.product(range(len(labels)), repeat=n) if _valid(p, allowed, first, last)]
        totals = [doc_scores[np.arange(n), list(p)].sum() for p in valid]
        assert _valid(path, allowed, first, last)
        assert tuple(path) == valid[int(np.argmax(totals))]


def _torch_viterbi(scores, mask, allowed, first, last):
    """The torch implementation that numpy replaced (kept as the reference for identical results)."""
    batch, length, _ = scores.shape
    impossible = torch.tensor(float("-inf"))
    transition = torch.where(allowed, 0.0, impossible)
    best = torch.where(first, scores[:, 0], impossible)
    backpointers = []
    for t in range(1, length):
        top, arg = (best[:, :, None] + transition[None]).max(1)
        live = mask[:, t][:, None]
        best = torch.where(live, top + scores[:, t], best)
        backpointers.append(torch.where(live, arg, torch.arange(arg.shape[1])[None]))
    current = (best + torch.where(last, 0.0, impossible)).argmax(-1)
    path = [current]
    for pointer in reversed(backpointers):
        current = pointer.gather(1, current[:, None]).squeeze(1)
        path.append(current)
    path = torch.stack(path[::-1], dim=1).tolist()
    return [row[: int(n)] for row, n in zip(path, mask.sum(1))]


@pytest.mark.parametrize("seed", range(20))
def test_viterbi_matches_the_torch_implementation(seed):
    """Same paths as before on batches of mixed lengths, ties included (scores rounded so that many paths tie)."""
    rng = np.random.default_rng(seed)
    labels = biluo_labels(["LOC", "MISC", "ORG", "PER"][: 1 + seed % 4])
    allowed, first, last = transition_masks(labels)
    lengths = rng.integers(0, 40, size=int(rng.integers(1, 7)))
    lengths[0] = max(lengths[0], 1)
    padded = torch.randn(len(lengths), int(lengths.max()), len(labels)).log_softmax(-1)
    if seed % 2:
        padded = (padded * 2).round() / 2
    mask = torch.arange(padded.shape[1])[None, :] < torch.as_tensor(lengths)[:, None]
    expected = _torch_viterbi(padded, mask, *(torch.from_numpy(m) for m in (allowed, first, last)))
    per_doc = [padded[i, :n].numpy() for i, n in enumerate(lengths)]
    assert viterbi(per_doc, allowed, first, last) == expected
