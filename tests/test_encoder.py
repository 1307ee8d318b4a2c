"""TokenEncoder on every tokenizer family: shapes, long texts, empty texts, no truncation warnings."""
import logging
import warnings

import pytest
import spacy
import torch

from trftrain.encoder.token_encoder import TokenEncoder
from trftrain.errors import TrftrainError

FAMILIES = ["wordpiece", "sentencepiece", "bytebpe"]


def encoder(path, **kwargs):
    enc = TokenEncoder(path, window=16, stride=12, **kwargs)
    enc.load_pretrained()
    return enc.eval()


@pytest.mark.parametrize("family", FAMILIES)
def test_one_vector_per_token_and_long_texts_whole(tiny_encoders, family, caplog):
    nlp = spacy.blank("en")
    enc = encoder(tiny_encoders[family])
    long_text = "Apple didn't buy the startup in Berlin's old town, said Anna. " * 30  # many times the 40-piece limit
    docs = [nlp(long_text), nlp("short one"), nlp(""), nlp("   \n\t "), nlp("🙂")]
    with caplog.at_level(logging.WARNING), warnings.catch_warnings():
        warnings.simplefilter("error")
        with torch.inference_mode():
            out = enc(docs)
    assert out.lengths == [len(d) for d in docs]
    assert out.data.shape == (sum(len(d) for d in docs), 32)
    assert not [r for r in caplog.records if "sequence length" in r.getMessage()]
    assert torch.isfinite(out.data).all()
    # Pieces-carrying tokens get non-zero vectors, wherever they are in the long text.
    per_doc = out.per_doc()
    assert (per_doc[0].abs().sum(1) > 0).all()


@pytest.mark.parametrize("family", FAMILIES)
def test_windows_agree_with_a_single_window_where_context_fits(tiny_encoders, family):
    """A text that fits one window gives the same vectors whatever the stride."""
    nlp = spacy.blank("en")
    doc = nlp("The fox jumps.")
    a = encoder(tiny_encoders[family])
    b = TokenEncoder(tiny_encoders[family], window=30, stride=5)
    b._attach(a.transformer, a.tokenizer)
    with torch.inference_mode():
        assert torch.allclose(a([doc]).data, b([doc]).data, atol=1e-5)


def test_batch_equals_one_by_one(tiny_encoders):
    nlp = spacy.blank("en")
    enc = encoder(tiny_encoders["wordpiece"])
    docs = [nlp("one two three"), nlp("four " * 40), nlp("")]
    with torch.inference_mode():
        together = enc(docs).data
        alone = torch.cat([enc([d]).data for d in docs])
    assert torch.allclose(together, alone, atol=1e-5)


def test_bad_settings_name_the_config_key(tiny_encoders):
    with pytest.raises(TrftrainError, match="window"):
        TokenEncoder(tiny_encoders["wordpiece"], window=100, stride=50).load_pretrained()
    with pytest.raises(TrftrainError, match="pooling"):
        TokenEncoder(tiny_encoders["wordpiece"], pooling="max")
    with pytest.raises(TrftrainError, match="stride"):
        TokenEncoder(tiny_encoders["wordpiece"], window=8, stride=9)


def test_missing_local_encoder_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(TrftrainError, match="config.json"):
        TokenEncoder(str(tmp_path / "empty")).load_pretrained()
