"""How often a pipeline's labels change when its encoder runs at lower precision: the question a served encoder
raises, since `trftrain serve` may run the encoder in bf16 or fp16 while a local pipeline runs it in fp32.

    python bench/precision_agreement.py MODEL DATA.spacy [--variants bf16,fp16,bf16-wire,fp16-wire]

Every variant runs the same texts through the same loaded pipeline and is compared token by token with the encoder
in fp32 (heads unchanged, always as configured):
- "bf16", "fp16": the encoder's arithmetic autocast to that dtype (what a server at `--precision bf16/fp16` does;
  fp16 is emulated on the CPU here, a GPU accumulates fp16 products in fp32 as well);
- "bf16-wire", "fp16-wire": fp32 arithmetic, the hidden states rounded to that dtype (what a narrower wire dtype
  alone would cost).
Prints one JSON line per variant: the share of tokens whose tag, POS, head and relation all agree, and of each.
"""
import argparse
import json

import spacy
import torch
from spacy.tokens import Doc
from spacy.training import Corpus

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def labels(nlp, tokenized):
    """(tag, POS, head offset, relation) of every token; fresh Docs each time, so no annotation carries over."""
    out = []
    docs = (Doc(nlp.vocab, words=words, spaces=spaces) for words, spaces in tokenized)
    for doc in nlp.pipe(docs, batch_size=64):
        out.extend((t.tag_, t.pos_, t.head.i - t.i, t.dep_) for t in doc)
    return out


def set_variant(encoder, variant: str, exact_pieces, exact_autocast) -> None:
    """Point the encoder at the variant's arithmetic (instance attributes over the class's methods)."""
    encoder.encode_pieces, encoder.inference_autocast = exact_pieces, exact_autocast
    dtype = DTYPES[variant.split("-")[0]] if variant != "fp32" else None
    if variant in DTYPES:
        encoder.inference_autocast = lambda: torch.autocast(device_type="cpu", dtype=dtype)
    elif variant.endswith("-wire"):
        encoder.encode_pieces = lambda ids: exact_pieces(ids).to(dtype).float()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("--variants", default="bf16,fp16,bf16-wire,fp16-wire")
    args = parser.parse_args()
    nlp = spacy.load(args.model)
    tokenized = [([t.text for t in eg.reference], [bool(t.whitespace_) for t in eg.reference])
                 for eg in Corpus(args.data)(nlp)]
    encoder = nlp.get_pipe("transformer").encoder
    exact_pieces = encoder.encode_pieces
    exact_autocast = lambda: torch.autocast(device_type="cpu", enabled=False)  # noqa: E731
    set_variant(encoder, "fp32", exact_pieces, exact_autocast)
    reference = labels(nlp, tokenized)
    for variant in args.variants.split(","):
        set_variant(encoder, variant, exact_pieces, exact_autocast)
        got = labels(nlp, tokenized)
        same = [[a == b for a, b in zip(x, y)] for x, y in zip(reference, got)]
        n = len(same)
        print(json.dumps({"variant": variant, "tokens": n, "all": sum(all(s) for s in same) / n,
                          "tag": sum(s[0] for s in same) / n, "pos": sum(s[1] for s in same) / n,
                          "head_and_dep": sum(s[2] and s[3] for s in same) / n}), flush=True)


if __name__ == "__main__":
    main()
