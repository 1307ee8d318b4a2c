"""TokenEncoder on every tokenizer family: shapes, long texts, empty texts, no truncation warnings."""
import logging
import warnings

import pytest
import spacy
import torch
import transformers

from trftrain.encoder.token_encoder import TokenEncoder
from trftrain.errors import TrftrainError
from trftrain.padding import padded_groups

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
    n_pieces = len(enc.tokenizer(long_text, add_special_tokens=False, verbose=False)["input_ids"])
    seen = []
    enc.backbone.model.register_forward_hook(
        lambda module, args, kwargs, out: seen.append(kwargs["attention_mask"].sum(1).tolist()), with_kwargs=True)
    # transformers' logger does not pass records to the root logger, where caplog listens: while this test runs
    # it does, so that a "sequence length is longer than" (truncation) warning would fail it.
    transformers.utils.logging.enable_propagation()
    try:
        with caplog.at_level(logging.WARNING), warnings.catch_warnings():
            warnings.simplefilter("error")
            with torch.inference_mode():
                out = enc(docs)
    finally:
        transformers.utils.logging.disable_propagation()
    assert out.lengths == [len(d) for d in docs]
    assert out.data.shape == (sum(len(d) for d in docs), 32)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], [r.getMessage() for r in caplog.records]
    assert torch.isfinite(out.data).all()
    # Every piece of the long text reached the encoder: windows (specials excluded) hold at least all its pieces,
    # and no window is longer than the encoder takes.
    n_special = len(enc.backbone.prefix) + len(enc.backbone.suffix)
    lengths = [n for call in seen for n in call]
    assert sum(n - n_special for n in lengths) >= n_pieces > 16 and max(lengths) <= 16 + n_special
    # Pieces-carrying tokens get non-zero vectors, wherever they are in the long text, and the end of the long text
    # is encoded from its own pieces: its last sentence differs from the same words at its start.
    per_doc = out.per_doc()
    assert (per_doc[0].abs().sum(1) > 0).all()
    sentence = len(nlp("Apple didn't buy the startup in Berlin's old town, said Anna. "))
    assert not torch.allclose(per_doc[0][-sentence:], per_doc[0][:sentence])


@pytest.mark.parametrize("family", FAMILIES)
def test_windows_agree_with_a_single_window_where_context_fits(tiny_encoders, family):
    """A text that fits one window gives the same vectors whatever the stride."""
    nlp = spacy.blank("en")
    doc = nlp("The fox jumps.")
    a = encoder(tiny_encoders[family])
    b = TokenEncoder(tiny_encoders[family], window=30, stride=5)
    b._attach(a.backbone.model, a.tokenizer)
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


@pytest.mark.parametrize("budget", [1, 40, 100, 10_000])
def test_piece_budget_changes_the_calls_not_the_vectors(tiny_encoders, budget):
    nlp = spacy.blank("en")
    docs = [nlp("one two three"), nlp("four five " * 30), nlp("six"), nlp(""), nlp("seven eight nine ten")]
    reference = encoder(tiny_encoders["wordpiece"], max_padded_pieces=10_000)
    enc = encoder(tiny_encoders["wordpiece"], max_padded_pieces=budget)
    calls = []
    enc.backbone.model.register_forward_hook(lambda module, args, kwargs, out: calls.append(kwargs["input_ids"].shape),
                                          with_kwargs=True)
    with torch.inference_mode():
        assert torch.allclose(enc(docs).data, reference(docs).data, atol=1e-5)
    assert all(rows == 1 or rows * length <= budget for rows, length in calls)


def test_padded_groups_stay_within_the_budget():
    lengths = [3, 5, 5, 8, 9, 20, 50]
    groups = padded_groups(lengths, 20)
    assert groups == [(0, 3), (3, 5), (5, 6), (6, 7)]  # 3x5, 2x9, 20 alone, 50 over budget alone
    assert padded_groups([], 20) == []


@pytest.mark.parametrize("family", FAMILIES)
def test_dropout_settings_reach_the_encoder(tiny_encoders, family):
    enc = encoder(tiny_encoders[family], attention_dropout=0.0, hidden_dropout=0.25)
    rates = {module.p for module in enc.backbone.model.modules() if isinstance(module, torch.nn.Dropout)}
    config = enc.backbone.model.config
    attention = next(getattr(config, a) for a in ("attention_probs_dropout_prob", "attention_dropout") if hasattr(config, a))
    assert attention == 0.0 and 0.25 in rates
    default = encoder(tiny_encoders[family])
    assert default.backbone.model.config.to_dict() != config.to_dict()


