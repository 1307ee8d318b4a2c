"""Per head: overfit a handful of examples, save, reload with spacy.load, identical predictions."""
import numpy as np
import pytest
import spacy
from pipelines import decaying, gold_docs, overfit, write_config
from spacy.tokens import Doc


def annotations(doc: Doc) -> dict:
    return {
        "tags": [t.tag_ for t in doc], "pos": [t.pos_ for t in doc], "morph": [str(t.morph) for t in doc],
        "heads": [t.head.i for t in doc], "deps": [t.dep_ for t in doc], "sents": [s.start for s in doc.sents]
        if doc.has_annotation("SENT_START") or doc.has_annotation("DEP") else [],
        "ents": [(e.start, e.end, e.label_) for e in doc.ents], "spans": [(s.start, s.end, s.label_) for s in doc.spans.get("sc", [])],
        "cats": {k: round(v, 4) for k, v in doc.cats.items()},
    }


def predicted_words(nlp, gold):
    return [nlp(Doc(nlp.vocab, words=[t.text for t in d], spaces=[bool(t.whitespace_) for t in d])) for d in gold]


HEAD_CHECKS = {
    "tagger": lambda p, g: [t.tag_ for t in p] == [t.tag_ for t in g] and [t.pos_ for t in p] == [t.pos_ for t in g],
    "morphologizer": lambda p, g: [t.pos_ for t in p] == [t.pos_ for t in g] and [str(t.morph) for t in p] == [str(t.morph) for t in g],
    "senter": lambda p, g: [t.is_sent_start for t in p][1:] == [t.is_sent_start for t in g][1:],
    "parser": lambda p, g: [t.head.i for t in p] == [t.head.i for t in g] and [t.dep_ for t in p] == [t.dep_ for t in g],
    "ner": lambda p, g: [(e.start, e.end, e.label_) for e in p.ents] == [(e.start, e.end, e.label_) for e in g.ents],
    "textcat": lambda p, g: max(("POS", "NEG"), key=lambda k: p.cats[k]) == max(("POS", "NEG"), key=lambda k: g.cats[k]),
    "textcat_multilabel": lambda p, g: all((p.cats[k] > 0.5) == (g.cats[k] > 0.5) for k in ("PLACE", "BUSINESS", "ANIMAL")),
    "spacy_ner": lambda p, g: [(e.start, e.end, e.label_) for e in p.ents] == [(e.start, e.end, e.label_) for e in g.ents],
    "spacy_parser": lambda p, g: [t.head.i for t in p] == [t.head.i for t in g],
    "spancat": lambda p, g: sorted((s.start, s.end, s.label_) for s in p.spans["sc"]) == sorted((s.start, s.end, s.label_) for s in g.spans["sc"]),
}


@pytest.mark.parametrize("head", list(HEAD_CHECKS))
def test_overfit_save_load(tmp_path, tiny_encoder, head):
    steps = 150 if head in ("parser", "spacy_ner", "spacy_parser", "spancat") else 80
    nlp, _ = overfit(write_config(tmp_path, tiny_encoder, [head], schedule=decaying(steps)), steps=steps)
    gold = gold_docs(nlp.vocab)
    predicted = predicted_words(nlp, gold)
    for p, g in zip(predicted, gold):
        assert HEAD_CHECKS[head](p, g), (head, annotations(p), annotations(g))
    nlp.to_disk(tmp_path / "model")
    reloaded = spacy.load(tmp_path / "model")
    again = predicted_words(reloaded, gold)
    for a, b in zip(predicted, again):
        assert annotations(a) == annotations(b)
        assert np.allclose(a._.trf_vectors, b._.trf_vectors, atol=1e-5)
    # Batched inference agrees with one-at-a-time.
    piped = list(reloaded.pipe([d.text for d in gold], batch_size=2))
    single = [reloaded(d.text) for d in gold]
    assert [annotations(a) for a in piped] == [annotations(b) for b in single]


def test_parser_always_builds_trees_with_one_root_per_sentence(tmp_path, tiny_encoder):
    nlp, _ = overfit(write_config(tmp_path, tiny_encoder, ["parser"]), steps=3)  # barely trained: messy scores
    for text in ["a b c d e f g h i j . k l m n o p", "one", "x . y . z . w ." * 5]:
        doc = nlp(text)
        for sent in doc.sents:
            roots = [t for t in sent if t.head.i == t.i]
            assert len(roots) == 1
            for token in sent:  # every token reaches the root without leaving the sentence
                seen, node = set(), token
                while node.head.i != node.i:
                    assert node.i not in seen and sent.start <= node.head.i < sent.end
                    seen.add(node.i)
                    node = node.head


def test_parser_scoring_blocks_in_groups_matches_one_doc_at_a_time(tmp_path, tiny_encoder, monkeypatch):
    """Small blocks: a batch holds more blocks than one scoring group takes, so decoding runs in several groups."""
    from trftrain.components import parser as parser_module

    group_counts = []
    original = parser_module.padded_groups

    def counting(sizes, budget):
        groups = original(sizes, budget)
        group_counts.append(len(groups))
        return groups

    monkeypatch.setattr(parser_module, "padded_groups", counting)
    nlp, _ = overfit(write_config(tmp_path, tiny_encoder, ["parser"]), steps=3)
    nlp.get_pipe("parser").max_block = 4
    texts = ["x . y . z . w ." * 5, "a b c d e f g h i j . k l m n o p", "one", "Anna lives in Berlin ."]
    single = [nlp(text) for text in texts]
    piped = list(nlp.pipe(texts, batch_size=4))
    assert [[t.head.i for t in d] for d in piped] == [[t.head.i for t in d] for d in single]
    assert [[t.dep_ for t in d] for d in piped] == [[t.dep_ for t in d] for d in single]
    assert max(group_counts) > 1


