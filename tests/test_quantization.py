"""int8 dynamic quantization of the encoder: which layers change, what stays in float, and that the pipeline
still predicts what the float one does."""
import numpy as np
import pytest
import torch
from pipelines import gold_docs, overfit, write_config
from spacy.tokens import DocBin
from test_heads import predicted_words

from trftrain import quantize_int8
from trftrain.cli.evaluate import evaluate
from trftrain.quantization import first_down_projection

QUANTIZED_LINEAR = torch.ao.nn.quantized.dynamic.Linear


def encoder_of(nlp):
    return nlp.get_pipe("transformer").torch_modules()["encoder"]


@pytest.mark.parametrize("family", ["wordpiece", "sentencepiece", "bytebpe"])
def test_first_down_projection_is_the_first_blocks_feed_forward_output(tiny_encoders, family, tmp_path):
    nlp, _ = overfit(write_config(tmp_path, tiny_encoders[family], ["tagger"]), steps=1)
    transformer = encoder_of(nlp).backbone.model
    name = first_down_projection(transformer)
    assert name == "encoder.layer.0.output.dense"
    layer = transformer.get_submodule(name)
    assert layer.in_features > layer.out_features


def test_quantize_int8_swaps_every_encoder_linear_but_the_first_down_projection(tmp_path, tiny_encoder):
    nlp, _ = overfit(write_config(tmp_path, tiny_encoder, ["tagger"]), steps=60)
    gold = gold_docs(nlp.vocab)
    before = predicted_words(nlp, gold)
    float_linears = [n for n, m in encoder_of(nlp).backbone.model.named_modules() if isinstance(m, torch.nn.Linear)]
    head_weights = {k: v.clone() for k, v in nlp.get_pipe("tagger").torch_modules()["head"].state_dict().items()}

    quantize_int8(nlp)

    # Quantized layers take fp32 input, so the encoder predicts without autocast from now on.
    assert encoder_of(nlp).inference_precision == "off"
    modules = dict(encoder_of(nlp).backbone.model.named_modules())
    kept = [n for n in float_linears if not isinstance(modules[n], QUANTIZED_LINEAR)]
    assert kept == ["encoder.layer.0.output.dense"]
    assert type(modules[kept[0]]) is torch.nn.Linear
    # Heads are left alone.
    head = nlp.get_pipe("tagger").torch_modules()["head"].state_dict()
    assert all(torch.equal(head[k], v) for k, v in head_weights.items())
    after = predicted_words(nlp, gold)
    assert [[t.tag_ for t in d] for d in after] == [[t.tag_ for t in d] for d in before]
    for a, b in zip(after, before):
        x, y = a._.trf_vectors.ravel(), b._.trf_vectors.ravel()
        assert np.corrcoef(x, y)[0, 1] > 0.98  # close to float, not equal: the arithmetic is int8


def test_evaluate_with_int8_scores_the_quantized_pipeline(tmp_path, tiny_encoder):
    nlp, _ = overfit(write_config(tmp_path, tiny_encoder, ["tagger"]), steps=60)
    nlp.to_disk(tmp_path / "model")
    DocBin(docs=gold_docs()).to_disk(tmp_path / "dev.spacy")
    plain = evaluate(tmp_path / "model", tmp_path / "dev.spacy")
    int8 = evaluate(tmp_path / "model", tmp_path / "dev.spacy", int8=True)
    assert plain["tag_acc"] == 1.0 and int8["tag_acc"] == 1.0
