"""`train --resume`: a run stopped anywhere continues from checkpoint-last to the weights it would have reached
without the stop, bitwise on the CPU; a changed config is refused unless accepted by name; a run killed with
SIGKILL leaves only complete folders."""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import spacy
import torch
from pipelines import gold_docs, write_config
from safetensors.torch import load_file
from spacy.tokens import DocBin

from trftrain.errors import TrftrainError
from trftrain.training.checkpoints import read_checkpoint
from trftrain.training.loop import TrainingStopped, train
from trftrain.training.trainer import Trainer

HEADS = ["tagger", "parser", "ner", "textcat", "spacy_ner"]


@pytest.fixture()
def corpus(tmp_path):
    DocBin(docs=gold_docs() * 6).to_disk(tmp_path / "train.spacy")
    DocBin(docs=gold_docs()).to_disk(tmp_path / "dev.spacy")
    # Two docs a batch: several batches an epoch, so resuming mid-epoch is exercised.
    return {"paths.train": str(tmp_path / "train.spacy"), "paths.dev": str(tmp_path / "dev.spacy"),
            "training.batcher.size": 20, "training.eval_frequency": 4}


def all_weights(model_dir: Path) -> dict:
    weights = {}
    for file in sorted(Path(model_dir).rglob("*.safetensors")):
        for key, value in load_file(str(file)).items():
            weights[f"{file.relative_to(model_dir)}:{key}"] = value
    return weights


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = all_weights(a), all_weights(b)
    assert wa.keys() == wb.keys()
    different = [k for k in wa if not torch.equal(wa[k], wb[k])]
    assert not different, different[:5]
    # spaCy's own component on the listener keeps its weights in thinc's format.
    assert (Path(a) / "spacy_ner" / "model").read_bytes() == (Path(b) / "spacy_ner" / "model").read_bytes()


def stop_at(monkeypatch, step: int):
    original = Trainer.step

    def step_then_stop(self, batches, index):
        result = original(self, batches, index)
        if index + 1 == step:
            os.kill(os.getpid(), signal.SIGINT)
        return result

    monkeypatch.setattr(Trainer, "step", step_then_stop)


def test_stop_and_resume_reaches_the_uninterrupted_weights_bitwise(tmp_path, tiny_encoder, corpus, monkeypatch):
    """Every head kind, spaCy's NER on the listener included, stopped mid-epoch between two evaluations."""
    config = write_config(tmp_path, tiny_encoder, HEADS)
    overrides = {**corpus, "training.max_steps": 14}
    train(config, tmp_path / "whole", overrides=overrides)
    stop_at(monkeypatch, 6)
    with pytest.raises(TrainingStopped):
        train(config, tmp_path / "parts", overrides=overrides)
    monkeypatch.undo()
    assert json.loads((tmp_path / "parts" / "checkpoint-last" / "state.json").read_text())["state"]["step"] == 6
    train(config, tmp_path / "parts", overrides=overrides, resume=True)
    assert_same_weights(tmp_path / "whole" / "model-last", tmp_path / "parts" / "model-last")
    whole = [json.loads(line) for line in (tmp_path / "whole" / "training_log.jsonl").read_text().splitlines()]
    parts = [json.loads(line) for line in (tmp_path / "parts" / "training_log.jsonl").read_text().splitlines()]
    # The log continues; it keeps the evaluation the stop made at step 6, and every other record is the
    # uninterrupted run's, losses included (the sums since the last scheduled evaluation are checkpointed too).
    assert [r["step"] for r in whole] == [4, 8, 12, 14] and [r["step"] for r in parts] == [4, 6, 8, 12, 14]
    assert [r["losses"] for r in parts if r["step"] != 6] == [r["losses"] for r in whole]
    def scores(log):
        return [{k: v for k, v in r["scores"].items() if k != "speed"} for r in log if r["step"] != 6]

    assert scores(parts) == scores(whole)


def test_a_failed_step_leaves_a_checkpoint_that_retries_it(tmp_path, tiny_encoder, corpus, monkeypatch):
    """An error in a head at step 6 (a NaN ending alike): the checkpoint holds the state after step 5, the
    failed batch included in what is still to come, so fixing the cause and resuming gives the uninterrupted run."""
    from trftrain.components.token_labels import TokenLabeller

    config = write_config(tmp_path, tiny_encoder, HEADS)
    overrides = {**corpus, "training.max_steps": 10, "training.eval_frequency": 4}
    train(config, tmp_path / "whole", overrides=overrides)
    original, calls = TokenLabeller.scores, {"n": 0}

    def failing(self, vectors, targets=None):
        if targets is not None and self.name == "tagger":
            calls["n"] += 1
            if calls["n"] == 6:
                raise RuntimeError("boom in the head")
        return original(self, vectors, targets)

    monkeypatch.setattr(TokenLabeller, "scores", failing)
    with pytest.raises(RuntimeError, match="boom"):
        train(config, tmp_path / "parts", overrides=overrides)
    monkeypatch.undo()
    assert json.loads((tmp_path / "parts" / "checkpoint-last" / "state.json").read_text())["state"]["step"] == 5
    train(config, tmp_path / "parts", overrides=overrides, resume=True)
    assert_same_weights(tmp_path / "whole" / "model-last", tmp_path / "parts" / "model-last")


