"""Dev-set scores of a trftrain pipeline in another arithmetic than the one it predicts in by default: with its
encoder quantized to int8 (the accuracy cost of --int8), or in fp32 (what bf16 inference costs on CPUs where
inference_precision "auto" picks bf16).

    python bench/variant_accuracy.py MODEL DATA.spacy int8|fp32
"""
import json
import sys

import spacy
from spacy.training import Corpus

import trftrain

KEYS = ("tag_acc", "dep_uas", "dep_las", "ents_f", "cats_score")

model, data, variant = sys.argv[1:4]
nlp = spacy.load(model)
if variant == "int8":
    trftrain.quantize_int8(nlp)
elif variant == "fp32":
    trftrain.set_inference_precision(nlp, "off")
else:
    sys.exit(f"unknown variant {variant!r}: use int8 or fp32")
scores = nlp.evaluate(list(Corpus(data)(nlp)), batch_size=64)
print(json.dumps({k: scores[k] for k in KEYS if scores.get(k) is not None}))