def test_ner_never_predicts_invalid_spans(tmp_path, tiny_encoder):
    """A barely trained model has messy scores; the decoded BILUO tags must still spell valid spans."""
    from trftrain.decoding.biluo import transition_masks

    nlp, _ = overfit(write_config(tmp_path, tiny_encoder, ["ner"]), steps=2)
    ner = nlp.get_pipe("ner")
    allowed, first, last = transition_masks(ner.label_list)
    index = {label: i for i, label in enumerate(ner.label_list)}
    docs = [nlp.get_pipe("transformer")(nlp.make_doc(t)) for t in ["Anna Berlin Apple Paris " * 10, "x", ""]]
    for doc, tags in zip(docs, ner.predict(docs)):
        ids = [index[t] for t in tags]
        assert len(ids) == len(doc)
        if ids:
            assert first[ids[0]] and last[ids[-1]]
            assert all(allowed[a, b] for a, b in zip(ids, ids[1:]))


def test_sentence_starts_read_the_previous_token_of_the_same_doc_only():
    """BiaffineParser.v2's start classifier sees each token and the one before it; a doc's first token sees zeros
    (not the previous doc's last token), empty docs included. v1 (saved pipelines) sees the token alone."""
    import torch
    from spacy.util import registry

    torch.manual_seed(0)
    model = registry.architectures.get("trftrain.BiaffineParser.v2")(dropout=0.0)(8, 3).eval()
    lengths = [3, 0, 2, 0]
    vectors = torch.randn(5, 8)
    logits = model.sentence_starts(vectors, lengths)
    changed = vectors.clone()
    changed[2] += 1.0  # the last token of doc 0
    moved = model.sentence_starts(changed, lengths) != logits
    assert moved.tolist() == [False, False, True, False, False]  # itself only: doc 1 (empty) and doc 2 do not see it
    changed = vectors.clone()
    changed[3] += 1.0  # the first token of doc 2
    assert (model.sentence_starts(changed, lengths) != logits).tolist() == [False, False, False, True, True]
    assert model.sentence_starts(torch.zeros(0, 8), []).shape == (0,)
    old = registry.architectures.get("trftrain.BiaffineParser.v1")(dropout=0.0)(8, 3)
    assert old.sent_start.in_features == 8 and model.sent_start.in_features == 16


def test_sentence_loss_weight_scales_only_the_sentence_start_loss(tmp_path, tiny_encoder):
    nlp, examples = overfit(write_config(tmp_path, tiny_encoder, ["parser"]), steps=1)
    parser = nlp.get_pipe("parser")
    parser.model.eval()
    targets = parser.targets(examples)
    docs = list(nlp.get_pipe("transformer").pipe([eg.predicted for eg in examples]))
    scores = parser.scores(parser.token_vectors(docs), targets)
    plain = parser.loss(scores, targets)
    parser.sentence_loss_weight = 3.0
    weighted = parser.loss(scores, targets)
    assert [term.count for term in weighted] == [term.count for term in plain]
    plain_totals = [term.total.detach().item() for term in plain]
    weighted_totals = [term.total.detach().item() for term in weighted]
    assert weighted_totals[:2] == plain_totals[:2]
    assert plain_totals[2] > 0
    assert weighted_totals[2] == pytest.approx(3 * plain_totals[2])


def test_sentence_loss_weight_must_not_be_negative(tmp_path, tiny_encoder):
    from trftrain.errors import TrftrainError

    path = write_config(tmp_path, tiny_encoder, ["parser"])
    path.write_text(path.read_text().replace('factory = "trftrain_parser"\n',
                                             'factory = "trftrain_parser"\nsentence_loss_weight = -1\n'))
    with pytest.raises(TrftrainError, match="components.parser.sentence_loss_weight"):
        overfit(path, steps=0)


@pytest.mark.parametrize("heads", [["tagger", "parser", "ner"], ["morphologizer", "senter"]])
def test_whitespace_tokens_follow_spacys_conventions(tmp_path, tiny_encoder, heads):
    """No training doc has whitespace tokens, so a barely trained model's guesses there are noise; what the
    heads set on them instead: tag _SP, POS SPACE, no entity, dep "dep" under the word before (the first word at
    the doc's start), and no sentence of whitespace alone."""
    nlp, _ = overfit(write_config(tmp_path, tiny_encoder, heads), steps=3)
    texts = ["  Anna lives in Berlin .\n\nShe likes it .\n", "Apple\nbuys a startup \n Paris !", "\n\n", "x"]
    for doc in list(nlp.pipe(texts)) + [nlp(text) for text in texts]:
        spaces = [t for t in doc if t.is_space]
        assert spaces or doc.text in ("x",)
        for token in spaces:
            assert token.i == 0 or not token.is_sent_start, (doc.text, annotations(doc))
            if "tagger" in heads:
                assert (token.tag_, token.pos_, token.ent_iob_) == ("_SP", "SPACE", "O")
            if "morphologizer" in heads:
                assert (token.pos_, str(token.morph)) == ("SPACE", "")
            if "parser" in heads:
                words_before = [t.i for t in doc[: token.i] if not t.is_space]
                words_after = [t.i for t in doc[token.i :] if not t.is_space]
                expected = words_before[-1] if words_before else words_after[0] if words_after else 0
                assert (token.head.i, token.dep_) == (expected, "dep"), (doc.text, annotations(doc))
        if any(not t.is_space for t in doc):
            assert all(any(not t.is_space for t in sent) for sent in doc.sents), [s.text for s in doc.sents]
