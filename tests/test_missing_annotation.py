"""Corpora where only some docs carry a head's annotation: the rest is ignored, never read as negative."""
from pipelines import build, gold_docs, write_config
from spacy.tokens import Doc
from spacy.training import Example


def mixed_examples(nlp):
    """Treebank-like docs (tags, parse, no entities) mixed with entity-only docs and cats-only docs."""
    treebank = []
    for doc in gold_docs(nlp.vocab):
        bare = Doc(nlp.vocab, words=[t.text for t in doc], tags=[t.tag_ for t in doc], pos=[t.pos_ for t in doc],
                   heads=[t.head.i for t in doc], deps=[t.dep_ for t in doc])
        treebank.append(bare)  # no entity annotation at all: missing, not "O"
    entities = [Doc(nlp.vocab, words=["Paris", "and", "Berlin"], ents=["B-LOC", "O", "B-LOC"])]
    cats = [Doc(nlp.vocab, words=["nice"])]
    cats[0].cats = {"POS": 1.0, "NEG": 0.0}
    return [Example(Doc(nlp.vocab, words=[t.text for t in d]), d) for d in treebank + entities + cats]


def test_missing_annotation_contributes_no_loss(tmp_path, tiny_encoder):
    nlp, trainer, examples = build(write_config(tmp_path, tiny_encoder, ["tagger", "parser", "ner", "textcat"]),
                                   examples_factory=mixed_examples)
    tagger, ner, textcat = nlp.get_pipe("tagger"), nlp.get_pipe("ner"), nlp.get_pipe("textcat")
    treebank, entity_only, cats_only = examples[:3], examples[3:4], examples[4:]
    # Gold ids: entity-only docs have no tags; treebank docs have no entity tags (not "O").
    assert (tagger.gold_ids(entity_only) == -100).all()
    assert (ner.gold_ids(treebank) == -100).all()
    assert (ner.gold_ids(entity_only) != -100).all()
    # Nothing to learn: every loss term counts zero items, so the trainer skips the head for that batch.
    assert sum(ner.targets(treebank).counts) == 0
    assert sum(textcat.targets(treebank).counts) == 0
    assert sum(nlp.get_pipe("parser").targets(entity_only).counts) == 0
    assert textcat.targets(cats_only).counts == [1]
    assert nlp.get_pipe("parser").targets(treebank).counts[0] == sum(len(eg.reference) for eg in treebank)
    # And a mixed batch trains.
    trainer.train_mode()
    trainer.step([examples], 0)
    assert trainer.losses["ner"] > 0 and trainer.losses["tagger"] > 0 and trainer.losses["textcat"] > 0


def test_two_classifiers_keep_each_others_cats_and_score_only_their_docs(tmp_path, tiny_encoder):
    """textcat (POS/NEG) and textcat_multilabel (PLACE/...) in one pipeline, scored on a dev set where most docs
    carry neither: the second classifier used to replace the first's doc.cats, which crashed spaCy's scorer."""
    nlp, trainer, examples = build(write_config(tmp_path, tiny_encoder, ["tagger", "textcat", "textcat_multilabel"]),
                                   examples_factory=mixed_examples)
    # The one cats doc is POS: a few steps make textcat say POS for every doc, so that its score is known exactly.
    trainer.train_mode()
    for step in range(10):
        trainer.step([examples], step)
    doc = nlp("a nice day")
    assert {"POS", "NEG", "PLACE", "BUSINESS", "ANIMAL"} <= set(doc.cats)
    dev = mixed_examples(nlp)
    scores = nlp.evaluate(dev)  # crashed in spaCy's scorer before
    predicted = [Example(nlp(eg.predicted.copy()), eg.reference) for eg in dev]
    assert all(eg.predicted.cats["POS"] > 0.5 for eg in predicted)
    # Only the one cats doc counts: POS predicted, POS gold, so precision and recall are 1. Scoring the 4 docs
    # without cats as well would add a false positive each: precision 1/5.
    textcat_scores = nlp.get_pipe("textcat").score(predicted)
    assert (textcat_scores["cats_micro_p"], textcat_scores["cats_micro_r"]) == (1.0, 1.0)
    assert textcat_scores["cats_f_per_type"] == {"NEG": {"p": 0.0, "r": 0.0, "f": 0.0},
                                                 "POS": {"p": 1.0, "r": 1.0, "f": 1.0}}
    # The multi-label head has no doc with its labels: it scores nothing, and leaves textcat's numbers in place.
    assert nlp.get_pipe("textcat_multilabel").score(predicted) == {}
    assert scores["cats_micro_p"] == 1.0 and scores["cats_f_per_type"]["POS"]["p"] == 1.0
