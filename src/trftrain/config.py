"""Load a training config: parse, fill from defaults, apply `--section.key value` overrides, validate."""
import re
from pathlib import Path
from typing import Any, Dict, Optional

from confection import Config, ConfigValidationError
from spacy.util import registry

from .config_checks import check_keys, check_sections, check_syntax, check_whole_numbers
from .errors import Errors, TrftrainError, config_error
from .textfiles import NotUtf8, read_utf8

DEFAULT_CONFIG_PATH = Path(__file__).parent / "default_config.cfg"


def default_config() -> Config:
    """trftrain's defaults (default_config.cfg), not interpolated."""
    return Config().from_disk(DEFAULT_CONFIG_PATH, interpolate=False)


def load_config(path: Path, overrides: Optional[Dict[str, Any]] = None, *, interpolate: bool = True) -> Config:
    """The user's config filled with trftrain's defaults, overrides applied last.

    path (Path): the user's .cfg file.
    overrides (dict): {"section.key": value} from `--section.key value` on the command line.
    interpolate (bool): replace ${section.key} references by their values.
    """
    path = Path(path)
    if not path.is_file():
        raise TrftrainError(Errors.E001.format(path=path))
    try:
        text = read_utf8(path)
    except NotUtf8 as err:
        raise TrftrainError(Errors.E002.format(path=path, where=f", line {err.line}", problem=(
            f"{err.detail}; save the file as UTF-8."))) from None
    check_syntax(path, text)
    try:
        user = Config().from_str(with_parent_sections(text), interpolate=False)
    except ConfigValidationError as err:
        raise TrftrainError(Errors.E002.format(path=path, where="", problem=f"\n{err}")) from None
    except Exception as err:  # configparser and confection raise several types for malformed INI
        raise TrftrainError(Errors.E002.format(path=path, where="", problem=err)) from None
    defaults = default_config()
    check_sections(path, user, defaults, text)
    filled = defaults.merge(user)
    overrides = overrides or {}
    _check_override_keys(filled, overrides)
    try:
        config = Config().from_str(filled.to_str(), overrides=overrides, interpolate=False)
        check_keys(config, defaults, overrides, path, text)
        if interpolate:
            config = config.interpolate()
    except ConfigValidationError as err:
        raise TrftrainError(Errors.E002.format(path=path, where="", problem=f"\n{err}")) from None
    return config


def with_parent_sections(text: str) -> str:
    """Declare parents that the text leaves out ([components] for [components.ner]), as confection needs."""
    headers = re.findall(r"^\[([^\]\n]+)\]", text, flags=re.MULTILINE)
    present = set(headers)
    missing = []
    for header in headers:
        parts = header.split(".")
        for depth in range(1, len(parts)):
            parent = ".".join(parts[:depth])
            if parent not in present:
                present.add(parent)
                missing.append(parent)
    return "".join(f"[{name}]\n\n" for name in missing) + text


def _check_override_keys(config: Config, overrides: Dict[str, Any]) -> None:
    """Every section on an override's path must exist; check_keys and the functions that read them check the key."""
    for key in overrides:
        *sections, _ = key.split(".")
        node: Any = config
        for depth, part in enumerate(sections):
            if not isinstance(node.get(part), dict):
                raise TrftrainError(Errors.E006.format(key=key, section=".".join(sections[: depth + 1])))
            node = node[part]


def resolve_training(config: Config) -> Dict[str, Any]:
    """Build the functions in [training] (optimizer, schedule, batcher, logger) and check the numbers.

    config (Config): interpolated.
    """
    check_whole_numbers(config)
    try:
        T = registry.resolve(config["training"], validate=True)
    except ConfigValidationError as err:
        raise TrftrainError(Errors.E003.format(key="training", problem=f"\n{err}")) from None
    if T["mixed_precision"] not in ("auto", "bf16", "fp16", "off"):
        raise config_error("training.mixed_precision", f"'{T['mixed_precision']}' is not one of auto, bf16, fp16, off.")
    return T
