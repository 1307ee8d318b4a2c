"""The same training and inference on a CUDA device (torch only, no CuPy). Skipped without one."""
import pytest
import torch
from pipelines import build, gold_docs, write_config

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def test_train_and_predict_on_cuda(tmp_path, tiny_encoder):
    import trftrain

    nlp, trainer, examples = build(write_config(tmp_path, tiny_encoder, ["tagger", "parser", "ner"]))
    trftrain.to_device(nlp, "cuda:0")
    trainer = type(trainer)(nlp, trainer.T, torch.device("cuda:0"))
    trainer.train_mode()
    for step in range(3):
        trainer.step([examples], step)
    assert next(nlp.get_pipe("transformer").encoder.parameters()).is_cuda
    docs = list(nlp.pipe([d.text for d in gold_docs()]))
    assert all(len(doc._.trf_vectors) == len(doc) for doc in docs)
