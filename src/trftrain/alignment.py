"""Exact token <-> piece alignment from character offsets (pure numpy: no torch, no spaCy).

Tokens tile the text: token i owns the characters from the end of token i-1 up to its own end, so the
whitespace before a token belongs to it. Every piece with a non-empty character span therefore lands on
at least one token, whatever the tokenizer does with spaces (WordPiece drops them, SentencePiece's "▁" and
byte-level BPE's "Ġ" carry them). A piece that straddles two tokens belongs to both.
"""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Alignment:
    """Which pieces make up which tokens of one text.

    token_index, piece_index (int64 arrays, same length): one row per (token, piece) pair, sorted by token.
    n_tokens, n_pieces (int): sizes of the two sides.
    """

    token_index: np.ndarray
    piece_index: np.ndarray
    n_tokens: int
    n_pieces: int

    def pieces_per_token(self) -> np.ndarray:
        return np.bincount(self.token_index, minlength=self.n_tokens)


def align(token_ends: np.ndarray, text_length: int, piece_offsets: np.ndarray) -> Alignment:
    """Align tokens to pieces.

    token_ends (int array, n_tokens): character offset one past each token's last character, ascending.
    text_length (int): length of the text; characters after the last token belong to no token.
    piece_offsets (int array, (n_pieces, 2)): start and end character of each piece, specials excluded.
    """
    n_tokens = len(token_ends)
    offsets = np.asarray(piece_offsets, dtype=np.int64).reshape(-1, 2)
    n_pieces = len(offsets)
    empty = np.zeros(0, dtype=np.int64)
    if n_tokens == 0 or n_pieces == 0:
        return Alignment(empty, empty, n_tokens, n_pieces)
    ends = np.asarray(token_ends, dtype=np.int64)
    starts, stops = offsets[:, 0], offsets[:, 1]
    # Pieces beyond the last token (trailing whitespace) or with empty spans map to nothing.
    usable = (stops > starts) & (starts < ends[-1])
    piece_ids = np.flatnonzero(usable)
    first = np.searchsorted(ends, starts[usable], side="right")
    last = np.searchsorted(ends, np.minimum(stops[usable], ends[-1]) - 1, side="right")
    counts = last - first + 1
    pair_piece = np.repeat(piece_ids, counts)
    # Within each piece's run, token = first + 0, 1, 2, ...
    run_starts = np.repeat(np.cumsum(counts) - counts, counts)
    pair_token = np.repeat(first, counts) + (np.arange(counts.sum()) - run_starts)
    order = np.lexsort((pair_piece, pair_token))
    return Alignment(pair_token[order], pair_piece[order], n_tokens, n_pieces)


def pooling_weights(alignment: Alignment, pooling: str) -> np.ndarray:
    """Weight of each (token, piece) pair so that a token's vector is the weighted sum of its pieces.

    pooling (str): "mean" averages the pieces, "first" and "last" keep one piece.
    """
    tokens = alignment.token_index
    if len(tokens) == 0:
        return np.zeros(0, dtype=np.float32)
    if pooling == "mean":
        counts = np.bincount(tokens, minlength=alignment.n_tokens)
        return (1.0 / counts[tokens]).astype(np.float32)
    is_boundary = np.ones(len(tokens), dtype=bool)
    if pooling == "first":
        is_boundary[1:] = tokens[1:] != tokens[:-1]
    elif pooling == "last":
        is_boundary[:-1] = tokens[:-1] != tokens[1:]
    else:
        raise ValueError(f"Unknown pooling {pooling!r}: use 'mean', 'first' or 'last'.")
    return is_boundary.astype(np.float32)
