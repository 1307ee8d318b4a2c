"""Dev-set scores of a pipeline with spaCy's scorer, plus plain accuracy for exclusive text classification.
Runs in either environment (trftrain's or the anchor's).

    python bench/accuracy.py MODEL DATA.spacy
"""
import json
import sys

import spacy
from spacy.training import Corpus

KEYS = ("tag_acc", "pos_acc", "dep_uas", "dep_las", "ents_f", "ents_p", "ents_r", "cats_score", "cats_macro_f", "sents_f")


def main() -> None:
    model, data = sys.argv[1], sys.argv[2]
    try:
        import trftrain  # noqa: F401  (registers trftrain's components where it is installed)
    except ImportError:
        pass
    nlp = spacy.load(model)
    examples = list(Corpus(data)(nlp))
    scores = nlp.evaluate(examples, batch_size=64)
    result = {k: scores[k] for k in KEYS if scores.get(k) is not None}
    if any(eg.reference.cats for eg in examples):
        right = 0
        predicted = nlp.pipe([eg.reference.text for eg in examples], batch_size=64)
        for eg, doc in zip(examples, predicted):
            gold = max(eg.reference.cats, key=eg.reference.cats.get)
            right += max(doc.cats, key=doc.cats.get) == gold
        result["cats_accuracy"] = right / len(examples)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
