"""The shared encoder runs once per batch and receives the sum of the heads' gradients."""
import pytest
import torch
from pipelines import build, write_config

from trftrain.errors import TrftrainError

HEADS = ["tagger", "parser", "ner", "textcat", "spacy_ner"]


def encoder_of(nlp):
    return nlp.get_pipe("transformer").encoder


def gradients(trainer, batch) -> torch.Tensor:
    params = list(encoder_of(trainer.nlp).parameters())
    for p in params:
        p.grad = None
    for _, proc, _ in trainer.compat:
        proc.model.finish_update(_NoStep())  # drop spaCy's accumulated gradients
    trainer._accumulate(batch, 1.0, {})
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in params])


class _NoStep:
    """A thinc optimizer stand-in that discards gradients."""

    def __call__(self, key, weights, gradient, **kwargs):
        return weights, gradient * 0

    learn_rate = 0.0


def test_one_forward_per_batch(tmp_path, tiny_encoder):
    nlp, trainer, examples = build(write_config(tmp_path, tiny_encoder, HEADS))
    calls = []
    hook = encoder_of(nlp).backbone.model.register_forward_hook(lambda *args: calls.append(1))
    trainer.train_mode()
    trainer.step([examples], 0)
    hook.remove()
    assert len(calls) == 1


def test_encoder_gradient_is_the_sum_of_head_gradients(tmp_path, tiny_encoder):
    nlp, trainer, examples = build(write_config(tmp_path, tiny_encoder, HEADS))
    # No dropout anywhere, so separate runs see the same forward pass.
    for _, proc in nlp.pipeline:
        for module in getattr(proc, "torch_modules", lambda: {})().values():
            module.eval()
    trainer.T = {**trainer.T, "dropout": 0.0}
    heads, compat = list(trainer.heads), list(trainer.compat)
    together = gradients(trainer, examples)
    separate = torch.zeros_like(together)
    for head in heads:
        trainer.heads, trainer.compat = [head], []
        separate += gradients(trainer, examples)
    for item in compat:
        trainer.heads, trainer.compat = [], [item]
        separate += gradients(trainer, examples)
    assert together.abs().sum() > 0
    # The same fp32 terms summed in another order differ by rounding relative to the largest of them (entries here
    # reach about 90), so the tolerance scales with the gradient, not with each entry: an entry where heads cancel
    # out broke a per-entry tolerance about one run in eight. A head left out or counted twice is off by far more.
    largest = float(together.abs().max())
    assert float((together - separate).abs().max()) <= 1e-5 * largest


def test_loss_weight_scales_a_heads_gradient(tmp_path, tiny_encoder):
    nlp, trainer, examples = build(write_config(tmp_path, tiny_encoder, ["tagger"]))
    encoder_of(nlp).eval()
    nlp.get_pipe("tagger").model.eval()
    base = gradients(trainer, examples)
    nlp.get_pipe("tagger").loss_weight = 3.0
    # atol as in the gradient-sum test: index_add_ accumulates in a thread-dependent order on CPU.
    assert torch.allclose(gradients(trainer, examples), 3 * base, rtol=1e-4, atol=1e-6)


def test_frozen_encoder_gets_no_gradient_and_does_not_change(tmp_path, tiny_encoder):
    config = write_config(tmp_path, tiny_encoder, ["tagger"]).read_text().replace(
        'mixed_precision = "off"', 'mixed_precision = "off"\nfrozen_components = ["transformer"]')
    path = tmp_path / "frozen.cfg"
    path.write_text(config)
    nlp, trainer, examples = build(path)
    before = [p.detach().clone() for p in encoder_of(nlp).parameters()]
    trainer.train_mode()
    for step in range(3):
        trainer.step([examples], step)
    assert all(torch.equal(a, b) for a, b in zip(before, encoder_of(nlp).parameters()))


def test_private_encoder_from_config_only(tmp_path, tiny_encoder):
    config = write_config(tmp_path, tiny_encoder, ["tagger", "ner"]).read_text() + f"""
[components.ner.encoder]
@architectures = "trftrain.Transformer.v1"
name = "{tiny_encoder}"
window = 16
stride = 12
"""
    path = tmp_path / "private.cfg"
    path.write_text(config)
    nlp, trainer, examples = build(path)
    ner = nlp.get_pipe("ner")
    assert not ner.uses_shared_encoder and ner.private_encoder is not encoder_of(nlp)
    trainer.train_mode()
    trainer.step([examples], 0)
    nlp.to_disk(tmp_path / "model")
    import spacy

    reloaded = spacy.load(tmp_path / "model")
    text = "Anna lives in Berlin ."
    assert [(e.text, e.label_) for e in nlp(text).ents] == [(e.text, e.label_) for e in reloaded(text).ents]


def test_a_disabled_transformer_gives_a_coded_error_naming_the_reader(tmp_path, tiny_encoder):
    """Heads and spaCy listeners read what the transformer left on the docs; without it they say what to do."""
    nlp, _, _ = build(write_config(tmp_path, tiny_encoder, ["tagger", "spacy_ner"]))
    with nlp.select_pipes(disable=["transformer", "spacy_ner"]):
        with pytest.raises(TrftrainError, match=r"\[E713\] 'tagger' reads the shared transformer's output"):
            nlp("Anna lives in Berlin.")
    with nlp.select_pipes(disable=["transformer", "tagger"]):
        with pytest.raises(TrftrainError, match=r"\[E713\] A listener for 'transformer' reads"):
            nlp("Anna lives in Berlin.")
