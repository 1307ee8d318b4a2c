"""How training runs end and what they leave: every ending saves model-last and says only what is on disk;
signals stop cleanly with the shell's exit codes; a folder holding a run is not silently replaced; a NaN loss
stops the run without saving non-finite weights; the settings a user gets wrong are reported."""
import json
import math
import os
import signal
from pathlib import Path

import pytest
import torch
from pipelines import gold_docs, write_config
from safetensors.torch import load_file
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from trftrain.atomic_folders import save_atomically
from trftrain.errors import TrftrainError
from trftrain.training.loop import TrainingStopped, train
from trftrain.training.trainer import Trainer


@pytest.fixture()
def corpus(tmp_path):
    DocBin(docs=gold_docs() * 4).to_disk(tmp_path / "train.spacy")
    DocBin(docs=gold_docs()).to_disk(tmp_path / "dev.spacy")
    return {"paths.train": str(tmp_path / "train.spacy"), "paths.dev": str(tmp_path / "dev.spacy")}


def head_weights(path):
    return load_file(str(path / "tagger" / "model.safetensors"))


def records(out):
    return [json.loads(line) for line in (out / "training_log.jsonl").read_text().splitlines()]


def signal_at(monkeypatch, step: int, signum=signal.SIGINT, times: int = 1):
    """Send `signum` to this process while step `step` (counted from 1) runs."""
    original = Trainer.step

    def step_then_signal(self, batches, index):
        result = original(self, batches, index)
        if index + 1 == step:
            for _ in range(times):
                os.kill(os.getpid(), signum)
        return result

    monkeypatch.setattr(Trainer, "step", step_then_signal)


def test_same_seed_same_model_on_cpu(tmp_path, tiny_encoder, corpus):
    config = write_config(tmp_path, tiny_encoder, ["tagger", "parser"])
    overrides = {**corpus, "training.max_steps": 3, "training.eval_frequency": 3}
    a = train(config, tmp_path / "a", overrides=overrides)
    b = train(config, tmp_path / "b", overrides=overrides)
    wa, wb = head_weights(a), head_weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert records(tmp_path / "a")[-1]["losses"] == records(tmp_path / "b")[-1]["losses"]


def test_epochs_end_before_any_evaluation_still_saves_and_says_so(tmp_path, tiny_encoder, corpus, capsys):
    """max_epochs ends the run long before eval_frequency: the steps are evaluated and saved all the same."""
    config = write_config(tmp_path, tiny_encoder, ["tagger"])
    out = tmp_path / "run"
    best = train(config, out, overrides={**corpus, "training.max_epochs": 1, "training.max_steps": 100000,
                                         "training.eval_frequency": 100000})
    assert best == out / "model-best" and (out / "model-last" / "tagger" / "model.safetensors").exists()
    log = records(out)
    assert len(log) == 1 and log[0]["step"] >= 1 and log[0]["epoch"] == 0
    printed = capsys.readouterr().out
    assert "ran out" in printed and str(out / "model-last") in printed


def test_last_steps_after_the_last_evaluation_are_saved(tmp_path, tiny_encoder, corpus):
    config = write_config(tmp_path, tiny_encoder, ["tagger"])
    out = tmp_path / "run"
    # Small batches: five steps an epoch, 15 in three; evaluations at 4, 8, 12, then at the end, 15.
    train(config, out, overrides={**corpus, "training.max_epochs": 3, "training.max_steps": 100000,
                                  "training.eval_frequency": 4, "training.batcher.size": 20})
    steps = [r["step"] for r in records(out)]
    assert steps == [4, 8, 12, 15] and records(out)[-1]["epoch"] == 2
    state = json.loads((out / "checkpoint-last" / "state.json").read_text())
    assert state["state"]["step"] == 15  # model-last is the last step, not the last multiple of 4


def test_ctrl_c_mid_run_saves_model_last_checkpoint_and_exits_130(tmp_path, tiny_encoder, corpus, monkeypatch):
    """No evaluation before the signal: only the interrupt's own save can leave model-last on disk."""
    config = write_config(tmp_path, tiny_encoder, ["tagger"])
    out = tmp_path / "run"
    signal_at(monkeypatch, 3)
    # Whatever this process had (a shell's background job ignores SIGINT), the run must leave it as it found it.
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(TrainingStopped) as stopped:
        train(config, out, overrides={**corpus, "training.max_steps": 50, "training.eval_frequency": 100})
    assert stopped.value.exit_code == 130 and "Ctrl-C at step 3" in stopped.value.message
    assert (out / "model-last" / "tagger" / "model.safetensors").exists()
    assert json.loads((out / "checkpoint-last" / "state.json").read_text())["state"]["step"] == 3
    assert [r["step"] for r in records(out)] == [3]
    assert not list(out.glob(".*"))
    assert signal.getsignal(signal.SIGINT) is before  # handlers put back


