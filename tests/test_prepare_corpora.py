"""corpora/prepare.py: a wrong --source names the missing file and how to fix it, instead of a traceback."""
import importlib.util
import json
from pathlib import Path

import pytest

PREPARE = Path(__file__).parent.parent / "corpora" / "prepare.py"


def load_prepare():
    spec = importlib.util.spec_from_file_location("prepare", PREPARE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_source_file_names_the_path_and_the_fix(tmp_path):
    prepare = load_prepare()
    manifest = json.loads((PREPARE.parent / "manifest.json").read_text())
    with pytest.raises(SystemExit) as stop:
        prepare.fetch("sst2", manifest["sst2"], tmp_path / "nowhere", tmp_path / "downloads")
    message = str(stop.value)
    assert str(tmp_path / "nowhere" / "sst2") in message and "SOURCE=" in message
