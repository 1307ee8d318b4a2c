import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tiny_encoders import FAMILIES, build_tiny_encoder  # noqa: E402


@pytest.fixture(scope="session")
def tiny_encoders(tmp_path_factory):
    """family -> directory of a tiny random encoder, built once per test session."""
    root = tmp_path_factory.mktemp("encoders")
    return {family: str(build_tiny_encoder(family, root / family)) for family in FAMILIES}


@pytest.fixture(scope="session")
def tiny_encoder(tiny_encoders):
    return tiny_encoders["wordpiece"]
