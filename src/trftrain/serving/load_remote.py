"""`trftrain.load_remote`: load a saved pipeline with its heads here and its transformer on `trftrain serve`."""
import importlib.util
from pathlib import Path
from typing import List, Optional

from ..errors import Errors, TrftrainError

TRANSFORMER_FACTORY = "trftrain_transformer"


def load_remote(name_or_path, url: Optional[str] = None, urls: Optional[List[str]] = None, *,
                pipeline: Optional[str] = None, token: Optional[str] = None, timeout: float = 60.0, retries: int = 3,
                in_flight: int = 4, wire_dtype: Optional[str] = None, verify: bool = True, **spacy_load_kwargs):
    """The pipeline `name_or_path` (folder or installed package) with every trftrain transformer replaced by the
    one served at `url` (or spread over `urls`): the same annotations, computed by the heads here.

    pipeline (Optional[str]): the served name to ask for; None finds the encoder by the fingerprint of the weights
        this pipeline was saved with, wherever the server names it.
    token (Optional[str]): the server's bearer token (else TRFTRAIN_SERVE_TOKEN); never written to the config.
    timeout (float), retries (int): per request; in_flight (int): batches `nlp.pipe` keeps at the servers.
    wire_dtype (Optional[str]): "fp16", "bf16" or "fp32" on the wire; None for the server's precision.
    verify (bool): ask every server now whether it serves this pipeline's encoder.
    spacy_load_kwargs: passed on to spacy.load (exclude, disable, ...).
    """
    import spacy

    from .remote_encoder import LOAD_TOKEN
    from .server import require_serve_packages

    require_serve_packages(("httpx",))
    servers = ([url] if url else []) + list(urls or [])
    if not servers:
        raise TrftrainError(Errors.E417.format(key="load_remote(url=...)"))
    config = spacy.util.load_config(pipeline_config_path(str(name_or_path)), interpolate=False)
    overrides = {}
    for component, block in config.get("components", {}).items():
        if block.get("factory") == TRANSFORMER_FACTORY:
            model = {key: value for key, value in block["model"].items() if key != "@architectures"}
            overrides[f"components.{component}.model"] = {
                "@architectures": "trftrain.RemoteTransformer.v1", **model, "url": None, "urls": servers,
                "pipeline": pipeline, "timeout": timeout, "retries": retries, "in_flight": in_flight,
                "wire_dtype": wire_dtype, "verify": verify}
    if not overrides:
        raise TrftrainError(Errors.E420.format(name=name_or_path, components=list(config.get("components", {}))))
    reset = LOAD_TOKEN.set(token)
    try:
        return spacy.load(name_or_path, config=overrides, **spacy_load_kwargs)
    finally:
        LOAD_TOKEN.reset(reset)


def pipeline_config_path(name_or_path: str) -> Path:
    """config.cfg of a pipeline folder, or of the pipeline inside an installed package."""
    path = Path(name_or_path).expanduser()
    if (path / "config.cfg").exists():
        return path / "config.cfg"
    module = name_or_path.replace("-", "_")
    spec = importlib.util.find_spec(module) if module.isidentifier() and not path.exists() else None
    if spec is not None and spec.submodule_search_locations:
        package_dir = Path(list(spec.submodule_search_locations)[0])
        found = sorted(package_dir.glob("*/config.cfg")) + sorted(package_dir.glob("config.cfg"))
        if found:
            return found[0]
    raise TrftrainError(Errors.E419.format(name=name_or_path))
