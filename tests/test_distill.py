"""trftrain distill: a tiny teacher distilled into tiny students of both kinds (a trftrain pipeline on the
teacher's encoder cut to one layer, spaCy's CNN components) on a handful of raw texts. Students reproduce the
teacher's labels; the soft-target loss falls; the cache round-trips and survives interruption; bad raw input is
reported with line numbers and never stops a run; a student sharing no task with the teacher is refused."""
import io
import json
import shutil

import numpy as np
import pytest
import spacy
from distillation_setup import (
    RAW_TEXTS,
    STUDENT_ENCODER,
    annotate,
    annotations,
    teacher_docs,
    teacher_gold,
    train_teacher,
    write_student,
)
from pipelines import gold_docs
from spacy.tokens import DocBin
from typer.testing import CliRunner

from trftrain.cli.app import app
from trftrain.distillation import DistillOptions, distill
from trftrain.distillation.annotate import fill_cache
from trftrain.distillation.cache import TeacherCache, raw_identity
from trftrain.distillation.raw_text import Problem, RawText, RawTextReader
from trftrain.distillation.teacher import Teacher
from trftrain.errors import TrftrainError

# Problems the raw file below holds, by line.
BAD_LINES = {2: "empty", 4: "invalid UTF-8", 6: "more than --max-chars", 8: "empty"}


def write_raw(path):
    """The raw texts with an empty line, invalid UTF-8, a text of a million characters and a blank line."""
    lines = [RAW_TEXTS[0].encode(), b"", RAW_TEXTS[1].encode(), b"Caf\xe9 au lait \xff", RAW_TEXTS[2].encode(),
             b"x" * 1_000_000, RAW_TEXTS[3].encode(), b"   \t", RAW_TEXTS[4].encode()]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_encoder):
    root = tmp_path_factory.mktemp("distill")
    teacher = train_teacher(root, tiny_encoder)
    # The premise of every student comparison below: a teacher that hesitates over a label gives students a
    # coin to copy, so it has to reproduce what it was taught on every raw text.
    nlp = spacy.load(teacher)
    assert annotate(nlp, RAW_TEXTS) == teacher_gold(nlp), "the teacher is unsure of a raw text: train it longer"
    DocBin(docs=gold_docs()).to_disk(root / "dev.spacy")
    return {"root": root, "teacher": teacher, "raw": write_raw(root / "raw.txt"), "dev": root / "dev.spacy",
            "cache": root / "cache"}


def records(out):
    return [json.loads(line) for line in (out / "training_log.jsonl").read_text().splitlines()]


def test_raw_text_problems_are_reported_with_line_numbers(tmp_path):
    raw = write_raw(tmp_path / "raw.txt")
    items = list(RawTextReader(raw, max_chars=10_000))
    problems = {item.line: item.reason for item in items if isinstance(item, Problem)}
    assert sorted(problems) == sorted(BAD_LINES)
    assert all(BAD_LINES[line] in reason for line, reason in problems.items())
    assert [item.text for item in items if isinstance(item, RawText)] == RAW_TEXTS
    assert [item.line for item in items if isinstance(item, RawText)] == [1, 3, 5, 7, 9]
    jsonl = tmp_path / "raw.jsonl"
    jsonl.write_text('{"text": "Anna lives here ."}\n{"text": \n{"body": "x"}\n{"text": 3}\n\n{"text": "Hi ."}\n')
    items = list(RawTextReader(jsonl))
    assert [(i.line, type(i).__name__) for i in items] == [(1, "RawText"), (2, "Problem"), (3, "Problem"),
                                                            (4, "Problem"), (5, "Problem"), (6, "RawText")]
    assert "not valid JSON" in items[1].reason and "no 'text' field" in items[2].reason
    with pytest.raises(TrftrainError, match=r"\[E503\].*\.csv"):
        RawTextReader(tmp_path / "raw.csv")


