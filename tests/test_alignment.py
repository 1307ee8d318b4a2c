"""Alignment properties on random texts and token splits, and on the three real tokenizer families."""
import random

import numpy as np
import pytest
import spacy

from trftrain.alignment import align, pooling_weights

ALPHABET = "abcdefgh XYZ,.!'éü🙂\n"


def random_case(rng: random.Random):
    text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 60)))
    # Random token split: ends at random cut points over the non-whitespace text.
    cuts = sorted(rng.sample(range(1, len(text) + 1), k=rng.randint(1, len(text))))
    if cuts[-1] != len(text):
        cuts.append(len(text))
    # Random pieces: random spans, some empty (specials), some over whitespace.
    points = sorted(rng.sample(range(0, len(text) + 1), k=min(len(text) + 1, rng.randint(2, 30))))
    pieces = [(a, b) for a, b in zip(points, points[1:])] + [(0, 0)]
    return text, np.array(cuts), np.array(pieces)


@pytest.mark.parametrize("seed", range(200))
def test_random_alignment_properties(seed):
    text, ends, pieces = random_case(random.Random(seed))
    alignment = align(ends, len(text), pieces)
    non_empty = [i for i, (a, b) in enumerate(pieces) if b > a]
    # Every non-empty piece maps to at least one token, and only to tokens whose characters it overlaps.
    assert set(alignment.piece_index.tolist()) == set(non_empty)
    starts = np.concatenate([[0], ends[:-1]])
    for token, piece in zip(alignment.token_index, alignment.piece_index):
        a, b = pieces[piece]
        assert a < ends[token] and b > starts[token]
    # Lengths add up: pairs per token sum to the number of pairs; each token's pieces are contiguous.
    assert alignment.pieces_per_token().sum() == len(alignment.token_index)
    for token in range(len(ends)):
        mine = alignment.piece_index[alignment.token_index == token]
        assert list(mine) == list(range(mine.min(), mine.max() + 1)) if len(mine) else True


@pytest.mark.parametrize("pooling", ["mean", "first", "last"])
def test_one_piece_token_pools_to_that_piece(pooling):
    # tokens "ab", "cd", "e"; pieces "ab" | "c" "d" | "e"
    alignment = align(np.array([2, 4, 5]), 5, np.array([[0, 2], [2, 3], [3, 4], [4, 5]]))
    weights = pooling_weights(alignment, pooling)
    vectors = np.arange(4 * 3, dtype=np.float32).reshape(4, 3)
    pooled = np.zeros((3, 3), np.float32)
    np.add.at(pooled, alignment.token_index, vectors[alignment.piece_index] * weights[:, None])
    assert np.allclose(pooled[0], vectors[0]) and np.allclose(pooled[2], vectors[3])
    expected = {"mean": (vectors[1] + vectors[2]) / 2, "first": vectors[1], "last": vectors[2]}[pooling]
    assert np.allclose(pooled[1], expected)


def test_empty_inputs():
    assert align(np.array([], dtype=np.int64), 0, np.zeros((0, 2))).n_tokens == 0
    alignment = align(np.array([3]), 3, np.zeros((0, 2)))
    assert alignment.pieces_per_token().tolist() == [0]


@pytest.mark.parametrize("family", ["wordpiece", "sentencepiece", "bytebpe"])
def test_real_tokenizers_cover_every_piece(tiny_encoders, family):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_encoders[family])
    nlp = spacy.blank("en")
    rng = random.Random(family)
    words = ["Apple", "didn't", "U.K.", "$1", "billion", "émojis", "🙂", "Berlin's", "\n", "fox", ",", "ünïcödé"]
    for _ in range(50):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 25)))
        doc = nlp(text)
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = np.array(encoded["offset_mapping"]).reshape(-1, 2)
        bounds = doc.to_array(["IDX", "LENGTH"]).astype(np.int64) if len(doc) else np.zeros((0, 2), np.int64)
        alignment = align(bounds[:, 0] + bounds[:, 1], len(text), offsets)
        covered = set(alignment.piece_index.tolist())
        for i, (a, b) in enumerate(offsets):
            if b > a and text[a:b].strip() and a < (bounds[-1].sum() if len(doc) else 0):
                assert i in covered, (family, text, text[a:b])
        # Every token made of visible characters gets at least one piece.
        per_token = alignment.pieces_per_token()
        for token, count in zip(doc, per_token):
            if token.text.strip() and tokenizer(token.text, add_special_tokens=False)["input_ids"]:
                assert count > 0, (family, token.text)
