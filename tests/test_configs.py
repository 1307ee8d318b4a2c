"""Every shipped config resolves (no weights load: encoders load at initialize), and init-config output trains."""
from pathlib import Path

import pytest

from trftrain.cli.init_config import init_config
from trftrain.config import load_config, resolve_training
from trftrain.runtime import build_pipeline

CONFIGS = sorted((Path(__file__).parent.parent / "configs").glob("*.cfg"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_resolves(path):
    assert path.read_text().startswith("# trftrain train configs/"), "each config opens with its command"
    raw = load_config(path, interpolate=False)
    resolve_training(raw.interpolate())
    nlp = build_pipeline(raw)
    assert nlp.pipe_names == list(raw["nlp"]["pipeline"])


@pytest.mark.parametrize("heads", [["tagger", "parser", "ner", "textcat"], ["morphologizer", "senter", "textcat_multilabel"]])
def test_init_config_resolves(tmp_path, heads):
    path = tmp_path / "config.cfg"
    path.write_text(init_config(heads, "some/encoder", gpu=False))
    raw = load_config(path, interpolate=False)
    resolve_training(raw.interpolate())
    assert build_pipeline(raw).pipe_names == ["transformer"] + heads


BENCH_CONFIGS = sorted((Path(__file__).parent.parent / "bench" / "configs").glob("*.cfg"))


@pytest.mark.parametrize("path", BENCH_CONFIGS, ids=lambda p: p.name)
def test_bench_config_resolves(path):
    raw = load_config(path, interpolate=False)
    resolve_training(raw.interpolate())
    assert build_pipeline(raw).pipe_names == list(raw["nlp"]["pipeline"])


def test_init_config_sizes_the_window_for_the_encoder_and_trains_as_written(tmp_path, tiny_encoder):
    """The tiny encoder takes 40 positions, two of them special: the default window of 128 would not load."""
    from pipelines import gold_docs
    from spacy.tokens import DocBin

    from trftrain.training.loop import train

    path = tmp_path / "config.cfg"
    path.write_text(init_config(["tagger", "ner"], tiny_encoder))
    model = load_config(path, interpolate=False)["components"]["transformer"]["model"]
    assert (model["window"], model["stride"]) == (38, 28)
    DocBin(docs=gold_docs()).to_disk(tmp_path / "corpus.spacy")
    corpus = str(tmp_path / "corpus.spacy")
    best = train(path, tmp_path / "run", overrides={"paths.train": corpus, "paths.dev": corpus,
                                                    "training.max_steps": 1, "training.eval_frequency": 1})
    assert best.exists()


def test_defaults_have_one_source():
    """A config that names the optimizer without its keys gets the same values init-config writes."""
    from trftrain.config_template import render_config
    from trftrain.training.optimizers import adamw_v1

    written = load_config_text(render_config(["tagger"], "enc"))["training"]["optimizer"]
    settings = adamw_v1()
    assert (written["encoder_lr"], written["heads_lr"]) == (settings.encoder_lr, settings.heads_lr) == (2e-4, 1e-3)


def load_config_text(text: str):
    from confection import Config

    from trftrain.config import with_parent_sections

    return Config().from_str(with_parent_sections(text), interpolate=False)


def test_init_config_refuses_a_missing_encoder_folder(tmp_path):
    from trftrain.errors import TrftrainError

    with pytest.raises(TrftrainError, match=r"\[E703\]"):
        init_config(["tagger"], str(tmp_path / "no" / "such" / "encoder"))
