"""The settings of [training] that shape each step: schedules, gradient accumulation, gradient clipping."""
import math

import pytest
import torch
from pipelines import build, write_config

from trftrain.training.schedules import constant_v1, warmup_cosine_v1, warmup_linear_v1


def test_warmup_linear_rises_then_falls_to_zero():
    schedule = warmup_linear_v1(warmup_steps=4, total_steps=12)
    assert [schedule(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert schedule(8) == pytest.approx(0.5) and schedule(12) == 0.0 and schedule(50) == 0.0


def test_warmup_cosine_ends_at_its_final_factor():
    schedule = warmup_cosine_v1(warmup_steps=2, total_steps=10, final_factor=0.1)
    assert [schedule(s) for s in range(2)] == [0.5, 1.0]
    assert schedule(2) == pytest.approx(1.0) and schedule(6) == pytest.approx(0.55)
    assert schedule(10) == pytest.approx(0.1) and schedule(100) == pytest.approx(0.1)


def test_constant_after_warmup():
    assert [constant_v1(warmup_steps=2)(s) for s in range(4)] == [0.5, 1.0, 1.0, 1.0]
    assert constant_v1()(0) == 1.0


def gradients_at_step(trainer, batches):
    """The gradients the optimizer receives in one step (after accumulation and clipping)."""
    captured = {}
    original = trainer.optimizer.step

    def record(*args, **kwargs):
        captured.update({id(p): p.grad.detach().clone() for p in trainer.params if p.grad is not None})
        return original(*args, **kwargs)

    trainer.optimizer.step = record
    trainer.step(batches, 10)
    trainer.optimizer.step = original
    return captured


def frozen_dropout(nlp):
    for _, proc in nlp.pipeline:
        for module in getattr(proc, "torch_modules", lambda: {})().values():
            module.eval()


def test_gradient_accumulation_is_the_mean_of_the_micro_batches(tmp_path, tiny_encoder):
    nlp, trainer, examples = build(write_config(tmp_path, tiny_encoder, ["tagger", "textcat"]))
    trainer.T = {**trainer.T, "grad_clip": 0.0}
    frozen_dropout(nlp)
    params = trainer.params

    def grads_of(batch):
        for p in params:
            p.grad = None
        trainer._accumulate(batch, 1.0, {})
        return [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p) for p in params]

    first, second = grads_of(examples[:1]), grads_of(examples[1:])
    for p in params:
        p.grad = None
    accumulated = gradients_at_step(trainer, [examples[:1], examples[1:]])
    expected = [(a + b) / 2 for a, b in zip(first, second)]
    got = [accumulated.get(id(p), torch.zeros_like(p)) for p in params]
    assert all(torch.allclose(g, e, atol=1e-6) for g, e in zip(got, expected))
    assert any(float(e.abs().sum()) > 0 for e in expected)


def test_grad_clip_bounds_the_norm_of_the_applied_gradient(tmp_path, tiny_encoder):
    nlp, trainer, examples = build(write_config(tmp_path, tiny_encoder, ["tagger"]))
    frozen_dropout(nlp)
    trainer.T = {**trainer.T, "grad_clip": 0.0}
    unclipped = gradients_at_step(trainer, [examples])
    norm = math.sqrt(sum(float((g ** 2).sum()) for g in unclipped.values()))
    assert norm > 0.01
    trainer.T = {**trainer.T, "grad_clip": 0.01}
    clipped = gradients_at_step(trainer, [examples])
    assert math.sqrt(sum(float((g ** 2).sum()) for g in clipped.values())) == pytest.approx(0.01, rel=1e-3)
