"""The same training and inference on a CUDA device (torch only, no CuPy). Skipped without one."""
import numpy as np
import pytest
import torch
from pipelines import build, decaying, gold_docs, write_config

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def annotations(doc):
    return ([t.tag_ for t in doc], [t.head.i for t in doc], [t.dep_ for t in doc],
            [(e.start, e.end, e.label_) for e in doc.ents])


def test_train_on_cuda_learns_and_predicts_what_the_cpu_predicts(tmp_path, tiny_encoder):
    import trftrain
    from trftrain.training.trainer import Trainer

    config = write_config(tmp_path, tiny_encoder, ["tagger", "parser", "ner"], schedule=decaying(60))
    nlp, cpu_trainer, examples = build(config)
    trftrain.to_device(nlp, "cuda:0")
    trainer = Trainer(nlp, cpu_trainer.T, torch.device("cuda:0"))
    trainer.train_mode()
    first = trainer.step([examples], 0)
    losses = []
    for step in range(1, 60):
        trainer.losses.clear()
        trainer.step([examples], step)
        losses.append(sum(trainer.losses[h.name] for h in trainer.heads))
    assert first.grad_norm > 0 and losses[-1] < 0.2 * losses[0]
    assert all(p.is_cuda for p in nlp.get_pipe("transformer").encoder.parameters())
    texts = [d.text for d in gold_docs()]
    on_gpu = list(nlp.pipe(texts))
    trftrain.to_device(nlp, "cpu")
    on_cpu = list(nlp.pipe(texts))
    assert [annotations(d) for d in on_gpu] == [annotations(d) for d in on_cpu]
    for a, b in zip(on_gpu, on_cpu):
        assert np.allclose(a._.trf_vectors, b._.trf_vectors, atol=1e-3)
    # Overfit: the GPU-trained pipeline reproduces its training annotation.
    assert [t.tag_ for t in on_gpu[0]] == [t.tag_ for t in gold_docs()[0]]
