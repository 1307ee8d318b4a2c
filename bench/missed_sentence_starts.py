"""Where a pipeline's sentence boundaries go wrong: runs it on the gold tokens of a .spacy corpus and counts the
gold sentence starts it found, missed and added, the missed ones by what comes before them (punctuation or a
word) and how they are cased.

    python bench/missed_sentence_starts.py MODEL DATA.spacy
"""
import json
import sys
from collections import Counter

import spacy
from spacy.tokens import Doc, DocBin


def main() -> None:
    model, data = sys.argv[1], sys.argv[2]
    nlp = spacy.load(model)
    gold = list(DocBin().from_disk(data).get_docs(nlp.vocab))
    # The gold tokens, so that every token lines up with its gold twin whatever the tokenizer would do.
    inputs = [Doc(nlp.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc]) for doc in gold]
    counts, missed = Counter(), Counter()
    for reference, predicted in zip(gold, nlp.pipe(inputs, batch_size=32)):
        for i in range(1, len(reference)):  # a doc's first token starts a sentence by definition
            is_gold, is_predicted = bool(reference[i].is_sent_start), bool(predicted[i].is_sent_start)
            if is_gold and not is_predicted:
                before = "after punctuation" if reference[i - 1].is_punct else "after a word"
                cased = "capitalised" if reference[i].is_title or reference[i].is_upper else "other"
                missed[f"{cased}, {before}"] += 1
            counts["found" if is_gold and is_predicted else "missed" if is_gold else
                   "spurious" if is_predicted else "neither"] += 1
    print(json.dumps({"found": counts["found"], "missed": counts["missed"], "spurious": counts["spurious"],
                      "missed_by_context": dict(missed.most_common())}))


if __name__ == "__main__":
    main()
