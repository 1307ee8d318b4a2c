"""Where a trftrain pipeline's `nlp.pipe` time goes: seconds inside the encoder's transformer calls, in the rest
of the encoder (tokenizer, windows, pooling) and in each component's predict, over one pass after a warm-up.

    python bench/inference_split.py MODEL DATA.spacy [BATCH_SIZE]
"""
import collections
import json
import sys
import time

import spacy
from spacy.tokens import DocBin

from trftrain.encoder.backbone import HuggingFaceBackbone
from trftrain.encoder.token_encoder import TokenEncoder

spent = collections.Counter()


def timed(label: str, function):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - start
    return wrapper


def main() -> None:
    model, data = sys.argv[1:3]
    batch_size = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    TokenEncoder.forward = timed("encoder (all)", TokenEncoder.forward)
    HuggingFaceBackbone.forward = timed("encoder: transformer calls", HuggingFaceBackbone.forward)
    nlp = spacy.load(model)
    for name, component in nlp.pipeline:
        component.predict = timed(f"{name}.predict", component.predict)
    texts = [doc.text for doc in DocBin().from_disk(data).get_docs(nlp.vocab)]
    for _ in nlp.pipe(texts[:batch_size], batch_size=batch_size):  # warm-up
        pass
    spent.clear()
    start = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=batch_size):
        pass
    total = time.perf_counter() - start
    print(json.dumps({"pass_seconds": round(total, 2), **{k: round(v, 2) for k, v in spent.items()}}))


if __name__ == "__main__":
    main()