def test_sigterm_is_treated_like_ctrl_c(tmp_path, tiny_encoder, corpus, monkeypatch):
    config = write_config(tmp_path, tiny_encoder, ["tagger"])
    signal_at(monkeypatch, 2, signal.SIGTERM)
    with pytest.raises(TrainingStopped) as stopped:
        train(config, tmp_path / "run", overrides={**corpus, "training.max_steps": 50, "training.eval_frequency": 100})
    assert stopped.value.exit_code == 143
    assert (tmp_path / "run" / "model-last" / "config.cfg").exists()


def test_second_signal_stops_at_once_and_keeps_model_last(tmp_path, tiny_encoder, corpus, monkeypatch):
    config = write_config(tmp_path, tiny_encoder, ["tagger"])
    signal_at(monkeypatch, 2, times=2)
    with pytest.raises(TrainingStopped) as stopped:
        train(config, tmp_path / "run", overrides={**corpus, "training.max_steps": 50, "training.eval_frequency": 100})
    assert "at once" in stopped.value.message
    assert (tmp_path / "run" / "model-last" / "config.cfg").exists()
    # Cut short mid-step: no checkpoint claims a state it may not have.
    assert not (tmp_path / "run" / "checkpoint-last").exists()


def test_error_in_a_head_saves_model_last_then_raises(tmp_path, tiny_encoder, corpus, monkeypatch):
    from trftrain.components.token_labels import TokenLabeller

    config = write_config(tmp_path, tiny_encoder, ["tagger"])
    original, calls = TokenLabeller.scores, {"n": 0}

    def failing(self, vectors, targets=None):
        if targets is not None:
            calls["n"] += 1
            if calls["n"] == 4:
                raise RuntimeError("boom in the head")
        return original(self, vectors, targets)

    monkeypatch.setattr(TokenLabeller, "scores", failing)
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="boom"):
        train(config, out, overrides={**corpus, "training.max_steps": 50, "training.eval_frequency": 100})
    assert (out / "model-last" / "tagger" / "model.safetensors").exists()
    assert json.loads((out / "checkpoint-last" / "state.json").read_text())["state"]["step"] == 3


def test_a_step_that_fails_after_its_update_leaves_no_checkpoint(tmp_path, tiny_encoder, corpus, monkeypatch):
    """Past optimizer.step() the weights hold the batch while the rest of the step did not finish: there is no
    state to resume exactly, so no checkpoint is written for it (model-last still is)."""
    config = write_config(tmp_path, tiny_encoder, ["tagger"])
    original, calls = torch.optim.AdamW.zero_grad, {"n": 0}

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("boom after the update")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "zero_grad", failing)
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="boom after the update"):
        train(config, out, overrides={**corpus, "training.max_steps": 50, "training.eval_frequency": 100})
    assert (out / "model-last" / "tagger" / "model.safetensors").exists()
    assert not (out / "checkpoint-last").exists()


def test_patience_stops_and_model_best_is_the_best_step(tmp_path, tiny_encoder, corpus, capsys):
    config = write_config(tmp_path, tiny_encoder, ["tagger"])
    out = tmp_path / "run"
    # A zero learning rate never improves on the first evaluation.
    train(config, out, overrides={**corpus, "training.max_steps": 100, "training.eval_frequency": 2,
                                  "training.patience": 4, "training.optimizer.encoder_lr": 0.0,
                                  "training.optimizer.heads_lr": 0.0})
    log = records(out)
    assert [r["step"] for r in log] == [2, 4, 6] and [r["best"] for r in log] == [True, False, False]
    assert "stopped at step 6" in capsys.readouterr().out


