"""Docs that together carry every annotation value in a teacher's cache: what components that collect their labels
from examples (spaCy's tagger, morphologizer, ...) must be initialized with, found in one pass over the shards
that holds one shard at a time."""
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
