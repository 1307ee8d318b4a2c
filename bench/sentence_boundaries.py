"""Where a trained parser's sentence boundaries come from and what its two thresholds do: SENTS P/R/F and LAS on
a corpus for each `sentence_threshold` (the start classifier's) and `tree_start_threshold` (how sure the classifier
must be before a new tree of the decoded forest starts a sentence), and with the start classifier switched off
(sentence_threshold 1.0, every tree start taken: the forest alone).

    python bench/sentence_boundaries.py MODEL DATA.spacy [--thresholds 0.3,0.5,0.7] [--tree-starts 0,0.1]

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
    parser.add_argument("--thresholds", default="0.3,0.5,0.7")
    parser.add_argument("--tree-starts", default="0,0.05,0.1,0.2")
    args = parser.parse_args()
    nlp = spacy.load(args.model)
    examples = list(Corpus(args.data)(nlp))
    per_doc = [len(list(eg.reference.sents)) for eg in examples]
    print(json.dumps({"docs": len(per_doc), "sentences": sum(per_doc),
                      "docs_with_one_sentence": sum(n == 1 for n in per_doc)}))
    head = nlp.get_pipe("parser")
    print(json.dumps({"saved": {"sentence_threshold": head.sentence_threshold,
                                "tree_start_threshold": head.tree_start_threshold}}))
    # 1.0: no token passes, so sentences start only where the decoded forest starts a new tree.
    settings = [(float(t), float(f)) for t in args.thresholds.split(",") for f in args.tree_starts.split(",")]
    for threshold, tree_start in settings + [(1.0, 0.0)]:
        head.sentence_threshold, head.tree_start_threshold = min(threshold, 1 - 1e-9), tree_start
        scores = nlp.evaluate(examples, batch_size=64)
        print(json.dumps({"sentence_threshold": threshold, "tree_start_threshold": tree_start,
                          "sents_p": round(100 * scores["sents_p"], 1), "sents_r": round(100 * scores["sents_r"], 1),
                          "sents_f": round(100 * scores["sents_f"], 1), "dep_las": round(100 * scores["dep_las"], 1)}),
              flush=True)


if __name__ == "__main__":
    main()
