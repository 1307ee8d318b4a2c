"""Inference words/s of a pipeline over a DocBin's texts with nlp.pipe at a fixed batch size, best of 3 passes
(the method behind DESIGN.md's anchor figure). Runs in either environment.

    python bench/pipe_speed.py MODEL DATA.spacy [BATCH_SIZE] [--int8]
"""
import json
import resource
import sys
import time

import spacy
from spacy.tokens import DocBin


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    model, data = args[0], args[1]
    batch_size = int(args[2]) if len(args) > 2 else 64
    nlp = spacy.load(model)
    if "--int8" in sys.argv:
        import trftrain

        trftrain.quantize_int8(nlp)
    texts = [doc.text for doc in DocBin().from_disk(data).get_docs(nlp.vocab)]
    words = sum(len(nlp.make_doc(text)) for text in texts)
    for _ in nlp.pipe(texts[:batch_size], batch_size=batch_size):  # warm-up
        pass
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in nlp.pipe(texts, batch_size=batch_size):
            pass
        best = min(best, time.perf_counter() - start)
    print(json.dumps({"words": words, "seconds": round(best, 2), "wps": round(words / best),
                      "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))


if __name__ == "__main__":
    main()
