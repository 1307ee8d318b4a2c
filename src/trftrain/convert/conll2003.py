"""CoNLL-2003 style columns (word ... NER tag last) -> Docs with entities and sentence boundaries.

Reads IOB1 (the original files: B- only between two touching entities of one type) and IOB2 alike: a
token starts an entity when its tag is B-, or I- after a token outside an entity of that type.
"""
from pathlib import Path
from typing import Iterator, List, Optional

from spacy.tokens import Doc
from spacy.vocab import Vocab

from ..errors import Errors
from . import malformed, read_lines

DOC_START = "-DOCSTART-"
# Sentences per doc for files without -DOCSTART- (the CoNLL-U converter's default as well).
N_SENTS = 10


def to_iob2(tags: List[str]) -> List[str]:
    result, previous_type = [], None
    for tag in tags:
        if tag == "O":
            result.append("O")
            previous_type = None
            continue
        move, entity_type = tag.split("-", 1)
        begins = move == "B" or previous_type != entity_type
        result.append(("B-" if begins else "I-") + entity_type)
        previous_type = entity_type
    return result


def conll_ner_to_docs(path: Path, n_sents: Optional[int] = None, vocab=None,
                      notes: Optional[List[str]] = None) -> Iterator[Doc]:
    """One Doc per -DOCSTART- article, or per n_sents sentences when n_sents is given.

    A file without -DOCSTART- lines (WNUT-17 and most NER data besides CoNLL-2003) is grouped N_SENTS sentences
    a doc: as one doc of the whole file, one training step would read tens of thousands of tokens.
    notes (List[str]): where to say how the sentences were grouped.
    """
    vocab = vocab or Vocab()
    lines = read_lines(path)
    has_articles = any(line.split()[:1] == [DOC_START] for line in lines)
    if n_sents is None and not has_articles:
        n_sents = N_SENTS
        if notes is not None:
            notes.append(f"No {DOC_START} lines in '{path}': grouped {N_SENTS} sentences per doc "
                         "(--n-sents N to change).")
    sentences: List[List[tuple]] = []
    current: List[tuple] = []
    for number, line in enumerate(lines, start=1):
        columns = line.split()
        if not columns:
            if current:
                sentences.append(current)
                current = []
            if n_sents and len(sentences) >= n_sents:
                yield _doc(vocab, sentences)
                sentences = []
            continue
        if columns[0] == DOC_START:
            if current:
                sentences.append(current)
                current = []
            if sentences:
                yield _doc(vocab, sentences)
                sentences = []
            continue
        if len(columns) < 2:
            raise malformed(path, number, Errors.E111)
        tag = columns[-1]
        if tag != "O" and not (tag[:2] in ("B-", "I-") and len(tag) > 2):
            raise malformed(path, number, Errors.E112, tag=tag)
        current.append((columns[0], tag))
    if current:
        sentences.append(current)
    if sentences:
        yield _doc(vocab, sentences)


def _doc(vocab, sentences: List[List[tuple]]) -> Doc:
    words = [word for sentence in sentences for word, _ in sentence]
    tags = to_iob2([tag for sentence in sentences for _, tag in sentence])
    starts = [i == 0 for sentence in sentences for i in range(len(sentence))]
    return Doc(vocab, words=words, ents=tags, sent_starts=starts)