def test_cache_round_trips_and_an_interrupted_pass_continues(setup, tmp_path, monkeypatch):
    teacher = Teacher(spacy.load(setup["teacher"]), top_k=4)
    identity = {"teacher": {"path": "t", "fingerprint": "f", "components": teacher.components,
                            "factories": teacher.factories},
                "raw": raw_identity(setup["raw"]), "top_k": 4}
    reader = RawTextReader(setup["raw"], max_chars=10_000)
    calls = {"n": 0}
    original = Teacher.annotate

    def interrupted(self, texts):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, texts)

    monkeypatch.setattr(Teacher, "annotate", interrupted)
    cache = TeacherCache.open(tmp_path / "cache", identity)
    with pytest.raises(KeyboardInterrupt):
        fill_cache(teacher, reader, cache, batch_size=1, shard_docs=2, say=lambda text: None)
    saved = TeacherCache.open(tmp_path / "cache", identity)
    assert not saved.complete and saved.n_docs == 2 and saved.meta["records_read"] == 3
    monkeypatch.setattr(Teacher, "annotate", original)
    fill_cache(teacher, reader, saved, batch_size=1, shard_docs=2, say=lambda text: None)
    cache = TeacherCache.load(tmp_path / "cache")
    assert cache.complete and cache.n_docs == len(RAW_TEXTS) and cache.n_shards == 3
    assert sorted(p.line for p in cache.problems()) == sorted(BAD_LINES)
    # What the shards hold is what the teacher says, text by text.
    docs, lines, outputs = [], [], []
    for index in range(cache.n_shards):
        shard = cache.read_shard(index, spacy.blank("en").vocab)
        docs += shard.docs
        lines += shard.lines.tolist()
        outputs += [shard.doc_outputs(i, cache.kinds) for i in range(len(shard.docs))]
    assert lines == [1, 3, 5, 7, 9]
    fresh = spacy.load(setup["teacher"])
    for doc, text, cached in zip(docs, RAW_TEXTS, outputs):
        direct_docs, direct = Teacher(fresh, top_k=4).annotate([text])
        expected = direct_docs[0]
        assert [t.tag_ for t in doc] == [t.tag_ for t in expected] and doc.text == text
        assert [t.head.i for t in doc] == [t.head.i for t in expected]
        assert [(e.start, e.end, e.label_) for e in doc.ents] == [(e.start, e.end, e.label_) for e in expected.ents]
        assert sorted(doc.cats.values()) == [0.0, 1.0] and doc.cats == expected.cats
        for name, arrays in direct.items():
            for key, values in arrays.items():
                np.testing.assert_array_equal(cached[name][key], values)
    with pytest.raises(TrftrainError, match=r"\[E504\].*another teacher"):
        TeacherCache.open(tmp_path / "cache", {**identity, "teacher": {**identity["teacher"], "fingerprint": "g"}})
    with pytest.raises(TrftrainError, match=r"\[E504\].*--top-k 4"):
        TeacherCache.open(tmp_path / "cache", {**identity, "top_k": 8})


@pytest.fixture(scope="module")
def trftrain_student(setup):
    """The trftrain student's run, which also fills the teacher's cache that the spaCy student reuses."""
    out = setup["root"] / "trftrain-student"
    printed = io.StringIO()
    best = distill(str(setup["teacher"]), write_student(setup["root"], "trftrain", 120), setup["raw"], out,
                   dev=setup["dev"], cache=setup["cache"], options=DistillOptions(temperature=1.0, max_chars=10_000),
                   overrides={"training.eval_frequency": 30}, stdout=printed)
    return {"best": best, "out": out, "printed": printed.getvalue()}


def test_trftrain_student_reproduces_the_teacher_and_its_soft_loss_falls(setup, trftrain_student):
    printed = trftrain_student["printed"]
    assert "Skipped 4 raw input(s)" in printed and "line 4: invalid UTF-8" in printed
    assert "tagger <- tagger (soft), parser <- parser (soft), ner <- ner (soft), textcat <- textcat (soft)" in printed
    teacher, student = spacy.load(setup["teacher"]), spacy.load(trftrain_student["best"])
    assert annotate(student, RAW_TEXTS) == annotate(teacher, RAW_TEXTS)
    losses = [r["losses"] for r in records(trftrain_student["out"])]
    for head in ("tagger", "parser", "ner", "textcat"):
        assert losses[-1][head] < 0.5 * losses[0][head], (head, losses)
    # The cut encoder: one layer, saved so, reloaded so.
    assert student.get_pipe("transformer").encoder.backbone.model.config.num_hidden_layers == 1
    assert student.config["components"]["transformer"]["model"]["layers"] == 1