def test_a_folder_holding_a_run_is_not_replaced_silently(tmp_path, tiny_encoder, corpus):
    config = write_config(tmp_path, tiny_encoder, ["tagger"])
    out = tmp_path / "run"
    overrides = {**corpus, "training.max_steps": 2, "training.eval_frequency": 2}
    train(config, out, overrides=overrides)
    before = head_weights(out / "model-best")
    with pytest.raises(TrftrainError, match=r"\[E306\].*--resume.*--overwrite"):
        train(config, out, overrides=overrides)
    after = head_weights(out / "model-best")
    assert all(torch.equal(before[k], after[k]) for k in before) and len(records(out)) == 1
    train(config, out, overrides={**overrides, "training.optimizer.heads_lr": 0.5}, overwrite=True)
    replaced = head_weights(out / "model-best")
    assert not all(torch.equal(before[k], replaced[k]) for k in before) and len(records(out)) == 1
    with pytest.raises(TrftrainError, match="E308"):
        train(config, out, overrides=overrides, overwrite=True, resume=True)
    with pytest.raises(TrftrainError, match="E307"):
        train(config, tmp_path / "fresh", overrides=overrides, resume=True)


def test_nan_loss_stops_without_saving_non_finite_weights(tmp_path, tiny_encoder, corpus):
    config = write_config(tmp_path, tiny_encoder, ["tagger", "textcat"])
    out = tmp_path / "run"
    with pytest.raises(TrftrainError, match=r"\[E310\] Training stopped at step \d+: the loss of (tagger|textcat)") \
            as stopped:
        train(config, out, overrides={**corpus, "training.max_steps": 60, "training.eval_frequency": 1,
                                      "training.grad_clip": 0.0, "training.optimizer.encoder_lr": 1e6,
                                      "training.optimizer.heads_lr": 1e6})
    # The message names the last good checkpoint and the step it holds: the one before the failed step.
    failed = int(str(stopped.value).split("stopped at step ")[1].split(":")[0])
    assert failed > 1  # so that there is a checkpoint to name (the first step's huge update is still finite)
    held = json.loads((out / "checkpoint-last" / "state.json").read_text())["state"]["step"]
    assert held == failed - 1 and f"checkpoint-last (step {held}; continue with --resume)" in str(stopped.value)
    for folder in ("model-best", "model-last", "checkpoint-last/pipeline"):
        if (out / folder).exists():
            weights = load_file(str(out / folder / "tagger" / "model.safetensors"))
            assert all(torch.isfinite(w).all() for w in weights.values()), folder
    for record in records(out):  # the log stays valid JSON
        assert record["score"] is None or math.isfinite(record["score"])


def test_empty_corpus_path_is_an_error_naming_the_key(tmp_path, tiny_encoder, corpus):
    config = write_config(tmp_path, tiny_encoder, ["tagger"])
    with pytest.raises(TrftrainError, match=r"\[E007\] `paths.train` is empty"):
        train(config, tmp_path / "run", overrides={**corpus, "paths.train": ""})
    assert not (tmp_path / "run" / "model-last").exists()