def test_resume_refuses_a_changed_config_and_accepts_a_longer_run_on_request(tmp_path, tiny_encoder, corpus):
    config = write_config(tmp_path, tiny_encoder, ["tagger"])
    out = tmp_path / "run"
    train(config, out, overrides={**corpus, "training.max_steps": 4})
    with pytest.raises(TrftrainError, match=r"\[E309\].*`training.max_steps`.*--allow-change training.max_steps"):
        train(config, out, overrides={**corpus, "training.max_steps": 8}, resume=True)
    with pytest.raises(TrftrainError, match=r"`components.tagger.loss_weight`"):
        train(config, out, overrides={**corpus, "training.max_steps": 4, "components.tagger.loss_weight": 0.5},
              resume=True)
    train(config, out, overrides={**corpus, "training.max_steps": 8}, resume=True,
          allow_changes=["training.max_steps"])
    steps = [json.loads(line)["step"] for line in (out / "training_log.jsonl").read_text().splitlines()]
    assert steps == [4, 8]


def test_checkpoint_holds_no_pickle_and_names_every_state(tmp_path, tiny_encoder, corpus):
    config = write_config(tmp_path, tiny_encoder, ["tagger", "spacy_ner"])
    train(config, tmp_path / "run", overrides={**corpus, "training.max_steps": 3})
    folder = tmp_path / "run" / "checkpoint-last"
    # spaCy's own vocab/lookups.bin is msgpack; nothing else may be a torch or pickle file.
    suffixes = {p.suffix for p in folder.rglob("*") if p.is_file() and p.name != "lookups.bin"}
    assert not suffixes & {".pt", ".pth", ".bin", ".pkl", ".pickle"}
    _, tensors, info, _ = read_checkpoint(folder)
    assert any(k.startswith("adamw/") and k.endswith("/exp_avg_sq") for k in tensors)
    assert any(k.startswith("thinc/mom2/spacy_ner/") for k in tensors)
    assert {"rng/0/torch", "rng/0/numpy", "rng/0/python"} <= set(tensors)
    assert info["state"]["step"] == 3 and info["stream"]["seed"] == 0


KILLER = r"""
import sys
from trftrain.cli.app import main
sys.argv = ["trftrain"] + sys.argv[1:]
main()
"""


def run_cli(args, **kwargs):
    return subprocess.Popen([sys.executable, "-c", KILLER, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"}, **kwargs)


def check_complete_or_absent(out: Path) -> None:
    for name in ("model-best", "model-last"):
        if (out / name).exists():
            nlp = spacy.load(out / name)
            assert len(nlp("A short text .")) == 4
    if (out / "checkpoint-last").exists():
        read_checkpoint(out / "checkpoint-last")


def kill_and_resume(tmp_path, tiny_encoder, corpus, kills: int, seed: int) -> None:
    config = write_config(tmp_path, tiny_encoder, ["tagger", "parser"])
    args = ["train", config] + [a for k, v in {**corpus, "training.max_steps": 16, "training.eval_frequency": 3,
                                               "training.checkpoint_frequency": 2}.items() for a in (f"--{k}", v)]
    whole = run_cli(args + ["--output", tmp_path / "whole"])
    assert whole.wait(timeout=600) == 0, whole.stdout.read().decode()[-3000:]
    out = tmp_path / "killed"
    chooser = random.Random(seed)
    flags = []
    for _ in range(kills):
        process = run_cli(args + ["--output", out] + flags)
        log = out / "training_log.jsonl"
        seen = len(log.read_text().splitlines()) if log.exists() else 0
        deadline = time.time() + 300
        # Wait for one more evaluation than before, then kill at a random moment of the steps that follow.
        while time.time() < deadline and process.poll() is None:
            if log.exists() and len(log.read_text().splitlines()) > seen:
                break
            time.sleep(0.05)
        time.sleep(chooser.uniform(0.0, 1.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        check_complete_or_absent(out)
        if (out / "checkpoint-last").exists():
            flags = ["--resume"]
        else:
            flags = ["--overwrite"]
    final = run_cli(args + ["--output", out] + flags)
    assert final.wait(timeout=600) == 0, final.stdout.read().decode()[-3000:]
    assert_same_weights_no_spacy(tmp_path / "whole" / "model-last", out / "model-last")
    assert not list(out.glob(".*"))


def assert_same_weights_no_spacy(a: Path, b: Path) -> None:
    wa, wb = all_weights(a), all_weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.slow
def test_sigkill_then_resume_gives_the_uninterrupted_weights(tmp_path, tiny_encoder, corpus):
    kill_and_resume(tmp_path, tiny_encoder, corpus, kills=1, seed=1)


@pytest.mark.slow
@pytest.mark.long
def test_several_sigkills_then_resume_give_the_uninterrupted_weights(tmp_path, tiny_encoder, corpus):
    kill_and_resume(tmp_path, tiny_encoder, corpus, kills=4, seed=7)


def test_sigterm_to_the_command_saves_and_exits_143(tmp_path, tiny_encoder, corpus):
    """What `timeout`, `docker stop` and schedulers send: the command stops after the step, saves, and says so."""
    config = write_config(tmp_path, tiny_encoder, ["tagger"])
    out = tmp_path / "run"
    args = ["train", config, "--output", out] + [a for k, v in {**corpus, "training.max_steps": 100000,
                                                                "training.eval_frequency": 1}.items()
                                                  for a in (f"--{k}", v)]
    process = run_cli(args)
    deadline = time.time() + 300
    while time.time() < deadline and not (out / "training_log.jsonl").exists():
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=300)[0].decode()
    assert process.returncode == 143, output[-2000:]
    assert "SIGTERM at step" in output and "Saved" in output
    check_complete_or_absent(out)
    assert (out / "model-last").exists() and (out / "checkpoint-last").exists()