def test_spacy_student_reuses_the_cache_and_reproduces_the_teacher(setup, trftrain_student, monkeypatch):
    monkeypatch.setattr(Teacher, "annotate", lambda *a: pytest.fail("the teacher ran again"))
    printed = io.StringIO()
    best = distill(str(setup["teacher"]), write_student(setup["root"], "spacy", 120), setup["raw"],
                   setup["root"] / "spacy-student", dev=setup["dev"], cache=setup["cache"],
                   options=DistillOptions(max_chars=10_000), stdout=printed)
    assert "Reusing the teacher's annotation" in printed.getvalue()
    student, teacher = spacy.load(best), spacy.load(setup["teacher"])
    assert [name for name, _ in student.pipeline] == ["tok2vec", "tagger", "parser", "ner", "textcat"]
    assert annotate(student, RAW_TEXTS) == annotate(teacher, RAW_TEXTS)


def test_evaluate_reports_agreement_with_the_teacher(setup, tmp_path):
    """The teacher against itself, on gold that disagrees with it (every tag NN, every doc NEG): the gold scores
    fall, the agreement is full."""
    wrong = gold_docs()
    for doc in wrong:
        for token in doc:
            token.tag_ = "NN"
        doc.cats = {"POS": 0.0, "NEG": 1.0}
    DocBin(docs=wrong).to_disk(tmp_path / "wrong.spacy")
    result = CliRunner().invoke(app, ["evaluate", str(setup["teacher"]), str(tmp_path / "wrong.spacy"), "--teacher",
                                      str(setup["teacher"]), "--output", str(tmp_path / "scores.json")])
    assert result.exit_code == 0, result.output
    assert "Agreement with the teacher" in result.output and "cats_agreement_textcat     100.00" in result.output
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert scores["tag_acc"] < 0.5
    agreement = scores["teacher_agreement"]
    assert set(agreement) >= {"tag_acc", "dep_uas", "dep_las", "ents_f", "cats_agreement_textcat"}
    assert all(value == 1.0 for value in agreement.values()), agreement


def test_a_student_that_shares_no_task_with_the_teacher_is_refused(setup, tmp_path):
    config = write_student(tmp_path, "trftrain", 2)
    config.write_text(config.read_text().replace('"tagger", "parser", "ner", "textcat"', '"morphologizer"')
                      .replace('[components.tagger]\nfactory = "trftrain_tagger"',
                               '[components.morphologizer]\nfactory = "trftrain_morphologizer"'))
    result = CliRunner().invoke(app, ["distill", str(setup["teacher"]), str(config), "--raw", str(setup["raw"]),
                                      "--output", str(tmp_path / "out"), "--dev", str(setup["dev"])])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert "[E501]" in message and str(config) in message and str(setup["teacher"]) in message
    assert "morphologizer (morphologizer)" in message and "tagger (tagger), parser (parser)" in message
    assert not (tmp_path / "out").exists()  # refused before the teacher ran or anything was written
    shutil.rmtree(tmp_path / "out", ignore_errors=True)


def test_stream_mixes_gold_at_its_fraction_and_resumes_where_it_stopped(setup, trftrain_student):
    from trftrain.distillation.soft_targets import TEACHER_KEY
    from trftrain.distillation.stream import MixedStream, TeacherStream
    from trftrain.training.batches import BatchStream

    nlp = spacy.blank("en")
    cache = TeacherCache.load(setup["cache"])
    one_per_batch = lambda items: ([item] for item in items)  # noqa: E731
    gold = [eg for eg in DocBin().from_disk(setup["dev"]).get_docs(nlp.vocab)]

    def stream():
        from pipelines import examples_for

        return MixedStream(TeacherStream(cache, nlp.vocab, one_per_batch, seed=3),
                           BatchStream(examples_for(nlp, gold), one_per_batch, seed=4), 0.25)

    first = stream()
    taken = first.take(12)
    is_gold = [TEACHER_KEY not in batch[0].predicted.user_data for batch in taken]
    assert is_gold == [False, False, False, True] * 3
    assert first.epoch == 1  # five teacher texts a pass: nine teacher batches took it into the second
    state = json.loads(json.dumps(first.state_dict()))
    expected = [batch[0].reference.text for batch in first.take(6)]
    resumed = stream()
    resumed.load_state_dict(state)
    assert [batch[0].reference.text for batch in resumed.take(6)] == expected


