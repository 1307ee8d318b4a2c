"""Data-parallel training on torch.distributed (gloo, two processes on this machine, started by torchrun):
identical weights on every process, the same as one process on the union of their batches, a head without
annotation in one process's batch neither hangs nor desynchronises them, and only rank 0 writes."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from pipelines import gold_docs, write_config
from safetensors.torch import load_file
from spacy.tokens import DocBin

HERE = Path(__file__).parent
NO_DROPOUT = """
[components.tagger.model]
@architectures = "trftrain.TokenClassifier.v1"
dropout = 0.0

[components.ner.model]
@architectures = "trftrain.TokenClassifier.v1"
dropout = 0.0

[components.parser.model]
@architectures = "trftrain.BiaffineParser.v2"
dropout = 0.0

[components.textcat.model]
@architectures = "trftrain.PooledClassifier.v1"
dropout = 0.0
"""


def torchrun(*args, timeout=600, env=None):
    env = {**(env or os.environ), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result


def test_two_processes_match_each_other_and_one_process_on_their_union(tmp_path, tiny_encoder):
    config = write_config(tmp_path, tiny_encoder, ["tagger", "parser", "ner", "textcat"], extra=NO_DROPOUT)
    text = config.read_text().replace('inference_precision = "off"',
                                      'inference_precision = "off"\nhidden_dropout = 0.0\nattention_dropout = 0.0', 1)
    config.write_text(text)
    torchrun(HERE / "distributed_worker.py", config, tmp_path)
    single = subprocess.run([sys.executable, str(HERE / "distributed_worker.py"), str(config), str(tmp_path), "--single"],
                            capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert single.returncode == 0, single.stderr[-4000:]
    rank0, rank1 = load_file(str(tmp_path / "rank0.safetensors")), load_file(str(tmp_path / "rank1.safetensors"))
    alone = load_file(str(tmp_path / "single.safetensors"))
    assert rank0.keys() == rank1.keys() == alone.keys()
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    # Not bitwise: the all-reduce adds two half-batch gradients where one process sums the whole batch, and the
    # float rounding of that order differs by CPU (up to 3e-5 after these steps on an AMD EPYC, under 1e-5 on Xeons).
    # A rank that skipped the all-reduce, or a head left out of it, would differ far more.
    far = {k: float((rank0[k] - alone[k]).abs().max()) for k in rank0 if not torch.allclose(rank0[k], alone[k], atol=1e-4)}
    assert not far, far
    # The weights moved: the comparison is not between untouched initialisations.
    initial_ner = [k for k in rank0 if k.startswith("head_modules.ner")]
    assert initial_ner and any(float(rank0[k].abs().sum()) > 0 for k in initial_ner)


def without_dropout(config: Path) -> Path:
    text = config.read_text().replace('inference_precision = "off"',
                                      'inference_precision = "off"\nhidden_dropout = 0.0\nattention_dropout = 0.0', 1)
    config.write_text(text.replace("[training]\n", "[training]\ndropout = 0.0\n", 1))
    return config


def test_spacy_components_on_the_listener_join_the_all_reduce(tmp_path, tiny_encoder):
    """spaCy's NER on the listener, each process given a different doc: both processes must keep the same thinc
    weights (its gradients are all-reduced), and after one step the encoder must equal one process on both docs.
    spaCy's gradients are sums over the batch, so the processes sum them; averaging them halved the NER's pull on
    the encoder (off by 2e-3 after one step)."""
    config = without_dropout(write_config(tmp_path, tiny_encoder, ["tagger", "spacy_ner"], extra=NO_DROPOUT))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WORKER_STEPS": "1"}
    torchrun(HERE / "distributed_worker.py", config, tmp_path, "--pairs", env=env)
    single = subprocess.run([sys.executable, str(HERE / "distributed_worker.py"), str(config), str(tmp_path), "--single",
                             "--pairs"], capture_output=True, text=True, env=env)
    assert single.returncode == 0, single.stderr[-4000:]
    rank0, rank1 = load_file(str(tmp_path / "rank0.safetensors")), load_file(str(tmp_path / "rank1.safetensors"))
    alone = load_file(str(tmp_path / "single.safetensors"))
    thinc = [k for k in rank0 if k.startswith("thinc/spacy_ner/")]
    assert thinc and rank0.keys() == rank1.keys() == alone.keys()
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    torch_side = [k for k in rank0 if not k.startswith("thinc/")]
    far = {k: float((rank0[k] - alone[k]).abs().max()) for k in torch_side
           if not torch.allclose(rank0[k], alone[k], atol=1e-5)}
    assert not far, far


def test_torchrun_cli_trains_and_only_rank_0_writes(tmp_path, tiny_encoder):
    config = write_config(tmp_path, tiny_encoder, ["tagger", "ner", "spacy_ner"])
    DocBin(docs=gold_docs() * 4).to_disk(tmp_path / "train.spacy")
    DocBin(docs=gold_docs()).to_disk(tmp_path / "dev.spacy")
    out = tmp_path / "run"
    torchrun("-m", "trftrain", "train", config, "--output", out, "--paths.train", tmp_path / "train.spacy",
             "--paths.dev", tmp_path / "dev.spacy", "--training.max_steps", 4, "--training.eval_frequency", 2,
             "--training.batcher.size", 20)
    records = [json.loads(line) for line in (out / "training_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint-last", "model-best", "model-last",
                                                     "training.png", "training_log.jsonl"]
    state = json.loads((out / "checkpoint-last" / "state.json").read_text())
    assert state["world_size"] == 2 and {"rng/0/torch", "rng/1/torch"} <= set(
        load_file(str(out / "checkpoint-last" / "state.safetensors")))


@pytest.mark.slow  # three torchrun launches, about 30 s
def test_torchrun_resume(tmp_path, tiny_encoder):
    config = write_config(tmp_path, tiny_encoder, ["tagger", "ner"])
    DocBin(docs=gold_docs() * 4).to_disk(tmp_path / "train.spacy")
    DocBin(docs=gold_docs()).to_disk(tmp_path / "dev.spacy")
    out, whole = tmp_path / "run", tmp_path / "whole"
    common = ["--paths.train", tmp_path / "train.spacy", "--paths.dev", tmp_path / "dev.spacy",
              "--training.eval_frequency", 2, "--training.batcher.size", 20]
    torchrun("-m", "trftrain", "train", config, "--output", whole, "--training.max_steps", 6, *common)
    torchrun("-m", "trftrain", "train", config, "--output", out, "--training.max_steps", 4, *common)
    torchrun("-m", "trftrain", "train", config, "--output", out, "--training.max_steps", 6, *common, "--resume",
             "--allow-change", "training.max_steps")
    records = [json.loads(line) for line in (out / "training_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6]
    # Both processes resumed their own random generators and shares of the stream: the weights are the
    # uninterrupted run's. (The learning-rate schedule follows max_steps, so the run to compare goes to 6 too,
    # and both first runs see the same rates only because the schedule is constant here.)
    for component in ("tagger", "ner"):
        a = load_file(str(whole / "model-last" / component / "model.safetensors"))
        b = load_file(str(out / "model-last" / component / "model.safetensors"))
        assert all(torch.equal(a[k], b[k]) for k in a), component
