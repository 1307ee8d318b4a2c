"""The teacher's decoded annotation as gold-style Docs: what a student that only takes gold (spaCy's own
components) learns, and what agreement with the teacher is scored against. Tags, parses and entities are
already decisions; class probabilities become decisions here."""
from typing import Dict, Iterable

from spacy.tokens import Doc


def decide_cats(doc: Doc, classifiers: Iterable[Dict]) -> None:
    """Replace the teacher's probabilities in doc.cats by 0/1 decisions: the likeliest class of an exclusive
    classifier, every label at or above the threshold of a multi-label one. classifiers: the cache's description
    of each text classifier ({"labels", "multi_label", "threshold"})."""
    for classifier in classifiers:
        labels = [label for label in classifier["labels"] if label in doc.cats]
        if not labels:
            continue
        if classifier["multi_label"]:
            decided = {label: float(doc.cats[label] >= classifier["threshold"]) for label in labels}
        else:
            best = max(labels, key=lambda label: doc.cats[label])
            decided = {label: float(label == best) for label in labels}
        doc.cats.update(decided)