def test_soft_losses_vanish_when_the_student_matches_the_teacher():
    import torch

    from trftrain.components.soft_targets import (
        SoftDocTargets,
        SoftTokenTargets,
        doc_distillation_loss,
        token_distillation_loss,
    )
    from trftrain.distillation.soft_targets import sigmoid, softmax

    torch.manual_seed(0)
    teacher = torch.randn(6, 5)
    ids = torch.argsort(teacher, dim=1, descending=True)
    probs = torch.from_numpy(softmax(torch.gather(teacher, 1, ids).numpy(), 2.0))
    targets = SoftTokenTargets(ids, probs, torch.ones(6, dtype=torch.bool), temperature=2.0)
    assert abs(float(token_distillation_loss(teacher, targets).total)) < 1e-4
    assert float(token_distillation_loss(torch.randn(6, 5), targets).total) > 0.01
    assert token_distillation_loss(teacher, targets).count == 6
    for multi_label in (False, True):
        p = sigmoid(teacher.numpy(), 2.0) if multi_label else softmax(teacher.numpy(), 2.0)
        doc_targets = SoftDocTargets(torch.from_numpy(p), torch.ones(6, dtype=torch.bool), multi_label, 2.0)
        assert abs(float(doc_distillation_loss(teacher, doc_targets).total)) < 1e-4
        assert float(doc_distillation_loss(-teacher, doc_targets).total) > 0.1


def test_encoder_cut_to_its_first_layers_keeps_their_weights(tiny_encoder):
    from trftrain.encoder.loading import load_pretrained

    full, _ = load_pretrained(tiny_encoder)
    cut, _ = load_pretrained(tiny_encoder, layers=1)
    assert cut.config.num_hidden_layers == 1 and len(cut.encoder.layer) == 1
    full_weights = full.state_dict()
    compared = [name for name in cut.state_dict() if not name.startswith("pooler.")]  # the saved model has none
    assert any(name.startswith("encoder.layer.0.") for name in compared)
    for name in compared:
        assert torch_equal(cut.state_dict()[name], full_weights[name]), name
    with pytest.raises(TrftrainError, match=r"`model.layers` is 3, but encoder .* has 2 layers"):
        load_pretrained(tiny_encoder, layers=3)


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b))


def test_spacy_corpus_mixes_gold_examples_at_their_fraction(setup, trftrain_student):
    from trftrain.distillation.spacy_corpus import TeacherCorpus

    nlp = spacy.blank("en")
    corpus = TeacherCorpus(str(setup["cache"]), str(setup["dev"]), gold_fraction=0.25, seed=1)
    first = list(corpus(nlp))
    gold_texts = {doc.text for doc in gold_docs()}
    is_gold = [eg.reference.text in gold_texts and eg.reference.text not in RAW_TEXTS for eg in first]
    assert is_gold == [False, False, False, True, False, False]
    assert sorted(eg.reference.text for eg, g in zip(first, is_gold) if not g) == sorted(RAW_TEXTS)
    assert all(sorted(eg.reference.cats.values()) == [0.0, 1.0] for eg, g in zip(first, is_gold) if not g)
    second = [eg.reference.text for eg in corpus(nlp)]
    assert second != [eg.reference.text for eg in first]  # each call is an epoch in a new order