def test_bad_settings_name_the_config_key(tiny_encoders):
    with pytest.raises(TrftrainError, match="window"):
        TokenEncoder(tiny_encoders["wordpiece"], window=100, stride=50).load_pretrained()
    with pytest.raises(TrftrainError, match="pooling"):
        TokenEncoder(tiny_encoders["wordpiece"], pooling="max")
    with pytest.raises(TrftrainError, match="stride"):
        TokenEncoder(tiny_encoders["wordpiece"], window=8, stride=9)
    with pytest.raises(TrftrainError, match="attention_dropout"):
        TokenEncoder(tiny_encoders["wordpiece"], attention_dropout=1.0)
    with pytest.raises(TrftrainError, match="max_padded_pieces"):
        TokenEncoder(tiny_encoders["wordpiece"], max_padded_pieces=0)


def test_missing_local_encoder_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(TrftrainError, match="config.json"):
        TokenEncoder(str(tmp_path / "empty")).load_pretrained()


def test_configs_saved_with_the_old_window_cap_still_resolve(tmp_path, tiny_encoders):
    """Pipelines saved before max_padded_pieces replaced max_windows_per_forward carry the old key: they load,
    and the encoder takes the default budget."""
    from pipelines import build, write_config

    config = write_config(tmp_path, tiny_encoders["wordpiece"], ["tagger"])
    nlp, _, _ = build(config)
    nlp.to_disk(tmp_path / "saved")
    saved = (tmp_path / "saved" / "config.cfg").read_text()
    old = saved.replace("max_padded_pieces = 1024\n", "").replace("max_windows_per_forward = null", "max_windows_per_forward = 64")
    assert "max_padded_pieces" not in old and "max_windows_per_forward = 64" in old
    (tmp_path / "saved" / "config.cfg").write_text(old)
    loaded = spacy.load(tmp_path / "saved")
    assert loaded.config["components"]["transformer"]["model"]["max_windows_per_forward"] == 64
    assert loaded.get_pipe("transformer").encoder.max_padded_pieces == 1024
    text = "Anna lives in Berlin."
    assert [t.tag_ for t in loaded(text)] == [t.tag_ for t in nlp(text)]


def test_scalar_layer_mix_learns_saves_and_reloads(tmp_path, tiny_encoder):
    """layer_mix = "scalar": piece vectors mix every hidden layer; the mix weights train at the heads' rate and
    travel with the pipeline."""
    import numpy as np
    from pipelines import build, write_config

    config = write_config(tmp_path, tiny_encoder, ["tagger"])
    config.write_text(config.read_text().replace('inference_precision = "off"',
                                                 'inference_precision = "off"\nlayer_mix = "scalar"', 1))
    nlp, trainer, examples = build(config)
    backbone = nlp.get_pipe("transformer").encoder.backbone
    mix = backbone.mix
    assert mix is not None and mix.logits.shape == (3,)  # embeddings + 2 layers
    heads_group = next(g for g in trainer.optimizer.param_groups if g["name"] == "heads")
    assert any(p is mix.logits for p in heads_group["params"])
    last_only = encoder(tiny_encoder)
    doc = nlp.make_doc("The fox jumps over the dog.")
    with torch.inference_mode():
        assert not torch.allclose(nlp.get_pipe("transformer").encoder([doc]).data, last_only([doc]).data, atol=1e-3)
    trainer.train_mode()
    for step in range(5):
        trainer.step([examples], step)
    assert not torch.equal(mix.logits.detach(), torch.zeros(3))
    nlp.to_disk(tmp_path / "model")
    reloaded = spacy.load(tmp_path / "model")
    assert torch.equal(reloaded.get_pipe("transformer").encoder.backbone.mix.logits, mix.logits.detach())
    a, b = nlp("The fox jumps."), reloaded("The fox jumps.")
    assert np.allclose(a._.trf_vectors, b._.trf_vectors, atol=1e-6)


def test_scalar_layer_mix_reads_mixes_saved_before_the_logit_scale():
    """A mix saved as plain softmax inputs (`weights`) keeps its layer shares when loaded."""
    from trftrain.encoder.layer_mix import ScalarMix

    saved = torch.tensor([0.5, -0.2, 1.0])
    mix = ScalarMix(3)
    mix.load_state_dict({"weights": saved, "scale": torch.tensor(2.0)})
    assert torch.allclose(mix.layer_weights(), torch.softmax(saved, dim=0), atol=1e-6)
    assert mix.scale.item() == 2.0
