"""What each token looks like, as a few 0/1 features a head can read beside its vectors: case, punctuation,
numbers, line breaks. all-MiniLM-L6-v2 and other uncased encoders lowercase their input, so their vectors never
show the capital that often is the one sign of a new sentence in web text without full stops."""
from typing import Sequence

import numpy as np
from spacy.attrs import IS_LOWER, IS_PUNCT, IS_SPACE, IS_TITLE, IS_UPPER, LIKE_NUM, ORTH
from spacy.tokens import Doc

SENTENCE_FINAL = (".", "!", "?", "...", "…")
# Columns: IS_TITLE, IS_UPPER, IS_LOWER, IS_PUNCT, LIKE_NUM, IS_SPACE, sentence-final punctuation, line break before.
N_SHAPES = 8


def token_shapes(docs: Sequence[Doc]) -> np.ndarray:
    """(n_tokens_in_batch, N_SHAPES) float32, docs one after another."""
    rows = [_doc_shapes(doc) for doc in docs]
    return np.concatenate(rows) if rows else np.zeros((0, N_SHAPES), np.float32)


def _doc_shapes(doc: Doc) -> np.ndarray:
    if not len(doc):
        return np.zeros((0, N_SHAPES), np.float32)
    flags = doc.to_array([IS_TITLE, IS_UPPER, IS_LOWER, IS_PUNCT, LIKE_NUM, IS_SPACE, ORTH])
    final = np.isin(flags[:, 6], [doc.vocab.strings.add(text) for text in SENTENCE_FINAL])
    # A line break right before a token: in the previous token's trailing space, or a whitespace token itself.
    breaks = np.array([("\n" in token.whitespace_) or (token.is_space and "\n" in token.text) for token in doc])
    line_break_before = np.zeros(len(doc), bool)
    line_break_before[1:] = breaks[:-1]
    return np.column_stack([flags[:, :6] != 0, final, line_break_before]).astype(np.float32)