def test_spacy_student_learns_labels_that_first_appear_late_in_the_stream(setup, tmp_path):
    """spaCy initializes a streamed corpus from its first 100 examples; a tag first seen later used to stop the
    student's training with a KeyError. Here the only "FW" tag is in a gold doc the stream reaches at its 250th
    example (a gold fraction of 1/250 over 260 raw texts)."""
    raw = tmp_path / "raw.txt"
    raw.write_text("\n".join(RAW_TEXTS[i % len(RAW_TEXTS)] for i in range(260)) + "\n")
    gold = teacher_docs(spacy.blank("en").vocab)[-1:]  # "She likes Paris ." with one class, as the teacher's
    gold[0][0].tag_ = "FW"
    DocBin(docs=gold).to_disk(tmp_path / "gold.spacy")
    best = distill(str(setup["teacher"]), write_student(tmp_path, "spacy", 3), raw, tmp_path / "student",
                   dev=setup["dev"], gold=tmp_path / "gold.spacy",
                   options=DistillOptions(max_chars=10_000, gold_fraction=1 / 250), stdout=io.StringIO())
    student = spacy.load(best)
    assert "FW" in student.get_pipe("tagger").labels
    assert student.config["training"]["max_epochs"] == -1  # it still streamed its training data


SPACY_TAGGER_ON_THE_SHARED_ENCODER = """
[paths]
dev = null

[nlp]
lang = "en"
pipeline = ["transformer", "tagger"]
""" + STUDENT_ENCODER + """
[components.tagger]
factory = "tagger"

[components.tagger.model]
@architectures = "spacy.Tagger.v2"
nO = null

[components.tagger.model.tok2vec]
@architectures = "trftrain.TransformerListener.v1"
upstream = "transformer"

[training]
max_steps = 6
eval_frequency = 6
"""


def test_trftrain_student_with_a_spacy_component_learns_labels_first_seen_in_a_late_shard(setup, tmp_path):
    """A spaCy component in a trftrain student collects its labels from the initialization sample; the teacher's
    JJ tag first appears in the fourth cache shard here (shards of 10 texts)."""
    raw = tmp_path / "raw.txt"
    raw.write_text("\n".join([RAW_TEXTS[0]] * 30 + [RAW_TEXTS[1]] * 5) + "\n")
    config = tmp_path / "student.cfg"
    config.write_text(SPACY_TAGGER_ON_THE_SHARED_ENCODER)
    best = distill(str(setup["teacher"]), config, raw, tmp_path / "student", dev=setup["dev"],
                   options=DistillOptions(max_chars=10_000, shard_docs=10, batch_size=5), stdout=io.StringIO())
    teacher = spacy.load(setup["teacher"])
    assert "JJ" in {t.tag_ for t in teacher(RAW_TEXTS[1])} - {t.tag_ for t in teacher(RAW_TEXTS[0])}  # the premise
    assert "JJ" in spacy.load(best).get_pipe("tagger").labels


@pytest.mark.slow
def test_the_teacher_can_run_its_encoder_on_a_server(setup, trftrain_student, tmp_path):
    """--remote: the teacher's encoder runs on `trftrain serve`, its heads here; the cache it fills equals the one
    the local teacher filled (the trftrain student's run), label for label and output for output."""
    from servers import ServerProcess, metric

    server = ServerProcess([str(setup["teacher"])], [], tmp_path / "server.log").wait_until_up()
    try:
        distill(str(setup["teacher"]), write_student(tmp_path, "spacy", 1), setup["raw"], tmp_path / "student",
                dev=setup["dev"], cache=tmp_path / "cache", options=DistillOptions(max_chars=10_000),
                teacher_remote=[server.url], stdout=io.StringIO())
        assert metric(server.url, "trftrain_serve_requests_total") > 0
    finally:
        server.stop()
    vocab = spacy.blank("en").vocab
    local, remote = TeacherCache.load(setup["cache"]), TeacherCache.load(tmp_path / "cache")
    assert remote.n_docs == local.n_docs == len(RAW_TEXTS)
    for index in range(local.n_shards):
        ours, theirs = remote.read_shard(index, vocab), local.read_shard(index, vocab)
        assert [annotations(d) for d in ours.docs] == [annotations(d) for d in theirs.docs]
        for i in range(len(ours.docs)):
            for name, arrays in theirs.doc_outputs(i, local.kinds).items():
                for key, values in arrays.items():
                    np.testing.assert_allclose(ours.doc_outputs(i, remote.kinds)[name][key], values, atol=1e-4)
