"""bf16 where the hardware has it: what "auto" picks, fp32 attention in CPU bf16 training, bf16 inference, and
bf16 training on the CPU. bf16 runs on any CPU (slowly where it is emulated), so none of this needs AMX."""
import pytest
import torch
import torch.nn.functional as F
from pipelines import gold_docs, overfit, write_config
from spacy.vocab import Vocab
from test_heads import predicted_words

from trftrain import precision, set_inference_precision
from trftrain.components.head import SharedEncoder
from trftrain.components.parser import DependencyParser
from trftrain.encoder.token_encoder import TokenEncoder
from trftrain.errors import TrftrainError

CPU = torch.device("cpu")


@pytest.mark.parametrize("fast", [True, False])
def test_auto_is_bf16_on_a_cpu_only_where_it_multiplies_bf16_natively(monkeypatch, fast):
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: fast)
    assert precision.autocast_dtype("auto", CPU) == (torch.bfloat16 if fast else None)
    assert precision.autocast_dtype("off", CPU) is None
    assert precision.autocast_dtype("bf16", CPU) == torch.bfloat16
    assert precision.autocast_dtype("fp16", CPU) is None  # fp16 autocast is a CUDA option


def test_attention_that_trains_runs_in_fp32_under_cpu_bf16_autocast():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 4, 9, 8, requires_grad=True) for _ in range(3))
    mask = torch.ones(2, 1, 1, 9, dtype=torch.bool)
    mask[1, ..., 6:] = False
    with precision.autocast(CPU, torch.bfloat16):
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert out.dtype == torch.bfloat16  # what autocast's callers expect
    exact = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert torch.equal(out, exact.to(torch.bfloat16))
    out.float().sum().backward()
    assert q.grad.dtype == torch.float32 and torch.isfinite(q.grad).all()
    with precision.autocast(CPU, torch.bfloat16):  # the same when the inputs come by name
        named = F.scaled_dot_product_attention(query=q, key=k, value=v, attn_mask=mask)
    assert torch.equal(named, out)


def test_attention_without_gradients_stays_in_bf16():
    q, k, v = (torch.randn(2, 4, 9, 8) for _ in range(3))
    with torch.inference_mode(), precision.autocast(CPU, torch.bfloat16):
        out = F.scaled_dot_product_attention(q, k, v)
    assert torch.equal(out, F.scaled_dot_product_attention(q.bfloat16(), k.bfloat16(), v.bfloat16()))


def test_unknown_inference_precision_names_the_config_key(tiny_encoder):
    with pytest.raises(TrftrainError, match="components.transformer.model.inference_precision"):
        TokenEncoder(tiny_encoder, inference_precision="int4")


def test_unknown_parser_inference_precision_names_the_config_key():
    with pytest.raises(TrftrainError, match="components.parser.inference_precision"):
        DependencyParser(Vocab(), lambda width, n: None, encoder=SharedEncoder("transformer"),
                         inference_precision="int4")


def test_parser_labels_in_bf16_match_fp32_and_follow_set_inference_precision(tmp_path, tiny_encoder):
    nlp, _ = overfit(write_config(tmp_path, tiny_encoder, ["parser"]), steps=80)
    parser = nlp.get_pipe("parser")
    assert parser.inference_precision == "off"  # as the test config asks
    gold = gold_docs(nlp.vocab)
    computed = []  # (autocast on?, its dtype) at each call of the relation classifier
    labels = parser.model.labels
    parser.model.labels = lambda *a: computed.append(
        (torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"))) or labels(*a)
    fp32 = predicted_words(nlp, gold)
    assert computed and not any(enabled for enabled, _ in computed)
    computed.clear()
    set_inference_precision(nlp, "bf16")
    assert parser.inference_precision == "bf16"
    bf16 = predicted_words(nlp, gold)
    assert computed and all(call == (True, torch.bfloat16) for call in computed)  # the bf16 path really ran
    assert [[(t.head.i, t.dep_) for t in d] for d in bf16] == [[(t.head.i, t.dep_) for t in d] for d in fp32]


def test_bf16_inference_predicts_what_fp32_does_and_stores_float32(tmp_path, tiny_encoder):
    nlp, _ = overfit(write_config(tmp_path, tiny_encoder, ["tagger"]), steps=60)
    gold = gold_docs(nlp.vocab)
    encoder = nlp.get_pipe("transformer").model
    fp32 = predicted_words(nlp, gold)
    set_inference_precision(nlp, "bf16")
    assert encoder.inference_precision == "bf16"
    bf16 = predicted_words(nlp, gold)
    with pytest.raises(TrftrainError, match="'fp8' is not one of"):
        set_inference_precision(nlp, "fp8")
    assert [[t.tag_ for t in d] for d in bf16] == [[t.tag_ for t in d] for d in fp32]
    for a, b in zip(bf16, fp32):
        assert a._.trf_vectors.dtype == b._.trf_vectors.dtype == "float32"
        assert torch.allclose(torch.from_numpy(a._.trf_vectors), torch.from_numpy(b._.trf_vectors), atol=0.1)
        assert not (a._.trf_vectors == b._.trf_vectors).all()  # the bf16 path really ran


@pytest.mark.parametrize("heads", [["tagger", "parser"], ["textcat"]])
def test_bf16_training_on_the_cpu_fits_the_examples(tmp_path, tiny_encoder, heads):
    config = write_config(tmp_path, tiny_encoder, heads)
    config.write_text(config.read_text().replace('mixed_precision = "off"', 'mixed_precision = "bf16"'))
    nlp, _ = overfit(config, steps=80)
    gold = gold_docs(nlp.vocab)
    predicted = predicted_words(nlp, gold)
    for doc, ref in zip(predicted, gold):
        if "tagger" in heads:
            assert [t.tag_ for t in doc] == [t.tag_ for t in ref]
        if "textcat" in heads:
            assert max(doc.cats, key=doc.cats.get) == max(("POS", "NEG"), key=ref.cats.get)


def test_evaluate_scores_in_the_precision_asked_for_and_rejects_unknown_ones(tmp_path, tiny_encoder):
    from spacy.tokens import DocBin
    from typer.testing import CliRunner

    from trftrain.cli.app import app
    from trftrain.cli.evaluate import evaluate

    nlp, _ = overfit(write_config(tmp_path, tiny_encoder, ["tagger"]), steps=60)
    nlp.to_disk(tmp_path / "model")
    DocBin(docs=gold_docs()).to_disk(tmp_path / "dev.spacy")
    for setting in ("off", "bf16", "auto"):
        assert evaluate(tmp_path / "model", tmp_path / "dev.spacy", precision=setting)["tag_acc"] == 1.0
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path / "model"), str(tmp_path / "dev.spacy"),
                                      "--precision", "fp8"])
    assert result.exit_code == 1 and "--precision 'fp8'" in result.output


def test_encoder_calls_pad_to_multiples_of_16_under_cpu_autocast_only():
    assert precision.padded_length(130, CPU) == 130
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert [precision.padded_length(n, CPU) for n in (1, 16, 17, 130)] == [16, 16, 32, 144]

