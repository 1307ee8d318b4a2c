"""Where a pipeline's sentence boundaries go wrong: runs it on the gold tokens of a .spacy corpus and counts the
gold sentence starts it found, missed and added, the missed ones by what comes before them (punctuation or a
word) and how they are cased. Given the CoNLL-U file the corpus was converted from, it also counts how many of
the missed starts open a paragraph there (`# newpar` or `# newdoc`): the converted text joins paragraphs with a
plain space, so nothing but the words marks them.

    python bench/missed_sentence_starts.py MODEL DATA.spacy [SOURCE.conllu]
"""
import json
import sys
from collections import Counter
from typing import List

import spacy
from spacy.tokens import Doc, DocBin


def paragraph_starts(conllu: str) -> List[bool]:
    """One flag per sentence of a CoNLL-U file, in order: does it open a paragraph (or a document)?"""
    flags, opens = [], False
    with open(conllu, encoding="utf8") as lines:
        for line in lines:
            if line.startswith(("# newpar", "# newdoc")):
                opens = True
            elif line.startswith("# sent_id"):
                flags.append(opens)
                opens = False
    return flags


def main() -> None:
    model, data = sys.argv[1], sys.argv[2]
    opens_paragraph = paragraph_starts(sys.argv[3]) if len(sys.argv) > 3 else None
    nlp = spacy.load(model)
    gold = list(DocBin().from_disk(data).get_docs(nlp.vocab))
    # The gold tokens, so that every token lines up with its gold twin whatever the tokenizer would do.
    inputs = [Doc(nlp.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc]) for doc in gold]
    counts, missed, missed_at_paragraph = Counter(), Counter(), Counter()
    sentence = -1  # index of the current gold sentence over the whole corpus
    for reference, predicted in zip(gold, nlp.pipe(inputs, batch_size=32)):
        for i in range(len(reference)):
            is_gold, is_predicted = bool(reference[i].is_sent_start), bool(predicted[i].is_sent_start)
            sentence += is_gold
            if i == 0:  # a doc's first token starts a sentence by definition
                continue
            if is_gold and not is_predicted:
                before = "after punctuation" if reference[i - 1].is_punct else "after a word"
                cased = "capitalised" if reference[i].is_title or reference[i].is_upper else "other"
                missed[f"{cased}, {before}"] += 1
                if opens_paragraph is not None and opens_paragraph[sentence]:
                    missed_at_paragraph[f"{cased}, {before}"] += 1
            counts["found" if is_gold and is_predicted else "missed" if is_gold else
                   "spurious" if is_predicted else "neither"] += 1
    result = {"found": counts["found"], "missed": counts["missed"], "spurious": counts["spurious"],
              "missed_by_context": dict(missed.most_common())}
    if opens_paragraph is not None:
        if sentence + 1 != len(opens_paragraph):
            sys.exit(f"{data} has {sentence + 1} sentences, {sys.argv[3]} {len(opens_paragraph)}: not its source")
        result["missed_at_paragraph_start"] = sum(missed_at_paragraph.values())
        result["missed_at_paragraph_start_by_context"] = dict(missed_at_paragraph.most_common())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
