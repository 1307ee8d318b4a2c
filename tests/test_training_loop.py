"""Training runs that a user relies on: reproducible on CPU, and Ctrl-C keeps a complete model-last."""
import json

import pytest
import torch
from pipelines import gold_docs, write_config
from spacy.tokens import Doc, DocBin
from spacy.util import registry
from spacy.vocab import Vocab

from trftrain.training.checkpoints import save_atomically
from trftrain.training.loop import train


@pytest.fixture()
def corpus(tmp_path):
    DocBin(docs=gold_docs() * 4).to_disk(tmp_path / "train.spacy")
    DocBin(docs=gold_docs()).to_disk(tmp_path / "dev.spacy")
    return {"paths.train": str(tmp_path / "train.spacy"), "paths.dev": str(tmp_path / "dev.spacy")}


def head_weights(path):
    from safetensors.torch import load_file

    return load_file(str(path / "tagger" / "model.safetensors"))


def test_same_seed_same_model_on_cpu(tmp_path, tiny_encoder, corpus):
    config = write_config(tmp_path, tiny_encoder, ["tagger", "parser"])
    overrides = {**corpus, "training.max_steps": 3, "training.eval_frequency": 3}
    a = train(config, tmp_path / "a", overrides=overrides)
    b = train(config, tmp_path / "b", overrides=overrides)
    wa, wb = head_weights(a), head_weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    log_a = json.loads((tmp_path / "a" / "training_log.jsonl").read_text().splitlines()[-1])
    log_b = json.loads((tmp_path / "b" / "training_log.jsonl").read_text().splitlines()[-1])
    assert log_a["losses"] == log_b["losses"]


@registry.loggers("test.InterruptAtStep.v1")
def interrupt_at_step(step: int):
    def setup(nlp, stdout, stderr):
        calls = {"n": 0}

        def log_step(info):
            calls["n"] += 1
            if calls["n"] >= step:
                raise KeyboardInterrupt

        return log_step, lambda: None

    return setup


def test_ctrl_c_keeps_model_last(tmp_path, tiny_encoder, corpus):
    config = write_config(tmp_path, tiny_encoder, ["tagger"], extra='\n[training.logger]\n@loggers = "test.InterruptAtStep.v1"\nstep = 3\n')
    out = tmp_path / "run"
    train(config, out, overrides={**corpus, "training.max_steps": 50, "training.eval_frequency": 2})
    assert (out / "model-last" / "tagger" / "model.safetensors").exists()
    assert not list(out.glob(".model-last.*"))


def test_interrupted_save_leaves_previous_model(tmp_path, tiny_encoder, corpus):
    config = write_config(tmp_path, tiny_encoder, ["tagger"])
    out = tmp_path / "run"
    train(config, out, overrides={**corpus, "training.max_steps": 2, "training.eval_frequency": 2})
    before = head_weights(out / "model-last")

    class Exploding:
        def to_disk(self, path):
            (path / "half").mkdir(parents=True)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        save_atomically(Exploding(), out / "model-last")
    after = head_weights(out / "model-last")
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_dev_set_without_a_heads_annotation_still_trains_and_saves(tmp_path, tiny_encoder, corpus):
    """Dev docs without tags score tag_acc None; spaCy's console logger used to end the run on it, unsaved."""
    config = write_config(tmp_path, tiny_encoder, ["tagger"])
    DocBin(docs=[Doc(Vocab(), words=doc.text.split()) for doc in gold_docs()]).to_disk(tmp_path / "untagged.spacy")
    overrides = {**corpus, "paths.dev": str(tmp_path / "untagged.spacy"), "training.max_steps": 2,
                 "training.eval_frequency": 2}
    train(config, tmp_path / "run", overrides=overrides)
    assert (tmp_path / "run" / "model-last" / "config.cfg").exists()


def test_frozen_head_and_unannotated_head_still_log(tmp_path, tiny_encoder, corpus):
    """Loggers print a loss per component: a frozen head, or one whose annotation no doc carries, logs 0."""
    config = write_config(tmp_path, tiny_encoder, ["tagger", "textcat"])
    docs = gold_docs()
    for doc in docs:
        doc.cats = {}
    DocBin(docs=docs).to_disk(tmp_path / "no_cats.spacy")
    overrides = {"paths.train": str(tmp_path / "no_cats.spacy"), "paths.dev": corpus["paths.dev"],
                 "training.max_steps": 3, "training.eval_frequency": 2, "training.frozen_components": ["tagger"],
                 "initialize.components.textcat.labels": ["NEG", "POS"]}
    train(config, tmp_path / "run", overrides=overrides)
    records = [json.loads(line) for line in (tmp_path / "run" / "training_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 3]
    assert records[0]["losses"]["tagger"] == 0.0 and records[0]["losses"]["textcat"] == 0.0
