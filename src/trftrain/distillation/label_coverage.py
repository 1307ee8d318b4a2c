"""Docs that together carry every annotation value in a teacher's cache: what components that collect their labels
from examples (spaCy's tagger, morphologizer, ...) must be initialized with, found in one pass over the shards
that holds one shard at a time. Values only: a parser's labels for non-projective arcs and its moves come from
tree shapes this sample may miss, and spaCy's parser and NER add what they did not collect as they train."""
from typing import Iterable, List, Set, Tuple

from spacy.tokens import Doc

from .cache import TeacherCache

Value = Tuple[str, str]


def annotation_values(doc: Doc) -> Set[Value]:
    """Every (kind, value) the doc's annotation uses: tags, POS, morphology, relations, entity types, classes."""
    values = {(kind, value) for token in doc
              for kind, value in (("tag", token.tag_), ("pos", token.pos_), ("morph", str(token.morph)),
                                  ("dep", token.dep_)) if value}
    values.update(("ent", ent.label_) for ent in doc.ents)
    values.update(("cat", label) for label in doc.cats)
    return values


def label_sample(cache: TeacherCache, vocab, whole_shards: int) -> List[Doc]:
    """The first `whole_shards` shards' docs (shapes, a sample of everything), then each later doc that carries an
    annotation value none before it did."""
    first = [doc for index in range(min(whole_shards, cache.n_shards)) for doc in cache.read_docs(index, vocab)]
    seen = {value for doc in first for value in annotation_values(doc)}
    return first + docs_with_new_values(cache, range(min(whole_shards, cache.n_shards), cache.n_shards), vocab, seen)


def docs_with_new_values(cache: TeacherCache, shards: Iterable[int], vocab, seen: Set[Value]) -> List[Doc]:
    """The docs of `shards`, in order, that carry a value neither `seen` nor an earlier doc did (`seen` grows)."""
    chosen = []
    for index in shards:
        for doc in cache.read_docs(index, vocab):
            new = annotation_values(doc) - seen
            if new:
                seen.update(new)
                chosen.append(doc)
    return chosen
