"""Run by tests/test_distributed.py under torchrun (or alone): a few trainer steps on a fixed batch per process,
then every weight written to OUT/<rank or 'single'>.safetensors for the test to compare.

    python tests/distributed_worker.py CONFIG OUT [--single] [--pairs]

--pairs: process r gets doc r alone (and --single docs 0 and 1), every doc fully annotated, so that spaCy's
components on the listener learn from every process's batch.
"""
import os
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from thinc.api import fix_random_seed

sys.path.insert(0, str(Path(__file__).parent))
from pipelines import examples_for, gold_docs  # noqa: E402

from trftrain.config import load_config, resolve_training  # noqa: E402
from trftrain.runtime import build_pipeline  # noqa: E402
from trftrain.training import distributed  # noqa: E402
from trftrain.training.trainer import Trainer  # noqa: E402

STEPS = int(os.environ.get("WORKER_STEPS", "3"))  # optimizer steps per run


def batches(nlp):
    """Rank 0's batch has entities; rank 1's docs carry no entity annotation at all (missing, not 'O')."""
    docs = gold_docs(nlp.vocab)
    examples = examples_for(nlp, docs)
    for eg in examples[2:]:
        eg.reference.ents = []
        eg.reference.set_ents([], missing=[eg.reference[:]])
    return examples, [examples[:2], examples[2:]]


def thinc_weights(trainer) -> dict:
    """The weights of spaCy's components on the listener, named by their place in the model (ids differ by run)."""
    found = {}
    for _, proc, _ in trainer.compat:
        for i, node in enumerate(proc.model.walk()):
            for param in node.param_names:
                if node.has_param(param):
                    found[f"thinc/{proc.name}/{i}/{node.name}/{param}"] = torch.from_numpy(node.get_param(param).copy())
    return found


def main() -> None:
    config_path, out, single, pairs = Path(sys.argv[1]), Path(sys.argv[2]), "--single" in sys.argv, "--pairs" in sys.argv
    process = distributed.start(use_cuda=False)
    raw = load_config(config_path, interpolate=False)
    T = resolve_training(raw.interpolate())
    fix_random_seed(0)
    nlp = build_pipeline(raw)
    examples, per_rank = batches(nlp)
    nlp.initialize(lambda: examples)
    trainer = Trainer(nlp, T, torch.device("cpu"), process)
    distributed.broadcast_parameters(trainer.params, process)
    trainer.train_mode()
    if pairs:
        mine = examples[:2] if single else examples[process.rank : process.rank + 1]
    else:
        mine = per_rank[0] + per_rank[1] if single else per_rank[process.rank]
    for step in range(STEPS):
        trainer.step([mine], step)
    name = "single" if single else f"rank{process.rank}"
    weights = {k: v.detach().contiguous() for k, v in trainer.model.state_dict().items()}
    weights.update(thinc_weights(trainer))
    save_file(weights, str(out / f"{name}.safetensors"))
    distributed.stop()


if __name__ == "__main__":
    main()
