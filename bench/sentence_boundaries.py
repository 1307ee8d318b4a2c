"""Where a trained parser's sentence boundaries come from and what its `sentence_threshold` does: SENTS P/R/F and
LAS on a corpus at several thresholds, and with the start classifier switched off (the forest's tree starts only).

    python bench/sentence_boundaries.py MODEL DATA.spacy [--thresholds 0.1,0.2,0.3,0.5,0.7]

Prints one JSON line per setting. The gold documents' own sentence counts are printed first, because a corpus
of one-sentence documents says nothing about boundaries inside a document.
"""
import argparse
import json

import spacy
from spacy.training import Corpus


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("--thresholds", default="0.1,0.2,0.3,0.5,0.7")
    args = parser.parse_args()
    nlp = spacy.load(args.model)
    examples = list(Corpus(args.data)(nlp))
    per_doc = [len(list(eg.reference.sents)) for eg in examples]
    print(json.dumps({"docs": len(per_doc), "sentences": sum(per_doc),
                      "docs_with_one_sentence": sum(n == 1 for n in per_doc)}))
    head = nlp.get_pipe("parser")
    saved = head.sentence_threshold
    # 1.0: no token passes, so sentences start only where the decoded forest starts a new tree.
    for threshold in [float(t) for t in args.thresholds.split(",")] + [1.0]:
        head.sentence_threshold = min(threshold, 1 - 1e-9)
        scores = nlp.evaluate(examples, batch_size=64)
        print(json.dumps({"sentence_threshold": threshold, "sents_p": round(100 * scores["sents_p"], 1),
                          "sents_r": round(100 * scores["sents_r"], 1), "sents_f": round(100 * scores["sents_f"], 1),
                          "dep_las": round(100 * scores["dep_las"], 1)}), flush=True)
    head.sentence_threshold = saved


if __name__ == "__main__":
    main()