def test_a_cut_short_corpus_file_is_named_among_several(tmp_path, tiny_encoder, corpus):
    """spaCy's own error says only that some file is not a DocBin; with a list of corpora the user must know which."""
    whole = Path(corpus["paths.train"]).read_bytes()
    cut = tmp_path / "cut.spacy"
    cut.write_bytes(whole[: len(whole) // 2])
    config = write_config(tmp_path, tiny_encoder, ["tagger"], extra=f"""
[corpora.train]
@readers = "trftrain.MultiCorpus.v1"
paths = ["{corpus['paths.train']}", "{cut}"]
""")
    with pytest.raises(TrftrainError, match=r"\[E317\] The training corpus file '.*cut\.spacy' is not a readable"):
        train(config, tmp_path / "run", overrides=corpus)
    assert not (tmp_path / "run" / "model-last").exists()


def test_head_without_annotation_and_long_warmup_are_warned_about(tmp_path, tiny_encoder, corpus, capsys):
    """A treebank-only corpus under an NER head (which then knows only 'O') and a textcat with pinned labels."""
    config = write_config(tmp_path, tiny_encoder, ["tagger", "ner", "textcat"])
    tags_only = [Doc(Vocab(), words=[t.text for t in doc], tags=[t.tag_ for t in doc], pos=[t.pos_ for t in doc])
                 for doc in gold_docs()]
    DocBin(docs=tags_only).to_disk(tmp_path / "tags_only.spacy")
    train(config, tmp_path / "run", overrides={**corpus, "paths.train": str(tmp_path / "tags_only.spacy"),
                                                "training.max_steps": 1, "training.eval_frequency": 1})
    err = capsys.readouterr().err
    assert "W301" in err and "[ner]" in err and "[textcat]" in err and "[tagger]" not in err
    write_config(tmp_path, tiny_encoder, ["tagger"], schedule='@schedules = "trftrain.WarmupLinear.v1"\nwarmup_steps = 50\n'
                                                               'total_steps = ${training.max_steps}')
    train(config, tmp_path / "run2", overrides={**corpus, "training.max_steps": 2, "training.eval_frequency": 2})
    assert "W302" in capsys.readouterr().err


def test_labels_only_in_the_development_data_are_warned_about(tmp_path, tiny_encoder, corpus, capsys):
    """An entity type and a tag the training data never shows: the model cannot predict them (probe 2.6)."""
    config = write_config(tmp_path, tiny_encoder, ["tagger", "ner"])
    dev = gold_docs()
    dev[0] = Doc(dev[0].vocab, words=["Expo", "opens", "."], tags=["NNP", "VBZ", "XYZ"], pos=["PROPN", "VERB", "SYM"], ents=["B-EVENT", "O", "O"])
    DocBin(docs=dev).to_disk(tmp_path / "dev-new-labels.spacy")
    train(config, tmp_path / "run", overrides={**corpus, "paths.dev": str(tmp_path / "dev-new-labels.spacy"),
                                                "training.max_steps": 1, "training.eval_frequency": 1})
    warnings = [line for line in capsys.readouterr().err.splitlines() if "W304" in line]
    assert len(warnings) == 2
    assert "[tagger] 1 of the " in warnings[0] and "(XYZ/SYM)" in warnings[0]
    assert "[ner] 1 of the " in warnings[1] and "(U-EVENT)" in warnings[1]
    train(config, tmp_path / "run2", overrides={**corpus, "training.max_steps": 1, "training.eval_frequency": 1})
    assert "W304" not in capsys.readouterr().err


def test_warmup_warning_reads_the_schedules_own_default_and_the_epoch_limit(tmp_path, tiny_encoder, corpus, capsys):
    """warmup_steps left out of the config is the schedule's default (100), and a run that max_epochs ends after
    a few steps is as short as one max_steps ends."""
    config = write_config(tmp_path, tiny_encoder, ["tagger"], schedule='@schedules = "trftrain.WarmupLinear.v1"')
    train(config, tmp_path / "run", overrides={**corpus, "training.max_steps": 50, "training.eval_frequency": 50})
    assert "warmup_steps` is 100, more than the 50 steps" in capsys.readouterr().err
    train(config, tmp_path / "run2", overrides={**corpus, "training.max_steps": 1000, "training.max_epochs": 1,
                                                 "training.eval_frequency": 1000})
    err = capsys.readouterr().err
    assert "W302" in err and "more than the 1000 steps" not in err
    write_config(tmp_path, tiny_encoder, ["tagger"], schedule='@schedules = "trftrain.WarmupLinear.v1"\nwarmup_steps = 1')
    train(config, tmp_path / "run3", overrides={**corpus, "training.max_steps": 4, "training.eval_frequency": 4})
    assert "W302" not in capsys.readouterr().err


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
    log = records(tmp_path / "run")
    assert [r["step"] for r in log] == [2, 3]
    assert log[0]["losses"]["tagger"] == 0.0 and log[0]["losses"]["textcat"] == 0.0


def test_a_kill_between_renames_leaves_model_best_to_evaluate_and_package(tmp_path, tiny_encoder, corpus):
    """The state a kill between save_atomically's two renames leaves where renameat2 is missing: the target moved
    to .previous, the new folder complete in .partial. Reading commands put the last complete one back."""
    from trftrain.evaluation import evaluate_pipeline
    from trftrain.packaging import build_wheel

    config = write_config(tmp_path, tiny_encoder, ["tagger"])
    out = tmp_path / "run"
    train(config, out, overrides={**corpus, "training.max_steps": 2, "training.eval_frequency": 2})
    (out / "model-best").rename(out / ".model-best.previous")
    scores = evaluate_pipeline(str(out / "model-best"), corpus["paths.dev"])
    assert scores["tag_acc"] is not None and (out / "model-best" / "config.cfg").exists()
    (out / "model-best").rename(out / ".model-best.previous")
    wheel = build_wheel(out / "model-best", tmp_path / "dist", name="kill_between_renames", version="0.1.0")
    assert wheel.exists() and (out / "model-best" / "config.cfg").exists()
    (out / "model-last").rename(out / ".model-last.previous")
    (out / ".model-last.partial").mkdir()
    train(config, out, overrides={**corpus, "training.max_steps": 4}, resume=True,
          allow_changes=["training.max_steps"])
    assert (out / "model-last" / "config.cfg").exists() and not list(out.glob(".*"))
