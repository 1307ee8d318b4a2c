"""Whitespace tokens: what every head sets on them, whatever its model would say.

spaCy's tokenizer keeps a line break or a run of spaces as a token of its own ("\\n\\n" between paragraphs). The
encoder gives such a token no pieces, and training corpora such as the UD treebanks have none, so a head's own
guess there is noise: a blank line came out as a sentence of its own, tagged NNP and attached as "advmod".
Instead each head follows spaCy's convention for them: tag "_SP", POS "SPACE", never the start of a sentence
(it belongs to the sentence before it), attached to the nearest word before it (after it at a doc's start) as
"dep", and never an entity.
"""
import numpy as np
from spacy.attrs import IS_SPACE
from spacy.tokens import Doc

SPACE_TAG = "_SP"
SPACE_POS = "SPACE"
SPACE_DEP = "dep"


def space_mask(doc: Doc) -> np.ndarray:
    """bool per token: is it whitespace only?"""
    if not len(doc):
        return np.zeros(0, dtype=bool)
    return doc.to_array([IS_SPACE]).reshape(-1).astype(bool)


def nearest_words(is_space: np.ndarray) -> np.ndarray:
    """For each token (whitespace or not) of a stretch, the position of the nearest non-whitespace token at or
    before it, or the first one after it where there is none before; -1 everywhere if all are whitespace."""
    positions = np.arange(len(is_space))
    words = np.flatnonzero(~is_space)
    if not len(words):
        return np.full(len(is_space), -1, dtype=np.int64)
    before = np.searchsorted(words, positions, side="right") - 1
    return words[np.maximum(before, 0)]
