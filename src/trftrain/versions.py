"""The library versions a pipeline was trained with, recorded in its meta.json."""
from importlib.metadata import PackageNotFoundError, version


def library_versions() -> dict:
    found = {}
    for package in ("trftrain", "spacy", "thinc", "torch", "transformers", "tokenizers", "safetensors"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found
