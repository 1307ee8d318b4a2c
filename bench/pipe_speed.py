"""Inference words/s of a pipeline over a DocBin's texts with nlp.pipe at a fixed batch size, best of N passes
after a one-batch warm-up (N = 3 by default, the method behind DESIGN.md's anchor figure). Runs in either
environment.

    python bench/pipe_speed.py MODEL DATA.spacy [BATCH_SIZE] [--int8] [--passes=N] [--gpu=N]
"""
import json
import resource
import sys
import time

import spacy
from spacy.tokens import DocBin


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    passes = next((int(a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith("--passes=")), 3)
    model, data = args[0], args[1]
    batch_size = int(args[2]) if len(args) > 2 else 64
    nlp = spacy.load(model)
    if "--int8" in sys.argv:
        import trftrain

        trftrain.quantize_int8(nlp)
    gpu = next((int(a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith("--gpu=")), -1)
    if gpu >= 0:
        import trftrain

        trftrain.to_device(nlp, f"cuda:{gpu}")
    texts = [doc.text for doc in DocBin().from_disk(data).get_docs(nlp.vocab)]
    words = sum(len(nlp.make_doc(text)) for text in texts)
    for _ in nlp.pipe(texts[:batch_size], batch_size=batch_size):  # warm-up
        pass
    seconds = []
    for _ in range(passes):
        start = time.perf_counter()
        for _ in nlp.pipe(texts, batch_size=batch_size):
            pass
        seconds.append(time.perf_counter() - start)
    best = min(seconds)
    print(json.dumps({"words": words, "seconds": round(best, 2), "wps": round(words / best),
                      "pass_wps": [round(words / s) for s in seconds],
                      "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))


if __name__ == "__main__":
    main()
