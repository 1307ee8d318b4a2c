"""Build and overfit small pipelines on the tiny encoders, through the same config path users take."""
from pathlib import Path
from typing import List

import torch
from spacy.tokens import Doc
from spacy.training import Example
from spacy.vocab import Vocab
from thinc.api import fix_random_seed

from trftrain.config import load_config, resolve_training
from trftrain.runtime import build_pipeline
from trftrain.training.trainer import Trainer

BASE = """
[nlp]
lang = "en"
pipeline = {pipeline}

[components.transformer]
factory = "trftrain_transformer"

[components.transformer.model]
@architectures = "trftrain.Transformer.v1"
name = "{encoder}"
window = 16
stride = 12
# The same arithmetic on every CI machine, with or without native bf16; test_precision.py covers bf16.
inference_precision = "off"

[training]
max_steps = 4
eval_frequency = 2
mixed_precision = "off"

[training.optimizer]
@optimizers = "trftrain.AdamW.v1"
encoder_lr = 0.001
heads_lr = 0.01

[training.schedule]
{schedule}
"""

# A constant rate keeps short tests simple; the overfitting tests decay it to zero instead: at these high constant
# rates a parser that had fit the examples lost one again in 5 of ~190 checks (10 seeds, every 10 steps), so
# "fits after N steps" failed now and then.
CONSTANT = '@schedules = "trftrain.Constant.v1"'


def decaying(steps: int) -> str:
    return f'@schedules = "trftrain.WarmupCosine.v1"\nwarmup_steps = 0\ntotal_steps = {steps}'


HEAD_BLOCKS = {
    "tagger": '[components.tagger]\nfactory = "trftrain_tagger"\npos_from_tags = true\n',
    "morphologizer": '[components.morphologizer]\nfactory = "trftrain_morphologizer"\n',
    "senter": '[components.senter]\nfactory = "trftrain_senter"\n',
    "parser": '[components.parser]\nfactory = "trftrain_parser"\ninference_precision = "off"\n',
    "ner": '[components.ner]\nfactory = "trftrain_ner"\n',
    "textcat": '[components.textcat]\nfactory = "trftrain_textcat"\n'
               '[initialize.components.textcat]\nlabels = ["NEG", "POS"]\n',
    "textcat_multilabel": '[components.textcat_multilabel]\nfactory = "trftrain_textcat_multilabel"\n'
                          '[initialize.components.textcat_multilabel]\nlabels = ["ANIMAL", "BUSINESS", "PLACE"]\n',
    "spacy_ner": """[components.spacy_ner]
factory = "ner"
[components.spacy_ner.model]
@architectures = "spacy.TransitionBasedParser.v2"
state_type = "ner"
extra_state_tokens = false
hidden_width = 32
maxout_pieces = 2
use_upper = false
nO = null
[components.spacy_ner.model.tok2vec]
@architectures = "trftrain.TransformerListener.v1"
upstream = "transformer"
""",
    "spacy_parser": """[components.spacy_parser]
factory = "parser"
# Keep every relation, however rare: the test corpus has three docs.
min_action_freq = 1
[components.spacy_parser.model]
@architectures = "spacy.TransitionBasedParser.v2"
state_type = "parser"
extra_state_tokens = false
hidden_width = 32
maxout_pieces = 2
use_upper = true
nO = null
[components.spacy_parser.model.tok2vec]
@architectures = "trftrain.TransformerListener.v1"
upstream = "transformer"
""",
    "spancat": """[components.spancat]
factory = "spancat"
spans_key = "sc"
[components.spancat.model]
@architectures = "spacy.SpanCategorizer.v1"
[components.spancat.model.reducer]
@layers = "spacy.mean_max_reducer.v1"
hidden_size = 32
[components.spancat.model.scorer]
@layers = "spacy.LinearLogistic.v1"
[components.spancat.model.tok2vec]
@architectures = "trftrain.TransformerListener.v1"
upstream = "transformer"
[components.spancat.suggester]
@misc = "spacy.ngram_suggester.v1"
sizes = [1, 2]
""",
}


