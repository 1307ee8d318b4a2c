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
