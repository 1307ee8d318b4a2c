"""Inference under autocast reuses linear layers cast once (encoder/cast_weights.py): the same vectors as casting
on every call, a new copy when the weights change, and none in training."""
import pytest
import spacy
import torch

from trftrain.encoder.cast_weights import CastLinearCopy
from trftrain.encoder.token_encoder import TokenEncoder

TEXTS = ["Anna flew to Oslo on Tuesday.", "The lease ends soon, said Tom.", "Short."]


class _CastEveryCall(CastLinearCopy):
    """What autocast does without the copy: the model itself, cast inside every call."""

    def of(self, model, dtype):
        return model


@pytest.fixture
def encoder(tiny_encoder):
    enc = TokenEncoder(tiny_encoder, window=16, stride=12, inference_precision="bf16")
    enc.load_pretrained()
    return enc


def vectors(enc, docs):
    return enc.predict(docs).data.float()


def test_the_cast_copy_gives_the_vectors_of_casting_every_call(encoder):
    docs = [spacy.blank("en")(t) for t in TEXTS]
    with_copy = vectors(encoder, docs)
    assert encoder.backbone._cast_copy._copy is not None  # the copy really served the call
    linears = [m for m in encoder.backbone._cast_copy._copy.modules() if type(m) is torch.nn.Linear]
    assert linears and all(m.weight.dtype == torch.bfloat16 for m in linears)
    assert all(p.dtype == torch.float32 for p in encoder.backbone.model.parameters())  # the model is left alone
    encoder.backbone._cast_copy = _CastEveryCall()
    assert torch.equal(with_copy, vectors(encoder, docs))


def test_the_copy_follows_the_weights_and_shares_everything_else(encoder):
    docs = [spacy.blank("en")(t) for t in TEXTS]
    before = vectors(encoder, docs)
    first_copy = encoder.backbone._cast_copy._copy
    model = encoder.backbone.model
    embeddings = {id(p) for n, p in model.named_parameters() if "embeddings" in n}
    assert embeddings <= {id(p) for p in first_copy.parameters()}  # shared, not copied
    with torch.no_grad():  # in place, as an optimizer step writes
        next(m for m in model.modules() if type(m) is torch.nn.Linear).weight.mul_(-1.0)
    after = vectors(encoder, docs)
    assert encoder.backbone._cast_copy._copy is not first_copy
    assert not torch.equal(before, after)
    encoder.backbone._cast_copy = _CastEveryCall()
    assert torch.equal(after, vectors(encoder, docs))


def test_training_runs_the_model_itself(encoder):
    docs = [spacy.blank("en")(t) for t in TEXTS]
    vectors(encoder, docs)
    encoder.train()
    assert encoder.backbone._cast_copy._copy is None  # dropped when training starts
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = encoder(docs)
    out.data.float().sum().backward()
    assert encoder.backbone._cast_copy._copy is None
    assert all(p.grad is not None for p in encoder.backbone.model.encoder.parameters())
