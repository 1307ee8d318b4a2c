"""Dev-set scores of a trftrain pipeline after int8 quantization of its encoder: the accuracy cost of --int8.

    python bench/int8_accuracy.py MODEL DATA.spacy
"""
import json
import sys

import spacy
from spacy.training import Corpus

import trftrain

KEYS = ("tag_acc", "dep_uas", "dep_las", "ents_f", "cats_score")

nlp = spacy.load(sys.argv[1])
trftrain.quantize_int8(nlp)
scores = nlp.evaluate(list(Corpus(sys.argv[2])(nlp)), batch_size=64)
print(json.dumps({k: scores[k] for k in KEYS if scores.get(k) is not None}))