def write_config(directory: Path, encoder: str, heads: List[str], extra: str = "", schedule: str = CONSTANT) -> Path:
    pipeline = "[" + ", ".join(f'"{h}"' for h in ["transformer"] + heads) + "]"
    text = BASE.format(pipeline=pipeline, encoder=encoder, schedule=schedule) + "\n".join(HEAD_BLOCKS[h] for h in heads) + extra
    path = Path(directory) / "config.cfg"
    path.write_text(text)
    return path


def gold_docs(vocab=None) -> List[Doc]:
    """Three small fully annotated docs (tags, POS, morphology, parse, entities, cats, spans)."""
    vocab = vocab or Vocab()
    docs = [
        Doc(vocab, words=["Anna", "lives", "in", "Berlin", ".", "She", "likes", "it", "."],
            tags=["NNP", "VBZ", "IN", "NNP", ".", "PRP", "VBZ", "PRP", "."],
            pos=["PROPN", "VERB", "ADP", "PROPN", "PUNCT", "PRON", "VERB", "PRON", "PUNCT"],
            morphs=["Number=Sing", "Tense=Pres", "", "Number=Sing", "", "Case=Nom", "Tense=Pres", "Case=Acc", ""],
            heads=[1, 1, 3, 1, 1, 6, 6, 6, 6], deps=["nsubj", "ROOT", "case", "obl", "punct", "nsubj", "ROOT", "obj", "punct"],
            ents=["B-PER", "O", "O", "B-LOC", "O", "O", "O", "O", "O"]),
        Doc(vocab, words=["Apple", "buys", "a", "small", "startup", "in", "Paris", "!"],
            tags=["NNP", "VBZ", "DT", "JJ", "NN", "IN", "NNP", "."],
            pos=["PROPN", "VERB", "DET", "ADJ", "NOUN", "ADP", "PROPN", "PUNCT"],
            morphs=["Number=Sing", "Tense=Pres", "", "Degree=Pos", "Number=Sing", "", "Number=Sing", ""],
            heads=[1, 1, 4, 4, 1, 6, 1, 1], deps=["nsubj", "ROOT", "det", "amod", "obj", "case", "obl", "punct"],
            ents=["B-ORG", "O", "O", "O", "O", "O", "B-LOC", "O"]),
        Doc(vocab, words=["The", "fox", "jumps", "."], tags=["DT", "NN", "VBZ", "."],
            pos=["DET", "NOUN", "VERB", "PUNCT"], morphs=["", "Number=Sing", "Tense=Pres", ""],
            heads=[1, 2, 2, 2], deps=["det", "nsubj", "ROOT", "punct"], ents=["O", "O", "O", "O"]),
    ]
    for doc, (label, extra) in zip(docs, [("POS", "PLACE"), ("POS", "BUSINESS"), ("NEG", "ANIMAL")]):
        doc.cats = {"POS": float(label == "POS"), "NEG": float(label == "NEG"), "PLACE": float(extra == "PLACE"),
                    "BUSINESS": float(extra == "BUSINESS"), "ANIMAL": float(extra == "ANIMAL")}
        doc.spans["sc"] = [doc.char_span(e.start_char, e.end_char, label=e.label_) for e in doc.ents]
    return docs


def examples_for(nlp, docs: List[Doc]) -> List[Example]:
    return [Example(Doc(nlp.vocab, words=[t.text for t in d], spaces=[bool(t.whitespace_) for t in d]), d) for d in docs]


def build(config_path: Path, examples_factory=None):
    """(nlp, trainer, examples) with the pipeline initialized on gold_docs."""
    raw = load_config(config_path, interpolate=False)
    T = resolve_training(raw.interpolate())
    fix_random_seed(0)
    nlp = build_pipeline(raw)
    examples = (examples_factory or (lambda n: examples_for(n, gold_docs(n.vocab))))(nlp)
    nlp.initialize(lambda: examples)
    return nlp, Trainer(nlp, T, torch.device("cpu")), examples


def overfit(config_path: Path, steps: int = 80):
    nlp, trainer, examples = build(config_path)
    trainer.train_mode()
    for step in range(steps):
        trainer.step([examples], step)
    return nlp, examples
