"""A tiny teacher and tiny students of both kinds for the distillation tests, built through the configs users write."""
from pathlib import Path
from typing import List

from pipelines import build, decaying, examples_for, gold_docs, write_config
from spacy.tokens import Doc

TEACHER_HEADS = ["tagger", "parser", "ner", "textcat"]
# Small parser layers keep the tests quick; nothing here needs the defaults' capacity.
SMALL_PARSER = """
[components.parser.model]
@architectures = "trftrain.BiaffineParser.v2"
arc_width = 32
label_width = 16
dropout = 0.0
"""
RAW_TEXTS = [
    "Anna lives in Berlin . She likes it .",
    "Apple buys a small startup in Paris !",
    "The fox jumps .",
    "Anna buys a fox in Berlin .",
    "She likes Paris .",
]

# The teacher's encoder cut to one layer, as a trftrain student's shared transformer.
STUDENT_ENCODER = """
[components.transformer]
factory = "trftrain_transformer"

[components.transformer.model]
@architectures = "trftrain.Transformer.v1"
name = ${paths.teacher_encoder}
layers = 1
window = 16
stride = 12
inference_precision = "off"
"""

# The text as it was before STUDENT_ENCODER was split out: with the transformer's sections first instead, the
# student ended near a tie on one relation and test_trftrain_student_reproduces_the_teacher failed in 3 of 8 runs.
TRFTRAIN_STUDENT = """
[paths]
dev = null

[nlp]
lang = "en"
pipeline = ["transformer", "tagger", "parser", "ner", "textcat"]
""" + STUDENT_ENCODER + """
[components.tagger]
factory = "trftrain_tagger"
pos_from_tags = true

[components.parser]
factory = "trftrain_parser"
inference_precision = "off"
""" + SMALL_PARSER + """
[components.ner]
factory = "trftrain_ner"

[components.textcat]
factory = "trftrain_textcat"

[training]
max_steps = {steps}
eval_frequency = {steps}
mixed_precision = "off"

[training.optimizer]
@optimizers = "trftrain.AdamW.v1"
encoder_lr = 0.002
heads_lr = 0.02

[training.schedule]
@schedules = "trftrain.WarmupCosine.v1"
warmup_steps = 0
total_steps = {steps}
"""

SPACY_STUDENT = """
[paths]
train = null
dev = null

[system]
seed = 0
gpu_allocator = null

[nlp]
lang = "en"
pipeline = ["tok2vec", "tagger", "parser", "ner", "textcat"]

[components.tok2vec]
factory = "tok2vec"

[components.tok2vec.model]
@architectures = "spacy.Tok2Vec.v2"

[components.tok2vec.model.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = 32
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [500, 100, 250, 250]
include_static_vectors = false

[components.tok2vec.model.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = 32
depth = 2
window_size = 1
maxout_pieces = 2

[components.tagger]
factory = "tagger"

[components.tagger.model]
@architectures = "spacy.Tagger.v2"

[components.tagger.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
width = 32

[components.parser]
factory = "parser"
min_action_freq = 1

[components.parser.model]
@architectures = "spacy.TransitionBasedParser.v2"
state_type = "parser"
hidden_width = 32
maxout_pieces = 2

[components.parser.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
width = 32

[components.ner]
factory = "ner"

[components.ner.model]
@architectures = "spacy.TransitionBasedParser.v2"
state_type = "ner"
hidden_width = 32
maxout_pieces = 2

[components.ner.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
width = 32

[components.textcat]
factory = "textcat"

[components.textcat.model]
@architectures = "spacy.TextCatBOW.v3"
exclusive_classes = true
ngram_size = 1
no_output_layer = false
length = 4096

[corpora.train]
@readers = "spacy.Corpus.v1"
path = ${paths.train}

[corpora.dev]
@readers = "spacy.Corpus.v1"
path = ${paths.dev}

[training]
max_steps = {steps}
eval_frequency = {steps}
dropout = 0.0

[training.optimizer]
@optimizers = "Adam.v1"
learn_rate = 0.005

[training.batcher]
@batchers = "spacy.batch_by_words.v1"
size = 200

[training.logger]
@loggers = "spacy.ConsoleLogger.v1"
progress_bar = false
"""


def teacher_docs(vocab) -> List[Doc]:
    """The gold docs the teacher learns: pipelines.gold_docs and two more, so that it is sure of every raw text
    (where a teacher hesitates between two labels, no student can be expected to copy its choice)."""
    extra = [
        Doc(vocab, words=["Anna", "buys", "a", "fox", "in", "Berlin", "."], tags=["NNP", "VBZ", "DT", "NN", "IN", "NNP", "."],
            pos=["PROPN", "VERB", "DET", "NOUN", "ADP", "PROPN", "PUNCT"], heads=[1, 1, 3, 1, 5, 1, 1],
            deps=["nsubj", "ROOT", "det", "obj", "case", "obl", "punct"], ents=["B-PER", "O", "O", "O", "O", "B-LOC", "O"]),
        Doc(vocab, words=["She", "likes", "Paris", "."], tags=["PRP", "VBZ", "NNP", "."], pos=["PRON", "VERB", "PROPN", "PUNCT"],
            heads=[1, 1, 1, 1], deps=["nsubj", "ROOT", "obj", "punct"], ents=["O", "O", "B-LOC", "O"]),
    ]
    for doc, label in zip(extra, ("NEG", "POS")):
        doc.cats = {"POS": float(label == "POS"), "NEG": float(label == "NEG")}
    return gold_docs(vocab) + extra


def train_teacher(directory: Path, encoder: str, steps: int = 80) -> Path:
    """A trained tagger + parser + NER + textcat pipeline, saved in directory/teacher. At 40 steps it still
    hesitated over "Paris" in "She likes Paris ." on some CPUs, and students copied either choice; 80 steps make
    it sure of every raw text (teacher_is_sure checks that)."""
    config = write_config(directory, encoder, TEACHER_HEADS, extra=SMALL_PARSER, schedule=decaying(steps))
    nlp, trainer, examples = build(config, lambda nlp: examples_for(nlp, teacher_docs(nlp.vocab)))
    trainer.train_mode()
    for step in range(steps):
        trainer.step([examples], step)
    nlp.to_disk(directory / "teacher")
    return directory / "teacher"


def write_student(directory: Path, kind: str, steps: int) -> Path:
    path = Path(directory) / f"student-{kind}.cfg"
    template = TRFTRAIN_STUDENT if kind == "trftrain" else SPACY_STUDENT
    path.write_text(template.replace("{steps}", str(steps)))
    return path


def annotations(doc: Doc) -> dict:
    """What a student has to reproduce: tags, heads, relations, entities and the likeliest class."""
    return {"tags": [t.tag_ for t in doc], "heads": [t.head.i for t in doc], "deps": [t.dep_.lower() for t in doc],
            "ents": [(e.start, e.end, e.label_) for e in doc.ents],
            "cat": max(doc.cats, key=doc.cats.get) if doc.cats else None}


def annotate(nlp, texts: List[str]) -> List[dict]:
    return [annotations(doc) for doc in nlp.pipe(texts)]


def teacher_gold(nlp) -> List[dict]:
    """The annotations the teacher learned for each raw text, from its training docs."""
    by_text = {" ".join(t.text for t in doc): annotations(doc) for doc in teacher_docs(nlp.vocab)}
    return [by_text[text] for text in RAW_TEXTS]
